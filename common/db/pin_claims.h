#pragma once

// The (CID, backend) claims of migrations 0014 and 0016: exactly one remote
// pin request per (CID, backend) at a time, whoever asks (the pinner for a
// new resource, the tracker re-pinning a lost or failed pin). A claim
// belongs to its claimer's lease on a queue item (queue, item id,
// generation) and lives as long as that lease: a claimer that crashed, hung
// or lost its lease is taken over once its lease is gone. Each function runs
// in the caller's transaction; pqxx exceptions propagate to db::Pool::Run.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/db/pool.h"
#include "common/db/queue_item.h"
#include "pqxx/pqxx"

namespace niftysave::db {

// Claims (cid, backend) for `claimer`'s lease on `queue`, committed before
// the request is sent. True when the claim is ours: new, already ours, or
// taken over from a lease that is gone (completed, run out, leased again).
// False while another live lease holds it.
bool ClaimPin(pqxx::work& txn, const std::string& queue,
              const QueueItem& claimer, const std::string& cid,
              const std::string& backend);

// What ClaimPinUnlessLive found.
enum class PinClaimResult {
  kLivePin,  // a pin of (cid, backend) is recorded, not failed: no claim
  kClaimed,  // ours (as ClaimPin)
  kBusy,     // another live lease holds it
};

// ClaimPin, made only while no live pin (any status but 'failed') of
// (cid, backend) is recorded: one statement looks and claims, and a second
// looks again after a claim, since the claim may have waited on a claimer
// that has just recorded its pin and dropped its claim (which only a new
// statement's snapshot sees); then the claim is given up and kLivePin
// returned. So kClaimed means: ask the backend.
PinClaimResult ClaimPinUnlessLive(pqxx::work& txn, const std::string& queue,
                                  const QueueItem& claimer,
                                  const std::string& cid,
                                  const std::string& backend);

// Gives up our claim (the request failed or was not sent).
void ReleasePinClaim(pqxx::work& txn, const std::string& queue,
                     const QueueItem& claimer, const std::string& cid,
                     const std::string& backend);

// The pin is recorded: the claim has done its job, whoever holds it.
void DropPinClaim(pqxx::work& txn, const std::string& cid,
                  const std::string& backend);

// At start-up: drops the claims of `queue` whose claimer's lease is gone
// (a crashed predecessor's, for a CID nobody has pinned since). Reads the
// claims table, which holds only the requests in flight. Returns how many.
absl::StatusOr<int64_t> DropStalePinClaims(Pool& pool,
                                           const std::string& queue);

}  // namespace niftysave::db
