#include "services/extractor/extractor_repository.h"

#include "common/db/pool.h"
#include "common/db/rollup.h"
#include "common/eth/abi.h"
#include "common/runtime/backoff.h"
#include "common/runtime/log.h"
#include "openssl/sha.h"

namespace niftysave::extractor {
namespace {

constexpr char kFindToken[] = R"sql(
SELECT id FROM tokens WHERE chain_id = $1 AND contract = decode($2, 'hex') AND token_id = $3::numeric)sql";

constexpr char kLoadToken[] = R"sql(
SELECT id, token_id::text, token_uri FROM tokens WHERE id = $1)sql";

constexpr char kLoadTokens[] = R"sql(
SELECT id, token_id::text, token_uri FROM tokens WHERE id = ANY($1::bigint[]))sql";

// DO UPDATE (not NOTHING) so RETURNING always yields the row.
constexpr char kUpsertResource[] = R"sql(
INSERT INTO resources (uri_hash, normalized, kind, cid, path)
VALUES (sha256(convert_to($1, 'UTF8')), $1, $2, $3, $4)
ON CONFLICT (uri_hash) DO UPDATE SET updated_at = now()
RETURNING id, status)sql";

constexpr char kFailResource[] = R"sql(
UPDATE resources SET status = 'failed', reason = $2, detail = $3, updated_at = now()
WHERE id = $1 AND status <> 'pinned')sql";

constexpr char kDescribeResource[] = R"sql(
UPDATE resources SET size = $2, content_type = $3, updated_at = now() WHERE id = $1)sql";

constexpr char kSaveMetadata[] = R"sql(
INSERT INTO metadata (resource_id, sha256, size, content_type, raw, doc)
VALUES ($1, decode($2, 'hex'), $3, $4, decode($5, 'hex'), $6::jsonb)
ON CONFLICT (resource_id) DO UPDATE
SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size, content_type = EXCLUDED.content_type,
    raw = EXCLUDED.raw, doc = EXCLUDED.doc, fetched_at = now())sql";

constexpr char kClearLinks[] = R"sql(
WITH a AS (DELETE FROM token_resources WHERE token_pk = $1)
DELETE FROM token_links WHERE token_pk = $1)sql";

constexpr char kLinkResource[] = R"sql(
INSERT INTO token_resources (token_pk, json_path, resource_id, role, uri)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING)sql";

constexpr char kAddLink[] = R"sql(
INSERT INTO token_links (token_pk, json_path, role, value)
VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING)sql";

constexpr char kTokenExtracted[] = R"sql(
UPDATE tokens SET status = 'extracted', reason = NULL, detail = NULL,
                  metadata_resource_id = $2, updated_at = now()
WHERE id = $1)sql";

constexpr char kTokenFailed[] = R"sql(
UPDATE tokens SET status = 'failed', reason = $2, detail = $3,
                  metadata_resource_id = $4, updated_at = now()
WHERE id = $1)sql";

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return eth::BytesToHex(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::optional<std::string> NonEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

struct ResourceRow {
  int64_t id;
  std::string status;
};

ResourceRow UpsertResource(pqxx::work& txn, const uri::ResolvedUri& r) {
  pqxx::row row = txn.exec_params1(kUpsertResource, r.normalized,
                                   std::string(uri::UriKindName(r.kind)),
                                   NonEmpty(r.cid), r.path);
  return {row[0].as<int64_t>(), row[1].as<std::string>()};
}

}  // namespace

absl::StatusOr<EnqueueCounts> PgExtractorRepository::Enqueue(
    const std::vector<eth::TokenKey>& keys) {
  EnqueueCounts counts;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    counts = {};
    std::vector<int64_t> pks;
    for (const eth::TokenKey& key : keys) {
      pqxx::result r =
          txn.exec_params(kFindToken, static_cast<int64_t>(key.chain_id),
                          key.contract, key.token_id);
      if (r.empty()) {
        ++counts.unknown;
      } else {
        pks.push_back(r[0][0].as<int64_t>());
      }
    }
    db::WorkQueue::Enqueue(txn, queue_.name(), pks);
    counts.queued = static_cast<uint32_t>(pks.size());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return counts;
}

