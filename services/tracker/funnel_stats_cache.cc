#include "services/tracker/funnel_stats_cache.h"

#include <utility>

namespace niftysave::tracker {

FunnelStatsCache::FunnelStatsCache(Compute compute, absl::Duration ttl,
                                   Clock now)
    : compute_(std::move(compute)), ttl_(ttl), now_(std::move(now)) {}

absl::StatusOr<FunnelStats> FunnelStatsCache::Get(uint64_t chain_id) {
  absl::MutexLock lock(&mu_);
  auto it = cache_.find(chain_id);
  const absl::Time now = now_();
  if (it != cache_.end() && now - it->second.computed < ttl_)
    return it->second.stats;
  absl::StatusOr<FunnelStats> stats = compute_(chain_id);
  if (!stats.ok()) return stats;
  // Bounded: one entry per chain filter asked for recently.
  if (cache_.size() >= kMaxEntries) cache_.clear();
  cache_[chain_id] = {now, *stats};
  return stats;
}

}  // namespace niftysave::tracker
