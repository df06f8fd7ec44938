#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/eth/token_key.h"
#include "common/eth/uint256.h"
#include "common/http/http_client.h"
#include "nlohmann/json.hpp"
#include "services/indexer/chain_source.h"
#include "services/indexer/indexer_model.h"

namespace niftysave::indexer {

// One Token row of the eip721-subgraph schema, checked.
struct SubgraphToken {
  std::string contract;  // 40 lower-case hex digits
  eth::Uint256 token_id;
  std::optional<std::string> owner;  // 40 hex digits, when the row had one
  uint64_t block = 0;                // blockNumber (0 when absent)
  UriResult uri;                     // the URI, or why it is not usable
};

// One page of `tokens`, checked row by row: usable tokens, the contracts
// they name, and bad rows as errors (reason subgraph_bad_row, ...).
struct SubgraphPage {
  size_t rows = 0;
  std::string last_id;  // the id of the last row: the next page's id_gt
  std::vector<ContractInfo> contracts;
  std::vector<SubgraphToken> tokens;
  std::vector<IndexerError> errors;
};

struct SubgraphLimits {
  size_t max_rows = 1000;      // a page longer than asked is invalid
  size_t max_id_bytes = 1024;  // a row's id (the cursor)
  size_t max_token_uri_bytes = 1 << 20;
  size_t max_name_bytes = 256;  // contract name and symbol
};

// Checks a GraphQL reply to the tokens query. Errors: `subgraph_graphql` (the
// reply carries GraphQL errors), `subgraph_invalid` (not the expected shape,
// more rows than asked, an id unusable as a cursor). A row that is only
// partly bad (contract or token id malformed) becomes an IndexerError; an
// over-long, empty or NUL-carrying URI fails that token with a reason
// (token_uri_too_large, uri_empty, token_uri_not_utf8).
absl::StatusOr<SubgraphPage> ParseTokensReply(const nlohmann::json& reply,
                                              const SubgraphLimits& limits);

// Where subgraph pages are written: the same tables as the RPC path
// (contracts, tokens, indexer_errors, the extract queue), plus the cursor.
class SubgraphRepository {
 public:
  virtual ~SubgraphRepository() = default;
  // Creates the chain (if new) and its cursor; returns the last id ingested
  // ("" before the first page).
  virtual absl::StatusOr<std::string> OpenCursor(uint64_t chain_id,
                                                 const std::string& name) = 0;
  // In one transaction: the page's contracts and tokens (existing ones are
  // left alone), its errors, the extract queue for new tokens with a URI,
  // and the cursor moved from `after` to page.last_id. Aborted if the
  // cursor is no longer at `after` (another process moved it). Returns the
  // keys queued.
  virtual absl::StatusOr<std::vector<eth::TokenKey>> RecordPage(
      uint64_t chain_id, const std::string& after,
      const SubgraphPage& page) = 0;

