#pragma once

// Token URI resolution: turns whatever a contract's tokenURI()/uri() or a
// metadata field holds into one of a few kinds with a normalised form, so
// that the same content reached through different gateways is one resource.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace niftysave::uri {

enum class UriKind { kIpfs, kIpns, kArweave, kHttp, kData, kInvalid };

// "ipfs", "ipns", "arweave", "http", "data", "invalid".
std::string_view UriKindName(UriKind kind);

struct ResolvedUri {
  UriKind kind = UriKind::kInvalid;
  // kIpfs: the CID as CIDv1 base32.
  std::string cid;
  // kIpfs/kIpns/kArweave: "" or a path starting with "/". Dot segments and
  // repeated or trailing slashes are removed; percent-escapes are kept as
  // written (never decoded), while spaces, quotes, angle brackets, backticks
  // and non-ASCII bytes are percent-encoded; query and fragment are dropped.
  std::string path;
  // kIpns: the IPNS name (key or DNSLink domain); kArweave: the tx id.
  std::string name;
  // "ipfs://<cid><path>", "ipns://<name><path>", "ar://<id><path>", an
  // http(s) URL with lower-case scheme and host, no default port, no
  // fragment, path at least "/", spaces and non-ASCII bytes
  // percent-encoded; a data: URI as given (trimmed).
  std::string normalized;
  // kInvalid: "uri_invalid" (the status reason recorded in the database) and
  // a human-readable detail such as "unsupported scheme 'javascript'".
  std::string reason;
  std::string detail;
};

// Never fails: anything unusable comes back as kInvalid with a detail.
// Accepted forms: ipfs://<cid>[/path] (also the ipfs://ipfs/<cid> quirks),
// ipns://<name>[/path], ar://<txid>[/path], http(s) URLs (path-style
// /ipfs/ and /ipns/ gateways on any host and <cid>.ipfs.<host> subdomain
// gateways resolve to kIpfs/kIpns; arweave.net / arweave.dev to kArweave),
// data: URIs, a bare CID (optionally followed by /path) and a bare
// /ipfs/<cid> or /ipns/<name> path.
ResolvedUri ResolveUri(std::string_view uri);

struct DataUri {
  std::string media_type;  // lower case; "text/plain" when omitted
  std::string charset;     // lower case; "" when not given
  std::string bytes;       // decoded payload
};

// Decodes a data: URI (RFC 2397) leniently, as real metadata needs:
// ";base64" payloads (standard or URL-safe alphabet, padding optional,
// whitespace and percent-escapes tolerated), percent-encoded or raw text,
// ";utf8" / ";utf-8" / ";ascii" / ";charset=..." parameters, and no media
// type at all. InvalidArgument if malformed; ResourceExhausted if the decoded
// payload would exceed `max_bytes`.
absl::StatusOr<DataUri> DecodeDataUri(std::string_view uri, size_t max_bytes);

// The lower-cased scheme when `s` starts with "<scheme>:" (RFC 3986: a
// letter, then letters, digits, '+', '-', '.'); nullopt otherwise.
std::optional<std::string> SchemeOf(std::string_view s);

// Decodes every well-formed %XX escape; a '%' not followed by two hex
// digits is kept as is, and '+' stays '+'.
std::string PercentDecodeLenient(std::string_view s);

// ERC-1155: replaces every "{id}" with the token id as 64 lower-case hex
// digits, zero-padded, no "0x". `token_id_decimal` is a uint256 in decimal;
// if it is not one, the template is returned unchanged.
std::string SubstituteErc1155Id(std::string_view uri_template,
                                std::string_view token_id_decimal);

// The fallback some contracts need: "{id}" replaced by the decimal id as
// given (leading zeros removed).
std::string SubstituteErc1155IdDecimal(std::string_view uri_template,
                                       std::string_view token_id_decimal);

// Decimal uint256 (up to 78 digits, leading zeros allowed) to 64 lower-case
// hex digits. InvalidArgument if empty, not all digits, or >= 2^256.
absl::StatusOr<std::string> DecimalToHex64(std::string_view decimal);

}  // namespace niftysave::uri
