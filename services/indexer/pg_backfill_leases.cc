#include "services/indexer/pg_backfill_leases.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {
namespace {

// Blocks and chunk sizes stay below this so from + chunk and to + 1 fit a
// Postgres bigint with room to spare.
constexpr uint64_t kMaxBlock = uint64_t{1} << 62;
constexpr size_t kMaxErrorBytes = 2000;
constexpr size_t kMaxWorkerIdBytes = 256;

// Serialises the Adds of one chain (the pending-chunk cap is checked, then
// rows inserted) without locking the chains row the follower updates.
constexpr char kLockChain[] = R"sql(
SELECT pg_advisory_xact_lock(hashtextextended('backfill_ranges:' || $1::bigint, 0)),
       EXISTS (SELECT 1 FROM chains WHERE chain_id = $1::bigint))sql";

constexpr char kCountPending[] = R"sql(
SELECT count(*) FROM (SELECT 1 FROM backfill_ranges
                      WHERE chain_id = $1 LIMIT $2) p)sql";

// One row per chunk, in block order, so ids (the lease order) follow blocks.
constexpr char kInsertChunks[] = R"sql(
INSERT INTO backfill_ranges (chain_id, from_block, to_block, next_block)
SELECT $1, s, least(s + ($4::bigint - 1), $3::bigint), s
FROM generate_series($2::bigint, $3::bigint, $4::bigint) AS s
ORDER BY s)sql";

// The one lease shape (as work_queue): the oldest leasable chunk, skipping
// those another replica is leasing right now.
constexpr char kLease[] = R"sql(
WITH due AS (
  SELECT id FROM backfill_ranges
  WHERE chain_id = $1 AND lease_until <= now()
  ORDER BY id
  LIMIT 1
  FOR UPDATE SKIP LOCKED)
UPDATE backfill_ranges b
SET generation = b.generation + 1,
    attempts = b.attempts + 1,
    leased_by = $2,
    lease_until = now() + make_interval(secs => $3),
    updated_at = now()
FROM due
WHERE b.id = due.id
RETURNING b.id, b.from_block, b.to_block, b.next_block, b.generation,
          b.attempts)sql";

constexpr char kAdvance[] = R"sql(
UPDATE backfill_ranges
SET next_block = greatest(next_block, $3), updated_at = now()
WHERE id = $1 AND generation = $2)sql";

constexpr char kFinish[] = R"sql(
DELETE FROM backfill_ranges WHERE id = $1 AND generation = $2)sql";

constexpr char kRenew[] = R"sql(
UPDATE backfill_ranges
SET lease_until = now() + make_interval(secs => $3), updated_at = now()
WHERE id = $1 AND generation = $2)sql";

// A new generation, so the releasing holder cannot advance it afterwards.
constexpr char kRelease[] = R"sql(
UPDATE backfill_ranges
SET lease_until = now() + make_interval(secs => $3),
    leased_by = NULL,
    generation = generation + 1,
    last_error = $4,
    updated_at = now()
WHERE id = $1 AND generation = $2)sql";

// A dead holder's chunks, leasable again (a new generation, as kRelease).
constexpr char kReleaseHeld[] = R"sql(
UPDATE backfill_ranges
SET lease_until = now(),
    leased_by = NULL,
    generation = generation + 1,
    updated_at = now()
WHERE chain_id = $1 AND leased_by = $2 AND lease_until > now())sql";

constexpr char kPending[] = R"sql(
SELECT count(*), coalesce(sum(to_block - next_block + 1), 0)::bigint
FROM (SELECT to_block, next_block FROM backfill_ranges
      WHERE chain_id = $1 ORDER BY id LIMIT $2) p)sql";

// Taken when free (no row), expired, or ours (a renewal). Another replica
// taking over bumps the term.
constexpr char kAcquire[] = R"sql(
INSERT INTO chain_followers AS f (chain_id, holder, expires_at)
VALUES ($1, $2, now() + make_interval(secs => $3))
ON CONFLICT (chain_id) DO UPDATE
SET holder = excluded.holder,
    expires_at = excluded.expires_at,
    term = f.term + CASE WHEN f.holder = excluded.holder THEN 0 ELSE 1 END,
    acquired_at = CASE WHEN f.holder = excluded.holder THEN f.acquired_at
                       ELSE now() END
WHERE f.holder = excluded.holder OR f.expires_at <= now()
RETURNING f.term)sql";

// Expired rather than deleted, so the term keeps counting.
constexpr char kResign[] = R"sql(
UPDATE chain_followers SET expires_at = '-infinity'
WHERE chain_id = $1 AND holder = $2 AND expires_at > now())sql";

