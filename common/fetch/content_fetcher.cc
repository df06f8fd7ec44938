#include "common/fetch/content_fetcher.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/fetch/gateway_verdict.h"
#include "common/fetch/ipns_resolver.h"
#include "common/ipfs/car.h"
#include "common/runtime/reason.h"

namespace niftysave::fetch {

ContentFetcher::ContentFetcher(const http::HttpClient& user_http,
                               const http::HttpClient& gateway_http,
                               FetcherOptions options)
    : user_http_(user_http),
      gateway_http_(gateway_http),
      options_(std::move(options)) {}

absl::StatusOr<FetchedContent> ContentFetcher::Get(
    const http::HttpClient& http, const std::string& url,
    const FileTarget& file) const {
  http::HttpLimits limits = http.options().limits;
  limits.max_body_bytes = options_.max_bytes;
  http::HttpRequest request{.url = url, .limits = limits};
  if (file.path != nullptr) {
    request.response_file = *file.path;
    request.response_memory_bytes = file.memory_bytes;
  }
  absl::StatusOr<http::HttpResponse> response = http.Fetch(request);
  if (!response.ok()) return response.status();
  FetchedContent content{std::move(response->body), response->content_type,
                         response->effective_url};
  content.in_file = response->body_in_file;
  return content;
}

absl::StatusOr<FetchedContent> ContentFetcher::FromGateways(
    const std::string& path, const std::string& cid, bool verifiable,
    const FileTarget& file) const {
  if (options_.ipfs_gateways.empty()) {
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition, "no_gateway",
                           "no IPFS gateway configured");
  }
  GatewayFailures failures;
  for (const std::string& gateway : options_.ipfs_gateways) {
    absl::StatusOr<FetchedContent> content =
        Get(gateway_http_, gateway + path, file);
    if (content.ok() && verifiable) {
      absl::StatusOr<CidVerification> checked = CheckGatewayAnswer(
          cid, content->bytes, content->in_file ? file.path : nullptr,
          options_.metrics);
      if (checked.ok()) {
        content->verification = *checked;
        content->verified = *checked == CidVerification::kVerified;
      } else {
        content = checked.status();  // a lying gateway: try the next
      }
    }
    if (content.ok()) return content;
    if (file.path != nullptr) {
      std::error_code ignored;
      std::filesystem::remove(*file.path, ignored);
    }
    // A verdict on the size holds on every gateway; a local write failure
    // is ours, not theirs.
    if (EndsFailover(content.status())) return content.status();
    failures.Add(gateway, content.status());
  }
  return failures.Verdict(path);
}

absl::StatusOr<std::string> ContentFetcher::FetchBlock(
    const uri::Cid& cid) const {
  const std::string text = cid.ToString();
  http::HttpLimits limits = gateway_http_.options().limits;
  limits.max_body_bytes = kMaxBlockBytes;
  // One source's answer: the block when it hashes to the CID.
  auto answer = [&](const http::HttpRequest& request,
                    bool raw_type) -> absl::StatusOr<std::string> {
    absl::StatusOr<http::HttpResponse> response = gateway_http_.Fetch(request);
    if (!response.ok()) return response.status();
    if (raw_type && !absl::StartsWithIgnoreCase(response->content_type,
                                                "application/vnd.ipld.raw")) {
      return ErrorWithReason(
          absl::StatusCode::kUnavailable, "gateway_unavailable",
          absl::StrCat("not a trustless gateway: ?format=raw answered ",
                       response->content_type.empty()
                           ? "without a Content-Type"
                           : response->content_type));
    }
    if (!ipfs::VerifyBlock(cid, response->body).ok()) {
      return ErrorWithReason(
          absl::StatusCode::kDataLoss, "cid_mismatch",
          absl::StrCat("the block served for ", text, " does not hash to it"));
    }
    return std::move(response->body);
  };
  GatewayFailures failures;
  if (!options_.ipfs_api_url.empty()) {
    http::HttpLimits api_limits = limits;
    api_limits.max_redirects = 0;  // the node's API never redirects
    // Without a timeout js-ipfs and kubo wait for ever for a block nobody
    // has; the node's own timeout ends it first with an answer.
    const int64_t seconds =
        std::max<int64_t>(1, absl::ToInt64Seconds(limits.total_timeout) - 1);
    absl::StatusOr<std::string> block = answer(
        {.method = "POST",
         .url = absl::StrCat(options_.ipfs_api_url, "/api/v0/block/get?arg=",
                             text, "&timeout=", seconds, "s"),
         .limits = api_limits},
        false);
    if (block.ok() || EndsFailover(block.status())) return block;
    failures.Add(options_.ipfs_api_url, block.status());
  }
  for (const std::string& gateway : options_.ipfs_gateways) {
    absl::StatusOr<std::string> block =
        answer({.url = absl::StrCat(gateway, "/ipfs/", text, "?format=raw"),
                .headers = {"Accept: application/vnd.ipld.raw"},
                .limits = limits},
               true);
    if (block.ok() || EndsFailover(block.status())) return block;
    failures.Add(gateway, block.status());
  }
  if (!CanFetchBlocks()) {
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition, "no_gateway",
                           "no IPFS gateway or node API configured");
  }
  return failures.Verdict(absl::StrCat("the block ", text));
}

