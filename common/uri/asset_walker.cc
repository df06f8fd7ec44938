#include "common/uri/asset_walker.h"

#include <exception>
#include <optional>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/uri/token_uri.h"
#include "nlohmann/json.hpp"

namespace niftysave::uri {
namespace {

// Keys compared after lower-casing and dropping '_' and '-'.
std::string KeyClass(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '_' || c == '-') continue;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsLinkKey(std::string_view k) {
  return k == "externalurl" || k == "externallink" || k == "youtubeurl";
}

// Keys whose string values are meant to be fetched, even when a sloppy
// writer left a space in the URL.
bool IsKnownAssetKey(std::string_view k) {
  static const std::unordered_set<std::string_view> kKeys = {
      "image",        "imageurl",     "imageuri",   "animation",
      "animationurl", "animationuri", "uri",        "url",
      "src",          "file",         "fileurl",    "video",
      "audio",        "media",        "mediaurl",   "thumbnail",
      "thumbnailurl", "thumbnailuri", "contenturi", "contenturl",
  };
  return kKeys.contains(k);
}

bool HasInnerSpace(std::string_view s) {
  for (char c : s) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

bool IsIdentifier(std::string_view key) {
  if (key.empty()) return false;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(key[0])) &&
      key[0] != '_') {
    return false;
  }
  for (char c : key) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s[0]))) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// A string that does not resolve but is still meant as a reference: one word
// under a well-known asset key ("/img/1.png", "QmTooShort", "javascript:x"),
// or anywhere a "<scheme>://" or "data:" that failed (unknown scheme, bad
// CID, too long). It is reported as an asset so that it is recorded as failed
// with its reason: a token is not archived while part of it is not.
bool LooksLikeReference(std::string_view key_class, std::string_view value) {
  const std::string_view v = TrimSpace(value);
  if (v.empty() || HasInnerSpace(v)) return false;
  if (IsKnownAssetKey(key_class)) return true;
  const std::optional<std::string> scheme = SchemeOf(v);
  if (!scheme) return false;
  return *scheme == "data" || v.substr(scheme->size() + 1).starts_with("//");
}

template <typename Json>
class Walker {
 public:
  explicit Walker(const WalkLimits& limits) : limits_(limits) {}

  absl::Status Visit(const Json& node, std::string& path, std::string_view key,
                     size_t depth) {
    if (node.is_object() || node.is_array()) {
      if (depth + 1 > limits_.max_depth) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "metadata nested deeper than ", limits_.max_depth, " at ", path));
      }
      const size_t mark = path.size();
      if (node.is_object()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
          const std::string& child_key = it.key();
          AppendKey(path, child_key);
          if (absl::Status s = Visit(it.value(), path, child_key, depth + 1);
              !s.ok()) {
            return s;
          }
          path.resize(mark);
        }
      } else {
        // Array elements take their role from the array's own key.
        size_t index = 0;
        for (const Json& element : node) {
          absl::StrAppend(&path, "[", index++, "]");
          if (absl::Status s = Visit(element, path, key, depth + 1); !s.ok()) {
            return s;
          }
          path.resize(mark);
        }
      }
      return absl::OkStatus();
    }
    if (node.is_string()) {
      return VisitString(node.template get_ref<const std::string&>(), path,
                         key);
    }
    return absl::OkStatus();
  }

  std::vector<AssetRef> Take() { return std::move(refs_); }

 private:
  static void AppendKey(std::string& path, const std::string& key) {
    if (IsIdentifier(key)) {
      absl::StrAppend(&path, ".", key);
    } else {
      absl::StrAppend(
          &path, "[",
          Json(key).dump(-1, ' ', false, Json::error_handler_t::replace), "]");
    }
  }

  absl::Status VisitString(const std::string& value, const std::string& path,
                           std::string_view key) {
    const std::string key_class = KeyClass(key);
    const UriKind kind = ResolveUri(value).kind;
    std::optional<AssetRole> role;
    if (key_class == "imagedata") {
      if (kind != UriKind::kInvalid) {
        role = AssetRole::kAsset;
      } else if (!TrimSpace(value).empty()) {
        role = AssetRole::kInline;
      }
    } else if (IsLinkKey(key_class)) {
      if (kind != UriKind::kInvalid) role = AssetRole::kLink;
    } else if (kind != UriKind::kInvalid) {
      const bool prose = kind != UriKind::kData &&
                         !IsKnownAssetKey(key_class) &&
                         HasInnerSpace(TrimSpace(value));
      if (!prose) role = AssetRole::kAsset;
    } else if (LooksLikeReference(key_class, value)) {
      role = AssetRole::kAsset;
    }
    if (!role.has_value()) return absl::OkStatus();
    if (!seen_paths_.insert(path).second) return absl::OkStatus();
    if (refs_.size() >= limits_.max_assets) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "metadata links more than ", limits_.max_assets, " assets"));
    }
    refs_.push_back(AssetRef{path, value, *role});
    return absl::OkStatus();
  }

  const WalkLimits& limits_;
  std::vector<AssetRef> refs_;
  std::unordered_set<std::string> seen_paths_;
};

template <typename Json>
absl::StatusOr<std::vector<AssetRef>> WalkAny(const Json& doc,
                                              const WalkLimits& limits) {
  try {
    Walker<Json> walker(limits);
    std::string path = "$";
    if (absl::Status s = walker.Visit(doc, path, "", 0); !s.ok()) return s;
    return walker.Take();
  } catch (const std::exception& e) {
    // Nothing above should throw; keep the no-exceptions boundary anyway.
    return absl::InternalError(absl::StrCat("asset walker: ", e.what()));
  }
}

}  // namespace

std::string_view AssetRoleName(AssetRole role) {
  switch (role) {
    case AssetRole::kAsset:
      return "asset";
    case AssetRole::kInline:
      return "inline";
    case AssetRole::kLink:
      return "link";
  }
  return "asset";
}

absl::StatusOr<std::vector<AssetRef>> WalkAssets(const nlohmann::json& doc,
                                                 const WalkLimits& limits) {
  return WalkAny(doc, limits);
}

absl::StatusOr<std::vector<AssetRef>> WalkAssets(
    const nlohmann::ordered_json& doc, const WalkLimits& limits) {
  return WalkAny(doc, limits);
}

}  // namespace niftysave::uri
