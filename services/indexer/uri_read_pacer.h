#pragma once

#include <cstddef>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace niftysave::indexer {

// The step of each URI reader thread. While the follower catches up, URI
// reads are held to about `catch_up_rate` tokens a second (one reader at a
// time, one batch per batch/rate seconds), so they do not slow it down;
// once it is at the head they run at full speed. Every `depth_every`,
// whatever the mode, the backlog gauge is refreshed first.
class UriReadPacer {
 public:
  struct Options {
    double catch_up_rate = 2000;  // tokens a second; 0: no limit
    absl::Duration depth_every = absl::Seconds(5);
    // The longest sleep of one paced step: a stop, or the end of the
    // catch-up, is seen within it.
    absl::Duration max_wait = absl::Milliseconds(250);
  };
  struct Hooks {
    // One URI read step (UriReader::Step): the tokens handled.
    std::function<absl::StatusOr<size_t>()> read;
    // Whether the follower is catching up (ChainIndexer::CatchingUp).
    std::function<bool()> catching_up;
    // Refreshes the backlog gauge.
    std::function<void()> refresh_depth = [] {};
    std::function<absl::Time()> now = [] { return absl::Now(); };
    std::function<void(absl::Duration)> sleep = [](absl::Duration d) {
      absl::SleepFor(d);
    };
  };
  UriReadPacer(Options options, Hooks hooks);

  // A Worker step: the tokens handled (1 after a paced wait, so the worker
  // comes straight back; 0 when nothing was due or the step failed).
  int Step();

 private:
  void MaybeRefreshDepth();
  int PacedStep();

  const Options options_;
  const Hooks hooks_;
  absl::Mutex depth_mu_;
  absl::Time depth_at_ ABSL_GUARDED_BY(depth_mu_) = absl::InfinitePast();
  absl::Mutex pace_mu_;
  absl::Time next_read_ ABSL_GUARDED_BY(pace_mu_) = absl::InfinitePast();
};

}  // namespace niftysave::indexer
