#pragma once

#include <cstdint>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace niftysave::tracker {

// A token bucket bounding the requests sent to one backend: `per_second`
// tokens a second, holding at most one second's worth (at least one token).
// Over any window of T seconds at most max(1, rate) + rate * T requests
// start, however many pins are waiting and however many workers share it.
// Thread-safe.
class RequestBudget {
 public:
  using Clock = std::function<absl::Time()>;
  explicit RequestBudget(double per_second, Clock now = &absl::Now);

  // Takes the token for one request and says how long to wait before
  // sending it (zero when a token was there). Reservations queue up: the
  // n-th caller in a burst waits n / rate.
  absl::Duration Reserve();
  // Gives back the token of a Reserve() whose request is not sent.
  void Cancel();
  // How many requests could be reserved now with a wait of at most
  // `horizon` each (0 when even the next one would wait longer).
  int64_t AvailableWithin(absl::Duration horizon);

  double per_second() const { return rate_; }

 private:
  void RefillLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double rate_;
  const double burst_;
  const Clock now_;
  absl::Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);  // negative: reserved ahead
  absl::Time last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace niftysave::tracker
