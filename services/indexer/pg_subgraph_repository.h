#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db/pool.h"
#include "services/indexer/subgraph_source.h"

namespace niftysave::indexer {

// SubgraphRepository on Postgres: the RPC path's tables (contracts, tokens,
// indexer_errors, work_queue 'extract') and subgraph_cursors.
class PgSubgraphRepository final : public SubgraphRepository {
 public:
  explicit PgSubgraphRepository(db::Pool& pool) : pool_(pool) {}
  absl::StatusOr<std::string> OpenCursor(uint64_t chain_id,
                                         const std::string& name) override;
  absl::StatusOr<std::vector<eth::TokenKey>> RecordPage(
      uint64_t chain_id, const std::string& after,
      const SubgraphPage& page) override;
  absl::StatusOr<RescanResult> RescanPage(uint64_t chain_id,
                                          const SubgraphPage& page) override;

 private:
  db::Pool& pool_;
};

}  // namespace niftysave::indexer
