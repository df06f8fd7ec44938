#include "common/http/http_client.h"

#include <curl/curl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/runtime/reason.h"

namespace niftysave::http {
namespace {

struct CallState {
  CURL* curl = nullptr;
  const AddressPolicy* policy = nullptr;
  size_t max_body = 0;
  bool blocked = false;
  bool too_large = false;
  HttpResponse* response = nullptr;
  // Streaming the response into a file (HttpRequest::response_file).
  const std::string* response_file = nullptr;
  FILE* out = nullptr;
  bool write_failed = false;
  std::string write_error;
  // Streaming the request body from a file (HttpRequest::body_file).
  FILE* in = nullptr;
  bool read_failed = false;
};

bool Is2xx(long status) { return status >= 200 && status < 300; }

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* state = static_cast<CallState*>(user);
  const size_t len = size * n;
  HttpResponse& response = *state->response;
  if (response.body_bytes + len > state->max_body) {
    state->too_large = true;
    return 0;  // aborts the transfer: the cap holds while streaming
  }
  long status = 0;
  if (state->response_file != nullptr) {
    curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &status);
  }
  if (state->response_file != nullptr && Is2xx(status)) {
    if (state->out == nullptr) {
      state->out = std::fopen(state->response_file->c_str(), "wb");
      if (state->out == nullptr) {
        state->write_failed = true;
        state->write_error = std::strerror(errno);
        return 0;
      }
    }
    if (std::fwrite(data, 1, len, state->out) != len) {
      state->write_failed = true;
      state->write_error = std::strerror(errno);
      return 0;
    }
  } else {
    // Error bodies (and every body without a response_file) stay in memory.
    response.body.append(data, len);
  }
  response.body_bytes += len;
  return len;
}

size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
  auto* state = static_cast<CallState*>(user);
  const size_t got = std::fread(buffer, 1, size * n, state->in);
  if (got == 0 && std::ferror(state->in)) {
    state->read_failed = true;
    return CURL_READFUNC_ABORT;
  }
  return got;
}

// Lets curl rewind the body (a 307/308 redirect or an auth retry).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* state = static_cast<CallState*>(user);
  return fseeko(state->in, static_cast<off_t>(offset), origin) == 0
             ? CURL_SEEKFUNC_OK
             : CURL_SEEKFUNC_CANTSEEK;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* state = static_cast<CallState*>(user);
  const size_t len = size * n;
  absl::string_view line(data, len);
  if (absl::StartsWith(line, "HTTP/")) {
    state->response->retry_after.reset();  // a new response after a redirect
    return len;
  }
  auto colon = line.find(':');
  if (colon == absl::string_view::npos) return len;
  std::string name = absl::AsciiStrToLower(line.substr(0, colon));
  absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
  int seconds = 0;
  if (name == "retry-after" && absl::SimpleAtoi(value, &seconds) &&
      seconds >= 0) {
    state->response->retry_after = absl::Seconds(std::min(seconds, 86400));
  }
  return len;
}

// Runs for every connection curl opens, redirects included, after DNS: the
// SSRF guard sees the address actually dialled.
curl_socket_t OnOpenSocket(void* user, curlsocktype, curl_sockaddr* addr) {
  auto* state = static_cast<CallState*>(user);
  if (!state->policy->Allows(&addr->addr)) {
    state->blocked = true;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype, addr->protocol);
}

