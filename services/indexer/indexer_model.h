#pragma once
// The value types the indexer's logic (ChainIndexer, UriReader,
// SubgraphSource, DecodeRange) and its repositories exchange: blocks,
// contracts, URI reads, errors and the batch one block range writes. No
// Postgres, no gRPC: logic headers include this, never a Pg repository.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/queue_item.h"
#include "common/eth/events.h"
#include "common/eth/token_key.h"
#include "common/eth/uint256.h"

namespace niftysave::indexer {

struct BlockHeader {
  uint64_t number = 0;
  std::string hash;  // 64 lower-case hex digits, no 0x
  std::string parent_hash;
};

// What a contract says about itself, read once when it is first seen.
struct ContractInfo {
  std::string address;
  eth::TokenStandard standard = eth::TokenStandard::kErc721;
  uint64_t first_block = 0;
  std::optional<std::string> name;
  std::optional<std::string> symbol;
  std::vector<std::string> interfaces;  // ERC-165 ids it supports, 8 hex
  std::string probe_error;              // what could not be read, if any
  // Its contract family (contract_family.h), detected once from its code.
  std::string family = "standard";
};

struct TokenUriQuery {
  std::string contract;  // 40 hex digits
  eth::Uint256 token_id;
  // ERC-721 tokenURI(id), ERC-1155 uri(id) (returned as is: the extractor
  // substitutes {id}).
  eth::TokenStandard standard = eth::TokenStandard::kErc721;
  std::string family = "standard";  // contracts.family
};

// What a contract family (contract_family.h) reads besides the token URI;
// unset for the standards. Hashes are 64 lower-case hex digits, unset when
// the contract committed to none.
struct FamilyFields {
  std::optional<std::string> metadata_uri;
  std::optional<std::string> content_sha256;
  std::optional<std::string> metadata_sha256;
};

// One token's read from the chain: its URI and its family's fields.
struct TokenRead {
  std::string uri;
  FamilyFields family;
};

// A token URI as read (or announced by a URI event): the URI, or why not.
struct UriResult {
  std::optional<std::string> token_uri;  // set when the read succeeded
  std::string reason;                    // why not, otherwise
  std::string detail;
  FamilyFields family;  // with token_uri, for a contract family's token
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

// One leased backfill chunk: blocks [next_block, to_block] are still to be
// indexed. `generation` fences the lease: once it expires and another
// replica leases the chunk, this holder's Advance/Renew/Release match nothing
// and return false.
struct LeasedRange {
  int64_t id = 0;
  uint64_t chain_id = 0;
  uint64_t from_block = 0;
  uint64_t to_block = 0;
  uint64_t next_block = 0;
  int64_t generation = 0;
  int attempts = 0;  // leases of this chunk, this one included
};

// A chain's backfill chunks still to do (leased or not).
struct BackfillPending {
  uint64_t chunks = 0;
  uint64_t blocks = 0;  // blocks still to index in those chunks
  bool capped = false;  // `cap` chunks or more wait: the counts stop there
};

struct ChainCursor {
  uint64_t next_block = 0;  // first block not indexed yet
  std::optional<uint64_t> head_block;
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

// A token on record and its standard (RefreshTokens reads its URI again).
struct KnownToken {
  eth::TokenKey key;
  eth::TokenStandard standard = eth::TokenStandard::kErc721;
};

// The work queue of a chain's URI reads.
inline std::string UriQueueName(uint64_t chain_id) {
  return absl::StrCat("read_uri:", chain_id);
}

// One leased batch of URI reads: the queue items, the tokens still on record
// (in id order, with their queries), and the block to read them at.
struct UriReadBatch {
  std::vector<db::QueueItem> items;
  std::vector<int64_t> token_ids;
  std::vector<TokenUriQuery> queries;  // one per token_ids entry
  uint64_t block = 0;
};

// What writing a batch's reads did.
struct UriReadsWritten {
  uint64_t with_uri = 0;  // tokens given a URI
  uint64_t failed = 0;    // tokens given the contract's failure
  uint64_t stale = 0;     // items whose lease was lost: nothing written
  // Tokens that now have a URI: queued for extraction.
  std::vector<eth::TokenKey> extract;
};

// A queue's items waiting (due or not, leased or not) and given up on.
struct QueueDepth {
  int64_t ready = 0;
  int64_t dead = 0;
};

}  // namespace niftysave::indexer
