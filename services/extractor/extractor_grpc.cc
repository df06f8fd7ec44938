#include "services/extractor/extractor_grpc.h"

#include <memory>

#include "common/grpc/grpc_server.h"
#include "common/grpc/request_ids.h"
#include "common/grpc/status.h"

namespace niftysave::extractor {

grpc::Status ExtractorServiceImpl::Enqueue(grpc::ServerContext*,
                                           const v1::EnqueueRequest* request,
                                           v1::EnqueueResponse* response) {
  absl::StatusOr<std::vector<eth::TokenKey>> keys = ParseRequestTokenKeys(
      request->tokens(), 0, api::kMaxEnqueueTokensPerCall);
  if (!keys.ok()) return ToGrpcStatus(keys.status());
  absl::StatusOr<EnqueueCounts> counts = repo_.Enqueue(*keys);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_queued(counts->queued);
  response->set_unknown(counts->unknown);
  if (counts->queued > 0) wake_(counts->queued);
  return grpc::Status::OK;
}

PinnerNotifier MakePinnerNotifier(const std::string& target,
                                  const GrpcClientSecurity& security) {
  if (target.empty()) {
    return PinnerNotifier("pinner", api::kMaxPinResourceIdsPerCall, nullptr,
                          nullptr);
  }
  std::shared_ptr<v1::Pinner::Stub> stub =
      v1::Pinner::NewStub(MakeChannel(target, security));
  return PinnerNotifier(
      "pinner", api::kMaxPinResourceIdsPerCall,
      [](v1::PinRequest& request, const int64_t& id) {
        request.add_resource_ids(static_cast<uint64_t>(id));
      },
      [stub](grpc::ClientContext* context, const v1::PinRequest& request,
             v1::PinResponse* response) {
        return stub->Pin(context, request, response);
      });
}

}  // namespace niftysave::extractor