absl::Status CurlFailure(CURLcode code, const CallState& state,
                         const char* errbuf, const std::string& url) {
  std::string detail =
      absl::StrCat(curl_easy_strerror(code), errbuf[0] ? ": " : "", errbuf);
  if (state.blocked) {
    return ErrorWithReason(
        absl::StatusCode::kPermissionDenied, "blocked_address",
        absl::StrCat("refused to connect: ", url,
                     " resolves to a loopback/private/link-local address"));
  }
  if (state.write_failed) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "write_failed",
                           absl::StrCat("cannot write ", *state.response_file,
                                        ": ", state.write_error));
  }
  if (state.read_failed) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "read_failed",
                           "cannot read the request body file");
  }
  if (state.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return ErrorWithReason(
        absl::StatusCode::kResourceExhausted, "too_large",
        absl::StrCat("body over the limit of ", state.max_body, " bytes"));
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorWithReason(absl::StatusCode::kDeadlineExceeded, "timeout",
                             detail);
    case CURLE_COULDNT_RESOLVE_HOST:
      return ErrorWithReason(absl::StatusCode::kUnavailable, "dns", detail);
    case CURLE_COULDNT_CONNECT:
      return ErrorWithReason(absl::StatusCode::kUnavailable, "connect", detail);
    case CURLE_TOO_MANY_REDIRECTS:
      return ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                             "too_many_redirects", detail);
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return ErrorWithReason(absl::StatusCode::kInvalidArgument, "uri_invalid",
                             detail);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      return ErrorWithReason(absl::StatusCode::kUnavailable, "tls", detail);
    default:
      return ErrorWithReason(absl::StatusCode::kUnavailable, "network", detail);
  }
}

constexpr char kSystemCaBundle[] = "/etc/ssl/certs/ca-certificates.crt";

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

long Millis(absl::Duration d) {
  return static_cast<long>(absl::ToInt64Milliseconds(d));
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
  if (!options_.ca_file.empty()) {
    // An extra CA, on top of the system's: CURLOPT_CAINFO alone would
    // replace them, so both go in one in-memory bundle.
    ca_bundle_ = ReadFileOrEmpty(kSystemCaBundle) + "\n" +
                 ReadFileOrEmpty(options_.ca_file);
  }
}

