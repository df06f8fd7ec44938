#include "services/indexer/pg_subgraph_repository.h"

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/runtime/reason.h"

namespace niftysave::indexer {
namespace {

using db::TextArray;

// Whole columns go in as Postgres arrays and are unnested: one statement per
// table per page, however many rows.

constexpr char kEnsureChain[] = R"sql(
INSERT INTO chains (chain_id, name, next_block) VALUES ($1, $2, 0)
ON CONFLICT (chain_id) DO NOTHING)sql";

constexpr char kEnsureCursor[] = R"sql(
INSERT INTO subgraph_cursors (chain_id) VALUES ($1)
ON CONFLICT (chain_id) DO NOTHING)sql";

constexpr char kLockCursor[] = R"sql(
SELECT last_id FROM subgraph_cursors WHERE chain_id = $1 FOR UPDATE)sql";

constexpr char kReadCursor[] = R"sql(
SELECT last_id FROM subgraph_cursors WHERE chain_id = $1)sql";

constexpr char kInsertContracts[] = R"sql(
INSERT INTO contracts (chain_id, address, standard, first_block, name, symbol,
                       interfaces, probe_error)
SELECT $1, decode(a, 'hex'), 'erc721', b, n, y, string_to_array(i, ','), e
FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
            $7::text[]) AS u(a, b, n, y, i, e)
ON CONFLICT DO NOTHING)sql";

// A token already on record (from a replayed page, or the RPC path) is left
// alone and not queued again.
constexpr char kInsertTokens[] = R"sql(
INSERT INTO tokens (chain_id, contract, token_id, standard, token_uri, owner,
                    mint_block, status, reason, detail, uri_block)
SELECT $1, decode(c, 'hex'), i::numeric, 'erc721', uri, decode(o, 'hex'), b,
       CASE WHEN uri IS NULL THEN 'failed' ELSE 'queued' END, r, d, b
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
            $7::text[], $8::text[]) AS u(c, i, uri, o, b, r, d)
ON CONFLICT (chain_id, contract, token_id) DO NOTHING
RETURNING id, encode(contract, 'hex'), token_id::text, token_uri IS NOT NULL)sql";

constexpr char kInsertErrors[] = R"sql(
INSERT INTO indexer_errors (chain_id, block_number, reason, detail)
SELECT $1, b, r, d FROM unnest($2::bigint[], $3::text[], $4::text[])
  AS u(b, r, d))sql";

constexpr char kAdvanceCursor[] = R"sql(
UPDATE subgraph_cursors
SET last_id = $2, pages = pages + 1, rows = rows + $3, updated_at = now()
WHERE chain_id = $1)sql";

// The re-scan sweep: which of a page's tokens are on record, and their URI.
// u.n is the token's place in the page (1-based).
constexpr char kStoredUris[] = R"sql(
SELECT t.id, t.token_uri, u.n
FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(c, i, n)
JOIN tokens t ON t.chain_id = $1 AND t.contract = decode(u.c, 'hex')
             AND t.token_id = u.i::numeric)sql";

// A changed URI sends the token back through extraction from the start. The
// subgraph's blockNumber (when it has one) becomes uri_block.
constexpr char kRescanUris[] = R"sql(
UPDATE tokens t
SET token_uri = u.uri,
    uri_block = CASE WHEN u.b > 0 THEN u.b ELSE t.uri_block END,
    status = 'queued', reason = NULL, detail = NULL, updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(id, uri, b)
WHERE t.id = u.id AND t.token_uri IS DISTINCT FROM u.uri
RETURNING t.id, encode(t.contract, 'hex'), t.token_id::text)sql";

// A stored URI the subgraph no longer has a usable one for is kept; that is
// recorded once (each sweep would find it again).
constexpr char kInsertKept[] = R"sql(
INSERT INTO indexer_errors (chain_id, block_number, reason, detail)
SELECT $1, b, r, d FROM unnest($2::bigint[], $3::text[], $4::text[])
  AS u(b, r, d)
WHERE NOT EXISTS (
  SELECT 1 FROM indexer_errors e
  WHERE e.chain_id = $1 AND e.block_number = u.b AND e.reason = u.r
    AND e.detail = u.d)
RETURNING reason)sql";

std::optional<std::string> Opt(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

int64_t I64(uint64_t v) { return static_cast<int64_t>(v); }

// Block numbers beyond bigint are stored as 0 (unknown) rather than wrap.
int64_t Block(uint64_t v) {
  return v > static_cast<uint64_t>(INT64_MAX) ? 0 : static_cast<int64_t>(v);
}

}  // namespace

absl::StatusOr<std::string> PgSubgraphRepository::OpenCursor(
    uint64_t chain_id, const std::string& name) {
  std::string last;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    txn.exec_params(kEnsureChain, I64(chain_id), name);
    txn.exec_params(kEnsureCursor, I64(chain_id));
    last = txn.exec_params1(kReadCursor, I64(chain_id))[0].c_str();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return last;
}

