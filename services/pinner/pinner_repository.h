#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/db/work_queue.h"

namespace niftysave::pinner {

struct ResourceToPin {
  int64_t id = 0;
  std::string kind;  // ipfs, http, data, arweave, ipns
  std::string normalized;
  std::string cid;   // for ipfs resources
  std::string path;  // ipfs/ipns/arweave: "" or "/..." under the root
  std::string status;
  std::optional<std::string>
      stored_bytes;  // original metadata bytes, when kept
};

struct PinFailure {
  std::string reason;
  std::string detail;
  // A backend's (or server's) "not before": a retry is never sooner.
  std::optional<absl::Duration> retry_after;
};

// A pin already recorded for a CID.
struct ExistingPin {
  std::string cid;
  std::string backend;
  std::string status;
  bool operator<(const ExistingPin& o) const {
    return std::tie(cid, backend) < std::tie(o.cid, o.backend);
  }
};

// The pinner's records: the 'pin' queue, resources and pins.
class PinnerRepository {
 public:
  virtual ~PinnerRepository() = default;
  // Queues existing resources; returns {queued, unknown}.
  virtual absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& ids) = 0;
  virtual absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) = 0;
  virtual absl::StatusOr<std::optional<ResourceToPin>> LoadResource(
      int64_t id) = 0;
  // The live pins (status other than 'failed') of any of `cids`, so a
  // retried or replayed request does not ask a backend for a second one.
  virtual absl::StatusOr<std::set<ExistingPin>> ExistingPins(
      const std::vector<std::string>& cids) = 0;
  // Records the pin of `cid` on `backend` as soon as the backend accepted it
  // (one row per (CID, backend): a replay finds the same row) and queues it
  // for tracking unless already confirmed. Not fenced by the lease: the
  // backend holds the pin whoever holds the item. Returns the pin id.
  virtual absl::StatusOr<int64_t> SavePin(const std::string& cid,
                                          const std::string& backend,
                                          const std::string& request_id) = 0;
  // Every pin the resource needs is requested: it moves to 'pinning' with
  // pinned_cid = `cid` ('pinned' when a pin of `cid` is already confirmed)
  // and the item completes.
  virtual absl::Status SaveResourcePinning(const db::QueueItem& item,
                                           const std::string& cid) = 0;
  virtual absl::Status SaveFailure(const db::QueueItem& item,
                                   const PinFailure& failure) = 0;
  virtual absl::Status Retry(const db::QueueItem& item,
                             const PinFailure& failure) = 0;
  virtual bool IsLastAttempt(const db::QueueItem& item) const = 0;
  virtual absl::Status Drop(const db::QueueItem& item) = 0;
};

class PgPinnerRepository final : public PinnerRepository {
 public:
  PgPinnerRepository(db::Pool& pool, db::WorkQueue& queue)
      : pool_(pool), queue_(queue) {}
  absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& ids) override;
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) override {
    return queue_.Lease(limit);
  }
  absl::StatusOr<std::optional<ResourceToPin>> LoadResource(
      int64_t id) override;
  absl::StatusOr<std::set<ExistingPin>> ExistingPins(
      const std::vector<std::string>& cids) override;
  absl::StatusOr<int64_t> SavePin(const std::string& cid,
                                  const std::string& backend,
                                  const std::string& request_id) override;
  absl::Status SaveResourcePinning(const db::QueueItem& item,
                                   const std::string& cid) override;
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
