#include "services/pinner/pg_pinner_repository.h"

#include <algorithm>
#include <set>

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

// One pin per (CID, backend): a retried or replayed request finds it. The
// pairs are distinct (one statement may not touch a row twice) and taken in
// order, so every pinner locks existing rows alike.
constexpr char kUpsertPins[] = R"sql(
INSERT INTO pins (cid, backend, request_id, status)
SELECT u.cid, u.backend, NULLIF(u.request_id, ''), 'pinning'
FROM unnest($1::text[], $2::text[], $3::text[]) AS u(cid, backend, request_id)
ORDER BY u.cid, u.backend
ON CONFLICT (cid, backend) DO UPDATE
SET request_id = coalesce(EXCLUDED.request_id, pins.request_id),
    status = CASE WHEN pins.status = 'pinned' THEN 'pinned' ELSE 'pinning' END,
    updated_at = now()
RETURNING id, cid, backend, status)sql";

// The claims on pins now recorded.
constexpr char kDropClaims[] = R"sql(
DELETE FROM pin_claims c
USING unnest($1::text[], $2::text[]) AS u(cid, backend)
WHERE c.cid = u.cid AND c.backend = u.backend)sql";

// Locks the CIDs' pins (in id order, like every other locker) and returns
// the CIDs of which a pin is confirmed.
constexpr char kLockPinsOfCids[] = R"sql(
SELECT cid FROM (
  SELECT cid, status FROM pins WHERE cid = ANY($1::text[]) ORDER BY id FOR UPDATE) p
GROUP BY cid HAVING bool_or(status = 'pinned'))sql";

// Each resource ($1) to 'pinning' with its CID ($2), or 'pinned' when its
// CID is among the confirmed ($3). A resource already 'pinned' stays so.
constexpr char kResourcesPinning[] = R"sql(
UPDATE resources r
SET status = CASE WHEN u.cid = ANY($3::text[]) THEN 'pinned' ELSE 'pinning' END,
    pinned_cid = u.cid, reason = NULL, detail = NULL, updated_at = now()
FROM unnest($1::bigint[], $2::text[]) AS u(id, cid)
WHERE r.id = u.id AND (u.cid = ANY($3::text[]) OR r.status <> 'pinned'))sql";

constexpr char kResourceFailed[] = R"sql(
UPDATE resources SET status = 'failed', reason = $2, detail = $3, updated_at = now()
WHERE id = $1 AND status <> 'pinned')sql";

}  // namespace

