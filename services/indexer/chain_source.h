#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/events.h"
#include "common/eth/json_rpc_client.h"
#include "nlohmann/json.hpp"
#include "services/indexer/indexer_model.h"

namespace niftysave::indexer {

// What the indexer reads from a chain. The JSON-RPC implementation is below;
// a subgraph source is planned behind the same interface.
class ChainSource {
 public:
  virtual ~ChainSource() = default;
  virtual absl::StatusOr<uint64_t> HeadBlock() = 0;
  // Raw logs in [from, to] whose topic0 is one eth::DecodeLog follows
  // (ERC-20 Transfers included: they share the ERC-721 topic).
  virtual absl::StatusOr<std::vector<eth::RawLog>> Logs(uint64_t from,
                                                        uint64_t to) = 0;
  // Headers of `numbers` (one batch); fails as a whole if any is missing.
  virtual absl::StatusOr<std::vector<BlockHeader>> BlockHeaders(
      const std::vector<uint64_t>& numbers) = 0;
  // tokenURI(id) / uri(id) for each query at `block`, and what its contract
  // family reads besides (contract_family.h); one result per query, each
  // with its own failure reason (revert, empty_return, not_utf8,
  // too_large...).
  virtual std::vector<absl::StatusOr<TokenRead>> TokenUris(
      const std::vector<TokenUriQuery>& queries, uint64_t block) = 0;
  // name(), symbol() and supportsInterface for the ERC-165 ids of
  // DESIGN.md, at `block`, and the contract family its code belongs to.
  // Fills name, symbol, interfaces, family, probe_error.
  // Fails only when the node could not be asked.
  virtual absl::Status ProbeContracts(std::vector<ContractInfo>& contracts,
                                      uint64_t block) = 0;
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
  absl::StatusOr<std::vector<eth::RawLog>> Logs(uint64_t from,
                                                uint64_t to) override;
  absl::StatusOr<std::vector<BlockHeader>> BlockHeaders(
      const std::vector<uint64_t>& numbers) override;
  std::vector<absl::StatusOr<TokenRead>> TokenUris(
      const std::vector<TokenUriQuery>& queries, uint64_t block) override;
  absl::Status ProbeContracts(std::vector<ContractInfo>& contracts,
                              uint64_t block) override;

 private:
  // eth_calls in batches of calls_per_batch; one result per call.
  std::vector<absl::StatusOr<nlohmann::json>> CallBatch(
      const std::vector<std::pair<std::string, std::string>>& to_and_data,
      uint64_t block);
  // Each contract's family, from its code at `block` (eth_getCode).
  absl::Status DetectFamilies(std::vector<ContractInfo>& contracts,
                              uint64_t block);

  eth::JsonRpcClient& rpc_;
  const Options options_;
};

}  // namespace niftysave::indexer
