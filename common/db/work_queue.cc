#include "common/db/work_queue.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/db/parked.h"
#include "common/db/prepared.h"
#include "common/runtime/log.h"
#include "common/runtime/utf8.h"

namespace niftysave::db {
namespace {

// The one lease query shape. The partial index work_queue_due finds the due
// items; the updates then go back to them by primary key (= ANY of an
// array: a join with the CTE was planned as a hash join over the whole
// queue, 48 ms instead of 16 ms for 2,000 of 158,000 items).
//
// Poison work is parked here. An item still marked leased (leased_by set,
// attempts > 0) when it comes due again lost its lease without an outcome:
// its worker crashed, hung, threw, or could not write what it found. Such
// losses in a row are counted in lost_leases; the $5-th one parks the item
// ('dead', reason lease_expired) instead of handing it out again. Every
// outcome (Reschedule*, Requeue, Enqueue) clears leased_by, so only
// consecutive lost leases count. Parked rows come back flagged, with
// attempts 0, for the caller to log.
constexpr char kLease[] = R"sql(
WITH due AS (
  SELECT item_id,
         leased_by IS NOT NULL AND attempts > 0
           AND lost_leases + 1 >= $5 AS poison
  FROM work_queue
  WHERE queue = $1 AND state = 'ready' AND run_after <= now()
  ORDER BY run_after
  LIMIT $2
  FOR UPDATE SKIP LOCKED),
parked AS (
  UPDATE work_queue w
  SET state = 'dead',
      lost_leases = w.lost_leases + 1,
      leased_by = NULL,
      last_error = left(format(
          'lease_expired: %s leases in a row ended without an outcome '
          '(the worker crashed, hung or could not record it)',
          w.lost_leases + 1) || coalesce('; before: ' || w.last_error, ''),
          2000),
      updated_at = now()
  WHERE w.queue = $1
    AND w.item_id = ANY(ARRAY(SELECT item_id FROM due WHERE poison))
  RETURNING w.item_id),
leased AS (
  UPDATE work_queue w
  SET attempts = w.attempts + 1,
      generation = w.generation + 1,
      run_after = now() + make_interval(secs => $3),
      lost_leases = CASE WHEN w.leased_by IS NOT NULL AND w.attempts > 0
                         THEN w.lost_leases + 1 ELSE 0 END,
      leased_by = $4,
      updated_at = now()
  WHERE w.queue = $1
    AND w.item_id = ANY(ARRAY(SELECT item_id FROM due WHERE NOT poison))
  RETURNING w.item_id, w.attempts, w.generation)
SELECT item_id, attempts, generation, false FROM leased
UNION ALL
SELECT item_id, 0, 0, true FROM parked)sql";

constexpr char kComplete[] = R"sql(
DELETE FROM work_queue WHERE queue = $1 AND item_id = $2 AND generation = $3)sql";

constexpr char kReschedule[] = R"sql(
UPDATE work_queue
SET run_after = now() + make_interval(secs => $4),
    last_error = $5,
    state = CASE WHEN $6 THEN 'dead' ELSE 'ready' END,
    leased_by = NULL,
    updated_at = now()
WHERE queue = $1 AND item_id = $2 AND generation = $3)sql";

// The batch forms of the two above: the fence is the (item_id, generation)
// pair, so a lost lease in the batch changes nothing of its item.
//
// Every statement that changes several of a queue's rows locks them first in
// item_id order (`fenced`: ORDER BY under FOR UPDATE locks in sorted order).
// A batch completed while the worker's heartbeat renews the same items is
// then never a lock cycle: in the 1,000,000-token run the two, joined in
// whatever order their plans read, deadlocked a dozen times
// (WorkQueueTest.RenewAndBatchOutcomesLockInIdOrder).
constexpr char kCompleteMany[] = R"sql(
WITH fenced AS (
  SELECT w.item_id FROM work_queue w
  JOIN unnest($2::bigint[], $3::bigint[]) AS u(item_id, generation)
    ON w.item_id = u.item_id AND w.generation = u.generation
  WHERE w.queue = $1
  ORDER BY w.item_id
  FOR UPDATE OF w)
