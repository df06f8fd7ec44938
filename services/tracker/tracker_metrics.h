#pragma once

#include "common/metrics/metrics.h"
#include "services/tracker/pin_tracker.h"

namespace niftysave::tracker {

// The pin tracker's counters, all labelled by backend:
//   status_requests_total{outcome}  each StatusMany request: ok or a reason
//   pin_checks_total{state}         each pin checked: queued, pinning,
//                                   pinned, failed, missing
//   repins_total{outcome}           each failed pin: requested, a refusal's
//                                   reason, or exhausted
//   status_deferred_total           pins put off because the budget was spent
PinTrackerObserver PinTrackerMetrics(Metrics& metrics);

}  // namespace niftysave::tracker
