#pragma once
// The indexer's storage seam, split by concern: what a block range writes
// (RangeWriteRepository), undoing orphaned blocks (RollbackRepository), and
// the URI-read queue (UriReadRepository). The Postgres implementations, and
// all of the indexer's SQL, are in the pg_* files.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/db/queue_item.h"
#include "common/eth/token_key.h"
#include "services/indexer/indexer_model.h"

namespace niftysave::indexer {

// The chain's cursor, its ranges and what builds on their tokens.
class RangeWriteRepository {
 public:
  virtual ~RangeWriteRepository() = default;
  // Creates the chain's cursor at `start_block` unless it exists; returns it.
  virtual absl::StatusOr<ChainCursor> OpenChain(uint64_t chain_id,
                                                const std::string& name,
                                                uint64_t start_block) = 0;
  // Writes the range in one transaction (idempotent on replay): queues new
  // and refreshed tokens for their URI read, and tokens a URI event changed
  // for extraction.
  virtual absl::StatusOr<RangeWritten> RecordRange(const RangeBatch& batch) = 0;
  virtual absl::StatusOr<uint64_t> CountTokens(uint64_t chain_id) = 0;

  // Of `addresses`, those with no contracts row yet.
  virtual absl::StatusOr<std::vector<std::string>> UnknownContracts(
      uint64_t chain_id, const std::vector<std::string>& addresses) = 0;
  // The standard of each token that exists, by key; absent ones are left out.
  using KnownToken = indexer::KnownToken;
  virtual absl::StatusOr<std::vector<KnownToken>> FindTokens(
      const std::vector<eth::TokenKey>& keys) = 0;
  virtual absl::Status RecordError(uint64_t chain_id,
                                   const IndexerError& error) = 0;
  // Writes URI updates outside a range (RefreshToken, after a rollback) and
  // queues the tokens; returns the keys queued.
  virtual absl::StatusOr<std::vector<eth::TokenKey>> UpdateUris(
      uint64_t chain_id, const std::vector<UriUpdate>& updates) = 0;
  // Queues the next chunk (at most `chunk` tokens, by token id) of the
  // chain's oldest refresh too large for its range write, in one
  // transaction; the refresh ends when a chunk comes back short.
  virtual absl::StatusOr<RefreshStep> AdvanceRefresh(uint64_t chain_id,
                                                     uint64_t chunk) = 0;
};

// The stored block hashes a reorg is detected with, and the rollback.
class RollbackRepository {
 public:
  virtual ~RollbackRepository() = default;
  // Stored block hashes, newest first, numbers <= `at_most`.
  virtual absl::StatusOr<std::vector<BlockHeader>> RecentBlocks(
      uint64_t chain_id, uint64_t at_most, uint64_t limit) = 0;
  // The stored block `number`, if there is one.
  virtual absl::StatusOr<std::optional<BlockHeader>> StoredBlock(
      uint64_t chain_id, uint64_t number) = 0;
  // Undoes everything written for blocks above `ancestor` and moves the
  // cursor to ancestor + 1, in one transaction.
  virtual absl::StatusOr<RollbackResult> Rollback(uint64_t chain_id,
                                                  uint64_t ancestor) = 0;
};

// Everything ChainIndexer stores: its ranges and their rollback.
class IndexerRepository : public RangeWriteRepository,
                          public RollbackRepository {};

// One chain's URI-read queue ('read_uri:<chain>') and the tokens' URIs.
class UriReadRepository {
 public:
  virtual ~UriReadRepository() = default;
  // Leases up to `limit` due reads and loads their tokens and the block to
  // read them at, in one transaction (an item whose token is gone has no
  // query; it is completed by WriteReads, with nothing to write).
  virtual absl::StatusOr<UriReadBatch> LeaseReads(int limit) = 0;
  // The batch could not be read (the node failed): each item is due again
  // after the queue policy's back-off.
  virtual absl::Status RescheduleReads(const UriReadBatch& batch,
                                       absl::string_view error) = 0;
  // Completes the items whose lease is still held and writes their tokens'
  // `reads` (one per batch.token_ids entry) read at batch.block; tokens that
  // now have a URI are re-queued for extraction, in one transaction.
  virtual absl::StatusOr<UriReadsWritten> WriteReads(
      const UriReadBatch& batch, const std::vector<UriResult>& reads) = 0;
  // URI reads waiting (due or not) and given up on.
  virtual absl::StatusOr<QueueDepth> Pending() = 0;
};

}  // namespace niftysave::indexer
