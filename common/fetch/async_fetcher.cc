#include "common/fetch/async_fetcher.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/runtime/reason.h"

namespace niftysave::fetch {
namespace {

enum class GatewayVerdict { kGone, kMismatch, kTimeout, kRateLimited, kDown };

GatewayVerdict Classify(const absl::Status& status) {
  const std::string reason = ReasonOf(status);
  if (reason == "cid_mismatch") return GatewayVerdict::kMismatch;
  if (reason == "rate_limited") return GatewayVerdict::kRateLimited;
  if (reason == "timeout" ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    return GatewayVerdict::kTimeout;
  }
  // A gateway that gave up looking (504) is as good as a timeout.
  if (reason == "http_5xx" &&
      absl::StrContains(absl::string_view(status.message()), "HTTP 504 ")) {
    return GatewayVerdict::kTimeout;
  }
  if (reason == "http_4xx") return GatewayVerdict::kGone;
  return GatewayVerdict::kDown;
}

}  // namespace

void GatewayFailures::Add(const std::string& gateway,
                          const absl::Status& failure) {
  failures_.push_back(absl::StrCat(gateway, ": ", ReasonOf(failure), " (",
                                   failure.message(), ")"));
  switch (Classify(failure)) {
    case GatewayVerdict::kGone:
      ++gone_;
      not_found_ |= failure.code() == absl::StatusCode::kNotFound;
      break;
    case GatewayVerdict::kMismatch:
      ++mismatch_;
      break;
    case GatewayVerdict::kTimeout:
      ++timeout_;
      break;
    case GatewayVerdict::kRateLimited:
      ++limited_;
      if (std::optional<absl::Duration> d = RetryAfterOf(failure)) {
        retry_after_ = retry_after_ ? std::min(*retry_after_, *d) : *d;
      }
      break;
    case GatewayVerdict::kDown:
      ++down_;
      break;
  }
}

absl::Status GatewayFailures::Verdict(const std::string& path) const {
  const std::string detail =
      absl::StrCat("every IPFS gateway failed for ", path, ": ",
                   absl::StrJoin(failures_, "; "));
  if (timeout_ + limited_ + down_ == 0) {
    if (gone_ == 0) {
      return ErrorWithReason(absl::StatusCode::kDataLoss, "cid_mismatch",
                             detail);
    }
    return ErrorWithReason(not_found_ ? absl::StatusCode::kNotFound
                                      : absl::StatusCode::kFailedPrecondition,
                           "http_4xx", detail);
  }
  if (timeout_ > 0) {
    return ErrorWithReason(absl::StatusCode::kDeadlineExceeded,
                           "gateway_timeout", detail);
  }
  const bool only_limited = down_ == 0;
  absl::Status s = ErrorWithReason(
      absl::StatusCode::kUnavailable,
      only_limited ? "rate_limited" : "gateway_unavailable", detail);
  // A rate-limited gateway that works again after its delay is still the
  // best bet among broken ones.
  return retry_after_ ? WithRetryAfter(s, *retry_after_) : s;
}

struct AsyncFetcher::GatewayAttempt {
  std::string path;
  std::string cid;
  bool verifiable = false;
  size_t next = 0;
  GatewayFailures failures;
  Callback done;
};

AsyncFetcher::AsyncFetcher(http::MultiClient& user_http,
                           http::MultiClient& gateway_http,
                           FetcherOptions options)
    : user_http_(user_http),
      gateway_http_(gateway_http),
      options_(std::move(options)) {}

void AsyncFetcher::Get(http::MultiClient& http, const std::string& url,
                       Callback done) const {
  http::HttpLimits limits = http.options().http.limits;
  limits.max_body_bytes = options_.max_bytes;
  http.Fetch(
      http::HttpRequest{.url = url, .limits = limits},
      [done = std::move(done)](absl::StatusOr<http::HttpResponse> response) {
        if (!response.ok()) return done(response.status());
        done(FetchedContent{std::move(response->body),
                            std::move(response->content_type),
                            std::move(response->effective_url)});
      });
}

void AsyncFetcher::TryGateway(std::shared_ptr<GatewayAttempt> attempt) const {
  if (attempt->next >= options_.ipfs_gateways.size()) {
    return attempt->done(attempt->failures.Verdict(attempt->path));
  }
  const std::string& gateway = options_.ipfs_gateways[attempt->next++];
  Get(gateway_http_, gateway + attempt->path,
      [this, attempt, gateway](absl::StatusOr<FetchedContent> content) {
        if (content.ok() && attempt->verifiable) {
          absl::Status verified =
              VerifyAgainstCid(attempt->cid, content->bytes);
          if (verified.ok()) {
            content->verified = true;
          } else if (ReasonOf(verified) == "cid_mismatch") {
            content = verified;  // that gateway lies or is broken: next one
          }
          // Anything else: not checkable after all; accept as fetched.
        }
        if (content.ok()) return attempt->done(std::move(content));
        // A verdict on the size holds on every gateway.
        if (ReasonOf(content.status()) == "too_large") {
          return attempt->done(content.status());
        }
        attempt->failures.Add(gateway, content.status());
        TryGateway(attempt);
      });
}

void AsyncFetcher::Fetch(const uri::ResolvedUri& uri, Callback done) const {
  auto from_gateways = [&](std::string path, std::string cid, bool verifiable) {
    if (options_.ipfs_gateways.empty()) {
      return done(ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                                  "no_gateway", "no IPFS gateway configured"));
    }
    auto attempt = std::make_shared<GatewayAttempt>();
    attempt->path = std::move(path);
    attempt->cid = std::move(cid);
    attempt->verifiable = verifiable;
    attempt->done = std::move(done);
    TryGateway(std::move(attempt));
  };
  switch (uri.kind) {
    case uri::UriKind::kData: {
      absl::StatusOr<uri::DataUri> data =
          uri::DecodeDataUri(uri.normalized, options_.max_bytes);
      if (!data.ok()) {
        const bool big =
            data.status().code() == absl::StatusCode::kResourceExhausted;
        return done(
            WithReason(data.status(), big ? "too_large" : "uri_invalid"));
      }
      return done(
          FetchedContent{std::move(data->bytes), data->media_type, "data:"});
    }
    case uri::UriKind::kIpfs:
      // A path names a file inside a directory DAG: only a bare CID's bytes
      // can be checked against it.
      return from_gateways(absl::StrCat("/ipfs/", uri.cid, uri.path), uri.cid,
                           uri.path.empty());
    case uri::UriKind::kIpns:
      return from_gateways(absl::StrCat("/ipns/", uri.name, uri.path), "",
                           false);
    case uri::UriKind::kArweave:
      return Get(
          gateway_http_,
          absl::StrCat(options_.arweave_gateway, "/", uri.name, uri.path),
          std::move(done));
    case uri::UriKind::kHttp:
      return Get(user_http_, uri.normalized, std::move(done));
    case uri::UriKind::kInvalid:
      break;
  }
  done(ErrorWithReason(absl::StatusCode::kInvalidArgument, "uri_invalid",
                       uri.detail.empty() ? "invalid URI" : uri.detail));
}

}  // namespace niftysave::fetch
