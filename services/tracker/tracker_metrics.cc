#include "services/tracker/tracker_metrics.h"

#include <string>

namespace niftysave::tracker {

PinTrackerObserver PinTrackerMetrics(Metrics& metrics) {
  auto* requests = &metrics.Counter(
      "status_requests_total",
      "Pin status requests, by backend and outcome (ok or the reason)");
  auto* checks = &metrics.Counter("pin_checks_total",
                                  "Pin status checks, by backend and state");
  auto* repins = &metrics.Counter(
      "repins_total",
      "Failed pins: re-pinned (requested), refused (reason) or exhausted");
  auto* deferred = &metrics.Counter(
      "status_deferred_total",
      "Pins not checked when due because the request budget was spent");
  // prometheus-cpp families are thread-safe; Add() returns the same child
  // for the same labels.
  auto counter = [](prometheus::Family<prometheus::Counter>* family,
                    const char* label) {
    return
        [family, label](const std::string& backend, const std::string& value) {
          family->Add({{"backend", backend}, {label, value}}).Increment();
        };
  };
  return {.status_request = counter(requests, "outcome"),
          .pin_checked = counter(checks, "state"),
          .repin = counter(repins, "outcome"),
          .deferred = [deferred](const std::string& backend, int pins) {
            deferred->Add({{"backend", backend}}).Increment(pins);
          }};
}

}  // namespace niftysave::tracker
