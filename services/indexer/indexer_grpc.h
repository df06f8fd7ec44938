#pragma once

#include "niftysave/v1/indexer.grpc.pb.h"
#include "services/indexer/chain_indexer.h"

namespace niftysave::indexer {

// gRPC adapter: converts only.
class IndexerServiceImpl final : public v1::Indexer::Service {
 public:
  IndexerServiceImpl(const ChainIndexer& indexer, IndexerRepository& repo)
      : indexer_(indexer), repo_(repo) {}

  grpc::Status GetStatus(grpc::ServerContext* context,
                         const v1::GetIndexerStatusRequest* request,
                         v1::IndexerStatus* response) override;

 private:
  const ChainIndexer& indexer_;
  IndexerRepository& repo_;
};

}  // namespace niftysave::indexer