absl::StatusOr<FetchedContent> ContentFetcher::Fetch(
    const uri::ResolvedUri& uri) const {
  return Dispatch(uri, FileTarget{});
}

absl::StatusOr<FetchedFile> ContentFetcher::FetchToFile(
    const uri::ResolvedUri& uri, const std::string& path,
    size_t memory_bytes) const {
  absl::StatusOr<FetchedContent> content =
      Dispatch(uri, FileTarget{.path = &path, .memory_bytes = memory_bytes});
  std::error_code ec;
  if (!content.ok()) {
    std::filesystem::remove(path, ec);
    return content.status();
  }
  if (!content->in_file && memory_bytes > 0 &&
      content->bytes.size() <= memory_bytes) {
    // Small enough to keep (an HTTP body within the allowance, or inline).
    FetchedFile kept{.size = content->bytes.size(),
                     .content_type = std::move(content->content_type),
                     .source = std::move(content->source),
                     .verified = content->verified,
                     .verification = content->verification,
                     .resolved_cid = std::move(content->resolved_cid)};
    kept.bytes = std::move(content->bytes);
    return kept;
  }
  if (!content->in_file) {
    // Inline content is already in memory (bounded by max_bytes): write it.
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content->bytes.data(),
              static_cast<std::streamsize>(content->bytes.size()));
    out.close();
    if (!out) {
      std::filesystem::remove(path, ec);
      return ErrorWithReason(absl::StatusCode::kUnavailable, "write_failed",
                             absl::StrCat("cannot write ", path));
    }
  }
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    std::filesystem::remove(path, ec);
    return ErrorWithReason(absl::StatusCode::kUnavailable, "write_failed",
                           absl::StrCat("cannot stat ", path));
  }
  return FetchedFile{.path = path,
                     .size = static_cast<uint64_t>(size),
                     .content_type = std::move(content->content_type),
                     .source = std::move(content->source),
                     .verified = content->verified,
                     .verification = content->verification,
                     .resolved_cid = std::move(content->resolved_cid)};
}

absl::StatusOr<FetchedContent> ContentFetcher::Dispatch(
    const uri::ResolvedUri& uri, const FileTarget& file) const {
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
      // A path names a file inside a directory DAG: the bytes are not the
      // CID's own, so only a bare CID can be checked.
      return FromGateways(absl::StrCat("/ipfs/", uri.cid, uri.path), uri.cid,
                          uri.path.empty(), file);
    case uri::UriKind::kIpns: {
      if (options_.ipfs_api_url.empty()) {
        return FromGateways(absl::StrCat("/ipns/", uri.name, uri.path), "",
                            false, file);
      }
      absl::StatusOr<uri::ResolvedUri> target = ParseNameResolve(
          gateway_http_.Do(NameResolveRequest(options_.ipfs_api_url, uri.name,
                                              gateway_http_.options().limits)),
          uri);
      if (!target.ok()) return target.status();
      absl::StatusOr<FetchedContent> content = Dispatch(*target, file);
      if (content.ok()) content->resolved_cid = target->cid;
      return content;
    }
    case uri::UriKind::kArweave:
      return Get(
          gateway_http_,
          absl::StrCat(options_.arweave_gateway, "/", uri.name, uri.path),
          file);
    case uri::UriKind::kHttp:
      return Get(user_http_, uri.normalized, file);
    case uri::UriKind::kInvalid:
      break;
  }
  return ErrorWithReason(absl::StatusCode::kInvalidArgument, "uri_invalid",
                         uri.detail.empty() ? "invalid URI" : uri.detail);
}

}  // namespace niftysave::fetch
