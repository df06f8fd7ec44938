#include "common/http/http_client.h"

#include <curl/curl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/http/curl_common.h"
#include "common/runtime/reason.h"

namespace niftysave::http {

// Idle curl handles, kept for the next call. A handle keeps its open
// connections (at most kConnectionsPerHandle each), TLS session ids, DNS
// cache and parsed CA store across curl_easy_reset. Bounded: past
// kMaxIdle idle handles (more calls at once than that) a returned handle
// is closed, with its connections.
class HttpClient::HandlePool {
 public:
  static constexpr size_t kMaxIdle = 16;
  static constexpr long kConnectionsPerHandle = 32;

  ~HandlePool() {
    for (CURL* curl : idle_) curl_easy_cleanup(curl);
  }

  CURL* Take() {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        CURL* curl = idle_.back();
        idle_.pop_back();
        return curl;
      }
    }
    return curl_easy_init();
  }

  // Every option of the finished call is cleared (curl_easy_reset), so
  // nothing of one request (body, headers, callbacks, limits) leaks into
  // the next.
  void Give(CURL* curl) {
    curl_easy_reset(curl);
    {
      absl::MutexLock lock(&mu_);
      if (idle_.size() < kMaxIdle) {
        idle_.push_back(curl);
        return;
      }
    }
    curl_easy_cleanup(curl);
  }

 private:
  absl::Mutex mu_;
  std::vector<CURL*> idle_ ABSL_GUARDED_BY(mu_);
};

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)),
      ca_bundle_(options_.ca_file),
      handles_(std::make_unique<HandlePool>()) {
  EnsureCurlGlobalInit();
}

HttpClient::~HttpClient() = default;

absl::StatusOr<HttpResponse> HttpClient::Do(const HttpRequest& request) const {
  const HttpLimits& limits = request.limits ? *request.limits : options_.limits;
  HttpResponse response;
  CurlStreams streams;
  CurlTransferState state;
  state.response = &response;
  state.streams = &streams;
  const bool to_file = !request.response_file.empty();
  // Whatever happens below, a failed call leaves no (partial) response file.
  auto remove_response_file = [&] {
    if (streams.out != nullptr) {
      std::fclose(streams.out);
      streams.out = nullptr;
    }
    if (to_file) {
      std::error_code ignored;
      std::filesystem::remove(request.response_file, ignored);
    }
  };

  if (!request.body_file.empty()) {
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(request.body_file, ec);
    if (!ec) streams.in = std::fopen(request.body_file.c_str(), "rb");
    if (ec || streams.in == nullptr) {
      return ErrorWithReason(
          absl::StatusCode::kNotFound, "read_failed",
          absl::StrCat("cannot read request body file ", request.body_file,
                       ": ", ec ? ec.message() : std::strerror(errno)));
    }
    streams.in_size = static_cast<curl_off_t>(size);
  }
  if (request.file && !request.file->path.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(request.file->path, ec)) {
      if (streams.in != nullptr) std::fclose(streams.in);
      return ErrorWithReason(
          absl::StatusCode::kNotFound, "read_failed",
          absl::StrCat("cannot read upload file ", request.file->path));
    }
  }

  CURL* curl = handles_->Take();
  if (curl == nullptr) {
    if (streams.in != nullptr) std::fclose(streams.in);
    return absl::InternalError("curl_easy_init failed");
  }
  curl_slist* headers = nullptr;
  absl::Status status = ApplyCurlOptions(curl, request, limits, options_,
                                         ca_bundle_.path(), &state, &headers);
  // Asset hosts are many: keep more idle connections per handle than
  // curl's 5, so a host seen a moment ago needs no new TCP and TLS setup
  // (OpenSSL 3 spends milliseconds of CPU on each). The server's idle
  // timeout still closes them; HandlePool::kMaxIdle bounds the total.
  curl_easy_setopt(curl, CURLOPT_MAXCONNECTS,
                   HandlePool::kConnectionsPerHandle);
  if (status.ok()) {
    const CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
      status = CurlFailure(code, state, request.url);
    } else {
      ReadCurlResponseInfo(curl, &response);
      if (to_file && response.status >= 200 && response.status < 300) {
        // An empty 2xx body still leaves an (empty) file.
        if (streams.out == nullptr) {
          streams.out = std::fopen(request.response_file.c_str(), "wb");
        }
        const bool closed =
            streams.out != nullptr && std::fclose(streams.out) == 0;
        streams.out = nullptr;
        if (!closed) {
          status = ErrorWithReason(
              absl::StatusCode::kUnavailable, "write_failed",
              absl::StrCat("cannot write ", request.response_file, ": ",
                           std::strerror(errno)));
        }
      }
    }
  }
  if (streams.mime != nullptr) curl_mime_free(streams.mime);
  curl_slist_free_all(headers);
  handles_->Give(curl);
  if (streams.in != nullptr) std::fclose(streams.in);
  if (!status.ok() ||
      (to_file && !(response.status >= 200 && response.status < 300))) {
    remove_response_file();
  }
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<HttpResponse> HttpClient::Fetch(
    const HttpRequest& request) const {
  absl::StatusOr<HttpResponse> response = Do(request);
  if (!response.ok()) return response.status();
  absl::Status answer = StatusOfAnswer(*response, request.url);
  if (!answer.ok()) return answer;
  return response;
}

bool IsTemporary(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kAborted:
      return ReasonOf(status) != "tls";
    default:
      return false;
  }
}

}  // namespace niftysave::http
