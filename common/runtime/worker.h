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
// passes (the durable path: work queued while nobody told us).
class Worker {
 public:
  Worker(std::string name, absl::Duration poll_interval,
         std::function<int()> step);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  void Nudge();
  // Lets the batch in progress finish, then joins the thread.
  void Stop();

 private:
  void Run();

  const std::string name_;
  const absl::Duration poll_interval_;
  const std::function<int()> step_;
  absl::Mutex mu_;
  bool nudged_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace niftysave