  struct RescanResult {
    uint64_t compared = 0;  // page tokens already on record
    // Stored tokens whose URI differs from the subgraph's usable one: the
    // new URI written, 'queued' again and re-queued for extraction.
    std::vector<eth::TokenKey> requeued;
    // Stored tokens with a URI for which the subgraph now has none usable:
    // the stored URI is kept; each is recorded once in indexer_errors with
    // the URI's reason (uri_empty, token_uri_too_large, ...).
    std::vector<std::string> kept_reasons;
  };
  // The re-scan sweep, in one transaction: compares the page's token URIs
  // with the stored ones. Tokens not on record, and the page's bad rows and
  // contracts, are left to the forward cursor (RecordPage).
  virtual absl::StatusOr<RescanResult> RescanPage(uint64_t chain_id,
                                                  const SubgraphPage& page) = 0;
};

// Ingests tokens from a subgraph with the eip721-subgraph schema, paged by
// key (where: {id_gt: cursor}, orderBy: id), never by `skip`, which The
// Graph caps at 5000. Each Step() reads and writes one page. A failed page
// (HTTP, GraphQL or shape error) writes nothing and is asked for again by
// the next Step(); a reply too large for the limit halves the page size,
// which grows back after each good page. Step() runs on one thread.
//
// The re-scan sweep: paging by id only moves forward, so a token whose
// tokenURI changes after it was ingested would never be seen again. A second
// key cursor, independent of the forward one and kept in memory only, walks
// the whole token set again from the start (same id_gt paging and limits)
// and re-queues stored tokens whose URI changed (RescanPage). A sweep starts
// at most once per `rescan_interval` (from the previous sweep's start; the
// first one once the forward cursor has caught up after Open(), so a restart
// starts a sweep again from the beginning). It reads one page per Step(),
// only when the forward page of that Step() brought nothing new: the forward
// cursor always has priority.
class SubgraphSource {
 public:
  struct Options {
    uint64_t chain_id = 0;
    std::string chain_name;
    std::string url;
    size_t page_size = 1000;  // 1-1000 (The Graph's `first` limit)
    SubgraphLimits limits;
    http::HttpLimits http_limits{.max_body_bytes = 128 << 20,
                                 .total_timeout = absl::Seconds(60)};
    // Time between the starts of two re-scan sweeps; zero disables them.
    absl::Duration rescan_interval = absl::Hours(1);
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };
  struct Counters {
    // One HTTP request: outcome ok, graphql_error, http_error, invalid,
    // too_large, transport.
    std::function<void(const std::string& outcome, absl::Duration took)>
        request = [](const std::string&, absl::Duration) {};
    std::function<void(uint64_t)> tokens = [](uint64_t) {};
    std::function<void(const std::string& reason)> bad_row =
        [](const std::string&) {};
    // Stored tokens the re-scan sweep found with a changed URI (re-queued).
    std::function<void(uint64_t)> uri_changed = [](uint64_t) {};
  };
  // What one re-scan sweep did.
  struct SweepStats {
    uint64_t pages = 0;
    uint64_t rows = 0;
    uint64_t compared = 0;  // tokens on record
    uint64_t changed = 0;   // re-queued with a new URI
    uint64_t kept = 0;      // stored URI kept, the subgraph's unusable
    absl::Time started;
  };

  SubgraphSource(
      const http::HttpClient& http, SubgraphRepository& repo, Options options,
      std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
      Counters counters);

  absl::Status Open();
  // One forward page and, when it brought nothing new and a sweep is due or
  // under way, one sweep page: returns the rows read by both (0: caught up,
  // nothing new, no sweep page read).
  absl::StatusOr<uint64_t> Step();
  const std::string& cursor() const { return cursor_; }
  size_t page_size() const { return page_size_; }
  bool sweeping() const { return sweeping_; }
  const std::string& sweep_cursor() const { return sweep_cursor_; }
  uint64_t sweeps_completed() const { return sweeps_completed_; }
  // The last completed sweep (all zero before the first).
  const SweepStats& last_sweep() const { return last_sweep_; }

 private:
  absl::StatusOr<SubgraphPage> FetchPage(const char* query,
                                         const char* operation,
                                         const std::string& after,
                                         size_t first);
  absl::StatusOr<uint64_t> ForwardStep();
  absl::StatusOr<uint64_t> SweepStep();

  const http::HttpClient& http_;
  SubgraphRepository& repo_;
  const Options options_;
  const std::function<void(const std::vector<eth::TokenKey>&)> on_tokens_;
  const Counters counters_;
  std::string cursor_;
  size_t page_size_;
  // The re-scan sweep (in memory only).
  bool sweeping_ = false;
  absl::Time next_sweep_ = absl::InfinitePast();
  std::string sweep_cursor_;
  size_t sweep_page_size_;
  SweepStats sweep_;
  SweepStats last_sweep_;
  uint64_t sweeps_completed_ = 0;
};

}  // namespace niftysave::indexer
