#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/eth/token_key.h"

namespace niftysave::tracker {

// What GetTokenStatus reports, in domain terms (the adapter maps it to proto).
struct PinView {
  std::string backend;
  std::string cid;
  std::string status;  // queued, pinning, pinned, failed
  std::string reason;
  std::string detail;
  std::string updated_at;  // RFC 3339
};

struct ResourceView {
  std::string uri;  // as the token or metadata wrote it
  std::string normalized;
  std::string cid;  // pinned root CID (or the URI's CID before pinning)
  std::string path;
  std::string status;  // queued, pinning, pinned, failed
  std::string reason;
  std::string detail;
  int64_t size = -1;  // -1: unknown
  std::string content_type;
  std::vector<PinView> pins;
};

struct AssetView {
  std::string json_path;
  ResourceView resource;
};

struct TokenReport {
  eth::TokenKey key;
  std::string token_uri;
  std::string status;  // queued, extracted, archived, failed
  std::string reason;
  std::string detail;
  std::string owner;  // 40 hex digits
  uint64_t mint_block = 0;
  std::optional<ResourceView> metadata;
  std::vector<AssetView> assets;
};

}  // namespace niftysave::tracker
