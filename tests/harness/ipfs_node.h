#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// An offline js-ipfs daemon (kubo-compatible RPC API and a read-only gateway)
// with a fresh empty repo and every listener on a free 127.0.0.1 port, so
// several nodes can run side by side. See TESTBED.md for js-ipfs pitfalls:
// pass `timeout=` to pin/add and cat of content the node does not have.
class IpfsNode {
 public:
  struct Options {
    // 0: a free port. A fixed gateway port lets two runs write the same
    // gateway URLs into their content (and so get the same CIDs).
    int api_port = 0;
    int gateway_port = 0;
  };
  // `ipfs init` plus daemon start; about 3-4 s in total.
  static absl::StatusOr<std::unique_ptr<IpfsNode>> Start();
  static absl::StatusOr<std::unique_ptr<IpfsNode>> Start(Options options);
  ~IpfsNode();

  std::string api_url() const;      // http://127.0.0.1:P (append /api/v0/...)
  std::string gateway_url() const;  // http://127.0.0.1:G (append /ipfs/CID)

  struct AddOptions {
    // The /api/v0/add query, e.g. "cid-version=1&cid-base=base32" or
    // "only-hash=true" (computes the CID and stores nothing); empty for the
    // node's defaults (CIDv0).
    std::string query{};
    std::string filename = "f";
    absl::Duration timeout = absl::Seconds(30);
  };
  // Adds `content` as one file through the RPC API with the harness's own
  // HTTP client (so a test does not need the code under test to put content
  // on the node) and returns the CID the node printed ("Hash").
  absl::StatusOr<std::string> Add(const std::string& content,
                                  const AddOptions& options) const;
  absl::StatusOr<std::string> Add(const std::string& content) const {
    return Add(content, AddOptions{});
  }

  // Adds `files` (name, content) as one directory "d" holding them and
  // returns the directory's CID, in the CID version `query` asks for.
  absl::StatusOr<std::string> AddDirectory(
      const std::vector<std::pair<std::string, std::string>>& files,
      const std::string& query = "cid-version=1&cid-base=base32") const;

  absl::Status Stop();  // idempotent
  // kill -9 of the daemon (a crash); the repo stays. Idempotent.
  absl::Status Kill();
  // Kills the daemon if it runs and starts it again on the same repo and
  // ports, past the stale repo.lock a kill leaves.
  absl::Status Restart();

  int api_port() const { return api_port_; }
  int gateway_port() const { return gateway_port_; }

 private:
  std::string repo() const { return dir_.path() + "/repo"; }
  Subprocess::Env Env() const;
  // Starts the daemon on the repo and waits for its API and gateway.
  absl::Status Launch();

  // POSTs (filename, content) parts to /api/v0/add?`query` and returns the
  // Hash of the line named `name` ("" for the last line).
  absl::StatusOr<std::string> AddParts(
      const std::vector<std::pair<std::string, std::string>>& parts,
      const std::string& query, const std::string& name,
      absl::Duration timeout) const;

  IpfsNode(TempDir dir, int api_port, int gateway_port)
      : dir_(std::move(dir)),
        api_port_(api_port),
        gateway_port_(gateway_port) {}

  TempDir dir_;  // repo, polyfill and ipfs.log
  int api_port_;
  int gateway_port_;
  std::unique_ptr<Subprocess> daemon_;
};

}  // namespace niftysave::harness
