#pragma once

#include <functional>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace niftysave {

// Runs `step` on its own thread until stopped. `step` does one batch of work
// and returns how many items it handled; when it handled none, the worker
// sleeps until `Nudge()` (a gRPC notification arrived) or the poll interval
// passes (the durable path: work queued while nobody told us). With a
// `gather` time, a nudge that ends the sleep is followed by that much more
// of it, so what further hand-offs bring meanwhile is taken in the same
// batch (one lease, one request, one transaction) instead of one each.
class Worker {
 public:
  Worker(std::string name, absl::Duration poll_interval,
         std::function<int()> step,
         absl::Duration gather = absl::ZeroDuration());
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  void Nudge();
  // Asleep between polls: a nudge would wake it. A busy worker comes back
  // for more by itself after a step that handled something.
  bool Idle() const;
  // Lets the batch in progress finish, then joins the thread.
  void Stop();

 private:
  void Run();

  const std::string name_;
  const absl::Duration poll_interval_;
  const absl::Duration gather_;
  const std::function<int()> step_;
  mutable absl::Mutex mu_;
  bool nudged_ ABSL_GUARDED_BY(mu_) = false;
  bool idle_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace niftysave
