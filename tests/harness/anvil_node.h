#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::harness {

// A local Ethereum node (foundry's anvil from the npm dev tools) on a free
// 127.0.0.1 port. Accounts come from anvil's default test mnemonic.
class AnvilNode {
 public:
  struct Options {
    int block_time_seconds = 0;  // 0: mine one block per transaction
    uint64_t chain_id = 31337;
    // More anvil flags, e.g. {"--prune-history", "1000"}.
    std::vector<std::string> extra_args;
  };

  // The first of anvil's funded default accounts, and its private key.
  static constexpr char kDevAccount[] =
      "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
  static constexpr char kDevPrivateKey[] =
      "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

  // Starts anvil and waits until eth_chainId answers; well under a second.
  static absl::StatusOr<std::unique_ptr<AnvilNode>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<AnvilNode>> Start() {
    return Start(Options());
  }
  ~AnvilNode();

  int port() const { return port_; }
  std::string rpc_url() const;  // http://127.0.0.1:PORT
  absl::Status Stop();          // idempotent
  // anvil's own directory: its log, and its HOME. anvil writes the state of
  // each block it no longer holds in memory under $HOME/.foundry/anvil/tmp
  // and leaves it there when stopped (a 200,000-token bench left 35 GB), so
  // its HOME is here, removed with the node.
  const std::string& dir() const { return dir_.path(); }

 private:
  AnvilNode(TempDir dir, int port) : dir_(std::move(dir)), port_(port) {}

  TempDir dir_;  // holds anvil.log and anvil's spilled states
  int port_;
  std::unique_ptr<Subprocess> anvil_;
};

}  // namespace niftysave::harness
