#include "common/db/parked.h"

#include <string>

#include "common/db/pool.h"
#include "common/db/prepared.h"
#include "common/db/rollup.h"

namespace niftysave::db {
namespace {

constexpr char kTokensParked[] = R"sql(
UPDATE tokens SET status = 'failed', reason = 'lease_expired', detail = $2,
                  updated_at = now()
WHERE id = ANY($1::bigint[]) AND status = 'queued')sql";

constexpr char kResourcesParked[] = R"sql(
UPDATE resources SET status = 'failed', reason = 'lease_expired', detail = $2,
                     updated_at = now()
WHERE id = ANY($1::bigint[]) AND status = 'queued'
RETURNING id)sql";

constexpr char kPinsParked[] = R"sql(
UPDATE pins SET status = 'failed', reason = 'lease_expired', detail = $2,
                updated_at = now()
WHERE id = ANY($1::bigint[]) AND status IN ('queued', 'pinning')
RETURNING cid)sql";

constexpr char kResourcesOfPinsParked[] = R"sql(
UPDATE resources SET status = 'failed', reason = 'lease_expired', detail = $2,
                     updated_at = now()
WHERE pinned_cid = ANY($1::text[]) AND status = 'pinning'
RETURNING id)sql";

std::vector<int64_t> Ids(const pqxx::result& rows) {
  std::vector<int64_t> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(row[0].as<int64_t>());
  return out;
}

}  // namespace

void RecordParkedWork(pqxx::work& txn, std::string_view queue,
                      const std::vector<int64_t>& ids,
                      std::string_view detail) {
  if (ids.empty()) return;
  const std::string text(detail);
  if (queue == "extract" || queue.starts_with("read_uri:")) {
    ExecPlanned(txn, kTokensParked, BigintArray(ids), text);
  } else if (queue == "pin") {
    RollUpTokensOfResources(
        txn, Ids(ExecPlanned(txn, kResourcesParked, BigintArray(ids), text)));
  } else if (queue == "track") {
    std::vector<std::string> cids;
    for (const auto& row :
         ExecPlanned(txn, kPinsParked, BigintArray(ids), text))
      cids.push_back(row[0].as<std::string>());
    if (cids.empty()) return;
    RollUpTokensOfResources(txn, Ids(ExecPlanned(txn, kResourcesOfPinsParked,
                                                 TextArray(cids), text)));
  }
}

}  // namespace niftysave::db
