#include "services/tracker/tracker_config.h"

#include "absl/flags/flag.h"
#include "common/ipfs/backend_flags.h"
#include "common/runtime/flags.h"

ABSL_FLAG(double, recheck_initial_seconds, 1,
          "first re-check delay of a pin not yet pinned (0.1-3600)");
ABSL_FLAG(double, recheck_max_seconds, 600, "longest re-check delay (1-86400)");
ABSL_FLAG(double, status_requests_per_second, 10,
          "status requests (and re-pins) a second, per backend (0.1-10000)");
ABSL_FLAG(int, max_repins, 3,
          "new pin requests for a pin its backend reports failed (0-100)");
ABSL_FLAG(double, failed_recheck_seconds, 6 * 3600,
          "re-check interval of a pin failed after every re-pin (1-604800)");
ABSL_FLAG(double, stats_seconds, 15,
          "how often the funnel gauges are recounted (1-3600)");
ABSL_FLAG(int, gather_ms, 250,
          "after a hand-off wakes the pin checker, wait this long so the pins "
          "handed off meanwhile are checked and recorded together (0-10000)");

namespace niftysave::tracker {

TrackerConfig ReadTrackerConfig() {
  TrackerConfig config;
  config.backends = ipfs::BackendConfigFromFlags();
  config.queue = ReadQueueWorkerFlags();
  const double initial =
      GetFlagInRange(FLAGS_recheck_initial_seconds, 0.1, 3600.0);
  const double max = GetFlagInRange(FLAGS_recheck_max_seconds, 1.0, 86400.0);
  config.pin_tracker = {.batch_size = config.queue.batch_size,
                        .recheck = {absl::Seconds(initial), absl::Seconds(max)},
                        .requests_per_second = GetFlagInRange(
                            FLAGS_status_requests_per_second, 0.1, 10000.0),
                        .max_repins = GetFlagInRange(FLAGS_max_repins, 0, 100),
                        .failed_recheck = absl::Seconds(GetFlagInRange(
                            FLAGS_failed_recheck_seconds, 1.0, 604800.0))};
  config.stats_interval =
      absl::Seconds(GetFlagInRange(FLAGS_stats_seconds, 1.0, 3600.0));
  config.gather = absl::Milliseconds(GetFlagInRange(FLAGS_gather_ms, 0, 10000));
  return config;
}

}  // namespace niftysave::tracker
