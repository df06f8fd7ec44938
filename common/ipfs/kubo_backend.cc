#include "common/ipfs/kubo_backend.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ipfs/backend_http.h"
#include "common/runtime/reason.h"

namespace niftysave::ipfs {
namespace {

std::string Seconds(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Seconds(d), "s");
}

}  // namespace

KuboBackend::KuboBackend(const http::HttpClient& http, Options options)
    : http_(http), options_(std::move(options)) {}

absl::StatusOr<nlohmann::json> KuboBackend::Post(
    const std::string& path_and_query, absl::Duration timeout,
    const http::MultipartFile* file) {
  http::HttpLimits limits = http_.options().limits;
  limits.total_timeout = timeout;
  limits.max_body_bytes = 4 << 20;  // replies are small JSON documents
  http::HttpRequest request{
      .method = "POST",
      .url = options_.api_url + "/api/v0/" + path_and_query,
      .limits = limits};
  if (file != nullptr) request.file = *file;
  absl::StatusOr<http::HttpResponse> response = http_.Do(request);
  if (!response.ok()) {
    return BackendTransportError(response.status(), "kubo API");
  }
  nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  // A proxy or gateway in front of the API may shed load: temporary, and
  // its Retry-After travels with the failure.
  if (response->status == 429 || response->status == 502 ||
      response->status == 503 || response->status == 504) {
    absl::Status s = ErrorWithReason(
        absl::StatusCode::kUnavailable,
        response->status == 429 ? "rate_limited" : "backend_unavailable",
        absl::StrCat("kubo HTTP ", response->status, " for ",
                     path_and_query.substr(0, 80)));
    if (response->retry_after) {
      s = WithRetryAfter(std::move(s), *response->retry_after);
    }
    return s;
  }
  if (response->status != 200) {
    std::string message = body.is_object()
                              ? body.value("Message", std::string())
                              : response->body.substr(0, 300);
    auto code = response->status >= 500 ? absl::StatusCode::kFailedPrecondition
                                        : absl::StatusCode::kInvalidArgument;
    if (absl::StrContains(message, "timeout") ||
        absl::StrContains(message, "deadline")) {
      return ErrorWithReason(
          absl::StatusCode::kDeadlineExceeded, "timeout",
          absl::StrCat("kubo ", path_and_query.substr(0, 80), ": ", message));
    }
    return ErrorWithReason(
        code, "rejected",
        absl::StrCat("kubo HTTP ", response->status, ": ", message));
  }
  if (body.is_discarded()) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_invalid",
                           "kubo answered with something that is not JSON");
  }
  return body;
}

absl::StatusOr<PinReceipt> KuboBackend::PinCid(const std::string& cid) {
  absl::StatusOr<nlohmann::json> reply = Post(
      absl::StrCat("pin/add?arg=", QueryEscape(cid, "/"),
                   "&recursive=true&timeout=", Seconds(options_.pin_timeout)),
      PinCallTimeout());
  if (!reply.ok()) return reply.status();
  return PinReceipt{.state = PinState::kPinned};
}

absl::StatusOr<std::string> KuboBackend::Upload(absl::string_view content,
                                                absl::string_view filename) {
  if (content.size() > options_.max_upload_bytes) {
    return ErrorWithReason(
        absl::StatusCode::kResourceExhausted, "too_large",
        absl::StrCat("upload of ", content.size(), " bytes over the limit of ",
                     options_.max_upload_bytes));
  }
  return Add({.field = "file",
              .filename = std::string(filename),
              .content = std::string(content)});
}

absl::StatusOr<std::string> KuboBackend::UploadFile(const std::string& path,
                                                    absl::string_view filename,
                                                    size_t max_bytes) {
  if (absl::StatusOr<uint64_t> size =
          UploadFileSize(path, std::min(max_bytes, options_.max_upload_bytes));
      !size.ok()) {
    return size.status();
  }
  return Add(
      {.field = "file", .filename = std::string(filename), .path = path});
}

absl::StatusOr<std::string> KuboBackend::Add(const http::MultipartFile& file) {
  // cid-version=1 implies raw leaves: the same CID ipfs-car and nft.storage
  // compute for a single file of up to one chunk.
  absl::StatusOr<nlohmann::json> reply =
      Post("add?cid-version=1&cid-base=base32&pin=true&progress=false",
           kAddTimeout, &file);
  if (!reply.ok()) return reply.status();
  if (!reply->is_object() || !(*reply)["Hash"].is_string()) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "backend_invalid",
                           "kubo add reply has no Hash");
  }
  return (*reply)["Hash"].get<std::string>();
}

absl::StatusOr<PinState> KuboBackend::Status(const std::string& cid) {
  absl::StatusOr<nlohmann::json> reply = Post(
      absl::StrCat("pin/ls?arg=", QueryEscape(cid, "/"), "&type=recursive"),
      kStatusTimeout);
  if (!reply.ok()) {
    // kubo answers 500 "... is not pinned" for a CID it does not pin.
    if (ReasonOf(reply.status()) == "rejected" &&
        absl::StrContains(reply.status().message(), "not pinned")) {
      return PinState::kQueued;
    }
    return reply.status();
  }
  const nlohmann::json& keys = (*reply)["Keys"];
  if (keys.is_object() && !keys.empty()) return PinState::kPinned;
  return PinState::kQueued;
}

}  // namespace niftysave::ipfs
