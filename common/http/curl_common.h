#pragma once

// The libcurl pieces every HTTP engine here shares (the blocking HttpClient
// and the curl-multi MultiClient): the options that make a fetch safe, the
// callbacks that enforce the limits while the body streams, and the mapping
// of curl errors and HTTP answers to Statuses with a reason.

#include <curl/curl.h>

#include <cstdio>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/http/ca_bundle.h"
#include "common/http/http_client.h"

namespace niftysave::http {

// The files of a streaming transfer (HttpRequest::body_file, ::file,
// ::response_file), which only the blocking HttpClient opens and closes.
struct CurlStreams {
  // The request body, opened by the caller; `in_size` bytes are sent.
  FILE* in = nullptr;
  curl_off_t in_size = 0;
  bool read_failed = false;
  // A 2xx body goes to this file, opened on its first byte (error bodies
  // stay in memory); the caller closes `out`.
  const std::string* response_file = nullptr;
  FILE* out = nullptr;
  // HttpRequest::response_memory_bytes: a 2xx body up to this size stays
  // in memory; `out` is opened only once it grows past it.
  size_t memory_bytes = 0;
  bool write_failed = false;
  std::string write_error;
  // The multipart upload ApplyCurlOptions built; the caller frees it
  // (curl_mime_free) after the transfer.
  curl_mime* mime = nullptr;
};

// What the callbacks of one transfer read and write. Lives as long as the
// easy handle it is attached to.
struct CurlTransferState {
  CURL* curl = nullptr;  // set by ApplyCurlOptions
  const AddressPolicy* policy = nullptr;
  bool trust_first_hop = false;  // HttpClientOptions::trust_first_hop
  size_t max_body = 0;
  const std::function<bool(size_t)>* admit_body = nullptr;  // may be null
  HttpResponse* response = nullptr;
  // 0 disables the first-byte deadline (see CurlOnProgress).
  absl::Time first_byte_deadline = absl::InfiniteFuture();
  bool got_first_byte = false;
  // Why the transfer was cut short, when it was us who cut it.
  bool blocked = false;
  bool too_large = false;
  bool refused = false;  // HttpRequest::admit_body said no
  bool first_byte_timeout = false;
  // Null unless the caller streams files (the blocking HttpClient).
  CurlStreams* streams = nullptr;
  char errbuf[CURL_ERROR_SIZE] = {0};
};

// curl_global_init, once per process.
void EnsureCurlGlobalInit();

// Sets everything a GET/POST of `request` needs on `curl` (CURLOPT_CAINFO =
// `ca_path` unless ""): no proxy (the
// SSRF guard must see the real peer), http(s) only on every hop, the
// redirect cap, connect and total timeouts, the body cap (Content-Length
// and streamed, after decompression), the SSRF guard on every new
// connection, headers and the method. `state` must outlive the transfer;
// `*headers` is the list to free after it (curl_slist_free_all).
// Multipart uploads, file bodies and response files need `state->streams`
// (the blocking client's business, with `streams->in` already open for a
// body_file): without it this returns InvalidArgument for them.
absl::Status ApplyCurlOptions(CURL* curl, const HttpRequest& request,
                              const HttpLimits& limits,
                              const HttpClientOptions& options,
                              const CaBundleFile& ca_bundle,
                              CurlTransferState* state, curl_slist** headers);

// Status, content type and effective URL of a finished transfer (the body
// and body_bytes were filled while it streamed).
void ReadCurlResponseInfo(CURL* curl, HttpResponse* response);

// A failed transfer as a Status with a reason: `blocked_address`,
// `write_failed`, `read_failed` (streams), `too_large`, `timeout`, `dns`,
// `connect`, `too_many_redirects`, `uri_invalid`, `tls` or `network`.
absl::Status CurlFailure(CURLcode code, const CurlTransferState& state,
                         const std::string& url);

// A complete HTTP answer as Fetch sees it: OK for 2xx; otherwise
// `rate_limited` (429), `timeout` (408), `http_5xx`, `http_4xx` (NotFound
// for 404/410) with the server's Retry-After attached to 429 and 5xx.
absl::Status StatusOfAnswer(const HttpResponse& response,
                            const std::string& url);

// The "host:port" a URL's transfers count against (per-host caps), lower
// case, default port filled in; InvalidArgument (`uri_invalid`) when the URL
// does not parse.
absl::StatusOr<std::string> HostKeyOf(const std::string& url);

}  // namespace niftysave::http
