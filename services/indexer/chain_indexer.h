#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/token_key.h"
#include "services/indexer/chain_source.h"
#include "services/indexer/indexer_repository.h"

namespace niftysave::indexer {

struct ChainConfig {
  uint64_t chain_id = 0;
  std::string name;
  uint64_t start_block = 0;
  uint64_t confirmations = 0;  // blocks kept behind the head
  uint64_t max_block_range = 2000;
};

struct IndexerCounters {
  std::function<void(uint64_t)> logs_seen = [](uint64_t) {};
  std::function<void(uint64_t)> tokens_minted = [](uint64_t) {};
  std::function<void(const std::string&)> bad_log = [](const std::string&) {};
  std::function<void(uint64_t head, uint64_t indexed)> progress =
      [](uint64_t, uint64_t) {};
};

struct IndexerSnapshot {
  uint64_t head_block = 0;
  uint64_t indexed_block = 0;  // last fully indexed block (0 before the first)
  bool has_indexed = false;
};

// Follows one chain: each Step() indexes the next confirmed block range —
// decodes ERC-721 Transfers, reads tokenURI of every mint in one batch,
// commits the range with the cursor — and hands new tokens to `on_tokens`.
class ChainIndexer {
 public:
  ChainIndexer(ChainConfig config, ChainSource& source, IndexerRepository& repo,
               std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
               IndexerCounters counters = {});

  absl::Status Open();
  // Indexes one range; returns the number of blocks indexed (0: caught up).
  // On an RPC error the range shrinks (halves) before the next try.
  absl::StatusOr<uint64_t> Step();
  IndexerSnapshot Snapshot() const;
  const ChainConfig& config() const { return config_; }

 private:
  const ChainConfig config_;
  ChainSource& source_;
  IndexerRepository& repo_;
  const std::function<void(const std::vector<eth::TokenKey>&)> on_tokens_;
  const IndexerCounters counters_;
  uint64_t next_block_ = 0;  // only the Step() thread writes it
  uint64_t range_;
  std::atomic<uint64_t> head_{0};
  std::atomic<uint64_t> indexed_{0};
  std::atomic<bool> has_indexed_{false};
};

}  // namespace niftysave::indexer
