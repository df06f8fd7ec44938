// PgIndexerRepository, the RangeWriteRepository half: a block range's
// tokens, transfers, owners, balances and cursor, the refreshes and URI
// updates that build on them.
#include "services/indexer/pg_indexer_repository.h"

#include <algorithm>
#include <future>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/runtime/reason.h"
#include "services/indexer/pg_backfill_leases.h"
#include "services/indexer/pg_indexer_sql.h"
#include "services/indexer/range_decoder.h"

namespace niftysave::indexer {
namespace {

using db::TextArray;
using pgsql::BoolArray;
using pgsql::I64;
using pgsql::IntArray;
using pgsql::Opt;

// Bulk writes pass whole columns as Postgres arrays and unnest them: one
// statement per table per range, however many rows.

constexpr char kOpenChain[] = R"sql(
INSERT INTO chains (chain_id, name, next_block) VALUES ($1, $2, $3)
ON CONFLICT (chain_id) DO UPDATE SET name = EXCLUDED.name
RETURNING next_block, head_block)sql";

constexpr char kInsertContracts[] = R"sql(
INSERT INTO contracts (chain_id, address, standard, first_block, name, symbol,
                       interfaces, probe_error, family)
SELECT $1, decode(a, 'hex'), s, b, n, y, string_to_array(i, ','), e, f
FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
            $7::text[], $8::text[], $9::text[]) AS u(a, s, b, n, y, i, e, f)
ON CONFLICT DO NOTHING)sql";

// Every token the range moved, one row each, at its first transfer here:
// those not on record are inserted (a replayed range finds them there) and
// queued on the chain's URI-read queue (by the caller, WorkQueue::Requeue,
// with the ids this returns). An ERC-721 token gets its owner and burned
// flag as of the range's end; when $10 says those are the newest on record
// (see RecordRange), a token already there is set to them in the same
// statement. ERC-1155 tokens have no owner. A token on record whose
// first transfer here is a mint, and whose URI was last read before it, is
// a re-mint (kRemints says why it is read again): the conflict that
// finds it returns it, so no statement looks each mint up again. Returns,
// by standard, the new tokens (xmax = 0: the row was inserted, not updated),
// the ids of the re-minted ones and those of the new ones.
constexpr char kUpsertTokens[] = R"sql(
WITH u AS (
  SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                       $6::bool[], $7::bigint[], $8::text[], $9::bool[])
         AS u(c, i, s, o, bu, b, tx, m)),
up AS (
  INSERT INTO tokens AS t (chain_id, contract, token_id, standard, owner,
                           burned, mint_block, mint_tx, minted, status)
  SELECT $1, decode(c, 'hex'), i::numeric, s, decode(o, 'hex'), bu, b,
         decode(tx, 'hex'), m, 'queued'
  FROM u
  ON CONFLICT (chain_id, contract, token_id) DO UPDATE
  SET owner = CASE WHEN $10 THEN EXCLUDED.owner ELSE t.owner END,
      burned = CASE WHEN $10 THEN EXCLUDED.burned ELSE t.burned END,
      updated_at = now()
  WHERE ($10 AND t.standard = 'erc721'
         AND (t.owner IS DISTINCT FROM EXCLUDED.owner
              OR t.burned <> EXCLUDED.burned))
     OR (EXCLUDED.minted AND t.mint_block < EXCLUDED.mint_block
         AND (t.uri_block IS NULL OR t.uri_block < EXCLUDED.mint_block)
         AND (t.standard = 'erc721' OR t.token_uri IS NULL))
  RETURNING t.id, t.standard, t.xmax = 0 AS inserted, t.contract, t.token_id,
            t.mint_block, t.uri_block),
remint AS (
  SELECT up.id, up.standard FROM up
  JOIN u ON up.contract = decode(u.c, 'hex') AND up.token_id = u.i::numeric
  WHERE NOT up.inserted AND u.m AND up.mint_block < u.b
    AND (up.uri_block IS NULL OR up.uri_block < u.b))
SELECT standard, sum(n)::bigint, array_remove(array_agg(id), NULL)::text,
       array_remove(array_agg(new_id), NULL)::text
