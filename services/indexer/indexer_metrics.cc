#include "services/indexer/indexer_metrics.h"

namespace niftysave::indexer {

IndexerMetrics::IndexerMetrics(Metrics& m)
    : head_(m.Gauge("head_block", "Latest block number the RPC node reported")
                .Add({})),
      indexed_(m.Gauge("indexed_block", "Last block fully indexed").Add({})),
      lag_(
          m.Gauge("lag_blocks", "Blocks between the head and the indexed block")
              .Add({})),
      logs_(m.Counter("logs_total", "Logs read from the chain").Add({})),
      tokens_(m.Counter("tokens_minted_total", "New tokens recorded").Add({})),
      tokens_by_standard_(m.Counter("tokens_minted_by_standard_total",
                                    "New tokens recorded, by standard")),
      bad_logs_(
          m.Counter("bad_logs_total", "Malformed logs skipped, by reason")),
      reorgs_(m.Counter("reorgs_total",
                        "Reorgs rolled back, by depth bucket (beyond_window: "
                        "refused, indexing stopped)")),
      errors_(m.Counter("errors_recorded_total",
                        "Entries written to indexer_errors, by reason")),
      rpc_requests_(m.Counter("rpc_requests_total",
                              "JSON-RPC HTTP requests, by method and outcome")),
      rpc_duration_(m.Histogram("rpc_request_duration_seconds",
                                "JSON-RPC HTTP request latency, by method")),
      notify_ok_(m.Counter("notifications_total",
                           "Extractor notifications, by outcome")
                     .Add({{"outcome", "ok"}})),
      notify_failed_(m.Counter("notifications_total",
                               "Extractor notifications, by outcome")
                         .Add({{"outcome", "failed"}})),
      step_failures_(m.Counter("step_failures_total",
                               "Indexing steps that failed and will be retried")
                         .Add({})),
      uri_reads_(m.Counter("uri_reads_total",
                           "Token URI reads, by outcome (uri, failed: the "
                           "contract's own failure; node_error: retried; "
                           "stale: lease lost, nothing written)")),
      uri_pending_(m.Gauge("uri_reads_pending",
                           "Tokens waiting for their URI read (capped count)")
                       .Add({{"state", "ready"}})),
      uri_dead_(m.Gauge("uri_reads_pending",
                        "Tokens waiting for their URI read (capped count)")
                    .Add({{"state", "dead"}})),
      uri_changes_(m.Counter("uri_changes_total",
                             "Stored tokens found with a new URI and sent "
                             "back through extraction, by source")) {
  for (const char* outcome : {"uri", "failed", "node_error", "stale"}) {
    uri_reads_.Add({{"outcome", outcome}});
  }
  uri_changes_.Add({{"source", "subgraph"}});
  // Every bucket present from the start, so a dashboard's rate() has a
  // series to work on before the first reorg.
  for (const char* depth : {"1", "2-5", "6-20", "21+", "beyond_window"}) {
    reorgs_.Add({{"depth", depth}});
  }
  for (const char* standard : {"erc721", "erc1155"}) {
    tokens_by_standard_.Add({{"standard", standard}});
  }
}

IndexerCounters IndexerMetrics::Counters() {
  IndexerCounters c;
  c.logs_seen = [this](uint64_t n) { logs_.Increment(static_cast<double>(n)); };
  c.tokens_minted = [this](const std::string& standard, uint64_t n) {
    tokens_.Increment(static_cast<double>(n));
    tokens_by_standard_.Add({{"standard", standard}})
        .Increment(static_cast<double>(n));
  };
  c.bad_log = [this](const std::string& reason) {
    bad_logs_.Add({{"reason", reason}}).Increment();
  };
  c.progress = [this](uint64_t head, uint64_t indexed) {
    head_.Set(static_cast<double>(head));
    indexed_.Set(static_cast<double>(indexed));
    lag_.Set(head > indexed ? static_cast<double>(head - indexed) : 0);
  };
  c.reorg = [this](const std::string& depth) {
    reorgs_.Add({{"depth", depth}}).Increment();
  };
  c.error_recorded = [this](const std::string& reason) {
    errors_.Add({{"reason", reason}}).Increment();
  };
  return c;
}

UriReaderCounters IndexerMetrics::UriCounters() {
  UriReaderCounters c;
  c.reads = [this](const std::string& outcome, uint64_t n) {
    uri_reads_.Add({{"outcome", outcome}}).Increment(static_cast<double>(n));
  };
  return c;
}

SubgraphSource::Counters IndexerMetrics::SubgraphCounters() {
  IndexerCounters counters = Counters();
  return {
      .request =
          [this](const std::string& outcome, absl::Duration d) {
            RpcRequest("subgraph_tokens", outcome, d);
          },
      .tokens = [counters](uint64_t n) { counters.tokens_minted("erc721", n); },
      .bad_row =
          [counters](const std::string& r) { counters.error_recorded(r); },
      .uri_changed = [this](uint64_t n) { UriChanged("subgraph", n); }};
}

void IndexerMetrics::UriReadsPending(int64_t ready, int64_t dead) {
  uri_pending_.Set(static_cast<double>(ready));
  uri_dead_.Set(static_cast<double>(dead));
}

void IndexerMetrics::UriChanged(const std::string& source, uint64_t n) {
  uri_changes_.Add({{"source", source}}).Increment(static_cast<double>(n));
}

void IndexerMetrics::Notified(bool ok) {
  (ok ? notify_ok_ : notify_failed_).Increment();
}

void IndexerMetrics::RpcRequest(const std::string& method,
                                const std::string& outcome,
                                absl::Duration took) {
  rpc_requests_.Add({{"method", method}, {"outcome", outcome}}).Increment();
  rpc_duration_.Add({{"method", method}}, Metrics::LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(took));
}

}  // namespace niftysave::indexer
