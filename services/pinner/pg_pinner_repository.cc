#include "services/pinner/pg_pinner_repository.h"

#include "common/db/pin_claims.h"
#include "common/db/pool.h"
#include "common/db/prepared.h"
#include "common/db/rollup.h"
#include "common/runtime/backoff.h"
#include "common/runtime/utf8.h"

namespace niftysave::pinner {
namespace {

// The queue the tracker leases pins from (its pin checker).
constexpr char kTrackQueue[] = "track";

constexpr char kExisting[] = R"sql(
SELECT id FROM resources WHERE id = ANY($1::bigint[]))sql";

// The content hash a verified link committed to (a token's on-chain
// contentHash its bytes matched when the extractor fetched them), for the
// pinner to check the bytes it fetches again; served by
// token_resources_resource.
#define NIFTYSAVE_EXPECTED_SHA256                                        \
  "(SELECT encode(t.content_sha256, 'hex') FROM token_resources tr "     \
  "JOIN tokens t ON t.id = tr.token_pk WHERE tr.resource_id = r.id AND " \
  "tr.role = 'asset' AND tr.verified AND t.content_sha256 IS NOT NULL "  \
  "LIMIT 1)"

constexpr char kLoadResource[] = R"sql(
SELECT r.id, r.kind, r.normalized, coalesce(r.cid, ''), r.status, m.raw,
       r.path, coalesce()sql" NIFTYSAVE_EXPECTED_SHA256 R"sql(, '')
FROM resources r LEFT JOIN metadata m ON m.resource_id = r.id
WHERE r.id = $1)sql";

// One pin per (CID, backend): a retried or replayed request finds it.
// The batch form of kLoadResource: raw bytes only while the running total
// (in id order) stays within $2; past it, `stored` says they exist.
constexpr char kLoadResources[] = R"sql(
SELECT r.id, r.kind, r.normalized, coalesce(r.cid, ''), r.status, r.path,
       m.resource_id IS NOT NULL,
       CASE WHEN sum(octet_length(m.raw)) OVER (ORDER BY r.id) <= $2 THEN m.raw END,
       coalesce()sql" NIFTYSAVE_EXPECTED_SHA256 R"sql(, '')
FROM resources r LEFT JOIN metadata m ON m.resource_id = r.id
WHERE r.id = ANY($1::bigint[]))sql";
#undef NIFTYSAVE_EXPECTED_SHA256

constexpr char kUpsertPin[] = R"sql(
INSERT INTO pins (cid, backend, request_id, status)
VALUES ($1, $2, NULLIF($3, ''), 'pinning')
ON CONFLICT (cid, backend) DO UPDATE
SET request_id = coalesce(EXCLUDED.request_id, pins.request_id),
    status = CASE WHEN pins.status = 'pinned' THEN 'pinned' ELSE 'pinning' END,
    updated_at = now()
RETURNING id, status)sql";

// A live pin of (CID, backend): nothing to ask.
constexpr char kLivePin[] = R"sql(
SELECT EXISTS (SELECT 1 FROM pins
               WHERE cid = $1 AND backend = $2 AND status <> 'failed'))sql";

// Locks the CID's pins (in id order, like every other locker) and says
// whether any is confirmed.
constexpr char kLockPinsOfCid[] = R"sql(
SELECT coalesce(bool_or(status = 'pinned'), false) FROM (
  SELECT status FROM pins WHERE cid = $1 ORDER BY id FOR UPDATE) p)sql";

constexpr char kResourcePinning[] = R"sql(
UPDATE resources SET status = 'pinning', pinned_cid = $2, reason = NULL, detail = NULL,
                     updated_at = now()
WHERE id = $1 AND status <> 'pinned')sql";

constexpr char kResourcePinned[] = R"sql(
UPDATE resources SET status = 'pinned', pinned_cid = $2, reason = NULL, detail = NULL,
                     updated_at = now()
WHERE id = $1)sql";

constexpr char kResourceFailed[] = R"sql(
UPDATE resources SET status = 'failed', reason = $2, detail = $3, updated_at = now()
WHERE id = $1 AND status <> 'pinned')sql";

}  // namespace

absl::StatusOr<std::pair<uint32_t, uint32_t>> PgPinnerRepository::Enqueue(
    const std::vector<int64_t>& ids) {
  std::pair<uint32_t, uint32_t> counts;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    std::vector<int64_t> found;
    for (const auto& row : db::Exec(txn, kExisting, db::BigintArray(ids))) {
      found.push_back(row[0].as<int64_t>());
    }
    db::WorkQueue::Enqueue(txn, queue_.name(), found);
    counts = {static_cast<uint32_t>(found.size()),
              static_cast<uint32_t>(ids.size() - found.size())};
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return counts;
}

