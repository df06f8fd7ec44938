#include "tests/harness/car_upload_standin.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/harness/net.h"

namespace niftysave::harness {
namespace {

constexpr char kScript[] =
    NIFTYSAVE_SOURCE_DIR "/tests/harness/car_upload_standin.js";

}  // namespace

absl::StatusOr<std::unique_ptr<CarUploadStandin>> CarUploadStandin::Start(
    std::string token, uint64_t max_bytes) {
  absl::StatusOr<TempDir> dir = TempDir::Create("niftysave-carupload");
  if (!dir.ok()) return dir.status();
  const int port = PickFreePort();
  std::unique_ptr<CarUploadStandin> server(
      new CarUploadStandin(*std::move(dir), std::move(token), port));
  absl::StatusOr<std::unique_ptr<Subprocess>> node = Subprocess::Start(
      {"node", kScript, "--port", absl::StrCat(port), "--token", server->token_,
       "--max_bytes", absl::StrCat(max_bytes)},
      {}, server->dir_.path() + "/standin.log");
  if (!node.ok()) return node.status();
  server->node_ = *std::move(node);
  const std::string probe = server->url() + "/_standin/requests";
  absl::Status ready =
      WaitUntilReady(*server->node_, "CarUploadStandin", absl::Seconds(30),
                     [&] { return CheckHttp(probe); });
  if (!ready.ok()) return ready;
  return server;
}

CarUploadStandin::~CarUploadStandin() { (void)Stop(); }

std::string CarUploadStandin::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::Status CarUploadStandin::FailNext(int status, int times,
                                        int retry_after_seconds) {
  nlohmann::json body = {{"status", status},
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

absl::StatusOr<int> CarUploadStandin::RequestCount(
    const std::string& method_and_path) {
  absl::StatusOr<HttpResponse> r = Fetch({.url = url() + "/_standin/requests"});
  if (!r.ok()) return r.status();
  nlohmann::json counts = nlohmann::json::parse(r->body, nullptr, false);
  if (!counts.is_object()) return absl::InternalError("RequestCount: bad JSON");
  return counts.value(method_and_path, 0);
}

absl::StatusOr<std::vector<CarUploadStandin::Upload>>
CarUploadStandin::Uploads() {
  absl::StatusOr<HttpResponse> r = Fetch({.url = url() + "/_standin/uploads"});
  if (!r.ok()) return r.status();
  nlohmann::json list = nlohmann::json::parse(r->body, nullptr, false);
  if (!list.is_array()) return absl::InternalError("Uploads: bad JSON");
  std::vector<Upload> out;
  for (const nlohmann::json& u : list) {
    out.push_back({.root = u.value("root", ""),
                   .bytes = u.value("bytes", uint64_t{0}),
                   .blocks = u.value("blocks", uint64_t{0})});
  }
  return out;
}

absl::Status CarUploadStandin::Stop() {
  if (node_ == nullptr) return absl::OkStatus();
  absl::StatusOr<int> code = node_->Terminate(absl::Seconds(5));
  node_.reset();
  return code.status();
}

}  // namespace niftysave::harness
