#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// A static file server over HTTP and HTTPS on 127.0.0.1 (node,
// fixture_http_server.js), standing in for the web servers that host NFT
// metadata. Besides files under root_dir it answers test routes:
// /status/<code>, /slow?ms=N, /drip?bytes=N&ms=M, /huge?bytes=N[&chunked=1],
// /redirect?to=<url-encoded>, /redirect-loop, /retry-after?s=N, and the
// hostile ones: /gzip-bomb?mb=N, /length-lie?claim=N, /bad-utf8, /bom-json,
// /deep-json?depth=N, /wrong-type (JSON as image/png), plus
// /sequence?key=K&codes=503,200&body=<file> (answers change per request) and
// /counter?key=K. fixture_http_server.js documents each.
// HTTPS uses a fresh self-signed certificate for 127.0.0.1 and localhost;
// clients must trust ca_file().
class FixtureHttpServer {
 public:
  // Files are read at request time, so tests may add them after Start.
  static absl::StatusOr<std::unique_ptr<FixtureHttpServer>> Start(
      std::string root_dir);
  // On fixed ports (0: a free one), so two runs serve the same URLs.
  static absl::StatusOr<std::unique_ptr<FixtureHttpServer>> Start(
      std::string root_dir, int http_port, int https_port);
  // Many web hosts in one process (bench/pipeline_bench): listens on each of
  // `hosts` (loopback addresses; the certificate names each) and holds every
  // file answer `delay_ms`. http_url()/https_url() name the first host.
  struct Options {
    std::vector<std::string> hosts = {"127.0.0.1"};
    int delay_ms = 0;
  };
  static absl::StatusOr<std::unique_ptr<FixtureHttpServer>> Start(
      std::string root_dir, const Options& options);
  ~FixtureHttpServer();

  std::string http_url() const;   // http://127.0.0.1:P
  std::string https_url() const;  // https://127.0.0.1:Q
  int http_port() const { return http_port_; }
  int https_port() const { return https_port_; }
  const std::string& ca_file() const { return cert_file_; }
  const std::string& root_dir() const { return root_dir_; }
  absl::Status Stop();  // idempotent

 private:
  static absl::StatusOr<std::unique_ptr<FixtureHttpServer>> Start(
      std::string root_dir, const Options& options, int http_port,
      int https_port);
  FixtureHttpServer(TempDir dir, std::string root_dir, std::string host,
                    int http_port, int https_port)
      : dir_(std::move(dir)),
        root_dir_(std::move(root_dir)),
        host_(std::move(host)),
        cert_file_(dir_.path() + "/cert.pem"),
        http_port_(http_port),
        https_port_(https_port) {}

  TempDir dir_;  // certificate, key and the request log
  std::string root_dir_;
  std::string host_;  // the first one listened on
  std::string cert_file_;
  int http_port_;
  int https_port_;
  std::unique_ptr<Subprocess> node_;
};

}  // namespace niftysave::harness