DELETE FROM work_queue w
USING fenced f
WHERE w.queue = $1 AND w.item_id = f.item_id
RETURNING w.item_id)sql";

constexpr char kRescheduleMany[] = R"sql(
WITH fenced AS (
  SELECT w.item_id, u.delay, u.dead FROM work_queue w
  JOIN unnest($2::bigint[], $3::bigint[], $4::float8[], $5::bool[])
       AS u(item_id, generation, delay, dead)
    ON w.item_id = u.item_id AND w.generation = u.generation
  WHERE w.queue = $1
  ORDER BY w.item_id
  FOR UPDATE OF w)
UPDATE work_queue w
SET run_after = now() + make_interval(secs => f.delay),
    last_error = $6,
    state = CASE WHEN f.dead THEN 'dead' ELSE 'ready' END,
    leased_by = NULL,
    updated_at = now()
FROM fenced f
WHERE w.queue = $1 AND w.item_id = f.item_id
RETURNING w.item_id)sql";

constexpr char kRescheduleEach[] = R"sql(
WITH fenced AS (
  SELECT w.item_id, u.delay, u.dead, u.error FROM work_queue w
  JOIN unnest($2::bigint[], $3::bigint[], $4::float8[], $5::bool[], $6::text[])
       AS u(item_id, generation, delay, dead, error)
    ON w.item_id = u.item_id AND w.generation = u.generation
  WHERE w.queue = $1
  ORDER BY w.item_id
  FOR UPDATE OF w)
UPDATE work_queue w
SET run_after = now() + make_interval(secs => f.delay),
    last_error = f.error,
    state = CASE WHEN f.dead THEN 'dead' ELSE 'ready' END,
    leased_by = NULL,
    updated_at = now()
FROM fenced f
WHERE w.queue = $1 AND w.item_id = f.item_id
RETURNING w.item_id)sql";

// A hand-off in two statements whose cost is the hand-off's size whatever
// the queue's depth and whatever the planner's statistics say:
//
// New ids are inserted; ids already present are skipped by the insert's own
// primary-key probe (ON CONFLICT DO NOTHING takes no row lock, so a hand-off
// that repeats what the sender's transaction queued never waits for, or
// writes WAL for, a worker's lease). A look-up of the waiting ids by a join
// was planned from statistics: in a queue that grew faster than they did it
// became a hash anti-join over every waiting item, 150 ms a hand-off at
// 900,000 queued (bench/queue_bench.sh).
constexpr char kEnqueue[] = R"sql(
INSERT INTO work_queue (queue, item_id)
SELECT $1, unnest($2::bigint[])
ON CONFLICT (queue, item_id) DO NOTHING)sql";

// Then, only when some ids were present, the dead among them come back:
// the partial index work_queue_dead holds parked items only, so even a
// plan that ignores the ids reads no more than the parked items.
constexpr char kRevive[] = R"sql(
UPDATE work_queue
SET state = 'ready', attempts = 0, lost_leases = 0, leased_by = NULL,
    run_after = now(), updated_at = now()
WHERE queue = $1 AND item_id = ANY($2::bigint[]) AND state = 'dead')sql";

// Due now whatever the item's state, and a new generation so a lease in
// flight cannot complete it with what it read before.
constexpr char kRequeue[] = R"sql(
INSERT INTO work_queue (queue, item_id)
SELECT $1, unnest($2::bigint[])
ON CONFLICT (queue, item_id) DO UPDATE
SET state = 'ready', attempts = 0, lost_leases = 0, leased_by = NULL,
    run_after = now(), generation = work_queue.generation + 1,
    updated_at = now())sql";

// A restarted worker's own leases, due now. leased_by stays set (and
// attempts > 0), so the next Lease counts each as a lost lease, as it would
// have once the lease ran out.
constexpr char kReleaseHeld[] = R"sql(
UPDATE work_queue
SET run_after = now(), updated_at = now()
WHERE queue = $1 AND leased_by = $2 AND state = 'ready' AND run_after > now())sql";

