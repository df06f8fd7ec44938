#include "services/tracker/pg_tracker_repository.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/db/pin_claims.h"
#include "common/db/prepared.h"
#include "common/db/rollup.h"
#include "common/runtime/utf8.h"
#include "services/tracker/funnel_counter.h"
#include "services/tracker/token_query.h"

namespace niftysave::tracker {
namespace {

constexpr char kExisting[] = "SELECT id FROM pins WHERE id = ANY($1::bigint[])";

constexpr char kLoadPins[] = R"sql(
SELECT id, cid, backend, status, repins, recheck_step
FROM pins WHERE id = ANY($1::bigint[]))sql";

// The batch forms take their rows' locks in id order first, like every
// other locker of pins (the pinner's kLockPinsOfCid) and of resources, so
// two trackers' batches and a pinner never wait on each other in a cycle.
constexpr char kPinsPinned[] = R"sql(
UPDATE pins SET status = 'pinned', reason = NULL, detail = NULL, checks = checks + 1,
                recheck_step = 0, next_check_at = NULL, updated_at = now()
WHERE id = ANY(ARRAY(SELECT id FROM pins WHERE id = ANY($1::bigint[])
                     ORDER BY id FOR UPDATE)))sql";

// A resource another pin of the same CID already confirmed stays pinned; a
// failed one is revived (failure is not final).
constexpr char kResourcesPinned[] = R"sql(
UPDATE resources SET status = 'pinned', reason = NULL, detail = NULL, updated_at = now()
WHERE id = ANY(ARRAY(SELECT id FROM resources
                     WHERE pinned_cid = ANY($1::text[]) AND status IN ('pinning', 'failed')
                     ORDER BY id FOR UPDATE))
RETURNING id)sql";

// $1 ids, $2 states, $3 seconds until the next look.
constexpr char kPinsInFlight[] = R"sql(
UPDATE pins p SET status = u.status, reason = NULL, detail = NULL, checks = p.checks + 1,
                  recheck_step = p.recheck_step + 1,
                  next_check_at = now() + make_interval(secs => u.delay), updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::float8[]) AS u(id, status, delay)
WHERE p.id = u.id
  AND p.id = ANY(ARRAY(SELECT id FROM pins WHERE id = ANY($1::bigint[])
                       ORDER BY id FOR UPDATE)))sql";

// Pins this tracker had given up on that are in flight again at the backend
// (re-requested there): their resources are in progress again.
constexpr char kResourcesInFlightAgain[] = R"sql(
UPDATE resources SET status = 'pinning', reason = NULL, detail = NULL, updated_at = now()
WHERE id = ANY(ARRAY(SELECT id FROM resources
                     WHERE pinned_cid = ANY($1::text[]) AND status = 'failed'
                       AND reason IN ('pin_failed', 'pin_missing')
                     ORDER BY id FOR UPDATE))
RETURNING id)sql";

constexpr char kPinCheckFailed[] = R"sql(
UPDATE pins SET reason = NULLIF($2, ''), detail = NULLIF($3, ''), checks = checks + 1,
                recheck_step = recheck_step + 1,
                next_check_at = now() + make_interval(secs => $4), updated_at = now()
WHERE id = $1)sql";

constexpr char kPinRepinned[] = R"sql(
UPDATE pins SET status = $2, request_id = coalesce(NULLIF($3, ''), request_id),
                reason = NULLIF($4, ''), detail = NULLIF($5, ''), checks = checks + 1,
                repins = repins + 1, recheck_step = 0,
                next_check_at = now() + make_interval(secs => $6), updated_at = now()
WHERE id = $1)sql";

constexpr char kPinFailed[] = R"sql(
UPDATE pins SET status = 'failed', reason = $2, detail = NULLIF($3, ''), checks = checks + 1,
                recheck_step = recheck_step + 1,
                next_check_at = now() + make_interval(secs => $4), updated_at = now()
WHERE id = $1)sql";

constexpr char kResourcesFailed[] = R"sql(
UPDATE resources SET status = 'failed', reason = $2, detail = $3, updated_at = now()
WHERE pinned_cid = $1 AND status = 'pinning'
RETURNING id)sql";

