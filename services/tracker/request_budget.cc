#include "services/tracker/request_budget.h"

#include <algorithm>
#include <cmath>

namespace niftysave::tracker {

RequestBudget::RequestBudget(double per_second, Clock now)
    : rate_(per_second > 0 ? per_second : 1),
      burst_(std::max(1.0, rate_)),
      now_(std::move(now)),
      tokens_(burst_),
      last_(now_()) {}

void RequestBudget::RefillLocked(absl::Time now) {
  if (now > last_) {
    tokens_ =
        std::min(burst_, tokens_ + absl::ToDoubleSeconds(now - last_) * rate_);
    last_ = now;
  }
}

absl::Duration RequestBudget::Reserve() {
  absl::MutexLock lock(&mu_);
  RefillLocked(now_());
  tokens_ -= 1;
  if (tokens_ >= 0) return absl::ZeroDuration();
  return absl::Seconds(-tokens_ / rate_);
}

void RequestBudget::Cancel() {
  absl::MutexLock lock(&mu_);
  tokens_ = std::min(burst_, tokens_ + 1);
}

int64_t RequestBudget::AvailableWithin(absl::Duration horizon) {
  absl::MutexLock lock(&mu_);
  RefillLocked(now_());
  // Reservation k (1-based) waits (k - tokens) / rate: it fits while
  // k <= tokens + rate * horizon.
  const double fits =
      std::floor(tokens_ + rate_ * absl::ToDoubleSeconds(horizon) + 1e-9);
  return fits < 0 ? 0 : static_cast<int64_t>(fits);
}

}  // namespace niftysave::tracker
