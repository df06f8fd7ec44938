#include "services/tracker/pin_tracker.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/runtime/log.h"
#include "common/runtime/reason.h"

namespace niftysave::tracker {
namespace {

// A failure of the request, not of the pin: try again later.
bool IsTransient(const absl::Status& s) {
  return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
}

}  // namespace

absl::Duration LongestCheck(
    const PinTrackerOptions& options,
    const std::map<std::string, ipfs::PinBackend*>& backends) {
  absl::Duration status = absl::ZeroDuration();
  absl::Duration pin = absl::ZeroDuration();
  for (const auto& [name, backend] : backends) {
    status = std::max(status, backend->longest_status_call());
    pin = std::max(pin, backend->longest_pin_call());
  }
  return 2 * options.max_budget_wait + status + pin + absl::Seconds(60);
}

PinTracker::PinTracker(TrackerRepository& repo,
                       std::map<std::string, ipfs::PinBackend*> backends,
                       PinTrackerOptions options, PinTrackerObserver observer)
    : repo_(repo), options_(options), observer_(std::move(observer)) {
  for (const auto& [name, backend] : backends) {
    backends_[name] = {
        backend, std::make_unique<RequestBudget>(options_.requests_per_second)};
  }
}

int PinTracker::LeaseLimit() {
  int64_t capacity = 0;
  for (auto& [name, b] : backends_) {
    capacity += b.budget->AvailableWithin(options_.max_budget_wait) *
                static_cast<int64_t>(
                    std::max<size_t>(1, b.backend->max_status_batch()));
  }
  return static_cast<int>(std::min<int64_t>(options_.batch_size, capacity));
}

int PinTracker::Step() {
  const int limit = LeaseLimit();
  if (limit <= 0) return 0;  // every budget is spent: the worker waits
  const std::vector<db::QueueItem> leased =
      db::LeasedOrLogged(repo_.Lease(limit), "pins to check");
  if (leased.empty()) return 0;
  absl::StatusOr<std::map<int64_t, PinToCheck>> pins =
      repo_.LoadPins(db::IdsOf(leased));
  if (!pins.ok()) {
    // The leases run out and the items come back.
    log::Warn("cannot load pins",
              {{"error", std::string(pins.status().message())}});
    return 0;
  }
  std::map<std::string, std::vector<Leased>> by_backend;
  for (const db::QueueItem& item : leased) {
    auto pin = pins->find(item.id);
    if (pin == pins->end()) {
      (void)repo_.Drop(item);
      continue;
    }
    if (!backends_.count(pin->second.backend)) {
      const Leased p{item, pin->second};
      Warn(repo_.SaveCheckFailed(
               item, p.pin, "backend_unknown",
               "no backend named " + p.pin.backend + " is configured",
               RecheckDelay(p.pin)),
           p);
      continue;
    }
    by_backend[pin->second.backend].push_back({item, pin->second});
  }
  for (const auto& [name, group] : by_backend) {
    CheckAll(name, backends_.at(name), group, leased);
  }
  return static_cast<int>(leased.size());
}

bool PinTracker::Spend(Backend& b, absl::Duration* wait_instead) {
  const absl::Duration wait = b.budget->Reserve();
  if (wait > options_.max_budget_wait) {
    b.budget->Cancel();
    *wait_instead = wait;
    return false;
  }
  if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
  return true;
}

void PinTracker::CheckAll(const std::string& name, Backend& b,
                          const std::vector<Leased>& pins,
                          const std::vector<db::QueueItem>& step) {
  const size_t batch = std::max<size_t>(1, b.backend->max_status_batch());
  // The answers are recorded together, one transaction for the backend's
  // share of the step (some backends answer for one CID a request); only a
  // re-pin goes on its own (it makes a request of its own).
  std::vector<CheckedPin> checked;
  for (size_t begin = 0; begin < pins.size(); begin += batch) {
    absl::Duration wait;
    if (!Spend(b, &wait)) {
      SaveChecked(checked);
      Defer(name, pins, begin, wait);
      return;
    }
    const size_t end = std::min(pins.size(), begin + batch);
    std::vector<std::string> cids;
    for (size_t i = begin; i < end; ++i) cids.push_back(pins[i].pin.cid);
    absl::StatusOr<std::map<std::string, ipfs::PinState>> states =
        b.backend->StatusMany(cids);
    if (!states.ok()) {
      const std::string reason = ReasonOf(states.status());
      if (observer_.status_request) observer_.status_request(name, reason);
      const absl::Duration not_before =
          RetryAfterOf(states.status()).value_or(absl::ZeroDuration());
      for (size_t i = begin; i < end; ++i) {
        Warn(repo_.SaveCheckFailed(
                 pins[i].item, pins[i].pin, reason,
                 std::string(states.status().message()),
                 std::max(RecheckDelay(pins[i].pin), not_before)),
             pins[i]);
      }
      repo_.KeepHolding(step);
      continue;
    }
    if (observer_.status_request) observer_.status_request(name, "ok");
    for (size_t i = begin; i < end; ++i) {
      auto it = states->find(pins[i].pin.cid);
      Record(name, b, pins[i],
             it == states->end() ? std::nullopt
                                 : std::optional<ipfs::PinState>(it->second),
             checked);
      // Progress after each request and each re-pin: the lease renewal
      // window bounds one of them (LongestCheck), not the whole step.
      repo_.KeepHolding(step);
    }
  }
  SaveChecked(checked);
}

void PinTracker::Record(const std::string& name, Backend& b, const Leased& p,
                        std::optional<ipfs::PinState> state,
                        std::vector<CheckedPin>& checked) {
  if (observer_.pin_checked) {
    observer_.pin_checked(
        name, state ? std::string(ipfs::PinStateName(*state)) : "missing");
  }
  if (!state || *state == ipfs::PinState::kFailed) {
    // The backend lost the pin or gave up on it.
    Repin(name, b, p, state ? "pin_failed" : "pin_missing");
  } else {
    checked.push_back({p.item, p.pin, *state,
                       *state == ipfs::PinState::kPinned
                           ? absl::ZeroDuration()
                           : RecheckDelay(p.pin)});
  }
}

void PinTracker::SaveChecked(const std::vector<CheckedPin>& checked) {
  if (checked.empty()) return;
  absl::StatusOr<int> saved = repo_.SaveChecked(checked);
  if (!saved.ok()) {
    // The leases run out and the items come back.
    log::Warn("cannot record pin statuses",
              {{"pins", std::to_string(checked.size())},
               {"error", std::string(saved.status().message())}});
  } else if (*saved < static_cast<int>(checked.size())) {
    log::Info("pin statuses not recorded: their leases were lost",
              {{"pins", std::to_string(checked.size() - *saved)}});
  }
}

void PinTracker::Repin(const std::string& name, Backend& b, const Leased& p,
                       const std::string& why) {
  const std::string what = why == "pin_missing"
                               ? "the backend holds no pin for this CID"
                               : "the backend reports the pin failed";
  if (p.pin.repins >= options_.max_repins) {
    if (observer_.repin) observer_.repin(name, "exhausted");
    Warn(repo_.SaveFailed(
             p.item, p.pin, why,
             absl::StrCat(what, " (after ", p.pin.repins,
                          " re-pins; re-checked every ",
                          absl::FormatDuration(options_.failed_recheck), ")"),
             options_.failed_recheck),
         p);
    return;
  }
  if (!Claim(name, p)) return;
  absl::Duration wait;
  if (!Spend(b, &wait)) {
    Warn(repo_.ReleaseRepin(p.item, p.pin), p);
    Defer(name, {p}, 0, wait);
    return;
  }
  // The back-off starts again for the new pin.
  const absl::Duration first_check = BackoffDelay(options_.recheck, 1);
  absl::StatusOr<ipfs::PinReceipt> receipt = b.backend->PinCid(p.pin.cid);
  if (!receipt.ok()) {
    Warn(repo_.ReleaseRepin(p.item, p.pin), p);
    const std::string reason = ReasonOf(receipt.status());
    if (observer_.repin) observer_.repin(name, reason);
    const std::string detail =
        absl::StrCat(what, "; re-pin refused: ", receipt.status().message());
    if (IsTransient(receipt.status())) {
      // Not a re-pin spent: ask again when the backend is back.
      Warn(repo_.SaveCheckFailed(p.item, p.pin, reason, detail,
                                 std::max(RecheckDelay(p.pin),
                                          RetryAfterOf(receipt.status())
                                              .value_or(absl::ZeroDuration()))),
           p);
    } else {
      Warn(repo_.SaveRepinned(p.item, p.pin, ipfs::PinState::kFailed, "",
                              reason, detail, first_check),
           p);
    }
    return;
  }
  if (observer_.repin) observer_.repin(name, "requested");
  Warn(
      repo_.SaveRepinned(p.item, p.pin, receipt->state, receipt->request_id, "",
                         absl::StrCat(what, "; re-pinned (", p.pin.repins + 1,
                                      " of ", options_.max_repins, ")"),
                         first_check),
      p);
}

bool PinTracker::Claim(const std::string& name, const Leased& p) {
  absl::StatusOr<bool> claimed = repo_.ClaimRepin(p.item, p.pin);
  if (!claimed.ok()) {
    // The lease runs out and the item comes back.
    log::Warn("cannot claim a pin to re-pin",
              {{"pin", std::to_string(p.pin.id)},
               {"error", std::string(claimed.status().message())}});
    return false;
  }
  if (*claimed) return true;
  // The pinner (or a tracker with a live lease) is asking for this very
  // (CID, backend) now: look again soon, no re-pin spent.
  if (observer_.repin) observer_.repin(name, "claimed_elsewhere");
  Warn(repo_.Defer(p.item, options_.claim_busy_wait), p);
  return false;
}

void PinTracker::Defer(const std::string& name, const std::vector<Leased>& pins,
                       size_t from, absl::Duration delay) {
  if (from >= pins.size()) return;
  if (observer_.deferred) {
    observer_.deferred(name, static_cast<int>(pins.size() - from));
  }
  for (size_t i = from; i < pins.size(); ++i) {
    Warn(repo_.Defer(pins[i].item, delay), pins[i]);
  }
}

absl::Duration PinTracker::RecheckDelay(const PinToCheck& pin) const {
  return BackoffDelay(options_.recheck, pin.recheck_step + 1);
}

void PinTracker::Warn(const absl::Status& saved, const Leased& p) const {
  if (saved.ok()) return;
  log::Warn("cannot record pin status",
            {{"pin", std::to_string(p.pin.id)},
             {"error", std::string(saved.message())}});
}

}  // namespace niftysave::tracker
