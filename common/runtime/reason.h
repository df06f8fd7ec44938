#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace niftysave {

// Failures carry a stable machine reason (uri_invalid, timeout, too_large,
// http_4xx, blocked_address, ...) as a Status payload, so it survives being
// passed up through layers and lands in the record's `reason` column and in
// metric labels, while the message stays free text for humans.
absl::Status WithReason(absl::Status status, absl::string_view reason);
absl::Status ErrorWithReason(absl::StatusCode code, absl::string_view reason,
                             absl::string_view detail);

// The reason attached to `status`, or one derived from its code
// ("timeout", "unavailable", "internal", ...) when none was attached.
std::string ReasonOf(const absl::Status& status);

// A server's "not before" (HTTP 429/503 Retry-After), carried as a second
// payload next to the reason so the caller that reschedules the work can
// honour it. Whole seconds; negative delays are stored as 0.
absl::Status WithRetryAfter(absl::Status status, absl::Duration delay);
// The delay attached by WithRetryAfter, if any.
std::optional<absl::Duration> RetryAfterOf(const absl::Status& status);

}  // namespace niftysave
