#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db/work_queue.h"
#include "common/ipfs/pin_backend.h"
#include "services/tracker/token_query.h"
#include "services/tracker/token_report.h"

namespace niftysave::tracker {

struct PinToCheck {
  int64_t id = 0;
  std::string cid;
  std::string backend;
  std::string status;
  int repins = 0;        // new pin requests made after failures
  int recheck_step = 0;  // checks since the last change of schedule
};

// The tracker's records: the 'track' queue, pins, resource and token
// roll-ups, and the read side for GetTokenStatus.
// Records by status (and failures by reason), for the funnel gauges.
struct StatusCount {
  std::string record;  // tokens, resources, pins
  std::string status;
  std::string reason;  // "" unless failed
  int64_t count = 0;
};

class TrackerRepository {
 public:
  virtual ~TrackerRepository() = default;
  virtual absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& pin_ids) = 0;
  virtual absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) = 0;
  // The pins of leased items, by id; ids whose pin row is gone are absent.
  virtual absl::StatusOr<std::map<int64_t, PinToCheck>> LoadPins(
      const std::vector<int64_t>& ids) = 0;
  // Pinned: marks the pin and its resources pinned, rolls their tokens up
  // (reviving any that were failed or partial) and completes the item.
  virtual absl::Status SavePinned(const db::QueueItem& item,
                                  const PinToCheck& pin) = 0;
  // Queued or pinning at the backend: records the state, moves the pin one
  // step along its back-off and looks again after `delay`.
  virtual absl::Status SaveInFlight(const db::QueueItem& item,
                                    const PinToCheck& pin, ipfs::PinState state,
                                    absl::Duration delay) = 0;
  // The check itself failed (backend down, unknown backend): the pin keeps
  // its state, the error is noted, and it is looked at again after `delay`.
  virtual absl::Status SaveCheckFailed(const db::QueueItem& item,
                                       const PinToCheck& pin,
                                       const std::string& reason,
                                       const std::string& detail,
                                       absl::Duration delay) = 0;
  // A new pin was requested after a failure (repins + 1, back-off restarts).
  // `state` is the backend's answer: queued or pinning (resources stay
  // pinning), pinned (as SavePinned), or failed when the request was refused
  // (`reason`, `detail`); the resources are left alone while re-pins remain.
  virtual absl::Status SaveRepinned(const db::QueueItem& item,
                                    const PinToCheck& pin, ipfs::PinState state,
                                    const std::string& request_id,
                                    const std::string& reason,
                                    const std::string& detail,
                                    absl::Duration delay) = 0;
  // Failed with no re-pins left: marks the pin and its resources failed and
  // rolls their tokens up, but keeps the item, due again after `delay`:
  // failure is not final (pins reported failed have later been found
  // pinned), and a later SavePinned revives them.
  virtual absl::Status SaveFailed(const db::QueueItem& item,
                                  const PinToCheck& pin,
                                  const std::string& reason,
                                  const std::string& detail,
                                  absl::Duration delay) = 0;
  // Not checked now (the request budget is spent): due again after `delay`;
  // the pin's record is untouched.
  virtual absl::Status Defer(const db::QueueItem& item,
                             absl::Duration delay) = 0;
  virtual absl::Status Drop(const db::QueueItem& item) = 0;
  virtual absl::StatusOr<std::optional<TokenReport>> GetTokenReport(
      const eth::TokenKey& key) = 0;
  // In the order of `keys`; nullopt for a key not indexed.
  virtual absl::StatusOr<std::vector<std::optional<TokenReport>>>
  GetTokenReports(const std::vector<eth::TokenKey>& keys) = 0;
  virtual absl::StatusOr<TokenPage> ListTokens(const TokenListQuery& query) = 0;
  // chain_id 0: every chain.
  virtual absl::StatusOr<FunnelStats> GetStats(uint64_t chain_id) = 0;
  virtual absl::StatusOr<std::vector<StatusCount>> CountByStatus() = 0;
};

class PgTrackerRepository final : public TrackerRepository {
 public:
  PgTrackerRepository(db::Pool& pool, db::WorkQueue& queue)
      : pool_(pool), queue_(queue) {}
  absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& pin_ids) override;
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) override {
    return queue_.Lease(limit);
  }
  absl::StatusOr<std::map<int64_t, PinToCheck>> LoadPins(
      const std::vector<int64_t>& ids) override;
  absl::Status SavePinned(const db::QueueItem& item,
                          const PinToCheck& pin) override;
  absl::Status SaveInFlight(const db::QueueItem& item, const PinToCheck& pin,
                            ipfs::PinState state,
                            absl::Duration delay) override;
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
  absl::Status Drop(const db::QueueItem& item) override;
  absl::StatusOr<std::optional<TokenReport>> GetTokenReport(
      const eth::TokenKey& key) override;
  absl::StatusOr<std::vector<std::optional<TokenReport>>> GetTokenReports(
      const std::vector<eth::TokenKey>& keys) override;
  absl::StatusOr<TokenPage> ListTokens(const TokenListQuery& query) override;
  absl::StatusOr<FunnelStats> GetStats(uint64_t chain_id) override;
  absl::StatusOr<std::vector<StatusCount>> CountByStatus() override;

 private:
  db::Pool& pool_;
  db::WorkQueue& queue_;
};

}  // namespace niftysave::tracker