absl::StatusOr<std::optional<TokenToExtract>> PgExtractorRepository::LoadToken(
    int64_t pk) {
  std::optional<TokenToExtract> token;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    pqxx::result r = txn.exec_params(kLoadToken, pk);
    if (r.empty()) return absl::OkStatus();
    token = TokenToExtract{r[0][0].as<int64_t>(), r[0][1].as<std::string>(),
                           std::nullopt};
    if (!r[0][2].is_null()) token->token_uri = r[0][2].as<std::string>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return token;
}

namespace {

// A token's metadata, its links and assets; what to pin goes to `to_pin`.
void WriteExtraction(pqxx::work& txn, int64_t token_pk, const Extraction& x,
                     std::vector<int64_t>* to_pin) {
  ResourceRow meta = UpsertResource(txn, x.metadata_uri);
  if (meta.status == "queued") to_pin->push_back(meta.id);
  txn.exec_params(kDescribeResource, meta.id,
                  static_cast<int64_t>(x.content.bytes.size()),
                  NonEmpty(x.content.content_type));
  if (x.doc_json) {
    txn.exec_params(kSaveMetadata, meta.id, Sha256Hex(x.content.bytes),
                    static_cast<int64_t>(x.content.bytes.size()),
                    NonEmpty(x.content.content_type),
                    eth::BytesToHex(x.content.bytes), *x.doc_json);
  }
  txn.exec_params(kClearLinks, token_pk);
  txn.exec_params(kLinkResource, token_pk, std::string(), meta.id, "metadata",
                  x.token_uri.substr(0, 4096));
  for (const FoundAsset& a : x.assets) {
    ResourceRow r = UpsertResource(txn, a.resolved);
    if (r.status == "queued" && r.id != meta.id) to_pin->push_back(r.id);
    txn.exec_params(kLinkResource, token_pk, a.json_path, r.id, "asset",
                    a.uri.substr(0, 4096));
  }
  for (const FoundLink& l : x.links) {
    txn.exec_params(kAddLink, token_pk, l.json_path, l.role,
                    l.value.substr(0, 1 << 20));
  }
  txn.exec_params(kTokenExtracted, token_pk, meta.id);
  std::sort(to_pin->begin(), to_pin->end());
  to_pin->erase(std::unique(to_pin->begin(), to_pin->end()), to_pin->end());
}

void WriteFailure(pqxx::work& txn, int64_t token_pk, const ExtractionFailure& f,
                  const std::string& token_uri) {
  std::optional<int64_t> resource;
  if (f.metadata_uri) {
    ResourceRow r = UpsertResource(txn, *f.metadata_uri);
    txn.exec_params(kFailResource, r.id, f.reason, f.detail);
    txn.exec_params(kClearLinks, token_pk);
    txn.exec_params(kLinkResource, token_pk, std::string(), r.id, "metadata",
                    token_uri.substr(0, 4096));
    resource = r.id;
  }
  txn.exec_params(kTokenFailed, token_pk, f.reason, f.detail.substr(0, 2000),
                  resource);
}

}  // namespace

absl::StatusOr<std::vector<TokenToExtract>> ExtractorRepository::LoadTokens(
    const std::vector<int64_t>& pks) {
  std::vector<TokenToExtract> out;
  for (int64_t pk : pks) {
    absl::StatusOr<std::optional<TokenToExtract>> token = LoadToken(pk);
    if (!token.ok()) return token.status();
    if (token->has_value()) out.push_back(**token);
  }
  return out;
}

std::vector<SavedOutcome> ExtractorRepository::SaveOutcomes(
    const std::vector<ItemOutcome>& outcomes) {
  std::vector<SavedOutcome> saved(outcomes.size());
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const ItemOutcome& o = outcomes[i];
    switch (o.kind) {
      case ItemOutcome::Kind::kExtracted: {
        absl::StatusOr<std::vector<int64_t>> queued =
            SaveExtraction(o.item, *o.extraction);
        saved[i].status = queued.status();
        if (queued.ok()) saved[i].to_pin = *std::move(queued);
        break;
      }
      case ItemOutcome::Kind::kFailed:
        saved[i].status = SaveFailure(o.item, *o.failure, o.token_uri);
        break;
      case ItemOutcome::Kind::kRetry:
        saved[i].status = Retry(o.item, *o.failure);
        break;
      case ItemOutcome::Kind::kDrop:
        saved[i].status = Drop(o.item);
        break;
    }
  }
  return saved;
}

