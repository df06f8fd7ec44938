#include "common/fetch/async_fetcher.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/fetch/ipns_resolver.h"
#include "common/runtime/reason.h"

namespace niftysave::fetch {

struct AsyncFetcher::GatewayAttempt {
  std::string path;
  std::string cid;
  bool verifiable = false;
  size_t next = 0;
  GatewayFailures failures;
  Callback done;
  AdmitBody admit_body;
};

AsyncFetcher::AsyncFetcher(http::MultiClient& user_http,
                           http::MultiClient& gateway_http,
                           FetcherOptions options)
    : user_http_(user_http),
      gateway_http_(gateway_http),
      options_(std::move(options)) {}

void AsyncFetcher::Get(http::MultiClient& http, const std::string& url,
                       Callback done, AdmitBody admit_body) const {
  http::HttpLimits limits = http.options().http.limits;
  limits.max_body_bytes = options_.max_bytes;
  http.Fetch(
      http::HttpRequest{
          .url = url, .limits = limits, .admit_body = std::move(admit_body)},
      [done = std::move(done)](absl::StatusOr<http::HttpResponse> response) {
        if (!response.ok()) return done(response.status());
        done(FetchedContent{std::move(response->body),
                            std::move(response->content_type),
                            std::move(response->effective_url)});
      });
}

void AsyncFetcher::TryGateway(std::shared_ptr<GatewayAttempt> attempt) const {
  if (attempt->next >= options_.ipfs_gateways.size()) {
    return attempt->done(attempt->failures.Verdict(attempt->path));
  }
  const std::string& gateway = options_.ipfs_gateways[attempt->next++];
  Get(
      gateway_http_, gateway + attempt->path,
      [this, attempt, gateway](absl::StatusOr<FetchedContent> content) {
        if (content.ok() && attempt->verifiable) {
          absl::StatusOr<CidVerification> checked = CheckGatewayAnswer(
              attempt->cid, content->bytes, nullptr, options_.metrics);
          if (checked.ok()) {
            content->verification = *checked;
            content->verified = *checked == CidVerification::kVerified;
          } else {
            content = checked.status();  // a lying gateway: try the next
          }
        }
        if (content.ok()) return attempt->done(std::move(content));
        // A verdict on the size holds on every gateway.
        if (EndsFailover(content.status())) {
          return attempt->done(content.status());
        }
        attempt->failures.Add(gateway, content.status());
        TryGateway(attempt);
      },
      attempt->admit_body);
}

void AsyncFetcher::Fetch(const uri::ResolvedUri& uri, Callback done,
                         AdmitBody admit_body) const {
  auto from_gateways = [&](std::string path, std::string cid, bool verifiable) {
    if (options_.ipfs_gateways.empty()) {
      return done(ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                                  "no_gateway", "no IPFS gateway configured"));
    }
    auto attempt = std::make_shared<GatewayAttempt>();
    attempt->path = std::move(path);
    attempt->cid = std::move(cid);
    attempt->verifiable = verifiable;
    attempt->done = std::move(done);
    attempt->admit_body = std::move(admit_body);
    TryGateway(std::move(attempt));
  };
  switch (uri.kind) {
    case uri::UriKind::kData: {
      absl::StatusOr<uri::DataUri> data =
          uri::DecodeDataUri(uri.normalized, options_.max_bytes);
      if (!data.ok()) {
        const bool big =
            data.status().code() == absl::StatusCode::kResourceExhausted;
        return done(
            WithReason(data.status(), big ? "too_large" : "uri_invalid"));
      }
      return done(
          FetchedContent{std::move(data->bytes), data->media_type, "data:"});
    }
    case uri::UriKind::kIpfs:
      // A path names a file inside a directory DAG: only a bare CID's bytes
      // can be checked against it.
      return from_gateways(absl::StrCat("/ipfs/", uri.cid, uri.path), uri.cid,
                           uri.path.empty());
    case uri::UriKind::kIpns: {
      if (options_.ipfs_api_url.empty()) {
        return from_gateways(absl::StrCat("/ipns/", uri.name, uri.path), "",
                             false);
      }
      http::HttpRequest resolve = NameResolveRequest(
          options_.ipfs_api_url, uri.name, gateway_http_.options().http.limits);
      return gateway_http_.Do(
          std::move(resolve),
          [this, uri, done = std::move(done),
           admit_body = std::move(admit_body)](
              absl::StatusOr<http::HttpResponse> answer) mutable {
            absl::StatusOr<uri::ResolvedUri> target =
                ParseNameResolve(answer, uri);
            if (!target.ok()) return done(target.status());
            std::string cid = target->cid;
            Fetch(
                *target,
                [cid = std::move(cid), done = std::move(done)](
                    absl::StatusOr<FetchedContent> content) {
                  if (content.ok()) content->resolved_cid = cid;
                  done(std::move(content));
                },
                std::move(admit_body));
          });
    }
    case uri::UriKind::kArweave:
      return Get(
          gateway_http_,
          absl::StrCat(options_.arweave_gateway, "/", uri.name, uri.path),
          std::move(done), std::move(admit_body));
    case uri::UriKind::kHttp:
      return Get(user_http_, uri.normalized, std::move(done),
                 std::move(admit_body));
    case uri::UriKind::kInvalid:
      break;
  }
  done(ErrorWithReason(absl::StatusCode::kInvalidArgument, "uri_invalid",
                       uri.detail.empty() ? "invalid URI" : uri.detail));
}

}  // namespace niftysave::fetch
