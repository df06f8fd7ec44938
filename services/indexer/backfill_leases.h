#pragma once
// Where replicas of one chain's indexer meet: the backfill chunks they share
// and the follower role one of them holds. Interfaces only; the Postgres
// implementations are in pg_backfill_leases.h.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/indexer/indexer_model.h"

namespace niftysave::indexer {

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
  virtual ~BackfillLeases() = default;

  // Queues [from, to] in chunks of at most `chunk_blocks` blocks; returns the
  // number of chunks added. InvalidArgument (reason `backfill_invalid`) for
  // from > to, chunk_blocks == 0 or blocks past 2^62; InvalidArgument (reason
  // `range_too_large`) past max_chunks_per_add; ResourceExhausted (reason
  // `backfill_queue_full`) past max_pending_chunks; NotFound for a chain with
  // no `chains` row. Overlapping requests are kept as they are (indexing a
  // range twice changes nothing).
  virtual absl::StatusOr<uint64_t> Add(uint64_t chain_id, uint64_t from,
                                       uint64_t to, uint64_t chunk_blocks) = 0;

  // Leases the oldest chunk of the chain whose lease is free or expired,
  // until now() + lease_duration, bumping its generation and attempts.
  // nullopt when there is none. worker_id (1 to 256 bytes) is recorded in
  // leased_by for operators; the lease itself is the generation.
  virtual absl::StatusOr<std::optional<LeasedRange>> Lease(
      uint64_t chain_id, absl::string_view worker_id,
      absl::Duration lease_duration) = 0;

  // Pushes the lease deadline to now() + lease_duration. false when lost.
  virtual absl::StatusOr<bool> Renew(const LeasedRange& lease,
                                     absl::Duration lease_duration) = 0;
  // Gives the chunk up: leasable again after `delay` (now by default), with
  // `error` (truncated to 2000 bytes) kept in last_error. false when lost.
  virtual absl::StatusOr<bool> Release(
      const LeasedRange& lease, absl::string_view error,
      absl::Duration delay = absl::ZeroDuration()) = 0;

  // What the chain has waiting (leased or not), for GetStatus and metrics;
  // reads at most `cap` rows so its cost is bounded.
  virtual absl::StatusOr<BackfillPending> Pending(uint64_t chain_id,
                                                  int64_t cap = 100000) = 0;
};

// Which replica of a chain's indexer follows the head (table
// chain_followers): one holder at a time, with a deadline on the database
// clock. The holder calls TryAcquire again well before the TTL runs out to
// renew; when it returns false the replica has lost (or never had) the
// follower role and should only work backfill chunks.
class FollowerLease {
 public:
  virtual ~FollowerLease() = default;

  // Acquires the role when it is free, expired or already ours (then it
  // renews it) until now() + ttl. false when another replica holds it.
  virtual absl::StatusOr<bool> TryAcquire(uint64_t chain_id,
                                          absl::string_view worker_id,
                                          absl::Duration ttl) = 0;
  // Gives the role up at once if we hold it (returns whether we did).
  virtual absl::StatusOr<bool> Resign(uint64_t chain_id,
                                      absl::string_view worker_id) = 0;

  struct Holder {
    std::string worker_id;
    absl::Duration remaining;  // until it expires (database clock)
    int64_t term = 0;          // bumped each time another replica takes over
  };
  // The current unexpired holder, if any (for GetStatus).
  virtual absl::StatusOr<std::optional<Holder>> Current(uint64_t chain_id) = 0;
};

}  // namespace niftysave::indexer
