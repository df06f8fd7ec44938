#include "common/eth/json_rpc_client.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/eth/abi.h"
#include "common/eth/revert_reason.h"
#include "common/runtime/reason.h"
#include "common/runtime/utf8.h"

namespace niftysave::eth {
namespace {

absl::Status InvalidReply(absl::string_view detail) {
  return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_invalid", detail);
}

// Where PostOnce keeps a 429's Retry-After (whole seconds) for Post.
constexpr char kRetryAfterPayload[] = "niftysave.eth/retry-after";
// Marks a CallParsed reply's own error (its error object): returned, not
// retried.
constexpr char kCallErrorPayload[] = "niftysave.eth/call-error";

absl::StatusOr<nlohmann::json> ResultOf(const nlohmann::json& reply) {
  if (!reply.is_object()) return InvalidReply("reply is not a JSON object");
  if (auto err = reply.find("error"); err != reply.end() && !err->is_null()) {
    if (!err->is_object()) return RpcErrorStatus(err->dump());
    const auto data = err->find("data");
    return RpcErrorStatus(err->value("message", ""),
                          data != err->end() && data->is_string()
                              ? data->get<std::string>()
                              : "");
  }
  auto result = reply.find("result");
  if (result == reply.end()) return InvalidReply("reply has no result");
  return *result;
}

}  // namespace

absl::Status RpcErrorStatus(const std::string& message,
                            absl::string_view data) {
  if (absl::StrContains(message, "revert")) {
    // The node's own text of the data is no better than its guess (anvil
    // prints a custom error's ABI words as characters): the data is decoded
    // here when the node sends it.
    absl::StatusOr<std::string> bytes =
        absl::StartsWith(data, "0x") ? HexToBytes(data)
                                     : absl::InvalidArgumentError("no data");
    std::string detail;
    if (!bytes.ok()) {
      detail = ValidUtf8(message, kMaxRevertTextBytes);
    } else if (bytes->empty()) {
      detail = "execution reverted without a reason";
    } else {
      detail = "execution reverted: " + DescribeRevertData(*bytes);
    }
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition, "revert",
                           detail);
  }
  return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_error",
                         message.substr(0, 500));
}

JsonRpcClient::JsonRpcClient(const http::HttpClient& http, std::string url)
    : JsonRpcClient(http, JsonRpcOptions{.urls = {std::move(url)}}) {}

JsonRpcClient::JsonRpcClient(const http::HttpClient& http,
                             JsonRpcOptions options)
    : http_(http), options_(std::move(options)) {
  // An empty list is a programming error; keep url() defined anyway.
  if (options_.urls.empty()) options_.urls.push_back("");
  not_before_.assign(options_.urls.size(), absl::InfinitePast());
  failures_.assign(options_.urls.size(), 0);
}

absl::StatusOr<nlohmann::json> JsonRpcClient::PostOnce(
    const std::string& url, const std::string& method, const std::string& body,
    const std::function<absl::Status(const std::string&)>* parse) {
  const absl::Time start = absl::Now();
  std::string outcome = "ok";
  absl::StatusOr<nlohmann::json> result =
      [&]() -> absl::StatusOr<nlohmann::json> {
    absl::StatusOr<http::HttpResponse> response =
        http_.Do({.method = "POST",
                  .url = url,
                  .headers = {"Content-Type: application/json"},
                  .body = body,
                  .limits = options_.limits});
    if (!response.ok()) {
      outcome = "transport";
      return response.status();
    }
    if (response->status == 429) {
      outcome = "rate_limited";
      absl::Status s = ErrorWithReason(absl::StatusCode::kUnavailable,
                                       "rate_limited", "RPC node answered 429");
      if (response->retry_after) {
        s.SetPayload(kRetryAfterPayload,
                     absl::Cord(absl::StrCat(
                         absl::ToInt64Seconds(*response->retry_after))));
      }
      return s;
    }
    if (response->status != 200) {
      outcome = "http_error";
      absl::Status s = ErrorWithReason(
          absl::StatusCode::kUnavailable, "rpc_http",
          absl::StrCat("RPC node answered HTTP ", response->status));
      if (response->status == 503 && response->retry_after) {
        s.SetPayload(kRetryAfterPayload,
                     absl::Cord(absl::StrCat(
                         absl::ToInt64Seconds(*response->retry_after))));
      }
      return s;
    }
    if (parse != nullptr) {
      absl::Status s = (*parse)(response->body);
      if (s.ok()) return nlohmann::json();
      if (ReasonOf(s) == "rpc_invalid") {
        outcome = "invalid";
        return s;
      }
      outcome = "rpc_error";
      s.SetPayload(kCallErrorPayload, absl::Cord("1"));
      return s;
    }
    nlohmann::json reply =
        nlohmann::json::parse(response->body, nullptr, false);
    if (reply.is_discarded()) {
      outcome = "invalid";
      return InvalidReply("reply is not JSON");
    }
    if (reply.is_object() && reply.contains("error") &&
        !reply["error"].is_null()) {
      outcome = "rpc_error";
    }
    return reply;
  }();
  if (options_.observe) options_.observe(method, outcome, absl::Now() - start);
  return result;
}

