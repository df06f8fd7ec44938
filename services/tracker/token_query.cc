#include "services/tracker/token_query.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace niftysave::tracker {
namespace {

constexpr char kPageTokenPrefix[] = "v1:";

}  // namespace

// The pins are those of the resource's pinned root (pinned_cid); a resource
// not pinned yet has none. Token URIs may be 1 MiB and every row repeats
// the token's columns, so only the first $4 characters travel (with the
// full length and, when cut, the SHA-256); at most $5 rows.
const char kTokenReportQuery[] = R"sql(
SELECT substr(coalesce(t.token_uri, ''), 1, $4), t.status, coalesce(t.reason, ''), coalesce(t.detail, ''),
       coalesce(encode(t.owner, 'hex'), ''), coalesce(t.mint_block, 0),
       tr.json_path, tr.role, tr.uri, r.normalized, coalesce(r.pinned_cid, r.cid, ''), r.path,
       r.status, coalesce(r.reason, ''), coalesce(r.detail, ''), coalesce(r.size, -1),
       coalesce(r.content_type, ''),
       p.backend, p.cid, p.status, coalesce(p.reason, ''), coalesce(p.detail, ''),
       to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       octet_length(t.token_uri),
       CASE WHEN octet_length(t.token_uri) > $4
            THEN encode(sha256(convert_to(t.token_uri, 'UTF8')), 'hex') END
FROM tokens t
LEFT JOIN token_resources tr ON tr.token_pk = t.id
LEFT JOIN resources r ON r.id = tr.resource_id
LEFT JOIN pins p ON p.cid = r.pinned_cid
WHERE t.chain_id = $1 AND t.contract = decode($2, 'hex') AND t.token_id = $3::numeric
ORDER BY tr.json_path, p.backend
LIMIT $5)sql";

TokenReport AssembleTokenReport(const eth::TokenKey& key,
                                std::vector<TokenReportRow> rows) {
  TokenReport report{.key = key};
  if (rows.empty()) return report;
  TokenReportRow& first = rows.front();
  report.token_uri = std::move(first.token_uri);
  report.status = std::move(first.status);
  report.reason = std::move(first.reason);
  report.detail = std::move(first.detail);
  report.owner = std::move(first.owner);
  report.mint_block = first.mint_block;
  // Rows come grouped by json_path (unique per token): a new path starts a
  // new resource, and every row brings at most one pin of it.
  ResourceView* current = nullptr;
  const std::string* current_path = nullptr;
  for (TokenReportRow& row : rows) {
    if (!row.has_resource) continue;
    if (current == nullptr || *current_path != row.json_path) {
      if (row.role == "metadata") {
        report.metadata = std::move(row.resource);
        current = &*report.metadata;
      } else {
        report.assets.push_back({row.json_path, std::move(row.resource)});
        current = &report.assets.back().resource;
      }
      current_path = &row.json_path;
    }
    if (row.pin) current->pins.push_back(*std::move(row.pin));
  }
  return report;
}

std::string EncodePageToken(int64_t after_id) {
  return absl::WebSafeBase64Escape(absl::StrCat(kPageTokenPrefix, after_id));
}

absl::StatusOr<int64_t> DecodePageToken(const std::string& token) {
  std::string raw;
  int64_t id = 0;
  const std::string prefix = kPageTokenPrefix;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.rfind(prefix, 0) != 0 ||
      !absl::SimpleAtoi(raw.substr(prefix.size()), &id) || id <= 0) {
    return absl::InvalidArgumentError(
        "page_token: not a token this server returned");
  }
  return id;
}

absl::StatusOr<TokenListQuery> MakeTokenListQuery(
    uint64_t chain_id, const std::string& contract, const std::string& status,
    uint32_t page_size, const std::string& page_token) {
  TokenListQuery q;
  if (chain_id == 0 || chain_id > INT64_MAX)
    return absl::InvalidArgumentError("chain_id: required");
  q.chain_id = chain_id;
  if (!contract.empty()) {
    std::string hex = absl::AsciiStrToLower(contract);
    if (hex.rfind("0x", 0) == 0) hex = hex.substr(2);
    if (hex.size() != 40 ||
        hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return absl::InvalidArgumentError(
          "contract: expected 0x followed by 40 hex digits");
    }
    q.contract = hex;
  }
  q.status = status;
  if (page_size > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: at most ", kMaxPageSize));
  }
  q.limit = page_size == 0 ? kDefaultPageSize : static_cast<int>(page_size);
  if (!page_token.empty()) {
    absl::StatusOr<int64_t> after = DecodePageToken(page_token);
    if (!after.ok()) return after.status();
    q.after_id = *after;
  }
  return q;
}

absl::StatusOr<absl::Duration> WatchInterval(uint32_t seconds) {
  if (seconds == 0) return absl::Seconds(5);
  if (seconds > 60)
    return absl::InvalidArgumentError("interval_seconds: must be 1-60");
  return absl::Seconds(seconds);
}

}  // namespace niftysave::tracker
