#include "common/fetch/content_fetcher.h"

#include "absl/strings/str_cat.h"
#include "common/runtime/reason.h"

namespace niftysave::fetch {

ContentFetcher::ContentFetcher(const http::HttpClient& user_http,
                               const http::HttpClient& gateway_http,
                               FetcherOptions options)
    : user_http_(user_http),
      gateway_http_(gateway_http),
      options_(std::move(options)) {}

absl::StatusOr<FetchedContent> ContentFetcher::Get(
    const http::HttpClient& http, const std::string& url) const {
  http::HttpLimits limits = http.options().limits;
  limits.max_body_bytes = options_.max_bytes;
  http::HttpRequest request{.url = url, .limits = limits};
  absl::StatusOr<http::HttpResponse> response = http.Fetch(request);
  if (!response.ok()) return response.status();
  return FetchedContent{std::move(response->body), response->content_type,
                        response->effective_url};
}

absl::StatusOr<FetchedContent> ContentFetcher::FromGateways(
    const std::string& path) const {
  if (options_.ipfs_gateways.empty()) {
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition, "no_gateway",
                           "no IPFS gateway configured");
  }
  absl::Status last;
  for (const std::string& gateway : options_.ipfs_gateways) {
    absl::StatusOr<FetchedContent> content = Get(gateway_http_, gateway + path);
    if (content.ok()) return content;
    last = content.status();
    // Too large or a verdict on the content itself is the same everywhere.
    if (ReasonOf(last) == "too_large") return last;
  }
  return last;
}

absl::StatusOr<FetchedContent> ContentFetcher::Fetch(
    const uri::ResolvedUri& uri) const {
  switch (uri.kind) {
    case uri::UriKind::kData: {
      absl::StatusOr<uri::DataUri> data =
          uri::DecodeDataUri(uri.normalized, options_.max_bytes);
      if (!data.ok()) {
        if (data.status().code() == absl::StatusCode::kResourceExhausted) {
          return WithReason(data.status(), "too_large");
        }
        return WithReason(data.status(), "uri_invalid");
      }
      return FetchedContent{std::move(data->bytes), data->media_type, "data:"};
    }
    case uri::UriKind::kIpfs:
      return FromGateways(absl::StrCat("/ipfs/", uri.cid, uri.path));
    case uri::UriKind::kIpns:
      return FromGateways(absl::StrCat("/ipns/", uri.name, uri.path));
    case uri::UriKind::kArweave:
      return Get(gateway_http_, absl::StrCat(options_.arweave_gateway, "/",
                                             uri.name, uri.path));
    case uri::UriKind::kHttp:
      return Get(user_http_, uri.normalized);
    case uri::UriKind::kInvalid:
      break;
  }
  return ErrorWithReason(absl::StatusCode::kInvalidArgument, "uri_invalid",
                         uri.detail.empty() ? "invalid URI" : uri.detail);
}

}  // namespace niftysave::fetch
