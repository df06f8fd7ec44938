#include "services/extractor/extractor_grpc.h"

#include "absl/strings/str_cat.h"
#include "common/grpc/status.h"

namespace niftysave::extractor {

grpc::Status ExtractorServiceImpl::Enqueue(grpc::ServerContext*,
                                           const v1::EnqueueRequest* request,
                                           v1::EnqueueResponse* response) {
  if (request->tokens_size() > 1000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "at most 1000 tokens per call");
  }
  std::vector<eth::TokenKey> keys;
  for (int i = 0; i < request->tokens_size(); ++i) {
    const v1::TokenKey& k = request->tokens(i);
    absl::StatusOr<eth::TokenKey> key =
        eth::ParseTokenKey(k.chain_id(), k.contract(), k.token_id());
    if (!key.ok()) {
      return grpc::Status(
          grpc::StatusCode::INVALID_ARGUMENT,
          absl::StrCat("tokens[", i, "]: ", key.status().message()));
    }
    keys.push_back(*std::move(key));
  }
  absl::StatusOr<EnqueueCounts> counts = repo_.Enqueue(keys);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_queued(counts->queued);
  response->set_unknown(counts->unknown);
  if (counts->queued > 0) wake_();
  return grpc::Status::OK;
}

}  // namespace niftysave::extractor
