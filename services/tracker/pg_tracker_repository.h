#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "services/tracker/tracker_repository.h"

namespace niftysave::tracker {

// The tracker's records in Postgres: every statement the tracker runs is in
// pg_tracker_repository.cc. Contract counts take one statement and one round
// trip: the contract row by its primary key, and its tokens grouped by
// (status, reason) through the token key, which includes both (migration 0019),
// so the cost follows the size of the contract, not of the table.
class PgTrackerRepository final : public TrackerRepository,
                                  public ContractStatusSource {
 public:
  PgTrackerRepository(db::Pool& pool, db::WorkQueue& queue)
      : pool_(pool), queue_(queue) {}
  absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& pin_ids) override;
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) override {
    return queue_.Lease(limit);
  }
  void KeepHolding(const std::vector<db::QueueItem>& items) override {
    queue_.KeepHolding(items);
  }
  absl::StatusOr<std::map<int64_t, PinToCheck>> LoadPins(
      const std::vector<int64_t>& ids) override;
  absl::StatusOr<int> SaveChecked(
      const std::vector<CheckedPin>& checked) override;
  absl::Status SaveCheckFailed(const db::QueueItem& item, const PinToCheck& pin,
                               const std::string& reason,
                               const std::string& detail,
                               absl::Duration delay) override;
  absl::Status SaveRepinned(const db::QueueItem& item, const PinToCheck& pin,
                            ipfs::PinState state, const std::string& request_id,
                            const std::string& reason,
                            const std::string& detail,
                            absl::Duration delay) override;
  absl::Status SaveFailed(const db::QueueItem& item, const PinToCheck& pin,
                          const std::string& reason, const std::string& detail,
                          absl::Duration delay) override;
  absl::Status Defer(const db::QueueItem& item, absl::Duration delay) override;
  absl::StatusOr<bool> ClaimRepin(const db::QueueItem& item,
                                  const PinToCheck& pin) override;
  absl::Status ReleaseRepin(const db::QueueItem& item,
                            const PinToCheck& pin) override;
  absl::Status Drop(const db::QueueItem& item) override;
  absl::StatusOr<std::optional<TokenReport>> GetTokenReport(
      const eth::TokenKey& key) override;
  absl::StatusOr<std::vector<std::optional<TokenReport>>> GetTokenReports(
      const std::vector<eth::TokenKey>& keys) override;
  absl::StatusOr<TokenPage> ListTokens(const TokenListQuery& query) override;
  absl::StatusOr<FunnelCounts> CountFunnel() override {
    return CountFunnel(pool_);
  }
  // ContractStatusSource.
  absl::StatusOr<std::optional<ContractStatus>> Get(
      const ContractRef& ref) override;

  // CountFunnel on a pool alone (no queue).
  static absl::StatusOr<FunnelCounts> CountFunnel(db::Pool& pool);
  // Records by status and reason, tokens of every chain summed, ordered by
  // record (tokens, resources, pins), status, reason: what `niftysave
  // summary` prints, from the same statement as the funnel gauges.
  static absl::StatusOr<std::vector<StatusCount>> CountRecords(db::Pool& pool);
  // The contract status statement ($1 chain_id, $2 40 hex digits), for tests
  // that check its plan.
  static const char* ContractStatusSql();

 private:
  db::Pool& pool_;
  db::WorkQueue& queue_;
};

}  // namespace niftysave::tracker
