#include "common/runtime/worker.h"

#include <exception>

#include "common/runtime/log.h"

namespace niftysave {

Worker::Worker(std::string name, absl::Duration poll_interval,
               std::function<int()> step, absl::Duration gather)
    : name_(std::move(name)),
      poll_interval_(poll_interval),
      gather_(gather),
      step_(std::move(step)) {}

Worker::~Worker() { Stop(); }

void Worker::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Worker::Nudge() {
  absl::MutexLock lock(&mu_);
  nudged_ = true;
}

bool Worker::Idle() const {
  absl::MutexLock lock(&mu_);
  return idle_ && !nudged_;  // a nudged one is as good as awake
}

void Worker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      nudged_ = false;
    }
    int handled = 0;
    try {
      handled = step_();
    } catch (const std::exception& e) {
      // A bug, not an input: log it and keep the worker alive; the leased
      // items are re-leased when their lease runs out.
      log::Error("worker step threw", {{"worker", name_}, {"error", e.what()}});
    }
    if (handled > 0) continue;
    absl::MutexLock lock(&mu_);
    auto wake = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return nudged_ || stopping_;
    };
    idle_ = true;
    mu_.AwaitWithTimeout(absl::Condition(&wake), poll_interval_);
    idle_ = false;
    if (nudged_ && !stopping_ && gather_ > absl::ZeroDuration()) {
      auto stop = [this]()
                      ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      mu_.AwaitWithTimeout(absl::Condition(&stop), gather_);
    }
  }
}

}  // namespace niftysave
