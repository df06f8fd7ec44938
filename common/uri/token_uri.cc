#include "common/uri/token_uri.h"

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/uri/cid.h"
#include "common/uri/multibase.h"

namespace niftysave::uri {
namespace {

constexpr size_t kMaxDataUriLength = 1 << 20;  // 1 MiB
constexpr size_t kMaxUriLength = 8 << 10;      // 8 KiB
constexpr size_t kArweaveIdLength = 43;
constexpr size_t kMaxIpnsNameLength = 253;
constexpr std::string_view kReasonInvalid = "uri_invalid";

// Debian's Abseil has its own absl::string_view, distinct from
// std::string_view; this bridges the two for StrCat and friends.
absl::string_view Av(std::string_view s) { return {s.data(), s.size()}; }

bool Contains(std::string_view s, char c) {
  return s.find(c) != std::string_view::npos;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return out;
}

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         Lower(s.substr(0, prefix.size())) == Lower(prefix);
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t at = s.find(sep);
    parts.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return parts;
    s.remove_prefix(at + 1);
  }
}

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

std::string_view TrimAscii(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

ResolvedUri Invalid(std::string detail) {
  ResolvedUri r;
  r.kind = UriKind::kInvalid;
  r.reason = std::string(kReasonInvalid);
  r.detail = std::move(detail);
  return r;
}

// Quotes a piece of user input for a detail message, cut short.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = absl::StrCat("'", Av(s.substr(0, kMax)));
  if (s.size() > kMax) out += "...";
  return out + "'";
}

// Splits "<head>[/...][?...][#...]" at the first '/', '?' or '#'.
std::pair<std::string_view, std::string_view> SplitHead(std::string_view s) {
  const size_t end = s.find_first_of("/?#");
  if (end == std::string_view::npos) return {s, {}};
  return {s.substr(0, end), s.substr(end)};
}

// Drops "?query" and "#fragment".
std::string_view StripQueryAndFragment(std::string_view s) {
  return s.substr(0, s.find_first_of("?#"));
}

// Percent-encodes what a browser would before sending a path or query:
// space, quotes, angle brackets, backtick and non-ASCII bytes.
std::string EncodeForRequest(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || c == ' ' || c == '"' || c == '<' || c == '>' || c == '`') {
      absl::StrAppend(
          &out, "%",
          absl::AsciiStrToUpper(absl::StrCat(absl::Hex(u, absl::kZeroPad2))));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Resolves "." and ".." (never above the root), drops empty segments and
// percent-encodes spaces and non-ASCII bytes (existing escapes are kept), so
// that "/a//b/./c/../" and "/a/b", or "/my file" and "/my%20file", name one
// thing. Returns "" or "/...".
std::string NormalizeContentPath(std::string_view path) {
  std::vector<std::string_view> segments;
  for (std::string_view seg : Split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(seg);
  }
  std::string out;
  for (std::string_view seg : segments) {
    absl::StrAppend(&out, "/", EncodeForRequest(seg));
  }
  return out;
}

// Removes leading slashes and the "ipfs/" (or "ipns/") that broken tools
// write after the scheme: ipfs://ipfs/<cid>, ipfs://ipfs//<cid>,
// ipfs://ipfs/ipfs/<cid>.
std::string_view StripNamespaceQuirks(std::string_view s,
                                      std::string_view ns_slash) {
  while (true) {
    while (!s.empty() && s.front() == '/') s.remove_prefix(1);
    if (!s.starts_with(ns_slash)) return s;
    s.remove_prefix(ns_slash.size());
  }
}

ResolvedUri MakeIpfs(const Cid& cid, std::string_view rest) {
  ResolvedUri r;
  r.kind = UriKind::kIpfs;
  r.cid = cid.ToString();
  r.path = NormalizeContentPath(StripQueryAndFragment(rest));
  r.normalized = absl::StrCat("ipfs://", r.cid, r.path);
  return r;
}

// "<cid>[/path][?q][#f]" after the ipfs namespace.
absl::StatusOr<ResolvedUri> ResolveIpfsTail(std::string_view tail) {
  tail = StripNamespaceQuirks(tail, "ipfs/");
  auto [head, rest] = SplitHead(tail);
  absl::StatusOr<Cid> cid = ParseCid(head);
  if (!cid.ok()) return cid.status();
  return MakeIpfs(*cid, rest);
}

bool IsIpnsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '-' || c == '_';
}

