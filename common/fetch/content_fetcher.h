#pragma once

#include <string>
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
};

// One way to get the bytes behind any resolved URI. User-named hosts go
// through `user_http` (its AddressPolicy refuses internal addresses on every
// hop); the operator's gateways through `gateway_http`. A gateway that fails
// (timeout, 5xx, 429) is skipped for the next; a 404 from every gateway is
// `http_4xx`.
class ContentFetcher {
 public:
  ContentFetcher(const http::HttpClient& user_http,
                 const http::HttpClient& gateway_http, FetcherOptions options);

  absl::StatusOr<FetchedContent> Fetch(const uri::ResolvedUri& uri) const;

  const FetcherOptions& options() const { return options_; }

 private:
  absl::StatusOr<FetchedContent> Get(const http::HttpClient& http,
                                     const std::string& url) const;
  absl::StatusOr<FetchedContent> FromGateways(const std::string& path) const;

  const http::HttpClient& user_http_;
  const http::HttpClient& gateway_http_;
  const FetcherOptions options_;
};

}  // namespace niftysave::fetch
