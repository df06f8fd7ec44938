#include "services/indexer/subgraph_source.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {
namespace {

// Keyset paging: the server filters on id_gt and orders by id, so a page
// never depends on how many rows came before it.
constexpr char kTokensQuery[] = R"graphql(
query NiftysaveTokens($first: Int!, $last: String!) {
  tokens(first: $first, where: {id_gt: $last}, orderBy: id, orderDirection: asc) {
    id tokenID tokenURI mintTime blockNumber blockHash
    contract { id name symbol supportsEIP721Metadata }
    owner { id }
  }
})graphql";

// The re-scan sweep asks the same, under its own operation name so the
// subgraph's query logs tell the two cursors apart.
constexpr char kRescanQuery[] = R"graphql(
query NiftysaveRescan($first: Int!, $last: String!) {
  tokens(first: $first, where: {id_gt: $last}, orderBy: id, orderDirection: asc) {
    id tokenID tokenURI mintTime blockNumber blockHash
    contract { id name symbol supportsEIP721Metadata }
    owner { id }
  }
})graphql";

// ERC-721 and its metadata extension: what the eip721-subgraph vouches for.
constexpr char kErc721Interface[] = "80ac58cd";
constexpr char kErc721MetadataInterface[] = "5b5e139f";

absl::Status Invalid(absl::string_view detail) {
  return ErrorWithReason(absl::StatusCode::kUnavailable, "subgraph_invalid",
                         detail);
}

// "0x" + 40 hex digits → 40 lower-case hex digits.
std::optional<std::string> Address(const nlohmann::json& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() != 42 || !absl::StartsWith(s, "0x")) return std::nullopt;
  for (size_t i = 2; i < s.size(); ++i) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return std::nullopt;
    }
  }
  return absl::AsciiStrToLower(s.substr(2));
}

// A GraphQL BigInt (a decimal string) that fits 64 bits.
std::optional<uint64_t> BigInt64(const nlohmann::json& v) {
  uint64_t out = 0;
  if (v.is_string() && v.get_ref<const std::string&>().size() <= 20 &&
      absl::SimpleAtoi(v.get_ref<const std::string&>(), &out)) {
    return out;
  }
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  return std::nullopt;
}

// A name or symbol as stored: text, bounded, no NUL.
std::optional<std::string> Label(const nlohmann::json& v, size_t max_bytes,
                                 const char* what,
                                 std::vector<std::string>& problems) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) {
    problems.push_back(absl::StrCat(what, ": not a string"));
    return std::nullopt;
  }
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    problems.push_back(absl::StrCat(what, ": too_large"));
    return std::nullopt;
  }
  if (s.find('\0') != std::string::npos) {
    problems.push_back(absl::StrCat(what, ": NUL"));
    return std::nullopt;
  }
  return s;
}

UriResult CheckUri(const nlohmann::json& v, size_t max_bytes) {
  if (v.is_null() || (v.is_string() && v.get_ref<const std::string&>() == "")) {
    return {.reason = "uri_empty", .detail = "the subgraph has no token URI"};
  }
  if (!v.is_string()) {
    return {.reason = "token_uri_abi_invalid",
            .detail = "tokenURI is not a string"};
  }
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    return {.reason = "token_uri_too_large",
            .detail = absl::StrCat("token URI of ", s.size(),
                                   " bytes; the limit is ", max_bytes)};
  }
  if (s.find('\0') != std::string::npos) {
    return {.reason = "token_uri_not_utf8",
            .detail = "token URI contains a NUL character"};
  }
  return {.token_uri = s};
}

std::string Shorten(const std::string& s) {
  return s.size() <= 80 ? s : s.substr(0, 80) + "...";
}

}  // namespace

