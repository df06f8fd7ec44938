#pragma once

// Finds the asset references in NFT metadata JSON of any shape.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace niftysave::uri {

enum class AssetRole {
  kAsset,   // content to fetch and pin (image, animation_url, files[].uri...)
  kInline,  // image_data holding SVG/HTML itself: stored, not fetched
  kLink,    // external_url, external_link, youtube_url: recorded, not archived
};

// "asset", "inline", "link".
std::string_view AssetRoleName(AssetRole role);

struct AssetRef {
  std::string json_path;  // "$.image", "$.properties.files[0].uri", "$"
  std::string uri;        // the string exactly as the metadata holds it
  AssetRole role = AssetRole::kAsset;

  friend bool operator==(const AssetRef&, const AssetRef&) = default;
};

struct WalkLimits {
  size_t max_depth = 64;     // nested objects/arrays, the root counting as 1
  size_t max_assets = 1000;  // references of any role
};

// Walks every value of `doc` (object, array or scalar) in iteration order
// and returns its references:
// - image_data: kInline, or kAsset when it is itself a URI;
// - external_url / external_link / youtube_url: kLink when they resolve;
// - any other string: kAsset when ResolveUri gives a kind other than
//   kInvalid. Outside the well-known asset keys (image, image_url,
//   animation_url, uri, src, ...) a string with inner whitespace is prose
//   that mentions a URL, not a reference, unless it is a data: URI.
// - a string that does not resolve but is meant as a reference (one word
//   under a well-known asset key, or a failed "<scheme>://..." or "data:"
//   anywhere): kAsset too, so the caller records it as failed with the
//   reason ResolveUri gives; a token is not archived without it.
// Key matching ignores case, '_' and '-' (imageUrl == image_url).
// Object keys that are not identifiers are written $["like this"].
// ResourceExhausted when the document is nested deeper than max_depth or
// yields more than max_assets references.
//
// nlohmann::json iterates object keys in sorted order; pass an ordered_json
// to get references in document order.
absl::StatusOr<std::vector<AssetRef>> WalkAssets(const nlohmann::json& doc,
                                                 const WalkLimits& limits = {});
absl::StatusOr<std::vector<AssetRef>> WalkAssets(
    const nlohmann::ordered_json& doc, const WalkLimits& limits = {});

}  // namespace niftysave::uri
