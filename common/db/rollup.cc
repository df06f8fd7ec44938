#include "common/db/rollup.h"

#include "common/db/pool.h"

namespace niftysave::db {
namespace {

constexpr char kRollUp[] = R"sql(
WITH agg AS (
  SELECT tr.token_pk,
         count(*) FILTER (WHERE r.status = 'failed') AS failed,
         count(*) FILTER (WHERE r.status <> 'pinned') AS pending,
         (array_agg(r.reason ORDER BY tr.json_path) FILTER (WHERE r.status = 'failed'))[1] AS reason,
         (array_agg(CASE WHEN tr.json_path = '' THEN 'token URI' ELSE tr.json_path END
                    || ': ' || coalesce(r.detail, '')
                    ORDER BY tr.json_path) FILTER (WHERE r.status = 'failed'))[1] AS detail
  FROM token_resources tr JOIN resources r ON r.id = tr.resource_id
  WHERE tr.token_pk = ANY($1::bigint[])
  GROUP BY tr.token_pk)
UPDATE tokens t
SET status = CASE WHEN agg.failed > 0 THEN 'failed'
                  WHEN agg.pending = 0 THEN 'archived'
                  ELSE 'extracted' END,
    reason = CASE WHEN agg.failed > 0 THEN agg.reason END,
    detail = CASE WHEN agg.failed > 0 THEN agg.detail END,
    updated_at = now()
FROM agg
WHERE t.id = agg.token_pk
  AND t.metadata_resource_id IS NOT NULL
  AND t.status IN ('extracted', 'archived', 'failed'))sql";

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
  txn.exec_params(kLockTokens, ids);
  txn.exec_params(kRollUp, ids);
}

void RollUpTokensOfResources(pqxx::work& txn,
                             const std::vector<int64_t>& resource_ids) {
  if (resource_ids.empty()) return;
  std::vector<int64_t> tokens;
  for (const auto& row :
       txn.exec_params(kTokensOf, BigintArray(resource_ids))) {
    tokens.push_back(row[0].as<int64_t>());
  }
  RollUpTokens(txn, tokens);
}

}  // namespace niftysave::db
