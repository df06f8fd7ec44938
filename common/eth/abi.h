#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/eth/uint256.h"

namespace niftysave::eth {

// Function selectors the indexer calls (DESIGN.md, checked).
inline constexpr char kTokenUriSelector[] = "c87b56dd";  // tokenURI(uint256)
inline constexpr char kUriSelector[] = "0e89341c";       // uri(uint256)
inline constexpr char kNameSelector[] = "06fdde03";      // name()
inline constexpr char kSymbolSelector[] = "95d89b41";    // symbol()
inline constexpr char kSupportsInterfaceSelector[] =
    "01ffc9a7";  // supportsInterface(bytes4)

// "0x" + selector + one uint256 argument.
std::string EncodeCallUint256(absl::string_view selector, const Uint256& arg);

// "0x" + selector + one bytes4 argument (8 hex digits), left-aligned.
std::string EncodeCallBytes4(absl::string_view selector,
                             absl::string_view bytes4_hex);

// Decodes the return data of a function returning `string` (offset, length,
// bytes). Refuses data that is malformed, over `max_bytes`, or not UTF-8,
// with reasons `abi_invalid`, `too_large`, `not_utf8`.
absl::StatusOr<std::string> DecodeAbiString(absl::string_view hex_data,
                                            size_t max_bytes);

// The payload of a lone `string` or `bytes` ABI-encoded in raw `bytes`: an
// offset word, then at that offset a length word and the payload. A view
// into `bytes`, checked to lie wholly within it; reason `abi_invalid`
// otherwise (hostile offsets and lengths included).
absl::StatusOr<absl::string_view> AbiDynamicBytes(absl::string_view bytes);

// name()/symbol(): a `string`, or the `bytes32` some early contracts return
// (NUL-padded on the right). Same reasons as DecodeAbiString.
absl::StatusOr<std::string> DecodeAbiStringOrBytes32(absl::string_view hex_data,
                                                     size_t max_bytes);

// A `bool` return (one word, 0 or 1); reason `abi_invalid` otherwise.
absl::StatusOr<bool> DecodeAbiBool(absl::string_view hex_data);

// Raw bytes split into 32-byte words as uint256. `abi_invalid` unless the
// length is a multiple of 32.
absl::StatusOr<std::vector<Uint256>> DecodeWords(absl::string_view bytes);

// The data of an event `(uint256[] a, uint256[] b)` (ERC-1155 TransferBatch):
// both arrays, each at most `max_length` long and of equal length. Reasons
// `abi_invalid` (malformed, lengths differ) or `too_large`.
struct Uint256ArrayPair {
  std::vector<Uint256> first;
  std::vector<Uint256> second;
};
absl::StatusOr<Uint256ArrayPair> DecodeUint256ArrayPair(absl::string_view bytes,
                                                        size_t max_length);

// "0x..." hex → bytes. InvalidArgument on odd length or bad digits.
absl::StatusOr<std::string> HexToBytes(absl::string_view hex);
std::string BytesToHex(absl::string_view bytes);  // no 0x, lower case

bool IsValidUtf8(absl::string_view s);

}  // namespace niftysave::eth
