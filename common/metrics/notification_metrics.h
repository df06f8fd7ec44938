#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/metrics/metrics.h"

namespace niftysave {

// What a service exports about its hand-offs to the next one through a
// CoalescingNotifier (its Observer's two callbacks):
//   niftysave_<service>_notifications_total{outcome=ok|failed}   calls made
//   niftysave_<service>_notification_ids_dropped_total          ids dropped
//       while too many waited (the peer finds them by polling its queue)
// Valid while `metrics` lives.
class NotificationMetrics {
 public:
  // `peer`: the service handed to, for the help texts ("pinner").
  NotificationMetrics(Metrics& metrics, const std::string& peer)
      : calls_(
            metrics.Counter("notifications_total",
                            "Hand-off calls to the " + peer + ", by outcome")),
        dropped_(metrics
                     .Counter("notification_ids_dropped_total",
                              "Ids not handed to the " + peer +
                                  " (it polls for them): too many were "
                                  "waiting")
                     .Add({})) {}

  std::function<void(bool ok)> Call() {
    return [this](bool ok) {
      calls_.Add({{"outcome", ok ? "ok" : "failed"}}).Increment();
    };
  }
  std::function<void(int64_t n)> Dropped() {
    return [this](int64_t n) { dropped_.Increment(static_cast<double>(n)); };
  }

 private:
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Counter& dropped_;
};

}  // namespace niftysave