// IPNS names are keys (CIDs, canonically libp2p-key in base36, the form
// subdomain gateways use) or DNSLink domains (case-insensitive).
absl::StatusOr<std::string> CanonicalIpnsName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty IPNS name");
  if (name.size() > kMaxIpnsNameLength) {
    return absl::InvalidArgumentError("IPNS name too long");
  }
  for (char c : name) {
    if (!IsIpnsNameChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid character in IPNS name ", Quote(name)));
    }
  }
  if (Contains(name, '.')) return Lower(name);
  absl::StatusOr<Cid> cid = ParseCid(name);
  if (cid.ok() && cid->version == 1 && cid->codec == kCodecLibp2pKey) {
    return MultibaseEncode(Multibase::kBase36, cid->Bytes());
  }
  return std::string(name);
}

ResolvedUri MakeIpns(std::string name, std::string_view rest) {
  ResolvedUri r;
  r.kind = UriKind::kIpns;
  r.name = std::move(name);
  r.path = NormalizeContentPath(StripQueryAndFragment(rest));
  r.normalized = absl::StrCat("ipns://", r.name, r.path);
  return r;
}

absl::StatusOr<ResolvedUri> ResolveIpnsTail(std::string_view tail) {
  tail = StripNamespaceQuirks(tail, "ipns/");
  auto [head, rest] = SplitHead(tail);
  absl::StatusOr<std::string> name = CanonicalIpnsName(head);
  if (!name.ok()) return name.status();
  return MakeIpns(*std::move(name), rest);
}

bool IsArweaveId(std::string_view id) {
  if (id.size() != kArweaveIdLength) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '_') {
      return false;
    }
  }
  return true;
}

ResolvedUri MakeArweave(std::string_view id, std::string_view rest) {
  ResolvedUri r;
  r.kind = UriKind::kArweave;
  r.name = std::string(id);
  r.path = NormalizeContentPath(StripQueryAndFragment(rest));
  r.normalized = absl::StrCat("ar://", r.name, r.path);
  return r;
}

// Subdomain gateways inline a DNSLink name into one DNS label:
// "en-wikipedia--on--ipfs-org" stands for "en.wikipedia-on-ipfs.org".
std::string DecodeInlinedDnsLink(std::string_view label) {
  std::string out;
  for (size_t i = 0; i < label.size(); ++i) {
    if (label[i] != '-') {
      out.push_back(label[i]);
    } else if (i + 1 < label.size() && label[i + 1] == '-') {
      out.push_back('-');
      ++i;
    } else {
      out.push_back('.');
    }
  }
  return out;
}

bool IsHostChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '.' || c == '_';
}

bool IsArweaveHost(std::string_view host) {
  for (std::string_view base : {"arweave.net", "arweave.dev"}) {
    if (host == base || host.ends_with(absl::StrCat(".", Av(base)))) {
      return true;
    }
  }
  return false;
}

