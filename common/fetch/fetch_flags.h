#pragma once

#include <string>
#include <vector>

#include "common/http/address_policy.h"

namespace niftysave::fetch {

// The flags of every service that fetches user-named content (extractor,
// pinner), read and checked in one place:
//   --ipfs_gateways    comma-separated gateway base URLs, tried in order
//   --arweave_gateway  Arweave gateway base URL
//   --allow_addresses  IPs/CIDRs user URLs may reach despite being internal
//   --ipfs_api_url     an IPFS node's RPC API, for IPNS names (optional)
//   --ca_file          an extra CA trusted besides the system's
// A bad value exits 2 naming the flag.
struct FetchFlags {
  std::vector<std::string> ipfs_gateways;
  std::string arweave_gateway;
  http::AddressPolicy address_policy = http::AddressPolicy::AllowAll();
  std::string ca_file;
  std::string ipfs_api_url;  // "" or http(s)://host:port, no trailing slash
};

FetchFlags FetchFlagsFromFlags(bool require_gateway);

}  // namespace niftysave::fetch
