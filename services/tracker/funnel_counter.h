#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/tracker/funnel_recount.h"
#include "services/tracker/tracker_model.h"

namespace niftysave::tracker {

// GetStats for one chain filter (0: every chain) from a whole-funnel count.
FunnelStats StatsFor(const FunnelCounts& counts, uint64_t chain_id);

// The funnel gauges' records: tokens of every chain summed by status and
// reason, then resources and pins; ordered by record (tokens, resources,
// pins), status, reason.
std::vector<StatusCount> RecordCounts(const FunnelCounts& counts);

// The one count of the funnel that the gauges, GetStats (every chain filter)
// and WatchProgress share. A count reads the tokens, resources and pins
// tables whole: 322 ms at 200,000 tokens, minutes at 100 million. So it
// runs at most once per `interval` and, after a count that took d, not again
// before d * (1 - share) / share has passed (FunnelRecount: at most 2% of
// the time, however many callers, streams and chain filters there are).
//
// Get returns the latest count, counting first when it is due: the caller
// that finds it due counts while the others wait for its result (the mutex
// is held across the query on purpose), so a thousand callers cost one
// scan. A failed count is also spaced by `interval`; until the next one,
// callers get the last good count, or the failure when there is none yet.
// The count's own time is in FunnelCounts::computed_at. Thread-safe.
class FunnelCounter {
 public:
  using Count = std::function<absl::StatusOr<FunnelCounts>()>;
  using Clock = std::function<absl::Time()>;

  FunnelCounter(Count count, absl::Duration interval, Clock now = &absl::Now,
                double share = 0.02);

  absl::StatusOr<std::shared_ptr<const FunnelCounts>> Get();

  // How long the last count (good or failed) took; zero before the first.
  absl::Duration last_count() const;

 private:
  const Count count_;
  const Clock now_;
  mutable absl::Mutex mu_;
  FunnelRecount recount_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const FunnelCounts> latest_ ABSL_GUARDED_BY(mu_);
  absl::Status last_error_ ABSL_GUARDED_BY(mu_) =
      absl::UnavailableError("the funnel has not been counted yet");
};

}  // namespace niftysave::tracker
