#include "common/db/work_queue.h"

#include "absl/strings/str_cat.h"
#include "common/runtime/log.h"

namespace niftysave::db {
namespace {

// The one lease query shape. The partial index work_queue_due serves it.
constexpr char kLease[] = R"sql(
WITH due AS (
  SELECT queue, item_id FROM work_queue
  WHERE queue = $1 AND state = 'ready' AND run_after <= now()
  ORDER BY run_after
  LIMIT $2
  FOR UPDATE SKIP LOCKED)
UPDATE work_queue w
SET attempts = w.attempts + 1,
    generation = w.generation + 1,
    run_after = now() + make_interval(secs => $3),
    leased_by = $4,
    updated_at = now()
FROM due
WHERE w.queue = due.queue AND w.item_id = due.item_id
RETURNING w.item_id, w.attempts, w.generation)sql";

constexpr char kComplete[] = R"sql(
DELETE FROM work_queue WHERE queue = $1 AND item_id = $2 AND generation = $3)sql";

constexpr char kReschedule[] = R"sql(
UPDATE work_queue
SET run_after = now() + make_interval(secs => $4),
    last_error = $5,
    state = CASE WHEN $6 THEN 'dead' ELSE 'ready' END,
    updated_at = now()
WHERE queue = $1 AND item_id = $2 AND generation = $3)sql";

constexpr char kEnqueue[] = R"sql(
INSERT INTO work_queue (queue, item_id)
SELECT $1, unnest($2::bigint[])
ON CONFLICT (queue, item_id) DO UPDATE
SET state = 'ready', attempts = 0, run_after = now(), updated_at = now()
WHERE work_queue.state = 'dead')sql";

// Due now whatever the item's state, and a new generation so a lease in
// flight cannot complete it with what it read before.
constexpr char kRequeue[] = R"sql(
INSERT INTO work_queue (queue, item_id)
SELECT $1, unnest($2::bigint[])
ON CONFLICT (queue, item_id) DO UPDATE
SET state = 'ready', attempts = 0, run_after = now(),
    generation = work_queue.generation + 1, updated_at = now())sql";

// Capped counts: a scrape-driven gauge must cost the same with a million
// items queued as with ten, so each count stops at $2.
constexpr char kDepth[] = R"sql(
SELECT (SELECT count(*) FROM (SELECT 1 FROM work_queue
                              WHERE queue = $1 AND state = 'ready' LIMIT $2) r),
       (SELECT count(*) FROM (SELECT 1 FROM work_queue
                              WHERE queue = $1 AND state = 'dead' LIMIT $2) d))sql";

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

}  // namespace

WorkQueue::WorkQueue(Pool& pool, std::string queue, std::string worker_id,
                     QueuePolicy policy)
    : pool_(pool),
      queue_(std::move(queue)),
      worker_id_(std::move(worker_id)),
      policy_(policy) {}

absl::StatusOr<std::vector<QueueItem>> WorkQueue::Lease(int limit) {
  std::vector<QueueItem> items;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    pqxx::result rows = txn.exec_params(kLease, queue_, limit,
                                        Seconds(policy_.lease), worker_id_);
    for (const auto& row : rows) {
      items.push_back(
          {row[0].as<int64_t>(), row[1].as<int>(), row[2].as<int64_t>()});
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return items;
}

bool WorkQueue::Complete(pqxx::work& txn, const QueueItem& item) const {
  return txn.exec_params(kComplete, queue_, item.id, item.generation)
             .affected_rows() == 1;
}

bool WorkQueue::Reschedule(pqxx::work& txn, const QueueItem& item,
                           absl::string_view error,
                           absl::Duration delay) const {
  if (delay == absl::InfiniteDuration()) {
    delay = BackoffDelay(policy_.backoff, item.attempts);
  }
  const bool dead = IsLastAttempt(item);
  return txn.exec_params(kReschedule, queue_, item.id, item.generation,
                         Seconds(delay), std::string(error.substr(0, 2000)),
                         dead)
             .affected_rows() == 1;
}

int WorkQueue::Enqueue(pqxx::work& txn, absl::string_view queue,
                       const std::vector<int64_t>& ids) {
  if (ids.empty()) return 0;
  return static_cast<int>(
      txn.exec_params(kEnqueue, std::string(queue), BigintArray(ids))
          .affected_rows());
}

int WorkQueue::Requeue(pqxx::work& txn, absl::string_view queue,
                       const std::vector<int64_t>& ids) {
  if (ids.empty()) return 0;
  return static_cast<int>(
      txn.exec_params(kRequeue, std::string(queue), BigintArray(ids))
          .affected_rows());
}

absl::StatusOr<WorkQueue::Depth> WorkQueue::GetDepth(int64_t cap) {
  Depth depth;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    pqxx::row row = txn.exec_params1(kDepth, queue_, cap);
    depth.ready = row[0].as<int64_t>();
    depth.dead = row[1].as<int64_t>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return depth;
}

int HandleLeased(const absl::StatusOr<std::vector<QueueItem>>& leased,
                 const std::function<void(const QueueItem&)>& handle) {
  if (!leased.ok()) {
    log::Warn("cannot lease work",
              {{"error", std::string(leased.status().message())}});
    return 0;
  }
  for (const QueueItem& item : *leased) handle(item);
  return static_cast<int>(leased->size());
}

}  // namespace niftysave::db