ResolvedUri ResolveHttp(std::string_view scheme, std::string_view rest) {
  if (!rest.starts_with("//")) {
    return Invalid(absl::StrCat(Av(scheme), " URL without '//'"));
  }
  rest.remove_prefix(2);
  auto [authority, tail] = SplitHead(rest);
  if (Contains(authority, '@')) {
    return Invalid("userinfo ('user@') in URL is not allowed");
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Invalid("unclosed IPv6 host");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Invalid("garbage after IPv6 host");
      port = after.substr(1);
    }
    for (char c : host.substr(1, host.size() - 2)) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != ':' &&
          c != '.') {
        return Invalid(absl::StrCat("invalid IPv6 host ", Quote(host)));
      }
    }
    if (host.size() <= 2) return Invalid("empty IPv6 host");
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    for (char c : host) {
      if (!IsHostChar(c)) {
        return Invalid(absl::StrCat("invalid host ", Quote(host)));
      }
    }
    // "a..b" or ".a" has an empty label; one trailing dot (FQDN) is fine.
    std::string_view labels = host;
    if (labels.ends_with(".")) labels.remove_suffix(1);
    for (std::string_view label : Split(labels, '.')) {
      if (label.empty() && !host.empty()) {
        return Invalid(absl::StrCat("invalid host ", Quote(host)));
      }
    }
  }
  if (host.empty()) return Invalid("URL without a host");
  std::optional<uint32_t> port_number;
  if (!port.empty()) {
    if (port.size() > 5) return Invalid("invalid port");
    uint32_t value = 0;
    for (char c : port) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return Invalid(absl::StrCat("invalid port ", Quote(port)));
      }
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value > 65535) return Invalid("port out of range");
    port_number = value;
  }
  const std::string lower_host = Lower(host);
  const std::string_view path = StripQueryAndFragment(tail);

  // Path-style gateway on any host: /ipfs/<cid>/..., /ipns/<name>/...
  if (path.starts_with("/ipfs/")) {
    absl::StatusOr<ResolvedUri> r = ResolveIpfsTail(path.substr(6));
    if (r.ok()) return *std::move(r);
  } else if (path.starts_with("/ipns/")) {
    absl::StatusOr<ResolvedUri> r = ResolveIpnsTail(path.substr(6));
    if (r.ok()) return *std::move(r);
  }
  // Subdomain gateway: <cid>.ipfs.<gateway host>/path.
  std::vector<std::string_view> labels = Split(lower_host, '.');
  if (labels.size() >= 3 && labels[1] == "ipfs") {
    absl::StatusOr<Cid> cid = ParseCid(labels[0]);
    if (cid.ok()) return MakeIpfs(*cid, path);
  } else if (labels.size() >= 3 && labels[1] == "ipns") {
    absl::StatusOr<std::string> name = CanonicalIpnsName(
        ParseCid(labels[0]).ok() ? std::string(labels[0])
                                 : DecodeInlinedDnsLink(labels[0]));
    if (name.ok()) return MakeIpns(*std::move(name), path);
  }
  // Arweave gateways: https://arweave.net/<txid>/path.
  if (IsArweaveHost(lower_host)) {
    auto [id, id_rest] = SplitHead(path.empty() ? path : path.substr(1));
    if (IsArweaveId(id)) return MakeArweave(id, id_rest);
  }

  ResolvedUri r;
  r.kind = UriKind::kHttp;
  const bool default_port =
      port_number.has_value() && ((scheme == "http" && *port_number == 80) ||
                                  (scheme == "https" && *port_number == 443));
  std::string_view query;
  if (tail.substr(path.size()).starts_with("?")) {
    query = tail.substr(path.size());
    query = query.substr(0, query.find('#'));
  }
  r.normalized = absl::StrCat(Av(scheme), "://", lower_host);
  if (port_number.has_value() && !default_port) {
    absl::StrAppend(&r.normalized, ":", *port_number);
  }
  absl::StrAppend(&r.normalized, path.empty() ? "/" : EncodeForRequest(path),
                  EncodeForRequest(query));
  return r;
}

}  // namespace

std::string PercentDecodeLenient(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() &&
        absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      auto hex = [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c))
                   ? c - '0'
                   : absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' +
                         10;
      };
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string_view UriKindName(UriKind kind) {
  switch (kind) {
    case UriKind::kIpfs:
      return "ipfs";
    case UriKind::kIpns:
      return "ipns";
    case UriKind::kArweave:
      return "arweave";
    case UriKind::kHttp:
      return "http";
    case UriKind::kData:
      return "data";
    case UriKind::kInvalid:
      return "invalid";
  }
  return "invalid";
}