FROM (SELECT standard, 1 AS n, NULL::bigint AS id, id AS new_id FROM up
      WHERE inserted
      UNION ALL SELECT standard, 0, id, NULL FROM remint) x
GROUP BY standard)sql";

// Every mint ($2/$3 at block $5) of a token on record from an earlier block
// (a re-mint after a burn, or the mint of a token first seen moving) queues
// its URI read again: the last read may have found it burned. It goes with
// the range's cursor, so the read, at the indexed block, is not before the
// mint. A token read at or after the mint already has what it gave (a
// replayed range queues nothing), and ERC-1155 mints that add supply to a
// token with a URI change nothing. Returns the ids to queue (the caller
// requeues them on the URI-read queue). Only for mints after
// another transfer of the token in the range (a burn, say): a mint that is
// the token's first transfer here is found by kUpsertTokens.
constexpr char kRemints[] = R"sql(
SELECT DISTINCT t.id
FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(c, i, b)
JOIN tokens t ON t.chain_id = $1 AND t.contract = decode(u.c, 'hex')
             AND t.token_id = u.i::numeric
WHERE t.mint_block < u.b AND (t.uri_block IS NULL OR t.uri_block < u.b)
  AND (t.standard = 'erc721' OR t.token_uri IS NULL)
ORDER BY t.id)sql";

// ERC-4906, one chunk of a refresh: at most $5 of the contract's known
// tokens from $3 to $4, by token id through the tokens index, to have their
// URIs read again (QueueRefreshChunk requeues them: a lease in flight may
// have read the old value).
// (The text column is named apart: ORDER BY token_id must sort numbers.)
constexpr char kRefreshChunk[] = R"sql(
SELECT id, token_id::text AS id_text FROM tokens
WHERE chain_id = $1 AND contract = decode($2, 'hex')
  AND token_id BETWEEN $3::numeric AND $4::numeric
ORDER BY token_id LIMIT $5)sql";

// What a full chunk leaves: the rest of the refresh, from the next id on.
constexpr char kRefreshRest[] = R"sql(
INSERT INTO pending_refreshes (chain_id, contract, next_id, to_id, block, queued)
VALUES ($1, decode($2, 'hex'), $3::numeric + 1, $4::numeric, $5, $6))sql";

// The oldest pending refresh of a chain, locked for this step.
constexpr char kNextPendingRefresh[] = R"sql(
SELECT id, encode(contract, 'hex'), next_id::text, to_id::text, queued
FROM pending_refreshes WHERE chain_id = $1
ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)sql";
constexpr char kAdvanceRefresh[] = R"sql(
UPDATE pending_refreshes SET next_id = $2::numeric + 1, queued = queued + $3,
                             updated_at = now()
WHERE id = $1)sql";
constexpr char kFinishRefresh[] = R"sql(
DELETE FROM pending_refreshes WHERE id = $1)sql";
// The transfers of a range, as the $2..$12 column arrays (TransferColumns),
// each new one inserted once.
#define NS_INSERT_TRANSFERS                                                  \
  "INSERT INTO transfers (chain_id, block_number, block_hash, log_index, "   \
  "batch_index, tx_hash, contract, token_id, from_address, to_address, "     \
  "standard, amount) "                                                       \
  "SELECT $1, b, decode(h, 'hex'), li, bi, decode(tx, 'hex'), "              \
  "decode(c, 'hex'), i::numeric, decode(f, 'hex'), decode(t, 'hex'), s, "    \
  "a::numeric "                                                              \
  "FROM unnest($2::bigint[], $3::text[], $4::int[], $5::int[], $6::text[], " \
  "$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], "           \
  "$12::text[]) "                                                            \
  "AS u(b, h, li, bi, tx, c, i, f, t, s, a) ON CONFLICT DO NOTHING"

// ERC-721 transfers: no balances.
constexpr char kInsertTransfersOnly[] = NS_INSERT_TRANSFERS;

// Whether any transfer is stored after block $2. When none is, the newest
// transfer of a token is the last one in the range being written, so its
// owner needs no look at the stored transfers.
constexpr char kTransfersAfter[] = R"sql(
SELECT EXISTS (SELECT 1 FROM transfers
               WHERE chain_id = $1 AND block_number > $2))sql";

