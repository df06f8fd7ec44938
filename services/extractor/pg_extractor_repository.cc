#include "services/extractor/pg_extractor_repository.h"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/db/pool.h"
#include "common/db/prepared.h"
#include "common/db/rollup.h"
#include "common/eth/abi.h"
#include "common/runtime/backoff.h"
#include "common/runtime/log.h"
#include "common/runtime/utf8.h"
#include "services/extractor/token_plan.h"

namespace niftysave::extractor {
namespace {

// The tokens of a hand-off's keys, in one statement: each key is looked up
// by the (chain_id, contract, token_id) index through a LATERAL probe, so
// the cost is the hand-off's size whatever the table's size and statistics
// (a join could be planned as a hash join over every token). It was one
// statement per key: 200,000 round trips for 200,000 tokens.
constexpr char kFindTokens[] = R"sql(
SELECT t.id
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS k(chain_id, contract, token_id)
CROSS JOIN LATERAL (
  SELECT id FROM tokens
  WHERE chain_id = k.chain_id AND contract = decode(k.contract, 'hex')
    AND token_id = k.token_id::numeric
  LIMIT 1) t)sql";

constexpr char kLoadTokens[] = R"sql(
SELECT id, token_id::text, token_uri, metadata_uri,
       encode(content_sha256, 'hex'), encode(metadata_sha256, 'hex')
FROM tokens WHERE id = ANY($1::bigint[]))sql";

// The batched write: a fixed handful of statements per batch, however many
// outcomes it holds. Every list travels as a Postgres array and is expanded
// with unnest(...).

// Insert-or-get of the batch's resources (deduplicated by normalised URI
// before), in uri_hash order so concurrent writers lock rows in one order.
// DO UPDATE (not NOTHING) so every input row comes back. A row with a size
// is a metadata document: it also records size and content type.
// An asset URI that did not resolve comes with its reason and detail: it is
// inserted failed (kind 'invalid') and never queued for a pin.
constexpr char kUpsertResources[] = R"sql(
WITH input AS (
  SELECT u.ord, sha256(convert_to(u.normalized, 'UTF8')) AS uri_hash,
         u.normalized, u.kind, u.cid, u.path, u.size, u.content_type,
         u.reason, u.detail
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
              $6::text[], $7::text[], $8::text[])
       WITH ORDINALITY AS u(normalized, kind, cid, path, size, content_type,
                            reason, detail, ord)),
up AS (
  INSERT INTO resources (uri_hash, normalized, kind, cid, path, size,
                         content_type, status, reason, detail)
  SELECT uri_hash, normalized, kind, cid, path, size, content_type,
         CASE WHEN reason IS NULL THEN 'queued' ELSE 'failed' END, reason, detail
  FROM input ORDER BY uri_hash
  ON CONFLICT (uri_hash) DO UPDATE
  SET updated_at = now(),
      size = CASE WHEN EXCLUDED.size IS NULL THEN resources.size
                  ELSE EXCLUDED.size END,
      content_type = CASE WHEN EXCLUDED.size IS NULL THEN resources.content_type
                          ELSE EXCLUDED.content_type END
  RETURNING id, status, uri_hash)
SELECT input.ord, up.id, up.status FROM input JOIN up USING (uri_hash))sql";

constexpr char kFailResources[] = R"sql(
UPDATE resources r
SET status = 'failed', reason = u.reason, detail = u.detail, updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, reason, detail)
WHERE r.id = u.id AND r.status <> 'pinned')sql";

constexpr char kSaveMetadata[] = R"sql(
INSERT INTO metadata (resource_id, sha256, size, content_type, raw, doc)
SELECT u.id, decode(u.sha256, 'hex'), u.size, u.content_type,
       decode(u.raw, 'hex'), u.doc::jsonb
FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::text[],
            $6::text[]) AS u(id, sha256, size, content_type, raw, doc)
ON CONFLICT (resource_id) DO UPDATE
SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size, content_type = EXCLUDED.content_type,
    raw = EXCLUDED.raw, doc = EXCLUDED.doc, fetched_at = now())sql";

constexpr char kClearLinks[] = R"sql(
WITH a AS (DELETE FROM token_resources WHERE token_pk = ANY($1::bigint[]))
DELETE FROM token_links WHERE token_pk = ANY($1::bigint[]))sql";

constexpr char kLinkResources[] = R"sql(
INSERT INTO token_resources (token_pk, json_path, resource_id, role, uri,
                             verified)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[],
                     $5::text[], $6::boolean[])
