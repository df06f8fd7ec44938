#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

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

}  // namespace niftysave
