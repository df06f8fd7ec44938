// niftysave-tracker: follows pins until confirmed; answers "is it archived?".
#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include "absl/flags/flag.h"
#include "common/db/work_queue.h"
#include "common/ipfs/backend_factory.h"
#include "common/ipfs/backend_flags.h"
#include "common/runtime/flags.h"
#include "common/runtime/log.h"
#include "common/runtime/worker.h"
#include "common/service/service_base.h"
#include "services/tracker/contract_status.h"
#include "services/tracker/pin_tracker.h"
#include "services/tracker/tracker_grpc.h"
#include "services/tracker/tracker_metrics.h"

ABSL_FLAG(int, workers, 2, "concurrent status-check workers (1-64)");
ABSL_FLAG(int, batch_size, 32, "pins leased per worker step (1-1000)");
ABSL_FLAG(double, recheck_initial_seconds, 1,
          "first re-check delay of a pin not yet pinned (0.1-3600)");
ABSL_FLAG(double, recheck_max_seconds, 600, "longest re-check delay (1-86400)");
ABSL_FLAG(double, status_requests_per_second, 10,
          "status requests (and re-pins) a second, per backend (0.1-10000)");
ABSL_FLAG(int, max_repins, 3,
          "new pin requests for a pin its backend reports failed (0-100)");
ABSL_FLAG(double, failed_recheck_seconds, 6 * 3600,
          "re-check interval of a pin failed after every re-pin (1-604800)");
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
  const double rate =
      GetFlagInRange(FLAGS_status_requests_per_second, 0.1, 10000.0);
  const int max_repins = GetFlagInRange(FLAGS_max_repins, 0, 100);
  const double failed_recheck =
      GetFlagInRange(FLAGS_failed_recheck_seconds, 1.0, 604800.0);

  const double stats = GetFlagInRange(FLAGS_stats_seconds, 1.0, 3600.0);

  http::HttpClient http({});
  // Every backend the pinner may pin on (--pin_backend is a list when it
  // replicates); each pin is checked on the backend that holds it.
  auto backends = ipfs::MakePinBackends(backend_config, http);
  if (!backends.ok())
    DieWithConfigError("pin_backend", backends.status().message());
  std::map<std::string, ipfs::PinBackend*> by_name;
  for (const auto& b : *backends) by_name[b->name()] = b.get();
  // Tracking never gives up on its own: a pin is re-checked at the capped
  // back-off until it is confirmed.
  ConnectOrDie(base);
  db::WorkQueue queue(*base.pool, "track",
                      base.name + "-" + std::to_string(getpid()),
                      {.lease = absl::Minutes(2), .max_attempts = 1000000});
  tracker::PgTrackerRepository repo(*base.pool, queue);
  tracker::PinTracker step(
      repo, by_name,
      {.batch_size = batch,
       .recheck = {absl::Seconds(initial), absl::Seconds(max)},
       .requests_per_second = rate,
       .max_repins = max_repins,
       .failed_recheck = absl::Seconds(failed_recheck)},
      tracker::PinTrackerMetrics(*base.metrics));
  WorkerPool pool("track", workers, absl::Seconds(poll),
                  [&] { return step.Step(); });
  tracker::PgContractStatus contract_status(*base.pool);
  tracker::TrackerServiceImpl service(
      repo, [&] { pool.NudgeAll(); },
      {.shutdown = base.shutdown, .contract_status = &contract_status});
  QueueDepthGauge depth(*base.metrics, queue, absl::Seconds(10));
  // The funnel: tokens, resources and pins by status, failures by reason.
  auto& records = base.metrics->Gauge(
      "records", "Records by kind, status and failure reason");
  // A status whose count dropped to zero is absent from the recount: it is
  // set to 0 rather than left at its last value.
  std::set<std::map<std::string, std::string>> exported;
  Worker funnel("funnel", absl::Seconds(stats), [&] {
    if (auto counts = repo.CountByStatus(); counts.ok()) {
      std::set<std::map<std::string, std::string>> seen;
      for (const tracker::StatusCount& c : *counts) {
        std::map<std::string, std::string> labels = {
            {"record", c.record}, {"status", c.status}, {"reason", c.reason}};
        records.Add(labels).Set(static_cast<double>(c.count));
        seen.insert(std::move(labels));
      }
      for (const auto& labels : exported) {
        if (!seen.contains(labels)) records.Add(labels).Set(0);
      }
      exported.insert(seen.begin(), seen.end());
    }
    return 0;
  });
  funnel.Start();
  return ServeUntilShutdown(base, {&service}, pool);
}
