#include "services/tracker/token_query.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace niftysave::tracker {
namespace {

constexpr char kPageTokenPrefix[] = "v1:";

}  // namespace

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
        report.metadata_verified = row.verified;
        current = &*report.metadata;
      } else {
        report.assets.push_back(
            {row.json_path, std::move(row.resource), row.verified});
        current = &report.assets.back().resource;
      }
      current_path = &row.json_path;
    }
    if (row.pin) current->pins.push_back(*std::move(row.pin));
  }
  return report;
}

absl::StatusOr<ContractRef> ParseContractRef(uint64_t chain_id,
                                             const std::string& contract) {
  if (chain_id > INT64_MAX)
    return absl::InvalidArgumentError("chain_id: out of range");
  // The token id is a placeholder: only the chain and address are checked.
  absl::StatusOr<eth::TokenKey> key =
      eth::ParseTokenKey(chain_id, contract, "0");
  if (!key.ok()) return key.status();
  return ContractRef{key->chain_id, key->contract};
}

std::vector<std::pair<std::string, int64_t>> MostFirst(
    const std::map<std::string, int64_t>& counts) {
  std::vector<std::pair<std::string, int64_t>> out(counts.begin(),
                                                   counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second > b.second;
  });
  return out;
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