// Only transfers new to the table change ERC-1155 balances, so a replay
// adds nothing twice.
constexpr char kInsertTransfers[] = R"sql(
WITH ins AS ()sql" NS_INSERT_TRANSFERS R"sql(
  RETURNING contract, token_id, from_address, to_address, amount, standard),
deltas AS (
  SELECT contract, token_id, to_address AS holder, amount AS delta FROM ins
  WHERE standard = 'erc1155' AND to_address <> '\x0000000000000000000000000000000000000000'
  UNION ALL
  SELECT contract, token_id, from_address, -amount FROM ins
  WHERE standard = 'erc1155' AND from_address <> '\x0000000000000000000000000000000000000000')
INSERT INTO erc1155_balances (chain_id, contract, token_id, owner, balance)
SELECT $1, contract, token_id, holder, sum(delta) FROM deltas
GROUP BY contract, token_id, holder
ON CONFLICT (chain_id, contract, token_id, owner)
DO UPDATE SET balance = erc1155_balances.balance + EXCLUDED.balance)sql";

#undef NS_INSERT_TRANSFERS

// A token whose URI changed goes back through extraction: 'queued' with the
// new URI, or 'failed' with why it could not be read. A value from an older
// block than the one stored does not replace it.
constexpr char kUpdateUris[] = R"sql(
UPDATE tokens t
SET token_uri = u.uri, uri_block = u.b,
    status = CASE WHEN u.uri IS NULL THEN 'failed' ELSE 'queued' END,
    )sql" NS_TOKEN_URI_REASON R"sql(, updated_at = now()
FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
            $7::text[]) AS u(c, i, uri, b, r, d)
WHERE t.chain_id = $1 AND t.contract = decode(u.c, 'hex')
  AND t.token_id = u.i::numeric
  AND (t.uri_block IS NULL OR t.uri_block <= u.b)
RETURNING t.id, encode(t.contract, 'hex'), t.token_id::text,
          t.token_uri IS NOT NULL)sql";

constexpr char kUpsertBlocks[] = R"sql(
INSERT INTO blocks (chain_id, number, hash, parent_hash)
SELECT $1, n, decode(h, 'hex'), decode(p, 'hex')
FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(n, h, p)
ON CONFLICT (chain_id, number)
DO UPDATE SET hash = EXCLUDED.hash, parent_hash = EXCLUDED.parent_hash)sql";

// Past the window, keep only the newest stored block: the anchor a deep
// walk-back can still match.
constexpr char kPruneBlocks[] = R"sql(
DELETE FROM blocks
WHERE chain_id = $1 AND number < $2
  AND number < (SELECT max(number) FROM blocks
                WHERE chain_id = $1 AND number < $2))sql";

constexpr char kInsertErrors[] = R"sql(
INSERT INTO indexer_errors (chain_id, block_number, log_index, reason, detail)
SELECT $1, b, li, r, d
FROM unnest($2::bigint[], $3::int[], $4::text[], $5::text[]) AS u(b, li, r, d))sql";

constexpr char kAdvanceCursor[] = R"sql(
UPDATE chains SET next_block = $2, head_block = $3, updated_at = now()
WHERE chain_id = $1 AND next_block <= $2)sql";

constexpr char kCountTokens[] =
    "SELECT count(*) FROM tokens WHERE chain_id = $1";

constexpr char kUnknownContracts[] = R"sql(
SELECT a FROM unnest($2::text[]) AS u(a)
WHERE NOT EXISTS (SELECT 1 FROM contracts
                  WHERE chain_id = $1 AND address = decode(a, 'hex')))sql";

constexpr char kFindTokens[] = R"sql(
SELECT t.chain_id, encode(t.contract, 'hex'), t.token_id::text, t.standard
FROM tokens t
JOIN unnest($1::bigint[], $2::text[], $3::text[]) AS u(ch, c, i)
  ON t.chain_id = u.ch AND t.contract = decode(u.c, 'hex')
 AND t.token_id = u.i::numeric)sql";

