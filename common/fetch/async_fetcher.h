#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/fetch/content_fetcher.h"
#include "common/http/multi_client.h"
#include "common/uri/token_uri.h"

namespace niftysave::fetch {

// The verdict over every IPFS gateway's failure, as ContentFetcher
// documents it: too_large at once; http_4xx / cid_mismatch when every
// gateway gave a permanent answer; otherwise gateway_timeout, rate_limited
// (with the earliest Retry-After) or gateway_unavailable. Fed one failure
// per gateway, in order.
class GatewayFailures {
 public:
  void Add(const std::string& gateway, const absl::Status& failure);
  absl::Status Verdict(const std::string& path) const;

 private:
  std::vector<std::string> failures_;
  int gone_ = 0, mismatch_ = 0, timeout_ = 0, limited_ = 0, down_ = 0;
  bool not_found_ = false;
  std::optional<absl::Duration> retry_after_;
};

// ContentFetcher::Fetch on top of MultiClient: same resolution, gateway
// failover, raw-CID verification and reasons, without a thread per fetch.
// `done` runs on a MultiClient thread (or at once for data: URIs and
// invalid ones): keep it quick.
class AsyncFetcher {
 public:
  using Callback = std::function<void(absl::StatusOr<FetchedContent>)>;

  AsyncFetcher(http::MultiClient& user_http, http::MultiClient& gateway_http,
               FetcherOptions options);

  void Fetch(const uri::ResolvedUri& uri, Callback done) const;

  const FetcherOptions& options() const { return options_; }

 private:
  struct GatewayAttempt;
  void Get(http::MultiClient& http, const std::string& url,
           Callback done) const;
  void TryGateway(std::shared_ptr<GatewayAttempt> attempt) const;

  http::MultiClient& user_http_;
  http::MultiClient& gateway_http_;
  const FetcherOptions options_;
};

}  // namespace niftysave::fetch