absl::StatusOr<SubgraphPage> ParseTokensReply(const nlohmann::json& reply,
                                              const SubgraphLimits& limits) {
  if (!reply.is_object()) return Invalid("reply is not a JSON object");
  if (auto errors = reply.find("errors");
      errors != reply.end() && !errors->is_null()) {
    std::string message = "GraphQL error";
    if (errors->is_array() && !errors->empty() && (*errors)[0].is_object() &&
        (*errors)[0].contains("message") &&
        (*errors)[0]["message"].is_string()) {
      message = (*errors)[0]["message"].get<std::string>().substr(0, 500);
    }
    return ErrorWithReason(absl::StatusCode::kUnavailable, "subgraph_graphql",
                           message);
  }
  const nlohmann::json* rows = nullptr;
  if (auto data = reply.find("data");
      data != reply.end() && data->is_object() && data->contains("tokens")) {
    rows = &(*data)["tokens"];
  }
  if (rows == nullptr || !rows->is_array()) {
    return Invalid("reply has no data.tokens array");
  }
  if (rows->size() > limits.max_rows) {
    return Invalid(absl::StrCat(rows->size(), " rows; asked for at most ",
                                limits.max_rows));
  }
  SubgraphPage page;
  page.rows = rows->size();
  std::map<std::string, size_t> contract_index;
  for (const nlohmann::json& row : *rows) {
    // The id is the cursor: a row without a usable one breaks paging.
    if (!row.is_object() || !row.contains("id") || !row["id"].is_string() ||
        row["id"].get_ref<const std::string&>().empty() ||
        row["id"].get_ref<const std::string&>().size() > limits.max_id_bytes) {
      return Invalid("a row has no usable id");
    }
    const std::string& id = row["id"].get_ref<const std::string&>();
    if (!page.last_id.empty() && id <= page.last_id) {
      // Checked byte-wise, as graph-node compares ID strings.
      return Invalid(absl::StrCat("rows out of order at '", Shorten(id), "'"));
    }
    page.last_id = id;
    const uint64_t block =
        BigInt64(row.value("blockNumber", nlohmann::json())).value_or(0);
    auto bad = [&](const char* reason, const std::string& detail) {
      page.errors.push_back(
          {.block = block,
           .reason = reason,
           .detail =
               absl::StrCat("subgraph row '", Shorten(id), "': ", detail)});
    };
    const nlohmann::json contract = row.value("contract", nlohmann::json());
    std::optional<std::string> address =
        contract.is_object() ? Address(contract.value("id", nlohmann::json()))
                             : std::nullopt;
    if (!address) {
      bad("subgraph_bad_contract", "contract.id is not an address");
      continue;
    }
    const nlohmann::json token_id = row.value("tokenID", nlohmann::json());
    absl::StatusOr<eth::Uint256> parsed =
        token_id.is_string()
            ? eth::Uint256::FromDecimal(token_id.get_ref<const std::string&>())
            : absl::StatusOr<eth::Uint256>(
                  absl::InvalidArgumentError("not a string"));
    if (!parsed.ok()) {
      bad("subgraph_bad_token_id",
          absl::StrCat("tokenID ", Shorten(token_id.dump()),
                       " is not a uint256"));
      continue;
    }
    const nlohmann::json owner = row.value("owner", nlohmann::json());
    SubgraphToken token{
        .contract = *address,
        .token_id = *parsed,
        .owner = owner.is_object()
                     ? Address(owner.value("id", nlohmann::json()))
                     : std::nullopt,
        .block = block,
        .uri = CheckUri(row.value("tokenURI", nlohmann::json()),
                        limits.max_token_uri_bytes)};
    if (!contract_index.count(*address)) {
      std::vector<std::string> problems;
      ContractInfo info{.address = *address,
                        .standard = eth::TokenStandard::kErc721,
                        .first_block = block};
      info.name = Label(contract.value("name", nlohmann::json()),
                        limits.max_name_bytes, "name", problems);
      info.symbol = Label(contract.value("symbol", nlohmann::json()),
                          limits.max_name_bytes, "symbol", problems);
      info.interfaces.push_back(kErc721Interface);
      if (contract.value("supportsEIP721Metadata", nlohmann::json()) == true) {
        info.interfaces.push_back(kErc721MetadataInterface);
      }
      for (const std::string& p : problems) {
        info.probe_error += (info.probe_error.empty() ? "" : "; ") + p;
      }
      contract_index[*address] = page.contracts.size();
      page.contracts.push_back(std::move(info));
    } else {
      ContractInfo& info = page.contracts[contract_index[*address]];
      info.first_block = std::min(info.first_block, block);
    }
    page.tokens.push_back(std::move(token));
  }
  return page;
}

