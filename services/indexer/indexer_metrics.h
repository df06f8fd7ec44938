#pragma once

#include <string>

#include "absl/time/time.h"
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
  // For JsonRpcOptions::observe: one HTTP request to the node.
  void RpcRequest(const std::string& method, const std::string& outcome,
                  absl::Duration took);

 private:
  prometheus::Gauge& head_;
  prometheus::Gauge& indexed_;
  prometheus::Gauge& lag_;
  prometheus::Counter& logs_;
  prometheus::Counter& tokens_;
  prometheus::Family<prometheus::Counter>& tokens_by_standard_;
  prometheus::Family<prometheus::Counter>& bad_logs_;
  prometheus::Family<prometheus::Counter>& reorgs_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Counter>& rpc_requests_;
  prometheus::Family<prometheus::Histogram>& rpc_duration_;
  prometheus::Counter& notify_ok_;
  prometheus::Counter& notify_failed_;
  prometheus::Counter& step_failures_;
};

}  // namespace niftysave::indexer
