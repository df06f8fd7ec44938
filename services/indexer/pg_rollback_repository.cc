// PgIndexerRepository, the RollbackRepository half: the stored block hashes
// a reorg is found with, and the rollback to the common ancestor.
#include <algorithm>

#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "services/indexer/pg_indexer_repository.h"
#include "services/indexer/pg_indexer_sql.h"

namespace niftysave::indexer {
namespace {

using pgsql::I64;

constexpr char kRecentBlocks[] = R"sql(
SELECT number, encode(hash, 'hex'), encode(parent_hash, 'hex') FROM blocks
WHERE chain_id = $1 AND number <= $2 ORDER BY number DESC LIMIT $3)sql";

constexpr char kStoredBlock[] = R"sql(
SELECT number, encode(hash, 'hex'), encode(parent_hash, 'hex') FROM blocks
WHERE chain_id = $1 AND number = $2)sql";

// Rollback, newest effects first: downstream work of vanished tokens, the
// tokens, the transfers, then owners and balances from what remains. Tokens
// are found through tokens_changed_block (greatest(mint_block, uri_block)).
constexpr char kCancelVanished[] = R"sql(
DELETE FROM work_queue w USING tokens t
WHERE w.queue IN ('extract', $3) AND w.item_id = t.id
  AND t.chain_id = $1 AND greatest(t.mint_block, t.uri_block) > $2
  AND t.mint_block > $2)sql";
constexpr char kDeleteVanished[] = R"sql(
DELETE FROM tokens
WHERE chain_id = $1 AND greatest(mint_block, uri_block) > $2
  AND mint_block > $2)sql";
constexpr char kDeleteTransfers[] = R"sql(
DELETE FROM transfers WHERE chain_id = $1 AND block_number > $2
RETURNING encode(contract, 'hex'), token_id::text)sql";
// A URI read in flight may have read an orphaned block: its lease is fenced
// off (the generation moves on; the run_after of a lease is its deadline, in
// the future) and the token is due again at once. The lock this takes also
// waits for a reader committing now, so the next statement sees what it
// wrote.
constexpr char kFenceUriReads[] = R"sql(
UPDATE work_queue
SET generation = generation + 1, run_after = now(), leased_by = NULL
WHERE queue = $1 AND state = 'ready' AND run_after > now())sql";
// Surviving tokens whose URI was set in an orphaned block are read again
// (WorkQueue::Requeue); uri_block is cleared so the read, at a block before
// the old one, applies.
constexpr char kStaleUris[] = R"sql(
UPDATE tokens SET uri_block = NULL, updated_at = now()
WHERE chain_id = $1 AND greatest(mint_block, uri_block) > $2
  AND uri_block > $2
RETURNING id)sql";
constexpr char kDeleteContracts[] = R"sql(
DELETE FROM contracts c WHERE c.chain_id = $1 AND c.first_block > $2
  AND NOT EXISTS (SELECT 1 FROM tokens t
                  WHERE t.chain_id = c.chain_id AND t.contract = c.address))sql";
constexpr char kDeleteErrors[] = R"sql(
DELETE FROM indexer_errors WHERE chain_id = $1 AND block_number > $2)sql";
constexpr char kDeleteBlocks[] = R"sql(
DELETE FROM blocks WHERE chain_id = $1 AND number > $2)sql";
constexpr char kRewindCursor[] = R"sql(
UPDATE chains SET next_block = $2, updated_at = now() WHERE chain_id = $1)sql";

constexpr char kDeletePendingRefreshes[] = R"sql(
DELETE FROM pending_refreshes WHERE chain_id = $1 AND block > $2)sql";

}  // namespace

absl::StatusOr<std::vector<BlockHeader>> PgIndexerRepository::RecentBlocks(
    uint64_t chain_id, uint64_t at_most, uint64_t limit) {
  std::vector<BlockHeader> out;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    out.clear();
    for (const pqxx::row& row : txn.exec_params(kRecentBlocks, I64(chain_id),
                                                I64(at_most), I64(limit))) {
      out.push_back({static_cast<uint64_t>(row[0].as<int64_t>()),
                     row[1].c_str(), row[2].c_str()});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::optional<BlockHeader>> PgIndexerRepository::StoredBlock(
    uint64_t chain_id, uint64_t number) {
  std::optional<BlockHeader> out;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pqxx::result r = txn.exec_params(kStoredBlock, I64(chain_id), I64(number));
    if (!r.empty()) {
      out = BlockHeader{static_cast<uint64_t>(r[0][0].as<int64_t>()),
                        r[0][1].c_str(), r[0][2].c_str()};
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<RollbackResult> PgIndexerRepository::Rollback(
    uint64_t chain_id, uint64_t ancestor) {
  RollbackResult result;
  const int64_t chain = I64(chain_id), at = I64(ancestor);
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    result = RollbackResult();
    const std::string uri_queue = UriQueueName(chain_id);
    txn.exec_params(kFenceUriReads, uri_queue);
    result.queue_cancelled =
        txn.exec_params(kCancelVanished, chain, at, uri_queue).affected_rows();
    result.tokens_removed =
        txn.exec_params(kDeleteVanished, chain, at).affected_rows();
    pgsql::AffectedTokens affected;
    pqxx::result gone = txn.exec_params(kDeleteTransfers, chain, at);
    result.transfers_removed = gone.size();
    for (const pqxx::row& row : gone)
      affected.Add(row[0].c_str(), row[1].c_str());
    pgsql::Recompute(txn, chain, affected, /*rebuild_balances=*/true);
    std::vector<int64_t> stale;
    for (const pqxx::row& row : txn.exec_params(kStaleUris, chain, at)) {
      stale.push_back(row[0].as<int64_t>());
    }
    std::sort(stale.begin(), stale.end());
    result.uris_requeued = db::WorkQueue::Requeue(txn, uri_queue, stale);
    txn.exec_params(kDeleteContracts, chain, at);
    txn.exec_params(kDeletePendingRefreshes, chain, at);
    txn.exec_params(kDeleteErrors, chain, at);
    txn.exec_params(kDeleteBlocks, chain, at);
    txn.exec_params(kRewindCursor, chain, at + 1);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return result;
}

}  // namespace niftysave::indexer
