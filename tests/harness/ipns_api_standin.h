#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/script_server.h"

namespace niftysave::harness {

// A loopback STAND-IN for kubo's RPC `POST /api/v0/name/resolve`: the
// test bed's js-ipfs node runs offline and will not name/publish, so no IPNS
// name it could resolve can be made. ipns_api_standin.js answers as the kubo
// RPC reference documents (POST only, `arg`, `recursive`, {"Path": ...},
// kubo's error objects) from the records a test sets.
class IpnsApiStandin {
 public:
  static absl::StatusOr<std::unique_ptr<IpnsApiStandin>> Start();
  ~IpnsApiStandin();

  std::string url() const;  // http://127.0.0.1:P (append /api/v0/...)
  // Publishes `value` ("/ipfs/<cid>[/path]" or "/ipns/<other>") for `name`.
  absl::Status SetRecord(const std::string& name, const std::string& value);
  // The next name/resolve is answered with exactly this status and body.
  absl::Status AnswerNextWith(int status, const std::string& body);
  // How many requests the stand-in saw for "METHOD /path".
  absl::StatusOr<int> RequestCount(const std::string& method_and_path);
  absl::Status Stop();  // idempotent

 private:
  explicit IpnsApiStandin(std::unique_ptr<ScriptServer> server)
      : server_(std::move(server)) {}

  std::unique_ptr<ScriptServer> server_;
};

}  // namespace niftysave::harness
