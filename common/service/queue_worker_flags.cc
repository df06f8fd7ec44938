#include "common/service/queue_worker_flags.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/runtime/flags.h"

ABSL_FLAG(int, workers, 2,
          "concurrent workers (1-256; default per service, see README)");
ABSL_FLAG(int, batch_size, 32,
          "items leased per worker step (1-1000; default per service)");
ABSL_FLAG(int, max_attempts, 8,
          "attempts before a temporary failure becomes final (1-100; "
          "default per service; not the tracker's)");
ABSL_FLAG(double, poll_seconds, 2.0,
          "queue poll interval when idle (0.05-3600; default per service)");

namespace niftysave {
namespace {

bool g_max_attempts_used = true;
// A value no one passes: the tracker refuses --max_attempts by noticing it
// changed from this.
constexpr int kUnusedMaxAttempts = -1;

}  // namespace

void SetQueueWorkerDefaults(const QueueWorkerFlags& defaults) {
  absl::SetFlag(&FLAGS_workers, defaults.workers);
  absl::SetFlag(&FLAGS_batch_size, defaults.batch_size);
  g_max_attempts_used = defaults.max_attempts.has_value();
  absl::SetFlag(&FLAGS_max_attempts,
                defaults.max_attempts.value_or(kUnusedMaxAttempts));
  absl::SetFlag(&FLAGS_poll_seconds, absl::ToDoubleSeconds(defaults.poll));
}

QueueWorkerFlags ReadQueueWorkerFlags() {
  QueueWorkerFlags flags;
  flags.workers = GetFlagInRange(FLAGS_workers, 1, 256);
  flags.batch_size = GetFlagInRange(FLAGS_batch_size, 1, 1000);
  if (g_max_attempts_used) {
    flags.max_attempts = GetFlagInRange(FLAGS_max_attempts, 1, 100);
  } else if (absl::GetFlag(FLAGS_max_attempts) != kUnusedMaxAttempts) {
    DieWithConfigError("max_attempts",
                       "not used by this service: its work is retried until "
                       "it succeeds");
  }
  flags.poll = absl::Seconds(GetFlagInRange(FLAGS_poll_seconds, 0.05, 3600.0));
  return flags;
}

}  // namespace niftysave
