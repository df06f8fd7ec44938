#include "common/db/rollup.h"

#include "common/db/pool.h"
#include "common/db/prepared.h"

namespace niftysave::db {
namespace {

// The rule is documented in rollup.h. `partial` needs a failure: while
// nothing has failed, a token with pins in flight is simply in progress
// (`extracted`); otherwise every token would pass through `partial` on its
// way to `archived` and the status would say nothing. A token whose assets
// all failed while its metadata is still in flight stays `extracted` until
// the metadata settles (pinned: partial; failed: failed).
//
// Driven from the token ids: a LATERAL aggregate per token, so the cheapest
// plan is an index probe per token and per resource whatever the tables'
// statistics say. The join-then-group form had the planner hash whole
// sequential scans of resources and token_resources while their statistics
// lagged their growth (pipeline_bench --tokens=20000 with auto_explain at
// 5 ms: 839 roll-ups over it, 788 of them such plans at 38 ms on average;
// in this form 174, 13 of them scanning).
constexpr char kRollUp[] = R"sql(
WITH agg AS (
  SELECT k.token_pk, a.*
  FROM (SELECT DISTINCT unnest($1::bigint[]) AS token_pk) k
  CROSS JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE r.status = 'pinned') AS pinned,
           count(*) FILTER (WHERE r.status = 'failed') AS failed,
           bool_or(tr.role = 'metadata' AND r.status = 'failed') AS metadata_failed,
           (array_agg(r.reason ORDER BY tr.json_path) FILTER (WHERE r.status = 'failed'))[1] AS reason,
           (array_agg(CASE WHEN tr.json_path = '' THEN 'token URI' ELSE tr.json_path END
                      || ': ' || coalesce(r.detail, '')
                      ORDER BY tr.json_path) FILTER (WHERE r.status = 'failed'))[1] AS detail
    FROM token_resources tr JOIN resources r ON r.id = tr.resource_id
    WHERE tr.token_pk = k.token_pk) a
  WHERE a.total > 0),
decided AS (
  SELECT token_pk, reason, detail,
         CASE WHEN pinned = total THEN 'archived'
              WHEN metadata_failed OR failed = total THEN 'failed'
              WHEN failed > 0 AND pinned > 0 THEN 'partial'
              ELSE 'extracted' END AS status
  FROM agg)
UPDATE tokens t
SET status = d.status,
    reason = CASE WHEN d.status IN ('failed', 'partial') THEN d.reason END,
    detail = CASE WHEN d.status IN ('failed', 'partial') THEN d.detail END,
    updated_at = now()
FROM decided d
WHERE t.id = d.token_pk
  AND t.metadata_resource_id IS NOT NULL
  AND t.status IN ('extracted', 'partial', 'archived', 'failed'))sql";

// Taken before the roll-up reads: two workers confirming two resources of one
// token at once would each see the other's resource still pending (READ
// COMMITTED snapshots) and both leave the token `extracted` for ever. With
// the token locked first, the second waits and its next statement sees the
// first one's commit. Ordered by id so concurrent roll-ups cannot deadlock
// on tokens.
constexpr char kLockTokens[] = R"sql(
SELECT id FROM tokens WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE)sql";

constexpr char kTokensOf[] = R"sql(
SELECT DISTINCT token_pk FROM token_resources WHERE resource_id = ANY($1::bigint[]))sql";

}  // namespace

void RollUpTokens(pqxx::work& txn, const std::vector<int64_t>& token_pks) {
  if (token_pks.empty()) return;
  const std::string ids = BigintArray(token_pks);
  ExecPlanned(txn, kLockTokens, ids);
  // Planned per call, not prepared (ExecPlanned): the generic plan Postgres
  // settles on after five calls ran 5x slower than a plan made for the array
  // at hand (pipeline_bench --pg_statements, 2,000 tokens: 5.7 s executing
  // against 1.1 s executing and 1.4 s planning).
  ExecPlanned(txn, kRollUp, ids);
}

void RollUpTokensOfResources(pqxx::work& txn,
                             const std::vector<int64_t>& resource_ids) {
  if (resource_ids.empty()) return;
  std::vector<int64_t> tokens;
  for (const auto& row :
       ExecPlanned(txn, kTokensOf, BigintArray(resource_ids))) {
    tokens.push_back(row[0].as<int64_t>());
  }
  RollUpTokens(txn, tokens);
}

}  // namespace niftysave::db
