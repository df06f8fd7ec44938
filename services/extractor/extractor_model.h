#pragma once

// The values the extractor's logic and its repository exchange: what a
// token URI turned into (or why it did not), the tokens to extract, and how
// each leased item ended. Plain values: no database, no RPC types.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/db/queue_item.h"
#include "common/fetch/content_fetcher.h"
#include "common/uri/token_uri.h"

namespace niftysave::extractor {

struct FoundAsset {
  std::string json_path;
  std::string uri;  // as written in the metadata
  uri::ResolvedUri resolved;
  // The bytes fetched matched the token's on-chain sha256 (token_plan.h).
  bool verified = false;
};

struct FoundLink {
  std::string json_path;
  std::string role;  // "link" or "inline"
  std::string value;
};

// What one token URI turned into.
struct Extraction {
  std::string token_uri;  // as the contract returned it
  uri::ResolvedUri metadata_uri;
  fetch::FetchedContent content;
  // The parsed document re-serialised for jsonb; unset when the token URI
  // names media directly (an image, not JSON): then the metadata resource IS
  // the asset and there are no others.
  std::optional<std::string> doc_json;
  std::vector<FoundAsset> assets;
  std::vector<FoundLink> links;
  // ERC-1155 `{id}` templates: "hex" (the spec's form) or "decimal" (the
  // recorded fallback after the hex form was not found); "" without {id}.
  std::string id_form;
  // How the JSON was made parseable when a strict parse failed, in the order
  // applied: "percent_decoded", "utf8_replaced", "trailing_commas". Empty for
  // strict JSON (a BOM does not count).
  std::vector<std::string> leniency;
  // The metadata's bytes matched the token's on-chain sha256 (token_plan.h).
  bool metadata_verified = false;
};

// A failure to extract. `temporary` ones are retried with back-off.
struct ExtractionFailure {
  std::string
      reason;  // uri_invalid, http_4xx, timeout, too_large, not_json, ...
  std::string detail;
  bool temporary = false;
  // Set when the URI resolved, so the failed resource can be recorded.
  std::optional<uri::ResolvedUri> metadata_uri;
  // The server's Retry-After: a retry must not come sooner.
  std::optional<absl::Duration> retry_after;
  // Where the token links the failed resource: "" for its metadata, an
  // asset's path otherwise (a content hash mismatch: kContentPath).
  std::string json_path;
};

struct TokenToExtract {
  int64_t pk = 0;
  std::string token_id;
  std::optional<std::string> token_uri;
  // Set by a contract family's read (tokens.metadata_uri, hashes as 64 hex
  // digits); see token_plan.h.
  std::optional<std::string> metadata_uri;
  std::optional<std::string> content_sha256;
  std::optional<std::string> metadata_sha256;
};

// How one leased item ended, for a batched write.
struct ItemOutcome {
  enum class Kind { kExtracted, kFailed, kRetry, kDrop };
  db::QueueItem item;
  Kind kind = Kind::kDrop;
  std::optional<Extraction> extraction;      // kExtracted
  std::optional<ExtractionFailure> failure;  // kFailed, kRetry
  std::string token_uri;  // kFailed: the failed resource's URI as recorded
  // The worker's byte budget this item holds until written.
  int64_t reserved_bytes = 0;
};

struct SavedOutcome {
  absl::Status status;          // Aborted when the lease was lost
  std::vector<int64_t> to_pin;  // resources now queued for pinning
};

struct EnqueueCounts {
  uint32_t queued = 0;
  uint32_t unknown = 0;
};

}  // namespace niftysave::extractor
