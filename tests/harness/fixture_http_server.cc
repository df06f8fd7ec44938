#include "tests/harness/fixture_http_server.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/harness/script_server.h"

namespace niftysave::harness {
namespace {

absl::Status Error(absl::string_view what, const absl::Status& cause) {
  return absl::Status(cause.code(), absl::StrCat("FixtureHttpServer: ", what,
                                                 ": ", cause.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<FixtureHttpServer>> FixtureHttpServer::Start(
    std::string root_dir) {
  return Start(std::move(root_dir), 0, 0);
}

absl::StatusOr<std::unique_ptr<FixtureHttpServer>> FixtureHttpServer::Start(
    std::string root_dir, int http_port, int https_port) {
  return Start(std::move(root_dir), Options{}, http_port, https_port);
}

absl::StatusOr<std::unique_ptr<FixtureHttpServer>> FixtureHttpServer::Start(
    std::string root_dir, const Options& options) {
  return Start(std::move(root_dir), options, 0, 0);
}

absl::StatusOr<std::unique_ptr<FixtureHttpServer>> FixtureHttpServer::Start(
    std::string root_dir, const Options& options, int http_port,
    int https_port) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root_dir, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("FixtureHttpServer: not a directory: ", root_dir));
  }
  if (options.hosts.empty()) {
    return absl::InvalidArgumentError("FixtureHttpServer: no hosts");
  }
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-fixture");
  if (!dir.ok()) return Error("temp dir", dir.status());
  std::vector<std::string> args = {"--root", root_dir};
  if (options.delay_ms > 0) {
    args.insert(args.end(), {"--delay-ms", absl::StrCat(options.delay_ms)});
  }
  absl::StatusOr<TlsScriptProcess> started =
      StartTlsScript({.name = "FixtureHttpServer",
                      .script = "fixture_http_server.js",
                      .dir = dir->path(),
                      .log_name = "requests.log",
                      .args = args,
                      .ready_path = "/status/200",
                      .host = absl::StrJoin(options.hosts, ","),
                      .http_port = http_port,
                      .https_port = https_port});
  if (!started.ok()) return started.status();
  std::unique_ptr<FixtureHttpServer> server(new FixtureHttpServer(
      *std::move(dir), std::move(root_dir), options.hosts.front(),
      started->http_port, started->https_port));
  server->node_ = std::move(started->process);
  return server;
}

FixtureHttpServer::~FixtureHttpServer() { Stop().IgnoreError(); }

std::string FixtureHttpServer::http_url() const {
  return absl::StrCat("http://", host_, ":", http_port_);
}

std::string FixtureHttpServer::https_url() const {
  return absl::StrCat("https://", host_, ":", https_port_);
}

absl::Status FixtureHttpServer::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate();
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
