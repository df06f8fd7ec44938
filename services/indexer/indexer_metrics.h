#pragma once

#include "common/metrics/metrics.h"
#include "services/indexer/chain_indexer.h"

namespace niftysave::indexer {

// niftysave_indexer_* metrics.
class IndexerMetrics {
 public:
  explicit IndexerMetrics(Metrics& metrics);
  IndexerCounters Counters();
  void Notified(bool ok);
  void StepFailed() { step_failures_.Increment(); }

 private:
  prometheus::Gauge& head_;
  prometheus::Gauge& indexed_;
  prometheus::Gauge& lag_;
  prometheus::Counter& logs_;
  prometheus::Counter& tokens_;
  prometheus::Family<prometheus::Counter>& bad_logs_;
  prometheus::Counter& notify_ok_;
  prometheus::Counter& notify_failed_;
  prometheus::Counter& step_failures_;
};

}  // namespace niftysave::indexer
