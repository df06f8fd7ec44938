#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/db/queue_item.h"
#include "services/pinner/pinner_model.h"

namespace niftysave::pinner {

// The pinner's records: the 'pin' queue, resources and pins. Implemented on
// Postgres by PgPinnerRepository (pg_pinner_repository.h).
class PinnerRepository {
 public:
  virtual ~PinnerRepository() = default;
  // Queues existing resources; returns {queued, unknown}.
  virtual absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& ids) = 0;
  virtual absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) = 0;
  // The step goes on with `items` after finishing one resource: their lease
  // renewal window starts again (db::WorkQueue::KeepHolding).
  virtual void KeepHolding(const std::vector<db::QueueItem>& items) = 0;
  // The leased batch's resources, by id, in one query (ids whose resource is
  // gone are absent). Stored metadata bytes come along while the batch's
  // total stays within kMaxBatchStoredBytes; past it they are marked
  // deferred, for LoadResource.
  static constexpr int64_t kMaxBatchStoredBytes = 4 << 20;
  virtual absl::StatusOr<std::map<int64_t, ResourceToPin>> LoadResources(
      const std::vector<int64_t>& ids) = 0;
  virtual absl::StatusOr<std::optional<ResourceToPin>> LoadResource(
      int64_t id) = 0;
  // Before a backend is asked for `cid`: claims the (CID, backend) for
  // `claimer`'s lease, in its own committed transaction, so exactly one
  // request per (CID, backend) goes out whoever works resources sharing the
  // CID. kPinned when a live pin is recorded by then; kBusy while another
  // live lease holds the claim (a claim whose lease ran out, or was taken
  // over, is taken over).
  virtual absl::StatusOr<PinClaim> ClaimPin(const db::QueueItem& claimer,
                                            const std::string& cid,
                                            const std::string& backend) = 0;
  // The backend refused: drops `claimer`'s claim so another may try.
  virtual absl::Status ReleasePin(const db::QueueItem& claimer,
                                  const std::string& cid,
                                  const std::string& backend) = 0;
  // Records the pin of `cid` on `backend` as soon as the backend accepted it
  // (one row per (CID, backend): a replay finds the same row), drops the
  // claim on it in the same transaction and queues it for tracking unless
  // already confirmed. Not fenced by the lease: the backend holds the pin
  // whoever holds the item. Returns the pin id.
  virtual absl::StatusOr<int64_t> SavePin(const std::string& cid,
                                          const std::string& backend,
                                          const std::string& request_id) = 0;
  // Resources whose every pin is requested, recorded in one transaction:
  // each entry's `new_pins` as SavePin records them (a (CID, backend) in
  // several entries once), then the items whose lease is still held
  // complete and their resources move to 'pinning' with pinned_cid = `cid`
  // ('pinned' when a pin of `cid` is already confirmed). One SavedPinning
  // per entry, in order; an entry whose lease was lost has its pins
  // recorded all the same (the backend holds them whoever holds the item).
  // An error: nothing was recorded.
  virtual absl::StatusOr<std::vector<SavedPinning>> SaveResourcesPinning(
      const std::vector<ResourcePinning>& batch) = 0;
  virtual absl::Status SaveFailure(const db::QueueItem& item,
                                   const PinFailure& failure) = 0;
  virtual absl::Status Retry(const db::QueueItem& item,
                             const PinFailure& failure) = 0;
  virtual bool IsLastAttempt(const db::QueueItem& item) const = 0;
  virtual absl::Status Drop(const db::QueueItem& item) = 0;
};

}  // namespace niftysave::pinner
