#include "services/pinner/pinner_grpc.h"

#include <memory>
#include <vector>

#include "common/grpc/grpc_server.h"
#include "common/grpc/request_ids.h"
#include "common/grpc/status.h"

namespace niftysave::pinner {

grpc::Status PinnerServiceImpl::Pin(grpc::ServerContext*,
                                    const v1::PinRequest* request,
                                    v1::PinResponse* response) {
  absl::StatusOr<std::vector<int64_t>> ids = ParseRequestIds(
      request->resource_ids(), api::kMaxPinResourceIdsPerCall, "resource ids");
  if (!ids.ok()) return ToGrpcStatus(ids.status());
  auto counts = repo_.Enqueue(*ids);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_queued(counts->first);
  response->set_unknown(counts->second);
  if (counts->first > 0) wake_(counts->first);
  return grpc::Status::OK;
}

TrackerNotifier MakeTrackerNotifier(const std::string& target,
                                    const GrpcClientSecurity& security) {
  TrackerNotifier::Call call;
  if (!target.empty()) {
    std::shared_ptr<v1::Tracker::Stub> stub =
        v1::Tracker::NewStub(MakeChannel(target, security));
    call = [stub](grpc::ClientContext* context, const v1::TrackRequest& request,
                  v1::TrackResponse* response) {
      return stub->Track(context, request, response);
    };
  }
  return TrackerNotifier(
      "tracker", api::kMaxTrackPinIdsPerCall,
      [](v1::TrackRequest& request, const int64_t& id) {
        request.add_pin_ids(static_cast<uint64_t>(id));
      },
      std::move(call));
}

}  // namespace niftysave::pinner