SubgraphSource::SubgraphSource(
    const http::HttpClient& http, SubgraphRepository& repo, Options options,
    std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
    Counters counters)
    : http_(http),
      repo_(repo),
      options_(std::move(options)),
      on_tokens_(std::move(on_tokens)),
      counters_(std::move(counters)),
      page_size_(std::clamp<size_t>(options_.page_size, 1, 1000)),
      sweep_page_size_(page_size_) {}

absl::Status SubgraphSource::Open() {
  absl::StatusOr<std::string> cursor =
      repo_.OpenCursor(options_.chain_id, options_.chain_name);
  if (!cursor.ok()) return cursor.status();
  cursor_ = *std::move(cursor);
  log::Info(
      "ingesting from a subgraph",
      {{"chain_id", std::to_string(options_.chain_id)}, {"cursor", cursor_}});
  return absl::OkStatus();
}

absl::StatusOr<SubgraphPage> SubgraphSource::FetchPage(const char* query,
                                                       const char* operation,
                                                       const std::string& after,
                                                       size_t first) {
  const nlohmann::json body = {
      {"query", query},
      {"operationName", operation},
      {"variables", {{"first", first}, {"last", after}}}};
  const absl::Time start = absl::Now();
  std::string outcome = "ok";
  absl::StatusOr<SubgraphPage> page = [&]() -> absl::StatusOr<SubgraphPage> {
    absl::StatusOr<http::HttpResponse> response =
        http_.Do({.method = "POST",
                  .url = options_.url,
                  .headers = {"Content-Type: application/json",
                              "Accept: application/json"},
                  .body = body.dump(),
                  .limits = options_.http_limits});
    if (!response.ok()) {
      outcome = ReasonOf(response.status()) == "too_large" ? "too_large"
                                                           : "transport";
      return response.status();
    }
    if (response->status != 200) {
      outcome = "http_error";
      absl::Status s = ErrorWithReason(
          absl::StatusCode::kUnavailable, "subgraph_http",
          absl::StrCat("subgraph answered HTTP ", response->status));
      if (response->retry_after) {
        s = WithRetryAfter(std::move(s), *response->retry_after);
      }
      return s;
    }
    nlohmann::json reply =
        nlohmann::json::parse(response->body, nullptr, false);
    if (reply.is_discarded()) {
      outcome = "invalid";
      return Invalid("reply is not JSON");
    }
    SubgraphLimits limits = options_.limits;
    limits.max_rows = first;
    absl::StatusOr<SubgraphPage> parsed = ParseTokensReply(reply, limits);
    if (!parsed.ok()) {
      outcome = ReasonOf(parsed.status()) == "subgraph_graphql"
                    ? "graphql_error"
                    : "invalid";
    }
    return parsed;
  }();
  counters_.request(outcome, absl::Now() - start);
  return page;
}

absl::StatusOr<uint64_t> SubgraphSource::Step() {
  absl::StatusOr<uint64_t> rows = ForwardStep();
  if (!rows.ok() || *rows > 0) return rows;
  if (options_.rescan_interval <= absl::ZeroDuration()) return 0;
  if (!sweeping_) {
    const absl::Time now = options_.now();
    if (now < next_sweep_) return 0;
    sweeping_ = true;
    sweep_cursor_.clear();
    sweep_ = SweepStats{.started = now};
    next_sweep_ = now + options_.rescan_interval;
  }
  return SweepStep();
}