absl::StatusOr<HttpResponse> HttpClient::Do(const HttpRequest& request) const {
  const HttpLimits& limits = request.limits ? *request.limits : options_.limits;
  HttpResponse response;
  CallState state;
  state.policy = &options_.address_policy;
  state.max_body = limits.max_body_bytes;
  state.response = &response;
  if (!request.response_file.empty()) {
    state.response_file = &request.response_file;
  }
  // Whatever happens below, a failed call leaves no (partial) response file.
  auto remove_response_file = [&] {
    if (state.out != nullptr) {
      std::fclose(state.out);
      state.out = nullptr;
    }
    if (state.response_file != nullptr) {
      std::error_code ignored;
      std::filesystem::remove(*state.response_file, ignored);
    }
  };

  curl_off_t body_file_size = 0;
  if (!request.body_file.empty()) {
    std::error_code ec;
    const uintmax_t size = std::filesystem::file_size(request.body_file, ec);
    if (!ec) state.in = std::fopen(request.body_file.c_str(), "rb");
    if (ec || state.in == nullptr) {
      return ErrorWithReason(
          absl::StatusCode::kNotFound, "read_failed",
          absl::StrCat("cannot read request body file ", request.body_file,
                       ": ", ec ? ec.message() : std::strerror(errno)));
    }
    body_file_size = static_cast<curl_off_t>(size);
  }
  if (request.file && !request.file->path.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(request.file->path, ec)) {
      if (state.in != nullptr) std::fclose(state.in);
      return ErrorWithReason(
          absl::StatusCode::kNotFound, "read_failed",
          absl::StrCat("cannot read upload file ", request.file->path));
    }
  }

  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    if (state.in != nullptr) std::fclose(state.in);
    return absl::InternalError("curl_easy_init failed");
  }
  state.curl = curl;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  curl_mime* mime = nullptr;

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  // Never a proxy from the environment: the SSRF guard would see only the
  // proxy's address, not the one the user's URL names.
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS,
                   static_cast<long>(limits.max_redirects));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   Millis(limits.connect_timeout));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, Millis(limits.total_timeout));
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(limits.max_body_bytes));
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING,
                   "");  // gzip etc.; capped after decoding
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &state);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &state);
  if (!ca_bundle_.empty()) {
    curl_blob blob{const_cast<char*>(ca_bundle_.data()), ca_bundle_.size(),
                   CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  }
  for (const std::string& h : request.headers) {
    headers = curl_slist_append(headers, h.c_str());
  }
  if (request.file) {
    mime = curl_mime_init(curl);
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_name(part, request.file->field.c_str());
    curl_mime_filename(part, request.file->filename.c_str());
    // js-ipfs refuses a part without a content type.
    curl_mime_type(part, "application/octet-stream");
    if (!request.file->path.empty()) {
      // curl reads the file part by part while sending; it names the part
      // after the file, so the given filename is set again afterwards.
      curl_mime_filedata(part, request.file->path.c_str());
      curl_mime_filename(part, request.file->filename.c_str());
    } else {
      curl_mime_data(part, request.file->content.data(),
                     request.file->content.size());
    }
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
  } else if (state.in != nullptr) {
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &state);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &state);
    if (request.method == "PUT") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, body_file_size);
    } else {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, body_file_size);
    }
  } else if (request.method == "POST" || !request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  if (request.method != "GET" && request.method != "POST" &&
      !(state.in != nullptr && request.method == "PUT")) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  CURLcode code = curl_easy_perform(curl);
  absl::Status status;
  if (code != CURLE_OK) {
    status = CurlFailure(code, state, errbuf, request.url);
  } else {
    long http_status = 0;
    char* content_type = nullptr;
    char* effective = nullptr;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
    curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
    response.status = static_cast<int>(http_status);
    if (content_type != nullptr) response.content_type = content_type;
    if (effective != nullptr) response.effective_url = effective;
    if (state.response_file != nullptr && Is2xx(http_status)) {
      // An empty 2xx body still leaves an (empty) file.
      if (state.out == nullptr) {
        state.out = std::fopen(state.response_file->c_str(), "wb");
      }
      const bool closed = state.out != nullptr && std::fclose(state.out) == 0;
      state.out = nullptr;
      if (!closed) {
        status =
            ErrorWithReason(absl::StatusCode::kUnavailable, "write_failed",
                            absl::StrCat("cannot write ", *state.response_file,
                                         ": ", std::strerror(errno)));
      }
    }
  }
  if (mime != nullptr) curl_mime_free(mime);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (state.in != nullptr) std::fclose(state.in);
  if (!status.ok() ||
      (state.response_file != nullptr && !Is2xx(response.status))) {
    remove_response_file();
  }
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<HttpResponse> HttpClient::Fetch(
    const HttpRequest& request) const {
  const std::string& url = request.url;
  absl::StatusOr<HttpResponse> response = Do(request);
  if (!response.ok()) return response.status();
  const int s = response->status;
  if (s >= 200 && s < 300) return response;
  const std::string detail = absl::StrCat("HTTP ", s, " from ", url);
  // The server's own "not before" travels with the failure (429, and 503
  // when a Retry-After came with it), for whoever reschedules the work.
  auto not_before = [&](absl::Status status) {
    if (response->retry_after) {
      status = WithRetryAfter(std::move(status), *response->retry_after);
    }
    return status;
  };
  if (s == 429) {
    return not_before(ErrorWithReason(absl::StatusCode::kUnavailable,
                                      "rate_limited", detail));
  }
  if (s == 408) {
    return ErrorWithReason(absl::StatusCode::kDeadlineExceeded, "timeout",
                           detail);
  }
  if (s >= 500) {
    return not_before(
        ErrorWithReason(absl::StatusCode::kUnavailable, "http_5xx", detail));
  }
  if (s == 404 || s == 410) {
    return ErrorWithReason(absl::StatusCode::kNotFound, "http_4xx", detail);
  }
  return ErrorWithReason(absl::StatusCode::kFailedPrecondition,
                         s >= 400 ? "http_4xx" : "http_status", detail);
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
