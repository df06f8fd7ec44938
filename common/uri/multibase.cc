#include "common/uri/multibase.h"

#include <array>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace niftysave::uri {
namespace {

constexpr std::string_view kBase16Lower = "0123456789abcdef";
constexpr std::string_view kBase16Upper = "0123456789ABCDEF";
constexpr std::string_view kBase32Lower = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kBase32Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kBase36Lower =
    "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kBase36Upper =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
constexpr std::string_view kBase58 =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
constexpr std::string_view kBase64Std =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kBase64Url =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Character → digit table; -1 for characters outside the alphabet.
using DecodeTable = std::array<int8_t, 256>;

DecodeTable MakeTable(std::string_view alphabet, bool case_insensitive) {
  DecodeTable table;
  table.fill(-1);
  for (size_t i = 0; i < alphabet.size(); ++i) {
    auto c = static_cast<unsigned char>(alphabet[i]);
    table[c] = static_cast<int8_t>(i);
    if (case_insensitive) {
      if (c >= 'a' && c <= 'z') table[c - 'a' + 'A'] = static_cast<int8_t>(i);
      if (c >= 'A' && c <= 'Z') table[c - 'A' + 'a'] = static_cast<int8_t>(i);
    }
  }
  return table;
}

// Power-of-two bases (rfc4648 without padding): each character carries
// `bits` bits, most significant first.
std::string EncodeRfc4648(std::string_view bytes, std::string_view alphabet,
                          int bits, bool pad) {
  std::string out;
  out.reserve((bytes.size() * 8 + bits - 1) / bits + 4);
  const uint32_t mask = (1u << bits) - 1;
  uint32_t buffer = 0;
  int buffered = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    buffered += 8;
    while (buffered >= bits) {
      buffered -= bits;
      out.push_back(alphabet[(buffer >> buffered) & mask]);
    }
  }
  if (buffered > 0) {
    out.push_back(alphabet[(buffer << (bits - buffered)) & mask]);
  }
  if (pad) {
    // Groups are 24 bits for base64 and 40 bits for base32.
    const size_t group = bits == 6 ? 4 : 8;
    while (out.size() % group != 0) out.push_back('=');
  }
  return out;
}

absl::StatusOr<std::string> DecodeRfc4648(std::string_view text,
                                          const DecodeTable& table, int bits,
                                          bool allow_padding,
                                          const char* name) {
  if (allow_padding) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  }
  std::string out;
  out.reserve(text.size() * bits / 8);
  uint32_t buffer = 0;
  int buffered = 0;
  for (char c : text) {
    const int digit = table[static_cast<unsigned char>(c)];
    if (digit < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": invalid character '", std::string(1, c), "'"));
    }
    buffer = (buffer << bits) | static_cast<uint32_t>(digit);
    buffered += bits;
    if (buffered >= 8) {
      buffered -= 8;
      out.push_back(static_cast<char>((buffer >> buffered) & 0xff));
    }
  }
  // A well-formed encoding leaves fewer bits than one character holds, and
  // they are all zero.
  if (buffered >= bits || (buffer & ((1u << buffered) - 1)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ": truncated or non-canonical ending"));
  }
  return out;
}

// Arbitrary-radix bases (base58btc, base36): the payload is a big-endian
// number; each leading zero byte is written as the zero digit.
std::string EncodeBaseX(std::string_view bytes, std::string_view alphabet) {
  const uint32_t radix = static_cast<uint32_t>(alphabet.size());
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == '\0') ++zeros;
  // Little-endian digits of the number.
  std::vector<uint8_t> digits;
  digits.reserve(bytes.size() * 2);
  for (size_t i = zeros; i < bytes.size(); ++i) {
    uint32_t carry = static_cast<unsigned char>(bytes[i]);
    for (uint8_t& d : digits) {
      carry += static_cast<uint32_t>(d) << 8;
      d = static_cast<uint8_t>(carry % radix);
      carry /= radix;
    }
    while (carry > 0) {
      digits.push_back(static_cast<uint8_t>(carry % radix));
      carry /= radix;
    }
  }
  std::string out(zeros, alphabet[0]);
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    out.push_back(alphabet[*it]);
  }
  return out;
}

absl::StatusOr<std::string> DecodeBaseX(std::string_view text,
                                        const DecodeTable& table,
                                        uint32_t radix, const char* name) {
  size_t zeros = 0;
  while (zeros < text.size() &&
         table[static_cast<unsigned char>(text[zeros])] == 0) {
    ++zeros;
  }
  // Little-endian bytes of the number.
  std::vector<uint8_t> bytes;
  bytes.reserve(text.size());
  for (size_t i = zeros; i < text.size(); ++i) {
    const int digit = table[static_cast<unsigned char>(text[i])];
    if (digit < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": invalid character '", std::string(1, text[i]), "'"));
    }
    uint32_t carry = static_cast<uint32_t>(digit);
    for (uint8_t& b : bytes) {
      carry += static_cast<uint32_t>(b) * radix;
      b = static_cast<uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  std::string out(zeros, '\0');
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
    out.push_back(static_cast<char>(*it));
  }
  return out;
}