std::pair<size_t, absl::Duration> JsonRpcClient::PickUrl() {
  const size_t n = options_.urls.size();
  const size_t start = current_.load() % n;
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  size_t soonest = start;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (start + k) % n;
    if (not_before_[i] <= now) return {i, absl::ZeroDuration()};
    if (not_before_[i] < not_before_[soonest]) soonest = i;
  }
  return {soonest, not_before_[soonest] - now};
}

absl::StatusOr<nlohmann::json> JsonRpcClient::Post(
    const std::string& method, const nlohmann::json& body,
    const std::function<absl::Status(const std::string&)>* parse) {
  const std::string text = body.dump();
  const size_t n = options_.urls.size();
  absl::Status last;
  const int max_attempts = std::max(1, options_.max_attempts);
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    auto [index, wait] = PickUrl();
    if (wait > absl::ZeroDuration()) {
      // Every URL is set aside (a Retry-After, or back-off after failures).
      if (wait > options_.max_retry_after) {
        if (!last.ok()) return last;
        return ErrorWithReason(
            absl::StatusCode::kUnavailable, "rate_limited",
            absl::StrCat("no RPC URL may be asked for another ",
                         absl::FormatDuration(wait), "; not sent"));
      }
      options_.sleep(wait);
    }
    if (index != current_.load() % n) current_.store(index);
    absl::StatusOr<nlohmann::json> reply =
        PostOnce(options_.urls[index], method, text, parse);
    if (reply.ok()) {
      absl::MutexLock lock(&mu_);
      failures_[index] = 0;
      return reply;
    }
    last = reply.status();
    if (last.GetPayload(kCallErrorPayload)) {
      // The reply's own error object: an answer, not a failure to get one.
      last.ErasePayload(kCallErrorPayload);
      absl::MutexLock lock(&mu_);
      failures_[index] = 0;
      return last;
    }
    const std::string reason = ReasonOf(last);
    const bool temporary = http::IsTemporary(last) || reason == "rpc_invalid" ||
                           reason == "rpc_http" || reason == "rate_limited";
    if (!temporary) break;
    // Set this URL aside: until its Retry-After, else for a back-off that
    // grows with its consecutive failures. Calls meanwhile use the others.
    {
      absl::MutexLock lock(&mu_);
      absl::Duration aside = BackoffDelay(options_.backoff, ++failures_[index]);
      if (auto after = last.GetPayload(kRetryAfterPayload)) {
        int64_t seconds = 0;
        if (absl::SimpleAtoi(std::string(*after), &seconds) && seconds > 0) {
          aside = absl::Seconds(seconds);
        }
      }
      not_before_[index] = std::max(not_before_[index], absl::Now() + aside);
    }
    // Fail over to the next URL; a lone URL is retried after its back-off.
    size_t expected = index;
    current_.compare_exchange_strong(expected, (index + 1) % n);
  }
  return last;
}

absl::StatusOr<nlohmann::json> JsonRpcClient::Call(const std::string& method,
                                                   nlohmann::json params) {
  const int64_t id = next_id_++;
  absl::StatusOr<nlohmann::json> reply =
      Post(method, {{"jsonrpc", "2.0"},
                    {"id", id},
                    {"method", method},
                    {"params", std::move(params)}});
  if (!reply.ok()) return reply.status();
  if (reply->is_object() && reply->contains("id") &&
      !(*reply)["id"].is_null() && (*reply)["id"] != id) {
    return InvalidReply("reply carries another call's id");
  }
  return ResultOf(*reply);
}

