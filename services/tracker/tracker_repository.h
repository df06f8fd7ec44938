#pragma once

#include <cstdint>
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
  virtual absl::StatusOr<std::optional<PinToCheck>> LoadPin(int64_t id) = 0;
  // Pinned: marks the pin and its resources pinned, rolls tokens up and
  // completes the item.
  virtual absl::Status SavePinned(const db::QueueItem& item,
                                  const PinToCheck& pin) = 0;
  // Not there yet (or the check failed): records the check and looks again
  // after `delay`. A failed pin marks its resources failed but stays tracked:
  // failure is not final (pins reported failed have later been found pinned).
  virtual absl::Status SaveStillPending(const db::QueueItem& item,
                                        const PinToCheck& pin,
                                        ipfs::PinState state,
                                        const std::string& reason,
                                        const std::string& detail,
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
  absl::StatusOr<std::optional<PinToCheck>> LoadPin(int64_t id) override;
  absl::Status SavePinned(const db::QueueItem& item,
                          const PinToCheck& pin) override;
  absl::Status SaveStillPending(const db::QueueItem& item,
                                const PinToCheck& pin, ipfs::PinState state,
                                const std::string& reason,
                                const std::string& detail,
                                absl::Duration delay) override;
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