constexpr char kInsertError[] = R"sql(
INSERT INTO indexer_errors (chain_id, block_number, log_index, reason, detail)
VALUES ($1, $2, $3, $4, $5))sql";

eth::TokenStandard StandardOf(const std::string& name) {
  return name == "erc1155" ? eth::TokenStandard::kErc1155
                           : eth::TokenStandard::kErc721;
}

// Transfers as the $2..$12 column arrays of kInsertTransfers(Only).
struct TransferColumns {
  std::vector<int64_t> b;
  std::vector<int32_t> li, bi;
  std::vector<std::string> h, tx, c, i, f, to, st, a;
  void Add(const eth::TokenTransfer& t) {
    b.push_back(I64(t.at.block_number));
    h.push_back(t.at.block_hash);
    li.push_back(static_cast<int32_t>(t.at.log_index));
    bi.push_back(static_cast<int32_t>(t.batch_index));
    tx.push_back(t.at.tx_hash);
    c.push_back(t.contract);
    i.push_back(t.token_id.ToDecimal());
    f.push_back(t.from);
    to.push_back(t.to);
    st.push_back(eth::StandardName(t.standard));
    a.push_back(t.amount.ToDecimal());
  }
  void Insert(pqxx::work& txn, const char* sql, int64_t chain) const {
    txn.exec_params(sql, chain, IntArray(b), TextArray(h), IntArray(li),
                    IntArray(bi), TextArray(tx), TextArray(c), TextArray(i),
                    TextArray(f), TextArray(to), TextArray(st), TextArray(a));
  }
};

// Writes URI updates (the last per token wins); appends the primary keys and
// keys of the tokens that now have a URI to queue.
void ApplyUriUpdates(pqxx::work& txn, uint64_t chain_id,
                     const std::vector<UriUpdate>& updates,
                     std::vector<int64_t>& pks,
                     std::vector<eth::TokenKey>& keys) {
  if (updates.empty()) return;
  std::map<std::pair<std::string, std::string>, const UriUpdate*> last;
  for (const UriUpdate& u : updates) {
    last[{u.contract, u.token_id.ToDecimal()}] = &u;
  }
  std::vector<std::string> c, i;
  std::vector<std::optional<std::string>> uri, r, d;
  std::vector<int64_t> b;
  for (const auto& [key, u] : last) {
    c.push_back(key.first);
    i.push_back(key.second);
    uri.push_back(u->uri.token_uri);
    b.push_back(I64(u->block));
    r.push_back(Opt(u->uri.reason));
    d.push_back(Opt(u->uri.detail));
  }
  pqxx::result rows =
      txn.exec_params(kUpdateUris, I64(chain_id), TextArray(c), TextArray(i),
                      TextArray(uri), IntArray(b), TextArray(r), TextArray(d));
  for (const pqxx::row& row : rows) {
    if (!row[3].as<bool>()) continue;
    pks.push_back(row[0].as<int64_t>());
    keys.push_back({chain_id, row[1].c_str(), row[2].c_str()});
  }
}

// One chunk of a refresh: at most `chunk` tokens of `contract` in
// [from, to] requeued for their URI read. Returns how many, and the highest
// token id among them.
std::pair<int64_t, std::string> QueueRefreshChunk(
    pqxx::work& txn, int64_t chain, const std::string& contract,
    const std::string& from, const std::string& to, int64_t chunk,
    const std::string& uri_queue) {
  std::vector<int64_t> ids;
  std::string last;
  for (const pqxx::row& row :
       txn.exec_params(kRefreshChunk, chain, contract, from, to, chunk)) {
    ids.push_back(row[0].as<int64_t>());
    last = row[1].as<std::string>();
  }
  return {db::WorkQueue::Requeue(txn, uri_queue, ids), last};
}

