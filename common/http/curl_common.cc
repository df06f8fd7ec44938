#include "common/http/curl_common.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/runtime/reason.h"

namespace niftysave::http {
namespace {

long Millis(absl::Duration d) {
  return static_cast<long>(absl::ToInt64Milliseconds(d));
}

bool Is2xx(long status) { return status >= 200 && status < 300; }

// A 2xx body of a transfer with a response file goes to that file.
bool ToFile(const CurlTransferState& state) {
  if (state.streams == nullptr || state.streams->response_file == nullptr) {
    return false;
  }
  long status = 0;
  curl_easy_getinfo(state.curl, CURLINFO_RESPONSE_CODE, &status);
  return Is2xx(status);
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* state = static_cast<CurlTransferState*>(user);
  const size_t len = size * n;
  HttpResponse& response = *state->response;
  state->got_first_byte = true;
  if (response.body_bytes + len > state->max_body) {
    state->too_large = true;
    return 0;  // aborts the transfer: the cap holds while streaming
  }
  if (state->admit_body != nullptr &&
      !(*state->admit_body)(response.body_bytes + len)) {
    state->refused = true;
    return 0;
  }
  if (ToFile(*state) &&
      (state->streams->out != nullptr ||
       response.body_bytes + len > state->streams->memory_bytes)) {
    CurlStreams& streams = *state->streams;
    if (streams.out == nullptr) {
      streams.out = std::fopen(streams.response_file->c_str(), "wb");
      // What was held in memory so far goes first.
      if (streams.out != nullptr && !response.body.empty() &&
          std::fwrite(response.body.data(), 1, response.body.size(),
                      streams.out) != response.body.size()) {
        streams.write_failed = true;
        streams.write_error = std::strerror(errno);
        return 0;
      }
      std::string().swap(response.body);
    }
    if (streams.out == nullptr ||
        std::fwrite(data, 1, len, streams.out) != len) {
      streams.write_failed = true;
      streams.write_error = std::strerror(errno);
      return 0;
    }
  } else {
    // Error bodies, every body without a response file and a 2xx body
    // within the response file's memory allowance stay in memory.
    response.body.append(data, len);
  }
  response.body_bytes += len;
  return len;
}

size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
  auto* streams = static_cast<CurlStreams*>(user);
  const size_t got = std::fread(buffer, 1, size * n, streams->in);
  if (got == 0 && std::ferror(streams->in)) {
    streams->read_failed = true;
    return CURL_READFUNC_ABORT;
  }
  return got;
}

// Lets curl rewind the body (a 307/308 redirect or an auth retry).
int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* streams = static_cast<CurlStreams*>(user);
  return fseeko(streams->in, static_cast<off_t>(offset), origin) == 0
             ? CURL_SEEKFUNC_OK
             : CURL_SEEKFUNC_CANTSEEK;
}

// The multipart/form-data upload of `file`, built into `streams->mime`.
void SetMultipart(CURL* curl, const MultipartFile& file, CurlStreams* streams) {
  streams->mime = curl_mime_init(curl);
  curl_mimepart* part = curl_mime_addpart(streams->mime);
  curl_mime_name(part, file.field.c_str());
  curl_mime_filename(part, file.filename.c_str());
  // js-ipfs refuses a part without a content type.
  curl_mime_type(part, "application/octet-stream");
  if (!file.path.empty()) {
    // curl reads the file part by part while sending; it names the part
    // after the file, so the given filename is set again afterwards.
    curl_mime_filedata(part, file.path.c_str());
    curl_mime_filename(part, file.filename.c_str());
  } else {
    curl_mime_data(part, file.content.data(), file.content.size());
  }
  curl_easy_setopt(curl, CURLOPT_MIMEPOST, streams->mime);
}

