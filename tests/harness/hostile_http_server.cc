#include "tests/harness/hostile_http_server.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kScript[] =
    NIFTYSAVE_SOURCE_DIR "/tests/harness/hostile_http_server.js";

absl::Status Error(absl::string_view what, const absl::Status& cause) {
  return absl::Status(cause.code(), absl::StrCat("HostileHttpServer: ", what,
                                                 ": ", cause.message()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<HostileHttpServer>> HostileHttpServer::Start(
    int latency_ms) {
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-hostile");
  if (!dir.ok()) return Error("temp dir", dir.status());
  const int http_port = PickFreePort();
  const int https_port = PickFreePort();
  std::unique_ptr<HostileHttpServer> server(
      new HostileHttpServer(*std::move(dir), http_port, https_port));
  const std::string key_file = server->dir_.path() + "/key.pem";
  absl::StatusOr<std::string> openssl = RunCommand(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
       "-keyout", key_file, "-out", server->cert_file_},
      absl::Seconds(30));
  if (!openssl.ok()) return Error("certificate", openssl.status());
  absl::StatusOr<std::unique_ptr<Subprocess>> node = Subprocess::Start(
      {"node", kScript, "--http-port", absl::StrCat(http_port), "--https-port",
       absl::StrCat(https_port), "--cert", server->cert_file_, "--key",
       key_file, "--latency-ms", absl::StrCat(latency_ms)},
      {}, server->dir_.path() + "/server.log");
  if (!node.ok()) return Error("start", node.status());
  server->node_ = *std::move(node);
  const std::string http_probe = server->http_url() + "/_hostile/stats";
  const std::string https_probe = server->https_url() + "/_hostile/stats";
  absl::Status ready = WaitUntilReady(
      *server->node_, "HostileHttpServer", absl::Seconds(30), [&] {
        absl::Status s = CheckHttp(http_probe);
        return s.ok() ? CheckHttp(https_probe, "GET", server->cert_file_) : s;
      });
  if (!ready.ok()) return ready;
  return server;
}

HostileHttpServer::~HostileHttpServer() { Stop().IgnoreError(); }

std::string HostileHttpServer::http_url() const {
  return absl::StrCat("http://127.0.0.1:", http_port_);
}

std::string HostileHttpServer::https_url() const {
  return absl::StrCat("https://127.0.0.1:", https_port_);
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
