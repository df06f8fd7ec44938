#include "common/http/http_client.h"

#include <curl/curl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <iterator>
#include <system_error>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/http/curl_common.h"
#include "common/runtime/reason.h"

namespace niftysave::http {

namespace {

// The scheme and authority of a URL ("https://host:port"), which is what a
// kept-alive connection serves; "" when there is none.
absl::string_view OriginOf(absl::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) return "";
  const size_t end = url.find_first_of("/?#", scheme_end + 3);
  return url.substr(0, end);
}

}  // namespace

// The curl handles of one client, each idle one with the origin of the last
// request it made. A handle keeps its open connections (at most
// kConnectionsPerHandle), TLS session ids, DNS cache and parsed CA store
// across curl_easy_reset, so a call takes an idle handle that last talked to
// its origin: its connection is still open. A call with no such handle gets
// a new one while fewer than kMaxHandles exist, else the longest idle one.
//
// Handles are kept, not closed and made again: a new handle parses the CA
// bundle on its first TLS connection (OpenSSL 3: ~140 certificates through
// its decoders, milliseconds). When the pool closed what it could not keep
// idle (16 at most, with 32 workers), that parse was 46% of the pinner's CPU
// (perf, bench/pipeline_bench.sh). And taking any idle handle made a
// connection per 1.6 requests against 50 hosts (100 origins with their http
// and https ports; 32 connections a handle), counted by the bench's web
// server. With 64 handles (32 in use by the pinner's workers, so about 32
// idle over 100 origins) 77% of the pinner's downloads still made a new
// connection; with 256 handles of one connection each, 14% (38,446 and
// 6,789 connections for 100,000 requests, bench/pipeline_bench.sh at 50,000
// tokens), and the pinner's CPU fell by a third. A handle is cheap now that
// the handles share one parsed CA store (CaBundleFile::store): with a store
// each, 128 handles took the pinner from 110 to 161 MB; with the shared one,
// 256 handles run in 53 MB. Bounded: at most kMaxHandles handles and
// kMaxHandles * kConnectionsPerHandle idle connections; a handle made past
// kMaxHandles (more calls at once than that) is closed when it comes back.
class HttpClient::HandlePool {
 public:
  static constexpr size_t kMaxHandles = 256;
  static constexpr long kConnectionsPerHandle = 1;

  ~HandlePool() {
    for (const Idle& idle : idle_) curl_easy_cleanup(idle.curl);
  }

  CURL* Take(absl::string_view origin) {
    {
      absl::MutexLock lock(&mu_);
      // Newest first: the connection most likely still open.
      for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
        if (it->origin == origin) {
          CURL* curl = it->curl;
          idle_.erase(std::next(it).base());
          return curl;
        }
      }
      if (!idle_.empty() && live_ >= kMaxHandles) {
        CURL* curl = idle_.front().curl;
        idle_.pop_front();
        return curl;
      }
      ++live_;
    }
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
      absl::MutexLock lock(&mu_);
      --live_;
    }
    return curl;
  }

  // Every option of the finished call is cleared (curl_easy_reset), so
  // nothing of one request (body, headers, callbacks, limits) leaks into
  // the next.
  void Give(CURL* curl, absl::string_view origin) {
    curl_easy_reset(curl);
    {
      absl::MutexLock lock(&mu_);
      if (live_ <= kMaxHandles) {
        idle_.push_back({curl, std::string(origin)});
        return;
      }
      --live_;
    }
    curl_easy_cleanup(curl);
  }

 private:
  struct Idle {
    CURL* curl;
    std::string origin;
  };
  absl::Mutex mu_;
  size_t live_ ABSL_GUARDED_BY(mu_) = 0;        // idle and in use
  std::deque<Idle> idle_ ABSL_GUARDED_BY(mu_);  // oldest first
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

  const absl::string_view origin = OriginOf(request.url);
  CURL* curl = handles_->Take(origin);
  if (curl == nullptr) {
    if (streams.in != nullptr) std::fclose(streams.in);
    return absl::InternalError("curl_easy_init failed");
  }
  curl_slist* headers = nullptr;
  absl::Status status = ApplyCurlOptions(curl, request, limits, options_,
                                         ca_bundle_, &state, &headers);
  // A handle mostly serves one origin (HandlePool): a few connections each
  // (a redirect's target, an origin it served before) bound the total. The
  // server's idle timeout still closes them.
  curl_easy_setopt(curl, CURLOPT_MAXCONNECTS,
                   HandlePool::kConnectionsPerHandle);
  if (status.ok()) {
    const CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
      status = CurlFailure(code, state, request.url);
    } else {
      ReadCurlResponseInfo(curl, &response);
      const bool in_memory =
          streams.out == nullptr && request.response_memory_bytes > 0 &&
          response.body_bytes <= request.response_memory_bytes;
      if (to_file && response.status >= 200 && response.status < 300 &&
          !in_memory) {
        response.body_in_file = true;
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
  handles_->Give(curl, origin);
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
