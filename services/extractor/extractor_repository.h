#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db/work_queue.h"
#include "common/eth/token_key.h"
#include "services/extractor/metadata_extractor.h"

namespace niftysave::extractor {

struct TokenToExtract {
  int64_t pk = 0;
  std::string token_id;
  std::optional<std::string> token_uri;
};

// How one leased item ended, for a batched write.
struct ItemOutcome {
  enum class Kind { kExtracted, kFailed, kRetry, kDrop };
  db::QueueItem item;
  Kind kind = Kind::kDrop;
  std::optional<Extraction> extraction;      // kExtracted
  std::optional<ExtractionFailure> failure;  // kFailed, kRetry
  std::string token_uri;                     // kFailed
  // The worker's byte budget this item holds until written.
  int64_t reserved_bytes = 0;
};

struct SavedOutcome {
  absl::Status status;          // Aborted when the lease was lost
  std::vector<int64_t> to_pin;  // resources now queued for pinning
};

struct EnqueueCounts {
  uint32_t queued = 0;
  uint32_t unknown = 0;
};

// The extractor's records: the 'extract' queue, tokens, resources, metadata
// and links. Every write that finishes an item also completes it in the
// queue, in the same transaction.
class ExtractorRepository {
 public:
  virtual ~ExtractorRepository() = default;
  virtual absl::StatusOr<EnqueueCounts> Enqueue(
      const std::vector<eth::TokenKey>& keys) = 0;
  virtual absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) = 0;
  virtual absl::StatusOr<std::optional<TokenToExtract>> LoadToken(
      int64_t pk) = 0;
  // The tokens that still exist among `pks`, in one query.
  virtual absl::StatusOr<std::vector<TokenToExtract>> LoadTokens(
      const std::vector<int64_t>& pks);
  // Records many outcomes in as few transactions as it can (one, unless
  // something in it fails: then each on its own), each as its single-item
  // method below would. One SavedOutcome per outcome, in order.
  virtual std::vector<SavedOutcome> SaveOutcomes(
      const std::vector<ItemOutcome>& outcomes);
  // Returns the resources now queued for pinning.
  virtual absl::StatusOr<std::vector<int64_t>> SaveExtraction(
      const db::QueueItem& item, const Extraction& extraction) = 0;
  virtual absl::Status SaveFailure(const db::QueueItem& item,
                                   const ExtractionFailure& failure,
                                   const std::string& token_uri) = 0;
  // Due again after the queue's back-off, or the failure's retry_after if
  // that is later.
  virtual absl::Status Retry(const db::QueueItem& item,
                             const ExtractionFailure& failure) = 0;
  virtual bool IsLastAttempt(const db::QueueItem& item) const = 0;
  virtual absl::Status Drop(const db::QueueItem& item) = 0;  // token vanished
};

class PgExtractorRepository final : public ExtractorRepository {
 public:
  PgExtractorRepository(db::Pool& pool, db::WorkQueue& queue)
      : pool_(pool), queue_(queue) {}

  absl::StatusOr<EnqueueCounts> Enqueue(
      const std::vector<eth::TokenKey>& keys) override;
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) override {
    return queue_.Lease(limit);
  }
  absl::StatusOr<std::optional<TokenToExtract>> LoadToken(int64_t pk) override;
  absl::StatusOr<std::vector<TokenToExtract>> LoadTokens(
      const std::vector<int64_t>& pks) override;
  std::vector<SavedOutcome> SaveOutcomes(
      const std::vector<ItemOutcome>& outcomes) override;
  absl::StatusOr<std::vector<int64_t>> SaveExtraction(
      const db::QueueItem& item, const Extraction& extraction) override;
  absl::Status SaveFailure(const db::QueueItem& item,
                           const ExtractionFailure& failure,
                           const std::string& token_uri) override;
  absl::Status Retry(const db::QueueItem& item,
                     const ExtractionFailure& failure) override;
  bool IsLastAttempt(const db::QueueItem& item) const override {
    return queue_.IsLastAttempt(item);
  }
  absl::Status Drop(const db::QueueItem& item) override;

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