absl::StatusOr<std::vector<eth::TokenKey>> PgSubgraphRepository::RecordPage(
    uint64_t chain_id, const std::string& after, const SubgraphPage& page) {
  std::vector<eth::TokenKey> queued;
  const int64_t chain = I64(chain_id);
  absl::Status s = pool_.Run([&](pqxx::work& txn) -> absl::Status {
    queued.clear();  // a retried transaction starts over
    const std::string now = txn.exec_params1(kLockCursor, chain)[0].c_str();
    if (now != after) {
      return ErrorWithReason(absl::StatusCode::kAborted, "cursor_moved",
                             "another process moved the subgraph cursor");
    }
    if (!page.contracts.empty()) {
      std::vector<std::optional<std::string>> a, n, y, i, e;
      std::vector<std::string> b;
      for (const ContractInfo& c : page.contracts) {
        a.push_back(c.address);
        b.push_back(absl::StrCat(Block(c.first_block)));
        n.push_back(c.name);
        y.push_back(c.symbol);
        i.push_back(absl::StrJoin(c.interfaces, ","));
        e.push_back(Opt(c.probe_error));
      }
      txn.exec_params(kInsertContracts, chain, TextArray(a),
                      absl::StrCat("{", absl::StrJoin(b, ","), "}"),
                      TextArray(n), TextArray(y), TextArray(i), TextArray(e));
    }
    std::vector<int64_t> pks;
    if (!page.tokens.empty()) {
      std::vector<std::optional<std::string>> c, id, uri, o, r, d;
      std::vector<std::string> b;
      for (const SubgraphToken& t : page.tokens) {
        c.push_back(t.contract);
        id.push_back(t.token_id.ToDecimal());
        uri.push_back(t.uri.token_uri);
        o.push_back(t.owner);
        b.push_back(absl::StrCat(Block(t.block)));
        r.push_back(Opt(t.uri.reason));
        d.push_back(Opt(t.uri.detail));
      }
      pqxx::result rows = txn.exec_params(
          kInsertTokens, chain, TextArray(c), TextArray(id), TextArray(uri),
          TextArray(o), absl::StrCat("{", absl::StrJoin(b, ","), "}"),
          TextArray(r), TextArray(d));
      for (const pqxx::row& row : rows) {
        if (!row[3].as<bool>()) continue;
        pks.push_back(row[0].as<int64_t>());
        queued.push_back({chain_id, row[1].c_str(), row[2].c_str()});
      }
    }
    if (!page.errors.empty()) {
      std::vector<std::optional<std::string>> r, d;
      std::vector<std::string> b;
      for (const IndexerError& e : page.errors) {
        b.push_back(absl::StrCat(Block(e.block)));
        r.push_back(e.reason);
        d.push_back(e.detail);
      }
      txn.exec_params(kInsertErrors, chain,
                      absl::StrCat("{", absl::StrJoin(b, ","), "}"),
                      TextArray(r), TextArray(d));
    }
    db::WorkQueue::Enqueue(txn, "extract", pks);
    txn.exec_params(kAdvanceCursor, chain, page.last_id, I64(page.rows));
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return queued;
}

absl::StatusOr<SubgraphRepository::RescanResult>
PgSubgraphRepository::RescanPage(uint64_t chain_id, const SubgraphPage& page) {
  RescanResult result;
  if (page.tokens.empty()) return result;
  const int64_t chain = I64(chain_id);
  std::vector<std::string> c, id;
  for (const SubgraphToken& t : page.tokens) {
    c.push_back(t.contract);
    id.push_back(t.token_id.ToDecimal());
  }
  absl::Status s = pool_.Run([&](pqxx::work& txn) -> absl::Status {
    result = RescanResult();  // a retried transaction starts over
    // One entry per stored token: a page naming a token twice counts its
    // last row.
    std::map<int64_t, const SubgraphToken*> stored;
    std::map<int64_t, bool> has_uri;
    for (const pqxx::row& row :
         txn.exec_params(kStoredUris, chain, TextArray(c), TextArray(id))) {
      const int64_t pk = row[0].as<int64_t>();
      const size_t n = row[2].as<size_t>();
      if (n < 1 || n > page.tokens.size()) continue;
      const SubgraphToken*& slot = stored[pk];
      if (slot == nullptr || slot < &page.tokens[n - 1]) {
        slot = &page.tokens[n - 1];
      }
      has_uri[pk] = !row[1].is_null();
    }
    result.compared = stored.size();
    std::vector<int64_t> pks, blocks;
    std::vector<std::optional<std::string>> uris;
    std::vector<std::string> kb, kr, kd;
    for (const auto& [pk, t] : stored) {
      if (t->uri.token_uri) {
        // Unchanged URIs are filtered by the UPDATE itself.
        pks.push_back(pk);
        uris.push_back(t->uri.token_uri);
        blocks.push_back(Block(t->block));
      } else if (has_uri[pk]) {
        kb.push_back(absl::StrCat(Block(t->block)));
        kr.push_back(t->uri.reason);
        kd.push_back(absl::StrCat("subgraph token ", t->contract, "/",
                                  t->token_id.ToDecimal(),
                                  ": no usable URI now (", t->uri.detail,
                                  "); the stored URI is kept"));
      }
    }
    std::vector<int64_t> requeue;
    if (!pks.empty()) {
      std::vector<std::string> b;
      for (int64_t v : blocks) b.push_back(absl::StrCat(v));
      for (const pqxx::row& row :
           txn.exec_params(kRescanUris, db::BigintArray(pks), TextArray(uris),
                           absl::StrCat("{", absl::StrJoin(b, ","), "}"))) {
        requeue.push_back(row[0].as<int64_t>());
        result.requeued.push_back({chain_id, row[1].c_str(), row[2].c_str()});
      }
    }
    if (!kr.empty()) {
      for (const pqxx::row& row :
           txn.exec_params(kInsertKept, chain,
                           absl::StrCat("{", absl::StrJoin(kb, ","), "}"),
                           TextArray(kr), TextArray(kd))) {
        result.kept_reasons.push_back(row[0].c_str());
      }
    }
    // Fences off an extraction lease in flight that read the old URI.
    db::WorkQueue::Requeue(txn, "extract", requeue);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return result;
}

}  // namespace niftysave::indexer
