#pragma once
// The pure half of indexing a block range: from the node's logs to what the
// range writes, with no RPC, no database and no clock, so it is tested on
// its own (range_decoder_test.cc). ChainIndexer::IndexRange reads, checks
// and writes around it; PgIndexerRepository::RecordRange writes what
// SummarizeMoves finds.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/eth/events.h"
#include "services/indexer/indexer_model.h"

namespace niftysave::indexer {

struct RangeLimits {
  // Transfers (ERC-2309 ranges expanded) one range holds: a range over it
  // is cut short at the last block that fits (at least its first block).
  uint64_t max_transfers_per_range = 50000;
  // Tokens one ERC-2309 ConsecutiveTransfer may expand into; the rest is an
  // IndexerError (range_too_large).
  uint64_t max_tokens_per_event = 10000;
  // The log count a range is sized for (DecodedRange::weight).
  uint64_t target_logs_per_range = 10000;
};

// A malformed log, skipped: its reason (log_invalid, ...) and what was wrong.
struct MalformedLog {
  std::string reason;
  std::string error;
};

// The events of [from, to] the indexer follows, in chain order, cut to the
// transfer cap.
struct DecodedRange {
  uint64_t to = 0;         // the last block kept (cut short at the cap)
  uint64_t logs = 0;       // events kept
  uint64_t transfers = 0;  // what they expand into
  // The range's weight for sizing the next one: its events, or more when its
  // transfers came near the cap (it weighs as much as a full range of logs).
  uint64_t weight = 0;
  uint64_t max_tokens_per_event = 10000;
  std::vector<MalformedLog> malformed;
  // Where each kept event is (logs and headers must describe one chain).
  std::vector<eth::LogPosition> positions;
  // Every contract the kept events move, at its first block here (not
  // probed): the write records those not on record yet.
  std::map<std::string, ContractInfo> contracts;
  // The token moves kept, unexpanded: ERC-721/ERC-1155 transfers and
  // ERC-2309 ranges (ExpandTransfers gives them one by one).
  std::vector<eth::ChainEvent> moves;
  std::vector<UriUpdate> uri_updates;     // ERC-1155 URI events
  std::vector<RefreshRequest> refreshes;  // ERC-4906 events
  std::vector<IndexerError> errors;       // ERC-2309 ranges over the cap
};

// Decodes the logs of [from, to] (malformed ones are listed and skipped,
// logs that are not ours ignored), sorts them into chain order and keeps
// the blocks that fit max_transfers_per_range (a block's events go in whole;
// the first block always does).
DecodedRange DecodeRange(const std::vector<eth::RawLog>& logs, uint64_t from,
                         uint64_t to, const RangeLimits& limits);

// Moves each transfer of range.moves to `emit`, in chain order (an ERC-2309
// range expanded to at most max_tokens_per_event tokens), until `emit`
// fails; range.moves is empty after. One at a time, so a block over the cap
// can be written in parts without holding it whole.
absl::Status ExpandTransfers(
    DecodedRange& range,
    const std::function<absl::Status(eth::TokenTransfer)>& emit);

// Each token a range moved: its first and last transfer there (the first
// records a token new to the table; the last is an ERC-721 token's owner as
// of the range's end) and its last mint there.
struct TokenMoves {
  const eth::TokenTransfer* first = nullptr;
  const eth::TokenTransfer* last = nullptr;
  const eth::TokenTransfer* last_mint = nullptr;
};
using TokenIdKey = std::pair<std::string, std::string>;  // contract, decimal
// By token; the pointers are into `transfers`.
std::map<TokenIdKey, TokenMoves> SummarizeMoves(
    const std::vector<eth::TokenTransfer>& transfers);

}  // namespace niftysave::indexer
