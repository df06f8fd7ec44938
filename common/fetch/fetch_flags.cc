#include "common/fetch/fetch_flags.h"

#include <unistd.h>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/runtime/flags.h"

ABSL_FLAG(std::string, ipfs_gateways, "",
          "comma-separated IPFS gateway base URLs, tried in order");
ABSL_FLAG(std::string, arweave_gateway, "https://arweave.net",
          "Arweave gateway base URL");
ABSL_FLAG(std::string, allow_addresses, "",
          "comma-separated IPs/CIDRs user URLs may reach despite being "
          "internal (tests: 127.0.0.1)");
ABSL_FLAG(std::string, ipfs_api_url, "",
          "IPFS node RPC API base URL (kubo-compatible, e.g. "
          "http://127.0.0.1:5001): IPNS names are resolved there "
          "(name/resolve) and fetched as the CID they point to; empty: "
          "/ipns/ paths go to the gateways");
ABSL_FLAG(std::string, ca_file, "",
          "extra CA trusted for https fetches, besides the system's");

namespace niftysave::fetch {

FetchFlags FetchFlagsFromFlags(bool require_gateway) {
  FetchFlags flags;
  flags.ipfs_gateways = absl::StrSplit(absl::GetFlag(FLAGS_ipfs_gateways), ',',
                                       absl::SkipWhitespace());
  if (require_gateway && flags.ipfs_gateways.empty()) {
    DieWithConfigError("ipfs_gateways", "at least one gateway URL is required");
  }
  flags.arweave_gateway = absl::GetFlag(FLAGS_arweave_gateway);
  std::vector<std::string> allow = absl::StrSplit(
      absl::GetFlag(FLAGS_allow_addresses), ',', absl::SkipWhitespace());
  auto policy = http::AddressPolicy::PublicOnly(allow);
  if (!policy.ok())
    DieWithConfigError("allow_addresses", policy.status().message());
  flags.address_policy = *policy;
  flags.ipfs_api_url = absl::GetFlag(FLAGS_ipfs_api_url);
  if (!flags.ipfs_api_url.empty()) {
    if (!absl::StartsWith(flags.ipfs_api_url, "http://") &&
        !absl::StartsWith(flags.ipfs_api_url, "https://")) {
      DieWithConfigError("ipfs_api_url", "must be an http(s) URL");
    }
    while (absl::EndsWith(flags.ipfs_api_url, "/")) {
      flags.ipfs_api_url.pop_back();
    }
  }
  flags.ca_file = absl::GetFlag(FLAGS_ca_file);
  if (!flags.ca_file.empty() && access(flags.ca_file.c_str(), R_OK) != 0) {
    DieWithConfigError("ca_file", "cannot read " + flags.ca_file);
  }
  return flags;
}

}  // namespace niftysave::fetch