absl::StatusOr<std::pair<uint32_t, uint32_t>> PgPinnerRepository::Enqueue(
    const std::vector<int64_t>& ids) {
  std::pair<uint32_t, uint32_t> counts;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    std::vector<int64_t> found;
    for (const auto& row :
         db::ExecPlanned(txn, kExisting, db::BigintArray(ids))) {
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
    for (const auto& row : db::ExecPlanned(
             txn, kLoadResources, db::BigintArray(ids), kMaxBatchStoredBytes)) {
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

// (CID, backend) -> the backend's request id.
using NewPins = std::map<std::pair<std::string, std::string>, std::string>;

// Records `pins` (one row per (CID, backend): a replay finds the same row),
// drops the claims on them and queues for tracking those not yet
// confirmed; returns each pin's id.
std::map<std::pair<std::string, std::string>, int64_t> RecordPins(
    pqxx::work& txn, const NewPins& pins) {
  std::map<std::pair<std::string, std::string>, int64_t> ids;
  if (pins.empty()) return ids;
  std::vector<std::string> cids, backends, request_ids;
  for (const auto& [key, request_id] : pins) {
    cids.push_back(key.first);
    backends.push_back(key.second);
    // The request id is the backend's text: stored valid and bounded.
    request_ids.push_back(ValidUtf8(request_id, 1024));
  }
  const std::string cid_array = db::TextArray(cids);
  const std::string backend_array = db::TextArray(backends);
  std::vector<int64_t> to_track;
  for (const auto& row : db::Exec(txn, kUpsertPins, cid_array, backend_array,
                                  db::TextArray(request_ids))) {
    const int64_t id = row[0].as<int64_t>();
    ids[{row[1].as<std::string>(), row[2].as<std::string>()}] = id;
    if (row[3].as<std::string>() != "pinned") to_track.push_back(id);
  }
  db::Exec(txn, kDropClaims, cid_array, backend_array);
  db::WorkQueue::Enqueue(txn, kTrackQueue, to_track);
  return ids;
}

}  // namespace

absl::StatusOr<int64_t> PgPinnerRepository::SavePin(
    const std::string& cid, const std::string& backend,
    const std::string& request_id) {
  int64_t pin_id = 0;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pin_id = RecordPins(txn, {{{cid, backend}, request_id}}).begin()->second;
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
    switch (db::ClaimPinUnlessLive(txn, queue_.name(), claimer, cid, backend)) {
      case db::PinClaimResult::kLivePin:
        claim = PinClaim::kPinned;
        break;
      case db::PinClaimResult::kBusy:
        claim = PinClaim::kBusy;
        break;
      case db::PinClaimResult::kClaimed:
        claim = PinClaim::kClaimed;
        break;
    }
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

absl::StatusOr<std::vector<SavedPinning>>
PgPinnerRepository::SaveResourcesPinning(
    const std::vector<ResourcePinning>& batch) {
  std::vector<SavedPinning> saved(batch.size());
  if (batch.empty()) return saved;
  NewPins pins;
  for (const ResourcePinning& r : batch) {
    for (const NewPin& p : r.new_pins) {
      pins.emplace(std::make_pair(p.cid, p.backend), p.request_id);
    }
  }
  std::vector<db::QueueItem> items;
  for (const ResourcePinning& r : batch) items.push_back(r.item);

  std::map<std::pair<std::string, std::string>, int64_t> pin_ids;
  std::vector<int64_t> completed;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    // The pins commit whoever holds the items; the rest only under a lease.
    pin_ids = RecordPins(txn, pins);
    completed = queue_.CompleteMany(txn, items);
    if (completed.empty()) return absl::OkStatus();
    const std::set<int64_t> held(completed.begin(), completed.end());
    // Ordered by id, so concurrent batches lock resources alike.
    std::map<int64_t, std::string> resources;
    std::set<std::string> resource_cids;
    for (const ResourcePinning& r : batch) {
      if (held.count(r.item.id) == 0) continue;
      resources[r.item.id] = r.cid;
      resource_cids.insert(r.cid);
    }
    // Locking the CIDs' pins orders this against the tracker confirming one
    // of them: either the tracker's next statement sees these resources
    // 'pinning' (with their pinned_cid) and confirms them too, or this sees
    // the pin already 'pinned' and confirms the resource here. Either way no
    // resource is left pinning behind a finished pin.
    std::vector<std::string> confirmed;
    for (const auto& row :
         db::ExecPlanned(txn, kLockPinsOfCids,
                         db::TextArray(std::vector<std::string>(
                             resource_cids.begin(), resource_cids.end())))) {
      confirmed.push_back(row[0].as<std::string>());
    }
    std::vector<int64_t> ids, now_pinned;
    std::vector<std::string> resource_cid;
    for (const auto& [id, cid] : resources) {
      ids.push_back(id);
      resource_cid.push_back(cid);
      if (std::find(confirmed.begin(), confirmed.end(), cid) !=
          confirmed.end()) {
        now_pinned.push_back(id);
      }
    }
    db::ExecPlanned(txn, kResourcesPinning, db::BigintArray(ids),
                    db::TextArray(resource_cid), db::TextArray(confirmed));
    db::RollUpTokensOfResources(txn, now_pinned);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  const std::set<int64_t> held(completed.begin(), completed.end());
  for (size_t i = 0; i < batch.size(); ++i) {
    for (const NewPin& p : batch[i].new_pins) {
      saved[i].pin_ids.push_back(pin_ids[{p.cid, p.backend}]);
    }
    saved[i].lease_lost = held.count(batch[i].item.id) == 0;
  }
  return saved;
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
