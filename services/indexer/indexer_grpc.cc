#include "services/indexer/indexer_grpc.h"

#include "common/eth/token_key.h"
#include "common/grpc/grpc_server.h"
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
  response->set_backfill_pending_blocks(snap.backfill_pending_blocks);
  response->set_halted_reason(snap.halted);
  return grpc::Status::OK;
}

grpc::Status IndexerServiceImpl::Backfill(grpc::ServerContext*,
                                          const v1::BackfillRequest* request,
                                          v1::BackfillResponse* response) {
  absl::StatusOr<std::pair<uint64_t, uint64_t>> accepted =
      indexer_.Backfill(request->from_block(), request->to_block());
  if (!accepted.ok()) return ToGrpcStatus(accepted.status());
  response->set_from_block(accepted->first);
  response->set_to_block(accepted->second);
  return grpc::Status::OK;
}

grpc::Status IndexerServiceImpl::RefreshToken(
    grpc::ServerContext*, const v1::RefreshTokenRequest* request,
    v1::RefreshTokenResponse* response) {
  const uint64_t chain_id = request->token().chain_id();
  if (chain_id != indexer_.config().chain_id) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("this indexer follows chain " +
                                   std::to_string(indexer_.config().chain_id)));
  }
  absl::StatusOr<eth::TokenKey> key = eth::ParseTokenKey(
      chain_id, request->token().contract(), request->token().token_id());
  if (!key.ok()) return ToGrpcStatus(key.status());
  absl::StatusOr<std::vector<eth::TokenKey>> queued =
      indexer_.RefreshTokens({*key});
  if (!queued.ok()) return ToGrpcStatus(queued.status());
  response->set_queued(!queued->empty());
  return grpc::Status::OK;
}

ExtractorNotifier MakeExtractorNotifier(const std::string& target,
                                        const GrpcClientSecurity& security) {
  ExtractorNotifier::Call call;
  if (!target.empty()) {
    std::shared_ptr<v1::Extractor::Stub> stub =
        v1::Extractor::NewStub(MakeChannel(target, security));
    call = [stub](grpc::ClientContext* context,
                  const v1::EnqueueRequest& request,
                  v1::EnqueueResponse* response) {
      return stub->Enqueue(context, request, response);
    };
  }
  return ExtractorNotifier(
      "extractor", api::kMaxEnqueueTokensPerCall,
      [](v1::EnqueueRequest& request, const eth::TokenKey& token) {
        v1::TokenKey* key = request.add_tokens();
        key->set_chain_id(token.chain_id);
        key->set_contract(token.ContractHex());
        key->set_token_id(token.token_id);
      },
      std::move(call));
}

}  // namespace niftysave::indexer
