#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// A Node.js server script from tests/harness (a stand-in for a third-party
// API) run as `node SCRIPT --port P ARGS...` on a free 127.0.0.1 port, with
// its log in a temp dir, and stopped when destroyed. The stand-ins are thin
// typed wrappers around one of these and its /_standin/ control paths.
class ScriptServer {
 public:
  struct Spec {
    std::string name;    // "ClusterStandin": in errors and the temp dir
    std::string script;  // file name in tests/harness
    std::vector<std::string> args;  // after --port P
    std::string ready_path;         // answered once the server is up
  };
  // `dir`, when given, is the temp dir to use (a caller that writes a
  // fixture into it first); otherwise one is made.
  static absl::StatusOr<std::unique_ptr<ScriptServer>> Start(
      Spec spec, std::optional<TempDir> dir = std::nullopt);
  ~ScriptServer();

  std::string url() const;  // http://127.0.0.1:P
  const std::string& dir() const { return dir_.path(); }

  // POSTs `body` as JSON to `path`; anything but 200 is an error.
  absl::Status Post(const std::string& path, const nlohmann::json& body) const;
  // GETs `path` and parses the JSON answer.
  absl::StatusOr<nlohmann::json> GetJson(const std::string& path) const;
  // The number at `key` of the JSON object at `path`, 0 when absent.
  absl::StatusOr<int> Count(const std::string& path,
                            const std::string& key) const;
  absl::Status Stop();  // idempotent

 private:
  ScriptServer(std::string name, TempDir dir, int port)
      : name_(std::move(name)), dir_(std::move(dir)), port_(port) {}

  std::string name_;
  TempDir dir_;
  int port_;
  std::unique_ptr<Subprocess> node_;
};

}  // namespace niftysave::harness
