#pragma once

#include <string>

#include "absl/time/time.h"
#include "common/metrics/metrics.h"
#include "services/indexer/chain_indexer.h"
#include "services/indexer/uri_reader.h"

namespace niftysave::indexer {

// niftysave_indexer_* metrics.
class IndexerMetrics {
 public:
  explicit IndexerMetrics(Metrics& metrics);
  IndexerCounters Counters();
  UriReaderCounters UriCounters();
  // The chain's URI-read queue: waiting, and given up on.
  void UriReadsPending(int64_t ready, int64_t dead);
  // Stored tokens found with a new URI, by source (subgraph re-scan).
  void UriChanged(const std::string& source, uint64_t n);
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
  prometheus::Family<prometheus::Counter>& uri_reads_;
  prometheus::Gauge& uri_pending_;
  prometheus::Gauge& uri_dead_;
  prometheus::Family<prometheus::Counter>& uri_changes_;
};

}  // namespace niftysave::indexer