// Served by the status indexes; run on an interval (--stats_seconds), never
// per scrape, and by `niftysave summary`. Ordered tokens, resources, pins,
// then by status and reason (a few dozen rows).
// The whole funnel in one statement (one snapshot): tokens by chain, status
// and reason (an index-only scan of the token key tokens_key when the
// visibility map allows), resources and pins by status and reason. It reads
// the three tables whole; FunnelCounter runs it at most 2% of the time.
constexpr char kCountFunnel[] = R"sql(
SELECT 'tokens', chain_id, status, coalesce(reason, ''), count(*) FROM tokens GROUP BY 2, 3, 4
UNION ALL
SELECT 'resources', 0, status, coalesce(reason, ''), count(*) FROM resources GROUP BY 3, 4
UNION ALL
SELECT 'pins', 0, status, coalesce(reason, ''), count(*) FROM pins GROUP BY 3, 4
ORDER BY 1 DESC, 2, 3, 4)sql";

// GetTokenStatus in one statement: one round trip (three inside BEGIN/COMMIT,
// instead of five for three separate queries) and, prepared once per
// connection as kTokenReportStatement, no planning per call. The token, each
// resource it links (in json_path order) and each pin of each resource (by
// backend), one row per (resource, pin). A token without resources is one
// row whose resource columns are NULL; a resource without pins one row whose
// pin columns are NULL. $1 chain_id (bigint), $2 contract (40 hex digits),
// $3 token id (decimal). Served by the (chain_id, contract, token_id) key,
// token_resources_pkey, resources_pkey and pins (cid, backend).
// Columns, in order: see TokenReportRow.
// The pins are those of the resource's pinned root (pinned_cid); a resource
// not pinned yet has none. Token URIs may be 1 MiB and every row repeats
// the token's columns, so only the first $4 characters travel (with the
// full length and, when cut, the SHA-256); at most $5 rows.
constexpr char kTokenReportQuery[] = R"sql(
SELECT substr(coalesce(t.token_uri, ''), 1, $4), t.status, coalesce(t.reason, ''), coalesce(t.detail, ''),
       coalesce(encode(t.owner, 'hex'), ''), coalesce(t.mint_block, 0),
       tr.json_path, tr.role, tr.uri, r.normalized, coalesce(r.pinned_cid, r.cid, ''), r.path,
       r.status, coalesce(r.reason, ''), coalesce(r.detail, ''), coalesce(r.size, -1),
       coalesce(r.content_type, ''),
       p.backend, p.cid, p.status, coalesce(p.reason, ''), coalesce(p.detail, ''),
       to_char(p.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       octet_length(t.token_uri),
       CASE WHEN octet_length(t.token_uri) > $4
            THEN encode(sha256(convert_to(t.token_uri, 'UTF8')), 'hex') END,
       tr.verified
FROM tokens t
LEFT JOIN token_resources tr ON tr.token_pk = t.id
LEFT JOIN resources r ON r.id = tr.resource_id
LEFT JOIN pins p ON p.cid = r.pinned_cid
WHERE t.chain_id = $1 AND t.contract = decode($2, 'hex') AND t.token_id = $3::numeric
ORDER BY tr.json_path, p.backend
LIMIT $5)sql";

constexpr char kTokenReportStatement[] = "token_report";

// Keyset pages on the primary key: `id > $2 ORDER BY id LIMIT $5` walks
// tokens_pkey (or the (chain_id, contract, token_id) key when a contract is
// given); no OFFSET, so page N costs what page 1 costs. One extra row is read
// to know whether a next page exists.
constexpr char kListTokens[] = R"sql(
SELECT id, encode(contract, 'hex'), token_id::text,
       substr(coalesce(token_uri, ''), 1, $6), status,
       coalesce(reason, ''), coalesce(detail, ''),
       to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       octet_length(token_uri),
       CASE WHEN octet_length(token_uri) > $6
            THEN encode(sha256(convert_to(token_uri, 'UTF8')), 'hex') END
FROM tokens
WHERE chain_id = $1 AND id > $2
  AND ($3::text = '' OR contract = decode($3::text, 'hex'))
  AND ($4::text = '' OR status = $4::text)
