#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/script_server.h"

namespace niftysave::harness {

// A loopback STAND-IN for the IPFS Cluster REST API (v1): no cluster peer
// runs here. cluster_standin.js follows the published API (basic or bearer
// auth → 401, POST/GET /pins/{cid}, GET /pins?cids= streamed as one JSON
// object per line, POST /add streamed AddedOutput lines, `{code, message}`
// errors, 431 over 8 KiB of request headers, 413 over the add body limit)
// and builds added DAGs with the real js-ipfs node at `ipfs_api_url`. Its
// test hooks are under /_standin/.
class ClusterStandin {
 public:
  struct Options {
    std::string ipfs_api_url;  // the IpfsNode that /add imports into
    std::string basic_auth;    // "user:pass" required when set
    std::string token;         // bearer token required when set
    int peers = 3;
    size_t max_add_bytes = size_t{64} << 20;
  };
  static absl::StatusOr<std::unique_ptr<ClusterStandin>> Start(Options options);
  ~ClusterStandin();

  std::string url() const;  // http://127.0.0.1:P
  // Makes the next `times` API requests fail with `status` (and a
  // Retry-After header when retry_after_seconds > 0).
  absl::Status FailNext(int status, int times = 1, int retry_after_seconds = 0);
  // Puts every peer allocated to `cid` in pin_error.
  absl::Status SetPinError(const std::string& cid);
  // How many requests the stand-in saw for "METHOD /path" ("GET /pins",
  // "POST /pins/{cid}", "POST /add"), or "max_cids_per_request".
  absl::StatusOr<int> RequestCount(const std::string& key);
  absl::Status Stop();  // idempotent

 private:
  explicit ClusterStandin(std::unique_ptr<ScriptServer> server)
      : server_(std::move(server)) {}

  std::unique_ptr<ScriptServer> server_;
};

}  // namespace niftysave::harness
