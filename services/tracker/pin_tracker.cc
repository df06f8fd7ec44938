#include "services/tracker/pin_tracker.h"

#include "common/runtime/log.h"
#include "common/runtime/reason.h"

namespace niftysave::tracker {

PinTracker::PinTracker(
    TrackerRepository& repo, std::map<std::string, ipfs::PinBackend*> backends,
    int batch_size, BackoffPolicy recheck,
    std::function<void(const std::string&, ipfs::PinState)> observed)
    : repo_(repo),
      backends_(std::move(backends)),
      batch_size_(batch_size),
      recheck_(recheck),
      observed_(std::move(observed)) {}

int PinTracker::Step() {
  return db::HandleLeased(repo_.Lease(batch_size_),
                          [this](const db::QueueItem& item) { Handle(item); });
}

void PinTracker::Handle(const db::QueueItem& item) {
  absl::StatusOr<std::optional<PinToCheck>> pin = repo_.LoadPin(item.id);
  if (!pin.ok()) return;
  if (!pin->has_value()) {
    (void)repo_.Drop(item);
    return;
  }
  const PinToCheck& p = **pin;
  const absl::Duration delay = BackoffDelay(recheck_, item.attempts);
  auto backend = backends_.find(p.backend);
  absl::Status saved;
  if (backend == backends_.end()) {
    saved = repo_.SaveStillPending(
        item, p, ipfs::PinState::kQueued, "backend_unknown",
        "no backend named " + p.backend + " is configured", delay);
  } else {
    absl::StatusOr<ipfs::PinState> state = backend->second->Status(p.cid);
    if (!state.ok()) {
      // The check failed, not the pin: keep the pin's last known state.
      saved = repo_.SaveStillPending(
          item, p, ipfs::PinState::kPinning, ReasonOf(state.status()),
          std::string(state.status().message()), delay);
    } else {
      observed_(p.backend, *state);
      if (*state == ipfs::PinState::kPinned) {
        saved = repo_.SavePinned(item, p);
      } else {
        saved = repo_.SaveStillPending(
            item, p, *state,
            *state == ipfs::PinState::kFailed ? "pin_failed" : "", "", delay);
      }
    }
  }
  if (!saved.ok()) {
    log::Warn("cannot record pin status",
              {{"pin", std::to_string(item.id)},
               {"error", std::string(saved.message())}});
  }
}

}  // namespace niftysave::tracker
