#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/events.h"
#include "common/eth/json_rpc_client.h"
#include "nlohmann/json.hpp"

namespace niftysave::indexer {

struct TokenUriQuery {
  std::string contract;  // 40 hex digits
  eth::Uint256 token_id;
};

// What the indexer reads from a chain. The JSON-RPC implementation is below;
// a subgraph source is planned behind the same interface.
class ChainSource {
 public:
  virtual ~ChainSource() = default;
  virtual absl::StatusOr<uint64_t> HeadBlock() = 0;
  // Raw Transfer logs (topic0 only; ERC-20 ones included) in [from, to].
  virtual absl::StatusOr<std::vector<nlohmann::json>> TransferLogs(
      uint64_t from, uint64_t to) = 0;
  // tokenURI(id) for each query at `block`; one result per query, each with
  // its own failure reason (revert, empty_return, not_utf8, too_large...).
  virtual std::vector<absl::StatusOr<std::string>> TokenUris(
      const std::vector<TokenUriQuery>& queries, uint64_t block) = 0;
};

class RpcChainSource final : public ChainSource {
 public:
  struct Options {
    size_t max_token_uri_bytes = 1 << 20;  // on-chain data: URIs can be large
    size_t calls_per_batch = 100;
    size_t max_logs_per_range = 100000;
  };
  RpcChainSource(eth::JsonRpcClient& rpc, Options options);

  absl::StatusOr<uint64_t> HeadBlock() override;
  absl::StatusOr<std::vector<nlohmann::json>> TransferLogs(
      uint64_t from, uint64_t to) override;
  std::vector<absl::StatusOr<std::string>> TokenUris(
      const std::vector<TokenUriQuery>& queries, uint64_t block) override;

 private:
  eth::JsonRpcClient& rpc_;
  const Options options_;
};

}  // namespace niftysave::indexer
