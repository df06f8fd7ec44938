#include "tests/harness/hostile_http_server.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"
#include "tests/harness/script_server.h"

namespace niftysave::harness {
namespace {

absl::Status Error(absl::string_view what, const absl::Status& cause) {
  return absl::Status(cause.code(), absl::StrCat("HostileHttpServer: ", what,
                                                 ": ", cause.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HostileHttpServer>> HostileHttpServer::Start(
    int latency_ms) {
  return Start(Options{.latency_ms = latency_ms});
}

absl::StatusOr<std::unique_ptr<HostileHttpServer>> HostileHttpServer::Start(
    const Options& options) {
  std::vector<std::string> args = {"--latency-ms",
                                   absl::StrCat(options.latency_ms)};
  if (!options.gateway_redirect_to.empty()) {
    args.insert(args.end(),
                {"--gateway-redirect-to", options.gateway_redirect_to});
  }
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-hostile");
  if (!dir.ok()) return Error("temp dir", dir.status());
  absl::StatusOr<TlsScriptProcess> started =
      StartTlsScript({.name = "HostileHttpServer",
                      .script = "hostile_http_server.js",
                      .dir = dir->path(),
                      .log_name = "server.log",
                      .args = args,
                      .ready_path = "/_hostile/stats",
                      .host = options.host});
  if (!started.ok()) return started.status();
  std::unique_ptr<HostileHttpServer> server(new HostileHttpServer(
      *std::move(dir), options.host, started->http_port, started->https_port));
  server->node_ = std::move(started->process);
  return server;
}

HostileHttpServer::~HostileHttpServer() { Stop().IgnoreError(); }

std::string HostileHttpServer::http_url() const {
  return absl::StrCat("http://", host_, ":", http_port_);
}

std::string HostileHttpServer::https_url() const {
  return absl::StrCat("https://", host_, ":", https_port_);
}

int HostileHttpServer::pid() const {
  return node_ == nullptr ? 0 : node_->pid();
}

absl::StatusOr<HostileHttpServer::Stats> HostileHttpServer::GetStats() const {
  absl::StatusOr<HttpResponse> r =
      Fetch({.url = http_url() + "/_hostile/stats"});
  if (!r.ok()) return Error("stats", r.status());
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError("HostileHttpServer: bad stats: " + r->body);
  }
  Stats s;
  s.active = j.value("active", 0);
  s.peak_active = j.value("peak_active", 0);
  s.requests = j.value("requests", 0);
  s.h2_streams = j.value("h2_streams", 0);
  s.http_connections_peak = j["http"].value("peak", 0);
  s.https_connections_peak = j["https"].value("peak", 0);
  return s;
}

absl::Status HostileHttpServer::Reset() const {
  absl::StatusOr<HttpResponse> r =
      Fetch({.url = http_url() + "/_hostile/reset"});
  return r.status();
}

absl::Status HostileHttpServer::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate();
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
