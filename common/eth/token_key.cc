#include "common/eth/token_key.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eth/uint256.h"

namespace niftysave::eth {

absl::StatusOr<TokenKey> ParseTokenKey(uint64_t chain_id,
                                       absl::string_view contract,
                                       absl::string_view token_id) {
  if (chain_id == 0) return absl::InvalidArgumentError("chain_id must be set");
  if (!absl::StartsWith(contract, "0x") || contract.size() != 42) {
    return absl::InvalidArgumentError(
        "contract must be 0x followed by 40 hex digits");
  }
  for (char c : contract.substr(2)) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("contract has a non-hex digit");
    }
  }
  absl::StatusOr<Uint256> id = Uint256::FromDecimal(token_id);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token_id: ", id.status().message()));
  }
  return TokenKey{chain_id, absl::AsciiStrToLower(contract.substr(2)),
                  id->ToDecimal()};
}

}  // namespace niftysave::eth
