#include "services/extractor/extractor_grpc.h"

#include "absl/strings/str_cat.h"
#include "common/grpc/request_ids.h"
#include "common/grpc/status.h"

namespace niftysave::extractor {

grpc::Status ExtractorServiceImpl::Enqueue(grpc::ServerContext*,
                                           const v1::EnqueueRequest* request,
                                           v1::EnqueueResponse* response) {
  absl::StatusOr<std::vector<eth::TokenKey>> keys =
      ParseRequestTokenKeys(request->tokens(), 0, 1000);
  if (!keys.ok()) return ToGrpcStatus(keys.status());
  absl::StatusOr<EnqueueCounts> counts = repo_.Enqueue(*keys);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_queued(counts->queued);
  response->set_unknown(counts->unknown);
  if (counts->queued > 0) wake_();
  return grpc::Status::OK;
}

}  // namespace niftysave::extractor
