#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "services/pinner/pinner_repository.h"

namespace niftysave::pinner {

// PinnerRepository on Postgres: all of the pinner's SQL
// (pg_pinner_repository.cc).
class PgPinnerRepository final : public PinnerRepository {
 public:
  PgPinnerRepository(db::Pool& pool, db::WorkQueue& queue)
      : pool_(pool), queue_(queue) {}
  absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& ids) override;
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) override {
    return queue_.Lease(limit);
  }
  void KeepHolding(const std::vector<db::QueueItem>& items) override {
    queue_.KeepHolding(items);
  }
  absl::StatusOr<std::optional<ResourceToPin>> LoadResource(
      int64_t id) override;
  absl::StatusOr<std::map<int64_t, ResourceToPin>> LoadResources(
      const std::vector<int64_t>& ids) override;
  absl::StatusOr<PinClaim> ClaimPin(const db::QueueItem& claimer,
                                    const std::string& cid,
                                    const std::string& backend) override;
  absl::Status ReleasePin(const db::QueueItem& claimer, const std::string& cid,
                          const std::string& backend) override;
  absl::StatusOr<int64_t> SavePin(const std::string& cid,
                                  const std::string& backend,
                                  const std::string& request_id) override;
  absl::StatusOr<std::vector<SavedPinning>> SaveResourcesPinning(
      const std::vector<ResourcePinning>& batch) override;
  absl::Status SaveFailure(const db::QueueItem& item,
                           const PinFailure& failure) override;
  absl::Status Retry(const db::QueueItem& item,
                     const PinFailure& failure) override;
  bool IsLastAttempt(const db::QueueItem& item) const override {
    return queue_.IsLastAttempt(item);
  }
  absl::Status Drop(const db::QueueItem& item) override;

 private:
  db::Pool& pool_;
  db::WorkQueue& queue_;
};

}  // namespace niftysave::pinner
