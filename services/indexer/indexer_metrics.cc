#include "services/indexer/indexer_metrics.h"

namespace niftysave::indexer {

IndexerMetrics::IndexerMetrics(Metrics& m)
    : head_(m.Gauge("head_block", "Latest block number the RPC node reported")
                .Add({})),
      indexed_(m.Gauge("indexed_block", "Last block fully indexed").Add({})),
      lag_(
          m.Gauge("lag_blocks", "Blocks between the head and the indexed block")
              .Add({})),
      logs_(
          m.Counter("logs_total", "Transfer logs read from the chain").Add({})),
      tokens_(
          m.Counter("tokens_minted_total", "ERC-721 mints recorded").Add({})),
      bad_logs_(
          m.Counter("bad_logs_total", "Malformed logs skipped, by reason")),
      notify_ok_(m.Counter("notifications_total",
                           "Extractor notifications, by outcome")
                     .Add({{"outcome", "ok"}})),
      notify_failed_(m.Counter("notifications_total",
                               "Extractor notifications, by outcome")
                         .Add({{"outcome", "failed"}})),
      step_failures_(m.Counter("step_failures_total",
                               "Indexing steps that failed and will be retried")
                         .Add({})) {}

IndexerCounters IndexerMetrics::Counters() {
  IndexerCounters c;
  c.logs_seen = [this](uint64_t n) { logs_.Increment(static_cast<double>(n)); };
  c.tokens_minted = [this](uint64_t n) {
    tokens_.Increment(static_cast<double>(n));
  };
  c.bad_log = [this](const std::string& reason) {
    bad_logs_.Add({{"reason", reason}}).Increment();
  };
  c.progress = [this](uint64_t head, uint64_t indexed) {
    head_.Set(static_cast<double>(head));
    indexed_.Set(static_cast<double>(indexed));
    lag_.Set(head > indexed ? static_cast<double>(head - indexed) : 0);
  };
  return c;
}

void IndexerMetrics::Notified(bool ok) {
  (ok ? notify_ok_ : notify_failed_).Increment();
}

}  // namespace niftysave::indexer
