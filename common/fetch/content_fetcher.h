#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http/http_client.h"
#include "common/uri/token_uri.h"

namespace niftysave::fetch {

struct FetcherOptions {
  // IPFS gateways tried in order ("http://127.0.0.1:8080"); path form
  // <gateway>/ipfs/<cid><path>.
  std::vector<std::string> ipfs_gateways;
  std::string arweave_gateway = "https://arweave.net";
  size_t max_bytes = 32 << 20;
};

struct FetchedContent {
  std::string bytes;
  std::string content_type;  // as served, or the data: URI's media type
  std::string source;        // the URL actually fetched ("data:" for inline)
  // True when the bytes were checked against the CID they were asked for.
  bool verified = false;
};

// Content streamed into a file by FetchToFile.
struct FetchedFile {
  std::string path;  // the file written; the caller removes it
  uint64_t size = 0;
  std::string content_type;
  std::string source;
  bool verified = false;
};

// One way to get the bytes behind any resolved URI. User-named hosts go
// through `user_http` (its AddressPolicy refuses internal addresses on every
// hop); the operator's gateways through `gateway_http`.
//
// IPFS content is tried on each gateway in order. Bytes fetched by a CID that
// can be checked without a UnixFS importer (codec raw with a sha2-256,
// sha2-512 or identity multihash, no path) are verified: a gateway serving
// other bytes fails with `cid_mismatch` and the next one is tried. When every
// gateway fails, the reason says why, so "content gone" and "gateways
// struggling" stay apart:
//   too_large            (at once: the verdict would be the same everywhere)
//   http_4xx             every gateway answered 4xx (NotFound if any said
//                        404/410): permanent
//   cid_mismatch         every gateway served bytes that do not match:
//   permanent gateway_timeout      at least one gateway timed out: temporary
//   rate_limited         every temporary failure was a 429: temporary, with
//                        the earliest Retry-After attached (RetryAfterOf)
//   gateway_unavailable  connection refused, DNS, TLS, 5xx...: temporary
// A mix of permanent and temporary answers is temporary (the content may be
// reachable once the struggling gateway recovers).
class ContentFetcher {
 public:
  ContentFetcher(const http::HttpClient& user_http,
                 const http::HttpClient& gateway_http, FetcherOptions options);

  absl::StatusOr<FetchedContent> Fetch(const uri::ResolvedUri& uri) const;

  // Like Fetch, but the content is streamed into the file at `path` (created
  // or truncated) and never held in memory whole: the same limits (max_bytes
  // enforced while streaming), reasons and gateway failover; a verifiable
  // CID is checked by hashing the file. On failure nothing is left at
  // `path`. A local write failure (disk full, ...) is reason `write_failed`,
  // temporary.
  absl::StatusOr<FetchedFile> FetchToFile(const uri::ResolvedUri& uri,
                                          const std::string& path) const;

  const FetcherOptions& options() const { return options_; }

 private:
  // With `file` set, the body goes there and FetchedContent::bytes is empty.
  absl::StatusOr<FetchedContent> Get(const http::HttpClient& http,
                                     const std::string& url,
                                     const std::string* file = nullptr) const;
  // `cid` is "" for IPNS names (nothing to verify against).
  absl::StatusOr<FetchedContent> FromGateways(
      const std::string& path, const std::string& cid, bool verifiable,
      const std::string* file = nullptr) const;
  absl::StatusOr<FetchedContent> Dispatch(const uri::ResolvedUri& uri,
                                          const std::string* file) const;

  const http::HttpClient& user_http_;
  const http::HttpClient& gateway_http_;
  const FetcherOptions options_;
};

// Checks `bytes` against the CIDv1/v0 text `cid`. Ok when they match; reason
// `cid_mismatch` (DataLoss) when they do not; Unimplemented when this CID
// cannot be checked from the bytes alone (dag-pb and other DAG codecs, hash
// functions other than sha2-256/sha2-512/identity).
absl::Status VerifyAgainstCid(std::string_view cid, std::string_view bytes);

// VerifyAgainstCid for the content of the file at `path`, hashed as it is
// read (never held in memory whole).
absl::Status VerifyFileAgainstCid(std::string_view cid,
                                  const std::string& path);

}  // namespace niftysave::fetch
