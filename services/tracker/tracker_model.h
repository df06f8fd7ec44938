#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/eth/token_key.h"

// The values the tracker's logic, repository and gRPC adapter exchange: no
// database or RPC types.

namespace niftysave::tracker {

// A pin the 'track' queue leased, as the pin tracker checks it.
struct PinToCheck {
  int64_t id = 0;
  std::string cid;
  std::string backend;
  std::string status;
  int repins = 0;        // new pin requests made after failures
  int recheck_step = 0;  // checks since the last change of schedule
};

// Records by status (and failures by reason), for the funnel gauges and
// `niftysave summary`.
struct StatusCount {
  std::string record;  // tokens, resources, pins
  std::string status;
  std::string reason;  // "" unless failed
  int64_t count = 0;
};

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
  // Its bytes matched the SHA-256 the token committed to on chain.
  bool verified = false;
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
  bool metadata_verified = false;  // as AssetView::verified
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

// One chain's tokens in one status (and reason), for FunnelCounts.
struct ChainStatusCount {
  uint64_t chain_id = 0;
  std::string status;
  std::string reason;  // "" unless failed or partial
  int64_t count = 0;
};

// The whole funnel counted at one moment, in one statement: tokens by chain,
// status and reason; resources and pins by status and reason. Every chain
// filter of GetStats and the funnel gauges are derived from it
// (funnel_counter.h).
struct FunnelCounts {
  std::vector<ChainStatusCount> tokens;
  std::vector<StatusCount> shared;  // record "resources" and "pins"
  std::string computed_at;          // RFC 3339, Postgres's now()
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

// A validated ListTokens request. Pages are keyset pages on tokens.id: the
// next page starts after the last id returned, so a page costs the same
// however deep it is and concurrent inserts never shift it.
struct TokenListQuery {
  uint64_t chain_id = 0;
  std::string contract;  // 40 lower-case hex digits, or "" for any
  std::string status;    // queued, extracted, archived, failed, or "" for any
  int limit = 100;
  int64_t after_id = 0;  // 0: first page
};

// One row of the repository's token report query (one per resource and pin
// of the token), decoded; AssembleTokenReport (token_query.h) builds the
// report from them.
struct TokenReportRow {
  // The token (the same in every row).
  std::string token_uri;
  std::string status;
  std::string reason;
  std::string detail;
  std::string owner;
  uint64_t mint_block = 0;
  // The resource, unless the token has none.
  bool has_resource = false;
  std::string json_path;
  std::string role;         // metadata or asset
  bool verified = false;    // the link's token_resources.verified
  ResourceView resource{};  // without pins
  // The pin, unless the resource has none.
  std::optional<PinView> pin{};
};

// One contract's tokens by status, and the failures by reason.
struct ContractStatus {
  uint64_t chain_id = 0;
  std::string contract;  // 40 lower-case hex digits, no 0x
  std::string standard;  // erc721, erc1155
  std::string name;
  std::string symbol;
  int64_t indexed = 0;  // every token: the sum of the five below
  int64_t queued = 0;
  int64_t extracted = 0;
  int64_t archived = 0;
  int64_t partial = 0;
  int64_t failed = 0;
  // Failed tokens, and partial tokens, by reason: most first, then by name.
  std::vector<std::pair<std::string, int64_t>> failures;
  std::vector<std::pair<std::string, int64_t>> partial_failures;
  std::string computed_at;  // RFC 3339, the database's clock

  int64_t in_progress() const { return queued + extracted; }
};

// The contract of a request from outside (see ParseContractRef).
struct ContractRef {
  uint64_t chain_id = 0;
  std::string contract;  // 40 lower-case hex digits, no 0x
};

}  // namespace niftysave::tracker
