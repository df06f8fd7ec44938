#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/eth/token_key.h"
#include "common/metrics/metrics.h"
#include "services/indexer/chain_indexer.h"
#include "services/indexer/indexer_model.h"
#include "services/indexer/subgraph_source.h"
#include "services/indexer/uri_reader.h"

namespace niftysave::indexer {

// niftysave_indexer_* metrics.
class IndexerMetrics {
 public:
  explicit IndexerMetrics(Metrics& metrics);
  IndexerCounters Counters();
  UriReaderCounters UriCounters();
  // --source=subgraph: its requests, tokens, bad rows and re-scan changes.
  SubgraphSource::Counters SubgraphCounters();
  // The chain's URI-read queue: waiting, and given up on.
  void UriReadsPending(int64_t ready, int64_t dead);
  // The same, when the depth could be read.
  void UriReadsPending(const absl::StatusOr<QueueDepth>& depth) {
    if (depth.ok()) UriReadsPending(depth->ready, depth->dead);
  }
  // Stored tokens found with a new URI, by source (subgraph re-scan).
  void UriChanged(const std::string& source, uint64_t n);
  void Notified(bool ok);
  // An on_tokens callback that notifies through `notifier` (its Notify
  // says whether the peer was reached) and counts the outcome.
  template <typename Notifier>
  std::function<void(const std::vector<eth::TokenKey>&)> Notifying(
      const Notifier& notifier) {
    return [this, &notifier](const std::vector<eth::TokenKey>& keys) {
      Notified(notifier.Notify(keys));
    };
  }
  void StepFailed() { step_failures_.Increment(); }
  // For JsonRpcOptions::observe: one HTTP request to the node.
  void RpcRequest(const std::string& method, const std::string& outcome,
                  absl::Duration took);
  // RpcRequest as a JsonRpcOptions::observe callback.
  std::function<void(const std::string&, const std::string&, absl::Duration)>
  RpcObserver() {
    return [this](const std::string& method, const std::string& outcome,
                  absl::Duration took) { RpcRequest(method, outcome, took); };
  }

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
