#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/eth/uint256.h"
#include "nlohmann/json.hpp"

namespace niftysave::eth {

// topic0 of Transfer(address,address,uint256), shared by ERC-20 and ERC-721.
inline constexpr char kTransferTopic[] =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

// Where a log sits on the chain. Hashes and addresses are 0x-less lower hex.
struct LogPosition {
  uint64_t block_number = 0;
  std::string block_hash;
  std::string tx_hash;
  uint32_t log_index = 0;
};

struct Erc721Transfer {
  LogPosition at;
  std::string contract;  // 40 hex digits
  std::string from;
  std::string to;
  Uint256 token_id;
  bool IsMint() const { return from == std::string(40, '0'); }
};

// Decodes an eth_getLogs entry as an ERC-721 Transfer. An ERC-20 Transfer
// (3 topics, amount in data) is NotFound — not ours, not an error; any other
// malformed log is InvalidArgument with reason `log_invalid`.
absl::StatusOr<Erc721Transfer> DecodeErc721Transfer(const nlohmann::json& log);

}  // namespace niftysave::eth
