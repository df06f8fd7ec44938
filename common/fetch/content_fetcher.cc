#include "common/fetch/content_fetcher.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/runtime/reason.h"
#include "common/uri/cid.h"

namespace niftysave::fetch {
namespace {

// How each gateway's failure counts towards the overall verdict.
enum class GatewayVerdict { kGone, kMismatch, kTimeout, kRateLimited, kDown };

GatewayVerdict Classify(const absl::Status& status) {
  const std::string reason = ReasonOf(status);
  if (reason == "cid_mismatch") return GatewayVerdict::kMismatch;
  if (reason == "rate_limited") return GatewayVerdict::kRateLimited;
  if (reason == "timeout" ||
      status.code() == absl::StatusCode::kDeadlineExceeded) {
    return GatewayVerdict::kTimeout;
  }
  // A gateway that gave up looking (504) is as good as a timeout.
  if (reason == "http_5xx" &&
      absl::StrContains(absl::string_view(status.message()), "HTTP 504 ")) {
    return GatewayVerdict::kTimeout;
  }
  if (reason == "http_4xx") return GatewayVerdict::kGone;
  return GatewayVerdict::kDown;
}

std::string Sha2(std::string_view bytes, uint64_t hash_code) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (hash_code == uri::kHashSha2_256) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(data, bytes.size(), digest);
    return std::string(reinterpret_cast<char*>(digest), sizeof digest);
  }
  unsigned char digest[SHA512_DIGEST_LENGTH];
  SHA512(data, bytes.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof digest);
}

}  // namespace

namespace {

// What a CID says its content must hash to: the multihash code and digest.
struct CheckableCid {
  uint64_t hash_code = 0;
  std::string digest;
};

absl::StatusOr<CheckableCid> Checkable(std::string_view cid_text) {
  absl::StatusOr<uri::Cid> cid = uri::ParseCid(cid_text);
  if (!cid.ok()) return cid.status();
  std::string_view mh = cid->multihash;
  absl::StatusOr<uint64_t> code = uri::ReadVarint(mh);
  if (!code.ok()) return code.status();
  absl::StatusOr<uint64_t> length = uri::ReadVarint(mh);
  if (!length.ok()) return length.status();
  // TODO(unixfs): dag-pb CIDs name a UnixFS DAG, not the bytes a gateway
  // returns; verifying them means re-importing the bytes with the chunker
  // and layout that produced the CID. Use UnixfsImporter
  // (common/ipfs/unixfs_importer.h) once common/fetch may depend on it,
  // trying its profiles (kubo v0/v1, ipfs-car) until one matches; until
  // then dag-pb content is fetched unverified (verified = false).
  if (cid->codec != uri::kCodecRaw) {
    return absl::UnimplementedError(absl::StrCat("cannot verify codec 0x",
                                                 absl::Hex(cid->codec),
                                                 " without a UnixFS importer"));
  }
  if (*code != uri::kHashIdentity && *code != uri::kHashSha2_256 &&
      *code != uri::kHashSha2_512) {
    return absl::UnimplementedError(
        absl::StrCat("cannot verify multihash 0x", absl::Hex(*code)));
  }
  return CheckableCid{*code, std::string(mh)};
}

absl::Status Mismatch(uint64_t size, std::string_view cid_text) {
  return ErrorWithReason(
      absl::StatusCode::kDataLoss, "cid_mismatch",
      absl::StrCat(size, " bytes do not hash to ",
                   absl::string_view(cid_text.data(), cid_text.size())));
}

}  // namespace

absl::Status VerifyAgainstCid(std::string_view cid_text,
                              std::string_view bytes) {
  absl::StatusOr<CheckableCid> want = Checkable(cid_text);
  if (!want.ok()) return want.status();
  const std::string actual = want->hash_code == uri::kHashIdentity
                                 ? std::string(bytes)
                                 : Sha2(bytes, want->hash_code);
  if (actual != want->digest) return Mismatch(bytes.size(), cid_text);
  return absl::OkStatus();
}

absl::Status VerifyFileAgainstCid(std::string_view cid_text,
                                  const std::string& path) {
  absl::StatusOr<CheckableCid> want = Checkable(cid_text);
  if (!want.ok()) return want.status();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "read_failed",
                           absl::StrCat("cannot read ", path));
  }
  std::string actual;
  uint64_t size = 0;
  std::string chunk(1 << 20, '\0');
  if (want->hash_code == uri::kHashIdentity) {
    // The digest is the content itself: anything longer cannot match.
    while (in && actual.size() <= want->digest.size()) {
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      actual.append(chunk.data(), static_cast<size_t>(in.gcount()));
    }
    size = actual.size();
  } else {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
        EVP_MD_CTX_new(), EVP_MD_CTX_free);
    const EVP_MD* md =
        want->hash_code == uri::kHashSha2_256 ? EVP_sha256() : EVP_sha512();
    if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
      return absl::InternalError("EVP digest init failed");
    }
    while (in) {
      in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      const size_t got = static_cast<size_t>(in.gcount());
      size += got;
      EVP_DigestUpdate(ctx.get(), chunk.data(), got);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &length);
    actual.assign(reinterpret_cast<char*>(digest), length);
  }
  if (in.bad()) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "read_failed",
                           absl::StrCat("cannot read ", path));
  }
  if (actual != want->digest) return Mismatch(size, cid_text);
  return absl::OkStatus();
}

