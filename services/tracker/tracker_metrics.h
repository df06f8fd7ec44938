#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/metrics/metrics.h"
#include "services/tracker/pin_tracker.h"
#include "services/tracker/tracker_model.h"

namespace niftysave::tracker {

// What the tracker exports (names without the niftysave_tracker_ prefix).
// The pin tracker's counters, all labelled by backend:
//   status_requests_total{outcome}  each StatusMany request: ok or a reason
//   pin_checks_total{state}         each pin checked: queued, pinning,
//                                   pinned, failed, missing
//   repins_total{outcome}           each failed pin: requested, a refusal's
//                                   reason, or exhausted
//   status_deferred_total           pins put off because the budget was spent
// The funnel:
//   records{record,status,reason}   tokens, resources and pins by status,
//                                   failures by reason (SetRecords)
//   records_recount_seconds         how long the last recount took: it
//                                   reads whole tables, so it grows with the
//                                   archive and sets how often it runs
class TrackerMetrics {
 public:
  explicit TrackerMetrics(Metrics& metrics);

  // The pin tracker's observer, feeding the counters above.
  PinTrackerObserver PinTracker() const;

  // Sets the funnel gauges to a recount. A status whose count dropped to
  // zero is absent from the recount: it is set to 0 rather than left at its
  // last value. Called from one thread (the recount's worker).
  void SetRecords(const std::vector<StatusCount>& counts);
  void SetRecountSeconds(double seconds) { recount_seconds_.Set(seconds); }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& checks_;
  prometheus::Family<prometheus::Counter>& repins_;
  prometheus::Family<prometheus::Counter>& deferred_;
  prometheus::Family<prometheus::Gauge>& records_;
  prometheus::Gauge& recount_seconds_;
  std::set<std::map<std::string, std::string>> exported_;
};

}  // namespace niftysave::tracker
