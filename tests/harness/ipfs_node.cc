#include "tests/harness/ipfs_node.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kIpfsCli[] =
    NIFTYSAVE_NODE_TOOLS "/node_modules/ipfs/src/cli.js";

// js-ipfs 0.66 calls Promise.withResolvers, which Node 20 lacks.
constexpr char kPolyfill[] = R"js(Promise.withResolvers ??= () => {
  let a, b
  const p = new Promise((x, y) => { a = x; b = y })
  return { promise: p, resolve: a, reject: b }
}
)js";

absl::Status Error(absl::string_view what, const absl::Status& cause) {
  return absl::Status(cause.code(),
                      absl::StrCat("IpfsNode: ", what, ": ", cause.message()));
}

std::string Loopback(int port) {
  return absl::StrCat("/ip4/127.0.0.1/tcp/", port);
}

// Rewrites the config `ipfs init` generated so that nothing listens on a
// fixed port (js-ipfs defaults to 5002/9090/5003 and 4002/4003) and nothing
// tries to reach the network.
absl::Status ConfigureRepo(const std::string& config_path, int api_port,
                           int gateway_port, int rpc_port) {
  std::ifstream in(config_path);
  std::stringstream text;
  text << in.rdbuf();
  try {
    nlohmann::json config = nlohmann::json::parse(text.str());
    nlohmann::json& addresses = config["Addresses"];
    addresses["API"] = Loopback(api_port);
    addresses["Gateway"] = Loopback(gateway_port);
    // The gRPC-over-websocket server the daemon starts when this is set.
    addresses["RPC"] = Loopback(rpc_port) + "/ws";
    addresses["Swarm"] = {Loopback(0)};
    addresses["Delegates"] = nlohmann::json::array();
    config["Bootstrap"] = nlohmann::json::array();
    config["Discovery"]["MDNS"]["Enabled"] = false;
    config["Discovery"]["webRTCStar"]["Enabled"] = false;
    return WriteFile(config_path, config.dump(2));
  } catch (const nlohmann::json::exception& e) {
    return absl::InternalError(
        absl::StrCat("editing ", config_path, ": ", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<IpfsNode>> IpfsNode::Start() {
  return Start(Options());
}

absl::StatusOr<std::unique_ptr<IpfsNode>> IpfsNode::Start(Options options) {
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-ipfs");
  if (!dir.ok()) return Error("temp dir", dir.status());
  const std::string polyfill = dir->path() + "/polyfill.cjs";
  if (absl::Status s = WriteFile(polyfill, kPolyfill); !s.ok()) {
    return Error("polyfill", s);
  }
  const int api_port = options.api_port ? options.api_port : PickFreePort();
  const int gateway_port =
      options.gateway_port ? options.gateway_port : PickFreePort();
  std::unique_ptr<IpfsNode> node(
      new IpfsNode(*std::move(dir), api_port, gateway_port));
  absl::StatusOr<std::string> init = RunCommand(
      {"node", kIpfsCli, "init", "--algorithm=ed25519", "--empty-repo"},
      absl::Seconds(60), node->Env());
  if (!init.ok()) return Error("init", init.status());
  if (absl::Status s = ConfigureRepo(node->repo() + "/config", api_port,
                                     gateway_port, PickFreePort());
      !s.ok()) {
    return Error("config", s);
  }
  if (absl::Status s = node->Launch(); !s.ok()) return s;
  return node;
}

Subprocess::Env IpfsNode::Env() const {
  return {{"IPFS_PATH", repo()},
          {"NODE_OPTIONS", "--require " + dir_.path() + "/polyfill.cjs"}};
}

absl::Status IpfsNode::Launch() {
  // Preloading would announce every add to ipfs.io's preload nodes.
  absl::StatusOr<std::unique_ptr<Subprocess>> daemon = Subprocess::Start(
      {"node", kIpfsCli, "daemon", "--offline", "--enable-preload=false"},
      Env(), dir_.path() + "/ipfs.log");
  if (!daemon.ok()) return Error("daemon", daemon.status());
  daemon_ = *std::move(daemon);

  // The API comes up before the gateway, so wait for both.
  const std::string id_url = api_url() + "/api/v0/id";
  return WaitUntilReady(*daemon_, "IpfsNode", absl::Seconds(60), [&] {
    absl::Status api = CheckHttp(id_url, "POST");
    return api.ok() ? CheckTcp(gateway_port_) : api;
  });
}

absl::Status IpfsNode::Kill() {
  if (daemon_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = daemon_->Terminate(absl::Seconds(5), SIGKILL);
  daemon_.reset();
  return code.status();
}

absl::Status IpfsNode::Restart() {
  if (absl::Status s = Kill(); !s.ok()) return s;
  // A killed daemon leaves repo.lock behind, and js-ipfs refuses the repo
  // until the lock is 20 s old (ipfs-repo's STALE_TIME). Its holder is
  // known dead here, so the lock goes.
  std::error_code ec;
  std::filesystem::remove_all(repo() + "/repo.lock", ec);
  if (ec) return Error("removing repo.lock", absl::InternalError(ec.message()));
  return Launch();
}

IpfsNode::~IpfsNode() { Stop().IgnoreError(); }

std::string IpfsNode::api_url() const {
  return absl::StrCat("http://127.0.0.1:", api_port_);
}

std::string IpfsNode::gateway_url() const {
  return absl::StrCat("http://127.0.0.1:", gateway_port_);
}

absl::StatusOr<std::string> IpfsNode::Add(const std::string& content,
                                          const AddOptions& options) const {
  return AddParts({{options.filename, content}}, options.query, "",
                  options.timeout);
}

absl::StatusOr<std::string> IpfsNode::AddDirectory(
    const std::vector<std::pair<std::string, std::string>>& files,
    const std::string& query) const {
  std::vector<std::pair<std::string, std::string>> parts;
  for (const auto& [name, content] : files)
    parts.push_back({"d/" + name, content});
  return AddParts(parts, query, "d", absl::Seconds(120));
}

absl::StatusOr<std::string> IpfsNode::AddParts(
    const std::vector<std::pair<std::string, std::string>>& parts,
    const std::string& query, const std::string& name,
    absl::Duration timeout) const {
  const std::string boundary = "niftysave-harness-add-boundary";
  std::string body;
  for (const auto& [filename, content] : parts) {
    if (content.find(boundary) != std::string::npos) {
      return absl::InvalidArgumentError(
          "IpfsNode: add: content contains the multipart boundary");
    }
    absl::StrAppend(
        &body, "--", boundary,
        "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"",
        filename, "\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        content, "\r\n");
  }
  absl::StrAppend(&body, "--", boundary, "--\r\n");
  std::string url = api_url() + "/api/v0/add";
  if (!query.empty()) absl::StrAppend(&url, "?", query);
  absl::StatusOr<HttpResponse> r = Fetch(
      {.method = "POST",
       .url = url,
       .body = std::move(body),
       .headers = {"Content-Type: multipart/form-data; boundary=" + boundary},
       .timeout = timeout});
  if (!r.ok()) return Error("add", r.status());
  if (r->status != 200) {
    return absl::InternalError(
        absl::StrCat("IpfsNode: add: HTTP ", r->status, " ", r->body));
  }
  // One JSON object a line (progress lines first when asked for); the last
  // names the file, or the directory around the files.
  std::vector<absl::string_view> lines =
      absl::StrSplit(r->body, '\n', absl::SkipWhitespace());
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    const nlohmann::json answer = nlohmann::json::parse(
        it->begin(), it->end(), nullptr, /*allow_exceptions=*/false);
    if (!answer.is_object() || !answer.contains("Hash") ||
        !answer["Hash"].is_string()) {
      continue;
    }
    if (!name.empty() && answer.value("Name", "") != name) continue;
    return answer["Hash"].get<std::string>();
  }
  return absl::InternalError(
      absl::StrCat("IpfsNode: add: no Hash for '", name, "' in ", r->body));
}

absl::Status IpfsNode::Stop() {
  if (daemon_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = daemon_->Terminate();
  daemon_.reset();
  return code.status();
}

}  // namespace niftysave::harness
