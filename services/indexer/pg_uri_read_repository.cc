// PgUriReadRepository: the URI-read queue of one chain, the tokens its
// items name, and the URIs read for them.
#include <algorithm>
#include <set>
#include <utility>

#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "services/indexer/pg_indexer_repository.h"
#include "services/indexer/pg_indexer_sql.h"

namespace niftysave::indexer {
namespace {

// The leased tokens, and the block to read them at: the chain's indexed
// block (every token on record was minted at or before it), or the newest
// block one of them was recorded at, if that is later (a backfill behind the
// cursor cannot be, but the read must never predate the token). A token read
// before (a refresh, a re-mint) is read no earlier than its newest transfer
// either: the re-mint that queued it may be written ahead of the cursor, as
// the parts of a block over the transfer cap are. (Only then: a look at the
// transfers of every new token would slow the first reads.)
constexpr char kLoadTokens[] = R"sql(
SELECT t.id, encode(t.contract, 'hex'), t.token_id::text, t.standard,
       coalesce(k.family, 'standard'),
       greatest(c.next_block - 1, max(t.mint_block) OVER (),
                max(CASE WHEN t.uri_block IS NOT NULL THEN
                      (SELECT max(tr.block_number) FROM transfers tr
                       WHERE tr.chain_id = t.chain_id
                         AND tr.contract = t.contract
                         AND tr.token_id = t.token_id) END) OVER ())
FROM unnest($1::bigint[]) AS u(id)
JOIN tokens t ON t.id = u.id
JOIN chains c ON c.chain_id = t.chain_id
LEFT JOIN contracts k ON k.chain_id = t.chain_id AND k.address = t.contract
WHERE t.chain_id = $2
ORDER BY t.id)sql";

// The reads, for the tokens whose lease was still held. A token whose URI
// was set at a later block (a URI event the follower wrote meanwhile) keeps
// it. A revert of a burned token is `token_burned` (NS_TOKEN_URI_REASON).
// A contract family's fields (metadata URI, hashes as hex) are written with
// the URI, NULL for the standards and for failed reads.
// Returns the tokens written: each goes (back) through extraction even when its
// URI is unchanged, since an ERC-4906 refresh says the metadata behind the same
// URI changed.
constexpr char kWriteReads[] = R"sql(
UPDATE tokens t
SET token_uri = u.uri, uri_block = $2, metadata_uri = u.meta,
    content_sha256 = decode(u.content_sha, 'hex'),
    metadata_sha256 = decode(u.meta_sha, 'hex'),
    status = CASE WHEN u.uri IS NULL THEN 'failed' ELSE 'queued' END,
    )sql" NS_TOKEN_URI_REASON R"sql(, updated_at = now()
FROM unnest($1::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::text[], $8::text[])
     AS u(id, uri, r, d, meta, content_sha, meta_sha)
WHERE t.id = u.id AND (t.uri_block IS NULL OR t.uri_block <= $2)
RETURNING t.id, encode(t.contract, 'hex'), t.token_id::text,
          t.token_uri IS NOT NULL)sql";

}  // namespace

PgUriReadRepository::PgUriReadRepository(db::Pool& pool, uint64_t chain_id,
                                         std::string worker_id,
                                         db::QueuePolicy policy)
    : pool_(pool),
      chain_id_(chain_id),
      queue_(pool, UriQueueName(chain_id), std::move(worker_id), policy) {}

