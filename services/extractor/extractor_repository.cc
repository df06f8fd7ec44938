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

absl::StatusOr<std::vector<int64_t>> PgExtractorRepository::SaveExtraction(
    const db::QueueItem& item, const Extraction& x) {
  std::vector<int64_t> to_pin;
  absl::Status s = pool_.Run([&](pqxx::work& txn) {
    to_pin.clear();
    const int64_t token_pk = item.id;
    ResourceRow meta = UpsertResource(txn, x.metadata_uri);
    if (meta.status == "queued") to_pin.push_back(meta.id);
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
      if (r.status == "queued" && r.id != meta.id) to_pin.push_back(r.id);
      txn.exec_params(kLinkResource, token_pk, a.json_path, r.id, "asset",
                      a.uri.substr(0, 4096));
    }
    for (const FoundLink& l : x.links) {
      txn.exec_params(kAddLink, token_pk, l.json_path, l.role,
                      l.value.substr(0, 1 << 20));
    }
    txn.exec_params(kTokenExtracted, token_pk, meta.id);
    std::sort(to_pin.begin(), to_pin.end());
    to_pin.erase(std::unique(to_pin.begin(), to_pin.end()), to_pin.end());
    db::WorkQueue::Enqueue(txn, "pin", to_pin);
    db::RollUpTokens(txn, {token_pk});
    if (!queue_.Complete(txn, item)) {
      return absl::AbortedError("lease lost; another worker has this token");
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return to_pin;
}

absl::Status PgExtractorRepository::SaveFailure(const db::QueueItem& item,
                                                const ExtractionFailure& f,
                                                const std::string& token_uri) {
  return pool_.Run([&](pqxx::work& txn) {
    std::optional<int64_t> resource;
    if (f.metadata_uri) {
      ResourceRow r = UpsertResource(txn, *f.metadata_uri);
      txn.exec_params(kFailResource, r.id, f.reason, f.detail);
      txn.exec_params(kClearLinks, item.id);
      txn.exec_params(kLinkResource, item.id, std::string(), r.id, "metadata",
                      token_uri.substr(0, 4096));
      resource = r.id;
    }
    txn.exec_params(kTokenFailed, item.id, f.reason, f.detail.substr(0, 2000),
                    resource);
    if (!queue_.Complete(txn, item)) {
      return absl::AbortedError("lease lost; another worker has this token");
    }
    return absl::OkStatus();
  });
}

absl::Status PgExtractorRepository::Retry(const db::QueueItem& item,
                                          const ExtractionFailure& f) {
  // The queue's back-off, but never sooner than the server asked for.
  absl::Duration delay = BackoffDelay(queue_.policy().backoff, item.attempts);
  if (f.retry_after) delay = std::max(delay, *f.retry_after);
  return pool_.Run([&](pqxx::work& txn) {
    queue_.Reschedule(txn, item, f.reason + ": " + f.detail, delay);
    return absl::OkStatus();
  });
}

absl::Status PgExtractorRepository::Drop(const db::QueueItem& item) {
  return pool_.Run([&](pqxx::work& txn) {
    queue_.Complete(txn, item);
    return absl::OkStatus();
  });
}

}  // namespace niftysave::extractor
