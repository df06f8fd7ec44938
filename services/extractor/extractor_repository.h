#pragma once

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

 private:
  db::Pool& pool_;
  db::WorkQueue& queue_;
};

}  // namespace niftysave::extractor
