#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/fetch/cid_verifier.h"
#include "common/http/http_client.h"
#include "common/uri/cid.h"
#include "common/uri/token_uri.h"

namespace niftysave::fetch {

class FetchMetrics;

struct FetcherOptions {
  // IPFS gateways tried in order ("http://127.0.0.1:8080"); path form
  // <gateway>/ipfs/<cid><path>.
  std::vector<std::string> ipfs_gateways;
  std::string arweave_gateway = "https://arweave.net";
  size_t max_bytes = 32 << 20;
  // An IPFS node's RPC API ("http://127.0.0.1:5001"), reached through the
  // gateway client: when set, IPNS names are resolved there (name/resolve)
  // and the content is fetched as the CID they point to, verified; when
  // empty, /ipns/ paths go to the gateways as they are.
  std::string ipfs_api_url;
  // Counts CID verifications (not owned; outlives the fetcher); may be null.
  FetchMetrics* metrics = nullptr;
};

struct FetchedContent {
  std::string bytes;
  std::string content_type;  // as served, or the data: URI's media type
  std::string source;        // the URL actually fetched ("data:" for inline)
  // True when the bytes were checked against the CID they were asked for.
  bool verified = false;
  // How: kVerified (== verified), kUnverifiable (a dag-pb CID no import
  // profile re-derives), kNotChecked (no bare CID to check against).
  CidVerification verification = CidVerification::kNotChecked;
  // An IPNS name resolved through FetcherOptions::ipfs_api_url: the CID
  // (v1 base32) it pointed to, whose content this is; "" otherwise.
  std::string resolved_cid;
  // FetchToFile's body went to its file (`bytes` is then empty).
  bool in_file = false;
};

// Content streamed into a file by FetchToFile, or kept in memory when it
// fits FetchToFile's memory_bytes.
struct FetchedFile {
  std::string path;   // the file written, the caller removes it; "" in memory
  std::string bytes;  // the content when `path` is ""
  uint64_t size = 0;
  std::string content_type;
  std::string source;
  bool verified = false;
  CidVerification verification = CidVerification::kNotChecked;
  std::string resolved_cid;
};

// One way to get the bytes behind any resolved URI. User-named hosts go
// through `user_http` (its AddressPolicy refuses internal addresses on every
// hop); the operator's gateways through `gateway_http`.
//
// IPFS content is tried on each gateway in order. Bytes fetched by a bare CID
// (no path) are checked against it (cid_verifier.h): a raw CID's bytes that
// do not match fail with `cid_mismatch` and the next gateway is tried; a
// dag-pb CID is verified by re-importing the bytes, or accepted as
// unverifiable. IPNS names go through FetcherOptions::ipfs_api_url when it
// is set (ipns_resolver.h: reasons `ipns_unresolved`, `ipns_api_unavailable`,
// `ipns_invalid`) and are then fetched as their CID. When every
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
  // temporary. Content of at most `memory_bytes` (0: none) stays in memory
  // instead: FetchedFile::bytes, no file made and `path` "" (a larger body
  // moves to the file at the first byte past it).
  absl::StatusOr<FetchedFile> FetchToFile(const uri::ResolvedUri& uri,
                                          const std::string& path,
                                          size_t memory_bytes = 0) const;

  // The block of `cid` alone (at most kMaxBlockBytes), checked against the
  // CID: from the IPFS node's API (block/get) when FetcherOptions::
  // ipfs_api_url is set, then from each gateway as a trustless raw block
  // (?format=raw). A source that serves other bytes is `cid_mismatch` and
  // the next one is tried; a gateway that does not serve raw blocks is
  // temporary (`gateway_unavailable`); the verdict is the gateways' (see
  // above). FailedPrecondition `no_gateway` when no source is configured.
  static constexpr size_t kMaxBlockBytes = size_t{2} << 20;
  absl::StatusOr<std::string> FetchBlock(const uri::Cid& cid) const;
  bool CanFetchBlocks() const {
    return !options_.ipfs_api_url.empty() || !options_.ipfs_gateways.empty();
  }

  const FetcherOptions& options() const { return options_; }

 private:
  // Where FetchToFile's body goes: the file, or memory up to memory_bytes.
  struct FileTarget {
    const std::string* path = nullptr;  // null: memory (Fetch)
    size_t memory_bytes = 0;
  };
  // With a target path, a 2xx body over its memory_bytes goes to the file
  // (FetchedContent::in_file) and FetchedContent::bytes is empty.
  absl::StatusOr<FetchedContent> Get(const http::HttpClient& http,
                                     const std::string& url,
                                     const FileTarget& file) const;
  // `cid` is "" for IPNS names (nothing to verify against).
  absl::StatusOr<FetchedContent> FromGateways(const std::string& path,
                                              const std::string& cid,
                                              bool verifiable,
                                              const FileTarget& file) const;
  absl::StatusOr<FetchedContent> Dispatch(const uri::ResolvedUri& uri,
                                          const FileTarget& file) const;

  const http::HttpClient& user_http_;
  const http::HttpClient& gateway_http_;
  const FetcherOptions options_;
};

}  // namespace niftysave::fetch
