// niftysave-pinner: makes every resource durable on IPFS.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "common/db/work_queue.h"
#include "common/fetch/content_fetcher.h"
#include "common/http/http_client.h"
#include "common/ipfs/backend_factory.h"
#include "common/ipfs/dag_walk.h"
#include "common/runtime/flags.h"
#include "common/service/queue_worker_flags.h"
#include "common/service/service_base.h"
#include "services/pinner/pg_pinner_repository.h"
#include "services/pinner/pinner_config.h"
#include "services/pinner/pinner_grpc.h"
#include "services/pinner/pinner_metrics.h"
#include "services/pinner/resource_pinner.h"

using namespace niftysave;

int main(int argc, char** argv) {
  SetQueueWorkerDefaults({.workers = 32,
                          .batch_size = 8,
                          .max_attempts = 8,
                          .poll = absl::Seconds(2)});
  ServiceBase base;
  InitService(argc, argv, "pinner",
              "niftysave-pinner --database_url=... --kubo_api_url=URL", 50063,
              9463, base);
  pinner::PinnerConfig config = pinner::ReadPinnerConfig();
  http::HttpClient user_http(config.user_http);
  http::HttpClient gateway_http(config.gateway_http);
  http::HttpClient backend_http(config.backend_http);
  auto made = ipfs::MakePinBackends(config.backends, backend_http);
  if (!made.ok()) DieWithConfigError("pin_backend", made.status().message());
  std::vector<ipfs::PinBackend*> backends;
  for (const auto& b : *made) backends.push_back(b.get());
  pinner::BoundByBackends(config, backends);
  ConnectOrDie(base);

  pinner::PinnerMetrics metrics(*base.metrics);
  config.fetcher.metrics = metrics.fetch();
  fetch::ContentFetcher fetcher(user_http, gateway_http, config.fetcher);
  db::WorkQueue queue(*base.pool, "pin", base.worker_id, config.pin_queue);
  pinner::PgPinnerRepository repo(*base.pool, queue);
  TakeBackLeases(queue);
  DropStaleClaims(*base.pool, queue);
  LeaseKeeper heartbeat(queue);
  // Made before the workers, so it outlives them: once they have stopped,
  // its destructor sends the hand-offs still waiting.
  pinner::CoalescingTrackerNotifier tracker(
      pinner::MakeTrackerNotifier(config.tracker_addr, base.grpc_client),
      config.notify_window, /*max_pending=*/100000,
      {.call = metrics.NotificationCall(),
       .dropped = metrics.NotificationsDropped()});
  pinner::PinObserver observer = metrics.Observer();
  observer.pins_requested = [&tracker](const std::vector<int64_t>& ids) {
    tracker.Notify(ids);
  };
  // Blocks for the checks before a pin by CID, kept across resources: the
  // tokens of one collection share a root (32 MiB at most, about 2,000
  // directory blocks).
  ipfs::CachedBlockSource blocks(
      [&fetcher](const uri::Cid& cid) { return fetcher.FetchBlock(cid); },
      size_t{32} << 20);
  pinner::ResourcePinner step(repo, fetcher, blocks.AsSource(), backends,
                              config.pinner, observer);
  WorkerPool pool("pin", config.queue.workers, config.queue.poll,
                  [&] { return step.Step(); });
  pinner::PinnerServiceImpl service(
      repo, [&](int64_t n) { pool.Nudge(n, config.queue.batch_size); });
  QueueDepthGauge depth(*base.metrics, queue, absl::Seconds(10));
  return ServeUntilShutdown(base, {&service}, pool);
}
