#include "services/tracker/tracker_metrics.h"

#include <utility>

namespace niftysave::tracker {

TrackerMetrics::TrackerMetrics(Metrics& metrics)
    : requests_(metrics.Counter(
          "status_requests_total",
          "Pin status requests, by backend and outcome (ok or the reason)")),
      checks_(metrics.Counter("pin_checks_total",
                              "Pin status checks, by backend and state")),
      repins_(metrics.Counter(
          "repins_total",
          "Failed pins: re-pinned (requested), refused (reason) or exhausted")),
      deferred_(metrics.Counter(
          "status_deferred_total",
          "Pins not checked when due because the request budget was spent")),
      records_(metrics.Gauge("records",
                             "Records by kind, status and failure reason")),
      recount_seconds_(
          metrics
              .Gauge("records_recount_seconds",
                     "How long the last recount of the records gauges took")
              .Add({})) {}

PinTrackerObserver TrackerMetrics::PinTracker() const {
  // prometheus-cpp families are thread-safe; Add() returns the same child
  // for the same labels.
  auto counter = [](prometheus::Family<prometheus::Counter>* family,
                    const char* label) {
    return
        [family, label](const std::string& backend, const std::string& value) {
          family->Add({{"backend", backend}, {label, value}}).Increment();
        };
  };
  auto* deferred = &deferred_;
  return {.status_request = counter(&requests_, "outcome"),
          .pin_checked = counter(&checks_, "state"),
          .repin = counter(&repins_, "outcome"),
          .deferred = [deferred](const std::string& backend, int pins) {
            deferred->Add({{"backend", backend}}).Increment(pins);
          }};
}

void TrackerMetrics::SetRecords(const std::vector<StatusCount>& counts) {
  std::set<std::map<std::string, std::string>> seen;
  for (const StatusCount& c : counts) {
    std::map<std::string, std::string> labels = {
        {"record", c.record}, {"status", c.status}, {"reason", c.reason}};
    records_.Add(labels).Set(static_cast<double>(c.count));
    seen.insert(std::move(labels));
  }
  for (const auto& labels : exported_) {
    if (!seen.contains(labels)) records_.Add(labels).Set(0);
  }
  exported_.insert(seen.begin(), seen.end());
}

}  // namespace niftysave::tracker
