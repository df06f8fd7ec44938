#pragma once

#include <optional>

#include "absl/time/time.h"

namespace niftysave {

// The flags every queue worker has, declared and range-checked here once
// (each also as NIFTYSAVE_<NAME>):
//   --workers       concurrent workers (1-256)
//   --batch_size    items leased per worker step (1-1000)
//   --max_attempts  attempts before a temporary failure becomes final (1-100)
//   --poll_seconds  queue poll interval when idle (0.05-3600)
struct QueueWorkerFlags {
  int workers = 1;
  int batch_size = 1;
  // nullopt for a service whose work never gives up (the tracker re-checks
  // a pin until it is confirmed).
  std::optional<int> max_attempts;
  absl::Duration poll = absl::Seconds(1);
};

// This service's defaults. Call before InitService (which parses the command
// line), so the command line and the environment override them.
// `defaults.max_attempts` nullopt: the flag is refused if given.
void SetQueueWorkerDefaults(const QueueWorkerFlags& defaults);

// Reads and range-checks the flags; a bad value exits 2 naming the flag.
QueueWorkerFlags ReadQueueWorkerFlags();

}  // namespace niftysave
