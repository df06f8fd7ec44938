#pragma once

#include "absl/time/time.h"

namespace niftysave {

struct BackoffPolicy {
  absl::Duration initial = absl::Seconds(1);
  absl::Duration max = absl::Minutes(10);
};

// The one back-off rule: exponential in the attempt number (1-based), capped,
// with "equal jitter" (a random point in the upper half) so that a batch that
// failed together does not retry together.
absl::Duration BackoffDelay(const BackoffPolicy& policy, int attempt);

}  // namespace niftysave
