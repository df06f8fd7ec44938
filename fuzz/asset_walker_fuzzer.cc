// The extractor's parsing path on arbitrary bytes: the depth pre-check, the
// lenient JSON parse and the asset walk, as MetadataExtractor runs them.
// Properties: no crash or stack overflow; a document the depth check passed
// never makes the walker report too deep; every asset it returns resolves
// to a URI of a kind the pinner can archive.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/uri/asset_walker.h"
#include "common/uri/token_uri.h"
#include "fuzz/fuzz_check.h"
#include "nlohmann/json.hpp"
#include "services/extractor/metadata_extractor.h"

namespace uri = niftysave::uri;
namespace extractor = niftysave::extractor;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr size_t kMaxDepth = 32;
  const size_t depth = extractor::JsonNestingDepth(text);
  if (depth > kMaxDepth) return 0;  // refused before parsing, as in Extract
  std::vector<std::string> leniency;
  nlohmann::ordered_json doc =
      extractor::ParseMetadataLeniently(text, &leniency);
  if (doc.is_discarded()) return 0;
  // A percent-encoded document can hide its depth from the pre-check; the
  // extractor checks the decoded text, and so does this target.
  if (!leniency.empty() && leniency.front() == "percent_decoded" &&
      extractor::JsonNestingDepth(uri::PercentDecodeLenient(text)) >
          kMaxDepth) {
    return 0;
  }
  // As Extract: walked with the same cap (so the depth check above must
  // have been right), then serialised for jsonb.
  auto refs =
      uri::WalkAssets(doc, {.max_depth = kMaxDepth, .max_assets = 100000});
  FUZZ_CHECK(refs.ok());
  (void)doc.dump(-1, ' ', false,
                 nlohmann::ordered_json::error_handler_t::replace);
  for (const uri::AssetRef& ref : *refs) {
    FUZZ_CHECK(!ref.json_path.empty() && ref.json_path.front() == '$');
    if (ref.role == uri::AssetRole::kAsset) {
      // Either it resolves, or it is a reference that does not (recorded
      // failed with the reason ResolveUri gives): one word, with a reason.
      const uri::ResolvedUri r = uri::ResolveUri(ref.uri);
      if (r.kind == uri::UriKind::kInvalid) {
        FUZZ_CHECK(!r.reason.empty());
        FUZZ_CHECK(!ref.uri.empty());
      }
    }
  }
  return 0;
}
