#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/tracker/tracker_model.h"

namespace niftysave::tracker {

// GetStats and WatchProgress count whole tables: the funnel of one chain
// filter is computed at most once per `ttl` and shared by every call and
// stream; a zero ttl computes each time. One caller computes; the others wait
// for its result (the mutex is held across the query on purpose). A failed
// computation is not kept. Thread-safe.
class FunnelStatsCache {
 public:
  using Compute = std::function<absl::StatusOr<FunnelStats>(uint64_t chain_id)>;
  using Clock = std::function<absl::Time()>;

  // Chain filters remembered at most (the cache starts over beyond it).
  static constexpr size_t kMaxEntries = 1024;

  FunnelStatsCache(Compute compute, absl::Duration ttl, Clock now = &absl::Now);

  // The funnel for `chain_id` (0: every chain), from the cache while fresh.
  absl::StatusOr<FunnelStats> Get(uint64_t chain_id);

 private:
  struct Cached {
    absl::Time computed;
    FunnelStats stats;
  };

  const Compute compute_;
  const absl::Duration ttl_;
  const Clock now_;
  absl::Mutex mu_;
  std::map<uint64_t, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace niftysave::tracker
