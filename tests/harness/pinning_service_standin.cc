#include "tests/harness/pinning_service_standin.h"

namespace niftysave::harness {

absl::StatusOr<std::unique_ptr<PinningServiceStandin>>
PinningServiceStandin::Start(std::string token) {
  absl::StatusOr<std::unique_ptr<ScriptServer>> server =
      ScriptServer::Start({.name = "PinningServiceStandin",
                           .script = "pinning_service_standin.js",
                           .args = {"--token", token},
                           .ready_path = "/_standin/requests"});
  if (!server.ok()) return server.status();
  return std::unique_ptr<PinningServiceStandin>(
      new PinningServiceStandin(std::move(token), *std::move(server)));
}

PinningServiceStandin::~PinningServiceStandin() { (void)Stop(); }

std::string PinningServiceStandin::url() const { return server_->url(); }

absl::Status PinningServiceStandin::FailNext(int status,
                                             const std::string& reason,
                                             int times,
                                             int retry_after_seconds) {
  return server_->Post("/_standin/fail",
                       {{"status", status},
                        {"reason", reason},
                        {"times", times},
                        {"retry_after", retry_after_seconds}});
}

absl::Status PinningServiceStandin::SetDelay(absl::Duration delay) {
  return server_->Post("/_standin/delay",
                       {{"ms", absl::ToInt64Milliseconds(delay)}});
}

absl::StatusOr<int> PinningServiceStandin::RequestCount(
    const std::string& method_and_path) {
  return server_->Count("/_standin/requests", method_and_path);
}

absl::Status PinningServiceStandin::Stop() { return server_->Stop(); }

}  // namespace niftysave::harness
