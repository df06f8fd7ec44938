#include "services/indexer/indexer_grpc.h"

#include "common/grpc/status.h"

namespace niftysave::indexer {

grpc::Status IndexerServiceImpl::GetStatus(grpc::ServerContext*,
                                           const v1::GetIndexerStatusRequest*,
                                           v1::IndexerStatus* response) {
  const ChainConfig& config = indexer_.config();
  IndexerSnapshot snap = indexer_.Snapshot();
  absl::StatusOr<uint64_t> tokens = repo_.CountTokens(config.chain_id);
  if (!tokens.ok()) return ToGrpcStatus(tokens.status());
  response->set_chain_id(config.chain_id);
  response->set_chain_name(config.name);
  response->set_head_block(snap.head_block);
  response->set_indexed_block(snap.has_indexed ? snap.indexed_block : 0);
  const uint64_t indexed = snap.has_indexed ? snap.indexed_block : 0;
  response->set_lag_blocks(snap.head_block > indexed ? snap.head_block - indexed
                                                     : 0);
  response->set_confirmations(config.confirmations);
  response->set_tokens_indexed(*tokens);
  return grpc::Status::OK;
}

}  // namespace niftysave::indexer
