#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/fetch/fetch_metrics.h"
#include "common/metrics/metrics.h"
#include "common/metrics/notification_metrics.h"
#include "services/extractor/extraction_worker.h"

namespace niftysave::extractor {

// What the extractor exports beside the common families:
//   niftysave_extractor_tokens_total{outcome,reason}
//   niftysave_extractor_notifications_total{outcome}   Enqueue calls to the
//                                                      pinner: ok|failed
//   niftysave_extractor_notification_ids_dropped_total resources not handed
//                                                      to the pinner (it polls)
//   niftysave_extractor_erc1155_id_form_total{form}
//   niftysave_extractor_cid_verifications_total{result}
//   niftysave_extractor_budget_waits_total
class ExtractorMetrics {
 public:
  explicit ExtractorMetrics(Metrics& metrics);

  // For FetcherOptions::metrics.
  fetch::FetchMetrics& fetch() { return fetch_; }

  // The worker's observer: counts outcomes, ERC-1155 `{id}` forms and
  // budget waits, and hands the resources queued for pinning to `notify`.
  ExtractionObserver Observer(
      std::function<void(const std::vector<int64_t>&)> notify);
  // For the pinner hand-off (CoalescingNotifier::Observer): one call made,
  // and resource ids dropped.
  std::function<void(bool ok)> NotificationCall() {
    return notifications_.Call();
  }
  std::function<void(int64_t n)> NotificationsDropped() {
    return notifications_.Dropped();
  }

 private:
  fetch::FetchMetrics fetch_;
  prometheus::Family<prometheus::Counter>& tokens_;
  prometheus::Family<prometheus::Counter>& id_forms_;
  prometheus::Counter& budget_waits_;
  NotificationMetrics notifications_;
};

}  // namespace niftysave::extractor
