#include "common/runtime/backoff.h"

#include <algorithm>

#include "absl/random/random.h"

namespace niftysave {

absl::Duration BackoffDelay(const BackoffPolicy& policy, int attempt) {
  absl::Duration delay = policy.initial;
  for (int i = 1; i < attempt && delay < policy.max; ++i) delay *= 2;
  delay = std::min(delay, policy.max);
  thread_local absl::BitGen gen;
  return delay / 2 + delay / 2 * absl::Uniform(gen, 0.0, 1.0);
}

}  // namespace niftysave