ORDER BY id
LIMIT $5)sql";

constexpr char kNow[] =
    R"sql(SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))sql";

// A contract with no tokens yet still yields one row (status NULL).
constexpr char kContractStatus[] = R"sql(
SELECT c.standard, coalesce(c.name, ''), coalesce(c.symbol, ''), t.status, t.reason, t.n,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM contracts c
LEFT JOIN LATERAL (
  SELECT status, coalesce(reason, '') AS reason, count(*) AS n
  FROM tokens WHERE chain_id = c.chain_id AND contract = c.address
  GROUP BY 1, 2) t ON true
WHERE c.chain_id = $1 AND c.address = decode($2, 'hex'))sql";

std::vector<int64_t> Ids(const pqxx::result& rows) {
  std::vector<int64_t> ids;
  for (const auto& row : rows) ids.push_back(row[0].as<int64_t>());
  return ids;
}

}  // namespace

absl::StatusOr<std::pair<uint32_t, uint32_t>> PgTrackerRepository::Enqueue(
    const std::vector<int64_t>& pin_ids) {
  std::pair<uint32_t, uint32_t> counts;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    std::vector<int64_t> found =
        Ids(db::ExecPlanned(txn, kExisting, db::BigintArray(pin_ids)));
    db::WorkQueue::Enqueue(txn, queue_.name(), found);
    counts = {static_cast<uint32_t>(found.size()),
              static_cast<uint32_t>(pin_ids.size() - found.size())};
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return counts;
}

