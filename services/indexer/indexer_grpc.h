#pragma once

#include "niftysave/v1/indexer.grpc.pb.h"
#include "services/indexer/chain_indexer.h"

namespace niftysave::indexer {

// gRPC adapter: converts only.
class IndexerServiceImpl final : public v1::Indexer::Service {
 public:
  IndexerServiceImpl(ChainIndexer& indexer, IndexerRepository& repo)
      : indexer_(indexer), repo_(repo) {}

  grpc::Status GetStatus(grpc::ServerContext* context,
                         const v1::GetIndexerStatusRequest* request,
                         v1::IndexerStatus* response) override;
  grpc::Status Backfill(grpc::ServerContext* context,
                        const v1::BackfillRequest* request,
                        v1::BackfillResponse* response) override;
  grpc::Status RefreshToken(grpc::ServerContext* context,
                            const v1::RefreshTokenRequest* request,
                            v1::RefreshTokenResponse* response) override;

 private:
  ChainIndexer& indexer_;
  IndexerRepository& repo_;
};

}  // namespace niftysave::indexer
