#pragma once

// A leased queue item and the policy it is leased under, without pqxx: logic
// classes and their repository interfaces take QueueItem by value, so they
// include this header, not the work queue (common/db/work_queue.h).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/runtime/backoff.h"

namespace niftysave::db {

// One leased unit of work. `attempts` counts tries, this one included (for
// back-off and giving up). `generation` fences the lease: once it expires and
// someone else leases the item, or the item is re-queued (Requeue), this
// holder's Complete/Reschedule no longer match and change nothing.
struct QueueItem {
  int64_t id = 0;
  int attempts = 0;
  int64_t generation = 0;
};

// One item to reschedule with its own error and delay (RescheduleEach).
struct QueueRetry {
  QueueItem item;
  std::string error;
  // Due again after this; InfiniteDuration means the policy's back-off for
  // the item's attempt count.
  absl::Duration delay = absl::InfiniteDuration();
};

struct QueuePolicy {
  absl::Duration lease = absl::Minutes(2);
  int max_attempts = 8;
  // Leases in a row that may end without an outcome (the worker crashed,
  // hung, threw, or could not write) before the item is parked 'dead' with
  // reason lease_expired instead of being handed out again.
  int max_lost_leases = 5;
  // How long heartbeats (RenewHeld, run by a LeaseKeeper) may keep renewing
  // a held item's lease, counted from when it was leased: the longest a step
  // may take. Zero: never renewed, the lease is all a step gets.
  absl::Duration renew_for = absl::ZeroDuration();
  BackoffPolicy backoff;
};

// How a worker step starts: the leased batch; when leasing failed (Postgres
// down or failing), the failure logged, said rather than swallowed, and an
// empty batch, so the worker waits its poll interval and tries again.
std::vector<QueueItem> LeasedOrLogged(
    absl::StatusOr<std::vector<QueueItem>> leased, absl::string_view what);

// The record ids of a leased batch, for the step's one batch load.
std::vector<int64_t> IdsOf(const std::vector<QueueItem>& items);

}  // namespace niftysave::db
