#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

// What one answer carries of a token URI (they may be 1 MiB): the first
// kMaxTextBytes bytes, cut on a character boundary. A longer one says so
// with its full length and SHA-256 (hex).
inline constexpr size_t kMaxTextBytes = 2048;
// Rows of a token's report (one per asset and pin) read at most.
inline constexpr size_t kMaxReportRows = 5000;

struct TokenReport {
  eth::TokenKey key;
  std::string token_uri;  // at most kMaxTextBytes
  int64_t token_uri_length = 0;
  std::string token_uri_sha256;   // set when token_uri was cut
  bool assets_truncated = false;  // more assets than this report carries
  std::string status;             // queued, extracted, archived, failed
  std::string reason;
  std::string detail;
  std::string owner;  // 40 hex digits
  uint64_t mint_block = 0;
  std::optional<ResourceView> metadata;
  std::vector<AssetView> assets;
};

// One row of ListTokens.
struct TokenSummaryView {
  int64_t id = 0;  // the keyset position
  eth::TokenKey key;
  std::string token_uri;  // at most kMaxTextBytes
  int64_t token_uri_length = 0;
  std::string token_uri_sha256;  // set when token_uri was cut
  std::string status;
  std::string reason;
  std::string detail;
  std::string updated_at;  // RFC 3339
};

struct TokenPage {
  std::vector<TokenSummaryView> tokens;
  int64_t next_after_id = 0;  // 0: this was the last page
};

// What GetStats reports. Token counts honour the chain filter; resources and
// pins are shared across chains and counted in full.
struct FunnelStats {
  int64_t indexed = 0;
  int64_t metadata_fetched = 0;  // extracted or archived
  int64_t archived = 0;
  int64_t partial = 0;  // some assets pinned, some failed (rollup.cc)
  int64_t failed = 0;
  std::vector<std::pair<std::string, int64_t>> failures;   // most first
  std::vector<std::pair<std::string, int64_t>> resources;  // by status
  std::vector<std::pair<std::string, int64_t>> pins;       // by status
  std::string computed_at;                                 // RFC 3339
};

}  // namespace niftysave::tracker
