#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/events.h"
#include "common/eth/token_key.h"
#include "services/indexer/backfill_leases.h"
#include "services/indexer/chain_source.h"

namespace niftysave::db {
class Pool;
}

namespace niftysave::indexer {

struct ChainCursor {
  uint64_t next_block = 0;  // first block not indexed yet
  std::optional<uint64_t> head_block;
};

// A token URI as read (or announced by a URI event): the URI, or why not.
struct UriResult {
  std::optional<std::string> token_uri;  // set when the read succeeded
  std::string reason;                    // why not, otherwise
  std::string detail;
};

// A token whose URI changes (URI event, ERC-4906, RefreshToken): the new
// value is written and the token goes back through extraction.
struct UriUpdate {
  std::string contract;
  eth::Uint256 token_id;
  uint64_t block = 0;  // the event's block (refreshes: the block read at)
  UriResult uri;
};

// An ERC-4906 BatchMetadataUpdate (or MetadataUpdate: from_id == to_id): the
// URIs of the contract's known tokens in [from_id, to_id] are read again.
struct RefreshRequest {
  std::string contract;
  eth::Uint256 from_id, to_id;
  uint64_t block = 0;
  uint32_t log_index = 0;
};

// Something skipped or capped, kept in indexer_errors.
struct IndexerError {
  uint64_t block = 0;
  std::optional<uint32_t> log_index;
  std::string reason;
  std::string detail;
};

// Everything one indexed block range writes, committed at once.
struct RangeBatch {
  uint64_t chain_id = 0;
  uint64_t to_block = 0;  // the cursor moves to to_block + 1
  uint64_t head_block = 0;
  // Backfills write records only: no cursor, no block hashes.
  bool advance_cursor = true;
  uint64_t reorg_window = 128;          // block hashes kept behind to_block
  std::vector<ContractInfo> contracts;  // first seen in this range
  // Every token moved, mints included, in chain order. A token not on record
  // is recorded at its first transfer here (its mint, or, when indexing
  // started after its mint, whatever moved it first) and queued for its URI
  // read.
  std::vector<eth::TokenTransfer> transfers;
  std::vector<UriUpdate> uri_updates;  // URI events, applied after the tokens
  std::vector<RefreshRequest> refreshes;
  // Tokens one refresh may queue; the rest is recorded as refresh_too_large.
  uint64_t max_tokens_per_event = 10000;
  // A backfill chunk's lease: its progress is recorded with the range.
  std::optional<LeasedRange> backfill_lease;
  // Set: the write commits only while this worker holds the chain's
  // follower lease (reason follower_lost otherwise).
  std::string follower_id;
  std::vector<BlockHeader> blocks;
  std::vector<IndexerError> errors;
};

// What a range wrote.
struct RangeWritten {
  // Tokens recorded for the first time, by standard ("erc721", "erc1155").
  std::map<std::string, uint64_t> new_tokens;
  uint64_t uri_reads_queued = 0;  // new tokens and refreshed ones
  // Tokens a URI event gave a new URI: queued for extraction.
  std::vector<eth::TokenKey> extract_queued;
  std::vector<IndexerError> errors;  // recorded besides the batch's own
  // Tokens on record whose first transfer in the range is a mint (found by
  // the token upsert): their URI read is queued with the cursor.
  std::vector<int64_t> reminted;
  bool lease_lost = false;  // the backfill lease moved on: stop the chunk
};

// The work queue of a chain's URI reads.
std::string UriQueueName(uint64_t chain_id);

// The `reason` and `detail` a URI read writes (SQL SET items over `tokens t`
// and a read `u` with columns r and d). A token whose tokenURI reverted
// while it is burned has no URI to read, and that is not its last word: its
// next mint queues a read again (RecordRange). So the revert is recorded as
// `token_burned`, not as the contract's final `token_uri_revert`.
#define NS_TOKEN_URI_REASON                                   \
  "reason = CASE WHEN u.r = 'token_uri_revert' AND t.burned " \
  "THEN 'token_burned' ELSE u.r END, "                        \
  "detail = CASE WHEN u.r = 'token_uri_revert' AND t.burned " \
  "THEN 'burned: its next mint reads it again (' || u.d || ')' ELSE u.d END"

// What a rollback to a common ancestor removed.
struct RollbackResult {
  uint64_t tokens_removed = 0;   // minted in orphaned blocks
  uint64_t queue_cancelled = 0;  // their 'extract' items
  uint64_t transfers_removed = 0;
  // Surviving tokens whose URI came from an orphaned block: queued to be
  // read again.
  uint64_t uris_requeued = 0;
};

// One step through the refreshes left pending (AdvanceRefresh).
struct RefreshStep {
  uint64_t queued = 0;    // tokens queued for their URI read by this step
  bool finished = false;  // the refresh worked on is done
  std::string contract;   // the refresh worked on ("" when none)
  uint64_t total = 0;     // tokens it has queued in all
};

class IndexerRepository {
 public:
  virtual ~IndexerRepository() = default;
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
  struct KnownToken {
    eth::TokenKey key;
    eth::TokenStandard standard = eth::TokenStandard::kErc721;
  };
  virtual absl::StatusOr<std::vector<KnownToken>> FindTokens(
      const std::vector<eth::TokenKey>& keys) = 0;

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

class PgIndexerRepository final : public IndexerRepository {
 public:
  explicit PgIndexerRepository(db::Pool& pool) : pool_(pool) {}
  absl::StatusOr<ChainCursor> OpenChain(uint64_t chain_id,
                                        const std::string& name,
                                        uint64_t start_block) override;
  absl::StatusOr<RangeWritten> RecordRange(const RangeBatch& batch) override;
  absl::StatusOr<uint64_t> CountTokens(uint64_t chain_id) override;
  absl::StatusOr<std::vector<std::string>> UnknownContracts(
      uint64_t chain_id, const std::vector<std::string>& addresses) override;
  absl::StatusOr<std::vector<KnownToken>> FindTokens(
      const std::vector<eth::TokenKey>& keys) override;
  absl::StatusOr<std::vector<BlockHeader>> RecentBlocks(
      uint64_t chain_id, uint64_t at_most, uint64_t limit) override;
  absl::StatusOr<std::optional<BlockHeader>> StoredBlock(
      uint64_t chain_id, uint64_t number) override;
  absl::StatusOr<RollbackResult> Rollback(uint64_t chain_id,
                                          uint64_t ancestor) override;
  absl::Status RecordError(uint64_t chain_id,
                           const IndexerError& error) override;
  absl::StatusOr<std::vector<eth::TokenKey>> UpdateUris(
      uint64_t chain_id, const std::vector<UriUpdate>& updates) override;
  absl::StatusOr<RefreshStep> AdvanceRefresh(uint64_t chain_id,
                                             uint64_t chunk) override;

 private:
  db::Pool& pool_;
};

}  // namespace niftysave::indexer