// The heartbeat: fenced by generation and holder, so an item re-leased,
// re-queued or given an outcome is left alone; locked in item_id order like
// the batch outcomes above.
constexpr char kRenew[] = R"sql(
WITH fenced AS (
  SELECT w.item_id FROM work_queue w
  JOIN unnest($2::bigint[], $3::bigint[]) AS u(item_id, generation)
    ON w.item_id = u.item_id AND w.generation = u.generation
  WHERE w.queue = $1 AND w.state = 'ready' AND w.leased_by = $5
  ORDER BY w.item_id
  FOR UPDATE OF w)
UPDATE work_queue w
SET run_after = now() + make_interval(secs => $4), updated_at = now()
FROM fenced f
WHERE w.queue = $1 AND w.item_id = f.item_id
RETURNING w.item_id)sql";

// Capped counts: a scrape-driven gauge must cost the same with a million
// items queued as with ten, so each count stops at $2.
constexpr char kDepth[] = R"sql(
SELECT (SELECT count(*) FROM (SELECT 1 FROM work_queue
                              WHERE queue = $1 AND state = 'ready' LIMIT $2) r),
       (SELECT count(*) FROM (SELECT 1 FROM work_queue
                              WHERE queue = $1 AND state = 'dead' LIMIT $2) d))sql";

constexpr char kListDead[] = R"sql(
SELECT queue, item_id, attempts, lost_leases, coalesce(last_error, ''),
       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM work_queue
WHERE state = 'dead' AND ($1 = '' OR queue = $1)
ORDER BY updated_at DESC, queue, item_id
LIMIT $2)sql";

// $2 NULL: every dead item of the queue ($1 '' = every queue).
constexpr char kRetryDead[] = R"sql(
UPDATE work_queue
SET state = 'ready', attempts = 0, lost_leases = 0, leased_by = NULL,
    run_after = now(), generation = generation + 1, updated_at = now()
WHERE state = 'dead' AND ($1 = '' OR queue = $1)
  AND ($2::bigint[] IS NULL OR item_id = ANY($2::bigint[])))sql";

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

constexpr size_t kMaxErrorBytes = 2000;

// An error text Postgres will take (valid UTF-8, no NUL, bounded, never cut
// inside a character): error texts quote what servers sent.
std::string CleanError(absl::string_view error) {
  return ValidUtf8(error, kMaxErrorBytes);
}

// The per-item columns of a fenced batch statement, as array literals.
struct FenceColumns {
  void Add(const QueueItem& item, absl::Duration delay, bool is_dead) {
    const char* sep = ids.empty() ? "" : ",";
    ids.push_back(item.id);
    generations.push_back(item.generation);
    absl::StrAppend(&delays, sep, absl::StrFormat("%.6f", Seconds(delay)));
    absl::StrAppend(&dead, sep, is_dead ? "t" : "f");
  }
  std::string Delays() const { return absl::StrCat("{", delays, "}"); }
  std::string Dead() const { return absl::StrCat("{", dead, "}"); }

  std::vector<int64_t> ids, generations;
  std::string delays, dead;
};

std::vector<int64_t> Ids(const pqxx::result& rows) {
  std::vector<int64_t> ids;
  ids.reserve(rows.size());
  for (const auto& row : rows) ids.push_back(row[0].as<int64_t>());
  return ids;
}

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
    items = Lease(txn, limit);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return items;
}

