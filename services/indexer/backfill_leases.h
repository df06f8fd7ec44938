#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db/pool.h"
#include "pqxx/pqxx"

namespace niftysave::indexer {

// One leased backfill chunk: blocks [next_block, to_block] are still to be
// indexed. `generation` fences the lease: once it expires and another
// replica leases the chunk, this holder's Advance/Renew/Release match nothing
// and return false.
struct LeasedRange {
  int64_t id = 0;
  uint64_t chain_id = 0;
  uint64_t from_block = 0;
  uint64_t to_block = 0;
  uint64_t next_block = 0;
  int64_t generation = 0;
  int attempts = 0;  // leases of this chunk, this one included
};

// A chain's backfill chunks still to do (leased or not).
struct BackfillPending {
  uint64_t chunks = 0;
  uint64_t blocks = 0;  // blocks still to index in those chunks
  bool capped = false;  // `cap` chunks or more wait: the counts stop there
};

struct BackfillLimits {
  // Chunks one Add may create; a larger request is refused.
  uint64_t max_chunks_per_add = 100000;
  // Chunks a chain may have waiting; an Add that would pass it is refused.
  uint64_t max_pending_chunks = 1000000;
  // Longest lease (and shortest is anything above zero).
  absl::Duration max_lease = absl::Hours(1);
};

// Backfill ranges kept in Postgres (table backfill_ranges) and shared by
// every indexer replica of a chain: a request is split into chunks, each
// leased by one replica at a time (FOR UPDATE SKIP LOCKED, deadline on the
// database clock), so a restart loses nothing and several replicas work one
// request in parallel. A finished chunk's row is deleted.
class BackfillLeases {
 public:
  explicit BackfillLeases(db::Pool& pool, BackfillLimits limits = {});

  // Queues [from, to] in chunks of at most `chunk_blocks` blocks; returns the
  // number of chunks added. InvalidArgument (reason `backfill_invalid`) for
  // from > to, chunk_blocks == 0 or blocks past 2^62; InvalidArgument (reason
  // `range_too_large`) past max_chunks_per_add; ResourceExhausted (reason
  // `backfill_queue_full`) past max_pending_chunks; NotFound for a chain with
  // no `chains` row. Overlapping requests are kept as they are (indexing a
  // range twice changes nothing).
  absl::StatusOr<uint64_t> Add(uint64_t chain_id, uint64_t from, uint64_t to,
                               uint64_t chunk_blocks);

  // Leases the oldest chunk of the chain whose lease is free or expired,
  // until now() + lease_duration, bumping its generation and attempts.
  // nullopt when there is none. worker_id (1 to 256 bytes) is recorded in
  // leased_by for operators; the lease itself is the generation.
  absl::StatusOr<std::optional<LeasedRange>> Lease(
      uint64_t chain_id, absl::string_view worker_id,
      absl::Duration lease_duration);

  // Records progress in the caller's transaction (the one that writes the
  // records of [lease.next_block, next_block - 1]): the chunk resumes at
  // `next_block`, and is done (its row deleted) once next_block passes
  // to_block. Progress never goes backwards (a lower next_block keeps the
  // stored one). Returns false when the lease was lost. pqxx exceptions
  // propagate to the caller's transaction runner (db::Pool::Run).
  static bool Advance(pqxx::work& txn, const LeasedRange& lease,
                      uint64_t next_block);

  // Pushes the lease deadline to now() + lease_duration. false when lost.
  absl::StatusOr<bool> Renew(const LeasedRange& lease,
                             absl::Duration lease_duration);
  // Gives the chunk up: leasable again after `delay` (now by default), with
  // `error` (truncated to 2000 bytes) kept in last_error. false when lost.
  absl::StatusOr<bool> Release(const LeasedRange& lease,
                               absl::string_view error,
                               absl::Duration delay = absl::ZeroDuration());

  // What the chain has waiting (leased or not), for GetStatus and metrics;
  // reads at most `cap` rows so its cost is bounded.
  absl::StatusOr<BackfillPending> Pending(uint64_t chain_id,
                                          int64_t cap = 100000);

 private:
  absl::Status CheckLease(absl::Duration lease_duration) const;

  db::Pool& pool_;
  const BackfillLimits limits_;
};

// Which replica of a chain's indexer follows the head (table
// chain_followers): one holder at a time, with a deadline on the database
// clock. The holder calls TryAcquire again well before the TTL runs out to
// renew; when it returns false the replica has lost (or never had) the
// follower role and should only work backfill chunks.
class FollowerLease {
 public:
  explicit FollowerLease(db::Pool& pool,
                         absl::Duration max_ttl = absl::Hours(1));

  // Acquires the role when it is free, expired or already ours (then it
  // renews it) until now() + ttl. false when another replica holds it.
  absl::StatusOr<bool> TryAcquire(uint64_t chain_id,
                                  absl::string_view worker_id,
                                  absl::Duration ttl);
  // Gives the role up at once if we hold it (returns whether we did).
  absl::StatusOr<bool> Resign(uint64_t chain_id, absl::string_view worker_id);

  // For the follower's write transaction: true if `worker_id` still holds
  // an unexpired lease, and locks the row (FOR SHARE) so no takeover commits
  // before this transaction ends. A false answer should abort the write.
  static bool HeldInTxn(pqxx::work& txn, uint64_t chain_id,
                        absl::string_view worker_id);

  struct Holder {
    std::string worker_id;
    absl::Duration remaining;  // until it expires (database clock)
    int64_t term = 0;          // bumped each time another replica takes over
  };
  // The current unexpired holder, if any (for GetStatus).
  absl::StatusOr<std::optional<Holder>> Current(uint64_t chain_id);

 private:
  db::Pool& pool_;
  const absl::Duration max_ttl_;
};

}  // namespace niftysave::indexer
