#include "tests/harness/pinning_service_standin.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kScript[] =
    NIFTYSAVE_SOURCE_DIR "/tests/harness/pinning_service_standin.js";

}  // namespace

absl::StatusOr<std::unique_ptr<PinningServiceStandin>>
PinningServiceStandin::Start(std::string token) {
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-pinsvc");
  if (!dir.ok()) return dir.status();
  const int port = PickFreePort();
  std::unique_ptr<PinningServiceStandin> server(
      new PinningServiceStandin(*std::move(dir), std::move(token), port));
  absl::StatusOr<std::unique_ptr<Subprocess>> node =
      Subprocess::Start({"node", kScript, "--port", absl::StrCat(port),
                         "--token", server->token_},
                        {}, server->dir_.path() + "/standin.log");
  if (!node.ok()) return node.status();
  server->node_ = *std::move(node);
  const std::string probe = server->url() + "/_standin/requests";
  absl::Status ready =
      WaitUntilReady(*server->node_, "PinningServiceStandin", absl::Seconds(30),
                     [&] { return CheckHttp(probe); });
  if (!ready.ok()) return ready;
  return server;
}

PinningServiceStandin::~PinningServiceStandin() { (void)Stop(); }

std::string PinningServiceStandin::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::Status PinningServiceStandin::FailNext(int status,
                                             const std::string& reason,
                                             int times,
                                             int retry_after_seconds) {
  nlohmann::json body = {{"status", status},
                         {"reason", reason},
                         {"times", times},
                         {"retry_after", retry_after_seconds}};
  absl::StatusOr<HttpResponse> r =
      Fetch({.method = "POST",
             .url = url() + "/_standin/fail",
             .body = body.dump(),
             .headers = {"Content-Type: application/json"}});
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(absl::StrCat("FailNext: HTTP ", r->status));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PinningServiceStandin::RequestCount(
    const std::string& method_and_path) {
  absl::StatusOr<HttpResponse> r = Fetch({.url = url() + "/_standin/requests"});
  if (!r.ok()) return r.status();
  nlohmann::json counts = nlohmann::json::parse(r->body, nullptr, false);
  if (!counts.is_object()) return absl::InternalError("RequestCount: bad JSON");
  return counts.value(method_and_path, 0);
}

absl::Status PinningServiceStandin::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate(absl::Seconds(5));
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
