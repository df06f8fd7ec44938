#pragma once

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace niftysave::eth {

// Selectors of the two errors Solidity itself raises.
inline constexpr char kErrorStringSelector[] = "08c379a0";  // Error(string)
inline constexpr char kPanicSelector[] = "4e487b71";        // Panic(uint256)

// The longest text DescribeRevertData returns (bytes), and the most
// argument bytes of a custom error it prints.
inline constexpr size_t kMaxRevertTextBytes = 512;
inline constexpr size_t kMaxRevertArgBytes = 6 * 32;

// A readable text for the return data of a reverted call (raw bytes, as the
// node sends them hex-encoded in the JSON-RPC error's `data`), for a
// token's recorded detail:
// - Error(string) (`require(c, "msg")`, `revert("msg")`): the string, as
//   valid UTF-8 cut on a character boundary;
// - Panic(uint256): "panic 0x11 (arithmetic overflow)", named when the code
//   is one Solidity documents;
// - a custom error: "custom error 0x<selector>(0x2a, 0xf39f…)", each
//   32-byte argument word as a number in hex, at most kMaxRevertArgBytes;
// - no data: "" (a plain `revert()`).
// The data is the contract's and may be hostile: an encoding that does not
// hold (offsets or lengths out of bounds, huge lengths) is shown as hex the
// same way, never read past. At most kMaxRevertTextBytes, always valid
// UTF-8 without NUL.
std::string DescribeRevertData(absl::string_view data);

}  // namespace niftysave::eth
