#include "common/fetch/ipns_resolver.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/runtime/reason.h"
#include "nlohmann/json.hpp"

namespace niftysave::fetch {
namespace {

std::string QueryEscape(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, absl::StrFormat("%%%02X", c));
    }
  }
  return out;
}

absl::Status Invalid(const std::string& name, const std::string& why) {
  return ErrorWithReason(absl::StatusCode::kDataLoss, "ipns_invalid",
                         absl::StrCat("name/resolve of ", name, ": ", why));
}

}  // namespace

http::HttpRequest NameResolveRequest(const std::string& api_url,
                                     const std::string& name,
                                     http::HttpLimits limits) {
  limits.max_body_bytes = kMaxNameResolveBytes;
  // The node's API never redirects; one that does is not followed anywhere.
  limits.max_redirects = 0;
  return http::HttpRequest{
      .method = "POST",
      .url = absl::StrCat(api_url, "/api/v0/name/resolve?arg=",
                          QueryEscape(name), "&recursive=true"),
      .limits = limits};
}

absl::StatusOr<uri::ResolvedUri> ParseNameResolve(
    const absl::StatusOr<http::HttpResponse>& answer,
    const uri::ResolvedUri& ipns) {
  const std::string& name = ipns.name;
  if (!answer.ok()) {
    if (ReasonOf(answer.status()) == "too_large") {
      return Invalid(name, "answer over 64 KiB");
    }
    return ErrorWithReason(
        absl::StatusCode::kUnavailable, "ipns_api_unavailable",
        absl::StrCat("name/resolve of ", name, ": ", ReasonOf(answer.status()),
                     " (", answer.status().message(), ")"));
  }
  const nlohmann::json body =
      nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
  if (answer->status != 200) {
    // kubo's errors: {"Message": "...", "Code": 0, "Type": "error"}.
    std::string message;
    if (body.is_object() && body.contains("Message") &&
        body["Message"].is_string()) {
      message = body["Message"].get<std::string>().substr(0, 300);
    }
    const std::string detail = absl::StrCat("name/resolve of ", name, ": HTTP ",
                                            answer->status, " ", message);
    const std::string lower = absl::AsciiStrToLower(message);
    if (absl::StrContains(lower, "could not resolve") ||
        absl::StrContains(lower, "not found") ||
        absl::StrContains(lower, "no record")) {
      return ErrorWithReason(absl::StatusCode::kNotFound, "ipns_unresolved",
                             detail);
    }
    return ErrorWithReason(absl::StatusCode::kUnavailable,
                           "ipns_api_unavailable", detail);
  }
  if (!body.is_object() || !body.contains("Path") ||
      !body["Path"].is_string()) {
    return Invalid(name, "the answer has no \"Path\" string");
  }
  const std::string path = body["Path"].get<std::string>();
  if (path.size() > kMaxResolvedPathBytes) {
    return Invalid(name, "the resolved path is over 4096 bytes");
  }
  if (!absl::StartsWith(path, "/ipfs/")) {
    return Invalid(name,
                   absl::StrCat("not an /ipfs/ path: ", path.substr(0, 200)));
  }
  uri::ResolvedUri target = uri::ResolveUri(path + ipns.path);
  if (target.kind != uri::UriKind::kIpfs) {
    return Invalid(name,
                   absl::StrCat("not an /ipfs/ path: ", path.substr(0, 200)));
  }
  return target;
}

}  // namespace niftysave::fetch
