#include "services/tracker/contract_status.h"

#include <algorithm>
#include <map>

#include "common/db/pool.h"

namespace niftysave::tracker {
namespace {

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

std::vector<std::pair<std::string, int64_t>> MostFirst(
    const std::map<std::string, int64_t>& counts) {
  std::vector<std::pair<std::string, int64_t>> out(counts.begin(),
                                                   counts.end());
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.second > b.second;
  });
  return out;
}

}  // namespace

absl::StatusOr<ContractRef> ParseContractRef(uint64_t chain_id,
                                             const std::string& contract) {
  if (chain_id > INT64_MAX)
    return absl::InvalidArgumentError("chain_id: out of range");
  // The token id is a placeholder: only the chain and address are checked.
  absl::StatusOr<eth::TokenKey> key =
      eth::ParseTokenKey(chain_id, contract, "0");
  if (!key.ok()) return key.status();
  return ContractRef{key->chain_id, key->contract};
}

const char* PgContractStatus::Sql() { return kContractStatus; }

absl::StatusOr<std::optional<ContractStatus>> PgContractStatus::Get(
    const ContractRef& ref) {
  std::optional<ContractStatus> result;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    result.reset();
    const pqxx::result rows = txn.exec_params(
        kContractStatus, static_cast<int64_t>(ref.chain_id), ref.contract);
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