absl::StatusOr<UriReadBatch> PgUriReadRepository::LeaseReads(int limit) {
  // One transaction leases the batch and loads its tokens, in id order (an
  // item whose token is gone is completed by WriteReads, with nothing to
  // write).
  UriReadBatch batch;
  absl::Status loaded = pool_.Run([&](pqxx::work& txn) {
    batch = UriReadBatch();
    batch.items = queue_.Lease(txn, limit);
    if (batch.items.empty()) return absl::OkStatus();
    std::vector<int64_t> ids;
    for (const db::QueueItem& item : batch.items) ids.push_back(item.id);
    for (const pqxx::row& row :
         txn.exec_params(kLoadTokens, db::BigintArray(ids),
                         static_cast<int64_t>(chain_id_))) {
      absl::StatusOr<eth::Uint256> id =
          eth::Uint256::FromDecimal(row[2].c_str());
      if (!id.ok()) continue;  // the column is numeric(78) >= 0: cannot be
      batch.token_ids.push_back(row[0].as<int64_t>());
      batch.queries.push_back({row[1].c_str(), *id,
                               std::string(row[3].c_str()) == "erc1155"
                                   ? eth::TokenStandard::kErc1155
                                   : eth::TokenStandard::kErc721,
                               row[4].c_str()});
      batch.block =
          static_cast<uint64_t>(std::max<int64_t>(0, row[5].as<int64_t>()));
    }
    return absl::OkStatus();
  });
  if (!loaded.ok()) return loaded;
  return batch;
}

absl::Status PgUriReadRepository::RescheduleReads(const UriReadBatch& batch,
                                                  absl::string_view error) {
  return pool_.Run([&](pqxx::work& txn) {
    queue_.RescheduleMany(txn, batch.items, error);
    return absl::OkStatus();
  });
}

absl::StatusOr<UriReadsWritten> PgUriReadRepository::WriteReads(
    const UriReadBatch& batch, const std::vector<UriResult>& reads) {
  UriReadsWritten written;
  absl::Status wrote = pool_.Run([&](pqxx::work& txn) {
    written = UriReadsWritten();
    const std::vector<int64_t> held = queue_.CompleteMany(txn, batch.items);
    const std::set<int64_t> ours(held.begin(), held.end());
    written.stale = batch.items.size() - held.size();
    std::vector<int64_t> w_ids;
    std::vector<std::optional<std::string>> w_uri, w_reason, w_detail, w_meta,
        w_content_sha, w_meta_sha;
    for (size_t i = 0; i < batch.token_ids.size(); ++i) {
      if (!ours.count(batch.token_ids[i])) continue;
      const UriResult& r = reads[i];
      (r.token_uri ? written.with_uri : written.failed) += 1;
      w_ids.push_back(batch.token_ids[i]);
      w_uri.push_back(r.token_uri);
      w_reason.push_back(pgsql::Opt(r.reason));
      w_detail.push_back(pgsql::Opt(r.detail));
      w_meta.push_back(r.family.metadata_uri);
      w_content_sha.push_back(r.family.content_sha256);
      w_meta_sha.push_back(r.family.metadata_sha256);
    }
    if (w_ids.empty()) return absl::OkStatus();
    std::vector<int64_t> requeue;
    for (const pqxx::row& row : txn.exec_params(
             kWriteReads, db::BigintArray(w_ids),
             static_cast<int64_t>(batch.block), db::TextArray(w_uri),
             db::TextArray(w_reason), db::TextArray(w_detail),
             db::TextArray(w_meta), db::TextArray(w_content_sha),
             db::TextArray(w_meta_sha))) {
      if (!row[3].as<bool>()) continue;
      requeue.push_back(row[0].as<int64_t>());
      written.extract.push_back({chain_id_, row[1].c_str(), row[2].c_str()});
    }
    // A lease in flight read the old URI: Requeue fences it off.
    db::WorkQueue::Requeue(txn, "extract", requeue);
    return absl::OkStatus();
  });
  if (!wrote.ok()) return wrote;
  return written;
}

absl::StatusOr<QueueDepth> PgUriReadRepository::Pending() {
  absl::StatusOr<db::WorkQueue::Depth> depth = queue_.GetDepth();
  if (!depth.ok()) return depth.status();
  return QueueDepth{.ready = depth->ready, .dead = depth->dead};
}

}  // namespace niftysave::indexer