const DecodeTable& Base16Table() {
  static const DecodeTable table = MakeTable(kBase16Lower, true);
  return table;
}
const DecodeTable& Base32Table() {
  static const DecodeTable table = MakeTable(kBase32Lower, true);
  return table;
}
const DecodeTable& Base36Table() {
  static const DecodeTable table = MakeTable(kBase36Lower, true);
  return table;
}
const DecodeTable& Base58Table() {
  static const DecodeTable table = MakeTable(kBase58, false);
  return table;
}
const DecodeTable& Base64StdTable() {
  static const DecodeTable table = MakeTable(kBase64Std, false);
  return table;
}
const DecodeTable& Base64UrlTable() {
  static const DecodeTable table = MakeTable(kBase64Url, false);
  return table;
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

}  // namespace

std::string MultibaseEncode(Multibase base, std::string_view bytes) {
  switch (base) {
    case Multibase::kBase16:
      return "f" + EncodeRfc4648(bytes, kBase16Lower, 4, false);
    case Multibase::kBase16Upper:
      return "F" + EncodeRfc4648(bytes, kBase16Upper, 4, false);
    case Multibase::kBase32:
      return "b" + EncodeRfc4648(bytes, kBase32Lower, 5, false);
    case Multibase::kBase32Upper:
      return "B" + EncodeRfc4648(bytes, kBase32Upper, 5, false);
    case Multibase::kBase36:
      return "k" + EncodeBaseX(bytes, kBase36Lower);
    case Multibase::kBase36Upper:
      return "K" + EncodeBaseX(bytes, kBase36Upper);
    case Multibase::kBase58Btc:
      return "z" + EncodeBaseX(bytes, kBase58);
    case Multibase::kBase64:
      return "m" + EncodeRfc4648(bytes, kBase64Std, 6, false);
    case Multibase::kBase64Pad:
      return "M" + EncodeRfc4648(bytes, kBase64Std, 6, true);
    case Multibase::kBase64Url:
      return "u" + EncodeRfc4648(bytes, kBase64Url, 6, false);
    case Multibase::kBase64UrlPad:
      return "U" + EncodeRfc4648(bytes, kBase64Url, 6, true);
  }
  return "";
}

absl::StatusOr<std::string> MultibaseDecode(std::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError("multibase: empty string");
  }
  const char prefix = text.front();
  const std::string_view body = text.substr(1);
  switch (prefix) {
    case 'f':
    case 'F':
      return DecodeRfc4648(body, Base16Table(), 4, false, "base16");
    case 'b':
    case 'B':
      return DecodeRfc4648(body, Base32Table(), 5, false, "base32");
    case 'k':
    case 'K':
      return DecodeBaseX(body, Base36Table(), 36, "base36");
    case 'z':
      return DecodeBaseX(body, Base58Table(), 58, "base58btc");
    case 'm':
      return DecodeRfc4648(body, Base64StdTable(), 6, false, "base64");
    case 'M':
      return DecodeRfc4648(body, Base64StdTable(), 6, true, "base64pad");
    case 'u':
      return DecodeRfc4648(body, Base64UrlTable(), 6, false, "base64url");
    case 'U':
      return DecodeRfc4648(body, Base64UrlTable(), 6, true, "base64urlpad");
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "multibase: unsupported prefix '", std::string(1, prefix), "'"));
  }
}

std::string EncodeBase58Btc(std::string_view bytes) {
  return EncodeBaseX(bytes, kBase58);
}

absl::StatusOr<std::string> DecodeBase58Btc(std::string_view text) {
  return DecodeBaseX(text, Base58Table(), 58, "base58btc");
}

absl::StatusOr<std::string> DecodeBase64Lenient(std::string_view text) {
  static const DecodeTable table = [] {
    DecodeTable t = MakeTable(kBase64Std, false);
    t['-'] = 62;
    t['_'] = 63;
    return t;
  }();
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  uint32_t buffer = 0;
  int buffered = 0;
  size_t chars = 0;
  bool padding = false;
  for (char c : text) {
    if (IsAsciiSpace(c)) continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    const int digit = table[static_cast<unsigned char>(c)];
    if (digit < 0 || padding) {
      return absl::InvalidArgumentError(
          padding ? "base64: data after padding"
                  : absl::StrCat("base64: invalid character '",
                                 std::string(1, c), "'"));
    }
    ++chars;
    buffer = (buffer << 6) | static_cast<uint32_t>(digit);
    buffered += 6;
    if (buffered >= 8) {
      buffered -= 8;
      out.push_back(static_cast<char>((buffer >> buffered) & 0xff));
    }
  }
  // One character alone cannot hold a byte.
  if (chars % 4 == 1) {
    return absl::InvalidArgumentError("base64: truncated input");
  }
  return out;
}

}  // namespace niftysave::uri