// The contracts first seen in the range.
void WriteContracts(pqxx::work& txn, int64_t chain,
                    const std::vector<ContractInfo>& contracts) {
  if (contracts.empty()) return;
  std::vector<std::string> a, st, ifs, f;
  std::vector<int64_t> b;
  std::vector<std::optional<std::string>> n, y, e;
  for (const ContractInfo& c : contracts) {
    a.push_back(c.address);
    st.push_back(eth::StandardName(c.standard));
    b.push_back(I64(c.first_block));
    n.push_back(c.name);
    y.push_back(c.symbol);
    ifs.push_back(absl::StrJoin(c.interfaces, ","));
    e.push_back(Opt(c.probe_error));
    f.push_back(c.family);
  }
  txn.exec_params(kInsertContracts, chain, TextArray(a), TextArray(st),
                  IntArray(b), TextArray(n), TextArray(y), TextArray(ifs),
                  TextArray(e), TextArray(f));
}

// The ids of a `{1,2,3}` array text, appended to `out`.
void ParseIds(absl::string_view array, std::vector<int64_t>& out) {
  for (absl::string_view id : absl::StrSplit(
           array.substr(1), absl::ByAnyChar(",}"), absl::SkipEmpty())) {
    int64_t v = 0;
    if (absl::SimpleAtoi(id, &v)) out.push_back(v);
  }
}

// The tokens the range moved (kUpsertTokens), with their owners; the new
// ones queued for their URI read.
void WriteTokens(pqxx::work& txn, int64_t chain,
                 const std::map<TokenIdKey, TokenMoves>& moved,
                 const std::string& uri_queue, bool owners_from_range,
                 RangeWritten& written) {
  if (moved.empty()) return;
  const std::string zero(40, '0');
  std::vector<std::string> c, i, st, tx;
  std::vector<std::optional<std::string>> o;
  std::vector<std::string> bu, m;
  std::vector<int64_t> b;
  for (const auto& [key, mv] : moved) {
    const eth::TokenTransfer& first = *mv.first;
    c.push_back(key.first);
    i.push_back(key.second);
    st.push_back(eth::StandardName(first.standard));
    if (first.standard == eth::TokenStandard::kErc721) {
      o.push_back(mv.last->to);
      bu.push_back(mv.last->to == zero ? "t" : "f");
    } else {
      o.push_back(std::nullopt);
      bu.push_back("f");
    }
    b.push_back(I64(first.at.block_number));
    tx.push_back(first.at.tx_hash);
    m.push_back(first.IsMint() ? "t" : "f");
  }
  std::vector<int64_t> inserted;
  for (const pqxx::row& row :
       txn.exec_params(kUpsertTokens, chain, TextArray(c), TextArray(i),
                       TextArray(st), TextArray(o), BoolArray(bu), IntArray(b),
                       TextArray(tx), BoolArray(m), owners_from_range)) {
    const uint64_t n = row[1].as<int64_t>();
    if (n > 0) written.new_tokens[row[0].c_str()] += n;
    written.uri_reads_queued += n;
    ParseIds(row[2].c_str(), written.reminted);
    ParseIds(row[3].c_str(), inserted);
  }
  std::sort(inserted.begin(), inserted.end());
  db::WorkQueue::Requeue(txn, uri_queue, inserted);
}

// The transfers, ERC-1155 balances, and (unless they come from the range)
// the ERC-721 owners recomputed from the stored transfers.
void WriteTransfers(pqxx::work& txn, const RangeBatch& batch,
                    bool owners_from_range) {
  if (batch.transfers.empty()) return;
  const int64_t chain = I64(batch.chain_id);
  const std::string zero(40, '0');
  // ERC-721 transfers are inserted alone; ERC-1155 ones with the balance
  // deltas of those new to the table.
  TransferColumns erc721, erc1155;
  pgsql::AffectedTokens affected;
  for (const eth::TokenTransfer& t : batch.transfers) {
    const bool is721 = t.standard == eth::TokenStandard::kErc721;
    TransferColumns& cols = is721 ? erc721 : erc1155;
    cols.Add(t);
    if (is721) {
      if (!owners_from_range) affected.Add(t.contract, cols.i.back());
    } else if (!batch.advance_cursor || t.from != zero || t.amount.IsZero()) {
      // Only a transfer out of a holder (or of nothing) can leave a zero
      // balance behind; a mint never does.
      affected.Add(t.contract, cols.i.back());
    }
  }
  if (!erc721.b.empty()) erc721.Insert(txn, kInsertTransfersOnly, chain);
  if (!erc1155.b.empty()) erc1155.Insert(txn, kInsertTransfers, chain);
  pgsql::Recompute(txn, chain, affected, /*rebuild_balances=*/false,
                   /*owners=*/!owners_from_range);
}