ContentFetcher::ContentFetcher(const http::HttpClient& user_http,
                               const http::HttpClient& gateway_http,
                               FetcherOptions options)
    : user_http_(user_http),
      gateway_http_(gateway_http),
      options_(std::move(options)) {}

absl::StatusOr<FetchedContent> ContentFetcher::Get(
    const http::HttpClient& http, const std::string& url,
    const std::string* file) const {
  http::HttpLimits limits = http.options().limits;
  limits.max_body_bytes = options_.max_bytes;
  http::HttpRequest request{.url = url, .limits = limits};
  if (file != nullptr) request.response_file = *file;
  absl::StatusOr<http::HttpResponse> response = http.Fetch(request);
  if (!response.ok()) return response.status();
  return FetchedContent{std::move(response->body), response->content_type,
                        response->effective_url};
}

absl::StatusOr<FetchedContent> ContentFetcher::FromGateways(
    const std::string& path, const std::string& cid, bool verifiable,
    const std::string* file) const {
  if (options_.ipfs_gateways.empty()) {
    return ErrorWithReason(absl::StatusCode::kFailedPrecondition, "no_gateway",
                           "no IPFS gateway configured");
  }
  std::vector<std::string> failures;
  int gone = 0, mismatch = 0, timeout = 0, limited = 0, down = 0;
  bool not_found = false;
  std::optional<absl::Duration> retry_after;
  std::error_code ignored;
  for (const std::string& gateway : options_.ipfs_gateways) {
    absl::StatusOr<FetchedContent> content =
        Get(gateway_http_, gateway + path, file);
    if (content.ok() && verifiable) {
      absl::Status verified = file != nullptr
                                  ? VerifyFileAgainstCid(cid, *file)
                                  : VerifyAgainstCid(cid, content->bytes);
      if (verified.ok()) {
        content->verified = true;
        return content;
      }
      if (ReasonOf(verified) == "cid_mismatch") {
        content = verified;  // that gateway lies or is broken: try the next
        if (file != nullptr) std::filesystem::remove(*file, ignored);
      } else {
        return content;  // not checkable after all: accept as fetched
      }
    }
    if (content.ok()) return content;
    const absl::Status& failure = content.status();
    // A verdict on the size holds on every gateway; a local write failure
    // is ours, not theirs.
    if (ReasonOf(failure) == "too_large" ||
        ReasonOf(failure) == "write_failed" ||
        ReasonOf(failure) == "read_failed") {
      if (file != nullptr) std::filesystem::remove(*file, ignored);
      return failure;
    }
    failures.push_back(absl::StrCat(gateway, ": ", ReasonOf(failure), " (",
                                    failure.message(), ")"));
    switch (Classify(failure)) {
      case GatewayVerdict::kGone:
        ++gone;
        not_found |= failure.code() == absl::StatusCode::kNotFound;
        break;
      case GatewayVerdict::kMismatch:
        ++mismatch;
        break;
      case GatewayVerdict::kTimeout:
        ++timeout;
        break;
      case GatewayVerdict::kRateLimited:
        ++limited;
        if (std::optional<absl::Duration> d = RetryAfterOf(failure)) {
          retry_after = retry_after ? std::min(*retry_after, *d) : *d;
        }
        break;
      case GatewayVerdict::kDown:
        ++down;
        break;
    }
  }
  const std::string detail =
      absl::StrCat("every IPFS gateway failed for ", path, ": ",
                   absl::StrJoin(failures, "; "));
  if (timeout + limited + down == 0) {
    if (gone == 0) {
      return ErrorWithReason(absl::StatusCode::kDataLoss, "cid_mismatch",
                             detail);
    }
    return ErrorWithReason(not_found ? absl::StatusCode::kNotFound
                                     : absl::StatusCode::kFailedPrecondition,
                           "http_4xx", detail);
  }
  if (timeout > 0) {
    return ErrorWithReason(absl::StatusCode::kDeadlineExceeded,
                           "gateway_timeout", detail);
  }
  if (down == 0) {
    absl::Status s =
        ErrorWithReason(absl::StatusCode::kUnavailable, "rate_limited", detail);
    return retry_after ? WithRetryAfter(s, *retry_after) : s;
  }
  absl::Status s = ErrorWithReason(absl::StatusCode::kUnavailable,
                                   "gateway_unavailable", detail);
  // A rate-limited gateway that works again after its delay is still the
  // best bet among broken ones.
  return retry_after ? WithRetryAfter(s, *retry_after) : s;
}

absl::StatusOr<FetchedContent> ContentFetcher::Fetch(
    const uri::ResolvedUri& uri) const {
  return Dispatch(uri, nullptr);
}

absl::StatusOr<FetchedFile> ContentFetcher::FetchToFile(
    const uri::ResolvedUri& uri, const std::string& path) const {
  absl::StatusOr<FetchedContent> content = Dispatch(uri, &path);
  std::error_code ec;
  if (!content.ok()) {
    std::filesystem::remove(path, ec);
    return content.status();
  }
  if (uri.kind == uri::UriKind::kData) {
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
  return FetchedFile{path, static_cast<uint64_t>(size),
                     std::move(content->content_type),
                     std::move(content->source), content->verified};
}

absl::StatusOr<FetchedContent> ContentFetcher::Dispatch(
    const uri::ResolvedUri& uri, const std::string* file) const {
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
    case uri::UriKind::kIpns:
      return FromGateways(absl::StrCat("/ipns/", uri.name, uri.path), "", false,
                          file);
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
