#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/http/http_client.h"
#include "common/runtime/backoff.h"
#include "nlohmann/json.hpp"

namespace niftysave::eth {

struct JsonRpcOptions {
  // Tried in turn: a temporary failure (transport error, timeout, HTTP 429
  // or 5xx, a reply that is not JSON-RPC) moves on to the next URL, and the
  // client stays on whichever answered last.
  std::vector<std::string> urls;
  // HTTP requests per call, across URLs, before the failure is returned.
  int max_attempts = 4;
  // A URL that failed for now is set aside for BackoffDelay(backoff, its
  // consecutive failures), so the others are tried first and a lone URL is
  // retried after that wait.
  BackoffPolicy backoff{absl::Milliseconds(200), absl::Seconds(10)};
  // A 429's or 503's Retry-After puts that URL aside until then: other URLs
  // are tried meanwhile, and no request goes to it before the time (across
  // calls). Waits up to this are slept; a call that would have to wait
  // longer fails at once (reason rate_limited) without sending anything.
  absl::Duration max_retry_after = absl::Seconds(30);
  // Overrides the HTTP client's limits (timeouts, reply size) per request.
  std::optional<http::HttpLimits> limits;
  std::function<void(absl::Duration)> sleep = [](absl::Duration d) {
    absl::SleepFor(d);
  };
  // Called after each HTTP request with the method (a batch: its first
  // call's), the outcome (ok, rpc_error, rate_limited, http_error, invalid,
  // transport) and the time taken. Must be thread-safe.
  std::function<void(const std::string& method, const std::string& outcome,
                     absl::Duration took)>
      observe;
};

// Ethereum JSON-RPC over HTTP. A JSON-RPC error object becomes a Status:
// "execution reverted" → FailedPrecondition with reason `revert`; others →
// reason `rpc_error`. Non-JSON or mismatched replies → reason `rpc_invalid`.
// Thread-safe.
class JsonRpcClient {
 public:
  JsonRpcClient(const http::HttpClient& http, std::string url);
  JsonRpcClient(const http::HttpClient& http, JsonRpcOptions options);

  absl::StatusOr<nlohmann::json> Call(const std::string& method,
                                      nlohmann::json params);

  // One HTTP request carrying many calls; results in call order, each its own
  // Status (one call's revert does not fail the others). Replies are matched
  // by id, in any order; calls whose reply is missing, or whose id came back
  // twice, are sent again (within max_attempts) and otherwise fail with
  // reason rpc_invalid. Replies with unknown ids are ignored.
  using BatchCall = std::pair<std::string, nlohmann::json>;
  absl::StatusOr<std::vector<absl::StatusOr<nlohmann::json>>> Batch(
      const std::vector<BatchCall>& calls);

  // Call, for large results: the reply body goes to `parse`, which takes the
  // result (e.g. read with simdjson, without a JSON document) and returns OK;
  // a reply that is no JSON-RPC reply must be reason rpc_invalid (retried
  // like any other bad reply); any other status (the reply's error object,
  // see RpcErrorStatus) is returned as is, not retried. `id` is the call's.
  using BodyParser =
      std::function<absl::Status(const std::string& body, int64_t id)>;
  absl::Status CallParsed(const std::string& method, nlohmann::json params,
                          const BodyParser& parse);

  // The URL in use now.
  const std::string& url() const { return options_.urls[current_.load()]; }

 private:
  // The URL to try next: the current one unless a Retry-After put it aside,
  // then the next free one; with none free, the one free soonest and how
  // long until then.
  std::pair<size_t, absl::Duration> PickUrl();
  // One HTTP request to one URL.
  // One HTTP request to one URL; with `parse`, the body goes to it and an
  // empty document is returned.
  absl::StatusOr<nlohmann::json> PostOnce(
      const std::string& url, const std::string& method,
      const std::string& body,
      const std::function<absl::Status(const std::string&)>* parse);
  // With failover and retries.
  absl::StatusOr<nlohmann::json> Post(
      const std::string& method, const nlohmann::json& body,
      const std::function<absl::Status(const std::string&)>* parse = nullptr);

  const http::HttpClient& http_;
  JsonRpcOptions options_;  // urls never empty
  std::atomic<size_t> current_{0};
  std::atomic<int64_t> next_id_{1};
  absl::Mutex mu_;
  // Per URL: no request before this (a Retry-After).
  std::vector<absl::Time> not_before_ ABSL_GUARDED_BY(mu_);
  std::vector<int> failures_ ABSL_GUARDED_BY(mu_);  // consecutive, per URL
};

// Splits a comma-separated --rpc_url value; each must be an http(s) URL.
absl::StatusOr<std::vector<std::string>> ParseRpcUrls(const std::string& list);

// Parses a JSON-RPC quantity ("0x1a") into a uint64.
absl::StatusOr<uint64_t> ParseQuantity(const nlohmann::json& value);
absl::StatusOr<uint64_t> ParseQuantityText(absl::string_view text);

// A JSON-RPC error object's message as a Status: "revert" in it →
// FailedPrecondition with reason `revert`, its detail decoded from the
// error's revert `data` ("0x…", when the node sends it; DescribeRevertData)
// or else the message; otherwise reason `rpc_error`.
absl::Status RpcErrorStatus(const std::string& message,
                            absl::string_view data = "");
std::string ToQuantity(uint64_t v);

}  // namespace niftysave::eth
