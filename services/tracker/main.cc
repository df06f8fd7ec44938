// niftysave-tracker: follows pins until confirmed; answers "is it archived?".
#include "absl/flags/flag.h"
#include "common/db/work_queue.h"
#include "common/ipfs/backend_factory.h"
#include "common/ipfs/backend_flags.h"
#include "common/runtime/flags.h"
#include "common/runtime/log.h"
#include "common/runtime/worker.h"
#include "common/service/service_base.h"
#include "services/tracker/pin_tracker.h"
#include "services/tracker/tracker_grpc.h"

ABSL_FLAG(int, workers, 2, "concurrent status-check workers (1-64)");
ABSL_FLAG(int, batch_size, 32, "pins leased per worker step (1-1000)");
ABSL_FLAG(double, recheck_initial_seconds, 1,
          "first re-check delay of a pin not yet pinned (0.1-3600)");
ABSL_FLAG(double, recheck_max_seconds, 600, "longest re-check delay (1-86400)");
ABSL_FLAG(double, poll_seconds, 1.0,
          "queue poll interval when idle (0.05-3600)");
ABSL_FLAG(double, stats_seconds, 15,
          "how often the funnel gauges are recounted (1-3600)");

using namespace niftysave;

int main(int argc, char** argv) {
  ServiceBase base;
  InitService(argc, argv, "tracker",
              "niftysave-tracker --database_url=... --kubo_api_url=URL", 50064,
              9464, base);
  const ipfs::BackendConfig backend_config = ipfs::BackendConfigFromFlags();
  const int workers = GetFlagInRange(FLAGS_workers, 1, 64);
  const int batch = GetFlagInRange(FLAGS_batch_size, 1, 1000);
  const double initial =
      GetFlagInRange(FLAGS_recheck_initial_seconds, 0.1, 3600.0);
  const double max = GetFlagInRange(FLAGS_recheck_max_seconds, 1.0, 86400.0);
  const double poll = GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0);

  const double stats = GetFlagInRange(FLAGS_stats_seconds, 1.0, 3600.0);

  http::HttpClient http({});
  auto backend = ipfs::MakePinBackend(backend_config, http);
  if (!backend.ok())
    DieWithConfigError("pin_backend", backend.status().message());
  // Tracking never gives up on its own: a pin is re-checked at the capped
  // back-off until it is confirmed.
  ConnectOrDie(base);
  db::WorkQueue queue(*base.pool, "track",
                      base.name + "-" + std::to_string(getpid()),
                      {.lease = absl::Minutes(2), .max_attempts = 1000000});
  tracker::PgTrackerRepository repo(*base.pool, queue);
  auto& observed = base.metrics->Counter(
      "pin_checks_total", "Pin status checks, by backend and state");
  tracker::PinTracker step(
      repo, {{(*backend)->name(), backend->get()}}, batch,
      {absl::Seconds(initial), absl::Seconds(max)},
      [&](const std::string& backend, ipfs::PinState state) {
        observed
            .Add({{"backend", backend},
                  {"state", std::string(ipfs::PinStateName(state))}})
            .Increment();
      });
  WorkerPool pool("track", workers, absl::Seconds(poll),
                  [&] { return step.Step(); });
  tracker::TrackerServiceImpl service(repo, [&] { pool.NudgeAll(); },
                                      {.shutdown = base.shutdown});
  QueueDepthGauge depth(*base.metrics, queue, absl::Seconds(10));
  // The funnel: tokens, resources and pins by status, failures by reason.
  auto& records = base.metrics->Gauge(
      "records", "Records by kind, status and failure reason");
  Worker funnel("funnel", absl::Seconds(stats), [&] {
    if (auto counts = repo.CountByStatus(); counts.ok()) {
      for (const tracker::StatusCount& c : *counts) {
        records
            .Add({{"record", c.record},
                  {"status", c.status},
                  {"reason", c.reason}})
            .Set(static_cast<double>(c.count));
      }
    }
    return 0;
  });
  funnel.Start();
  return ServeUntilShutdown(base, {&service}, pool);
}