std::vector<QueueItem> WorkQueue::Lease(pqxx::work& txn, int limit) const {
  std::vector<QueueItem> items;
  pqxx::result rows = Exec(txn, kLease, queue_, limit, Seconds(policy_.lease),
                           worker_id_, std::max(1, policy_.max_lost_leases));
  items.reserve(rows.size());
  std::vector<int64_t> parked;
  for (const auto& row : rows) {
    if (row[3].as<bool>()) {
      parked.push_back(row[0].as<int64_t>());
      continue;
    }
    items.push_back(
        {row[0].as<int64_t>(), row[1].as<int>(), row[2].as<int64_t>()});
  }
  Hold(items);
  if (!parked.empty()) {
    RecordParkedWork(
        txn, queue_, parked,
        absl::StrCat(std::max(1, policy_.max_lost_leases),
                     " leases in a row ended without an outcome (the worker "
                     "crashed, hung or could not record it); see `niftysave "
                     "queue dead --queue=",
                     queue_, "`"));
    log::Warn("parked poison work: leases kept ending without an outcome",
              {{"queue", queue_},
               {"items", absl::StrJoin(parked, ",")},
               {"hint", "niftysave queue dead --queue=" + queue_}});
  }
  return items;
}

bool WorkQueue::Complete(pqxx::work& txn, const QueueItem& item) const {
  Forget(item);
  return Exec(txn, kComplete, queue_, item.id, item.generation)
             .affected_rows() == 1;
}

bool WorkQueue::Reschedule(pqxx::work& txn, const QueueItem& item,
                           absl::string_view error,
                           absl::Duration delay) const {
  Forget(item);
  const bool dead = IsLastAttempt(item);
  return Exec(txn, kReschedule, queue_, item.id, item.generation,
              Seconds(DelayFor(item, delay)), CleanError(error), dead)
             .affected_rows() == 1;
}

std::vector<int64_t> WorkQueue::CompleteMany(
    pqxx::work& txn, const std::vector<QueueItem>& items) const {
  if (items.empty()) return {};
  std::vector<int64_t> ids, generations;
  ids.reserve(items.size());
  generations.reserve(items.size());
  for (const QueueItem& item : items) {
    Forget(item);
    ids.push_back(item.id);
    generations.push_back(item.generation);
  }
  return Ids(Exec(txn, kCompleteMany, queue_, BigintArray(ids),
                  BigintArray(generations)));
}

std::vector<int64_t> WorkQueue::RescheduleMany(
    pqxx::work& txn, const std::vector<QueueItem>& items,
    absl::string_view error, absl::Duration delay) const {
  if (items.empty()) return {};
  FenceColumns columns;
  for (const QueueItem& item : items) {
    Forget(item);
    columns.Add(item, DelayFor(item, delay), IsLastAttempt(item));
  }
  return Ids(Exec(txn, kRescheduleMany, queue_, BigintArray(columns.ids),
                  BigintArray(columns.generations), columns.Delays(),
                  columns.Dead(), CleanError(error)));
}

std::vector<int64_t> WorkQueue::RescheduleEach(
    pqxx::work& txn, const std::vector<QueueRetry>& retries) const {
  if (retries.empty()) return {};
  FenceColumns columns;
  std::vector<std::string> errors;
  errors.reserve(retries.size());
  for (const QueueRetry& r : retries) {
    Forget(r.item);
    columns.Add(r.item, DelayFor(r.item, r.delay), IsLastAttempt(r.item));
    errors.push_back(CleanError(r.error));
  }
  return Ids(Exec(txn, kRescheduleEach, queue_, BigintArray(columns.ids),
                  BigintArray(columns.generations), columns.Delays(),
                  columns.Dead(), TextArray(errors)));
}

absl::StatusOr<int64_t> WorkQueue::ReleaseHeld() {
  int64_t released = 0;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    released = Exec(txn, kReleaseHeld, queue_, worker_id_).affected_rows();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return released;
}

void WorkQueue::Hold(const std::vector<QueueItem>& items) const {
  if (policy_.renew_for <= absl::ZeroDuration()) return;
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (const QueueItem& item : items) held_[item.id] = {item.generation, now};
}

void WorkQueue::Forget(const QueueItem& item) const {
  if (policy_.renew_for <= absl::ZeroDuration()) return;  // nothing held
  absl::MutexLock lock(&mu_);
  auto it = held_.find(item.id);
  if (it != held_.end() && it->second.generation == item.generation) {
    held_.erase(it);
  }
}

