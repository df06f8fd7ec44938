#pragma once

#include <cstdint>
#include <functional>

#include "common/fetch/fetch_metrics.h"
#include "common/metrics/metrics.h"
#include "common/metrics/notification_metrics.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "services/pinner/resource_pinner.h"

namespace niftysave::pinner {

// What the pinner exports (niftysave_pinner_*):
//   pins_total{backend,outcome,reason}   pin requests (PinObserver::finished)
//   uploaded_bytes_total                 bytes uploaded to pin backends
//   bytes_total{stage}                   downloaded, hashed, uploaded
//   upload_duration_seconds{backend}     one upload's time
//   under_replicated_total{reason}       resources left short of --replication
//   cid_verifications_total{result}      gateway answers to a bare CID
//   notifications_total{outcome}         Track calls to the tracker: ok|failed
//   notification_ids_dropped_total       hand-offs dropped while the tracker
//                                        lagged (it polls for them)
class PinnerMetrics {
 public:
  explicit PinnerMetrics(Metrics& metrics);
  PinnerMetrics(const PinnerMetrics&) = delete;
  PinnerMetrics& operator=(const PinnerMetrics&) = delete;

  // For FetcherOptions::metrics.
  fetch::FetchMetrics* fetch() { return &fetch_; }
  // Reports to these metrics; pins_requested (the tracker hand-off) is left
  // to the caller. Valid while this object lives.
  PinObserver Observer();
  // For the tracker hand-off (CoalescingNotifier::Observer): one call made,
  // and `n` ids dropped.
  std::function<void(bool ok)> NotificationCall() {
    return notifications_.Call();
  }
  std::function<void(int64_t n)> NotificationsDropped() {
    return notifications_.Dropped();
  }

 private:
  fetch::FetchMetrics fetch_;
  prometheus::Family<prometheus::Counter>& outcomes_;
  prometheus::Counter& uploaded_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Histogram>& upload_seconds_;
  prometheus::Family<prometheus::Counter>& under_replicated_;
  NotificationMetrics notifications_;
};

}  // namespace niftysave::pinner