absl::Status JsonRpcClient::CallParsed(const std::string& method,
                                       nlohmann::json params,
                                       const BodyParser& parse) {
  const int64_t id = next_id_++;
  const std::function<absl::Status(const std::string&)> with_id =
      [&](const std::string& body) { return parse(body, id); };
  absl::StatusOr<nlohmann::json> reply = Post(method,
                                              {{"jsonrpc", "2.0"},
                                               {"id", id},
                                               {"method", method},
                                               {"params", std::move(params)}},
                                              &with_id);
  return reply.status();
}

absl::StatusOr<std::vector<absl::StatusOr<nlohmann::json>>>
JsonRpcClient::Batch(const std::vector<BatchCall>& calls) {
  std::vector<absl::StatusOr<nlohmann::json>> results(
      calls.size(), InvalidReply("batch reply is missing a call"));
  if (calls.empty()) return results;
  std::vector<size_t> pending(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) pending[i] = i;
  const int max_attempts = std::max(1, options_.max_attempts);
  for (int round = 1; round <= max_attempts && !pending.empty(); ++round) {
    nlohmann::json body = nlohmann::json::array();
    const int64_t first_id =
        next_id_.fetch_add(static_cast<int64_t>(pending.size()));
    for (size_t k = 0; k < pending.size(); ++k) {
      const auto& [method, params] = calls[pending[k]];
      body.push_back({{"jsonrpc", "2.0"},
                      {"id", first_id + static_cast<int64_t>(k)},
                      {"method", method},
                      {"params", params}});
    }
    absl::StatusOr<nlohmann::json> reply =
        Post(calls[pending.front()].first, body);
    if (!reply.ok()) return reply.status();
    if (!reply->is_array()) {
      // Some nodes answer a whole batch with one error object.
      absl::StatusOr<nlohmann::json> single = ResultOf(*reply);
      if (!single.ok()) return single.status();
      return InvalidReply("batch reply is not an array");
    }
    // Replies may come in any order: match them by id. An id answered twice
    // is ambiguous; an id we did not send is ignored.
    std::map<int64_t, const nlohmann::json*> by_id;
    std::map<int64_t, int> seen;
    for (const auto& item : *reply) {
      if (item.is_object() && item.contains("id") &&
          item["id"].is_number_integer()) {
        const int64_t id = item["id"].get<int64_t>();
        by_id[id] = &item;
        ++seen[id];
      }
    }
    std::vector<size_t> again;
    for (size_t k = 0; k < pending.size(); ++k) {
      const int64_t id = first_id + static_cast<int64_t>(k);
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        results[pending[k]] = InvalidReply("batch reply is missing a call");
        again.push_back(pending[k]);
      } else if (seen[id] > 1) {
        results[pending[k]] = InvalidReply("batch reply answers a call twice");
        again.push_back(pending[k]);
      } else {
        results[pending[k]] = ResultOf(*it->second);
      }
    }
    pending = std::move(again);
  }
  return results;
}

absl::StatusOr<uint64_t> ParseQuantity(const nlohmann::json& value) {
  if (!value.is_string()) return InvalidReply("quantity is not a string");
  return ParseQuantityText(value.get_ref<const std::string&>());
}

absl::StatusOr<uint64_t> ParseQuantityText(absl::string_view s) {
  if (!absl::StartsWith(s, "0x") || s.size() < 3 || s.size() > 18) {
    return InvalidReply(absl::StrCat("bad quantity '", s.substr(0, 40), "'"));
  }
  uint64_t v = 0;
  for (size_t i = 2; i < s.size(); ++i) {
    char c = s[i];
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
            : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                     : -1;
    if (d < 0) return InvalidReply("bad digit in quantity");
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

std::string ToQuantity(uint64_t v) { return absl::StrFormat("0x%x", v); }

absl::StatusOr<std::vector<std::string>> ParseRpcUrls(const std::string& list) {
  std::vector<std::string> urls;
  for (absl::string_view part : absl::StrSplit(list, ',')) {
    std::string url(absl::StripAsciiWhitespace(part));
    if (!absl::StartsWith(url, "http://") &&
        !absl::StartsWith(url, "https://")) {
      return absl::InvalidArgumentError(
          absl::StrCat("not an http(s) URL: '", url, "'"));
    }
    urls.push_back(std::move(url));
  }
  return urls;
}

}  // namespace niftysave::eth
