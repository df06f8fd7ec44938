#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/events.h"
#include "common/eth/token_key.h"

namespace niftysave::db {
class Pool;
}

namespace niftysave::indexer {

struct ChainCursor {
  uint64_t next_block = 0;  // first block not indexed yet
  std::optional<uint64_t> head_block;
};

// A newly minted token and what reading its URI gave.
struct Mint {
  eth::Erc721Transfer transfer;
  std::optional<std::string> token_uri;  // set when the read succeeded
  std::string reason;                    // why not, otherwise
  std::string detail;
};

// Everything one indexed block range writes, committed at once.
struct RangeBatch {
  uint64_t chain_id = 0;
  uint64_t to_block = 0;  // the cursor moves to to_block + 1
  uint64_t head_block = 0;
  std::vector<Mint> mints;
  std::vector<eth::Erc721Transfer>
      transfers;  // every transfer, mints included, in chain order
};

class IndexerRepository {
 public:
  virtual ~IndexerRepository() = default;
  // Creates the chain's cursor at `start_block` unless it exists; returns it.
  virtual absl::StatusOr<ChainCursor> OpenChain(uint64_t chain_id,
                                                const std::string& name,
                                                uint64_t start_block) = 0;
  // Writes the range in one transaction (idempotent on replay) and queues
  // new tokens that have a URI for extraction; returns their keys.
  virtual absl::StatusOr<std::vector<eth::TokenKey>> RecordRange(
      const RangeBatch& batch) = 0;
  virtual absl::StatusOr<uint64_t> CountTokens(uint64_t chain_id) = 0;
};

class PgIndexerRepository final : public IndexerRepository {
 public:
  explicit PgIndexerRepository(db::Pool& pool) : pool_(pool) {}
  absl::StatusOr<ChainCursor> OpenChain(uint64_t chain_id,
                                        const std::string& name,
                                        uint64_t start_block) override;
  absl::StatusOr<std::vector<eth::TokenKey>> RecordRange(
      const RangeBatch& batch) override;
  absl::StatusOr<uint64_t> CountTokens(uint64_t chain_id) override;

 private:
  db::Pool& pool_;
};

}  // namespace niftysave::indexer
