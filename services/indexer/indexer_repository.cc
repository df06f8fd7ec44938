#include "services/indexer/indexer_repository.h"

#include "common/db/pool.h"
#include "common/db/work_queue.h"

namespace niftysave::indexer {
namespace {

constexpr char kOpenChain[] = R"sql(
INSERT INTO chains (chain_id, name, next_block) VALUES ($1, $2, $3)
ON CONFLICT (chain_id) DO UPDATE SET name = EXCLUDED.name
RETURNING next_block, head_block)sql";

constexpr char kInsertContract[] = R"sql(
INSERT INTO contracts (chain_id, address, standard, first_block)
VALUES ($1, decode($2, 'hex'), 'erc721', $3)
ON CONFLICT DO NOTHING)sql";

constexpr char kInsertTransfer[] = R"sql(
INSERT INTO transfers (chain_id, block_number, block_hash, log_index, tx_hash,
                       contract, token_id, from_address, to_address)
VALUES ($1, $2, decode($3, 'hex'), $4, decode($5, 'hex'), decode($6, 'hex'),
        $7::numeric, decode($8, 'hex'), decode($9, 'hex'))
ON CONFLICT DO NOTHING)sql";

// A replayed range finds the token already there and queues nothing.
constexpr char kInsertToken[] = R"sql(
INSERT INTO tokens (chain_id, contract, token_id, token_uri, owner, mint_block,
                    mint_tx, status, reason, detail)
VALUES ($1, decode($2, 'hex'), $3::numeric, $4, decode($5, 'hex'), $6,
        decode($7, 'hex'), $8, $9, $10)
ON CONFLICT (chain_id, contract, token_id) DO NOTHING
RETURNING id)sql";

constexpr char kMoveToken[] = R"sql(
UPDATE tokens SET owner = decode($4, 'hex'), burned = $5, updated_at = now()
WHERE chain_id = $1 AND contract = decode($2, 'hex') AND token_id = $3::numeric)sql";

constexpr char kAdvanceCursor[] = R"sql(
UPDATE chains SET next_block = $2, head_block = $3, updated_at = now()
WHERE chain_id = $1 AND next_block <= $2)sql";

constexpr char kCountTokens[] =
    "SELECT count(*) FROM tokens WHERE chain_id = $1";

std::optional<std::string> Opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

absl::StatusOr<ChainCursor> PgIndexerRepository::OpenChain(
    uint64_t chain_id, const std::string& name, uint64_t start_block) {
  ChainCursor cursor;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pqxx::row row = txn.exec_params1(kOpenChain, static_cast<int64_t>(chain_id),
                                     name, static_cast<int64_t>(start_block));
    cursor.next_block = row[0].as<int64_t>();
    if (!row[1].is_null()) cursor.head_block = row[1].as<int64_t>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return cursor;
}

absl::StatusOr<std::vector<eth::TokenKey>> PgIndexerRepository::RecordRange(
    const RangeBatch& batch) {
  std::vector<eth::TokenKey> queued;
  const auto chain = static_cast<int64_t>(batch.chain_id);
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    queued.clear();  // a retried transaction starts over
    std::vector<int64_t> token_pks;
    for (const Mint& m : batch.mints) {
      txn.exec_params(kInsertContract, chain, m.transfer.contract,
                      static_cast<int64_t>(m.transfer.at.block_number));
    }
    for (const Mint& m : batch.mints) {
      const eth::Erc721Transfer& t = m.transfer;
      const bool has_uri = m.token_uri.has_value();
      pqxx::result r = txn.exec_params(
          kInsertToken, chain, t.contract, t.token_id.ToDecimal(), m.token_uri,
          t.to, static_cast<int64_t>(t.at.block_number), t.at.tx_hash,
          has_uri ? "queued" : "failed", Opt(m.reason), Opt(m.detail));
      if (!r.empty() && has_uri) {
        token_pks.push_back(r[0][0].as<int64_t>());
        queued.push_back({batch.chain_id, t.contract, t.token_id.ToDecimal()});
      }
    }
    // Transfers in chain order, so the last one sets the owner.
    const std::string zero(40, '0');
    for (const eth::Erc721Transfer& t : batch.transfers) {
      txn.exec_params(kInsertTransfer, chain,
                      static_cast<int64_t>(t.at.block_number), t.at.block_hash,
                      static_cast<int64_t>(t.at.log_index), t.at.tx_hash,
                      t.contract, t.token_id.ToDecimal(), t.from, t.to);
      // Every transfer, mints included: a token burned and minted again
      // must come back to life with its new owner.
      txn.exec_params(kMoveToken, chain, t.contract, t.token_id.ToDecimal(),
                      t.to, t.to == zero);
    }
    db::WorkQueue::Enqueue(txn, "extract", token_pks);
    txn.exec_params(kAdvanceCursor, chain,
                    static_cast<int64_t>(batch.to_block + 1),
                    static_cast<int64_t>(batch.head_block));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return queued;
}

absl::StatusOr<uint64_t> PgIndexerRepository::CountTokens(uint64_t chain_id) {
  uint64_t count = 0;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    count = txn.exec_params1(kCountTokens, static_cast<int64_t>(chain_id))[0]
                .as<int64_t>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return count;
}

}  // namespace niftysave::indexer
