#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/fetch/content_fetcher.h"
#include "common/fetch/gateway_verdict.h"
#include "common/http/multi_client.h"
#include "common/uri/token_uri.h"

namespace niftysave::fetch {

// ContentFetcher::Fetch on top of MultiClient: same resolution, gateway
// failover, CID verification, IPNS resolution and reasons, without a thread per
// fetch. `done` runs on a MultiClient thread (or at once for data: URIs and
// invalid ones): keep it quick.
class AsyncFetcher {
 public:
  using Callback = std::function<void(absl::StatusOr<FetchedContent>)>;
  // HttpRequest::admit_body, for every HTTP fetch of the content's bytes
  // (not for data: URIs, whose bytes are already in memory).
  using AdmitBody = std::function<bool(size_t body_bytes)>;

  AsyncFetcher(http::MultiClient& user_http, http::MultiClient& gateway_http,
               FetcherOptions options);

  void Fetch(const uri::ResolvedUri& uri, Callback done,
             AdmitBody admit_body = nullptr) const;

  const FetcherOptions& options() const { return options_; }

 private:
  struct GatewayAttempt;
  void Get(http::MultiClient& http, const std::string& url, Callback done,
           AdmitBody admit_body) const;
  void TryGateway(std::shared_ptr<GatewayAttempt> attempt) const;

  http::MultiClient& user_http_;
  http::MultiClient& gateway_http_;
  const FetcherOptions options_;
};

}  // namespace niftysave::fetch
