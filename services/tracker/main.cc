// niftysave-tracker: follows pins until confirmed; answers "is it archived?".
// Wiring only: the flags are tracker_config.cc, the work pin_tracker.cc, the
// SQL pg_tracker_repository.cc, the gRPC surface tracker_grpc.cc.
#include <unistd.h>

#include <algorithm>
#include <map>
#include <string>

#include "common/db/work_queue.h"
#include "common/ipfs/backend_factory.h"
#include "common/runtime/flags.h"
#include "common/runtime/worker.h"
#include "common/service/queue_worker_flags.h"
#include "common/service/service_base.h"
#include "services/tracker/funnel_counter.h"
#include "services/tracker/pg_tracker_repository.h"
#include "services/tracker/pin_tracker.h"
#include "services/tracker/tracker_config.h"
#include "services/tracker/tracker_grpc.h"
#include "services/tracker/tracker_metrics.h"

using namespace niftysave;

int main(int argc, char** argv) {
  SetQueueWorkerDefaults({.workers = tracker::kDefaultWorkers,
                          .batch_size = tracker::kDefaultBatchSize,
                          .max_attempts = std::nullopt,
                          .poll = absl::Seconds(tracker::kDefaultPollSeconds)});
  ServiceBase base;
  InitService(argc, argv, "tracker",
              "niftysave-tracker --database_url=... --kubo_api_url=URL", 50064,
              9464, base);
  const tracker::TrackerConfig config = tracker::ReadTrackerConfig();
  http::HttpClient http({});
  // Every backend the pinner may pin on (--pin_backend is a list when it
  // replicates); each pin is checked on the backend that holds it.
  auto backends = ipfs::MakePinBackends(config.backends, http);
  if (!backends.ok())
    DieWithConfigError("pin_backend", backends.status().message());
  std::map<std::string, ipfs::PinBackend*> by_name;
  for (const auto& b : *backends) by_name[b->name()] = b.get();
  ConnectOrDie(base);
  // Tracking never gives up on its own: a pin is re-checked at the capped
  // back-off until it is confirmed.
  db::WorkQueue queue(
      *base.pool, "track", base.worker_id,
      {.lease = absl::Seconds(30),
       .max_attempts = 1000000,
       .renew_for = tracker::LongestCheck(config.pin_tracker, by_name)});
  tracker::PgTrackerRepository repo(*base.pool, queue);
  TakeBackLeases(queue);
  DropStaleClaims(*base.pool, queue);
  LeaseKeeper heartbeat(queue);
  tracker::TrackerMetrics metrics(*base.metrics);
  tracker::PinTracker step(repo, by_name, config.pin_tracker,
                           metrics.PinTracker());
  WorkerPool pool(
      "track", config.queue.workers, config.queue.poll,
      [&] { return step.Step(); }, config.gather);
  // One count of the funnel for the gauges, GetStats and WatchProgress:
  // recounted every --stats_seconds, never per scrape or call, and never
  // more than 2% of the time (FunnelCounter).
  tracker::FunnelCounter funnel_counts([&repo] { return repo.CountFunnel(); },
                                       config.stats_interval);
  tracker::TrackerServiceImpl service(
      repo, [&](int64_t n) { pool.Nudge(n, config.queue.batch_size); },
      {.shutdown = base.shutdown,
       .contract_status = &repo,
       .funnel = &funnel_counts});
  QueueDepthGauge depth(*base.metrics, queue, absl::Seconds(10));
  std::shared_ptr<const tracker::FunnelCounts> exported;
  Worker funnel("funnel", std::min(config.stats_interval, absl::Seconds(1)),
                [&] {
                  auto counts = funnel_counts.Get();
                  if (counts.ok() && *counts != exported) {
                    exported = *counts;
                    metrics.SetRecords(tracker::RecordCounts(*exported));
                    metrics.SetRecountSeconds(
                        absl::ToDoubleSeconds(funnel_counts.last_count()));
                  }
                  return 0;
                });
  funnel.Start();
  return ServeUntilShutdown(base, {&service}, pool);
}