ON CONFLICT DO NOTHING)sql";

constexpr char kAddLinks[] = R"sql(
INSERT INTO token_links (token_pk, json_path, role, value)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
ON CONFLICT DO NOTHING)sql";

// 'extracted' (reason and detail NULL) or 'failed'.
constexpr char kSetTokens[] = R"sql(
UPDATE tokens t
SET status = u.status, reason = u.reason, detail = u.detail,
    metadata_resource_id = u.resource_id, updated_at = now()
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])
     AS u(id, status, reason, detail, resource_id)
WHERE t.id = u.id)sql";

// Failure details quote what servers sent: bounded, and cut on a character
// boundary (ValidUtf8).
constexpr size_t kMaxDetailBytes = 2000;

std::optional<std::string> NonEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

// A nullable bigint column element, for db::TextArray: Postgres reads the
// quoted decimal as a bigint in `unnest($n::bigint[])`.
std::optional<std::string> OptionalBigint(std::optional<int64_t> v) {
  if (!v) return std::nullopt;
  return std::to_string(*v);
}

}  // namespace

absl::StatusOr<EnqueueCounts> PgExtractorRepository::Enqueue(
    const std::vector<eth::TokenKey>& keys) {
  EnqueueCounts counts;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    counts = {};
    std::vector<int64_t> chains, pks;
    std::vector<std::string> contracts, token_ids;
    for (const eth::TokenKey& key : keys) {
      chains.push_back(static_cast<int64_t>(key.chain_id));
      contracts.push_back(key.contract);
      token_ids.push_back(key.token_id);
    }
    for (const auto& row :
         db::Exec(txn, kFindTokens, db::BigintArray(chains),
                  db::TextArray(contracts), db::TextArray(token_ids))) {
      pks.push_back(row[0].as<int64_t>());
    }
    // One row a key found (a key named twice is counted twice, as before).
    counts.unknown = static_cast<uint32_t>(keys.size() - pks.size());
    db::WorkQueue::Enqueue(txn, queue_.name(), pks);
    counts.queued = static_cast<uint32_t>(pks.size());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return counts;
}