absl::StatusOr<uint64_t> SubgraphSource::SweepStep() {
  const size_t asked = sweep_page_size_;
  absl::StatusOr<SubgraphPage> page =
      FetchPage(kRescanQuery, "NiftysaveRescan", sweep_cursor_, asked);
  if (!page.ok()) {
    if (ReasonOf(page.status()) == "too_large") {
      sweep_page_size_ = std::max<size_t>(1, sweep_page_size_ / 2);
    }
    return page.status();
  }
  if (page->rows > 0 && page->last_id <= sweep_cursor_) {
    counters_.request("invalid", absl::ZeroDuration());
    return Invalid(absl::StrCat("rescan page ends at '", Shorten(page->last_id),
                                "', not after the sweep cursor"));
  }
  if (!page->tokens.empty()) {
    absl::StatusOr<SubgraphRepository::RescanResult> result =
        repo_.RescanPage(options_.chain_id, *page);
    if (!result.ok()) return result.status();
    sweep_.compared += result->compared;
    sweep_.changed += result->requeued.size();
    sweep_.kept += result->kept_reasons.size();
    for (const std::string& reason : result->kept_reasons) {
      counters_.bad_row(reason);
    }
    if (!result->requeued.empty()) {
      log::Info("subgraph token URIs changed",
                {{"after", Shorten(sweep_cursor_)},
                 {"last", Shorten(page->last_id)},
                 {"changed", std::to_string(result->requeued.size())}});
      counters_.uri_changed(result->requeued.size());
      on_tokens_(result->requeued);
    }
  }
  sweep_.pages += 1;
  sweep_.rows += page->rows;
  sweep_page_size_ = std::min<size_t>(
      std::clamp<size_t>(options_.page_size, 1, 1000), sweep_page_size_ * 2);
  if (page->rows < asked) {
    // A short page is the last one: the sweep is complete.
    sweeping_ = false;
    last_sweep_ = sweep_;
    ++sweeps_completed_;
    log::Info("subgraph rescan sweep completed",
              {{"pages", std::to_string(sweep_.pages)},
               {"rows", std::to_string(sweep_.rows)},
               {"compared", std::to_string(sweep_.compared)},
               {"changed", std::to_string(sweep_.changed)},
               {"kept", std::to_string(sweep_.kept)},
               {"took_ms", std::to_string(absl::ToInt64Milliseconds(
                               options_.now() - sweep_.started))}});
    sweep_cursor_.clear();
  } else {
    sweep_cursor_ = page->last_id;
  }
  return page->rows;
}

absl::StatusOr<uint64_t> SubgraphSource::ForwardStep() {
  absl::StatusOr<SubgraphPage> page =
      FetchPage(kTokensQuery, "NiftysaveTokens", cursor_, page_size_);
  if (!page.ok()) {
    if (ReasonOf(page.status()) == "too_large") {
      page_size_ = std::max<size_t>(1, page_size_ / 2);
    }
    return page.status();
  }
  if (page->rows == 0) return 0;
  if (page->last_id <= cursor_) {
    // The server ignored id_gt: taking the page would loop forever.
    counters_.request("invalid", absl::ZeroDuration());
    return Invalid(absl::StrCat("page ends at '", Shorten(page->last_id),
                                "', not after the cursor"));
  }
  absl::StatusOr<std::vector<eth::TokenKey>> queued =
      repo_.RecordPage(options_.chain_id, cursor_, *page);
  if (!queued.ok()) return queued.status();
  for (const IndexerError& e : page->errors) counters_.bad_row(e.reason);
  counters_.tokens(page->tokens.size());
  log::Info("ingested subgraph page",
            {{"after", Shorten(cursor_)},
             {"last", Shorten(page->last_id)},
             {"rows", std::to_string(page->rows)},
             {"tokens", std::to_string(page->tokens.size())},
             {"bad_rows", std::to_string(page->errors.size())},
             {"queued", std::to_string(queued->size())}});
  cursor_ = page->last_id;
  page_size_ = std::min<size_t>(std::clamp<size_t>(options_.page_size, 1, 1000),
                                page_size_ * 2);
  if (!queued->empty()) on_tokens_(*queued);
  return page->rows;
}

}  // namespace niftysave::indexer
