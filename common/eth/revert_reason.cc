#include "common/eth/revert_reason.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/eth/abi.h"
#include "common/runtime/utf8.h"

namespace niftysave::eth {
namespace {

// Solidity's documented panic codes (docs: "Panic via assert and Error via
// require").
const char* PanicName(uint64_t code) {
  switch (code) {
    case 0x00:
      return "generic compiler panic";
    case 0x01:
      return "assertion failed";
    case 0x11:
      return "arithmetic overflow";
    case 0x12:
      return "division or modulo by zero";
    case 0x21:
      return "invalid enum value";
    case 0x22:
      return "corrupt storage byte array";
    case 0x31:
      return "pop() on an empty array";
    case 0x32:
      return "array index out of bounds";
    case 0x41:
      return "too much memory allocated";
    case 0x51:
      return "call to an uninitialised function";
    default:
      return nullptr;
  }
}

// A 32-byte word (or a shorter tail) as a hex number without leading zeros.
std::string WordHex(absl::string_view word) {
  std::string hex = BytesToHex(word);
  const size_t first = hex.find_first_not_of('0');
  return absl::StrCat("0x",
                      first == std::string::npos ? "0" : hex.substr(first));
}

// "custom error 0x<selector>(words…)": what is shown of data that is not,
// or does not decode as, one of Solidity's own errors.
std::string Hexed(absl::string_view prefix, absl::string_view data) {
  const absl::string_view args = data.substr(4);
  const absl::string_view shown =
      args.substr(0, std::min(args.size(), kMaxRevertArgBytes));
  std::vector<std::string> words;
  for (size_t i = 0; i < shown.size(); i += 32) {
    words.push_back(WordHex(shown.substr(i, 32)));
  }
  if (shown.size() < args.size()) {
    words.push_back(
        absl::StrCat("… ", args.size() - shown.size(), " more bytes"));
  }
  return absl::StrCat(prefix, " 0x", BytesToHex(data.substr(0, 4)), "(",
                      absl::StrJoin(words, ", "), ")");
}

}  // namespace

std::string DescribeRevertData(absl::string_view data) {
  if (data.empty()) return "";
  if (data.size() < 4) {
    return absl::StrCat("revert data 0x", BytesToHex(data));
  }
  const std::string selector = BytesToHex(data.substr(0, 4));
  const absl::string_view args = data.substr(4);
  if (selector == kErrorStringSelector) {
    absl::StatusOr<absl::string_view> text = AbiDynamicBytes(args);
    if (text.ok()) return ValidUtf8(*text, kMaxRevertTextBytes);
    return ValidUtf8(Hexed("malformed Error(string)", data),
                     kMaxRevertTextBytes);
  }
  if (selector == kPanicSelector) {
    if (args.size() < 32) {
      return ValidUtf8(Hexed("malformed Panic(uint256)", data),
                       kMaxRevertTextBytes);
    }
    const absl::string_view word = args.substr(0, 32);
    if (word.substr(0, 24).find_first_not_of('\0') != absl::string_view::npos) {
      return absl::StrCat("panic ", WordHex(word));
    }
    uint64_t code = 0;
    for (unsigned char c : word.substr(24)) code = code << 8 | c;
    const char* name = PanicName(code);
    return absl::StrFormat("panic 0x%02x%s", code,
                           name ? absl::StrCat(" (", name, ")") : "");
  }
  return ValidUtf8(Hexed("custom error", data), kMaxRevertTextBytes);
}

}  // namespace niftysave::eth
