#include "services/indexer/uri_reader.h"

#include <algorithm>
#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {
namespace {

// URI reads smaller than this are not split across requests.
constexpr size_t kMinUriChunk = 100;

std::string Ms(absl::Duration d) {
  return std::to_string(absl::ToInt64Milliseconds(d));
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
  std::vector<std::future<std::vector<absl::StatusOr<TokenRead>>>> pending;
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
  std::vector<absl::StatusOr<TokenRead>> uris =
      chunks == 1
          ? source.TokenUris(queries, block)
          : source.TokenUris(std::vector<TokenUriQuery>(
                                 queries.begin(), queries.begin() + per_chunk),
                             block);
  for (auto& f : pending) {
    std::vector<absl::StatusOr<TokenRead>> more = f.get();
    for (auto& u : more) uris.push_back(std::move(u));
  }
  if (uris.size() != queries.size()) {
    return ErrorWithReason(absl::StatusCode::kInternal, "rpc_bad_response",
                           absl::StrCat(uris.size(), " URI results for ",
                                        queries.size(), " reads"));
  }
  for (const absl::StatusOr<TokenRead>& uri : uris) {
    UriResult r;
    if (uri.ok() && uri->family.metadata_uri &&
        uri->family.metadata_uri->empty()) {
      r.reason = "uri_empty";
      r.detail = "the contract returned an empty tokenMetadataURI";
    } else if (uri.ok() && !uri->uri.empty()) {
      r.token_uri = uri->uri;
      r.family = uri->family;
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
    UriReaderConfig config, UriReadRepository& repo, ChainSource& source,
    std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
    UriReaderCounters counters)
    : config_(std::move(config)),
      repo_(repo),
      source_(source),
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
  absl::StatusOr<UriReadBatch> batch = repo_.LeaseReads(BatchLimit());
  if (!batch.ok()) return batch.status();
  if (batch->items.empty()) return 0;
  const absl::Time t_read = absl::Now();
  absl::StatusOr<std::vector<UriResult>> uris =
      ReadTokenUris(source_, batch->queries, batch->block, config_.concurrency);
  const absl::Time t_write = absl::Now();
  if (!uris.ok()) {
    counters_.reads("node_error", batch->items.size());
    (void)repo_.RescheduleReads(*batch, uris.status().message());
    return uris.status();
  }

  size_t bytes = 0;
  for (const UriResult& r : *uris) {
    bytes += (r.token_uri ? r.token_uri->size() : 0) + r.detail.size() +
             r.family.metadata_uri.value_or("").size();
  }
  if (!uris->empty())
    avg_uri_bytes_ = std::max<size_t>(1, bytes / uris->size());

  absl::StatusOr<UriReadsWritten> written = repo_.WriteReads(*batch, *uris);
  if (!written.ok()) return written.status();
  counters_.reads("uri", written->with_uri);
  counters_.reads("failed", written->failed);
  if (written->stale > 0) counters_.reads("stale", written->stale);
  if (!written->extract.empty()) on_tokens_(written->extract);
  log::Info("read token URIs",
            {{"block", std::to_string(batch->block)},
             {"tokens", std::to_string(batch->items.size())},
             {"uri", std::to_string(written->with_uri)},
             {"failed", std::to_string(written->failed)},
             {"stale", std::to_string(written->stale)},
             {"queued", std::to_string(written->extract.size())},
             {"bytes", std::to_string(bytes)},
             {"lease_ms", Ms(t_read - t_start)},
             {"read_ms", Ms(t_write - t_read)},
             {"write_ms", Ms(absl::Now() - t_write)}});
  return batch->items.size();
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
