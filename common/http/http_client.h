#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/http/address_policy.h"
#include "common/http/ca_bundle.h"

namespace niftysave::http {

struct HttpLimits {
  size_t max_body_bytes =
      10 << 20;  // enforced while streaming, after decompression
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration total_timeout = absl::Seconds(30);
  int max_redirects = 5;
  // No response byte (headers included) within this time after the start:
  // reason `timeout`. Infinite: only total_timeout applies.
  absl::Duration first_byte_timeout = absl::InfiniteDuration();
  // A transfer slower than low_speed_bytes_per_second for low_speed_time is
  // cut (reason `timeout`), so a slow drip cannot hold a worker for the whole
  // total_timeout. 0: off.
  int64_t low_speed_bytes_per_second = 0;
  absl::Duration low_speed_time = absl::Seconds(30);
};

struct HttpClientOptions {
  HttpLimits limits;
  AddressPolicy address_policy =
      AddressPolicy::AllowAll();  // checked on every hop
  // The operator's own endpoints (IPFS and Arweave gateways) may sit on
  // internal addresses: when set, the first hop of every request connects
  // whatever `address_policy` says, and every redirect hop after it is
  // judged by `address_policy` like a user fetch. A public gateway redirects
  // by design (subdomain gateways, a CID's _redirects file), so trusting its
  // redirects would let content steer us to 169.254.169.254.
  bool trust_first_hop = false;
  std::string ca_file;  // extra CA, trusted besides the system's (tests'
                        // loopback server)
  std::string user_agent = "niftysave/0.1";
};

struct MultipartFile {
  std::string field = "file";
  std::string filename;
  std::string content;
  // When set, the part's bytes are streamed from this file instead of
  // `content` (never read into memory whole).
  std::string path;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  // When set, the request body is streamed from this file instead of `body`.
  std::string body_file;
  std::optional<MultipartFile> file;  // multipart/form-data upload
  // When set, a 2xx response body is streamed into this file (created or
  // truncated; max_body_bytes still applies) and HttpResponse::body stays
  // empty; HttpResponse::body_bytes says how much was written.
  std::string response_file;
  // With response_file: a 2xx body of at most this many bytes stays in
  // HttpResponse::body and no file is made; the first byte past it moves
  // what arrived into the file and the rest streams there
  // (HttpResponse::body_in_file says which). 0: always the file.
  size_t response_memory_bytes = 0;
  std::optional<HttpLimits> limits;  // overrides the client's for this call
  // When set, asked before each piece of the body is kept, with the size
  // the body would then reach: false cuts the transfer with reason
  // `memory_budget` (temporary). A caller holding many bodies at once uses
  // it to grow a byte reservation as a body arrives instead of reserving
  // max_body_bytes up front. Runs on the transfer's thread.
  std::function<bool(size_t body_bytes)> admit_body;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  size_t body_bytes = 0;  // bytes received (also when streamed to a file)
  // The 2xx body went to HttpRequest::response_file (else it is `body`).
  bool body_in_file = false;
  std::string content_type;
  std::string effective_url;  // after redirects
  std::optional<absl::Duration> retry_after;
};

// The one HTTP client. Thread-safe: each call takes a curl handle of its own
// from a small pool and gives it back reset, so a handle's open connections
// (keep-alive, TLS sessions) and its parsed CA store serve the next calls
// instead of a TCP and TLS handshake and a CA parse per request.
// Transport failures are Statuses with a reason (see common/runtime/reason.h):
// `timeout`, `too_large`, `blocked_address`, `dns`, `connect`, `tls`,
// `too_many_redirects`, `uri_invalid`, `network`, and for the streaming fields
// `write_failed` (response_file; Unavailable) and `read_failed` (body_file or
// a multipart path that cannot be read). An HTTP error status is NOT a
// failure of Do(); Fetch() turns it into one.
class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  absl::StatusOr<HttpResponse> Do(const HttpRequest& request) const;

  // GET that succeeds only on 2xx. Otherwise: reason `rate_limited` (429),
  // `http_4xx` (NotFound for 404/410, else FailedPrecondition) or `http_5xx`
  // (Unavailable). A Retry-After on a 429 or 5xx is attached to the Status
  // (RetryAfterOf in common/runtime/reason.h). Only http(s) URLs.
  absl::StatusOr<HttpResponse> Fetch(const HttpRequest& request) const;

  const HttpClientOptions& options() const { return options_; }

 private:
  class HandlePool;

  HttpClientOptions options_;
  const CaBundleFile ca_bundle_;  // system CAs + options_.ca_file
  const std::unique_ptr<HandlePool> handles_;
};

// True when retrying the same request later may succeed (timeouts, 5xx,
// 429, connection failures); false for answers that will not change.
bool IsTemporary(const absl::Status& status);

}  // namespace niftysave::http
