#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/eth/uint256.h"

namespace niftysave::eth {

// Function selectors the indexer calls (DESIGN.md, checked).
inline constexpr char kTokenUriSelector[] = "c87b56dd";  // tokenURI(uint256)
inline constexpr char kUriSelector[] = "0e89341c";       // uri(uint256)

// "0x" + selector + one uint256 argument.
std::string EncodeCallUint256(absl::string_view selector, const Uint256& arg);

// Decodes the return data of a function returning `string` (offset, length,
// bytes). Refuses data that is malformed, over `max_bytes`, or not UTF-8,
// with reasons `abi_invalid`, `too_large`, `not_utf8`.
absl::StatusOr<std::string> DecodeAbiString(absl::string_view hex_data,
                                            size_t max_bytes);

// "0x..." hex → bytes. InvalidArgument on odd length or bad digits.
absl::StatusOr<std::string> HexToBytes(absl::string_view hex);
std::string BytesToHex(absl::string_view bytes);  // no 0x, lower case

bool IsValidUtf8(absl::string_view s);

}  // namespace niftysave::eth
