#include "common/eth/json_rpc_client.h"

#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/runtime/reason.h"

namespace niftysave::eth {
namespace {

absl::Status InvalidReply(absl::string_view detail) {
  return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_invalid", detail);
}

absl::StatusOr<nlohmann::json> ResultOf(const nlohmann::json& reply) {
  if (!reply.is_object()) return InvalidReply("reply is not a JSON object");
  if (auto err = reply.find("error"); err != reply.end() && !err->is_null()) {
    std::string message =
        err->is_object() ? err->value("message", "") : err->dump();
    if (absl::StrContains(message, "revert")) {
      return ErrorWithReason(absl::StatusCode::kFailedPrecondition, "revert",
                             message);
    }
    return ErrorWithReason(absl::StatusCode::kUnavailable, "rpc_error",
                           message.substr(0, 500));
  }
  auto result = reply.find("result");
  if (result == reply.end()) return InvalidReply("reply has no result");
  return *result;
}

}  // namespace

JsonRpcClient::JsonRpcClient(const http::HttpClient& http, std::string url)
    : http_(http), url_(std::move(url)) {}

absl::StatusOr<nlohmann::json> JsonRpcClient::Post(const nlohmann::json& body) {
  absl::StatusOr<http::HttpResponse> response =
      http_.Do({.method = "POST",
                .url = url_,
                .headers = {"Content-Type: application/json"},
                .body = body.dump()});
  if (!response.ok()) return response.status();
  if (response->status == 429) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "rate_limited",
                           "RPC node answered 429");
  }
  if (response->status != 200) {
    return ErrorWithReason(
        absl::StatusCode::kUnavailable, "rpc_http",
        absl::StrCat("RPC node answered HTTP ", response->status));
  }
  nlohmann::json reply = nlohmann::json::parse(response->body, nullptr, false);
  if (reply.is_discarded()) return InvalidReply("reply is not JSON");
  return reply;
}

absl::StatusOr<nlohmann::json> JsonRpcClient::Call(const std::string& method,
                                                   nlohmann::json params) {
  const int64_t id = next_id_++;
  absl::StatusOr<nlohmann::json> reply = Post({{"jsonrpc", "2.0"},
                                               {"id", id},
                                               {"method", method},
                                               {"params", std::move(params)}});
  if (!reply.ok()) return reply.status();
  return ResultOf(*reply);
}

absl::StatusOr<std::vector<absl::StatusOr<nlohmann::json>>>
JsonRpcClient::Batch(const std::vector<BatchCall>& calls) {
  std::vector<absl::StatusOr<nlohmann::json>> results;
  if (calls.empty()) return results;
  nlohmann::json body = nlohmann::json::array();
  const int64_t first_id = next_id_;
  for (const auto& [method, params] : calls) {
    body.push_back({{"jsonrpc", "2.0"},
                    {"id", next_id_++},
                    {"method", method},
                    {"params", params}});
  }
  absl::StatusOr<nlohmann::json> reply = Post(body);
  if (!reply.ok()) return reply.status();
  if (!reply->is_array()) {
    // Some nodes answer a whole batch with one error object.
    absl::StatusOr<nlohmann::json> single = ResultOf(*reply);
    if (!single.ok()) return single.status();
    return InvalidReply("batch reply is not an array");
  }
  // Replies may come in any order: match them by id.
  std::map<int64_t, const nlohmann::json*> by_id;
  for (const auto& item : *reply) {
    if (item.is_object() && item.contains("id") &&
        item["id"].is_number_integer()) {
      by_id[item["id"].get<int64_t>()] = &item;
    }
  }
  for (size_t i = 0; i < calls.size(); ++i) {
    auto it = by_id.find(first_id + static_cast<int64_t>(i));
    if (it == by_id.end()) {
      results.push_back(InvalidReply("batch reply is missing a call"));
    } else {
      results.push_back(ResultOf(*it->second));
    }
  }
  return results;
}

absl::StatusOr<uint64_t> ParseQuantity(const nlohmann::json& value) {
  if (!value.is_string()) return InvalidReply("quantity is not a string");
  const std::string& s = value.get_ref<const std::string&>();
  if (!absl::StartsWith(s, "0x") || s.size() < 3 || s.size() > 18) {
    return InvalidReply(absl::StrCat("bad quantity '", s.substr(0, 40), "'"));
  }
  uint64_t v = 0;
  for (size_t i = 2; i < s.size(); ++i) {
    char c = s[i];
    int d = (c >= '0' && c <= '9')   ? c - '0'
            : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                     : -1;
    if (d < 0) return InvalidReply("bad digit in quantity");
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

std::string ToQuantity(uint64_t v) { return absl::StrFormat("0x%x", v); }

}  // namespace niftysave::eth
