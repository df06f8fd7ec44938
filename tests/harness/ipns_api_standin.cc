#include "tests/harness/ipns_api_standin.h"

namespace niftysave::harness {

absl::StatusOr<std::unique_ptr<IpnsApiStandin>> IpnsApiStandin::Start() {
  absl::StatusOr<std::unique_ptr<ScriptServer>> server =
      ScriptServer::Start({.name = "IpnsApiStandin",
                           .script = "ipns_api_standin.js",
                           .ready_path = "/_standin/requests"});
  if (!server.ok()) return server.status();
  return std::unique_ptr<IpnsApiStandin>(
      new IpnsApiStandin(*std::move(server)));
}

IpnsApiStandin::~IpnsApiStandin() { (void)Stop(); }

std::string IpnsApiStandin::url() const { return server_->url(); }

absl::Status IpnsApiStandin::SetRecord(const std::string& name,
                                       const std::string& value) {
  return server_->Post("/_standin/records", {{"name", name}, {"value", value}});
}

absl::Status IpnsApiStandin::AnswerNextWith(int status,
                                            const std::string& body) {
  return server_->Post("/_standin/raw", {{"status", status}, {"body", body}});
}

absl::StatusOr<int> IpnsApiStandin::RequestCount(
    const std::string& method_and_path) {
  return server_->Count("/_standin/requests", method_and_path);
}

absl::Status IpnsApiStandin::Stop() { return server_->Stop(); }

}  // namespace niftysave::harness
