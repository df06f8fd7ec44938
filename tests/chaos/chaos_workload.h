#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/integration/local_pipeline.h"

namespace niftysave::chaos {

// A seeded collection of every kind of token URI (ipfs://, gateway URL,
// https:// with its own or a shared image, data: base64, a 404, a URI that
// is not one) on the demo ERC-721, plus ERC-1155 tokens with per-token URIs,
// and a few transfers of both. Images come from a small pool so resources
// and pins are shared across tokens and kinds. The same seed writes the same
// bytes and sends the same transactions in every run, so two runs on the
// same public ports (LocalPipeline::Options::ports) must end in the same
// records.
class Workload {
 public:
  Workload(uint64_t seed, int tokens);

  // Deploys the contracts and puts the content on the IPFS node and the
  // web server.
  absl::Status Prepare(pipeline::LocalPipeline& p);
  // Mints wave `wave` of `waves` (every waves-th token; ERC-721 in
  // batches, ERC-1155 after its setURI), then confirms. Runs that mint the
  // same waves in the same order build the same chain, pauses or not.
  absl::Status Mint(pipeline::LocalPipeline& p, int wave, int waves);
  // Sends the transfers. With reorg_depth > 0 the last blocks (reorg_depth
  // of them, 1-10) are first mined, shown to the indexer (`wait_indexed`
  // returns once it indexed them, or gave up), reverted (evm_revert) and
  // mined again a second later. The orphaned blocks send the tokens to
  // another account than the canonical ones, so records the indexer does
  // not roll back show up as wrong owners, balances and transfers; the
  // chain ends as without the reorg.
  absl::Status Transfer(pipeline::LocalPipeline& p, int reorg_depth,
                        const std::function<void()>& wait_indexed);

  int tokens() const { return static_cast<int>(planned_.size()); }
  // How many tokens of each kind, for the report.
  std::string Summary() const;

 private:
  enum class Kind {
    kIpfs,
    kGateway,
    kHttps,
    kData,
    kMissing,
    kInvalid,
    kMulti
  };
  struct Planned {
    Kind kind;
    std::string id;
    std::string uri;
    int amount = 1;  // ERC-1155
  };
  struct PlannedTransfer {
    bool multi;
    std::string id;
  };
  absl::Status PrepareToken(pipeline::LocalPipeline& p, Planned& t);
  absl::Status Send(pipeline::LocalPipeline& p, const PlannedTransfer& t,
                    const std::string& to);

  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<Planned> planned_;
  std::vector<PlannedTransfer> transfers_;
  std::vector<std::string> pool_cids_;  // shared images on IPFS
  std::string multi_;                   // the ERC-1155 contract
  std::string receiver_;                // the transfers' recipient
  std::string decoy_;                   // theirs on orphaned blocks
};

}  // namespace niftysave::chaos
