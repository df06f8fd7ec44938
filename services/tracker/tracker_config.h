#pragma once

#include "absl/time/time.h"
#include "common/ipfs/backend_factory.h"
#include "common/service/queue_worker_flags.h"
#include "services/tracker/pin_tracker.h"

namespace niftysave::tracker {

// Everything the tracker's flags say, read and range-checked before anything
// connects (a bad value exits 2 naming the flag).
struct TrackerConfig {
  QueueWorkerFlags queue;         // --workers --batch_size --poll_seconds
  ipfs::BackendConfig backends;   // --pin_backend and its flags
  PinTrackerOptions pin_tracker;  // re-check schedule, budget, re-pins
  absl::Duration stats_interval;  // --stats_seconds
  absl::Duration gather;          // --gather_ms
};

// The tracker's queue-worker defaults (SetQueueWorkerDefaults before
// InitService). Tracking never gives up on its own: a pin is re-checked at
// the capped back-off until it is confirmed, so there is no --max_attempts.
inline constexpr int kDefaultWorkers = 2;
inline constexpr int kDefaultBatchSize = 32;
inline constexpr double kDefaultPollSeconds = 1.0;

TrackerConfig ReadTrackerConfig();

}  // namespace niftysave::tracker
