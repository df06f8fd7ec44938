#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// A Node.js server script from tests/harness (a stand-in for a third-party
// API) run as `node SCRIPT --port P ARGS...` on a free 127.0.0.1 port, with
// its log in a temp dir, and stopped when destroyed. The stand-ins are thin
// typed wrappers around one of these and its /_standin/ control paths.
class ScriptServer {
 public:
  struct Spec {
    std::string name;    // "ClusterStandin": in errors and the temp dir
    std::string script;  // file name in tests/harness
    std::vector<std::string> args;  // after --port P
    std::string ready_path;         // answered once the server is up
  };
  // `dir`, when given, is the temp dir to use (a caller that writes a
  // fixture into it first); otherwise one is made.
  static absl::StatusOr<std::unique_ptr<ScriptServer>> Start(
      Spec spec, std::optional<TempDir> dir = std::nullopt);
  ~ScriptServer();

  std::string url() const;  // http://127.0.0.1:P
  const std::string& dir() const { return dir_.path(); }

  // POSTs `body` as JSON to `path`; anything but 200 is an error.
  absl::Status Post(const std::string& path, const nlohmann::json& body) const;
  // GETs `path` and parses the JSON answer.
  absl::StatusOr<nlohmann::json> GetJson(const std::string& path) const;
  // The number at `key` of the JSON object at `path`, 0 when absent.
  absl::StatusOr<int> Count(const std::string& path,
                            const std::string& key) const;
  absl::Status Stop();  // idempotent

 private:
  ScriptServer(std::string name, TempDir dir, int port)
      : name_(std::move(name)), dir_(std::move(dir)), port_(port) {}

  std::string name_;
  TempDir dir_;
  int port_;
  std::unique_ptr<Subprocess> node_;
};

// A web server script from tests/harness that serves HTTP/1.1 on one free
// 127.0.0.1 port and HTTPS on another, with a fresh self-signed certificate
// for 127.0.0.1 and localhost: the start-up FixtureHttpServer and
// HostileHttpServer share. Run as `node SCRIPT --http-port P --https-port Q
// --cert C --key K ARGS...`.
struct TlsScriptSpec {
  std::string name;      // "FixtureHttpServer": in errors
  std::string script;    // file name in tests/harness
  std::string dir;       // cert.pem, key.pem and the log are written here
  std::string log_name;  // the script's output, in `dir`
  std::vector<std::string> args{};  // after the ports, certificate and key
  std::string ready_path;           // answered on both ports once up
  // Another loopback address (127.0.0.2, ...) for a second "host" that an
  // allow-list of 127.0.0.1 does not cover; passed as --host when set. A
  // comma-separated list is several hosts (the certificate names each; the
  // readiness probe asks the first).
  std::string host = "127.0.0.1";
  // 0: a free port.
  int http_port = 0;
  int https_port = 0;
};
struct TlsScriptProcess {
  std::unique_ptr<Subprocess> process;
  int http_port = 0;
  int https_port = 0;
  std::string cert_file;  // `dir`/cert.pem: the PEM clients must trust
};
// Makes the certificate, starts the script and waits until `ready_path`
// answers over HTTP and HTTPS (30 s at most).
absl::StatusOr<TlsScriptProcess> StartTlsScript(const TlsScriptSpec& spec);

}  // namespace niftysave::harness