void WorkQueue::KeepHolding(const std::vector<QueueItem>& items) const {
  if (policy_.renew_for <= absl::ZeroDuration()) return;  // nothing held
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (const QueueItem& item : items) {
    auto it = held_.find(item.id);
    if (it != held_.end() && it->second.generation == item.generation) {
      it->second.since = now;
    }
  }
}

std::vector<QueueItem> WorkQueue::Held() const {
  const absl::Time cutoff = absl::Now() - policy_.renew_for;
  std::vector<QueueItem> items;
  absl::MutexLock lock(&mu_);
  absl::erase_if(held_, [&](const auto& h) { return h.second.since < cutoff; });
  for (const auto& [id, h] : held_) items.push_back({id, 0, h.generation});
  return items;
}

absl::StatusOr<int64_t> WorkQueue::RenewHeld() {
  const std::vector<QueueItem> items = Held();
  if (items.empty()) return 0;
  std::vector<int64_t> ids, generations, renewed;
  for (const QueueItem& item : items) {
    ids.push_back(item.id);
    generations.push_back(item.generation);
  }
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    renewed =
        Ids(Exec(txn, kRenew, queue_, BigintArray(ids),
                 BigintArray(generations), Seconds(policy_.lease), worker_id_));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  // What was not renewed is no longer this worker's.
  const absl::flat_hash_set<int64_t> kept(renewed.begin(), renewed.end());
  for (const QueueItem& item : items) {
    if (!kept.contains(item.id)) Forget(item);
  }
  return static_cast<int64_t>(renewed.size());
}

absl::Duration WorkQueue::DelayFor(const QueueItem& item,
                                   absl::Duration delay) const {
  if (delay != absl::InfiniteDuration()) return delay;
  return BackoffDelay(policy_.backoff, item.attempts);
}

int WorkQueue::Enqueue(pqxx::work& txn, absl::string_view queue,
                       const std::vector<int64_t>& ids) {
  if (ids.empty()) return 0;
  const std::string array = BigintArray(ids);
  const int added = static_cast<int>(
      Exec(txn, kEnqueue, std::string(queue), array).affected_rows());
  if (static_cast<size_t>(added) == ids.size()) return added;
  return added +
         static_cast<int>(
             Exec(txn, kRevive, std::string(queue), array).affected_rows());
}

int WorkQueue::Requeue(pqxx::work& txn, absl::string_view queue,
                       const std::vector<int64_t>& ids) {
  if (ids.empty()) return 0;
  return static_cast<int>(
      Exec(txn, kRequeue, std::string(queue), BigintArray(ids))
          .affected_rows());
}

absl::StatusOr<WorkQueue::Depth> WorkQueue::GetDepth(int64_t cap) {
  Depth depth;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    pqxx::row row = Exec1(txn, kDepth, queue_, cap);
    depth.ready = row[0].as<int64_t>();
    depth.dead = row[1].as<int64_t>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return depth;
}

absl::StatusOr<std::vector<DeadItem>> ListDeadItems(Pool& pool,
                                                    const std::string& queue,
                                                    int limit) {
  std::vector<DeadItem> items;
  absl::Status status = pool.Run([&](pqxx::work& txn) {
    for (const auto& row : Exec(txn, kListDead, queue, limit)) {
      items.push_back({row[0].as<std::string>(), row[1].as<int64_t>(),
                       row[2].as<int>(), row[3].as<int>(),
                       row[4].as<std::string>(), row[5].as<std::string>()});
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return items;
}

absl::StatusOr<int64_t> RetryDeadItems(Pool& pool, const std::string& queue,
                                       const std::vector<int64_t>& ids) {
  if (!ids.empty() && queue.empty()) {
    return absl::InvalidArgumentError("item ids need a queue (--queue)");
  }
  int64_t count = 0;
  absl::Status status = pool.Run([&](pqxx::work& txn) {
    const std::optional<std::string> id_array =
        ids.empty() ? std::nullopt : std::optional(BigintArray(ids));
    count = Exec(txn, kRetryDead, queue, id_array).affected_rows();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return count;
}

}  // namespace niftysave::db
