#include "common/runtime/reason.h"

#include <algorithm>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace niftysave {
namespace {
constexpr char kReasonPayload[] = "type.niftysave.dev/reason";
constexpr char kRetryAfterPayload[] = "type.niftysave.dev/retry_after_seconds";
}  // namespace

absl::Status WithReason(absl::Status status, absl::string_view reason) {
  if (!status.ok()) status.SetPayload(kReasonPayload, absl::Cord(reason));
  return status;
}

absl::Status ErrorWithReason(absl::StatusCode code, absl::string_view reason,
                             absl::string_view detail) {
  return WithReason(absl::Status(code, detail), reason);
}

std::string ReasonOf(const absl::Status& status) {
  if (status.ok()) return "";
  if (auto payload = status.GetPayload(kReasonPayload)) {
    return std::string(*payload);
  }
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kResourceExhausted:
      return "too_large";
    case absl::StatusCode::kInvalidArgument:
      return "invalid";
    case absl::StatusCode::kPermissionDenied:
      return "blocked_address";
    default:
      return "internal";
  }
}

absl::Status WithRetryAfter(absl::Status status, absl::Duration delay) {
  if (status.ok()) return status;
  const int64_t seconds = std::max<int64_t>(
      0, absl::ToInt64Seconds(absl::Ceil(delay, absl::Seconds(1))));
  status.SetPayload(kRetryAfterPayload, absl::Cord(absl::StrCat(seconds)));
  return status;
}

std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  if (status.ok()) return std::nullopt;
  auto payload = status.GetPayload(kRetryAfterPayload);
  int64_t seconds = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &seconds) ||
      seconds < 0) {
    return std::nullopt;
  }
  return absl::Seconds(seconds);
}

}  // namespace niftysave
