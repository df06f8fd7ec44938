#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/tracker/token_report.h"

namespace niftysave::tracker {

// A validated ListTokens request. Pages are keyset pages on tokens.id: the
// next page starts after the last id returned, so a page costs the same
// however deep it is and concurrent inserts never shift it.
struct TokenListQuery {
  uint64_t chain_id = 0;
  std::string contract;  // 40 lower-case hex digits, or "" for any
  std::string status;    // queued, extracted, archived, failed, or "" for any
  int limit = 100;
  int64_t after_id = 0;  // 0: first page
};

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;
inline constexpr int kMaxBatchKeys = 100;

// Checks what a client sent; InvalidArgument naming the bad field. `contract`
// may have a 0x prefix and any case; `page_size` 0 means kDefaultPageSize.
absl::StatusOr<TokenListQuery> MakeTokenListQuery(
    uint64_t chain_id, const std::string& contract, const std::string& status,
    uint32_t page_size, const std::string& page_token);

// The opaque page token for "after this id" (URL-safe base64, versioned).
std::string EncodePageToken(int64_t after_id);
absl::StatusOr<int64_t> DecodePageToken(const std::string& token);

// WatchProgress's interval: 0 means 5 s; otherwise 1-60 s.
absl::StatusOr<absl::Duration> WatchInterval(uint32_t seconds);

// GetTokenStatus in one statement: one round trip (three inside BEGIN/COMMIT,
// instead of five for three separate queries) and, prepared once per
// connection as kTokenReportStatement, no planning per call. The token, each
// resource it links (in json_path order) and each pin of each resource (by
// backend), one row per (resource, pin). A token without resources is one
// row whose resource columns are NULL; a resource without pins one row whose
// pin columns are NULL. $1 chain_id (bigint), $2 contract (40 hex digits),
// $3 token id (decimal). Served by the (chain_id, contract, token_id) key,
// token_resources_pkey, resources_pkey and pins (cid, backend).
// Columns, in order: see TokenReportRow.
extern const char kTokenReportQuery[];
inline constexpr char kTokenReportStatement[] = "token_report";

// One row of kTokenReportQuery, decoded by the repository.
struct TokenReportRow {
  // The token (the same in every row).
  std::string token_uri;
  std::string status;
  std::string reason;
  std::string detail;
  std::string owner;
  uint64_t mint_block = 0;
  // The resource, unless the token has none.
  bool has_resource = false;
  std::string json_path;
  std::string role;         // metadata or asset
  ResourceView resource{};  // without pins
  // The pin, unless the resource has none.
  std::optional<PinView> pin{};
};

// The report of `key` from its kTokenReportQuery rows (at least one).
TokenReport AssembleTokenReport(const eth::TokenKey& key,
                                std::vector<TokenReportRow> rows);

}  // namespace niftysave::tracker