absl::StatusOr<std::vector<TokenToExtract>> PgExtractorRepository::LoadTokens(
    const std::vector<int64_t>& pks) {
  std::vector<TokenToExtract> out;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    out.clear();
    for (const auto& row :
         db::ExecPlanned(txn, kLoadTokens, db::BigintArray(pks))) {
      TokenToExtract& t = out.emplace_back();
      t.pk = row[0].as<int64_t>();
      t.token_id = row[1].as<std::string>();
      if (!row[2].is_null()) t.token_uri = row[2].as<std::string>();
      if (!row[3].is_null()) t.metadata_uri = row[3].as<std::string>();
      if (!row[4].is_null()) t.content_sha256 = row[4].as<std::string>();
      if (!row[5].is_null()) t.metadata_sha256 = row[5].as<std::string>();
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

namespace {

// A resource the batch names, once per normalised URI.
struct BatchResource {
  const uri::ResolvedUri* uri = nullptr;
  // Set for a fetched metadata document: recorded on the resource.
  std::optional<int64_t> size;
  std::optional<std::string> content_type;
  int64_t id = 0;
  std::string status;
};

class BatchResources {
 public:
  // Index of the resource for `uri` in this batch.
  size_t Add(const uri::ResolvedUri& uri) {
    auto [it, added] = index_.try_emplace(uri.normalized, list_.size());
    if (added) list_.push_back({.uri = &uri});
    return it->second;
  }
  // An asset URI that did not resolve (`uri.kind` kInvalid): one failed
  // resource per text as written, keyed by its hash (the text may be long).
  size_t AddAsset(const FoundAsset& asset) {
    if (asset.resolved.kind != uri::UriKind::kInvalid) {
      return Add(asset.resolved);
    }
    uri::ResolvedUri& key = invalid_.emplace_back(asset.resolved);
    key.normalized = absl::StrCat("invalid:", Sha256Hex(asset.uri));
    if (key.reason.empty()) key.reason = "uri_invalid";
    return Add(key);
  }
  size_t AddDocument(const uri::ResolvedUri& uri, const Extraction& x) {
    const size_t i = Add(uri);
    list_[i].size = static_cast<int64_t>(x.content.bytes.size());
    list_[i].content_type = NonEmpty(x.content.content_type);
    return i;
  }
  const BatchResource& operator[](size_t i) const { return list_[i]; }
  bool empty() const { return list_.empty(); }

  // Inserts the new ones and reads every id and status: one statement.
  void Upsert(pqxx::work& txn) {
    if (list_.empty()) return;
    std::vector<std::string> normalized, kind, path;
    std::vector<std::optional<std::string>> cid, size, content_type, reason,
        detail;
    for (const BatchResource& r : list_) {
      const bool invalid = r.uri->kind == uri::UriKind::kInvalid;
      normalized.push_back(r.uri->normalized);
      kind.emplace_back(uri::UriKindName(r.uri->kind));
      cid.push_back(NonEmpty(r.uri->cid));
      path.push_back(r.uri->path);
      size.push_back(OptionalBigint(r.size));
      content_type.push_back(r.content_type);
      if (invalid) {
        reason.push_back(r.uri->reason);
        detail.push_back(ValidUtf8(r.uri->detail, kMaxDetailBytes));
      } else {
        reason.push_back(std::nullopt);
        detail.push_back(std::nullopt);
      }
    }
    for (const auto& row :
         db::Exec(txn, kUpsertResources, db::TextArray(normalized),
                  db::TextArray(kind), db::TextArray(cid), db::TextArray(path),
                  db::TextArray(size), db::TextArray(content_type),
                  db::TextArray(reason), db::TextArray(detail))) {
      BatchResource& r = list_.at(row[0].as<size_t>() - 1);
      r.id = row[1].as<int64_t>();
      r.status = row[2].as<std::string>();
    }
  }

 private:
  absl::flat_hash_map<std::string, size_t> index_;
  std::vector<BatchResource> list_;
  std::deque<uri::ResolvedUri> invalid_;  // stable: list_ points into it
};

}  // namespace

void PgExtractorRepository::WriteBatch(pqxx::work& txn,
                                       const std::vector<ItemOutcome>& outcomes,
                                       std::vector<SavedOutcome>& saved) {
  // 1. Retries: due again after the queue's back-off, but never sooner than
  // the server asked for.
  std::vector<db::QueueRetry> retries;
  std::vector<db::QueueItem> done;
  for (const ItemOutcome& o : outcomes) {
    if (o.kind == ItemOutcome::Kind::kRetry) {
      absl::Duration delay =
          BackoffDelay(queue_.policy().backoff, o.item.attempts);
      if (o.failure->retry_after) {
        delay = std::max(delay, *o.failure->retry_after);
      }
      retries.push_back(
          {o.item, o.failure->reason + ": " + o.failure->detail, delay});
    } else {
      done.push_back(o.item);
    }
  }
  queue_.RescheduleEach(txn, retries);
  if (done.empty()) return;

  // 2. Completing first fences the items: for a lost lease nothing of its
  // outcome is written (the rows stay locked until commit, so nobody can
  // lease them in between). Only an id's newest generation in the batch can
  // have matched (generations only grow), so an older outcome of the same
  // item, leased before its lease ran out, is not taken for the winner.
  absl::flat_hash_map<int64_t, int64_t> newest;  // item id -> generation
  for (const db::QueueItem& item : done) {
    int64_t& g = newest.try_emplace(item.id, item.generation).first->second;
    g = std::max(g, item.generation);
  }
  absl::flat_hash_set<std::pair<int64_t, int64_t>> won;
  for (int64_t id : queue_.CompleteMany(txn, done)) {
    won.insert({id, newest.at(id)});
  }
  std::vector<size_t> order;  // the outcomes to write, by token id
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const ItemOutcome& o = outcomes[i];
    if (o.kind == ItemOutcome::Kind::kRetry) continue;
    if (!won.contains({o.item.id, o.item.generation})) {
      saved[i].status =
          absl::AbortedError("lease lost; another worker has this token");
      continue;
    }
    if (o.kind != ItemOutcome::Kind::kDrop) order.push_back(i);
  }
  if (order.empty()) return;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return outcomes[a].item.id < outcomes[b].item.id;
  });

  // 3. Every resource the batch names, deduplicated, in one upsert.
  BatchResources resources;
  std::vector<size_t> meta_of(outcomes.size(), SIZE_MAX);
  std::vector<std::vector<size_t>> assets_of(outcomes.size());
  for (size_t i : order) {
    const ItemOutcome& o = outcomes[i];
    if (o.kind == ItemOutcome::Kind::kExtracted) {
      const Extraction& x = *o.extraction;
      meta_of[i] = resources.AddDocument(x.metadata_uri, x);
      for (const FoundAsset& a : x.assets) {
        assets_of[i].push_back(resources.AddAsset(a));
      }
    } else if (o.failure->metadata_uri) {
      meta_of[i] = resources.Add(*o.failure->metadata_uri);
    }
  }
  resources.Upsert(txn);
  // From here on nothing needs an answer: each statement below sends its
  // columns as array parameters, one statement per kind of row, whatever
  // the batch's size.

  // 4. Failed metadata documents (the last word per resource wins).
  absl::flat_hash_map<int64_t, size_t> failed;  // resource id -> outcome
  for (size_t i : order) {
    const ItemOutcome& o = outcomes[i];
    if (o.kind == ItemOutcome::Kind::kFailed && meta_of[i] != SIZE_MAX) {
      failed[resources[meta_of[i]].id] = i;
    }
  }
  if (!failed.empty()) {
    std::vector<int64_t> ids;
    std::vector<std::string> reasons, details;
    for (const auto& [id, i] : failed) {
      ids.push_back(id);
      reasons.push_back(outcomes[i].failure->reason);
      details.push_back(
          ValidUtf8(outcomes[i].failure->detail, kMaxDetailBytes));
    }
    db::Exec(txn, kFailResources, db::BigintArray(ids), db::TextArray(reasons),
             db::TextArray(details));
  }

  // 5. The tokens' links are replaced as a whole (re-extraction).
  std::vector<int64_t> relinked, extracted;
  for (size_t i : order) {
    if (meta_of[i] != SIZE_MAX) relinked.push_back(outcomes[i].item.id);
    if (outcomes[i].kind == ItemOutcome::Kind::kExtracted) {
      extracted.push_back(outcomes[i].item.id);
    }
  }
  if (!relinked.empty()) {
    db::ExecPlanned(txn, kClearLinks, db::BigintArray(relinked));
  }
  {
    std::vector<int64_t> tokens, resource_ids;
    std::vector<std::string> paths, roles, uris;
    std::vector<std::string> verified;  // "t"/"f": a boolean[] as text
    absl::flat_hash_set<std::pair<int64_t, std::string>> seen;
    auto link = [&](int64_t token, const std::string& path, int64_t resource,
                    absl::string_view role, const std::string& uri,
                    bool checked) {
      if (!seen.insert({token, path}).second) return;  // the first one wins
      tokens.push_back(token);
      paths.push_back(path);
      resource_ids.push_back(resource);
      roles.emplace_back(role);
      uris.push_back(ValidUtf8(uri, 4096));
      verified.emplace_back(checked ? "t" : "f");
    };
    for (size_t i : order) {
      const ItemOutcome& o = outcomes[i];
      if (meta_of[i] == SIZE_MAX) continue;
      const int64_t meta = resources[meta_of[i]].id;
      if (o.kind == ItemOutcome::Kind::kExtracted) {
        link(o.item.id, "", meta, "metadata", o.extraction->token_uri,
             o.extraction->metadata_verified);
        for (size_t k = 0; k < o.extraction->assets.size(); ++k) {
          const FoundAsset& a = o.extraction->assets[k];
          link(o.item.id, a.json_path, resources[assets_of[i][k]].id, "asset",
               a.uri, a.verified);
        }
      } else {
        const std::string& path = o.failure->json_path;
        link(o.item.id, path, meta, path.empty() ? "metadata" : "asset",
             o.token_uri, false);
      }
    }
    if (!tokens.empty()) {
      db::Exec(txn, kLinkResources, db::BigintArray(tokens),
               db::TextArray(paths), db::BigintArray(resource_ids),
               db::TextArray(roles), db::TextArray(uris),
               db::TextArray(verified));
    }
  }
  {
    std::vector<int64_t> tokens;
    std::vector<std::string> paths, roles, values;
    absl::flat_hash_set<std::pair<int64_t, std::string>> seen;
    for (size_t i : order) {
      const ItemOutcome& o = outcomes[i];
      if (o.kind != ItemOutcome::Kind::kExtracted) continue;
      for (const FoundLink& l : o.extraction->links) {
        if (!seen.insert({o.item.id, l.json_path}).second) continue;
        tokens.push_back(o.item.id);
        paths.push_back(l.json_path);
        roles.push_back(l.role);
        values.push_back(ValidUtf8(l.value, 1 << 20));
      }
    }
    if (!tokens.empty()) {
      db::Exec(txn, kAddLinks, db::BigintArray(tokens), db::TextArray(paths),
               db::TextArray(roles), db::TextArray(values));
    }
  }

  // 6. The documents: original bytes and parsed form (the last one fetched
  // per resource wins).
  {
    absl::flat_hash_map<int64_t, size_t> docs;  // resource id -> outcome
    for (size_t i : order) {
      const ItemOutcome& o = outcomes[i];
      if (o.kind == ItemOutcome::Kind::kExtracted && o.extraction->doc_json) {
        docs[resources[meta_of[i]].id] = i;
      }
    }
    if (!docs.empty()) {
      std::vector<int64_t> ids, sizes;
      std::vector<std::string> hashes, raws, jsons;
      std::vector<std::optional<std::string>> types;
      for (const auto& [id, i] : docs) {
        const Extraction& x = *outcomes[i].extraction;
        ids.push_back(id);
        hashes.push_back(Sha256Hex(x.content.bytes));
        sizes.push_back(static_cast<int64_t>(x.content.bytes.size()));
        types.push_back(NonEmpty(x.content.content_type));
        raws.push_back(eth::BytesToHex(x.content.bytes));
        jsons.push_back(*x.doc_json);
      }
      db::Exec(txn, kSaveMetadata, db::BigintArray(ids), db::TextArray(hashes),
               db::BigintArray(sizes), db::TextArray(types),
               db::TextArray(raws), db::TextArray(jsons));
    }
  }

  // 7. The tokens themselves, in id order.
  {
    std::vector<int64_t> ids;
    std::vector<std::string> statuses;
    std::vector<std::optional<std::string>> reasons, details, metas;
    for (size_t i : order) {
      const ItemOutcome& o = outcomes[i];
      ids.push_back(o.item.id);
      std::optional<int64_t> meta;
      // A failed asset (a content hash mismatch) is not the metadata.
      if (meta_of[i] != SIZE_MAX && (o.kind == ItemOutcome::Kind::kExtracted ||
                                     o.failure->json_path.empty())) {
        meta = resources[meta_of[i]].id;
      }
      metas.push_back(OptionalBigint(meta));
      if (o.kind == ItemOutcome::Kind::kExtracted) {
        statuses.emplace_back("extracted");
        reasons.push_back(std::nullopt);
        details.push_back(std::nullopt);
      } else {
        statuses.emplace_back("failed");
        reasons.push_back(o.failure->reason);
        details.push_back(ValidUtf8(o.failure->detail, kMaxDetailBytes));
      }
    }
    db::Exec(txn, kSetTokens, db::BigintArray(ids), db::TextArray(statuses),
             db::TextArray(reasons), db::TextArray(details),
             db::TextArray(metas));
  }

  // 8. What is new goes on to the pinner: every resource an extraction named
  // that is still queued (one this batch failed is not).
  std::vector<int64_t> to_pin;
  for (size_t i : order) {
    if (outcomes[i].kind != ItemOutcome::Kind::kExtracted) continue;
    std::vector<int64_t>& mine = saved[i].to_pin;
    auto add = [&](size_t r) {
      const BatchResource& res = resources[r];
      if (res.status == "queued" && !failed.contains(res.id)) {
        mine.push_back(res.id);
      }
    };
    add(meta_of[i]);
    for (size_t r : assets_of[i]) add(r);
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    to_pin.insert(to_pin.end(), mine.begin(), mine.end());
  }
  std::sort(to_pin.begin(), to_pin.end());
  to_pin.erase(std::unique(to_pin.begin(), to_pin.end()), to_pin.end());
  if (!to_pin.empty()) db::WorkQueue::Enqueue(txn, "pin", to_pin);
  if (!extracted.empty()) db::RollUpTokens(txn, extracted);
}

std::vector<SavedOutcome> PgExtractorRepository::SaveOutcomes(
    const std::vector<ItemOutcome>& outcomes) {
  std::vector<SavedOutcome> saved(outcomes.size());
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    for (SavedOutcome& o : saved) o = {};
    WriteBatch(txn, outcomes, saved);
    return absl::OkStatus();
  });
  if (s.ok()) return saved;
  if (outcomes.size() == 1) {
    saved[0] = {s, {}};
    return saved;
  }
  // One bad outcome must not hold back the others: each on its own.
  split_batches_.fetch_add(1);
  log::Warn("batched write failed; writing its outcomes one by one",
            {{"outcomes", std::to_string(outcomes.size())},
             {"error", std::string(s.message())}});
  for (size_t i = 0; i < outcomes.size(); ++i) {
    saved[i] = SaveOutcomes({outcomes[i]})[0];
  }
  return saved;
}

}  // namespace niftysave::extractor
