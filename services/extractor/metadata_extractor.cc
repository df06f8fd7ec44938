#include "services/extractor/metadata_extractor.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/runtime/reason.h"
#include "common/runtime/utf8.h"
#include "nlohmann/json.hpp"

namespace niftysave::extractor {
namespace {

ExtractionFailure Failure(std::string reason, std::string detail,
                          bool temporary = false) {
  return {std::move(reason), std::move(detail), temporary,
          std::nullopt,      std::nullopt,      {}};
}

absl::string_view Av(std::string_view s) { return {s.data(), s.size()}; }

// A document that is itself percent-encoded JSON ("%7B%22name%22...").
bool LooksPercentEncoded(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\n' ||
                           text.front() == '\r' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  return absl::StartsWithIgnoreCase(Av(text), "%7B") ||
         absl::StartsWithIgnoreCase(Av(text), "%5B");
}

// Each invalid byte (and NUL) as U+FFFD, by the one UTF-8 helper; nullopt
// when already valid.
std::optional<std::string> ReplaceInvalidUtf8(std::string_view text) {
  const absl::string_view view(text.data(), text.size());
  if (IsValidUtf8(view)) return std::nullopt;
  return ValidUtf8(view);
}

nlohmann::ordered_json ParseStrict(std::string_view text) {
  return nlohmann::ordered_json::parse(text, nullptr,
                                       /*allow_exceptions=*/false,
                                       /*ignore_comments=*/true);
}

}  // namespace

std::string StripTrailingCommas(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      out.push_back(c);
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == ',') {
      size_t j = i + 1;
      while (j < text.size() && (text[j] == ' ' || text[j] == '\n' ||
                                 text[j] == '\r' || text[j] == '\t')) {
        ++j;
      }
      if (j < text.size() && (text[j] == '}' || text[j] == ']')) continue;
    }
    out.push_back(c);
  }
  return out;
}

nlohmann::ordered_json ParseMetadataLeniently(
    std::string_view text, std::vector<std::string>* leniency) {
  nlohmann::ordered_json doc = ParseStrict(text);
  if (!doc.is_discarded()) return doc;
  // Each fix-up applies on top of the previous ones, and only when a strict
  // parse of what we have so far failed.
  std::string fixed(text);
  if (LooksPercentEncoded(fixed)) {
    fixed = uri::PercentDecodeLenient(fixed);
    if (fixed.size() >= 3 && fixed.compare(0, 3, "\xef\xbb\xbf") == 0) {
      fixed.erase(0, 3);
    }
    leniency->push_back("percent_decoded");
    doc = ParseStrict(fixed);
    if (!doc.is_discarded()) return doc;
  }
  if (std::optional<std::string> valid = ReplaceInvalidUtf8(fixed)) {
    fixed = *std::move(valid);
    leniency->push_back("utf8_replaced");
    doc = ParseStrict(fixed);
    if (!doc.is_discarded()) return doc;
  }
  std::string stripped = StripTrailingCommas(fixed);
  if (stripped.size() != fixed.size()) {
    leniency->push_back("trailing_commas");
    doc = ParseStrict(stripped);
  }
  return doc;
}

size_t JsonNestingDepth(std::string_view text) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
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
    // Comments are skipped as the parser skips them (ignore_comments): a
    // quote inside one must not hide the brackets after it.
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      const size_t end = text.find_first_of("\n\r", i + 2);
      if (end == std::string_view::npos) break;
      i = end;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const size_t end = text.find("*/", i + 2);
      if (end == std::string_view::npos) break;
      i = end + 1;
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

std::variant<MetadataFetchPlan, ExtractionFailure> PlanMetadataFetch(
    const std::string& token_uri, const std::string& token_id) {
  MetadataFetchPlan plan;
  const bool templated = absl::StrContains(token_uri, "{id}");
  plan.first = uri::ResolveUri(
      templated ? uri::SubstituteErc1155Id(token_uri, token_id) : token_uri);
  if (plan.first.kind == uri::UriKind::kInvalid) {
    return Failure("uri_invalid", plan.first.detail);
  }
  if (templated) {
    plan.id_form = "hex";
    // Many contracts serve decimal ids, against the spec.
    uri::ResolvedUri decimal =
        uri::ResolveUri(uri::SubstituteErc1155IdDecimal(token_uri, token_id));
    if (decimal.kind != uri::UriKind::kInvalid &&
        decimal.normalized != plan.first.normalized) {
      plan.decimal = std::move(decimal);
    }
  }
  return plan;
}

