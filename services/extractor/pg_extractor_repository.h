#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "services/extractor/extractor_repository.h"

namespace niftysave::extractor {

// ExtractorRepository on Postgres: all of the extractor's SQL.
class PgExtractorRepository final : public ExtractorRepository {
 public:
  PgExtractorRepository(db::Pool& pool, db::WorkQueue& queue)
      : pool_(pool), queue_(queue) {}

  absl::StatusOr<EnqueueCounts> Enqueue(
      const std::vector<eth::TokenKey>& keys) override;
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) override {
    return queue_.Lease(limit);
  }
  absl::StatusOr<std::vector<TokenToExtract>> LoadTokens(
      const std::vector<int64_t>& pks) override;
  std::vector<SavedOutcome> SaveOutcomes(
      const std::vector<ItemOutcome>& outcomes) override;
  bool IsLastAttempt(const db::QueueItem& item) const override {
    return queue_.IsLastAttempt(item);
  }

  // Batches that could not be written as one transaction and were written
  // outcome by outcome instead.
  int64_t split_batches() const { return split_batches_.load(); }

 private:
  // The batch's writes in a fixed handful of set-based statements, whatever
  // its size; fills `saved` (which starts all OK and empty).
  void WriteBatch(pqxx::work& txn, const std::vector<ItemOutcome>& outcomes,
                  std::vector<SavedOutcome>& saved);

  db::Pool& pool_;
  db::WorkQueue& queue_;
  std::atomic<int64_t> split_batches_{0};
};

}  // namespace niftysave::extractor
