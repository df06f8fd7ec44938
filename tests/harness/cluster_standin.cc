#include "tests/harness/cluster_standin.h"

#include "absl/strings/str_cat.h"

namespace niftysave::harness {

absl::StatusOr<std::unique_ptr<ClusterStandin>> ClusterStandin::Start(
    Options options) {
  std::vector<std::string> args = {
      "--ipfs_api",      options.ipfs_api_url,
      "--peers",         absl::StrCat(options.peers),
      "--max_add_bytes", absl::StrCat(options.max_add_bytes)};
  if (!options.basic_auth.empty()) {
    args.insert(args.end(), {"--basic_auth", options.basic_auth});
  }
  if (!options.token.empty()) {
    args.insert(args.end(), {"--token", options.token});
  }
  absl::StatusOr<std::unique_ptr<ScriptServer>> server =
      ScriptServer::Start({.name = "ClusterStandin",
                           .script = "cluster_standin.js",
                           .args = std::move(args),
                           .ready_path = "/_standin/requests"});
  if (!server.ok()) return server.status();
  return std::unique_ptr<ClusterStandin>(
      new ClusterStandin(*std::move(server)));
}

ClusterStandin::~ClusterStandin() { (void)Stop(); }

std::string ClusterStandin::url() const { return server_->url(); }

absl::Status ClusterStandin::FailNext(int status, int times,
                                      int retry_after_seconds) {
  return server_->Post("/_standin/fail",
                       {{"status", status},
                        {"times", times},
                        {"retry_after", retry_after_seconds}});
}

absl::Status ClusterStandin::SetPinError(const std::string& cid) {
  return server_->Post("/_standin/pin_error", {{"cid", cid}});
}

absl::StatusOr<int> ClusterStandin::RequestCount(const std::string& key) {
  return server_->Count("/_standin/requests", key);
}

absl::Status ClusterStandin::Stop() { return server_->Stop(); }

}  // namespace niftysave::harness
