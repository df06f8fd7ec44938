#include "services/indexer/chain_indexer.h"

#include <algorithm>

#include "common/http/http_client.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {

ChainIndexer::ChainIndexer(
    ChainConfig config, ChainSource& source, IndexerRepository& repo,
    std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
    IndexerCounters counters)
    : config_(std::move(config)),
      source_(source),
      repo_(repo),
      on_tokens_(std::move(on_tokens)),
      counters_(std::move(counters)),
      range_(std::max<uint64_t>(1, config_.max_block_range)) {}

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
  if (*head < config_.confirmations) return 0;
  const uint64_t safe = *head - config_.confirmations;
  if (next_block_ > safe) return 0;
  const uint64_t from = next_block_;
  const uint64_t to = std::min(safe, from + range_ - 1);

  absl::StatusOr<std::vector<nlohmann::json>> logs =
      source_.TransferLogs(from, to);
  if (!logs.ok()) {
    range_ = std::max<uint64_t>(1, range_ / 2);
    return logs.status();
  }
  counters_.logs_seen(logs->size());

  RangeBatch batch{
      .chain_id = config_.chain_id, .to_block = to, .head_block = *head};
  std::vector<TokenUriQuery> queries;
  for (const nlohmann::json& raw : *logs) {
    absl::StatusOr<eth::Erc721Transfer> t = eth::DecodeErc721Transfer(raw);
    if (!t.ok()) {
      if (t.status().code() != absl::StatusCode::kNotFound) {
        counters_.bad_log(ReasonOf(t.status()));
        log::Warn("skipping malformed log",
                  {{"error", std::string(t.status().message())}});
      }
      continue;
    }
    if (t->IsMint()) {
      queries.push_back({t->contract, t->token_id});
      batch.mints.push_back({.transfer = *t});
    }
    batch.transfers.push_back(*t);
  }
  std::sort(batch.transfers.begin(), batch.transfers.end(),
            [](const auto& a, const auto& b) {
              return std::tie(a.at.block_number, a.at.log_index) <
                     std::tie(b.at.block_number, b.at.log_index);
            });

  std::vector<absl::StatusOr<std::string>> uris =
      source_.TokenUris(queries, to);
  for (size_t i = 0; i < batch.mints.size(); ++i) {
    Mint& m = batch.mints[i];
    const absl::StatusOr<std::string>& uri = uris[i];
    if (uri.ok() && !uri->empty()) {
      m.token_uri = *uri;
    } else if (uri.ok()) {
      m.reason = "uri_empty";
      m.detail = "tokenURI returned an empty string";
    } else if (http::IsTemporary(uri.status()) &&
               ReasonOf(uri.status()) != "rpc_error") {
      // The node or the network failed, not the contract's call: retry the
      // whole range later. A call-level error (revert, out of gas, garbage)
      // is the token's own, recorded and not retried forever.
      return uri.status();
    } else {
      m.reason = "token_uri_" + ReasonOf(uri.status());
      m.detail = std::string(uri.status().message());
    }
  }

  absl::StatusOr<std::vector<eth::TokenKey>> queued = repo_.RecordRange(batch);
  if (!queued.ok()) return queued.status();
  next_block_ = to + 1;
  indexed_ = to;
  has_indexed_ = true;
  counters_.tokens_minted(batch.mints.size());
  counters_.progress(*head, to);
  // Grow back towards the configured range after a shrink.
  range_ = std::min<uint64_t>(config_.max_block_range, range_ * 2);
  if (!queued->empty()) on_tokens_(*queued);
  log::Info("indexed range", {{"from", std::to_string(from)},
                              {"to", std::to_string(to)},
                              {"logs", std::to_string(logs->size())},
                              {"mints", std::to_string(batch.mints.size())}});
  return to - from + 1;
}

IndexerSnapshot ChainIndexer::Snapshot() const {
  return {head_.load(), indexed_.load(), has_indexed_.load()};
}

}  // namespace niftysave::indexer
