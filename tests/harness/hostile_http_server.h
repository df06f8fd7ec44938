#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// A loopback metadata server (node, hostile_http_server.js) that counts
// what clients do to it: requests answered at once and TCP connections per
// port, so tests can check a client's concurrency caps from the server's
// side. HTTP/1.1 on http_url(); HTTP/2 (and HTTP/1.1) over TLS on
// https_url(), with a fresh self-signed certificate (trust ca_file()).
// Routes: /meta/<n>.json (generated metadata after `latency_ms`), /slow,
// /drip, /endless, /length-lie, /gzip-bomb, /redirect-loop, /redirect,
// /retry-after, /status/<code>; the script documents each.
class HostileHttpServer {
 public:
  struct Stats {
    int active = 0;       // requests being answered now
    int peak_active = 0;  // most at once since the last Reset
    int requests = 0;
    int h2_streams = 0;  // of those, over HTTP/2
    int http_connections_peak = 0;
    int https_connections_peak = 0;
  };

  struct Options {
    int latency_ms = 0;
    // Another loopback address makes a second host outside an allow-list
    // of 127.0.0.1 (a canary that must never be reached).
    std::string host = "127.0.0.1";
    // When set, every request but the control routes answers 301 to this
    // base URL plus its path and query, as a subdomain gateway (or a CID's
    // _redirects file) does.
    std::string gateway_redirect_to;
  };
  static absl::StatusOr<std::unique_ptr<HostileHttpServer>> Start(
      int latency_ms = 0);
  static absl::StatusOr<std::unique_ptr<HostileHttpServer>> Start(
      const Options& options);
  ~HostileHttpServer();

  std::string http_url() const;   // http://<host>:P
  std::string https_url() const;  // https://<host>:Q
  const std::string& ca_file() const { return cert_file_; }
  int pid() const;
  absl::StatusOr<Stats> GetStats() const;
  absl::Status Reset() const;  // peaks and counters back to now
  absl::Status Stop();         // idempotent

 private:
  HostileHttpServer(TempDir dir, std::string host, int http_port,
                    int https_port)
      : dir_(std::move(dir)),
        host_(std::move(host)),
        cert_file_(dir_.path() + "/cert.pem"),
        http_port_(http_port),
        https_port_(https_port) {}

  TempDir dir_;
  std::string host_;
  std::string cert_file_;
  int http_port_;
  int https_port_;
  std::unique_ptr<Subprocess> node_;
};

}  // namespace niftysave::harness
