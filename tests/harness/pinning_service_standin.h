#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/harness/script_server.h"

namespace niftysave::harness {

// A loopback STAND-IN for an IPFS Pinning Service (API v1.0.0): no real
// pinning service runs here. pinning_service_standin.js follows the
// published spec (bearer auth → 401, POST /pins → 202, the 10-CID filter
// limit → 400, `before`/`limit` pagination, Failure objects) and documents
// its test hooks under /_standin/.
class PinningServiceStandin {
 public:
  static absl::StatusOr<std::unique_ptr<PinningServiceStandin>> Start(
      std::string token);
  ~PinningServiceStandin();

  std::string url() const;  // http://127.0.0.1:P (append /pins)
  const std::string& token() const { return token_; }
  // Makes the next `times` spec requests fail with `status` and a Failure
  // whose reason is `reason` (e.g. 409 INSUFFICIENT_FUNDS).
  absl::Status FailNext(int status, const std::string& reason, int times = 1,
                        int retry_after_seconds = 0);
  // Holds every spec answer `delay` long (a slow service); zero: prompt.
  absl::Status SetDelay(absl::Duration delay);
  // How many requests the stand-in saw for "METHOD /path" ("GET /pins"), or
  // "POST /pins <cid>" for the pin requests of one CID.
  absl::StatusOr<int> RequestCount(const std::string& method_and_path);
  absl::Status Stop();  // idempotent

 private:
  PinningServiceStandin(std::string token, std::unique_ptr<ScriptServer> server)
      : token_(std::move(token)), server_(std::move(server)) {}

  std::string token_;
  std::unique_ptr<ScriptServer> server_;
};

}  // namespace niftysave::harness
