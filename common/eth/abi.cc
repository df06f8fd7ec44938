#include "common/eth/abi.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/runtime/reason.h"

namespace niftysave::eth {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::Status AbiError(absl::string_view detail) {
  return ErrorWithReason(absl::StatusCode::kInvalidArgument, "abi_invalid",
                         detail);
}

// Reads the 32-byte word at `offset` as a size; false if it does not fit.
bool WordAsSize(absl::string_view bytes, size_t offset, size_t* out) {
  if (offset > bytes.size() || bytes.size() - offset < 32) return false;
  for (size_t i = offset; i < offset + 24; ++i) {
    if (bytes[i] != 0) return false;
  }
  uint64_t v = 0;
  for (size_t i = offset + 24; i < offset + 32; ++i) {
    v = (v << 8) | static_cast<unsigned char>(bytes[i]);
  }
  *out = static_cast<size_t>(v);
  return true;
}

}  // namespace

std::string EncodeCallUint256(absl::string_view selector, const Uint256& arg) {
  return absl::StrCat("0x", selector, arg.ToHex64());
}

absl::StatusOr<std::string> HexToBytes(absl::string_view hex) {
  if (absl::StartsWith(hex, "0x")) hex.remove_prefix(2);
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("odd-length hex");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]), lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("bad hex digit");
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

std::string BytesToHex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    int len = c < 0x80           ? 1
              : (c >> 5) == 0x6  ? 2
              : (c >> 4) == 0xe  ? 3
              : (c >> 3) == 0x1e ? 4
                                 : 0;
    if (len == 0 || i + len > s.size()) return false;
    uint32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (int k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;  // overlong, out of range, surrogate
    }
    i += len;
  }
  return true;
}

absl::StatusOr<std::string> DecodeAbiString(absl::string_view hex_data,
                                            size_t max_bytes) {
  absl::StatusOr<std::string> bytes = HexToBytes(hex_data);
  if (!bytes.ok()) return AbiError(bytes.status().message());
  if (bytes->empty()) {
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                           "empty_return", "call returned no data");
  }
  size_t offset = 0, length = 0;
  if (!WordAsSize(*bytes, 0, &offset) || offset % 32 != 0) {
    return AbiError("bad string offset");
  }
  if (!WordAsSize(*bytes, offset, &length))
    return AbiError("bad string length");
  if (length > max_bytes) {
    return ErrorWithReason(
        absl::StatusCode::kResourceExhausted, "too_large",
        absl::StrCat("string of ", length, " bytes over the limit of ",
                     max_bytes));
  }
  const size_t start = offset + 32;
  if (bytes->size() - start < length)
    return AbiError("string runs past the data");
  std::string out = bytes->substr(start, length);
  if (!IsValidUtf8(out)) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "not_utf8",
                           "string is not valid UTF-8");
  }
  return out;
}

absl::StatusOr<absl::string_view> AbiDynamicBytes(absl::string_view bytes) {
  size_t offset = 0, length = 0;
  if (!WordAsSize(bytes, 0, &offset) || offset % 32 != 0) {
    return AbiError("bad offset");
  }
  if (!WordAsSize(bytes, offset, &length)) return AbiError("bad length");
  const size_t start = offset + 32;  // WordAsSize: start <= bytes.size()
  if (bytes.size() - start < length) return AbiError("runs past the data");
  return bytes.substr(start, length);
}

std::string EncodeCallBytes4(absl::string_view selector,
                             absl::string_view bytes4_hex) {
  return absl::StrCat("0x", selector, bytes4_hex, std::string(56, '0'));
}

absl::StatusOr<std::string> DecodeAbiStringOrBytes32(absl::string_view hex_data,
                                                     size_t max_bytes) {
  absl::StatusOr<std::string> bytes = HexToBytes(hex_data);
  if (!bytes.ok()) return AbiError(bytes.status().message());
  // A string is at least offset + length (64 bytes); exactly one word is a
  // bytes32.
  if (bytes->size() != 32) return DecodeAbiString(hex_data, max_bytes);
  std::string out = *bytes;
  while (!out.empty() && out.back() == '\0') out.pop_back();
  if (out.find('\0') != std::string::npos || !IsValidUtf8(out)) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "not_utf8",
                           "bytes32 is not a UTF-8 string");
  }
  return out;
}

absl::StatusOr<bool> DecodeAbiBool(absl::string_view hex_data) {
  absl::StatusOr<std::string> bytes = HexToBytes(hex_data);
  if (!bytes.ok()) return AbiError(bytes.status().message());
  size_t v = 0;
  if (bytes->size() != 32 || !WordAsSize(*bytes, 0, &v) || v > 1) {
    return AbiError("not an ABI bool");
  }
  return v == 1;
}

absl::StatusOr<std::vector<Uint256>> DecodeWords(absl::string_view bytes) {
  if (bytes.size() % 32 != 0) {
    return AbiError(absl::StrCat(bytes.size(), " bytes is not whole words"));
  }
  std::vector<Uint256> out;
  out.reserve(bytes.size() / 32);
  for (size_t i = 0; i < bytes.size(); i += 32) {
    // 64 valid hex digits always parse.
    out.push_back(*Uint256::FromHex(BytesToHex(bytes.substr(i, 32))));
  }
  return out;
}

absl::StatusOr<Uint256ArrayPair> DecodeUint256ArrayPair(absl::string_view bytes,
                                                        size_t max_length) {
  auto array_at = [&](size_t head, std::vector<Uint256>* out) -> absl::Status {
    size_t offset = 0, length = 0;
    if (!WordAsSize(bytes, head, &offset) || offset % 32 != 0) {
      return AbiError("bad array offset");
    }
    if (!WordAsSize(bytes, offset, &length))
      return AbiError("bad array length");
    if (length > max_length) {
      return ErrorWithReason(
          absl::StatusCode::kResourceExhausted, "too_large",
          absl::StrCat("array of ", length, " over the limit of ", max_length));
    }
    const size_t start = offset + 32;
    if ((bytes.size() - start) / 32 < length) {
      return AbiError("array runs past the data");
    }
    absl::StatusOr<std::vector<Uint256>> words =
        DecodeWords(bytes.substr(start, 32 * length));
    if (!words.ok()) return words.status();
    *out = *std::move(words);
    return absl::OkStatus();
  };
  Uint256ArrayPair pair;
  if (absl::Status s = array_at(0, &pair.first); !s.ok()) return s;
  if (absl::Status s = array_at(32, &pair.second); !s.ok()) return s;
  if (pair.first.size() != pair.second.size()) {
    return AbiError(absl::StrCat("arrays of different lengths (",
                                 pair.first.size(), " and ", pair.second.size(),
                                 ")"));
  }
  return pair;
}

}  // namespace niftysave::eth
