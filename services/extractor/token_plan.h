#pragma once
// What extracting one token takes, decided from its recorded fields alone:
// the extractor's seam for contract families. The indexer's family
// (services/indexer/contract_family.h) fills the generic fields; nothing here
// names a family. A standard token's metadata is its token URI. A token with
// a metadata URI (Zora's Media: tokenMetadataURI) has its metadata there,
// and its token URI is the content itself, archived as an asset at
// kContentPath. Each byte string fetched is checked against the token's
// on-chain sha256 when it committed to one: a match is recorded verified, a
// mismatch fails the token for good (hash_mismatch).

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "common/fetch/content_fetcher.h"
#include "services/extractor/extractor_model.h"

namespace niftysave::extractor {

// The JSON path the token URI is linked under when it names the content
// (not a JSON path: no path in a metadata document can look like it).
inline constexpr char kContentPath[] = "tokenURI()";

struct TokenPlan {
  std::string metadata_uri;  // as recorded: fetched and parsed
  std::optional<std::string> metadata_sha256;  // 64 hex digits
  // The token URI as an asset of its own (a metadata URI is set).
  std::optional<FoundAsset> content;
  // Set: the content's bytes are fetched by the extractor and checked.
  std::optional<std::string> content_sha256;
};

TokenPlan PlanToken(const TokenToExtract& token);

// Applies the plan to an extraction: checks the metadata's bytes, adds the
// content asset, and checks `content` (its fetch, when the plan has a
// content hash). A mismatch is a permanent hash_mismatch failure naming the
// resource; a temporary failure to fetch the content is retried; a
// permanent one (too large for the extractor, say) leaves the content
// unverified for the pinner to archive.
std::optional<ExtractionFailure> ApplyPlan(
    const TokenPlan& plan, Extraction& extraction,
    const std::optional<absl::StatusOr<fetch::FetchedContent>>& content);

// sha256 of `bytes` as 64 lower-case hex digits.
std::string Sha256Hex(absl::string_view bytes);

}  // namespace niftysave::extractor
