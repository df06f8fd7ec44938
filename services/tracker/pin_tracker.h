#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/ipfs/pin_backend.h"
#include "common/runtime/backoff.h"
#include "services/tracker/request_budget.h"
#include "services/tracker/tracker_repository.h"

namespace niftysave::tracker {

struct PinTrackerOptions {
  int batch_size = 32;  // pins leased per step, at most
  // Re-check schedule of a pin not pinned yet, per pin (pins.recheck_step).
  BackoffPolicy recheck;
  // Status requests (each StatusMany batch, each re-pin) a second, per
  // backend: the cost of polling does not grow with the number of pins.
  double requests_per_second = 10;
  // The longest a step waits for the budget; pins that would wait longer
  // are deferred (and fewer are leased in the first place).
  absl::Duration max_budget_wait = absl::Seconds(5);
  // New pin requests after the backend reports a pin failed; then the pin
  // (and its resources) are failed, and re-checked every `failed_recheck`.
  int max_repins = 3;
  absl::Duration failed_recheck = absl::Hours(6);
  // A re-pin whose (CID, backend) another live lease has claimed (the
  // pinner asking for the same CID now) is looked at again after this.
  absl::Duration claim_busy_wait = absl::Seconds(10);
};

// The longest a Step may go between two reports of progress (it reports
// after each status request and each pin's answer, KeepHolding): a wait of
// up to max_budget_wait for the backend's request budget and a status
// request (the slowest of `backends`' PinBackend::longest_status_call);
// then, for a pin lost or failed, another budget wait and a re-pin (their
// longest_pin_call); and a minute. The heartbeat renews a step's
// leases this long after its last progress (QueuePolicy::renew_for): a slow
// backend must not let them lapse mid-step, or another worker checks the
// same pins again and, after max_lost_leases such steps, they are parked
// until an operator retries them.
absl::Duration LongestCheck(
    const PinTrackerOptions& options,
    const std::map<std::string, ipfs::PinBackend*>& backends);

// What the tracker saw, for metrics. Any member may be empty.
struct PinTrackerObserver {
  // One status request to `backend`: "ok" or the failure's reason.
  std::function<void(const std::string& backend, const std::string& outcome)>
      status_request;
  // One pin's state as its backend reported it ("missing": no pin there).
  std::function<void(const std::string& backend, const std::string& state)>
      pin_checked;
  // One failed pin: "requested" (re-pinned), a refused request's reason,
  // "exhausted" (no re-pins left) or "claimed_elsewhere" (deferred: the
  // pinner or another tracker is requesting the same pin).
  std::function<void(const std::string& backend, const std::string& outcome)>
      repin;
  // Pins not checked this time because the budget was spent.
  std::function<void(const std::string& backend, int pins)> deferred;
};

// One worker step: lease pins from the 'track' queue, ask each backend where
// they stand with StatusMany in batches of max_status_batch(), each request
// paid for from that backend's RequestBudget, and record the answers:
//   pinned            → the pin, its resources and their tokens move on;
//   queued / pinning  → looked at again on the pin's back-off;
//   failed / missing  → re-pinned by CID on the same backend, up to
//                       max_repins; after that failed, re-checked every
//                       failed_recheck, revived if it is ever pinned.
// Re-pinning by CID covers uploaded content too: the backend that took the
// upload holds the blocks (kubo, car-store), and a pinning service fetches
// the CID from the network. When the blocks are gone everywhere the new pin
// fails as well and the resource ends failed; re-uploading from the source
// would be the pinner's job (re-queue the resource), not done here.
class PinTracker {
 public:
  PinTracker(TrackerRepository& repo,
             std::map<std::string, ipfs::PinBackend*> backends,
             PinTrackerOptions options, PinTrackerObserver observer = {});
  int Step();

 private:
  struct Leased {
    db::QueueItem item;
    PinToCheck pin;
  };
  struct Backend {
    ipfs::PinBackend* backend;
    std::unique_ptr<RequestBudget> budget;
  };

  // How many pins the budgets let this step check without a long wait.
  int LeaseLimit();
  // Checks `pins` (all on `b`) in StatusMany batches; defers the rest when
  // the budget runs out. `step`: every item the step leased, kept held
  // after each request (TrackerRepository::KeepHolding).
  void CheckAll(const std::string& name, Backend& b,
                const std::vector<Leased>& pins,
                const std::vector<db::QueueItem>& step);
  // Takes a budget token, waiting up to max_budget_wait; false when the
  // wait would be longer (the token is given back).
  bool Spend(Backend& b, absl::Duration* wait_instead);
  // A pinned or in-flight answer joins `checked`; a lost or failed pin is
  // re-pinned here.
  void Record(const std::string& name, Backend& b, const Leased& p,
              std::optional<ipfs::PinState> state,
              std::vector<CheckedPin>& checked);
  void SaveChecked(const std::vector<CheckedPin>& checked);
  void Repin(const std::string& name, Backend& b, const Leased& p,
             const std::string& why);
  // Takes the re-pin's (CID, backend) claim; when another live lease holds
  // it (or the claim cannot be asked), defers the item and returns false.
  bool Claim(const std::string& name, const Leased& p);
  void Defer(const std::string& name, const std::vector<Leased>& pins,
             size_t from, absl::Duration delay);
  absl::Duration RecheckDelay(const PinToCheck& pin) const;
  void Warn(const absl::Status& saved, const Leased& p) const;

  TrackerRepository& repo_;
  std::map<std::string, Backend> backends_;
  const PinTrackerOptions options_;
  const PinTrackerObserver observer_;
};

}  // namespace niftysave::tracker
