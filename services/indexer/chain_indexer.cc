#include "services/indexer/chain_indexer.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/runtime/backoff.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"
#include "services/indexer/uri_reader.h"

namespace niftysave::indexer {
namespace {

// Stored blocks compared per batch while walking back.
constexpr uint64_t kWalkBackBatch = 64;

// The first range, before any density is known: a dense chain must not
// begin with a reply too large to use.
constexpr uint64_t kInitialRange = 16;

std::string Ms(absl::Duration d) {
  return std::to_string(absl::ToInt64Milliseconds(d));
}

uint64_t NewTokens(const RangeWritten& written) {
  uint64_t n = 0;
  for (const auto& [standard, count] : written.new_tokens) n += count;
  return n;
}

}  // namespace

std::string ReorgDepthBucket(uint64_t depth) {
  if (depth <= 1) return "1";
  if (depth <= 5) return "2-5";
  if (depth <= 20) return "6-20";
  return "21+";
}

ChainIndexer::ChainIndexer(
    ChainConfig config, ChainSource& source, IndexerRepository& repo,
    std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
    IndexerCounters counters, Coordination coordination)
    : config_(std::move(config)),
      source_(source),
      repo_(repo),
      on_tokens_(std::move(on_tokens)),
      counters_(std::move(counters)),
      range_(std::clamp<uint64_t>(
          kInitialRange, 1, std::max<uint64_t>(1, config_.max_block_range))),
      coordination_(coordination),
      follower_(coordination.follower == nullptr) {}

ChainIndexer::~ChainIndexer() { (void)FinishWrite(); }

absl::Status ChainIndexer::FinishWrite() {
  if (!pending_) return absl::OkStatus();
  const absl::Time wait_start = absl::Now();
  PendingWrite::Written written = pending_->written.get();
  const absl::Duration waited = absl::Now() - wait_start;
  PendingWrite done = *std::move(pending_);
  pending_.reset();
  if (!written.result.ok()) {
    next_block_ = done.from;
    prefetch_.reset();
    return written.result.status();
  }
  indexed_ = done.to;
  has_indexed_ = true;
  Report(*written.result);
  counters_.progress(done.head, done.to);
  log::Info(
      "indexed range",
      {{"from", std::to_string(done.from)},
       {"to", std::to_string(done.to)},
       {"logs", std::to_string(done.logs)},
       {"transfers", std::to_string(done.transfers)},
       {"new_tokens", std::to_string(NewTokens(*written.result))},
       {"uri_reads_queued", std::to_string(written.result->uri_reads_queued)},
       {"logs_ms", done.logs_ms},
       {"decode_ms", done.decode_ms},
       // The write ran while the next range was read; wait_ms is how
       // long the next range then waited for it.
       {"write_ms", Ms(written.took)},
       {"wait_ms", Ms(waited)}});
  return absl::OkStatus();
}

void ChainIndexer::Report(const RangeWritten& written) {
  for (const auto& [standard, n] : written.new_tokens) {
    counters_.tokens_minted(standard, n);
  }
  for (const IndexerError& e : written.errors) {
    counters_.error_recorded(e.reason);
  }
  if (!written.extract_queued.empty()) on_tokens_(written.extract_queued);
}

absl::StatusOr<std::vector<eth::RawLog>> ChainIndexer::TakeLogs(uint64_t from,
                                                                uint64_t to) {
  if (prefetch_ && prefetch_->from == from && prefetch_->to == to) {
    absl::StatusOr<std::vector<eth::RawLog>> logs = prefetch_->logs.get();
    prefetch_.reset();
    return logs;
  }
  prefetch_.reset();
  return source_.Logs(from, to);
}

uint64_t ChainIndexer::NextRange(uint64_t blocks, uint64_t logs) const {
  const uint64_t cap = std::max<uint64_t>(1, config_.max_block_range);
  const uint64_t target = std::max<uint64_t>(1, config_.target_logs_per_range);
  // At most 4x per step, so one sparse range before a dense stretch does not
  // jump straight to a huge reply.
  uint64_t next = std::min(cap, blocks * 4);
  if (logs > 0) {
    next = std::min(next, std::max<uint64_t>(1, blocks * target / logs));
  }
  return std::clamp<uint64_t>(next, 1, cap);
}

absl::Status ChainIndexer::WritePart(RangeBatch& batch, bool follow) {
  // Parts build on the range before, and on each other.
  if (absl::Status s = FinishWrite(); !s.ok()) return s;
  RangeBatch part{.chain_id = batch.chain_id,
                  .to_block = batch.to_block,
                  .head_block = batch.head_block,
                  .advance_cursor = false,
                  .contracts = batch.contracts,
                  .transfers = std::move(batch.transfers),
                  .max_tokens_per_event = batch.max_tokens_per_event};
  batch.transfers.clear();
  // Only the follower may write what it follows; a backfill part leaves
  // the chunk's lease where it is until the whole block is written.
  if (follow) part.follower_id = batch.follower_id;
  absl::StatusOr<RangeWritten> written = repo_.RecordRange(part);
  if (!written.ok()) return written.status();
  Report(*written);
  return absl::OkStatus();
}

absl::Status ChainIndexer::Open() {
  absl::StatusOr<ChainCursor> cursor =
      repo_.OpenChain(config_.chain_id, config_.name, config_.start_block);
  if (!cursor.ok()) return cursor.status();
  next_block_ = cursor->next_block;
  if (next_block_ > 0) {
    indexed_ = next_block_ - 1;
    has_indexed_ = next_block_ > config_.start_block;
  }
  if (cursor->head_block) head_ = *cursor->head_block;
  return absl::OkStatus();
}

absl::StatusOr<bool> ChainIndexer::HoldFollowerRole() {
  if (coordination_.follower == nullptr) return true;
  absl::StatusOr<bool> held = coordination_.follower->TryAcquire(
      config_.chain_id, config_.worker_id, config_.follower_lease);
  if (!held.ok()) return held.status();
  if (*held == follower_.load()) return *held;
  if (*held) {
    // Taken over, or back: the cursor is where the last follower left it.
    pending_.reset();
    prefetch_.reset();
    if (absl::Status s = Open(); !s.ok()) return s;
    log::Info("this replica follows the chain now",
              {{"worker", config_.worker_id},
               {"next_block", std::to_string(next_block_.load())}});
  } else {
    // What is in flight fails to commit (the role is checked with it).
    (void)FinishWrite();
    prefetch_.reset();
    log::Warn(
        "another replica follows the chain; this one works backfill "
        "chunks only",
        {{"worker", config_.worker_id}});
  }
  follower_ = *held;
  return *held;
}

absl::StatusOr<uint64_t> ChainIndexer::Step() {
  absl::StatusOr<uint64_t> head = source_.HeadBlock();
  if (!head.ok()) return head.status();
  head_ = *head;
  absl::StatusOr<bool> follower = HoldFollowerRole();
  if (!follower.ok()) return follower.status();
  if (!*follower) {
    catching_up_ = false;
    return BackfillStep(*head);
  }
  counters_.progress(*head, indexed_);
  if (*head < config_.confirmations) {
    if (absl::Status s = FinishWrite(); !s.ok()) return s;
    LogWaiting(*head);
    return AdvanceRefresh();
  }
  const uint64_t safe = *head - config_.confirmations;
  // A reorg costs one pass: the rollback, then the range again.
  for (int pass = 0; pass < 2 && next_block_ <= safe; ++pass) {
    const uint64_t from = next_block_;
    const uint64_t to = std::min(safe, from + range_ - 1);
    // Indexes [from, outcome->to]: less than asked when over the transfer
    // cap.
    absl::StatusOr<RangeOutcome> outcome = IndexRange(from, to, *head, true);
    if (!outcome.ok()) return outcome.status();
    if (outcome->reorg) {
      if (absl::Status s = HandleReorg(from); !s.ok()) return s;
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      halted_.clear();
    }
    range_ = NextRange(outcome->to - from + 1, outcome->weight);
    catching_up_ = next_block_ <= safe;
    indexed_since_start_ = true;
    // Refreshes left pending go on while the follower catches up.
    if (absl::StatusOr<uint64_t> r = AdvanceRefresh(); !r.ok()) {
      return r.status();
    }
    return outcome->to - from + 1;
  }
  if (next_block_ <= safe) return 1;  // rolled back twice: go again now
  catching_up_ = false;
  LogWaiting(*head);
  // Caught up: nothing is left in flight when Step says there is no work.
  if (absl::Status s = FinishWrite(); !s.ok()) return s;
  absl::StatusOr<uint64_t> refreshed = AdvanceRefresh();
  if (!refreshed.ok()) return refreshed.status();
  absl::StatusOr<uint64_t> backfilled = BackfillStep(*head);
  if (!backfilled.ok()) return backfilled;
  return *backfilled + *refreshed;
}

absl::StatusOr<uint64_t> ChainIndexer::AdvanceRefresh() {
  absl::StatusOr<RefreshStep> step =
      repo_.AdvanceRefresh(config_.chain_id, config_.max_tokens_per_event);
  if (!step.ok()) return step.status();
  if (step->finished) {
    log::Info("refresh done", {{"contract", "0x" + step->contract},
                               {"tokens", std::to_string(step->total)}});
  } else if (step->queued > 0) {
    log::Info("refresh chunk queued",
              {{"contract", "0x" + step->contract},
               {"tokens", std::to_string(step->queued)},
               {"so_far", std::to_string(step->total)}});
  }
  return step->queued;
}

void ChainIndexer::LogWaiting(uint64_t head) {
  const uint64_t next = next_block_;
  const uint64_t wanted = next + config_.confirmations;
  if (indexed_since_start_ || head >= wanted || waiting_logged_ == wanted) {
    return;
  }
  waiting_logged_ = wanted;
  log::Info(absl::StrCat("waiting for block ", wanted, ": head is ", head,
                         " and --confirmations=", config_.confirmations,
                         ", so block ", next,
                         " (the next to index) is indexed once block ", wanted,
                         " exists"),
            {{"next_block", std::to_string(next)},
             {"head", std::to_string(head)},
             {"confirmations", std::to_string(config_.confirmations)}});
}

absl::Status ChainIndexer::FindNewContracts(const DecodedRange& decoded,
                                            RangeBatch& batch) {
  if (decoded.contracts.empty()) return absl::OkStatus();
  std::vector<std::string> addresses;
  for (const auto& [address, info] : decoded.contracts) {
    if (pending_ && pending_->contracts.count(address)) continue;
    addresses.push_back(address);
  }
  absl::StatusOr<std::vector<std::string>> unknown =
      addresses.empty() ? std::vector<std::string>()
                        : repo_.UnknownContracts(config_.chain_id, addresses);
  if (!unknown.ok()) return unknown.status();
  for (const std::string& address : *unknown) {
    batch.contracts.push_back(decoded.contracts.at(address));
  }
  return source_.ProbeContracts(batch.contracts, batch.to_block);
}

absl::StatusOr<bool> ChainIndexer::ContinuesStoredChain(
    uint64_t from, uint64_t to, const DecodedRange& decoded,
    RangeBatch& batch) {
  // The range must continue the chain already stored: the first block's
  // parent is the stored hash of from - 1 (the previous range's last).
  std::set<uint64_t> wanted = {from, to};
  for (const eth::LogPosition& at : decoded.positions) {
    wanted.insert(at.block_number);
  }
  absl::StatusOr<std::vector<BlockHeader>> headers =
      source_.BlockHeaders(std::vector<uint64_t>(wanted.begin(), wanted.end()));
  if (!headers.ok()) return headers.status();
  std::map<uint64_t, const BlockHeader*> by_number;
  for (const BlockHeader& h : *headers) by_number[h.number] = &h;
  if (from > 0) {
    // The range being written ends at from - 1 (as it always does while
    // following): its last block is the parent to match.
    std::optional<BlockHeader> parent;
    if (pending_ && pending_->to + 1 == from && pending_->last) {
      parent = pending_->last;
    } else {
      if (absl::Status s = FinishWrite(); !s.ok()) return s;
      absl::StatusOr<std::optional<BlockHeader>> stored =
          repo_.StoredBlock(config_.chain_id, from - 1);
      if (!stored.ok()) return stored.status();
      parent = *stored;
    }
    if (parent && parent->hash != by_number[from]->parent_hash) {
      // The rollback reads what the write in flight stores.
      if (absl::Status s = FinishWrite(); !s.ok()) return s;
      return false;
    }
  }
  // Logs and headers must describe one chain: a reorg between the two
  // reads shows as a log whose block hash is not the header's.
  for (const eth::LogPosition& at : decoded.positions) {
    if (by_number[at.block_number]->hash != at.block_hash) {
      return ErrorWithReason(absl::StatusCode::kUnavailable, "chain_moved",
                             absl::StrCat("block ", at.block_number,
                                          " changed while it was read"));
    }
  }
  batch.blocks = *std::move(headers);
  return true;
}

absl::Status ChainIndexer::AddTransfers(uint64_t from, DecodedRange& decoded,
                                        RangeBatch& batch, bool follow) {
  // A block over the cap alone is written in parts of at most the cap,
  // records only (idempotent on replay), before the rest goes with the
  // cursor.
  uint64_t parts = 0;
  uint64_t expanded = 0;
  absl::Status s =
      ExpandTransfers(decoded, [&](eth::TokenTransfer t) -> absl::Status {
        batch.transfers.push_back(std::move(t));
        ++expanded;
        if (batch.transfers.size() < config_.max_transfers_per_range ||
            expanded == decoded.transfers) {
          return absl::OkStatus();
        }
        ++parts;
        return WritePart(batch, follow);
      });
  if (!s.ok()) return s;
  if (parts > 0) {
    log::Warn("block over the transfer cap written in parts",
              {{"block", std::to_string(from)},
               {"transfers", std::to_string(decoded.transfers)},
               {"parts", std::to_string(parts + 1)},
               {"max_transfers_per_range",
                std::to_string(config_.max_transfers_per_range)}});
  }
  for (IndexerError& e : decoded.errors) {
    counters_.error_recorded(e.reason);
    batch.errors.push_back(std::move(e));
  }
  batch.uri_updates = std::move(decoded.uri_updates);
  batch.refreshes = std::move(decoded.refreshes);
  return absl::OkStatus();
}

void ChainIndexer::PrefetchNext(uint64_t from, uint64_t to, uint64_t head,
                                uint64_t weight) {
  if (head < config_.confirmations || to + 1 > head - config_.confirmations) {
    return;
  }
  // The next range as Step will ask for it while the node is not moving.
  const uint64_t next_from = to + 1;
  const uint64_t next_to =
      std::min(head - config_.confirmations,
               next_from + NextRange(to - from + 1, weight) - 1);
  prefetch_.reset();  // waits for a stale one
  prefetch_ =
      Prefetch{next_from, next_to,
               std::async(std::launch::async, [this, next_from, next_to] {
                 return source_.Logs(next_from, next_to);
               })};
}

absl::StatusOr<ChainIndexer::RangeOutcome> ChainIndexer::IndexRange(
    uint64_t from, uint64_t to, uint64_t head, bool follow) {
  // Where the range's time goes, in its log line (ms): the RPC reads, our
  // own decoding and lookups, the URI reads and the write.
  const absl::Time t_start = absl::Now();
  if (!follow) {
    // A backfill reads and writes synchronously, after the follower's write.
    if (absl::Status s = FinishWrite(); !s.ok()) return s;
  }
  absl::StatusOr<std::vector<eth::RawLog>> logs =
      follow ? TakeLogs(from, to) : source_.Logs(from, to);
  const absl::Time t_logs = absl::Now();
  if (!logs.ok()) {
    if (follow) range_ = std::max<uint64_t>(1, range_ / 2);
    return logs.status();
  }
  counters_.logs_seen(logs->size());
  DecodedRange decoded =
      DecodeRange(*logs, from, to,
                  {.max_transfers_per_range = config_.max_transfers_per_range,
                   .max_tokens_per_event = config_.max_tokens_per_event,
                   .target_logs_per_range = config_.target_logs_per_range});
  logs->clear();  // only the decoded events from here on
  for (const MalformedLog& bad : decoded.malformed) {
    counters_.bad_log(bad.reason);
    log::Warn("skipping malformed log", {{"error", bad.error}});
  }
  to = decoded.to;

  RangeBatch batch{.chain_id = config_.chain_id,
                   .to_block = to,
                   .head_block = head,
                   .advance_cursor = follow,
                   .reorg_window = config_.reorg_window,
                   .max_tokens_per_event = config_.max_tokens_per_event};
  if (follow && coordination_.follower != nullptr) {
    batch.follower_id = config_.worker_id;
  }
  if (!follow) batch.backfill_lease = lease_;
  if (follow) {
    absl::StatusOr<bool> continues =
        ContinuesStoredChain(from, to, decoded, batch);
    if (!continues.ok()) return continues.status();
    if (!*continues) return RangeOutcome{.reorg = true};
  }
  // Contracts seen for the first time: name, symbol, ERC-165, once. The
  // tokens themselves need no lookup: the write inserts those not on record
  // and queues their URI reads.
  if (absl::Status s = FindNewContracts(decoded, batch); !s.ok()) return s;
  if (absl::Status s = AddTransfers(from, decoded, batch, follow); !s.ok())
    return s;
  const RangeTimes times{.logs_ms = Ms(t_logs - t_start),
                         .decode_ms = Ms(absl::Now() - t_logs)};
  if (!follow) return WriteBackfillRange(from, decoded, times, batch);
  PrefetchNext(from, to, head, decoded.weight);
  // One write in flight: the previous range must be committed before this
  // one is submitted (it builds on it).
  if (absl::Status s = FinishWrite(); !s.ok()) return s;
  SubmitWrite(from, decoded, times, std::move(batch));
  return RangeOutcome{.to = to, .weight = decoded.weight};
}

absl::StatusOr<ChainIndexer::RangeOutcome> ChainIndexer::WriteBackfillRange(
    uint64_t from, const DecodedRange& decoded, const RangeTimes& times,
    const RangeBatch& batch) {
  const uint64_t to = batch.to_block;
  const absl::Time t_write = absl::Now();
  absl::StatusOr<RangeWritten> written = repo_.RecordRange(batch);
  if (!written.ok()) return written.status();
  Report(*written);
  counters_.progress(batch.head_block, indexed_);
  if (written->lease_lost) {
    log::Warn("backfill chunk lease lost; leaving it to its new holder",
              {{"from", std::to_string(from)}, {"to", std::to_string(to)}});
  }
  log::Info("backfilled range",
            {{"from", std::to_string(from)},
             {"to", std::to_string(to)},
             {"logs", std::to_string(decoded.logs)},
             {"transfers", std::to_string(decoded.transfers)},
             {"new_tokens", std::to_string(NewTokens(*written))},
             {"uri_reads_queued", std::to_string(written->uri_reads_queued)},
             {"logs_ms", times.logs_ms},
             {"decode_ms", times.decode_ms},
             {"write_ms", Ms(absl::Now() - t_write)}});
  return RangeOutcome{
      .to = to, .weight = decoded.weight, .lease_lost = written->lease_lost};
}

void ChainIndexer::SubmitWrite(uint64_t from, const DecodedRange& decoded,
                               const RangeTimes& times, RangeBatch batch) {
  const uint64_t to = batch.to_block;
  PendingWrite next{.from = from,
                    .to = to,
                    .head = batch.head_block,
                    .logs = decoded.logs,
                    .transfers = decoded.transfers,
                    .logs_ms = times.logs_ms,
                    .decode_ms = times.decode_ms};
  for (const BlockHeader& h : batch.blocks) {
    if (h.number == to) next.last = h;
  }
  for (const ContractInfo& c : batch.contracts) {
    next.contracts.insert(c.address);
  }
  next.written =
      std::async(std::launch::async, [this, batch = std::move(batch)]() {
        const absl::Time start = absl::Now();
        absl::StatusOr<RangeWritten> result = repo_.RecordRange(batch);
        return PendingWrite::Written{std::move(result), absl::Now() - start};
      });
  pending_ = std::move(next);
  next_block_ = to + 1;
}

absl::Status ChainIndexer::HandleReorg(uint64_t from) {
  const uint64_t tip = from - 1;  // the stored block that is no longer there
  std::optional<uint64_t> ancestor;
  absl::StatusOr<std::vector<BlockHeader>> stored = repo_.RecentBlocks(
      config_.chain_id, tip, config_.reorg_window + kWalkBackBatch);
  if (!stored.ok()) return stored.status();
  for (size_t start = 0; start < stored->size() && !ancestor;
       start += kWalkBackBatch) {
    const size_t end = std::min(stored->size(), start + kWalkBackBatch);
    std::vector<uint64_t> numbers;
    for (size_t i = start; i < end; ++i) numbers.push_back((*stored)[i].number);
    absl::StatusOr<std::vector<BlockHeader>> canonical =
        source_.BlockHeaders(numbers);
    if (!canonical.ok()) return canonical.status();
    for (size_t i = start; i < end; ++i) {
      if ((*canonical)[i - start].hash == (*stored)[i].hash) {
        ancestor = (*stored)[i].number;
        break;
      }
    }
  }
  if (!ancestor) {
    // Nothing stored is canonical any more: the fork point is older than
    // the window. Guessing would leave orphaned records or drop good ones,
    // so nothing is changed; the follower stops here until an operator acts
    // (a wider --reorg_window does not help after the fact; re-index from a
    // known-good block).
    const std::string detail = absl::StrCat(
        "block ", tip, " is no longer canonical and no stored block within ",
        "the reorg window of ", config_.reorg_window, " matches the chain");
    bool first = false;
    {
      absl::MutexLock lock(&mu_);
      first = halted_.empty();
      halted_ = detail;
    }
    if (first) {
      counters_.reorg("beyond_window");
      counters_.error_recorded("reorg_beyond_window");
      log::Error("reorg deeper than the window; indexing stopped",
                 {{"block", std::to_string(tip)}});
      (void)repo_.RecordError(
          config_.chain_id,
          {.block = tip, .reason = "reorg_beyond_window", .detail = detail});
    }
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                           "reorg_beyond_window", detail);
  }
  absl::StatusOr<RollbackResult> rolled =
      repo_.Rollback(config_.chain_id, *ancestor);
  if (!rolled.ok()) return rolled.status();
  const uint64_t depth = tip - *ancestor;
  next_block_ = *ancestor + 1;
  indexed_ = *ancestor;
  has_indexed_ = *ancestor >= config_.start_block;
  counters_.reorg(ReorgDepthBucket(depth));
  log::Warn("reorg: rolled back to the common ancestor",
            {{"ancestor", std::to_string(*ancestor)},
             {"depth", std::to_string(depth)},
             {"tokens_removed", std::to_string(rolled->tokens_removed)},
             {"queue_cancelled", std::to_string(rolled->queue_cancelled)},
             {"transfers_removed", std::to_string(rolled->transfers_removed)},
             {"uris_requeued", std::to_string(rolled->uris_requeued)}});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<eth::TokenKey>> ChainIndexer::RefreshTokens(
    const std::vector<eth::TokenKey>& keys) {
  absl::StatusOr<std::vector<IndexerRepository::KnownToken>> known =
      repo_.FindTokens(keys);
  if (!known.ok()) return known.status();
  if (known->empty()) return absl::NotFoundError("no such token indexed");
  const uint64_t block = has_indexed_ ? indexed_.load() : head_.load();
  std::vector<TokenUriQuery> queries;
  for (const auto& k : *known) {
    absl::StatusOr<eth::Uint256> id = eth::Uint256::FromDecimal(k.key.token_id);
    if (!id.ok()) return id.status();
    queries.push_back({k.key.contract, *id, k.standard});
  }
  absl::StatusOr<std::vector<UriResult>> uris =
      ReadTokenUris(source_, queries, block, config_.uri_read_concurrency);
  if (!uris.ok()) return uris.status();
  std::vector<UriUpdate> updates;
  for (size_t i = 0; i < queries.size(); ++i) {
    updates.push_back({.contract = queries[i].contract,
                       .token_id = queries[i].token_id,
                       .block = block,
                       .uri = (*uris)[i]});
  }
  absl::StatusOr<std::vector<eth::TokenKey>> queued =
      repo_.UpdateUris(config_.chain_id, updates);
  if (!queued.ok()) return queued.status();
  if (!queued->empty()) on_tokens_(*queued);
  return queued;
}

absl::StatusOr<std::pair<uint64_t, uint64_t>> ChainIndexer::Backfill(
    uint64_t from, uint64_t to) {
  if (from > to) return absl::InvalidArgumentError("from is after to");
  if (coordination_.backfill == nullptr) {
    return absl::UnimplementedError("this indexer keeps no backfill leases");
  }
  // Behind the follower: its cursor here, or (on a replica that does not
  // follow) the confirmed head it last saw.
  const uint64_t head = head_.load();
  const uint64_t next = follower_ ? next_block_.load()
                                  : (head >= config_.confirmations
                                         ? head - config_.confirmations + 1
                                         : 0);
  if (next == 0 || from >= next) {
    return absl::FailedPreconditionError(
        absl::StrCat("the follower has not reached block ", from,
                     " yet; it will index it anyway"));
  }
  to = std::min(to, next - 1);
  absl::StatusOr<uint64_t> chunks = coordination_.backfill->Add(
      config_.chain_id, from, to, config_.backfill_chunk_blocks);
  if (!chunks.ok()) return chunks.status();
  backfill_pending_ += to - from + 1;
  log::Info("backfill queued", {{"from", std::to_string(from)},
                                {"to", std::to_string(to)},
                                {"chunks", std::to_string(*chunks)}});
  return std::make_pair(from, to);
}

absl::StatusOr<uint64_t> ChainIndexer::BackfillStep(uint64_t head) {
  if (coordination_.backfill == nullptr) return 0;
  BackfillLeases& leases = *coordination_.backfill;
  if (lease_) {
    // Each range renews the lease; a lost one is left to its new holder.
    absl::StatusOr<bool> renewed =
        leases.Renew(*lease_, config_.backfill_lease);
    if (!renewed.ok()) return renewed.status();
    if (!*renewed) lease_.reset();
  }
  if (!lease_) {
    absl::StatusOr<std::optional<LeasedRange>> leased = leases.Lease(
        config_.chain_id, config_.worker_id, config_.backfill_lease);
    if (!leased.ok()) return leased.status();
    if (!*leased) {
      backfill_pending_ = 0;
      return 0;
    }
    lease_ = **leased;
  }
  const uint64_t from = lease_->next_block;
  const uint64_t to = std::min(lease_->to_block, from + range_ - 1);
  absl::StatusOr<RangeOutcome> outcome = IndexRange(from, to, head, false);
  if (!outcome.ok()) {
    // Given back, to be tried again (here or on another replica) after a
    // pause that grows with its failures.
    range_ = std::max<uint64_t>(1, range_ / 2);
    (void)leases.Release(
        *lease_, outcome.status().message(),
        BackoffDelay({absl::Seconds(1), absl::Minutes(5)}, lease_->attempts));
    lease_.reset();
    return outcome.status();
  }
  range_ = NextRange(outcome->to - from + 1, outcome->weight);
  if (outcome->lease_lost || outcome->to >= lease_->to_block) {
    lease_.reset();
  } else {
    lease_->next_block = outcome->to + 1;
  }
  if (absl::StatusOr<BackfillPending> pending =
          leases.Pending(config_.chain_id);
      pending.ok()) {
    backfill_pending_ = pending->blocks;
  }
  return outcome->to - from + 1;
}

void ChainIndexer::Resign() {
  if (coordination_.follower == nullptr) return;
  (void)coordination_.follower->Resign(config_.chain_id, config_.worker_id);
}

IndexerSnapshot ChainIndexer::Snapshot() const {
  IndexerSnapshot snap{head_.load(), indexed_.load(), has_indexed_.load()};
  snap.backfill_pending_blocks = backfill_pending_.load();
  snap.follower = follower_.load();
  absl::MutexLock lock(&mu_);
  snap.halted = halted_;
  return snap;
}

}  // namespace niftysave::indexer