namespace {

ResolvedUri ResolveUnbounded(std::string_view uri) {
  const std::string_view s = TrimAscii(uri);
  if (s.empty()) return Invalid("empty URI");
  const bool is_data = StartsWithIgnoreCase(s, "data:");
  if (s.size() > (is_data ? kMaxDataUriLength : kMaxUriLength)) {
    return Invalid(absl::StrCat("URI too long (", s.size(), " bytes)"));
  }
  if (is_data) {
    if (!Contains(s, ',')) return Invalid("data: URI without ','");
    ResolvedUri r;
    r.kind = UriKind::kData;
    r.normalized = std::string(s);
    return r;
  }
  for (char c : s) {
    if (IsControl(c)) return Invalid("control character in URI");
  }

  const std::optional<std::string> scheme = SchemeOf(s);
  if (!scheme.has_value()) {
    // Bare forms: /ipfs/<cid>..., /ipns/<name>..., <cid>[/path].
    absl::StatusOr<ResolvedUri> r;
    if (s.starts_with("/ipfs/")) {
      r = ResolveIpfsTail(s.substr(6));
    } else if (s.starts_with("/ipns/")) {
      r = ResolveIpnsTail(s.substr(6));
    } else {
      auto [head, rest] = SplitHead(s);
      absl::StatusOr<Cid> cid = ParseCid(head);
      if (cid.ok()) return MakeIpfs(*cid, rest);
      return Invalid(absl::StrCat("not a URI or CID: ", Quote(s)));
    }
    if (!r.ok()) return Invalid(std::string(r.status().message()));
    return *std::move(r);
  }

  const std::string_view rest = s.substr(scheme->size() + 1);
  if (*scheme == "ipfs") {
    absl::StatusOr<ResolvedUri> r = ResolveIpfsTail(rest);
    if (!r.ok()) return Invalid(std::string(r.status().message()));
    return *std::move(r);
  }
  if (*scheme == "ipns") {
    absl::StatusOr<ResolvedUri> r = ResolveIpnsTail(rest);
    if (!r.ok()) return Invalid(std::string(r.status().message()));
    return *std::move(r);
  }
  if (*scheme == "ar") {
    if (!rest.starts_with("//")) return Invalid("ar URI without '//'");
    auto [id, id_rest] = SplitHead(rest.substr(2));
    if (!IsArweaveId(id)) {
      return Invalid(
          absl::StrCat("invalid Arweave transaction id ", Quote(id)));
    }
    return MakeArweave(id, id_rest);
  }
  if (*scheme == "http" || *scheme == "https") {
    return ResolveHttp(*scheme, rest);
  }
  return Invalid(absl::StrCat("unsupported scheme ", Quote(*scheme)));
}

}  // namespace

// The cap holds for the normalised form too: percent-encoding can triple a
// URI, and what is stored and resolved again must itself be under the cap.
ResolvedUri ResolveUri(std::string_view uri) {
  ResolvedUri r = ResolveUnbounded(uri);
  if (r.kind != UriKind::kInvalid && r.kind != UriKind::kData &&
      r.normalized.size() > kMaxUriLength) {
    return Invalid(absl::StrCat("URI too long once normalised (",
                                r.normalized.size(), " bytes)"));
  }
  return r;
}

