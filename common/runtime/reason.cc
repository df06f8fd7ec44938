#include "common/runtime/reason.h"

#include "absl/strings/cord.h"

namespace niftysave {
namespace {
constexpr char kReasonPayload[] = "type.niftysave.dev/reason";
}

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

}  // namespace niftysave
