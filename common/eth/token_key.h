#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace niftysave::eth {

// One NFT: chain, contract (40 lower-case hex digits, no 0x) and token id
// (uint256 in decimal, canonical: no leading zeros).
struct TokenKey {
  uint64_t chain_id = 0;
  std::string contract;
  std::string token_id;

  std::string ContractHex() const { return "0x" + contract; }
  bool operator==(const TokenKey&) const = default;
};

// Validates and canonicalises a key from outside (gRPC, command line):
// contract "0x" + 40 hex digits (any case), token id decimal uint256.
absl::StatusOr<TokenKey> ParseTokenKey(uint64_t chain_id,
                                       absl::string_view contract,
                                       absl::string_view token_id);

}  // namespace niftysave::eth
