#include "common/http/address_policy.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace niftysave::http {
namespace {

bool PrefixMatches(const unsigned char* a, const unsigned char* b, int prefix) {
  int full = prefix / 8;
  if (std::memcmp(a, b, full) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

bool IsPublicV4(const unsigned char* b) {
  const unsigned a0 = b[0], a1 = b[1];
  if (a0 == 0 || a0 == 10 || a0 == 127)
    return false;                                    // this, private, loopback
  if (a0 == 100 && (a1 & 0xc0) == 64) return false;  // 100.64/10 CGNAT
  if (a0 == 169 && a1 == 254) return false;          // link-local, metadata
  if (a0 == 172 && (a1 & 0xf0) == 16) return false;  // 172.16/12
  if (a0 == 192 && a1 == 168) return false;          // 192.168/16
  if (a0 == 192 && a1 == 0 && b[2] == 0) return false;  // 192.0.0/24
  if (a0 == 198 && (a1 & 0xfe) == 18) return false;  // 198.18/15 benchmarking
  if (a0 >= 224) return false;  // multicast, reserved, broadcast
  return true;
}

// IPv6 forms that carry an IPv4 address a relay or translator will dial:
// each is judged by that IPv4 address, so a private one cannot hide inside.
bool IsPublicV6(const unsigned char* b) {
  static const unsigned char kZero[16] = {};
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
    return false;  // :: and ::1
  }
  // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks),
  // IPv4-mapped ::ffff:a.b.c.d and NAT64 64:ff9b::/96.
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0,    0,
                                            0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b};
  if (std::memcmp(b, kZero, 12) == 0 || std::memcmp(b, kMapped, 12) == 0 ||
      std::memcmp(b, kNat64, 12) == 0) {
    return IsPublicV4(b + 12);
  }
  // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): the operator's own
  // translator, whatever prefix layout it picked; never a user's target.
  if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 &&
      b[5] == 1) {
    return false;
  }
  // 6to4 2002:V4ADDR::/48: the relay dials the IPv4 in bytes 2-5.
  if (b[0] == 0x20 && b[1] == 0x02) return IsPublicV4(b + 2);
  // Teredo 2001:0::/32: server IPv4 in bytes 4-7, the client's IPv4 XOR-ed
  // with 0xff in bytes 12-15. Either one private: refused.
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
    unsigned char client[4];
    for (int i = 0; i < 4; ++i) client[i] = b[12 + i] ^ 0xff;
    return IsPublicV4(b + 4) && IsPublicV4(client);
  }
  if ((b[0] & 0xfe) == 0xfc) return false;  // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return false;                           // fe80::/10 link-local
  if (b[0] == 0xff) return false;           // multicast
  if ((b[0] & 0xe0) != 0x20) return false;  // outside 2000::/3
  return true;
}

}  // namespace

AddressPolicy AddressPolicy::AllowAll() {
  AddressPolicy p;
  p.allow_all_ = true;
  return p;
}

absl::StatusOr<AddressPolicy> AddressPolicy::PublicOnly(
    const std::vector<std::string>& allow) {
  AddressPolicy p;
  for (const std::string& entry : allow) {
    if (entry.empty()) continue;
    Range r{};
    std::string ip = entry;
    int prefix = -1;
    if (auto slash = entry.find('/'); slash != std::string::npos) {
      ip = entry.substr(0, slash);
      if (!absl::SimpleAtoi(entry.substr(slash + 1), &prefix)) prefix = -2;
    }
    if (inet_pton(AF_INET, ip.c_str(), r.bytes) == 1) {
      r.family = AF_INET;
      if (prefix == -1) prefix = 32;
      if (prefix < 0 || prefix > 32) prefix = -2;
    } else if (inet_pton(AF_INET6, ip.c_str(), r.bytes) == 1) {
      r.family = AF_INET6;
      if (prefix == -1) prefix = 128;
      if (prefix < 0 || prefix > 128) prefix = -2;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("not an IP address or CIDR: '", entry, "'"));
    }
    if (prefix == -2) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad prefix length in '", entry, "'"));
    }
    r.prefix = prefix;
    p.allow_.push_back(r);
  }
  return p;
}

bool AddressPolicy::Allows(const sockaddr* addr) const {
  if (allow_all_) return true;
  const unsigned char* bytes = nullptr;
  int family = addr->sa_family;
  if (family == AF_INET) {
    bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr);
  } else if (family == AF_INET6) {
    bytes = reinterpret_cast<const unsigned char*>(
        &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr);
  } else {
    return false;  // unix sockets and the like: never for a user URL
  }
  for (const Range& r : allow_) {
    if (r.family == family && PrefixMatches(bytes, r.bytes, r.prefix)) {
      return true;
    }
  }
  return family == AF_INET ? IsPublicV4(bytes) : IsPublicV6(bytes);
}

bool AddressPolicy::Allows(absl::string_view ip_text) const {
  std::string ip(ip_text);
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, ip.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    return Allows(reinterpret_cast<const sockaddr*>(&v4));
  }
  if (inet_pton(AF_INET6, ip.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    return Allows(reinterpret_cast<const sockaddr*>(&v6));
  }
  return false;
}

}  // namespace niftysave::http
