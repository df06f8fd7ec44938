#include "services/extractor/token_plan.h"

#include "absl/strings/str_cat.h"
#include "common/eth/abi.h"
#include "common/http/http_client.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"

namespace niftysave::extractor {
namespace {

ExtractionFailure Mismatch(const char* what, const std::string& got,
                           const std::string& want, uri::ResolvedUri uri,
                           std::string json_path) {
  ExtractionFailure f;
  f.reason = "hash_mismatch";  // README reasons table
  f.detail = absl::StrCat(what, " sha256 ", got, " is not the on-chain ", want);
  f.metadata_uri = std::move(uri);
  f.json_path = std::move(json_path);
  return f;
}

}  // namespace

std::string Sha256Hex(absl::string_view bytes) {
  return eth::BytesToHex(ipfs::Sha256(bytes));
}

TokenPlan PlanToken(const TokenToExtract& token) {
  TokenPlan plan;
  if (!token.metadata_uri) {
    plan.metadata_uri = token.token_uri.value_or("");
    return plan;
  }
  plan.metadata_uri = *token.metadata_uri;
  plan.metadata_sha256 = token.metadata_sha256;
  const std::string content = token.token_uri.value_or("");
  plan.content = FoundAsset{.json_path = kContentPath,
                            .uri = content,
                            .resolved = uri::ResolveUri(content)};
  // Only content that resolved can be fetched and checked; one that did not
  // is recorded as a failed asset (uri_invalid) like any other.
  if (plan.content->resolved.kind != uri::UriKind::kInvalid) {
    plan.content_sha256 = token.content_sha256;
  }
  return plan;
}

std::optional<ExtractionFailure> ApplyPlan(
    const TokenPlan& plan, Extraction& x,
    const std::optional<absl::StatusOr<fetch::FetchedContent>>& content) {
  if (plan.metadata_sha256) {
    const std::string got = Sha256Hex(x.content.bytes);
    if (got != *plan.metadata_sha256) {
      return Mismatch("metadata", got, *plan.metadata_sha256, x.metadata_uri,
                      "");
    }
    x.metadata_verified = true;
  }
  if (!plan.content) return std::nullopt;
  FoundAsset asset = *plan.content;
  if (plan.content_sha256 && content) {
    if (content->ok()) {
      const std::string got = Sha256Hex((*content)->bytes);
      if (got != *plan.content_sha256) {
        return Mismatch("content", got, *plan.content_sha256, asset.resolved,
                        kContentPath);
      }
      asset.verified = true;
    } else if (http::IsTemporary(content->status())) {
      ExtractionFailure f;
      f.reason = ReasonOf(content->status());
      f.detail = absl::StrCat("content: ", content->status().message());
      f.temporary = true;
      f.retry_after = RetryAfterOf(content->status());
      return f;
    }
  }
  x.assets.insert(x.assets.begin(), std::move(asset));
  return std::nullopt;
}

}  // namespace niftysave::extractor
