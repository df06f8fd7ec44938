#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/db/queue_item.h"
#include "common/eth/token_key.h"
#include "common/ipfs/pin_backend.h"
#include "services/tracker/tracker_model.h"

namespace niftysave::tracker {

// A status answer to record: pinned, or queued/pinning at the backend (then
// looked at again after `delay`).
struct CheckedPin {
  db::QueueItem item;
  PinToCheck pin;
  ipfs::PinState state = ipfs::PinState::kPinned;
  absl::Duration delay;
};

// The tracker's records: the 'track' queue, pins, resource and token
// roll-ups, and the read side for GetTokenStatus, ListTokens and GetStats.
class TrackerRepository {
 public:
  virtual ~TrackerRepository() = default;
  virtual absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& pin_ids) = 0;
  virtual absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) = 0;
  // The step goes on with `items` after one status request or re-pin: their
  // lease renewal window starts again (db::WorkQueue::KeepHolding).
  virtual void KeepHolding(const std::vector<db::QueueItem>& items) = 0;
  // The pins of leased items, by id; ids whose pin row is gone are absent.
  virtual absl::StatusOr<std::map<int64_t, PinToCheck>> LoadPins(
      const std::vector<int64_t>& ids) = 0;
  // Status answers, in one transaction. Pinned: marks the pin
  // and its resources pinned, rolls their tokens up (reviving any that were
  // failed or partial) and completes the item. Queued or pinning at the
  // backend: records the state, moves the pin one step along its back-off
  // and looks again after its `delay`. An item whose lease was lost (someone
  // else holds it now) is left out, so a stale answer never overwrites a
  // newer one. Returns how many were recorded.
  virtual absl::StatusOr<int> SaveChecked(
      const std::vector<CheckedPin>& checked) = 0;
  // The check itself failed (backend down, unknown backend): the pin keeps
  // its state, the error is noted, and it is looked at again after `delay`.
  virtual absl::Status SaveCheckFailed(const db::QueueItem& item,
                                       const PinToCheck& pin,
                                       const std::string& reason,
                                       const std::string& detail,
                                       absl::Duration delay) = 0;
  // Before a re-pin request: claims the pin's (CID, backend) for this
  // item's lease (common/db/pin_claims.h), so the pinner or another tracker
  // never sends a second request for it at the same time. False while
  // another live lease holds the claim. SaveRepinned drops the claim;
  // ReleaseRepin gives it up when the request failed or was not sent.
  virtual absl::StatusOr<bool> ClaimRepin(const db::QueueItem& item,
                                          const PinToCheck& pin) = 0;
  virtual absl::Status ReleaseRepin(const db::QueueItem& item,
                                    const PinToCheck& pin) = 0;
  // A new pin was requested after a failure (repins + 1, back-off restarts).
  // `state` is the backend's answer: queued or pinning (resources stay
  // pinning), pinned (as SaveChecked), or failed when the request was refused
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
  // pinned), and a later pinned answer (SaveChecked) revives them.
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
  // The whole funnel, one statement (it reads the three tables whole: a
  // FunnelCounter decides when).
  virtual absl::StatusOr<FunnelCounts> CountFunnel() = 0;
};

// Where GetContractStatus reads from (apart, so the gRPC adapter can be built
// without it: the call is then UNIMPLEMENTED).
class ContractStatusSource {
 public:
  virtual ~ContractStatusSource() = default;
  // nullopt when the contract is not indexed on that chain.
  virtual absl::StatusOr<std::optional<ContractStatus>> Get(
      const ContractRef& ref) = 0;
};

}  // namespace niftysave::tracker
