#pragma once

#include <cstddef>
#include <string>

#include "common/eth/token_key.h"
#include "common/grpc/api_limits.h"
#include "common/grpc/chunking_notifier.h"
#include "common/grpc/grpc_security.h"
#include "niftysave/v1/extractor.grpc.pb.h"
#include "niftysave/v1/indexer.grpc.pb.h"
#include "services/indexer/chain_indexer.h"

namespace niftysave::indexer {

// gRPC adapter: converts only.
class IndexerServiceImpl final : public v1::Indexer::Service {
 public:
  IndexerServiceImpl(ChainIndexer& indexer, RangeWriteRepository& repo)
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
  RangeWriteRepository& repo_;
};

// The fast path to the extractor: tells it which tokens were just queued.
using ExtractorNotifier =
    ChunkingNotifier<eth::TokenKey, v1::EnqueueRequest, v1::EnqueueResponse>;
// Empty target: notifications are off (the extractor polls).
ExtractorNotifier MakeExtractorNotifier(const std::string& target,
                                        const GrpcClientSecurity& security);

}  // namespace niftysave::indexer