absl::StatusOr<DataUri> DecodeDataUri(std::string_view uri, size_t max_bytes) {
  const std::string_view s = TrimAscii(uri);
  if (!StartsWithIgnoreCase(s, "data:")) {
    return absl::InvalidArgumentError("data uri: missing 'data:' scheme");
  }
  const size_t comma = s.find(',');
  if (comma == std::string_view::npos) {
    return absl::InvalidArgumentError("data uri: missing ','");
  }
  const std::string_view header = s.substr(5, comma - 5);
  const std::string_view payload = s.substr(comma + 1);

  DataUri out;
  bool base64 = false;
  bool first = true;
  for (std::string_view part : Split(header, ';')) {
    const std::string token = Lower(TrimAscii(part));
    if (first) {
      first = false;
      if (Contains(token, '/')) {
        out.media_type = token;
        continue;
      }
    }
    if (token == "base64") {
      base64 = true;
    } else if (token.starts_with("charset=")) {
      std::string_view value = std::string_view(token).substr(8);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      out.charset = std::string(value);
    } else if (token == "utf8" || token == "utf-8") {
      out.charset = "utf-8";
    } else if (token == "ascii" || token == "us-ascii") {
      out.charset = "us-ascii";
    }
    // Anything else (name=..., unknown flags) is ignored.
  }
  if (out.media_type.empty()) out.media_type = "text/plain";

  // Percent-decoding never grows the text, and shrinks it at most 3:1.
  if (!base64 && payload.size() / 3 > max_bytes) {
    return absl::ResourceExhaustedError("data uri: payload exceeds limit");
  }
  std::string text = PercentDecodeLenient(payload);
  if (base64) {
    absl::StatusOr<std::string> bytes = DecodeBase64Lenient(text);
    if (!bytes.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("data uri: ", bytes.status().message()));
    }
    out.bytes = *std::move(bytes);
  } else {
    out.bytes = std::move(text);
  }
  if (out.bytes.size() > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat("data uri: decoded payload of ", out.bytes.size(),
                     " bytes exceeds limit of ", max_bytes));
  }
  return out;
}

absl::StatusOr<std::string> DecimalToHex64(std::string_view decimal) {
  if (decimal.empty()) {
    return absl::InvalidArgumentError("token id: empty");
  }
  // 2^256 as little-endian 32-bit limbs overflows into a ninth limb.
  std::array<uint32_t, 8> limbs{};
  for (char c : decimal) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("token id: not a decimal number ", Quote(decimal)));
    }
    uint64_t carry = static_cast<uint64_t>(c - '0');
    for (uint32_t& limb : limbs) {
      const uint64_t v = static_cast<uint64_t>(limb) * 10 + carry;
      limb = static_cast<uint32_t>(v);
      carry = v >> 32;
    }
    if (carry != 0) {
      return absl::InvalidArgumentError("token id: larger than uint256");
    }
  }
  std::string out;
  out.reserve(64);
  for (auto it = limbs.rbegin(); it != limbs.rend(); ++it) {
    absl::StrAppend(&out, absl::Hex(*it, absl::kZeroPad8));
  }
  return out;
}

std::string SubstituteErc1155Id(std::string_view uri_template,
                                std::string_view token_id_decimal) {
  absl::StatusOr<std::string> hex = DecimalToHex64(token_id_decimal);
  if (!hex.ok()) return std::string(uri_template);
  return absl::StrReplaceAll(Av(uri_template), {{"{id}", *hex}});
}

std::string SubstituteErc1155IdDecimal(std::string_view uri_template,
                                       std::string_view token_id_decimal) {
  if (!DecimalToHex64(token_id_decimal).ok()) return std::string(uri_template);
  std::string_view id = token_id_decimal;
  while (id.size() > 1 && id.front() == '0') id.remove_prefix(1);
  return absl::StrReplaceAll(Av(uri_template), {{"{id}", Av(id)}});
}

std::optional<std::string> SchemeOf(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (s[i] == ':') {
      if (i == 0) return std::nullopt;
      return Lower(s.substr(0, i));
    }
    const bool ok =
        absl::ascii_isalpha(c) ||
        (i > 0 && (absl::ascii_isdigit(c) || c == '+' || c == '-' || c == '.'));
    if (!ok) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace niftysave::uri
