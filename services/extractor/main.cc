// niftysave-extractor: token URI → metadata → assets.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/db/work_queue.h"
#include "common/fetch/async_fetcher.h"
#include "common/runtime/log.h"
#include "common/runtime/worker.h"
#include "common/service/queue_worker_flags.h"
#include "common/service/service_base.h"
#include "services/extractor/extraction_worker.h"
#include "services/extractor/extractor_config.h"
#include "services/extractor/extractor_grpc.h"
#include "services/extractor/extractor_metrics.h"
#include "services/extractor/pg_extractor_repository.h"

using namespace niftysave;

namespace {

// Every transfer in flight holds a socket: allow as many files as the hard
// limit does.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  SetQueueWorkerDefaults({.workers = 2,
                          .batch_size = 64,
                          .max_attempts = 6,
                          .poll = absl::Seconds(2)});
  ServiceBase base;
  InitService(argc, argv, "extractor",
              "niftysave-extractor --database_url=... --ipfs_gateways=URL",
              50062, 9462, base);
  const extractor::ExtractorConfig config = extractor::ReadExtractorConfig();

  ConnectOrDie(base);
  RaiseOpenFileLimit();
  http::MultiClient user_http(config.user_http);
  http::MultiClient gateway_http(config.gateway_http);
  extractor::ExtractorMetrics metrics(*base.metrics);
  fetch::FetcherOptions fetcher_options = config.fetcher;
  fetcher_options.metrics = &metrics.fetch();
  fetch::AsyncFetcher fetcher(user_http, gateway_http, fetcher_options);
  const int attempts = *config.queue.max_attempts;
  db::WorkQueue queue(
      *base.pool, "extract", base.worker_id,
      {.lease = absl::Seconds(30),
       .max_attempts = attempts,
       .max_lost_leases = attempts,
       .renew_for = extractor::LongestItem(
           config.worker, config.user_http.max_per_host,
           config.user_http.per_host_rps, config.fetch_timeout)});
  extractor::PgExtractorRepository repo(*base.pool, queue);
  TakeBackLeases(queue);
  LeaseKeeper heartbeat(queue);
  // Made before the engine, so it outlives it: once the engine has
  // drained, its destructor sends the hand-offs still waiting.
  extractor::CoalescingPinnerNotifier notifier(
      extractor::MakePinnerNotifier(config.pinner_addr, base.grpc_client),
      config.notify_window, /*max_pending=*/100000,
      {.call = metrics.NotificationCall(),
       .dropped = metrics.NotificationsDropped()});
  extractor::ExtractionWorkerOptions options = config.worker;
  // Leave a connection for leasing.
  options.writers = std::max(1, std::min(4, base.db_pool_size - 1));
  extractor::ExtractionWorker engine(
      repo, fetcher, {}, options,
      metrics.Observer(
          [&](const std::vector<int64_t>& ids) { notifier.Notify(ids); }));
  // One feeder leases as slots free up; the engine does the rest.
  WorkerPool feeder("extract", 1, config.queue.poll,
                    [&] { return engine.Feed(); });
  extractor::ExtractorServiceImpl service(
      repo, [&](int64_t n) { feeder.Nudge(n, config.queue.batch_size); });
  QueueDepthGauge depth(*base.metrics, queue, absl::Seconds(10));
  const int code = ServeUntilShutdown(base, {&service}, feeder);
  if (!engine.Drain(absl::Seconds(base.drain_seconds))) {
    log::Warn("items still in flight at exit; their leases will expire",
              {{"in_flight", std::to_string(engine.in_flight())}});
    std::_Exit(code);  // without waiting for them: the queue is durable
  }
  return code;
}
