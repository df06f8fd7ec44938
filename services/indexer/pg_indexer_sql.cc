#include "services/indexer/pg_indexer_sql.h"

#include "common/db/pool.h"

namespace niftysave::indexer::pgsql {
namespace {

// The (contract, token id) pairs a statement works on, as $2/$3 arrays.
#define NS_AFFECTED                                              \
  "SELECT decode(c, 'hex') AS contract, i::numeric AS token_id " \
  "FROM unnest($2::text[], $3::text[]) AS u(c, i)"

// ERC-721 owner and burned from the newest transfer on record: right after
// a range, after a backfill of older blocks, and after a rollback alike.
constexpr char kRecomputeOwners[] = R"sql(
UPDATE tokens t
SET owner = l.to_address,
    burned = l.to_address = '\x0000000000000000000000000000000000000000',
    updated_at = now()
FROM (SELECT DISTINCT ON (tr.contract, tr.token_id)
             tr.contract, tr.token_id, tr.to_address
      FROM transfers tr JOIN ()sql" NS_AFFECTED R"sql() a
        ON tr.contract = a.contract AND tr.token_id = a.token_id
      WHERE tr.chain_id = $1 AND tr.standard = 'erc721'
      ORDER BY tr.contract, tr.token_id, tr.block_number DESC,
               tr.log_index DESC, tr.batch_index DESC) l
WHERE t.chain_id = $1 AND t.contract = l.contract AND t.token_id = l.token_id
  AND (t.owner IS DISTINCT FROM l.to_address
       OR t.burned <> (l.to_address = '\x0000000000000000000000000000000000000000')))sql";

constexpr char kDropZeroBalances[] = R"sql(
DELETE FROM erc1155_balances b USING ()sql" NS_AFFECTED R"sql() a
WHERE b.chain_id = $1 AND b.contract = a.contract AND b.token_id = a.token_id
  AND b.balance = 0)sql";

constexpr char kDeleteBalances[] = R"sql(
DELETE FROM erc1155_balances b USING ()sql" NS_AFFECTED R"sql() a
WHERE b.chain_id = $1 AND b.contract = a.contract AND b.token_id = a.token_id)sql";

constexpr char kRecomputeBalances[] = R"sql(
INSERT INTO erc1155_balances (chain_id, contract, token_id, owner, balance)
SELECT $1, contract, token_id, holder, sum(delta) FROM (
  SELECT tr.contract, tr.token_id, tr.to_address AS holder, tr.amount AS delta
  FROM transfers tr JOIN ()sql" NS_AFFECTED R"sql() a
    ON tr.contract = a.contract AND tr.token_id = a.token_id
  WHERE tr.chain_id = $1 AND tr.standard = 'erc1155'
    AND tr.to_address <> '\x0000000000000000000000000000000000000000'
  UNION ALL
  SELECT tr.contract, tr.token_id, tr.from_address, -tr.amount
  FROM transfers tr JOIN ()sql" NS_AFFECTED R"sql() a
    ON tr.contract = a.contract AND tr.token_id = a.token_id
  WHERE tr.chain_id = $1 AND tr.standard = 'erc1155'
    AND tr.from_address <> '\x0000000000000000000000000000000000000000') d
GROUP BY contract, token_id, holder
HAVING sum(delta) <> 0)sql";

#undef NS_AFFECTED

}  // namespace

std::string IntArray(const std::vector<std::optional<int64_t>>& values) {
  std::vector<std::string> parts;
  for (const auto& v : values) parts.push_back(v ? absl::StrCat(*v) : "NULL");
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

std::string BoolArray(const std::vector<std::string>& values) {
  return absl::StrCat("{", absl::StrJoin(values, ","), "}");
}

std::optional<std::string> Opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::string AffectedTokens::Contracts() const {
  std::vector<std::string> v;
  for (const auto& k : keys) v.push_back(k.first);
  return db::TextArray(v);
}

std::string AffectedTokens::Ids() const {
  std::vector<std::string> v;
  for (const auto& k : keys) v.push_back(k.second);
  return db::TextArray(v);
}

void Recompute(pqxx::work& txn, int64_t chain, const AffectedTokens& affected,
               bool rebuild_balances, bool owners) {
  if (affected.keys.empty()) return;
  const std::string contracts = affected.Contracts(), ids = affected.Ids();
  if (owners) txn.exec_params(kRecomputeOwners, chain, contracts, ids);
  if (rebuild_balances) {
    txn.exec_params(kDeleteBalances, chain, contracts, ids);
    txn.exec_params(kRecomputeBalances, chain, contracts, ids);
  } else {
    txn.exec_params(kDropZeroBalances, chain, contracts, ids);
  }
}

}  // namespace niftysave::indexer::pgsql
