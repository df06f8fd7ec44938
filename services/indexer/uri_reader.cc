#include "services/indexer/uri_reader.h"

#include <algorithm>
#include <future>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {
namespace {

// URI reads smaller than this are not split across requests.
constexpr size_t kMinUriChunk = 100;

// The leased tokens, and the block to read them at: the chain's indexed
// block (every token on record was minted at or before it), or the newest
// block one of them was recorded at, if that is later (a backfill behind the
// cursor cannot be, but the read must never predate the token). A token read
// before (a refresh, a re-mint) is read no earlier than its newest transfer
// either: the re-mint that queued it may be written ahead of the cursor, as
// the parts of a block over the transfer cap are. (Only then: a look at the
// transfers of every new token would slow the first reads.)
constexpr char kLoadTokens[] = R"sql(
SELECT t.id, encode(t.contract, 'hex'), t.token_id::text, t.standard,
       greatest(c.next_block - 1, max(t.mint_block) OVER (),
                max(CASE WHEN t.uri_block IS NOT NULL THEN
                      (SELECT max(tr.block_number) FROM transfers tr
                       WHERE tr.chain_id = t.chain_id
                         AND tr.contract = t.contract
                         AND tr.token_id = t.token_id) END) OVER ())
FROM unnest($1::bigint[]) AS u(id)
JOIN tokens t ON t.id = u.id
JOIN chains c ON c.chain_id = t.chain_id
WHERE t.chain_id = $2
ORDER BY t.id)sql";

// The reads, for the tokens whose lease was still held. A token whose URI
// was set at a later block (a URI event the follower wrote meanwhile) keeps
// it. A revert of a burned token is `token_burned` (NS_TOKEN_URI_REASON).
// Returns the tokens written: each goes (back) through extraction even when its
// URI is unchanged, since an ERC-4906 refresh says the metadata behind the same
// URI changed.
constexpr char kWriteReads[] = R"sql(
UPDATE tokens t
SET token_uri = u.uri, uri_block = $2,
    status = CASE WHEN u.uri IS NULL THEN 'failed' ELSE 'queued' END,
    )sql" NS_TOKEN_URI_REASON R"sql(, updated_at = now()
FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[])
     AS u(id, uri, r, d)
WHERE t.id = u.id AND (t.uri_block IS NULL OR t.uri_block <= $2)
RETURNING t.id, encode(t.contract, 'hex'), t.token_id::text,
          t.token_uri IS NOT NULL)sql";

std::string Ms(absl::Duration d) {
  return std::to_string(absl::ToInt64Milliseconds(d));
}

std::optional<std::string> Opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

absl::StatusOr<std::vector<UriResult>> ReadTokenUris(
    ChainSource& source, const std::vector<TokenUriQuery>& queries,
    uint64_t block, int concurrency) {
  std::vector<UriResult> out;
  out.reserve(queries.size());
  if (queries.empty()) return out;
  // Split into concurrent chunks: the node answers several batches at once.
  const size_t chunks = std::clamp<size_t>(queries.size() / kMinUriChunk, 1,
                                           std::max(1, concurrency));
  const size_t per_chunk = (queries.size() + chunks - 1) / chunks;
  std::vector<std::future<std::vector<absl::StatusOr<std::string>>>> pending;
  for (size_t c = 1; c < chunks; ++c) {
    const size_t begin = std::min(queries.size(), c * per_chunk);
    const size_t end = std::min(queries.size(), begin + per_chunk);
    pending.push_back(std::async(std::launch::async, [&, begin, end] {
      return source.TokenUris(
          std::vector<TokenUriQuery>(queries.begin() + begin,
                                     queries.begin() + end),
          block);
    }));
  }
  std::vector<absl::StatusOr<std::string>> uris =
      chunks == 1
          ? source.TokenUris(queries, block)
          : source.TokenUris(std::vector<TokenUriQuery>(
                                 queries.begin(), queries.begin() + per_chunk),
                             block);
  for (auto& f : pending) {
    std::vector<absl::StatusOr<std::string>> more = f.get();
    for (auto& u : more) uris.push_back(std::move(u));
  }
  if (uris.size() != queries.size()) {
    return ErrorWithReason(absl::StatusCode::kInternal, "rpc_bad_response",
                           absl::StrCat(uris.size(), " URI results for ",
                                        queries.size(), " reads"));
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
      // The node or the network failed, not the contract's call: read the
      // whole batch again later. A call-level error (revert, out of gas,
      // garbage) is the token's own, recorded and not retried forever.
      return uri.status();
    } else {
      r.reason = "token_uri_" + ReasonOf(uri.status());
      r.detail = std::string(uri.status().message());
    }
    out.push_back(std::move(r));
  }
  return out;
}

UriReader::UriReader(
    UriReaderConfig config, db::Pool& pool, ChainSource& source,
    std::string worker_id,
    std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
    UriReaderCounters counters)
    : config_(std::move(config)),
      pool_(pool),
      source_(source),
      queue_(pool, UriQueueName(config_.chain_id), std::move(worker_id),
             config_.policy),
      on_tokens_(std::move(on_tokens)),
      counters_(std::move(counters)) {}

