#pragma once
// The indexer's repositories on Postgres. Their SQL, as named constants, is
// split by concern: pg_indexer_repository.cc (range writes, refreshes, URI
// updates), pg_rollback_repository.cc (stored blocks and the rollback),
// pg_uri_read_repository.cc (the URI-read queue), and pg_indexer_sql.cc (what
// the range write and the rollback share: owners and balances recomputed).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "services/indexer/indexer_repository.h"

namespace niftysave::indexer {

class PgIndexerRepository final : public IndexerRepository {
 public:
  explicit PgIndexerRepository(db::Pool& pool) : pool_(pool) {}
  // RangeWriteRepository (pg_indexer_repository.cc)
  absl::StatusOr<ChainCursor> OpenChain(uint64_t chain_id,
                                        const std::string& name,
                                        uint64_t start_block) override;
  absl::StatusOr<RangeWritten> RecordRange(const RangeBatch& batch) override;
  absl::StatusOr<uint64_t> CountTokens(uint64_t chain_id) override;
  absl::StatusOr<std::vector<std::string>> UnknownContracts(
      uint64_t chain_id, const std::vector<std::string>& addresses) override;
  absl::StatusOr<std::vector<KnownToken>> FindTokens(
      const std::vector<eth::TokenKey>& keys) override;
  absl::Status RecordError(uint64_t chain_id,
                           const IndexerError& error) override;
  absl::StatusOr<std::vector<eth::TokenKey>> UpdateUris(
      uint64_t chain_id, const std::vector<UriUpdate>& updates) override;
  absl::StatusOr<RefreshStep> AdvanceRefresh(uint64_t chain_id,
                                             uint64_t chunk) override;
  // RollbackRepository (pg_rollback_repository.cc)
  absl::StatusOr<std::vector<BlockHeader>> RecentBlocks(
      uint64_t chain_id, uint64_t at_most, uint64_t limit) override;
  absl::StatusOr<std::optional<BlockHeader>> StoredBlock(
      uint64_t chain_id, uint64_t number) override;
  absl::StatusOr<RollbackResult> Rollback(uint64_t chain_id,
                                          uint64_t ancestor) override;

 private:
  // Whether the range's owners are the newest on record (RecordRange).
  absl::StatusOr<bool> OwnersFromRange(const RangeBatch& batch);

  db::Pool& pool_;
};

// The URI-read queue of one chain (pg_uri_read_repository.cc). Several
// readers (threads or replicas) may share it: leases are exclusive and
// fenced by the work queue's generation.
class PgUriReadRepository final : public UriReadRepository {
 public:
  PgUriReadRepository(db::Pool& pool, uint64_t chain_id, std::string worker_id,
                      db::QueuePolicy policy);
  absl::StatusOr<UriReadBatch> LeaseReads(int limit) override;
  absl::Status RescheduleReads(const UriReadBatch& batch,
                               absl::string_view error) override;
  absl::StatusOr<UriReadsWritten> WriteReads(
      const UriReadBatch& batch, const std::vector<UriResult>& reads) override;
  absl::StatusOr<QueueDepth> Pending() override;
  db::WorkQueue& queue() { return queue_; }  // for TakeBackLeases

 private:
  db::Pool& pool_;
  const uint64_t chain_id_;
  db::WorkQueue queue_;
};

}  // namespace niftysave::indexer