// The block of each token's last mint here, when a transfer of the token
// precedes it here: the token was on record before it, and has its URI
// read again (kRemints; the upsert finds the other re-mints).
struct Remints {
  std::vector<std::string> c, i;
  std::vector<int64_t> b;
};
Remints LaterMints(const std::map<TokenIdKey, TokenMoves>& moved) {
  Remints remints;
  for (const auto& [key, mv] : moved) {
    if (mv.last_mint == nullptr || mv.last_mint == mv.first) continue;
    remints.c.push_back(key.first);
    remints.i.push_back(key.second);
    remints.b.push_back(I64(mv.last_mint->at.block_number));
  }
  return remints;
}

// The re-minted tokens requeued for their URI read, with the cursor.
void QueueRemints(pqxx::work& txn, int64_t chain, const Remints& remints,
                  const std::string& uri_queue, RangeWritten& written) {
  if (!written.reminted.empty()) {
    std::vector<int64_t> ids = written.reminted;
    std::sort(ids.begin(), ids.end());
    written.uri_reads_queued += db::WorkQueue::Requeue(txn, uri_queue, ids);
  }
  if (remints.c.empty()) return;
  std::vector<int64_t> ids;
  for (const pqxx::row& row :
       txn.exec_params(kRemints, chain, TextArray(remints.c),
                       TextArray(remints.i), IntArray(remints.b))) {
    ids.push_back(row[0].as<int64_t>());
  }
  written.uri_reads_queued += db::WorkQueue::Requeue(txn, uri_queue, ids);
}

// Each refresh queues its first chunk here; a full chunk leaves the rest in
// pending_refreshes for AdvanceRefresh.
void QueueRefreshes(pqxx::work& txn, const RangeBatch& batch,
                    const std::string& uri_queue, RangeWritten& written) {
  const int64_t chain = I64(batch.chain_id);
  for (const RefreshRequest& r : batch.refreshes) {
    const int64_t chunk = I64(batch.max_tokens_per_event);
    const std::string from = r.from_id.ToDecimal(), to = r.to_id.ToDecimal();
    const auto [queued, last] =
        QueueRefreshChunk(txn, chain, r.contract, from, to, chunk, uri_queue);
    written.uri_reads_queued += queued;
    if (queued == chunk) {
      txn.exec_params(kRefreshRest, chain, r.contract, last, to, I64(r.block),
                      queued);
    }
  }
}

void WriteErrors(pqxx::work& txn, int64_t chain,
                 const std::vector<IndexerError>& errors) {
  if (errors.empty()) return;
  std::vector<int64_t> b;
  std::vector<std::optional<int64_t>> li;
  std::vector<std::string> r, d;
  for (const IndexerError& e : errors) {
    b.push_back(I64(e.block));
    li.push_back(e.log_index ? std::optional<int64_t>(*e.log_index)
                             : std::nullopt);
    r.push_back(e.reason);
    d.push_back(e.detail);
  }
  txn.exec_params(kInsertErrors, chain, IntArray(b), IntArray(li), TextArray(r),
                  TextArray(d));
}

// The block hashes (pruned past the window) and the cursor.
void AdvanceCursor(pqxx::work& txn, const RangeBatch& batch) {
  const int64_t chain = I64(batch.chain_id);
  if (!batch.blocks.empty()) {
    std::vector<int64_t> n;
    std::vector<std::string> h, p;
    for (const BlockHeader& bh : batch.blocks) {
      n.push_back(I64(bh.number));
      h.push_back(bh.hash);
      p.push_back(bh.parent_hash);
    }
    txn.exec_params(kUpsertBlocks, chain, IntArray(n), TextArray(h),
                    TextArray(p));
  }
  if (batch.to_block > batch.reorg_window) {
    txn.exec_params(kPruneBlocks, chain,
                    I64(batch.to_block - batch.reorg_window));
  }
  txn.exec_params(kAdvanceCursor, chain, I64(batch.to_block + 1),
                  I64(batch.head_block));
}

