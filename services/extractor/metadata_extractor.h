#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/fetch/content_fetcher.h"
#include "common/uri/asset_walker.h"
#include "common/uri/token_uri.h"
#include "nlohmann/json.hpp"
#include "services/extractor/extractor_model.h"

namespace niftysave::extractor {

struct ExtractorLimits {
  size_t max_json_depth = 64;
  size_t max_assets = 1000;
};

// What fetching a token's metadata takes: the URI to try first and, for an
// ERC-1155 `{id}` template, the decimal form to try when that one is not
// found (404/410). `id_form` is "hex" for templates, "" otherwise.
struct MetadataFetchPlan {
  uri::ResolvedUri first;
  std::optional<uri::ResolvedUri> decimal;
  std::string id_form;
};

// The first half of extraction, before any I/O: resolves the token URI
// (uri_invalid when it cannot be fetched) and substitutes `{id}`.
std::variant<MetadataFetchPlan, ExtractionFailure> PlanMetadataFetch(
    const std::string& token_uri, const std::string& token_id);

// The second half, after the fetch: the fetched bytes (or the fetch's
// failure) of `metadata_uri`, found with `id_form`, become the Extraction:
// JSON parsed leniently under the depth cap, assets walked, `{id}` in asset
// URIs replaced in the same form. CPU only.
std::variant<Extraction, ExtractionFailure> ExtractFetched(
    const std::string& token_uri, const std::string& token_id,
    uri::ResolvedUri metadata_uri, std::string id_form,
    absl::StatusOr<fetch::FetchedContent> content,
    const ExtractorLimits& limits);

// Token URI → metadata → assets, blocking: PlanMetadataFetch, the fetch
// (hex then decimal), ExtractFetched. No database, no gRPC: plain logic.
class MetadataExtractor {
 public:
  MetadataExtractor(const fetch::ContentFetcher& fetcher,
                    ExtractorLimits limits);

  // `token_id` (decimal) fills ERC-1155 `{id}` templates: the spec's
  // 64-digit hex form first, then, if that is not found (404/410), the
  // decimal form. `{id}` in asset URIs inside the metadata is replaced the
  // same way (FoundAsset::uri keeps the template as written).
  std::variant<Extraction, ExtractionFailure> Extract(
      const std::string& token_uri, const std::string& token_id) const;

 private:
  const fetch::ContentFetcher& fetcher_;
  const ExtractorLimits limits_;
};

// Deepest nesting of arrays/objects in a JSON text (strings skipped), so a
// depth bomb is refused before any parser recurses into it.
size_t JsonNestingDepth(std::string_view text);

// Parses metadata JSON strictly (comments allowed); when that fails, applies
// the fix-ups real metadata needs, one after another, retrying after each:
// percent-decoding a URL-encoded document, replacing invalid UTF-8 with
// U+FFFD, and dropping trailing commas before '}' or ']' (outside strings).
// Names of the fix-ups used go to `leniency`. Returns a discarded value when
// nothing helps. `text` must already be free of a BOM.
nlohmann::ordered_json ParseMetadataLeniently(
    std::string_view text, std::vector<std::string>* leniency);

// Removes every ',' that is followed (after whitespace) by '}' or ']',
// leaving string contents alone.
std::string StripTrailingCommas(std::string_view text);

// True when the bytes or their content type say this is media, not JSON.
bool LooksLikeMedia(std::string_view bytes, std::string_view content_type);

}  // namespace niftysave::extractor
