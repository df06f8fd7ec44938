#pragma once

// Multibase encodings (https://github.com/multiformats/multibase) used by CIDs,
// plus the lenient base64 decoder that data: URIs need.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace niftysave::uri {

// The bases a CID may be written in. The multibase prefix character of each
// is given in the comment.
enum class Multibase {
  kBase16,        // 'f'
  kBase16Upper,   // 'F'
  kBase32,        // 'b' (rfc4648, lower case, no padding)
  kBase32Upper,   // 'B'
  kBase36,        // 'k'
  kBase36Upper,   // 'K'
  kBase58Btc,     // 'z'
  kBase64,        // 'm' (rfc4648, no padding)
  kBase64Pad,     // 'M'
  kBase64Url,     // 'u' (no padding)
  kBase64UrlPad,  // 'U'
};

// Encodes `bytes` and prepends the multibase prefix character.
std::string MultibaseEncode(Multibase base, std::string_view bytes);

// Decodes a prefixed multibase string. InvalidArgument for an unknown prefix
// or a character, length or trailing-bit pattern the base does not allow.
absl::StatusOr<std::string> MultibaseDecode(std::string_view text);

// Unprefixed base58btc (Bitcoin alphabet), as CIDv0 uses it.
std::string EncodeBase58Btc(std::string_view bytes);
absl::StatusOr<std::string> DecodeBase58Btc(std::string_view text);

// Forgiving base64 for data: URIs: accepts the standard and URL-safe
// alphabets, with or without '=' padding, and skips ASCII whitespace.
absl::StatusOr<std::string> DecodeBase64Lenient(std::string_view text);

}  // namespace niftysave::uri
