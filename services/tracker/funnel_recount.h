#pragma once

#include <algorithm>

#include "absl/time/time.h"

namespace niftysave::tracker {

// When the funnel gauges are recounted. The recount reads the tokens,
// resources and pins tables whole, so it costs more as the archive grows:
// 322 ms a recount at 200,000 tokens (bench/pipeline_bench.sh), minutes at
// 100 million. It is due every `interval` (--stats_seconds), but after a
// recount that took d, not again before d * (1 - share) / share has passed,
// so counting never takes more than `share` of the time (2%: a recount of
// 322 ms waits 15.8 s; one of 3 minutes waits 2.5 hours). Not thread-safe:
// FunnelCounter holds it under its mutex.
class FunnelRecount {
 public:
  explicit FunnelRecount(absl::Duration interval, double share = 0.02)
      : interval_(interval), share_(std::clamp(share, 0.001, 1.0)) {}

  bool Due(absl::Time now) const { return now >= next_; }

  // A recount ran from `start` to `end`.
  void Ran(absl::Time start, absl::Time end) {
    const absl::Duration took = std::max(absl::ZeroDuration(), end - start);
    last_ = took;
    next_ = start + std::max(interval_, took * ((1 - share_) / share_));
  }

  absl::Duration last() const { return last_; }

 private:
  const absl::Duration interval_;
  const double share_;
  absl::Time next_ = absl::InfinitePast();
  absl::Duration last_ = absl::ZeroDuration();
};

}  // namespace niftysave::tracker