// clock_timestamp(): a long write transaction must not count from its start.
constexpr char kHeld[] = R"sql(
SELECT 1 FROM chain_followers
WHERE chain_id = $1 AND holder = $2 AND expires_at > clock_timestamp()
FOR SHARE)sql";

constexpr char kCurrent[] = R"sql(
SELECT holder, extract(epoch FROM expires_at - now())::float8, term
FROM chain_followers
WHERE chain_id = $1 AND expires_at > now())sql";

int64_t Db(uint64_t v) { return static_cast<int64_t>(v); }
double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

absl::Status Invalid(absl::string_view detail) {
  return ErrorWithReason(absl::StatusCode::kInvalidArgument, "backfill_invalid",
                         detail);
}

absl::Status CheckDuration(absl::Duration d, absl::Duration max,
                           absl::string_view what) {
  if (d <= absl::ZeroDuration() || d > max) {
    return Invalid(absl::StrCat(what, " must be in (0, ",
                                absl::FormatDuration(max), "], got ",
                                absl::FormatDuration(d)));
  }
  return absl::OkStatus();
}

absl::Status CheckWorker(absl::string_view worker_id) {
  if (worker_id.empty() || worker_id.size() > kMaxWorkerIdBytes) {
    return Invalid(absl::StrCat("worker id must be 1 to ", kMaxWorkerIdBytes,
                                " bytes, got ", worker_id.size()));
  }
  return absl::OkStatus();
}

std::string Truncated(absl::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  // Back off to a UTF-8 boundary: Postgres refuses a cut sequence.
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

}  // namespace

PgBackfillLeases::PgBackfillLeases(db::Pool& pool, BackfillLimits limits)
    : pool_(pool), limits_(limits) {}

absl::Status PgBackfillLeases::CheckLease(absl::Duration lease_duration) const {
  return CheckDuration(lease_duration, limits_.max_lease, "lease duration");
}