// The request body and method.
void SetBody(CURL* curl, const HttpRequest& request, CurlStreams* streams) {
  const bool from_file = streams != nullptr && streams->in != nullptr;
  if (request.file) {
    SetMultipart(curl, *request.file, streams);
  } else if (from_file) {
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, streams);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, streams);
    if (request.method == "PUT") {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, streams->in_size);
    } else {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, streams->in_size);
    }
  } else if (request.method == "POST" || !request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
  if (request.method != "GET" && request.method != "POST" &&
      !(from_file && request.method == "PUT")) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* state = static_cast<CurlTransferState*>(user);
  const size_t len = size * n;
  state->got_first_byte = true;
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
// SSRF guard sees the address actually dialled. (A reused connection was
// checked when it was opened; curl reuses one only for the same host name
// and port, so a redirect hop can ride a connection opened as a trusted
// first hop only when it goes back to that same operator host.)
curl_socket_t OnOpenSocket(void* user, curlsocktype, curl_sockaddr* addr) {
  auto* state = static_cast<CurlTransferState*>(user);
  long redirects = 0;
  if (state->trust_first_hop) {
    curl_easy_getinfo(state->curl, CURLINFO_REDIRECT_COUNT, &redirects);
  }
  const bool trusted = state->trust_first_hop && redirects == 0;
  if (!trusted && !state->policy->Allows(&addr->addr)) {
    state->blocked = true;
    return CURL_SOCKET_BAD;
  }
  return socket(addr->family, addr->socktype, addr->protocol);
}

// curl calls this at least once a second per transfer, idle or not: the
// first-byte deadline needs nothing else.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* state = static_cast<CurlTransferState*>(user);
  if (!state->got_first_byte && absl::Now() > state->first_byte_deadline) {
    state->first_byte_timeout = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

// CURLOPT_SSL_CTX_FUNCTION: the connection's TLS context verifies against
// the client's shared store (a reference taken; the context drops it).
CURLcode UseSharedStore(CURL* /*curl*/, void* ssl_ctx, void* store) {
  SSL_CTX_set1_cert_store(static_cast<SSL_CTX*>(ssl_ctx),
                          static_cast<X509_STORE*>(store));
  return CURLE_OK;
}

}  // namespace

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_ALL); });
}

absl::Status ApplyCurlOptions(CURL* curl, const HttpRequest& request,
                              const HttpLimits& limits,
                              const HttpClientOptions& options,
                              const CaBundleFile& ca_bundle,
                              CurlTransferState* state, curl_slist** headers) {
  CurlStreams* streams = state->streams;
  if (streams == nullptr && (request.file || !request.body_file.empty() ||
                             !request.response_file.empty())) {
    return absl::InvalidArgumentError(
        "uploads and file bodies need the blocking HttpClient");
  }
  if (streams != nullptr && !request.body_file.empty() &&
      streams->in == nullptr) {
    return absl::InvalidArgumentError("body_file is not open");
  }
  if (streams != nullptr && !request.response_file.empty()) {
    streams->response_file = &request.response_file;
    streams->memory_bytes = request.response_memory_bytes;
  }
  state->curl = curl;
  state->policy = &options.address_policy;
  state->trust_first_hop = options.trust_first_hop;
  state->max_body = limits.max_body_bytes;
  state->admit_body = request.admit_body ? &request.admit_body : nullptr;
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, state->errbuf);
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
  if (limits.low_speed_bytes_per_second > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT,
                     static_cast<long>(limits.low_speed_bytes_per_second));
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                     std::max(1L, static_cast<long>(absl::ToInt64Seconds(
                                      limits.low_speed_time))));
  }
  if (limits.first_byte_timeout != absl::InfiniteDuration() &&
      state->first_byte_deadline == absl::InfiniteFuture()) {
    state->first_byte_deadline = absl::Now() + limits.first_byte_timeout;
  }
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(limits.max_body_bytes));
  // gzip etc.; OnBody caps the decoded bytes, so a bomb stops at the limit.
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, state);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, state);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OnOpenSocket);
  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, state);
  if (state->first_byte_deadline != absl::InfiniteFuture()) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, state);
  }
  // The client's one parsed store, given to each TLS context; curl loads no
  // CA file or directory of its own (CaBundleFile explains why). A libcurl
  // built on another TLS library refuses the callback and keeps its own
  // defaults (the system's CAs; an extra ca_file is then not trusted).
  if (ca_bundle.store() != nullptr &&
      curl_easy_setopt(curl, CURLOPT_SSL_CTX_FUNCTION, UseSharedStore) ==
          CURLE_OK) {
    curl_easy_setopt(curl, CURLOPT_SSL_CTX_DATA, ca_bundle.store());
    curl_easy_setopt(curl, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  } else if (!ca_bundle.path().empty()) {
    // One file and no CA directory, so curl caches the parsed store.
    curl_easy_setopt(curl, CURLOPT_CAINFO, ca_bundle.path().c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  }
  for (const std::string& h : request.headers) {
    *headers = curl_slist_append(*headers, h.c_str());
  }
  SetBody(curl, request, streams);
  if (*headers != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
  return absl::OkStatus();
}

void ReadCurlResponseInfo(CURL* curl, HttpResponse* response) {
  long http_status = 0;
  char* content_type = nullptr;
  char* effective = nullptr;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &content_type);
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &effective);
  response->status = static_cast<int>(http_status);
  if (content_type != nullptr) response->content_type = content_type;
  if (effective != nullptr) response->effective_url = effective;
}

