#pragma once

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// An offline js-ipfs daemon (kubo-compatible RPC API and a read-only gateway)
// with a fresh empty repo and every listener on a free 127.0.0.1 port, so
// several nodes can run side by side. See TESTBED.md for js-ipfs pitfalls:
// pass `timeout=` to pin/add and cat of content the node does not have.
class IpfsNode {
 public:
  // `ipfs init` plus daemon start; about 3-4 s in total.
  static absl::StatusOr<std::unique_ptr<IpfsNode>> Start();
  ~IpfsNode();

  std::string api_url() const;      // http://127.0.0.1:P (append /api/v0/...)
  std::string gateway_url() const;  // http://127.0.0.1:G (append /ipfs/CID)
  absl::Status Stop();              // idempotent

 private:
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
