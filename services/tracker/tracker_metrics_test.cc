// TrackerMetrics against a real registry: the exported names, and funnel
// gauges that drop to zero when a status disappears from the recount.
#include "services/tracker/tracker_metrics.h"

#include <map>
#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

// The value of `family`{labels} in the registry; -1 when absent.
double Value(Metrics& metrics, const std::string& family,
             const std::map<std::string, std::string>& labels) {
  for (const prometheus::MetricFamily& f : metrics.registry().Collect()) {
    if (f.name != family) continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      std::map<std::string, std::string> have;
      for (const auto& l : m.label) have[l.name] = l.value;
      if (have != labels) continue;
      return f.type == prometheus::MetricType::Counter ? m.counter.value
                                                       : m.gauge.value;
    }
  }
  return -1;
}

class TrackerMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto metrics = Metrics::Start("127.0.0.1:0", "tracker");
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = std::move(*metrics);
  }
  std::unique_ptr<Metrics> metrics_;
};

TEST_F(TrackerMetricsTest, PinTrackerCountersKeepTheirNames) {
  TrackerMetrics tracker(*metrics_);
  PinTrackerObserver observer = tracker.PinTracker();
  observer.status_request("kubo", "ok");
  observer.pin_checked("kubo", "pinned");
  observer.pin_checked("kubo", "pinned");
  observer.repin("kubo", "exhausted");
  observer.deferred("kubo", 7);
  EXPECT_EQ(Value(*metrics_, "niftysave_tracker_status_requests_total",
                  {{"backend", "kubo"}, {"outcome", "ok"}}),
            1);
  EXPECT_EQ(Value(*metrics_, "niftysave_tracker_pin_checks_total",
                  {{"backend", "kubo"}, {"state", "pinned"}}),
            2);
  EXPECT_EQ(Value(*metrics_, "niftysave_tracker_repins_total",
                  {{"backend", "kubo"}, {"outcome", "exhausted"}}),
            1);
  EXPECT_EQ(Value(*metrics_, "niftysave_tracker_status_deferred_total",
                  {{"backend", "kubo"}}),
            7);
}

TEST_F(TrackerMetricsTest, AStatusGoneFromTheRecountDropsToZero) {
  TrackerMetrics tracker(*metrics_);
  tracker.SetRecords({{"tokens", "queued", "", 3},
                      {"tokens", "failed", "http_4xx", 2},
                      {"pins", "pinned", "", 5}});
  const std::map<std::string, std::string> failed = {
      {"record", "tokens"}, {"status", "failed"}, {"reason", "http_4xx"}};
  EXPECT_EQ(Value(*metrics_, "niftysave_tracker_records", failed), 2);
  tracker.SetRecords({{"tokens", "queued", "", 1}, {"pins", "pinned", "", 6}});
  EXPECT_EQ(Value(*metrics_, "niftysave_tracker_records", failed), 0);
  EXPECT_EQ(Value(*metrics_, "niftysave_tracker_records",
                  {{"record", "tokens"}, {"status", "queued"}, {"reason", ""}}),
            1);
  EXPECT_EQ(Value(*metrics_, "niftysave_tracker_records",
                  {{"record", "pins"}, {"status", "pinned"}, {"reason", ""}}),
            6);
}

}  // namespace
}  // namespace niftysave::tracker
