#include "services/tracker/funnel_counter.h"

#include <map>
#include <utility>

#include "services/tracker/token_query.h"

namespace niftysave::tracker {

FunnelStats StatsFor(const FunnelCounts& counts, uint64_t chain_id) {
  FunnelStats stats;
  std::map<std::string, int64_t> failures;
  for (const ChainStatusCount& c : counts.tokens) {
    if (chain_id != 0 && c.chain_id != chain_id) continue;
    stats.indexed += c.count;
    if (c.status == "extracted" || c.status == "partial" ||
        c.status == "archived") {
      stats.metadata_fetched += c.count;
    }
    if (c.status == "archived") stats.archived += c.count;
    if (c.status == "partial") stats.partial += c.count;
    if (c.status == "failed") {
      stats.failed += c.count;
      failures[c.reason] += c.count;
    }
  }
  stats.failures = MostFirst(failures);
  // Resources and pins are shared by content across chains: in full, by
  // status.
  std::map<std::string, int64_t> resources, pins;
  for (const StatusCount& c : counts.shared) {
    if (c.record == "resources") resources[c.status] += c.count;
    if (c.record == "pins") pins[c.status] += c.count;
  }
  stats.resources.assign(resources.begin(), resources.end());
  stats.pins.assign(pins.begin(), pins.end());
  stats.computed_at = counts.computed_at;
  return stats;
}

std::vector<StatusCount> RecordCounts(const FunnelCounts& counts) {
  std::map<std::pair<std::string, std::string>, int64_t> tokens;
  for (const ChainStatusCount& c : counts.tokens)
    tokens[{c.status, c.reason}] += c.count;
  std::vector<StatusCount> out;
  for (const auto& [key, n] : tokens)
    out.push_back({"tokens", key.first, key.second, n});
  for (const char* record : {"resources", "pins"}) {
    std::map<std::pair<std::string, std::string>, int64_t> by;
    for (const StatusCount& c : counts.shared)
      if (c.record == record) by[{c.status, c.reason}] += c.count;
    for (const auto& [key, n] : by)
      out.push_back({record, key.first, key.second, n});
  }
  return out;
}

FunnelCounter::FunnelCounter(Count count, absl::Duration interval, Clock now,
                             double share)
    : count_(std::move(count)),
      now_(std::move(now)),
      recount_(interval, share) {}

absl::StatusOr<std::shared_ptr<const FunnelCounts>> FunnelCounter::Get() {
  absl::MutexLock lock(&mu_);
  const absl::Time start = now_();
  if (recount_.Due(start)) {
    absl::StatusOr<FunnelCounts> counts = count_();
    recount_.Ran(start, now_());
    if (counts.ok()) {
      latest_ = std::make_shared<const FunnelCounts>(*std::move(counts));
    } else {
      last_error_ = counts.status();
    }
  }
  if (latest_ == nullptr) return last_error_;
  return latest_;
}

absl::Duration FunnelCounter::last_count() const {
  absl::MutexLock lock(&mu_);
  return recount_.last();
}

}  // namespace niftysave::tracker
