#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http_client.h"
#include "nlohmann/json.hpp"

namespace niftysave::eth {

// Ethereum JSON-RPC over HTTP. A JSON-RPC error object becomes a Status:
// "execution reverted" → FailedPrecondition with reason `revert`; others →
// reason `rpc_error`. Non-JSON or mismatched replies → reason `rpc_invalid`.
class JsonRpcClient {
 public:
  JsonRpcClient(const http::HttpClient& http, std::string url);

  absl::StatusOr<nlohmann::json> Call(const std::string& method,
                                      nlohmann::json params);

  // One HTTP request carrying many calls; results in call order, each its own
  // Status (one call's revert does not fail the others).
  using BatchCall = std::pair<std::string, nlohmann::json>;
  absl::StatusOr<std::vector<absl::StatusOr<nlohmann::json>>> Batch(
      const std::vector<BatchCall>& calls);

  const std::string& url() const { return url_; }

 private:
  absl::StatusOr<nlohmann::json> Post(const nlohmann::json& body);

  const http::HttpClient& http_;
  const std::string url_;
  int64_t next_id_ = 1;
};

// Parses a JSON-RPC quantity ("0x1a") into a uint64.
absl::StatusOr<uint64_t> ParseQuantity(const nlohmann::json& value);
std::string ToQuantity(uint64_t v);

}  // namespace niftysave::eth
