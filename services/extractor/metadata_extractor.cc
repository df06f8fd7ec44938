#include "services/extractor/metadata_extractor.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/runtime/reason.h"
#include "nlohmann/json.hpp"

namespace niftysave::extractor {
namespace {

ExtractionFailure Failure(std::string reason, std::string detail,
                          bool temporary = false) {
  return {std::move(reason), std::move(detail), temporary, std::nullopt};
}

}  // namespace

size_t JsonNestingDepth(std::string_view text) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

bool LooksLikeMedia(std::string_view bytes, std::string_view content_type) {
  for (const char* prefix : {"image/", "video/", "audio/", "model/", "font/"}) {
    if (absl::StartsWithIgnoreCase(
            absl::string_view(content_type.data(), content_type.size()),
            prefix)) {
      return true;
    }
  }
  auto starts = [&](std::string_view magic) {
    return bytes.substr(0, magic.size()) == magic;
  };
  return starts("\x89PNG\r\n\x1a\n") || starts("GIF87a") || starts("GIF89a") ||
         starts("\xff\xd8\xff") ||
         (starts("RIFF") && bytes.substr(8, 4) == "WEBP") || starts("<svg") ||
         starts("<?xml") || bytes.substr(4, 4) == "ftyp";
}

MetadataExtractor::MetadataExtractor(const fetch::ContentFetcher& fetcher,
                                     ExtractorLimits limits)
    : fetcher_(fetcher), limits_(limits) {}

std::variant<Extraction, ExtractionFailure> MetadataExtractor::Extract(
    const std::string& token_uri, const std::string& token_id) const {
  std::string expanded = token_uri;
  if (absl::StrContains(token_uri, "{id}")) {
    expanded = uri::SubstituteErc1155Id(token_uri, token_id);
  }
  Extraction out;
  out.token_uri = token_uri;
  out.metadata_uri = uri::ResolveUri(expanded);
  if (out.metadata_uri.kind == uri::UriKind::kInvalid) {
    return Failure("uri_invalid", out.metadata_uri.detail);
  }
  absl::StatusOr<fetch::FetchedContent> content =
      fetcher_.Fetch(out.metadata_uri);
  if (!content.ok()) {
    ExtractionFailure f = Failure(ReasonOf(content.status()),
                                  std::string(content.status().message()),
                                  http::IsTemporary(content.status()));
    f.metadata_uri = out.metadata_uri;
    return f;
  }
  out.content = std::move(*content);

  std::string_view text = out.content.bytes;
  if (absl::StartsWith(absl::string_view(text.data(), text.size()),
                       "\xef\xbb\xbf")) {
    text.remove_prefix(3);  // UTF-8 BOM
  }
  auto fail = [&](std::string reason, std::string detail) {
    ExtractionFailure f = Failure(std::move(reason), std::move(detail));
    f.metadata_uri = out.metadata_uri;
    return f;
  };
  if (JsonNestingDepth(text) > limits_.max_json_depth) {
    return fail("too_deep", absl::StrCat("JSON nested deeper than ",
                                         limits_.max_json_depth));
  }
  // ordered_json keeps document order, so assets come out in it.
  nlohmann::ordered_json doc =
      nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false,
                                    /*ignore_comments=*/true);
  if (doc.is_discarded()) {
    if (LooksLikeMedia(out.content.bytes, out.content.content_type)) {
      return out;  // the token URI names the asset itself
    }
    return fail("not_json",
                absl::StrCat("token URI content (", out.content.content_type,
                             ") is neither JSON nor media"));
  }
  // jsonb refuses \u0000 in strings; keep the original bytes, skip the doc.
  std::string dumped = doc.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (!absl::StrContains(dumped, "\\u0000")) out.doc_json = std::move(dumped);

  absl::StatusOr<std::vector<uri::AssetRef>> refs = uri::WalkAssets(
      doc,
      {.max_depth = limits_.max_json_depth, .max_assets = limits_.max_assets});
  if (!refs.ok())
    return fail("too_many_assets", std::string(refs.status().message()));
  for (uri::AssetRef& ref : *refs) {
    if (ref.role == uri::AssetRole::kAsset) {
      uri::ResolvedUri resolved = uri::ResolveUri(ref.uri);
      if (resolved.kind == uri::UriKind::kInvalid) continue;
      out.assets.push_back(
          {std::move(ref.json_path), std::move(ref.uri), std::move(resolved)});
    } else {
      out.links.push_back(
          {std::move(ref.json_path),
           ref.role == uri::AssetRole::kLink ? "link" : "inline",
           std::move(ref.uri)});
    }
  }
  return out;
}

}  // namespace niftysave::extractor