absl::Status CurlFailure(CURLcode code, const CurlTransferState& state,
                         const std::string& url) {
  const char* errbuf = state.errbuf;
  std::string detail =
      absl::StrCat(curl_easy_strerror(code), errbuf[0] ? ": " : "", errbuf);
  if (state.blocked) {
    return ErrorWithReason(
        absl::StatusCode::kPermissionDenied, "blocked_address",
        absl::StrCat("refused to connect: ", url,
                     " resolves to a loopback/private/link-local address"));
  }
  if (state.streams != nullptr && state.streams->write_failed) {
    return ErrorWithReason(
        absl::StatusCode::kUnavailable, "write_failed",
        absl::StrCat("cannot write ", *state.streams->response_file, ": ",
                     state.streams->write_error));
  }
  if (state.streams != nullptr && state.streams->read_failed) {
    return ErrorWithReason(absl::StatusCode::kUnavailable, "read_failed",
                           "cannot read the request body file");
  }
  if (state.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return ErrorWithReason(
        absl::StatusCode::kResourceExhausted, "too_large",
        absl::StrCat("body over the limit of ", state.max_body, " bytes"));
  }
  if (state.refused) {
    return ErrorWithReason(
        absl::StatusCode::kUnavailable, "memory_budget",
        absl::StrCat("no room in the byte budget for more than ",
                     state.response->body_bytes, " bytes of the body"));
  }
  if (state.first_byte_timeout) {
    return ErrorWithReason(absl::StatusCode::kDeadlineExceeded, "timeout",
                           absl::StrCat("no response from ", url,
                                        " before the first-byte timeout"));
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

absl::Status StatusOfAnswer(const HttpResponse& response,
                            const std::string& url) {
  const int s = response.status;
  if (s >= 200 && s < 300) return absl::OkStatus();
  const std::string detail = absl::StrCat("HTTP ", s, " from ", url);
  // The server's own "not before" travels with the failure (429, and 503
  // when a Retry-After came with it), for whoever reschedules the work.
  auto not_before = [&](absl::Status status) {
    if (response.retry_after) {
      status = WithRetryAfter(std::move(status), *response.retry_after);
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

absl::StatusOr<std::string> HostKeyOf(const std::string& url) {
  CURLU* u = curl_url();
  if (u == nullptr) return absl::InternalError("curl_url failed");
  std::string key;
  char* host = nullptr;
  char* port = nullptr;
  const bool ok =
      curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
  if (ok) key = absl::StrCat(absl::AsciiStrToLower(host), ":", port);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  if (!ok) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "uri_invalid",
                           absl::StrCat("not a URL: ", url.substr(0, 200)));
  }
  return key;
}

}  // namespace niftysave::http
