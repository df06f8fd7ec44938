#include "common/service/queue_worker_flags.h"

#include <optional>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/runtime/flags.h"

ABSL_FLAG(int, workers, 2,
          "concurrent workers (1-256; default per service, see README)");
ABSL_FLAG(int, batch_size, 32,
          "items leased per worker step (1-1000; default per service)");
// Optional: a service whose work never gives up leaves it valueless, so any
// value given (whatever it is) is refused, not just one unlike a sentinel.
ABSL_FLAG(std::optional<int>, max_attempts, 8,
          "attempts before a temporary failure becomes final (1-100; "
          "default per service; not the tracker's)");
ABSL_FLAG(double, poll_seconds, 2.0,
          "queue poll interval when idle (0.05-3600; default per service)");

namespace niftysave {
namespace {

bool g_max_attempts_used = true;

}  // namespace

void SetQueueWorkerDefaults(const QueueWorkerFlags& defaults) {
  absl::SetFlag(&FLAGS_workers, defaults.workers);
  absl::SetFlag(&FLAGS_batch_size, defaults.batch_size);
  g_max_attempts_used = defaults.max_attempts.has_value();
  absl::SetFlag(&FLAGS_max_attempts, defaults.max_attempts);
  absl::SetFlag(&FLAGS_poll_seconds, absl::ToDoubleSeconds(defaults.poll));
}

QueueWorkerFlags ReadQueueWorkerFlags() {
  QueueWorkerFlags flags;
  flags.workers = GetFlagInRange(FLAGS_workers, 1, 256);
  flags.batch_size = GetFlagInRange(FLAGS_batch_size, 1, 1000);
  const std::optional<int> max_attempts = absl::GetFlag(FLAGS_max_attempts);
  if (g_max_attempts_used) {
    if (!max_attempts.has_value() || *max_attempts < 1 || *max_attempts > 100)
      DieWithConfigError("max_attempts", "must be 1-100");
    flags.max_attempts = *max_attempts;
  } else if (max_attempts.has_value()) {
    DieWithConfigError("max_attempts",
                       "not used by this service: its work is retried until "
                       "it succeeds");
  }
  flags.poll = absl::Seconds(GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0));
  return flags;
}

}  // namespace niftysave
