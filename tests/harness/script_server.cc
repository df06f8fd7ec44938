#include "tests/harness/script_server.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tests/harness/net.h"

namespace niftysave::harness {

absl::StatusOr<std::unique_ptr<ScriptServer>> ScriptServer::Start(
    Spec spec, std::optional<TempDir> dir) {
  if (!dir.has_value()) {
    absl::StatusOr<TempDir> made =
        TempDir::Create("niftysave-" + absl::AsciiStrToLower(spec.name));
    if (!made.ok()) return made.status();
    dir.emplace(*std::move(made));
  }
  const int port = PickFreePort();
  std::unique_ptr<ScriptServer> server(
      new ScriptServer(spec.name, *std::move(dir), port));
  std::vector<std::string> argv = {
      "node", absl::StrCat(NIFTYSAVE_SOURCE_DIR "/tests/harness/", spec.script),
      "--port", absl::StrCat(port)};
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  absl::StatusOr<std::unique_ptr<Subprocess>> node =
      Subprocess::Start(argv, {}, server->dir() + "/standin.log");
  if (!node.ok()) return node.status();
  server->node_ = *std::move(node);
  const std::string probe = server->url() + spec.ready_path;
  absl::Status ready =
      WaitUntilReady(*server->node_, spec.name, absl::Seconds(30),
                     [&] { return CheckHttp(probe); });
  if (!ready.ok()) return ready;
  return server;
}

absl::StatusOr<TlsScriptProcess> StartTlsScript(const TlsScriptSpec& spec) {
  auto error = [&](absl::string_view what, const absl::Status& cause) {
    return absl::Status(cause.code(), absl::StrCat(spec.name, ": ", what, ": ",
                                                   cause.message()));
  };
  TlsScriptProcess started;
  started.http_port = spec.http_port ? spec.http_port : PickFreePort();
  started.https_port = spec.https_port ? spec.https_port : PickFreePort();
  started.cert_file = spec.dir + "/cert.pem";
  const std::string key_file = spec.dir + "/key.pem";
  // spec.host may list several addresses: the certificate names each.
  const std::vector<std::string> hosts = absl::StrSplit(spec.host, ',');
  std::string san;
  for (const std::string& host : hosts) absl::StrAppend(&san, "IP:", host, ",");
  absl::StatusOr<std::string> openssl =
      RunCommand({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                  "-subj", "/CN=127.0.0.1", "-addext",
                  absl::StrCat("subjectAltName=", san, "DNS:localhost"),
                  "-keyout", key_file, "-out", started.cert_file},
                 absl::Seconds(30));
  if (!openssl.ok()) return error("certificate", openssl.status());

  std::vector<std::string> argv = {
      "node",
      absl::StrCat(NIFTYSAVE_SOURCE_DIR "/tests/harness/", spec.script),
      "--http-port",
      absl::StrCat(started.http_port),
      "--https-port",
      absl::StrCat(started.https_port),
      "--cert",
      started.cert_file,
      "--key",
      key_file};
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  if (spec.host != "127.0.0.1") {
    argv.push_back("--host");
    argv.push_back(spec.host);
  }
  absl::StatusOr<std::unique_ptr<Subprocess>> node =
      Subprocess::Start(argv, {}, spec.dir + "/" + spec.log_name);
  if (!node.ok()) return error("start", node.status());
  started.process = *std::move(node);

  const std::string http_probe = absl::StrCat(
      "http://", hosts.front(), ":", started.http_port, spec.ready_path);
  const std::string https_probe = absl::StrCat(
      "https://", hosts.front(), ":", started.https_port, spec.ready_path);
  absl::Status ready =
      WaitUntilReady(*started.process, spec.name, absl::Seconds(30), [&] {
        absl::Status s = CheckHttp(http_probe);
        return s.ok() ? CheckHttp(https_probe, "GET", started.cert_file) : s;
      });
  if (!ready.ok()) return ready;
  return started;
}

ScriptServer::~ScriptServer() { (void)Stop(); }

std::string ScriptServer::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::Status ScriptServer::Post(const std::string& path,
                                const nlohmann::json& body) const {
  absl::StatusOr<HttpResponse> r =
      Fetch({.method = "POST",
             .url = url() + path,
             .body = body.dump(),
             .headers = {"Content-Type: application/json"}});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(
        absl::StrCat(name_, " ", path, ": HTTP ", r->status));
  }
  return absl::OkStatus();
}

absl::StatusOr<nlohmann::json> ScriptServer::GetJson(
    const std::string& path) const {
  absl::StatusOr<HttpResponse> r = Fetch({.url = url() + path});
  if (!r.ok()) return r.status();
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) {
    return absl::InternalError(
        absl::StrCat(name_, " ", path, ": not JSON (HTTP ", r->status, ")"));
  }
  return j;
}

absl::StatusOr<int> ScriptServer::Count(const std::string& path,
                                        const std::string& key) const {
  absl::StatusOr<nlohmann::json> counts = GetJson(path);
  if (!counts.ok()) return counts.status();
  if (!counts->is_object()) {
    return absl::InternalError(
        absl::StrCat(name_, " ", path, ": not an object"));
  }
  return counts->value(key, 0);
}

absl::Status ScriptServer::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate(absl::Seconds(5));
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
