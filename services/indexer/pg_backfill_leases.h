#pragma once

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/db/pool.h"
#include "pqxx/pqxx"
#include "services/indexer/backfill_leases.h"

namespace niftysave::indexer {

// BackfillLeases on Postgres (table backfill_ranges, migration 0009).
class PgBackfillLeases final : public BackfillLeases {
 public:
  explicit PgBackfillLeases(db::Pool& pool, BackfillLimits limits = {});

  absl::StatusOr<uint64_t> Add(uint64_t chain_id, uint64_t from, uint64_t to,
                               uint64_t chunk_blocks) override;
  absl::StatusOr<std::optional<LeasedRange>> Lease(
      uint64_t chain_id, absl::string_view worker_id,
      absl::Duration lease_duration) override;
  absl::StatusOr<bool> Renew(const LeasedRange& lease,
                             absl::Duration lease_duration) override;
  absl::StatusOr<bool> Release(
      const LeasedRange& lease, absl::string_view error,
      absl::Duration delay = absl::ZeroDuration()) override;
  absl::StatusOr<BackfillPending> Pending(uint64_t chain_id,
                                          int64_t cap = 100000) override;

  // At start-up: the chunks `worker_id` held (this replica's predecessor,
  // under the same stable id) become leasable now, under a new generation,
  // instead of after their lease. Returns how many.
  absl::StatusOr<int64_t> ReleaseHeld(uint64_t chain_id,
                                      absl::string_view worker_id);

  // Records progress in the caller's transaction (the one that writes the
  // records of [lease.next_block, next_block - 1]): the chunk resumes at
  // `next_block`, and is done (its row deleted) once next_block passes
  // to_block. Progress never goes backwards (a lower next_block keeps the
  // stored one). Returns false when the lease was lost. pqxx exceptions
  // propagate to the caller's transaction runner (db::Pool::Run).
  static bool Advance(pqxx::work& txn, const LeasedRange& lease,
                      uint64_t next_block);

 private:
  absl::Status CheckLease(absl::Duration lease_duration) const;

  db::Pool& pool_;
  const BackfillLimits limits_;
};

// FollowerLease on Postgres (table chain_followers, migration 0009).
class PgFollowerLease final : public FollowerLease {
 public:
  explicit PgFollowerLease(db::Pool& pool,
                           absl::Duration max_ttl = absl::Hours(1));

  absl::StatusOr<bool> TryAcquire(uint64_t chain_id,
                                  absl::string_view worker_id,
                                  absl::Duration ttl) override;
  absl::StatusOr<bool> Resign(uint64_t chain_id,
                              absl::string_view worker_id) override;
  absl::StatusOr<std::optional<Holder>> Current(uint64_t chain_id) override;

  // For the follower's write transaction: true if `worker_id` still holds
  // an unexpired lease, and locks the row (FOR SHARE) so no takeover commits
  // before this transaction ends. A false answer should abort the write.
  static bool HeldInTxn(pqxx::work& txn, uint64_t chain_id,
                        absl::string_view worker_id);

 private:
  db::Pool& pool_;
  const absl::Duration max_ttl_;
};

}  // namespace niftysave::indexer
