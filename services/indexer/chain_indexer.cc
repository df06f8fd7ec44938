#include "services/indexer/chain_indexer.h"

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {
namespace {

using TokenId = std::pair<std::string, std::string>;  // contract, decimal id

TokenId IdOf(const std::string& contract, const eth::Uint256& id) {
  return {contract, id.ToDecimal()};
}

// Stored blocks compared per batch while walking back.
constexpr uint64_t kWalkBackBatch = 64;

// The first range, before any density is known: a dense chain must not
// begin with a reply too large to use.
constexpr uint64_t kInitialRange = 16;

std::string Ms(absl::Duration d) {
  return std::to_string(absl::ToInt64Milliseconds(d));
}

// URI reads smaller than this are not split across requests.
constexpr size_t kMinUriChunk = 100;

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
    IndexerCounters counters)
    : config_(std::move(config)),
      source_(source),
      repo_(repo),
      on_tokens_(std::move(on_tokens)),
      counters_(std::move(counters)),
      range_(std::clamp<uint64_t>(
          kInitialRange, 1, std::max<uint64_t>(1, config_.max_block_range))) {}

ChainIndexer::~ChainIndexer() { (void)FinishWrite(); }

absl::Status ChainIndexer::FinishWrite() {
  if (!pending_) return absl::OkStatus();
  const absl::Time wait_start = absl::Now();
  PendingWrite::Written written = pending_->written.get();
  const absl::Duration waited = absl::Now() - wait_start;
  PendingWrite done = *std::move(pending_);
  pending_.reset();
  absl::StatusOr<std::vector<eth::TokenKey>>& queued = written.queued;
  if (!queued.ok()) {
    next_block_ = done.from;
    prefetch_.reset();
    return queued.status();
  }
  indexed_ = done.to;
  has_indexed_ = true;
  for (const auto& [standard, n] : done.mints_by_standard) {
    counters_.tokens_minted(standard, n);
  }
  counters_.progress(done.head, done.to);
  if (!queued->empty()) on_tokens_(*queued);
  log::Info("indexed range",
            {{"from", std::to_string(done.from)},
             {"to", std::to_string(done.to)},
             {"logs", std::to_string(done.logs)},
             {"mints", std::to_string(done.mints)},
             {"uri_updates", std::to_string(done.uri_updates)},
             {"logs_ms", done.logs_ms},
             {"decode_ms", done.decode_ms},
             {"uris_ms", done.uris_ms},
             // The write ran while the next range was read; wait_ms is how
             // long the next range then waited for it.
             {"write_ms", Ms(written.took)},
             {"wait_ms", Ms(waited)}});
  return absl::OkStatus();
}

absl::StatusOr<std::vector<nlohmann::json>> ChainIndexer::TakeLogs(
    uint64_t from, uint64_t to) {
  if (prefetch_ && prefetch_->from == from && prefetch_->to == to) {
    absl::StatusOr<std::vector<nlohmann::json>> logs = prefetch_->logs.get();
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

absl::StatusOr<uint64_t> ChainIndexer::Step() {
  absl::StatusOr<uint64_t> head = source_.HeadBlock();
  if (!head.ok()) return head.status();
  head_ = *head;
  counters_.progress(*head, indexed_);
  if (*head < config_.confirmations) {
    if (absl::Status s = FinishWrite(); !s.ok()) return s;
    return 0;
  }
  const uint64_t safe = *head - config_.confirmations;
  // A reorg costs one pass: the rollback, then the range again.
  for (int pass = 0; pass < 2 && next_block_ <= safe; ++pass) {
    const uint64_t from = next_block_;
    const uint64_t to = std::min(safe, from + range_ - 1);
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
    range_ = NextRange(to - from + 1, outcome->logs);
    return to - from + 1;
  }
  if (next_block_ <= safe) return 1;  // rolled back twice: go again now
  // Caught up: nothing is left in flight when Step says there is no work.
  if (absl::Status s = FinishWrite(); !s.ok()) return s;
  return BackfillStep(*head);
}

absl::StatusOr<std::vector<UriResult>> ChainIndexer::ReadUris(
    const std::vector<TokenUriQuery>& queries, uint64_t block) {
  std::vector<UriResult> out;
  out.reserve(queries.size());
  // Split into concurrent chunks: the node answers several batches at once.
  const size_t chunks =
      std::clamp<size_t>(queries.size() / kMinUriChunk, 1,
                         std::max(1, config_.uri_read_concurrency));
  const size_t per_chunk = (queries.size() + chunks - 1) / chunks;
  std::vector<std::future<std::vector<absl::StatusOr<std::string>>>> pending;
  for (size_t c = 1; c < chunks; ++c) {
    const size_t begin = std::min(queries.size(), c * per_chunk);
    const size_t end = std::min(queries.size(), begin + per_chunk);
    pending.push_back(std::async(std::launch::async, [&, begin, end] {
      return source_.TokenUris(
          std::vector<TokenUriQuery>(queries.begin() + begin,
                                     queries.begin() + end),
          block);
    }));
  }
  std::vector<absl::StatusOr<std::string>> uris =
      chunks == 1
          ? source_.TokenUris(queries, block)
          : source_.TokenUris(
                std::vector<TokenUriQuery>(
                    queries.begin(),
                    queries.begin() + std::min(queries.size(), per_chunk)),
                block);
  for (auto& f : pending) {
    std::vector<absl::StatusOr<std::string>> more = f.get();
    for (auto& u : more) uris.push_back(std::move(u));
  }
  for (const absl::StatusOr<std::string>& uri : uris) {
    UriResult r;
    if (uri.ok() && !uri->empty()) {
      r.token_uri = *uri;
    } else if (uri.ok()) {
      r.reason = "uri_empty";
      r.detail = "the contract returned an empty URI";
    } else if (http::IsTemporary(uri.status()) &&
               ReasonOf(uri.status()) != "rpc_error") {
      // The node or the network failed, not the contract's call: retry the
      // whole range later. A call-level error (revert, out of gas, garbage)
      // is the token's own, recorded and not retried forever.
      return uri.status();
    } else {
      r.reason = "token_uri_" + ReasonOf(uri.status());
      r.detail = std::string(uri.status().message());
    }
    out.push_back(std::move(r));
  }
  return out;
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
  absl::StatusOr<std::vector<nlohmann::json>> logs =
      follow ? TakeLogs(from, to) : source_.Logs(from, to);
  const absl::Time t_logs = absl::Now();
  if (!logs.ok()) {
    if (follow) range_ = std::max<uint64_t>(1, range_ / 2);
    return logs.status();
  }
  counters_.logs_seen(logs->size());

  RangeBatch batch{.chain_id = config_.chain_id,
                   .to_block = to,
                   .head_block = head,
                   .advance_cursor = follow,
                   .reorg_window = config_.reorg_window};
  std::vector<eth::UriChanged> uri_events;
  std::vector<eth::MetadataUpdate> refreshes;
  std::map<uint64_t, std::string> log_blocks;  // number → hash the log gave
  for (const nlohmann::json& raw : *logs) {
    absl::StatusOr<eth::ChainEvent> event = eth::DecodeLog(raw);
    if (!event.ok()) {
      if (event.status().code() != absl::StatusCode::kNotFound) {
        counters_.bad_log(ReasonOf(event.status()));
        log::Warn("skipping malformed log",
                  {{"error", std::string(event.status().message())}});
      }
      continue;
    }
    if (auto* moved = std::get_if<std::vector<eth::TokenTransfer>>(&*event)) {
      for (eth::TokenTransfer& t : *moved) {
        log_blocks[t.at.block_number] = t.at.block_hash;
        batch.transfers.push_back(std::move(t));
      }
    } else if (auto* uri = std::get_if<eth::UriChanged>(&*event)) {
      log_blocks[uri->at.block_number] = uri->at.block_hash;
      uri_events.push_back(std::move(*uri));
    } else if (auto* range = std::get_if<eth::ConsecutiveTransfer>(&*event)) {
      log_blocks[range->at.block_number] = range->at.block_hash;
      const std::optional<uint64_t> span =
          eth::Uint256::Distance(range->from_id, range->to_id);
      uint64_t count = config_.max_tokens_per_event;
      if (span && *span < count) count = *span + 1;
      if (!span || *span >= config_.max_tokens_per_event) {
        batch.errors.push_back(
            {.block = range->at.block_number,
             .log_index = range->at.log_index,
             .reason = "range_too_large",
             .detail = absl::StrCat(
                 "ConsecutiveTransfer ", range->from_id.ToDecimal(), "..",
                 range->to_id.ToDecimal(), " of 0x", range->contract,
                 ": only the first ", count, " tokens indexed")});
        counters_.error_recorded("range_too_large");
      }
      for (uint64_t k = 0; k < count; ++k) {
        batch.transfers.push_back(
            {.at = range->at,
             .batch_index = static_cast<uint32_t>(k),
             .contract = range->contract,
             .from = range->from,
             .to = range->to,
             .token_id = *range->from_id.Plus(k)});  // k <= span: no overflow
      }
    } else if (auto* update = std::get_if<eth::MetadataUpdate>(&*event)) {
      log_blocks[update->at.block_number] = update->at.block_hash;
      refreshes.push_back(std::move(*update));
    }
  }

  if (follow) {
    // The range must continue the chain already stored: the first block's
    // parent is the stored hash of from - 1 (the previous range's last).
    std::set<uint64_t> wanted = {from, to};
    for (const auto& [number, hash] : log_blocks) wanted.insert(number);
    absl::StatusOr<std::vector<BlockHeader>> headers = source_.BlockHeaders(
        std::vector<uint64_t>(wanted.begin(), wanted.end()));
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
        return RangeOutcome{.reorg = true};
      }
    }
    // Logs and headers must describe one chain: a reorg between the two
    // reads shows as a log whose block hash is not the header's.
    for (const auto& [number, hash] : log_blocks) {
      if (by_number[number]->hash != hash) {
        return ErrorWithReason(
            absl::StatusCode::kUnavailable, "chain_moved",
            absl::StrCat("block ", number, " changed while it was read"));
      }
    }
    batch.blocks = *std::move(headers);
  }

  std::stable_sort(
      batch.transfers.begin(), batch.transfers.end(),
      [](const auto& a, const auto& b) {
        return std::tie(a.at.block_number, a.at.log_index, a.batch_index) <
               std::tie(b.at.block_number, b.at.log_index, b.batch_index);
      });

  // Mints of tokens not on record yet: one per token, the first.
  std::set<TokenId> minted;
  std::vector<const eth::TokenTransfer*> mint_candidates;
  std::vector<eth::TokenKey> candidate_keys;
  for (const eth::TokenTransfer& t : batch.transfers) {
    if (!t.IsMint() || !minted.insert(IdOf(t.contract, t.token_id)).second) {
      continue;
    }
    mint_candidates.push_back(&t);
    candidate_keys.push_back(
        {config_.chain_id, t.contract, t.token_id.ToDecimal()});
  }
  absl::StatusOr<std::vector<IndexerRepository::KnownToken>> known =
      repo_.FindTokens(candidate_keys);
  if (!known.ok()) return known.status();
  std::set<TokenId> known_ids;
  for (const auto& k : *known) {
    known_ids.insert({k.key.contract, k.key.token_id});
  }
  if (pending_) {  // created by the range being written
    for (const eth::TokenKey& k : candidate_keys) {
      if (pending_->minted.count({k.contract, k.token_id})) {
        known_ids.insert({k.contract, k.token_id});
      }
    }
  }
  std::vector<TokenUriQuery> queries;
  std::map<std::string, ContractInfo> new_contracts;
  for (const eth::TokenTransfer* t : mint_candidates) {
    if (known_ids.count(IdOf(t->contract, t->token_id))) continue;
    batch.mints.push_back({.transfer = *t});
    queries.push_back({t->contract, t->token_id, t->standard});
    new_contracts.try_emplace(t->contract,
                              ContractInfo{.address = t->contract,
                                           .standard = t->standard,
                                           .first_block = t->at.block_number});
  }

  // Contracts seen for the first time: name, symbol, ERC-165, once.
  if (!new_contracts.empty()) {
    std::vector<std::string> addresses;
    for (const auto& [address, info] : new_contracts) {
      addresses.push_back(address);
    }
    absl::StatusOr<std::vector<std::string>> unknown =
        repo_.UnknownContracts(config_.chain_id, addresses);
    if (!unknown.ok()) return unknown.status();
    for (const std::string& address : *unknown) {
      if (pending_ && pending_->contracts.count(address)) continue;
      batch.contracts.push_back(new_contracts[address]);
    }
    if (absl::Status s = source_.ProbeContracts(batch.contracts, to); !s.ok()) {
      return s;
    }
  }

  // ERC-4906: re-read the URIs of known tokens the contract flagged.
  std::vector<UriUpdate> refreshed;
  std::vector<TokenUriQuery> refresh_queries;
  std::vector<uint64_t> refresh_blocks;
  std::set<TokenId> refresh_seen;
  if (!refreshes.empty()) {
    // The tokens flagged are looked up in the database: it must hold every
    // range before this one.
    if (absl::Status s = FinishWrite(); !s.ok()) return s;
  }
  for (const eth::MetadataUpdate& u : refreshes) {
    absl::StatusOr<std::vector<IndexerRepository::KnownToken>> tokens =
        repo_.TokensInRange(config_.chain_id, u.contract, u.from_id, u.to_id,
                            config_.max_tokens_per_event + 1);
    if (!tokens.ok()) return tokens.status();
    if (tokens->size() > config_.max_tokens_per_event) {
      tokens->resize(config_.max_tokens_per_event);
      batch.errors.push_back(
          {.block = u.at.block_number,
           .log_index = u.at.log_index,
           .reason = "refresh_too_large",
           .detail = absl::StrCat(
               "BatchMetadataUpdate ", u.from_id.ToDecimal(), "..",
               u.to_id.ToDecimal(), " of 0x", u.contract, ": only ",
               config_.max_tokens_per_event, " tokens refreshed")});
      counters_.error_recorded("refresh_too_large");
    }
    for (const auto& k : *tokens) {
      if (minted.count({k.key.contract, k.key.token_id}) ||
          !refresh_seen.insert({k.key.contract, k.key.token_id}).second) {
        continue;  // read with its mint, or already asked for
      }
      absl::StatusOr<eth::Uint256> id =
          eth::Uint256::FromDecimal(k.key.token_id);
      if (!id.ok()) continue;
      refresh_queries.push_back({k.key.contract, *id, k.standard});
      refresh_blocks.push_back(u.at.block_number);
    }
  }

  const size_t mint_count = queries.size();
  queries.insert(queries.end(), refresh_queries.begin(), refresh_queries.end());
  const absl::Time t_uris = absl::Now();
  absl::StatusOr<std::vector<UriResult>> uris = ReadUris(queries, to);
  const absl::Time t_write = absl::Now();
  if (!uris.ok()) return uris.status();
  for (size_t i = 0; i < mint_count; ++i) {
    batch.mints[i].uri = (*uris)[i];
  }
  // URI events first, then the reads at `to`: the newest value wins.
  for (eth::UriChanged& e : uri_events) {
    if (minted.count(IdOf(e.contract, e.token_id))) continue;
    batch.uri_updates.push_back({.contract = e.contract,
                                 .token_id = e.token_id,
                                 .block = e.at.block_number,
                                 .uri = {.token_uri = std::move(e.uri)}});
  }
  for (size_t i = 0; i < refresh_queries.size(); ++i) {
    batch.uri_updates.push_back({.contract = refresh_queries[i].contract,
                                 .token_id = refresh_queries[i].token_id,
                                 .block = refresh_blocks[i],
                                 .uri = (*uris)[mint_count + i]});
  }

  if (follow && head >= config_.confirmations &&
      to + 1 <= head - config_.confirmations) {
    // The next range as Step will ask for it while the node is not moving.
    const uint64_t next_from = to + 1;
    const uint64_t next_to =
        std::min(head - config_.confirmations,
                 next_from + NextRange(to - from + 1, logs->size()) - 1);
    prefetch_.reset();  // waits for a stale one
    prefetch_ =
        Prefetch{next_from, next_to,
                 std::async(std::launch::async, [this, next_from, next_to] {
                   return source_.Logs(next_from, next_to);
                 })};
  }
  std::map<std::string, uint64_t> by_standard;
  for (const Mint& m : batch.mints) {
    ++by_standard[eth::StandardName(m.transfer.standard)];
  }
  if (!follow) {
    absl::StatusOr<std::vector<eth::TokenKey>> queued =
        repo_.RecordRange(batch);
    const absl::Time t_end = absl::Now();
    if (!queued.ok()) return queued.status();
    for (const auto& [standard, n] : by_standard) {
      counters_.tokens_minted(standard, n);
    }
    counters_.progress(head, indexed_);
    if (!queued->empty()) on_tokens_(*queued);
    log::Info("backfilled range",
              {{"from", std::to_string(from)},
               {"to", std::to_string(to)},
               {"logs", std::to_string(logs->size())},
               {"mints", std::to_string(batch.mints.size())},
               {"uri_updates", std::to_string(batch.uri_updates.size())},
               {"logs_ms", Ms(t_logs - t_start)},
               {"decode_ms", Ms(t_uris - t_logs)},
               {"uris_ms", Ms(t_write - t_uris)},
               {"write_ms", Ms(t_end - t_write)}});
    return RangeOutcome{.logs = logs->size()};
  }

  // One write in flight: the previous range must be committed before this
  // one is submitted (it builds on it).
  if (absl::Status s = FinishWrite(); !s.ok()) return s;
  PendingWrite next{.from = from,
                    .to = to,
                    .head = head,
                    .logs = logs->size(),
                    .mints_by_standard = std::move(by_standard),
                    .mints = batch.mints.size(),
                    .uri_updates = batch.uri_updates.size(),
                    .logs_ms = Ms(t_logs - t_start),
                    .decode_ms = Ms(t_uris - t_logs),
                    .uris_ms = Ms(t_write - t_uris)};
  for (const BlockHeader& h : batch.blocks) {
    if (h.number == to) next.last = h;
  }
  for (const Mint& m : batch.mints) {
    next.minted.insert(IdOf(m.transfer.contract, m.transfer.token_id));
  }
  for (const ContractInfo& c : batch.contracts)
    next.contracts.insert(c.address);
  next.written =
      std::async(std::launch::async, [this, batch = std::move(batch)]() {
        const absl::Time start = absl::Now();
        absl::StatusOr<std::vector<eth::TokenKey>> queued =
            repo_.RecordRange(batch);
        return PendingWrite::Written{std::move(queued), absl::Now() - start};
      });
  pending_ = std::move(next);
  next_block_ = to + 1;
  return RangeOutcome{.logs = logs->size()};
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
             {"transfers_removed", std::to_string(rolled->transfers_removed)}});
  if (!rolled->stale_uris.empty()) {
    absl::StatusOr<std::vector<eth::TokenKey>> refreshed =
        RefreshTokens(rolled->stale_uris);
    if (!refreshed.ok()) {
      log::Warn("could not re-read URIs after a reorg",
                {{"error", std::string(refreshed.status().message())}});
    }
  }
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
  absl::StatusOr<std::vector<UriResult>> uris = ReadUris(queries, block);
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
  const uint64_t next = next_block_.load();
  if (next == 0 || from >= next) {
    return absl::FailedPreconditionError(
        absl::StrCat("the follower has not reached block ", from,
                     " yet; it will index it anyway"));
  }
  to = std::min(to, next - 1);
  absl::MutexLock lock(&mu_);
  backfill_.emplace_back(from, to);
  return std::make_pair(from, to);
}

absl::StatusOr<uint64_t> ChainIndexer::BackfillStep(uint64_t head) {
  std::pair<uint64_t, uint64_t> chunk;
  {
    absl::MutexLock lock(&mu_);
    if (backfill_.empty()) return 0;
    const auto& [from, to] = backfill_.front();
    chunk = {from, std::min(to, from + range_ - 1)};
  }
  absl::StatusOr<RangeOutcome> outcome =
      IndexRange(chunk.first, chunk.second, head, false);
  if (!outcome.ok()) return outcome.status();
  absl::MutexLock lock(&mu_);
  if (!backfill_.empty()) {
    auto& front = backfill_.front();
    if (chunk.second >= front.second) {
      backfill_.pop_front();
    } else {
      front.first = chunk.second + 1;
    }
  }
  return chunk.second - chunk.first + 1;
}

IndexerSnapshot ChainIndexer::Snapshot() const {
  IndexerSnapshot snap{head_.load(), indexed_.load(), has_indexed_.load()};
  absl::MutexLock lock(&mu_);
  for (const auto& [from, to] : backfill_) {
    snap.backfill_pending_blocks += to - from + 1;
  }
  snap.halted = halted_;
  return snap;
}

}  // namespace niftysave::indexer
