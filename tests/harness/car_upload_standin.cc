#include "tests/harness/car_upload_standin.h"

#include "absl/strings/str_cat.h"

namespace niftysave::harness {

absl::StatusOr<std::unique_ptr<CarUploadStandin>> CarUploadStandin::Start(
    std::string token, uint64_t max_bytes) {
  absl::StatusOr<std::unique_ptr<ScriptServer>> server = ScriptServer::Start(
      {.name = "CarUploadStandin",
       .script = "car_upload_standin.js",
       .args = {"--token", token, "--max_bytes", absl::StrCat(max_bytes)},
       .ready_path = "/_standin/requests"});
  if (!server.ok()) return server.status();
  return std::unique_ptr<CarUploadStandin>(
      new CarUploadStandin(std::move(token), *std::move(server)));
}

CarUploadStandin::~CarUploadStandin() { (void)Stop(); }

std::string CarUploadStandin::url() const { return server_->url(); }

absl::Status CarUploadStandin::FailNext(int status, int times,
                                        int retry_after_seconds) {
  return server_->Post("/_standin/fail",
                       {{"status", status},
                        {"times", times},
                        {"retry_after", retry_after_seconds}});
}

absl::StatusOr<int> CarUploadStandin::RequestCount(
    const std::string& method_and_path) {
  return server_->Count("/_standin/requests", method_and_path);
}

absl::StatusOr<std::vector<CarUploadStandin::Upload>>
CarUploadStandin::Uploads() {
  absl::StatusOr<nlohmann::json> list = server_->GetJson("/_standin/uploads");
  if (!list.ok()) return list.status();
  if (!list->is_array()) return absl::InternalError("Uploads: bad JSON");
  std::vector<Upload> out;
  for (const nlohmann::json& u : *list) {
    out.push_back({.root = u.value("root", ""),
                   .bytes = u.value("bytes", uint64_t{0}),
                   .blocks = u.value("blocks", uint64_t{0})});
  }
  return out;
}

absl::Status CarUploadStandin::Stop() { return server_->Stop(); }

}  // namespace niftysave::harness