absl::StatusOr<std::optional<ResourceToPin>> PgPinnerRepository::LoadResource(
    int64_t id) {
  std::optional<ResourceToPin> out;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pqxx::result r = db::Exec(txn, kLoadResource, id);
    if (r.empty()) return absl::OkStatus();
    out = ResourceToPin{.id = r[0][0].as<int64_t>(),
                        .kind = r[0][1].as<std::string>(),
                        .normalized = r[0][2].as<std::string>(),
                        .cid = r[0][3].as<std::string>(),
                        .path = r[0][6].as<std::string>(),
                        .status = r[0][4].as<std::string>(),
                        .expected_sha256 = r[0][7].as<std::string>()};
    if (!r[0][5].is_null()) {
      out->stored_bytes = pqxx::binarystring(r[0][5]).str();
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::map<int64_t, ResourceToPin>>
PgPinnerRepository::LoadResources(const std::vector<int64_t>& ids) {
  std::map<int64_t, ResourceToPin> out;
  if (ids.empty()) return out;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    out.clear();
    for (const auto& row : db::Exec(txn, kLoadResources, db::BigintArray(ids),
                                    kMaxBatchStoredBytes)) {
      ResourceToPin r{.id = row[0].as<int64_t>(),
                      .kind = row[1].as<std::string>(),
                      .normalized = row[2].as<std::string>(),
                      .cid = row[3].as<std::string>(),
                      .path = row[5].as<std::string>(),
                      .status = row[4].as<std::string>(),
                      .expected_sha256 = row[8].as<std::string>()};
      if (!row[7].is_null()) {
        r.stored_bytes = pqxx::binarystring(row[7]).str();
      } else {
        r.stored_bytes_deferred = row[6].as<bool>();
      }
      out.emplace(r.id, std::move(r));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

namespace {

int64_t RecordPin(pqxx::work& txn, const NewPin& p) {
  // The request id is the backend's text: stored valid and bounded.
  pqxx::row pin = db::Exec1(txn, kUpsertPin, p.cid, p.backend,
                            ValidUtf8(p.request_id, 1024));
  const int64_t pin_id = pin[0].as<int64_t>();
  db::DropPinClaim(txn, p.cid, p.backend);
  if (pin[1].as<std::string>() != "pinned") {
    db::WorkQueue::Enqueue(txn, kTrackQueue, {pin_id});
  }
  return pin_id;
}

}  // namespace

absl::StatusOr<int64_t> PgPinnerRepository::SavePin(
    const std::string& cid, const std::string& backend,
    const std::string& request_id) {
  int64_t pin_id = 0;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pin_id = RecordPin(txn, {cid, backend, request_id});
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return pin_id;
}

absl::StatusOr<PinClaim> PgPinnerRepository::ClaimPin(
    const db::QueueItem& claimer, const std::string& cid,
    const std::string& backend) {
  PinClaim claim = PinClaim::kBusy;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    if (db::Exec1(txn, kLivePin, cid, backend)[0].as<bool>()) {
      claim = PinClaim::kPinned;
      return absl::OkStatus();
    }
    if (!db::ClaimPin(txn, queue_.name(), claimer, cid, backend)) {
      claim = PinClaim::kBusy;
      return absl::OkStatus();
    }
    // The insert may have waited for a claimer that has just recorded its
    // pin and dropped its claim: this statement's snapshot sees that pin.
    if (db::Exec1(txn, kLivePin, cid, backend)[0].as<bool>()) {
      db::ReleasePinClaim(txn, queue_.name(), claimer, cid, backend);
      claim = PinClaim::kPinned;
      return absl::OkStatus();
    }
    claim = PinClaim::kClaimed;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return claim;
}

absl::Status PgPinnerRepository::ReleasePin(const db::QueueItem& claimer,
                                            const std::string& cid,
                                            const std::string& backend) {
  return pool_.Run([&](pqxx::work& txn) {
    db::ReleasePinClaim(txn, queue_.name(), claimer, cid, backend);
    return absl::OkStatus();
  });
}

absl::Status PgPinnerRepository::SaveResourcePinning(
    const db::QueueItem& item, const std::string& cid,
    const std::vector<NewPin>& new_pins, std::vector<int64_t>& pin_ids) {
  bool lease_lost = false;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pin_ids.clear();
    lease_lost = false;
    for (const NewPin& p : new_pins) pin_ids.push_back(RecordPin(txn, p));
    // The pins commit whoever holds the item; the rest only under its lease.
    txn.exec0("SAVEPOINT resource");
    // Locking the CID's pins orders this against the tracker confirming one
    // of them: either the tracker's next statement sees this resource
    // 'pinning' (with its pinned_cid) and confirms it too, or this sees the
    // pin already 'pinned' and confirms the resource here. Either way no
    // resource is left pinning behind a finished pin.
    const bool pinned = db::Exec1(txn, kLockPinsOfCid, cid)[0].as<bool>();
    if (pinned) {
      db::Exec(txn, kResourcePinned, item.id, cid);
      db::RollUpTokensOfResources(txn, {item.id});
    } else {
      db::Exec(txn, kResourcePinning, item.id, cid);
    }
    if (!queue_.Complete(txn, item)) {
      lease_lost = true;
      txn.exec0("ROLLBACK TO SAVEPOINT resource");
    }
    return absl::OkStatus();
  });
  if (!s.ok()) {
    pin_ids.clear();
    return s;
  }
  if (lease_lost) return absl::AbortedError("lease lost");
  return absl::OkStatus();
}

absl::Status PgPinnerRepository::SaveFailure(const db::QueueItem& item,
                                             const PinFailure& f) {
  return pool_.Run([&](pqxx::work& txn) {
    db::Exec(txn, kResourceFailed, item.id, f.reason,
             ValidUtf8(f.detail, 2000));
    db::RollUpTokensOfResources(txn, {item.id});
    if (!queue_.Complete(txn, item)) return absl::AbortedError("lease lost");
    return absl::OkStatus();
  });
}

absl::Status PgPinnerRepository::Retry(const db::QueueItem& item,
                                       const PinFailure& f) {
  // The queue's back-off, but never sooner than the backend asked for.
  absl::Duration delay = BackoffDelay(queue_.policy().backoff, item.attempts);
  if (f.retry_after) delay = std::max(delay, *f.retry_after);
  return pool_.Run([&](pqxx::work& txn) {
    queue_.Reschedule(txn, item, f.reason + ": " + f.detail, delay);
    return absl::OkStatus();
  });
}

absl::Status PgPinnerRepository::Drop(const db::QueueItem& item) {
  return pool_.Run([&](pqxx::work& txn) {
    queue_.Complete(txn, item);
    return absl::OkStatus();
  });
}

}  // namespace niftysave::pinner