absl::StatusOr<std::vector<TokenToExtract>> PgExtractorRepository::LoadTokens(
    const std::vector<int64_t>& pks) {
  std::vector<TokenToExtract> out;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    out.clear();
    for (const auto& row : txn.exec_params(kLoadTokens, db::BigintArray(pks))) {
      TokenToExtract& t = out.emplace_back();
      t.pk = row[0].as<int64_t>();
      t.token_id = row[1].as<std::string>();
      if (!row[2].is_null()) t.token_uri = row[2].as<std::string>();
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

std::vector<SavedOutcome> PgExtractorRepository::SaveOutcomes(
    const std::vector<ItemOutcome>& outcomes) {
  std::vector<SavedOutcome> saved(outcomes.size());
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    std::vector<int64_t> extracted, to_pin;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      const ItemOutcome& o = outcomes[i];
      saved[i] = {};
      if (o.kind == ItemOutcome::Kind::kRetry) {
        // The queue's back-off, but never sooner than the server asked for.
        absl::Duration delay =
            BackoffDelay(queue_.policy().backoff, o.item.attempts);
        if (o.failure->retry_after) {
          delay = std::max(delay, *o.failure->retry_after);
        }
        queue_.Reschedule(txn, o.item,
                          o.failure->reason + ": " + o.failure->detail, delay);
        continue;
      }
      // Completing first fences the item: when the lease is lost nothing of
      // this outcome is written (the row is locked until commit, so nobody
      // can lease it in between).
      if (!queue_.Complete(txn, o.item)) {
        saved[i].status =
            absl::AbortedError("lease lost; another worker has this token");
        continue;
      }
      if (o.kind == ItemOutcome::Kind::kFailed) {
        WriteFailure(txn, o.item.id, *o.failure, o.token_uri);
      } else if (o.kind == ItemOutcome::Kind::kExtracted) {
        WriteExtraction(txn, o.item.id, *o.extraction, &saved[i].to_pin);
        extracted.push_back(o.item.id);
        to_pin.insert(to_pin.end(), saved[i].to_pin.begin(),
                      saved[i].to_pin.end());
      }
    }
    std::sort(to_pin.begin(), to_pin.end());
    to_pin.erase(std::unique(to_pin.begin(), to_pin.end()), to_pin.end());
    if (!to_pin.empty()) db::WorkQueue::Enqueue(txn, "pin", to_pin);
    if (!extracted.empty()) db::RollUpTokens(txn, extracted);
    return absl::OkStatus();
  });
  if (s.ok()) return saved;
  if (outcomes.size() == 1) {
    saved[0] = {s, {}};
    return saved;
  }
  // One bad outcome must not hold back the others: each on its own.
  for (size_t i = 0; i < outcomes.size(); ++i) {
    saved[i] = SaveOutcomes({outcomes[i]})[0];
  }
  return saved;
}

namespace {

ItemOutcome OutcomeOf(const db::QueueItem& item, ItemOutcome::Kind kind) {
  ItemOutcome o;
  o.item = item;
  o.kind = kind;
  return o;
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> PgExtractorRepository::SaveExtraction(
    const db::QueueItem& item, const Extraction& extraction) {
  ItemOutcome o = OutcomeOf(item, ItemOutcome::Kind::kExtracted);
  o.extraction = extraction;
  SavedOutcome saved = SaveOutcomes({std::move(o)})[0];
  if (!saved.status.ok()) return saved.status;
  return saved.to_pin;
}

absl::Status PgExtractorRepository::SaveFailure(const db::QueueItem& item,
                                                const ExtractionFailure& f,
                                                const std::string& token_uri) {
  ItemOutcome o = OutcomeOf(item, ItemOutcome::Kind::kFailed);
  o.failure = f;
  o.token_uri = token_uri;
  return SaveOutcomes({std::move(o)})[0].status;
}

absl::Status PgExtractorRepository::Retry(const db::QueueItem& item,
                                          const ExtractionFailure& f) {
  ItemOutcome o = OutcomeOf(item, ItemOutcome::Kind::kRetry);
  o.failure = f;
  return SaveOutcomes({std::move(o)})[0].status;
}

absl::Status PgExtractorRepository::Drop(const db::QueueItem& item) {
  SavedOutcome saved =
      SaveOutcomes({OutcomeOf(item, ItemOutcome::Kind::kDrop)})[0];
  // A vanished token's item that someone else holds is theirs to drop.
  return saved.status.code() == absl::StatusCode::kAborted ? absl::OkStatus()
                                                           : saved.status;
}

}  // namespace niftysave::extractor
