#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db/queue_item.h"
#include "common/eth/token_key.h"
#include "services/extractor/extractor_model.h"

namespace niftysave::extractor {

// The extractor's records: the 'extract' queue, tokens, resources, metadata
// and links. Every write that finishes an item also completes it in the
// queue, in the same transaction.
class ExtractorRepository {
 public:
  virtual ~ExtractorRepository() = default;
  virtual absl::StatusOr<EnqueueCounts> Enqueue(
      const std::vector<eth::TokenKey>& keys) = 0;
  virtual absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) = 0;
  // The tokens that still exist among `pks`, in one query.
  virtual absl::StatusOr<std::vector<TokenToExtract>> LoadTokens(
      const std::vector<int64_t>& pks) = 0;
  // Records many outcomes in as few transactions as it can (one, unless
  // something in it fails: then each on its own), each with its kind of
  // outcome (ItemOutcome). One SavedOutcome per outcome, in order.
  virtual std::vector<SavedOutcome> SaveOutcomes(
      const std::vector<ItemOutcome>& outcomes) = 0;
  virtual bool IsLastAttempt(const db::QueueItem& item) const = 0;
};

}  // namespace niftysave::extractor
