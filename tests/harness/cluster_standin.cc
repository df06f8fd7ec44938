#include "tests/harness/cluster_standin.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kScript[] =
    NIFTYSAVE_SOURCE_DIR "/tests/harness/cluster_standin.js";

}  // namespace

absl::StatusOr<std::unique_ptr<ClusterStandin>> ClusterStandin::Start(
    Options options) {
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-cluster");
  if (!dir.ok()) return dir.status();
  const int port = PickFreePort();
  std::unique_ptr<ClusterStandin> server(
      new ClusterStandin(*std::move(dir), port));
  std::vector<std::string> argv = {"node",
                                   kScript,
                                   "--port",
                                   absl::StrCat(port),
                                   "--ipfs_api",
                                   options.ipfs_api_url,
                                   "--peers",
                                   absl::StrCat(options.peers),
                                   "--max_add_bytes",
                                   absl::StrCat(options.max_add_bytes)};
  if (!options.basic_auth.empty()) {
    argv.insert(argv.end(), {"--basic_auth", options.basic_auth});
  }
  if (!options.token.empty()) {
    argv.insert(argv.end(), {"--token", options.token});
  }
  absl::StatusOr<std::unique_ptr<Subprocess>> node =
      Subprocess::Start(argv, {}, server->dir_.path() + "/standin.log");
  if (!node.ok()) return node.status();
  server->node_ = *std::move(node);
  const std::string probe = server->url() + "/_standin/requests";
  absl::Status ready =
      WaitUntilReady(*server->node_, "ClusterStandin", absl::Seconds(30),
                     [&] { return CheckHttp(probe); });
  if (!ready.ok()) return ready;
  return server;
}

ClusterStandin::~ClusterStandin() { (void)Stop(); }

std::string ClusterStandin::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::Status ClusterStandin::PostHook(const std::string& path,
                                      const std::string& body) {
  absl::StatusOr<HttpResponse> r =
      Fetch({.method = "POST",
             .url = url() + path,
             .body = body,
             .headers = {"Content-Type: application/json"}});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(absl::StrCat(path, ": HTTP ", r->status));
  }
  return absl::OkStatus();
}

absl::Status ClusterStandin::FailNext(int status, int times,
                                      int retry_after_seconds) {
  return PostHook("/_standin/fail",
                  nlohmann::json{{"status", status},
                                 {"times", times},
                                 {"retry_after", retry_after_seconds}}
                      .dump());
}

absl::Status ClusterStandin::SetPinError(const std::string& cid) {
  return PostHook("/_standin/pin_error", nlohmann::json{{"cid", cid}}.dump());
}

absl::StatusOr<int> ClusterStandin::RequestCount(const std::string& key) {
  absl::StatusOr<HttpResponse> r = Fetch({.url = url() + "/_standin/requests"});
  if (!r.ok()) return r.status();
  nlohmann::json counts = nlohmann::json::parse(r->body, nullptr, false);
  if (!counts.is_object()) return absl::InternalError("RequestCount: bad JSON");
  return counts.value(key, 0);
}

absl::Status ClusterStandin::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate(absl::Seconds(5));
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