int UriReader::BatchLimit() const {
  const int batch = std::max(1, config_.batch);
  // A first step of --uri_batch URIs of 1 MiB each would hold GBs before
  // anything is measured; it starts at the budget's worth of the longest.
  size_t avg = avg_uri_bytes_.load();
  if (avg == 0) avg = std::max<size_t>(1, config_.max_uri_bytes);
  return static_cast<int>(std::clamp<size_t>(config_.max_batch_bytes / avg, 1,
                                             static_cast<size_t>(batch)));
}

absl::StatusOr<size_t> UriReader::Step() {
  const absl::Time t_start = absl::Now();
  // One transaction leases the batch and loads its tokens, in id order (an
  // item whose token is gone is completed below, with nothing to write).
  std::vector<db::QueueItem> items;
  std::vector<int64_t> token_ids;
  std::vector<TokenUriQuery> queries;
  uint64_t block = 0;
  absl::Status loaded = pool_.Run([&](pqxx::work& txn) {
    items = queue_.Lease(txn, BatchLimit());
    token_ids.clear();
    queries.clear();
    if (items.empty()) return absl::OkStatus();
    std::vector<int64_t> ids;
    for (const db::QueueItem& item : items) ids.push_back(item.id);
    for (const pqxx::row& row :
         txn.exec_params(kLoadTokens, db::BigintArray(ids),
                         static_cast<int64_t>(config_.chain_id))) {
      absl::StatusOr<eth::Uint256> id =
          eth::Uint256::FromDecimal(row[2].c_str());
      if (!id.ok()) continue;  // the column is numeric(78) >= 0: cannot be
      token_ids.push_back(row[0].as<int64_t>());
      queries.push_back({row[1].c_str(), *id,
                         std::string(row[3].c_str()) == "erc1155"
                             ? eth::TokenStandard::kErc1155
                             : eth::TokenStandard::kErc721});
      block = static_cast<uint64_t>(std::max<int64_t>(0, row[4].as<int64_t>()));
    }
    return absl::OkStatus();
  });
  if (!loaded.ok()) return loaded;
  if (items.empty()) return 0;
  const absl::Time t_read = absl::Now();
  absl::StatusOr<std::vector<UriResult>> uris =
      ReadTokenUris(source_, queries, block, config_.concurrency);
  const absl::Time t_write = absl::Now();
  if (!uris.ok()) {
    counters_.reads("node_error", items.size());
    (void)pool_.Run([&](pqxx::work& txn) {
      queue_.RescheduleMany(txn, items, uris.status().message());
      return absl::OkStatus();
    });
    return uris.status();
  }

  size_t bytes = 0;
  for (const UriResult& r : *uris) {
    bytes += (r.token_uri ? r.token_uri->size() : 0) + r.detail.size();
  }
  if (!uris->empty())
    avg_uri_bytes_ = std::max<size_t>(1, bytes / uris->size());

  std::vector<eth::TokenKey> extract;
  uint64_t with_uri = 0, failed = 0, stale = 0;
  absl::Status wrote = pool_.Run([&](pqxx::work& txn) {
    extract.clear();
    with_uri = failed = stale = 0;
    const std::vector<int64_t> held = queue_.CompleteMany(txn, items);
    const std::set<int64_t> ours(held.begin(), held.end());
    stale = items.size() - held.size();
    std::vector<int64_t> w_ids;
    std::vector<std::optional<std::string>> w_uri, w_reason, w_detail;
    for (size_t i = 0; i < token_ids.size(); ++i) {
      if (!ours.count(token_ids[i])) continue;
      const UriResult& r = (*uris)[i];
      (r.token_uri ? with_uri : failed) += 1;
      w_ids.push_back(token_ids[i]);
      w_uri.push_back(r.token_uri);
      w_reason.push_back(Opt(r.reason));
      w_detail.push_back(Opt(r.detail));
    }
    if (w_ids.empty()) return absl::OkStatus();
    std::vector<int64_t> requeue;
    for (const pqxx::row& row :
         txn.exec_params(kWriteReads, db::BigintArray(w_ids),
                         static_cast<int64_t>(block), db::TextArray(w_uri),
                         db::TextArray(w_reason), db::TextArray(w_detail))) {
      if (!row[3].as<bool>()) continue;
      requeue.push_back(row[0].as<int64_t>());
      extract.push_back({config_.chain_id, row[1].c_str(), row[2].c_str()});
    }
    // A lease in flight read the old URI: Requeue fences it off.
    db::WorkQueue::Requeue(txn, "extract", requeue);
    return absl::OkStatus();
  });
  if (!wrote.ok()) return wrote;
  counters_.reads("uri", with_uri);
  counters_.reads("failed", failed);
  if (stale > 0) counters_.reads("stale", stale);
  if (!extract.empty()) on_tokens_(extract);
  log::Info("read token URIs", {{"block", std::to_string(block)},
                                {"tokens", std::to_string(items.size())},
                                {"uri", std::to_string(with_uri)},
                                {"failed", std::to_string(failed)},
                                {"stale", std::to_string(stale)},
                                {"queued", std::to_string(extract.size())},
                                {"bytes", std::to_string(bytes)},
                                {"lease_ms", Ms(t_read - t_start)},
                                {"read_ms", Ms(t_write - t_read)},
                                {"write_ms", Ms(absl::Now() - t_write)}});
  return items.size();
}

absl::StatusOr<size_t> UriReader::Drain() {
  size_t total = 0;
  for (;;) {
    absl::StatusOr<size_t> n = Step();
    if (!n.ok()) return n.status();
    if (*n == 0) return total;
    total += *n;
  }
}

}  // namespace niftysave::indexer