absl::StatusOr<uint64_t> PgBackfillLeases::Add(uint64_t chain_id, uint64_t from,
                                               uint64_t to,
                                               uint64_t chunk_blocks) {
  if (from > to) {
    return Invalid(absl::StrCat("backfill from ", from, " is after to ", to));
  }
  if (chunk_blocks == 0 || chunk_blocks >= kMaxBlock) {
    return Invalid(absl::StrCat("chunk_blocks must be in [1, ", kMaxBlock,
                                "), got ", chunk_blocks));
  }
  if (to >= kMaxBlock || chain_id >= kMaxBlock) {
    return Invalid(
        absl::StrCat("block ", to, " or chain ", chain_id, " is past 2^62"));
  }
  const uint64_t chunks = (to - from) / chunk_blocks + 1;
  if (chunks > limits_.max_chunks_per_add) {
    return ErrorWithReason(
        absl::StatusCode::kInvalidArgument, "range_too_large",
        absl::StrCat("backfill [", from, ", ", to, "] in chunks of ",
                     chunk_blocks, " blocks is ", chunks, " chunks; at most ",
                     limits_.max_chunks_per_add, " per request"));
  }
  uint64_t added = 0;
  absl::Status status = pool_.Run([&](pqxx::work& txn) -> absl::Status {
    pqxx::row lock = txn.exec_params1(kLockChain, Db(chain_id));
    if (!lock[1].as<bool>()) {
      return absl::NotFoundError(
          absl::StrCat("chain ", chain_id, " is not indexed here"));
    }
    const uint64_t cap = limits_.max_pending_chunks;
    const uint64_t waiting =
        txn.exec_params1(kCountPending, Db(chain_id), Db(cap + 1))[0]
            .as<int64_t>();
    if (waiting + chunks > cap) {
      return ErrorWithReason(absl::StatusCode::kResourceExhausted,
                             "backfill_queue_full",
                             absl::StrCat("chain ", chain_id, " has ", waiting,
                                          " backfill chunks waiting; ", chunks,
                                          " more would pass ", cap));
    }
    added = txn.exec_params(kInsertChunks, Db(chain_id), Db(from), Db(to),
                            Db(chunk_blocks))
                .affected_rows();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return added;
}

absl::StatusOr<std::optional<LeasedRange>> PgBackfillLeases::Lease(
    uint64_t chain_id, absl::string_view worker_id,
    absl::Duration lease_duration) {
  if (absl::Status s = CheckLease(lease_duration); !s.ok()) return s;
  if (absl::Status s = CheckWorker(worker_id); !s.ok()) return s;
  std::optional<LeasedRange> leased;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    pqxx::result rows = txn.exec_params(
        kLease, Db(chain_id), std::string(worker_id), Seconds(lease_duration));
    if (!rows.empty()) {
      const pqxx::row& row = rows[0];
      leased = LeasedRange{.id = row[0].as<int64_t>(),
                           .chain_id = chain_id,
                           .from_block = row[1].as<uint64_t>(),
                           .to_block = row[2].as<uint64_t>(),
                           .next_block = row[3].as<uint64_t>(),
                           .generation = row[4].as<int64_t>(),
                           .attempts = row[5].as<int>()};
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return leased;
}

bool PgBackfillLeases::Advance(pqxx::work& txn, const LeasedRange& lease,
                               uint64_t next_block) {
  if (next_block > lease.to_block) {
    return txn.exec_params(kFinish, lease.id, lease.generation)
               .affected_rows() == 1;
  }
  return txn.exec_params(kAdvance, lease.id, lease.generation, Db(next_block))
             .affected_rows() == 1;
}

absl::StatusOr<bool> PgBackfillLeases::Renew(const LeasedRange& lease,
                                             absl::Duration lease_duration) {
  if (absl::Status s = CheckLease(lease_duration); !s.ok()) return s;
  bool held = false;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    held = txn.exec_params(kRenew, lease.id, lease.generation,
                           Seconds(lease_duration))
               .affected_rows() == 1;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return held;
}

absl::StatusOr<bool> PgBackfillLeases::Release(const LeasedRange& lease,
                                               absl::string_view error,
                                               absl::Duration delay) {
  if (delay < absl::ZeroDuration() || delay > limits_.max_lease) {
    return Invalid(absl::StrCat("release delay must be in [0, ",
                                absl::FormatDuration(limits_.max_lease), "]"));
  }
  bool held = false;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    held = txn.exec_params(kRelease, lease.id, lease.generation, Seconds(delay),
                           Truncated(error, kMaxErrorBytes))
               .affected_rows() == 1;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return held;
}

absl::StatusOr<int64_t> PgBackfillLeases::ReleaseHeld(
    uint64_t chain_id, absl::string_view worker_id) {
  int64_t released = 0;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    released =
        txn.exec_params(kReleaseHeld, Db(chain_id), std::string(worker_id))
            .affected_rows();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return released;
}

absl::StatusOr<BackfillPending> PgBackfillLeases::Pending(uint64_t chain_id,
                                                          int64_t cap) {
  if (cap < 1) return Invalid("pending cap must be >= 1");
  BackfillPending pending;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    pqxx::row row = txn.exec_params1(kPending, Db(chain_id), cap);
    pending.chunks = row[0].as<uint64_t>();
    pending.blocks = row[1].as<uint64_t>();
    pending.capped = static_cast<int64_t>(pending.chunks) >= cap;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return pending;
}

PgFollowerLease::PgFollowerLease(db::Pool& pool, absl::Duration max_ttl)
    : pool_(pool), max_ttl_(max_ttl) {}

absl::StatusOr<bool> PgFollowerLease::TryAcquire(uint64_t chain_id,
                                                 absl::string_view worker_id,
                                                 absl::Duration ttl) {
  if (absl::Status s = CheckDuration(ttl, max_ttl_, "follower ttl"); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckWorker(worker_id); !s.ok()) return s;
  bool acquired = false;
  absl::Status status = pool_.Run([&](pqxx::work& txn) -> absl::Status {
    try {
      acquired = !txn.exec_params(kAcquire, Db(chain_id),
                                  std::string(worker_id), Seconds(ttl))
                      .empty();
    } catch (const pqxx::foreign_key_violation&) {
      // The transaction is aborted; returning an error rolls it back.
      return absl::NotFoundError(
          absl::StrCat("chain ", chain_id, " is not indexed here"));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return acquired;
}

absl::StatusOr<bool> PgFollowerLease::Resign(uint64_t chain_id,
                                             absl::string_view worker_id) {
  bool held = false;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    held = txn.exec_params(kResign, Db(chain_id), std::string(worker_id))
               .affected_rows() == 1;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return held;
}

bool PgFollowerLease::HeldInTxn(pqxx::work& txn, uint64_t chain_id,
                                absl::string_view worker_id) {
  return !txn.exec_params(kHeld, Db(chain_id), std::string(worker_id)).empty();
}

absl::StatusOr<std::optional<FollowerLease::Holder>> PgFollowerLease::Current(
    uint64_t chain_id) {
  std::optional<Holder> holder;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    pqxx::result rows = txn.exec_params(kCurrent, Db(chain_id));
    if (!rows.empty()) {
      holder = Holder{.worker_id = rows[0][0].as<std::string>(),
                      .remaining = absl::Seconds(rows[0][1].as<double>()),
                      .term = rows[0][2].as<int64_t>()};
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return holder;
}

}  // namespace niftysave::indexer