std::variant<Extraction, ExtractionFailure> MetadataExtractor::Extract(
    const std::string& token_uri, const std::string& token_id) const {
  auto planned = PlanMetadataFetch(token_uri, token_id);
  if (auto* failure = std::get_if<ExtractionFailure>(&planned)) {
    return std::move(*failure);
  }
  MetadataFetchPlan& plan = std::get<MetadataFetchPlan>(planned);
  absl::StatusOr<fetch::FetchedContent> content = fetcher_.Fetch(plan.first);
  if (plan.decimal && content.status().code() == absl::StatusCode::kNotFound) {
    absl::StatusOr<fetch::FetchedContent> retry = fetcher_.Fetch(*plan.decimal);
    if (retry.ok()) {
      return ExtractFetched(token_uri, token_id, std::move(*plan.decimal),
                            "decimal", std::move(retry), limits_);
    }
  }
  return ExtractFetched(token_uri, token_id, std::move(plan.first),
                        plan.id_form, std::move(content), limits_);
}

std::variant<Extraction, ExtractionFailure> ExtractFetched(
    const std::string& token_uri, const std::string& token_id,
    uri::ResolvedUri metadata_uri, std::string id_form,
    absl::StatusOr<fetch::FetchedContent> content,
    const ExtractorLimits& limits_) {
  Extraction out;
  out.token_uri = token_uri;
  out.metadata_uri = std::move(metadata_uri);
  out.id_form = std::move(id_form);
  if (!content.ok()) {
    ExtractionFailure f = Failure(ReasonOf(content.status()),
                                  std::string(content.status().message()),
                                  http::IsTemporary(content.status()));
    f.metadata_uri = out.metadata_uri;
    f.retry_after = RetryAfterOf(content.status());
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
  auto too_deep = [&] {
    return fail("too_deep", absl::StrCat("JSON nested deeper than ",
                                         limits_.max_json_depth));
  };
  if (JsonNestingDepth(text) > limits_.max_json_depth) return too_deep();
  // ordered_json keeps document order, so assets come out in it.
  nlohmann::ordered_json doc = ParseStrict(text);
  if (doc.is_discarded() && LooksPercentEncoded(text) &&
      JsonNestingDepth(uri::PercentDecodeLenient(text)) >
          limits_.max_json_depth) {
    return too_deep();  // the depth cap holds for encoded documents too
  }
  if (doc.is_discarded()) doc = ParseMetadataLeniently(text, &out.leniency);
  if (doc.is_discarded()) {
    if (LooksLikeMedia(out.content.bytes, out.content.content_type)) {
      out.leniency.clear();
      return out;  // the token URI names the asset itself
    }
    return fail("not_json",
                absl::StrCat("token URI content (", out.content.content_type,
                             ") is neither JSON nor media"));
  }
  // The walker checks the depth of the parsed document itself before it
  // recurses, so it runs before anything else that recurses (dump): the
  // text check above is a fast path, not the only guard.
  absl::StatusOr<std::vector<uri::AssetRef>> refs = uri::WalkAssets(
      doc,
      {.max_depth = limits_.max_json_depth, .max_assets = limits_.max_assets});
  if (!refs.ok()) {
    const bool deep =
        absl::StrContains(refs.status().message(), "nested deeper");
    return fail(deep ? "too_deep" : "too_many_assets",
                std::string(refs.status().message()));
  }
  // jsonb refuses \u0000 in strings; keep the original bytes, skip the doc.
  std::string dumped = doc.dump(
      -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (!absl::StrContains(dumped, "\\u0000")) out.doc_json = std::move(dumped);
  for (uri::AssetRef& ref : *refs) {
    if (ref.role == uri::AssetRole::kAsset) {
      // ERC-1155: "{id}" in any JSON value is the token id too, in the form
      // the token URI itself was found with.
      uri::ResolvedUri resolved = uri::ResolveUri(
          !absl::StrContains(ref.uri, "{id}") ? ref.uri
          : out.id_form == "decimal"
              ? uri::SubstituteErc1155IdDecimal(ref.uri, token_id)
              : uri::SubstituteErc1155Id(ref.uri, token_id));
      // One that does not resolve is kept: it is recorded as a failed
      // resource with its reason, so the token is never called archived
      // without it.
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
