#include "services/indexer/uri_read_pacer.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/runtime/log.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {

UriReadPacer::UriReadPacer(Options options, Hooks hooks)
    : options_(options), hooks_(std::move(hooks)) {}

void UriReadPacer::MaybeRefreshDepth() {
  {
    absl::MutexLock lock(&depth_mu_);
    const absl::Time now = hooks_.now();
    if (now - depth_at_ <= options_.depth_every) return;
    depth_at_ = now;
  }
  hooks_.refresh_depth();
}

int UriReadPacer::PacedStep() {
  // One reader at a time, one batch per batch/rate seconds; the wait is
  // taken in short sleeps so a stop or the end of the catch-up is seen.
  absl::MutexLock lock(&pace_mu_);
  const absl::Duration wait = next_read_ - hooks_.now();
  if (wait > absl::ZeroDuration()) {
    hooks_.sleep(std::min(wait, options_.max_wait));
    return 1;
  }
  absl::StatusOr<size_t> n = hooks_.read();
  const size_t read = n.ok() ? *n : 0;
  next_read_ = hooks_.now() + absl::Seconds(static_cast<double>(read) /
                                            options_.catch_up_rate);
  return static_cast<int>(read);
}

int UriReadPacer::Step() {
  MaybeRefreshDepth();
  if (options_.catch_up_rate > 0 && hooks_.catching_up()) return PacedStep();
  absl::StatusOr<size_t> n = hooks_.read();
  if (!n.ok()) {
    log::Warn("URI read step failed",
              {{"reason", ReasonOf(n.status())},
               {"error", std::string(n.status().message())}});
    return 0;
  }
  return static_cast<int>(*n);
}

}  // namespace niftysave::indexer
