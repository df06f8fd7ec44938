#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/db/pool.h"
#include "common/db/queue_item.h"

namespace niftysave::db {

// A named queue in the `work_queue` table ('extract', 'pin', 'track'). Items
// are ids of rows in the queue's record table; the record holds the state, the
// queue only says "look at this again at run_after".
class WorkQueue {
 public:
  WorkQueue(Pool& pool, std::string queue, std::string worker_id,
            QueuePolicy policy);

  // Leases up to `limit` due items (FOR UPDATE SKIP LOCKED), pushing their
  // run_after to the lease deadline. Due items whose last
  // `policy.max_lost_leases` leases all ended without an outcome are parked
  // 'dead' instead (logged, never returned).
  absl::StatusOr<std::vector<QueueItem>> Lease(int limit);
  // The same, inside the caller's transaction (the rows stay locked until it
  // commits).
  std::vector<QueueItem> Lease(pqxx::work& txn, int limit) const;

  // These take the caller's transaction so the record's new state and the
  // queue's change commit together. They return false when the lease was
  // lost (the item was re-leased by someone else).
  bool Complete(pqxx::work& txn, const QueueItem& item) const;
  // Due again after `delay`, or the policy's back-off for this attempt.
  bool Reschedule(pqxx::work& txn, const QueueItem& item,
                  absl::string_view error,
                  absl::Duration delay = absl::InfiniteDuration()) const;

  // The batch forms: one set-based statement each, whatever the batch size,
  // none for an empty batch. Each item is fenced by its generation as above.
  //
  // Completes the items whose lease is still held (generation matches), in
  // the caller's transaction; returns the ids completed (lost leases are left
  // out). An id passed twice with different generations can match only its
  // newest generation.
  std::vector<int64_t> CompleteMany(pqxx::work& txn,
                                    const std::vector<QueueItem>& items) const;
  // Reschedules the items whose lease is still held: each due after `delay`,
  // or the policy's back-off for its own attempt count; items on their last
  // attempt go 'dead'. Returns the ids rescheduled (the ones gone dead
  // included).
  std::vector<int64_t> RescheduleMany(
      pqxx::work& txn, const std::vector<QueueItem>& items,
      absl::string_view error,
      absl::Duration delay = absl::InfiniteDuration()) const;
  // RescheduleMany with an error and a delay per item.
  std::vector<int64_t> RescheduleEach(
      pqxx::work& txn, const std::vector<QueueRetry>& retries) const;

  // Makes every lease this worker id holds on the queue due now: a restarted
  // worker (same --worker_id) takes back at once what its predecessor held
  // instead of waiting out the lease. Each still counts as a lost lease when
  // leased again (see Lease). One statement; returns how many were released.
  // Two live workers must never share an id: this would release the other's
  // leases.
  absl::StatusOr<int64_t> ReleaseHeld();

  // Heartbeat: pushes the lease deadline of the items this object leased and
  // has not yet recorded an outcome for to now + lease, so a step longer than
  // the lease keeps its items. Fenced by generation and holder: an item
  // re-leased, re-queued or rescheduled meanwhile is not renewed and is
  // forgotten, and so is one held longer than policy.renew_for (a hung or
  // failed step lets it go: renew_for counts from the lease, or from the
  // last KeepHolding). One statement; returns how many were renewed.
  absl::StatusOr<int64_t> RenewHeld();
  // The step working `items` has finished a unit of its work and goes on
  // with them: their renewal window (policy.renew_for) starts again now. So
  // renew_for bounds one unit of a step (one resource, one request), not a
  // whole batch of them, and a step that stops making progress still lets
  // its items go. Items not held (any more) are ignored. In memory only.
  void KeepHolding(const std::vector<QueueItem>& items) const;
  // The items RenewHeld would renew now.
  std::vector<QueueItem> Held() const;

  bool IsLastAttempt(const QueueItem& item) const {
    return item.attempts >= policy_.max_attempts;
  }

  // Adds items (or revives dead ones) due now; items already queued keep
  // their schedule, so a replayed notification never disturbs a lease.
  // Returns how many were added or revived.
  static int Enqueue(pqxx::work& txn, absl::string_view queue,
                     const std::vector<int64_t>& ids);
  // For changed records (a new token URI, a refresh): due now even if queued
  // or leased, and a lease in flight is fenced off, so the change is never
  // lost behind a worker that read the old record.
  static int Requeue(pqxx::work& txn, absl::string_view queue,
                     const std::vector<int64_t>& ids);

  // Items waiting (due or not, leased or not) and dead, for metrics; each
  // count stops at `cap` so the query's cost is bounded.
  struct Depth {
    int64_t ready = 0;
    int64_t dead = 0;
  };
  absl::StatusOr<Depth> GetDepth(int64_t cap = 100000);

  const QueuePolicy& policy() const { return policy_; }
  const std::string& name() const { return queue_; }

 private:
  // `delay`, or the policy's back-off for the item's attempt when infinite.
  absl::Duration DelayFor(const QueueItem& item, absl::Duration delay) const;

  Pool& pool_;
  const std::string queue_;
  const std::string worker_id_;
  const QueuePolicy policy_;

  // Leased here, outcome not yet recorded: item id -> (generation, since).
  void Hold(const std::vector<QueueItem>& items) const;
  void Forget(const QueueItem& item) const;
  struct Holding {
    int64_t generation;
    absl::Time since;
  };
  mutable absl::Mutex mu_;
  mutable absl::flat_hash_map<int64_t, Holding> held_ ABSL_GUARDED_BY(mu_);
};

// The operator's view of parked work (`niftysave queue dead|retry`).
struct DeadItem {
  std::string queue;
  int64_t item_id = 0;
  int attempts = 0;
  int lost_leases = 0;
  std::string last_error;
  std::string updated_at;  // ISO 8601, UTC
};
// Parked items, newest first; `queue` "" means every queue. At most `limit`.
absl::StatusOr<std::vector<DeadItem>> ListDeadItems(Pool& pool,
                                                    const std::string& queue,
                                                    int limit);
// Puts parked items back: due now, attempts and lost leases from zero. Only
// `ids` when given (of `queue`, which is then required), otherwise every
// parked item of `queue` ("" = every queue). Returns how many came back.
absl::StatusOr<int64_t> RetryDeadItems(Pool& pool, const std::string& queue,
                                       const std::vector<int64_t>& ids);

}  // namespace niftysave::db