// What builds on the tokens (URI events, refreshes), the errors, the block
// hashes and the cursor, once the follower's role and the backfill lease
// are checked in the same transaction.
absl::Status WriteRest(pqxx::work& txn, const RangeBatch& batch,
                       const Remints& remints, RangeWritten& written) {
  const int64_t chain = I64(batch.chain_id);
  const std::string uri_queue = UriQueueName(batch.chain_id);
  if (!batch.follower_id.empty() &&
      !PgFollowerLease::HeldInTxn(txn, batch.chain_id, batch.follower_id)) {
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                           "follower_lost",
                           "another replica follows this chain now");
  }
  if (batch.backfill_lease) {
    written.lease_lost = !PgBackfillLeases::Advance(txn, *batch.backfill_lease,
                                                    batch.to_block + 1);
  }
  QueueRemints(txn, chain, remints, uri_queue, written);
  std::vector<int64_t> extract_pks;
  ApplyUriUpdates(txn, batch.chain_id, batch.uri_updates, extract_pks,
                  written.extract_queued);
  QueueRefreshes(txn, batch, uri_queue, written);
  std::vector<IndexerError> errors = batch.errors;
  errors.insert(errors.end(), written.errors.begin(), written.errors.end());
  WriteErrors(txn, chain, errors);
  // Tokens whose URI changed: Requeue fences off a lease in flight that
  // read the old URI.
  db::WorkQueue::Requeue(txn, "extract", extract_pks);
  if (batch.advance_cursor) AdvanceCursor(txn, batch);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChainCursor> PgIndexerRepository::OpenChain(
    uint64_t chain_id, const std::string& name, uint64_t start_block) {
  ChainCursor cursor;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pqxx::row row =
        txn.exec_params1(kOpenChain, I64(chain_id), name, I64(start_block));
    cursor.next_block = row[0].as<int64_t>();
    if (!row[1].is_null()) cursor.head_block = row[1].as<int64_t>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return cursor;
}

absl::StatusOr<RangeWritten> PgIndexerRepository::RecordRange(
    const RangeBatch& batch) {
  const std::string uri_queue = UriQueueName(batch.chain_id);
  const std::map<TokenIdKey, TokenMoves> moved =
      SummarizeMoves(batch.transfers);
  const Remints remints = LaterMints(moved);
  absl::StatusOr<bool> owners_from_range = OwnersFromRange(batch);
  if (!owners_from_range.ok()) return owners_from_range.status();
  auto write_tokens = [&](pqxx::work& txn, RangeWritten& written) {
    WriteContracts(txn, I64(batch.chain_id), batch.contracts);
    WriteTokens(txn, I64(batch.chain_id), moved, uri_queue, *owners_from_range,
                written);
  };
  RangeWritten written;
  if (!*owners_from_range) {
    // Owners are recomputed from the stored transfers, so everything is
    // written in one transaction, in order.
    absl::Status s = pool_.Run([&](pqxx::work& txn) {
      written = RangeWritten();  // a retried transaction starts over
      write_tokens(txn, written);
      WriteTransfers(txn, batch, false);
      return WriteRest(txn, batch, remints, written);
    });
    if (!s.ok()) return s;
    return written;
  }
  // Following: the transfers and the tokens touch different tables and
  // neither reads the other, so they are written at once on two
  // connections, then the rest with the cursor. Until the cursor moves the
  // range counts as not indexed: if one part fails, or the process stops in
  // between, the range is written again, and every part is idempotent.
  std::future<absl::Status> transfers = std::async(std::launch::async, [&] {
    return pool_.Run([&](pqxx::work& txn) {
      WriteTransfers(txn, batch, true);
      return absl::OkStatus();
    });
  });
  absl::Status tokens = pool_.Run([&](pqxx::work& txn) {
    written = RangeWritten();
    write_tokens(txn, written);
    return absl::OkStatus();
  });
  absl::Status moved_ok = transfers.get();
  if (!tokens.ok()) return tokens;
  if (!moved_ok.ok()) return moved_ok;
  const RangeWritten tokens_written = written;
  absl::Status rest = pool_.Run([&](pqxx::work& txn) {
    written = tokens_written;
    return WriteRest(txn, batch, remints, written);
  });
  if (!rest.ok()) return rest;
  return written;
}

