#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/script_server.h"

namespace niftysave::harness {

// A loopback STAND-IN for an nft.storage-style CAR upload service: no such
// service runs here. car_upload_standin.js follows the nft.storage HTTP API
// (bearer auth → 401, POST /upload of application/car → 200
// {"ok":true,"value":{"cid",…}}, GET /check/{cid} → value.pin.status, 404
// unknown, 413 over the size limit, `{"ok":false,"error":{name,message}}`
// errors). It parses every CAR and verifies each block's hash with node's
// crypto (400 otherwise), and reports a root `pinned` only once every block
// of its DAG has arrived across uploads. Test hooks are under /_standin/.
class CarUploadStandin {
 public:
  static absl::StatusOr<std::unique_ptr<CarUploadStandin>> Start(
      std::string token, uint64_t max_bytes = 100'000'000);
  ~CarUploadStandin();

  std::string url() const;  // http://127.0.0.1:P
  const std::string& token() const { return token_; }
  // Makes the next `times` API requests fail with `status` (and a
  // Retry-After header when retry_after_seconds > 0).
  absl::Status FailNext(int status, int times = 1, int retry_after_seconds = 0);
  // How many requests the stand-in saw for "METHOD /path" ("POST /upload",
  // "GET /check/{cid}").
  absl::StatusOr<int> RequestCount(const std::string& method_and_path);
  struct Upload {
    std::string root;
    uint64_t bytes = 0;
    uint64_t blocks = 0;
  };
  // Every CAR the stand-in accepted, in order.
  absl::StatusOr<std::vector<Upload>> Uploads();
  absl::Status Stop();  // idempotent

 private:
  CarUploadStandin(std::string token, std::unique_ptr<ScriptServer> server)
      : token_(std::move(token)), server_(std::move(server)) {}

  std::string token_;
  std::unique_ptr<ScriptServer> server_;
};

}  // namespace niftysave::harness
