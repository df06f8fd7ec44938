#include "common/fetch/gateway_verdict.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/fetch/fetch_metrics.h"
#include "common/runtime/reason.h"

namespace niftysave::fetch {
namespace {

// How each gateway's failure counts towards the overall verdict.
enum class GatewayVerdict {
  kGone,
  kMismatch,
  kBlocked,
  kTimeout,
  kRateLimited,
  kDown
};

GatewayVerdict Classify(const absl::Status& status) {
  const std::string reason = ReasonOf(status);
  if (reason == "cid_mismatch") return GatewayVerdict::kMismatch;
  if (reason == "rate_limited") return GatewayVerdict::kRateLimited;
  // A gateway that redirected us to an address user fetches may not reach
  // (a subdomain redirect, a CID's _redirects file): the content steered
  // us there, so another try cannot end otherwise.
  if (reason == "blocked_address") return GatewayVerdict::kBlocked;
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

absl::StatusOr<CidVerification> CheckGatewayAnswer(const std::string& cid,
                                                   std::string_view bytes,
                                                   const std::string* file,
                                                   FetchMetrics* metrics) {
  absl::StatusOr<CidVerification> result = file != nullptr
                                               ? CheckFileAgainstCid(cid, *file)
                                               : CheckAgainstCid(cid, bytes);
  CidVerification counted = CidVerification::kNotChecked;
  if (result.ok()) {
    counted = *result;
  } else if (ReasonOf(result.status()) == "cid_mismatch") {
    counted = CidVerification::kMismatch;
  } else if (ReasonOf(result.status()) != "read_failed") {
    // A CID the checker cannot read: nothing proven either way.
    result = counted = CidVerification::kUnverifiable;
  }
  if (metrics != nullptr) metrics->CountVerification(counted);
  return result;
}

bool EndsFailover(const absl::Status& failure) {
  const std::string reason = ReasonOf(failure);
  return reason == "too_large" || reason == "memory_budget" ||
         reason == "write_failed" || reason == "read_failed";
}

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
    case GatewayVerdict::kBlocked:
      ++blocked_;
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
    if (blocked_ > 0) {
      return ErrorWithReason(absl::StatusCode::kPermissionDenied,
                             "blocked_address", detail);
    }
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

}  // namespace niftysave::fetch