absl::StatusOr<std::map<int64_t, PinToCheck>> PgTrackerRepository::LoadPins(
    const std::vector<int64_t>& ids) {
  std::map<int64_t, PinToCheck> pins;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pins.clear();
    for (const auto& row :
         db::ExecPlanned(txn, kLoadPins, db::BigintArray(ids))) {
      const int64_t id = row[0].as<int64_t>();
      pins[id] = PinToCheck{.id = id,
                            .cid = row[1].as<std::string>(),
                            .backend = row[2].as<std::string>(),
                            .status = row[3].as<std::string>(),
                            .repins = row[4].as<int>(),
                            .recheck_step = row[5].as<int>()};
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return pins;
}

namespace {

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// Details quote backends: bounded, valid UTF-8, cut on a character boundary.
std::string Clip(const std::string& s) { return ValidUtf8(s, 2000); }

// Marks the pins and their resources pinned and rolls the tokens up.
void MarkPinned(pqxx::work& txn, const std::vector<int64_t>& pin_ids,
                const std::vector<std::string>& cids) {
  if (pin_ids.empty()) return;
  db::ExecPlanned(txn, kPinsPinned, db::BigintArray(pin_ids));
  db::RollUpTokensOfResources(
      txn, Ids(db::ExecPlanned(txn, kResourcesPinned, db::TextArray(cids))));
}

}  // namespace

// Each save moves the queue item first: when the lease was lost (someone
// else holds the item now), the transaction is rolled back so a stale answer
// never overwrites a newer one.
absl::StatusOr<int> PgTrackerRepository::SaveChecked(
    const std::vector<CheckedPin>& checked) {
  std::vector<db::QueueItem> pinned;
  std::vector<db::QueueRetry> in_flight;
  std::map<int64_t, const CheckedPin*> by_id;
  for (const CheckedPin& c : checked) {
    by_id[c.item.id] = &c;
    if (c.state == ipfs::PinState::kPinned) {
      pinned.push_back(c.item);
    } else {
      in_flight.push_back({c.item, "not pinned yet", c.delay});
    }
  }
  int saved = 0;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    // The queue first: only the items whose lease is still held go on.
    std::vector<int64_t> pin_ids;
    std::vector<std::string> cids;
    for (int64_t id : queue_.CompleteMany(txn, pinned)) {
      pin_ids.push_back(by_id.at(id)->pin.id);
      cids.push_back(by_id.at(id)->pin.cid);
    }
    MarkPinned(txn, pin_ids, cids);
    std::vector<int64_t> flight_ids;
    std::vector<std::string> states, revived;
    std::string delays;
    for (int64_t id : queue_.RescheduleEach(txn, in_flight)) {
      const CheckedPin& c = *by_id.at(id);
      flight_ids.push_back(c.pin.id);
      states.emplace_back(ipfs::PinStateName(c.state));
      absl::StrAppend(&delays, delays.empty() ? "" : ",",
                      absl::StrFormat("%.6f", Seconds(c.delay)));
      if (c.pin.status == "failed") revived.push_back(c.pin.cid);
    }
    if (!flight_ids.empty()) {
      db::ExecPlanned(txn, kPinsInFlight, db::BigintArray(flight_ids),
                      db::TextArray(states), absl::StrCat("{", delays, "}"));
    }
    if (!revived.empty()) {
      db::RollUpTokensOfResources(
          txn, Ids(db::ExecPlanned(txn, kResourcesInFlightAgain,
                                   db::TextArray(revived))));
    }
    saved = static_cast<int>(pin_ids.size() + flight_ids.size());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return saved;
}

absl::Status PgTrackerRepository::SaveCheckFailed(const db::QueueItem& item,
                                                  const PinToCheck& pin,
                                                  const std::string& reason,
                                                  const std::string& detail,
                                                  absl::Duration delay) {
  return pool_.Run([&](pqxx::work& txn) {
    if (!queue_.Reschedule(txn, item, reason + ": " + detail, delay))
      return absl::AbortedError("lease lost");
    db::Exec(txn, kPinCheckFailed, pin.id, reason, Clip(detail),
             Seconds(delay));
    return absl::OkStatus();
  });
}

absl::Status PgTrackerRepository::SaveRepinned(
    const db::QueueItem& item, const PinToCheck& pin, ipfs::PinState state,
    const std::string& request_id, const std::string& reason,
    const std::string& detail, absl::Duration delay) {
  return pool_.Run([&](pqxx::work& txn) {
    const bool pinned = state == ipfs::PinState::kPinned;
    const bool current = pinned
                             ? queue_.Complete(txn, item)
                             : queue_.Reschedule(txn, item, "re-pinned", delay);
    if (!current) return absl::AbortedError("lease lost");
    db::Exec(txn, kPinRepinned, pin.id, std::string(ipfs::PinStateName(state)),
             ValidUtf8(request_id, 1024), reason, Clip(detail), Seconds(delay));
    db::DropPinClaim(txn, pin.cid, pin.backend);
    if (pinned) MarkPinned(txn, {pin.id}, {pin.cid});
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> PgTrackerRepository::ClaimRepin(const db::QueueItem& item,
                                                     const PinToCheck& pin) {
  bool claimed = false;
  absl::Status status = pool_.Run([&](pqxx::work& txn) {
    claimed = db::ClaimPin(txn, queue_.name(), item, pin.cid, pin.backend);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return claimed;
}

absl::Status PgTrackerRepository::ReleaseRepin(const db::QueueItem& item,
                                               const PinToCheck& pin) {
  return pool_.Run([&](pqxx::work& txn) {
    db::ReleasePinClaim(txn, queue_.name(), item, pin.cid, pin.backend);
    return absl::OkStatus();
  });
}

absl::Status PgTrackerRepository::SaveFailed(const db::QueueItem& item,
                                             const PinToCheck& pin,
                                             const std::string& reason,
                                             const std::string& detail,
                                             absl::Duration delay) {
  return pool_.Run([&](pqxx::work& txn) {
    if (!queue_.Reschedule(txn, item, reason, delay))
      return absl::AbortedError("lease lost");
    db::Exec(txn, kPinFailed, pin.id, reason, Clip(detail), Seconds(delay));
    db::RollUpTokensOfResources(
        txn,
        Ids(db::Exec(txn, kResourcesFailed, pin.cid, reason, Clip(detail))));
    return absl::OkStatus();
  });
}

absl::Status PgTrackerRepository::Defer(const db::QueueItem& item,
                                        absl::Duration delay) {
  return pool_.Run([&](pqxx::work& txn) {
    if (!queue_.Reschedule(txn, item, "status request budget spent", delay))
      return absl::AbortedError("lease lost");
    return absl::OkStatus();
  });
}

absl::Status PgTrackerRepository::Drop(const db::QueueItem& item) {
  return pool_.Run([&](pqxx::work& txn) {
    queue_.Complete(txn, item);
    return absl::OkStatus();
  });
}

namespace {

struct BoundedText {
  std::string text;
  int64_t length = 0;
  std::string sha256;
};

// A token URI as an answer carries it: its first kMaxTextBytes bytes (the
// query cut it in characters; this cuts it in bytes, on a character
// boundary), its full length, and its SHA-256 when it was cut.
BoundedText Bounded(std::string prefix, int64_t length, std::string sha256) {
  BoundedText out{ValidUtf8(prefix, kMaxTextBytes), length, std::move(sha256)};
  if (static_cast<int64_t>(out.text.size()) >= length) out.sha256.clear();
  return out;
}

// The token, its resources and their pins, read in `txn`.
std::optional<TokenReport> LoadReport(pqxx::work& txn,
                                      const eth::TokenKey& key) {
  // Defined once per connection (a no-op after that); prepared by the server
  // on first use.
  txn.conn().prepare(kTokenReportStatement, kTokenReportQuery);
  pqxx::result result = txn.exec_prepared(
      kTokenReportStatement, static_cast<int64_t>(key.chain_id), key.contract,
      key.token_id, static_cast<int64_t>(kMaxTextBytes),
      static_cast<int64_t>(kMaxReportRows));
  if (result.empty()) return std::nullopt;
  std::vector<TokenReportRow> rows;
  rows.reserve(result.size());
  for (const auto& r : result) {
    TokenReportRow row{.token_uri = r[0].as<std::string>(),
                       .status = r[1].as<std::string>(),
                       .reason = r[2].as<std::string>(),
                       .detail = r[3].as<std::string>(),
                       .owner = r[4].as<std::string>(),
                       .mint_block = r[5].as<uint64_t>()};
    if (!r[6].is_null()) {
      row.has_resource = true;
      row.json_path = r[6].as<std::string>();
      row.role = r[7].as<std::string>();
      row.verified = r[25].as<bool>();
      row.resource = {.uri = r[8].as<std::string>(),
                      .normalized = r[9].as<std::string>(),
                      .cid = r[10].as<std::string>(),
                      .path = r[11].as<std::string>(),
                      .status = r[12].as<std::string>(),
                      .reason = r[13].as<std::string>(),
                      .detail = r[14].as<std::string>(),
                      .size = r[15].as<int64_t>(),
                      .content_type = r[16].as<std::string>()};
    }
    if (!r[17].is_null()) {
      row.pin = PinView{r[17].as<std::string>(), r[18].as<std::string>(),
                        r[19].as<std::string>(), r[20].as<std::string>(),
                        r[21].as<std::string>(), r[22].as<std::string>()};
    }
    rows.push_back(std::move(row));
  }
  const pqxx::row& first = result[0];
  BoundedText uri =
      Bounded(std::move(rows.front().token_uri), first[23].as<int64_t>(0),
              first[24].as<std::string>(""));
  const bool capped = result.size() >= kMaxReportRows;
  TokenReport report = AssembleTokenReport(key, std::move(rows));
  report.token_uri = std::move(uri.text);
  report.token_uri_length = uri.length;
  report.token_uri_sha256 = std::move(uri.sha256);
  report.assets_truncated = capped;
  return report;
}

}  // namespace

absl::StatusOr<std::optional<TokenReport>> PgTrackerRepository::GetTokenReport(
    const eth::TokenKey& key) {
  std::optional<TokenReport> report;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    report = LoadReport(txn, key);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return report;
}

absl::StatusOr<std::vector<std::optional<TokenReport>>>
PgTrackerRepository::GetTokenReports(const std::vector<eth::TokenKey>& keys) {
  std::vector<std::optional<TokenReport>> reports;
  // One transaction (one snapshot, one pooled connection) for the batch.
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    reports.clear();
    for (const eth::TokenKey& key : keys)
      reports.push_back(LoadReport(txn, key));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return reports;
}

absl::StatusOr<TokenPage> PgTrackerRepository::ListTokens(
    const TokenListQuery& query) {
  TokenPage page;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    page = {};
    pqxx::result rows =
        db::Exec(txn, kListTokens, static_cast<int64_t>(query.chain_id),
                 query.after_id, query.contract, query.status, query.limit + 1,
                 static_cast<int64_t>(kMaxTextBytes));
    int64_t last_id = 0;
    for (const auto& row : rows) {
      if (static_cast<int>(page.tokens.size()) == query.limit) {
        page.next_after_id = last_id;  // there is at least one more row
        break;
      }
      last_id = row[0].as<int64_t>();
      BoundedText uri = Bounded(row[3].as<std::string>(), row[8].as<int64_t>(0),
                                row[9].as<std::string>(""));
      page.tokens.push_back({.id = last_id,
                             .key = {query.chain_id, row[1].as<std::string>(),
                                     row[2].as<std::string>()},
                             .token_uri = std::move(uri.text),
                             .token_uri_length = uri.length,
                             .token_uri_sha256 = std::move(uri.sha256),
                             .status = row[4].as<std::string>(),
                             .reason = row[5].as<std::string>(),
                             .detail = row[6].as<std::string>(),
                             .updated_at = row[7].as<std::string>()});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return page;
}

absl::StatusOr<FunnelCounts> PgTrackerRepository::CountFunnel(db::Pool& pool) {
  FunnelCounts counts;
  absl::Status s = pool.Run([&](pqxx::work& txn) {
    counts = {};
    for (const auto& row : txn.exec(kCountFunnel)) {
      const std::string record = row[0].as<std::string>();
      if (record == "tokens") {
        counts.tokens.push_back({static_cast<uint64_t>(row[1].as<int64_t>()),
                                 row[2].as<std::string>(),
                                 row[3].as<std::string>(),
                                 row[4].as<int64_t>()});
      } else {
        counts.shared.push_back({record, row[2].as<std::string>(),
                                 row[3].as<std::string>(),
                                 row[4].as<int64_t>()});
      }
    }
    counts.computed_at = txn.exec(kNow)[0][0].as<std::string>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return counts;
}

absl::StatusOr<std::vector<StatusCount>> PgTrackerRepository::CountRecords(
    db::Pool& pool) {
  absl::StatusOr<FunnelCounts> counts = CountFunnel(pool);
  if (!counts.ok()) return counts.status();
  return RecordCounts(*counts);
}

const char* PgTrackerRepository::ContractStatusSql() { return kContractStatus; }

absl::StatusOr<std::optional<ContractStatus>> PgTrackerRepository::Get(
    const ContractRef& ref) {
  std::optional<ContractStatus> result;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    result.reset();
    const pqxx::result rows = db::Exec(
        txn, kContractStatus, static_cast<int64_t>(ref.chain_id), ref.contract);
    if (rows.empty()) return absl::OkStatus();
    ContractStatus c{.chain_id = ref.chain_id, .contract = ref.contract};
    c.standard = rows[0][0].as<std::string>();
    c.name = rows[0][1].as<std::string>();
    c.symbol = rows[0][2].as<std::string>();
    c.computed_at = rows[0][6].as<std::string>();
    std::map<std::string, int64_t> failures, partial_failures;
    for (const auto& row : rows) {
      if (row[3].is_null()) continue;  // no tokens
      const std::string status = row[3].as<std::string>();
      const std::string reason = row[4].as<std::string>();
      const int64_t n = row[5].as<int64_t>();
      c.indexed += n;
      if (status == "queued") {
        c.queued += n;
      } else if (status == "extracted") {
        c.extracted += n;
      } else if (status == "archived") {
        c.archived += n;
      } else if (status == "partial") {
        c.partial += n;
        partial_failures[reason] += n;
      } else if (status == "failed") {
        c.failed += n;
        failures[reason] += n;
      }
    }
    c.failures = MostFirst(failures);
    c.partial_failures = MostFirst(partial_failures);
    result = std::move(c);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return result;
}

}  // namespace niftysave::tracker