absl::StatusOr<bool> PgIndexerRepository::OwnersFromRange(
    const RangeBatch& batch) {
  // When following and nothing is stored after the range (the usual case;
  // not a replay, nor a backfill behind later records), a token's last
  // transfer here is its newest on record: tokens get their owner from it,
  // with no look at stored transfers. Otherwise owners are recomputed from
  // those.
  if (!batch.advance_cursor || batch.transfers.empty()) return false;
  bool after = false;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    after = txn.exec_params1(kTransfersAfter, I64(batch.chain_id),
                             I64(batch.to_block))[0]
                .as<bool>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return !after;
}

absl::StatusOr<RefreshStep> PgIndexerRepository::AdvanceRefresh(
    uint64_t chain_id, uint64_t chunk) {
  RefreshStep step;
  const int64_t chain = I64(chain_id);
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    step = {};
    pqxx::result next = txn.exec_params(kNextPendingRefresh, chain);
    if (!next.empty()) {
      const int64_t id = next[0][0].as<int64_t>();
      step.contract = next[0][1].as<std::string>();
      const std::string to = next[0][3].as<std::string>();
      const auto [queued, last] = QueueRefreshChunk(
          txn, chain, step.contract, next[0][2].as<std::string>(), to,
          I64(chunk), UriQueueName(chain_id));
      step.queued = queued;
      step.total = next[0][4].as<int64_t>() + step.queued;
      step.finished = step.queued < chunk;
      if (step.finished) {
        txn.exec_params(kFinishRefresh, id);
      } else {
        txn.exec_params(kAdvanceRefresh, id, last, I64(step.queued));
      }
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return step;
}

absl::StatusOr<uint64_t> PgIndexerRepository::CountTokens(uint64_t chain_id) {
  uint64_t count = 0;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    count = txn.exec_params1(kCountTokens, I64(chain_id))[0].as<int64_t>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return count;
}

absl::StatusOr<std::vector<std::string>> PgIndexerRepository::UnknownContracts(
    uint64_t chain_id, const std::vector<std::string>& addresses) {
  std::vector<std::string> out;
  if (addresses.empty()) return out;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    out.clear();
    for (const pqxx::row& row : txn.exec_params(
             kUnknownContracts, I64(chain_id), TextArray(addresses))) {
      out.push_back(row[0].c_str());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::vector<IndexerRepository::KnownToken>>
PgIndexerRepository::FindTokens(const std::vector<eth::TokenKey>& keys) {
  std::vector<KnownToken> out;
  if (keys.empty()) return out;
  std::vector<int64_t> ch;
  std::vector<std::string> c, i;
  for (const eth::TokenKey& k : keys) {
    ch.push_back(I64(k.chain_id));
    c.push_back(k.contract);
    i.push_back(k.token_id);
  }
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    out.clear();
    for (const pqxx::row& row : txn.exec_params(kFindTokens, IntArray(ch),
                                                TextArray(c), TextArray(i))) {
      out.push_back({{static_cast<uint64_t>(row[0].as<int64_t>()),
                      row[1].c_str(), row[2].c_str()},
                     StandardOf(row[3].c_str())});
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status PgIndexerRepository::RecordError(uint64_t chain_id,
                                              const IndexerError& error) {
  return pool_.Run([&](pqxx::work& txn) {
    txn.exec_params(kInsertError, I64(chain_id), I64(error.block),
                    error.log_index ? std::optional<int64_t>(*error.log_index)
                                    : std::nullopt,
                    error.reason, error.detail);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<eth::TokenKey>> PgIndexerRepository::UpdateUris(
    uint64_t chain_id, const std::vector<UriUpdate>& updates) {
  std::vector<eth::TokenKey> queued;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    queued.clear();
    std::vector<int64_t> pks;
    ApplyUriUpdates(txn, chain_id, updates, pks, queued);
    db::WorkQueue::Requeue(txn, "extract", pks);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return queued;
}

}  // namespace niftysave::indexer
