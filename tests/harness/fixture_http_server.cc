#include "tests/harness/fixture_http_server.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kScript[] =
    NIFTYSAVE_SOURCE_DIR "/tests/harness/fixture_http_server.js";

absl::Status Error(absl::string_view what, const absl::Status& cause) {
  return absl::Status(cause.code(), absl::StrCat("FixtureHttpServer: ", what,
                                                 ": ", cause.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<FixtureHttpServer>> FixtureHttpServer::Start(
    std::string root_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root_dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("FixtureHttpServer: not a directory: ", root_dir));
  }
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-fixture");
  if (!dir.ok()) return Error("temp dir", dir.status());
  const int http_port = PickFreePort();
  const int https_port = PickFreePort();
  std::unique_ptr<FixtureHttpServer> server(new FixtureHttpServer(
      *std::move(dir), std::move(root_dir), http_port, https_port));
  const std::string key_file = server->dir_.path() + "/key.pem";

  absl::StatusOr<std::string> openssl = RunCommand(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
       "-keyout", key_file, "-out", server->cert_file_},
      absl::Seconds(30));
  if (!openssl.ok()) return Error("certificate", openssl.status());

  absl::StatusOr<std::unique_ptr<Subprocess>> node = Subprocess::Start(
      {"node", kScript, "--root", server->root_dir_, "--http-port",
       absl::StrCat(http_port), "--https-port", absl::StrCat(https_port),
       "--cert", server->cert_file_, "--key", key_file},
      {}, server->dir_.path() + "/requests.log");
  if (!node.ok()) return Error("start", node.status());
  server->node_ = *std::move(node);

  const std::string http_probe = server->http_url() + "/status/200";
  const std::string https_probe = server->https_url() + "/status/200";
  absl::Status ready = WaitUntilReady(
      *server->node_, "FixtureHttpServer", absl::Seconds(30), [&] {
        absl::Status s = CheckHttp(http_probe);
        return s.ok() ? CheckHttp(https_probe, "GET", server->cert_file_) : s;
      });
  if (!ready.ok()) return ready;
  return server;
}

FixtureHttpServer::~FixtureHttpServer() { Stop().IgnoreError(); }

std::string FixtureHttpServer::http_url() const {
  return absl::StrCat("http://127.0.0.1:", http_port_);
}

std::string FixtureHttpServer::https_url() const {
  return absl::StrCat("https://127.0.0.1:", https_port_);
}

absl::Status FixtureHttpServer::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate();
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
