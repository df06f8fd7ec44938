#include "common/db/pin_claims.h"

#include "common/db/prepared.h"

namespace niftysave::db {
namespace {

// The claimer's lease ($1, item_id, generation) is live: its item is still
// leased under that generation and its deadline has not passed.
#define NS_LEASE_LIVE(c)                                       \
  "EXISTS (SELECT 1 FROM work_queue w WHERE w.queue = " c      \
  ".queue AND w.item_id = " c ".item_id AND w.generation = " c \
  ".generation AND w.state = 'ready' AND w.run_after > now())"

// Another lease's claim is taken over only once that lease is gone.
#define NS_CLAIM_CONFLICT \
  "ON CONFLICT (cid, backend) DO UPDATE "                                     \
  "SET queue = EXCLUDED.queue, item_id = EXCLUDED.item_id, "                  \
  "generation = EXCLUDED.generation, claimed_at = now() "                     \
  "WHERE (c.queue = EXCLUDED.queue AND c.item_id = EXCLUDED.item_id "         \
  "AND c.generation = EXCLUDED.generation) OR NOT " NS_LEASE_LIVE("c") " "    \
  "RETURNING c.item_id"

// Returns a row when the claim is ours.
constexpr char kClaim[] = R"sql(
INSERT INTO pin_claims AS c (cid, backend, queue, item_id, generation)
VALUES ($1, $2, $3, $4, $5)
)sql" NS_CLAIM_CONFLICT;

// A live pin of ($1, $2) is recorded: any status but 'failed'.
#define NS_LIVE_PIN                                                         \
  "EXISTS (SELECT 1 FROM pins WHERE cid = $1::text AND backend = $2::text " \
  "AND status <> 'failed')"

constexpr char kLivePin[] = "SELECT " NS_LIVE_PIN;

// kClaim, made only when no live pin of the pair is recorded; one row:
// (a live pin exists, the claim is ours).
constexpr char kClaimUnlessLive[] = R"sql(
WITH live AS (SELECT )sql" NS_LIVE_PIN R"sql( AS live),
claimed AS (
  INSERT INTO pin_claims AS c (cid, backend, queue, item_id, generation)
  SELECT $1::text, $2::text, $3::text, $4::bigint, $5::bigint
  WHERE NOT (SELECT live FROM live)
  )sql" NS_CLAIM_CONFLICT R"sql()
SELECT (SELECT live FROM live), EXISTS (SELECT 1 FROM claimed))sql";

#undef NS_CLAIM_CONFLICT
#undef NS_LIVE_PIN

constexpr char kRelease[] = R"sql(
DELETE FROM pin_claims
WHERE cid = $1 AND backend = $2 AND queue = $3 AND item_id = $4
  AND generation = $5)sql";

constexpr char kDrop[] = R"sql(
DELETE FROM pin_claims WHERE cid = $1 AND backend = $2)sql";

constexpr char kDropStale[] = R"sql(
DELETE FROM pin_claims c
WHERE c.queue = $1 AND NOT )sql" NS_LEASE_LIVE("c");

#undef NS_LEASE_LIVE

}  // namespace

bool ClaimPin(pqxx::work& txn, const std::string& queue,
              const QueueItem& claimer, const std::string& cid,
              const std::string& backend) {
  return !Exec(txn, kClaim, cid, backend, queue, claimer.id, claimer.generation)
              .empty();
}

PinClaimResult ClaimPinUnlessLive(pqxx::work& txn, const std::string& queue,
                                  const QueueItem& claimer,
                                  const std::string& cid,
                                  const std::string& backend) {
  pqxx::row row = Exec1(txn, kClaimUnlessLive, cid, backend, queue, claimer.id,
                        claimer.generation);
  if (row[0].as<bool>()) return PinClaimResult::kLivePin;
  if (!row[1].as<bool>()) return PinClaimResult::kBusy;
  // The claim may have waited for a claimer that has just recorded its pin
  // and dropped its claim: only a new statement's snapshot sees that pin.
  if (Exec1(txn, kLivePin, cid, backend)[0].as<bool>()) {
    ReleasePinClaim(txn, queue, claimer, cid, backend);
    return PinClaimResult::kLivePin;
  }
  return PinClaimResult::kClaimed;
}

void ReleasePinClaim(pqxx::work& txn, const std::string& queue,
                     const QueueItem& claimer, const std::string& cid,
                     const std::string& backend) {
  Exec(txn, kRelease, cid, backend, queue, claimer.id, claimer.generation);
}

void DropPinClaim(pqxx::work& txn, const std::string& cid,
                  const std::string& backend) {
  Exec(txn, kDrop, cid, backend);
}

absl::StatusOr<int64_t> DropStalePinClaims(Pool& pool,
                                           const std::string& queue) {
  int64_t dropped = 0;
  absl::Status status = pool.Run([&](pqxx::work& txn) {
    dropped = Exec(txn, kDropStale, queue).affected_rows();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return dropped;
}

}  // namespace niftysave::db
