#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace niftysave::http {

// Decides which peer addresses a fetch of a user-supplied URL may connect
// to. By default only public unicast addresses: loopback, private (RFC 1918,
// fc00::/7), link-local (169.254/16 — the cloud metadata endpoint — and
// fe80::/10), CGNAT, multicast, unspecified and reserved ranges are refused,
// unless an allow-list entry (an address or CIDR) names them.
class AddressPolicy {
 public:
  // A policy that allows everything (for trusted endpoints: our own RPC
  // node, IPFS API).
  static AddressPolicy AllowAll();
  // Public addresses plus `allow` (e.g. {"127.0.0.1/32"}).
  static absl::StatusOr<AddressPolicy> PublicOnly(
      const std::vector<std::string>& allow);

  bool Allows(const sockaddr* addr) const;
  bool Allows(absl::string_view ip_text) const;

 private:
  struct Range {
    int family;
    unsigned char bytes[16];
    int prefix;
  };
  bool allow_all_ = false;
  std::vector<Range> allow_;
};

}  // namespace niftysave::http
