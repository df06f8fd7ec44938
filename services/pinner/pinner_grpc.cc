#include "services/pinner/pinner_grpc.h"

#include "common/grpc/request_ids.h"
#include "common/grpc/status.h"

namespace niftysave::pinner {

grpc::Status PinnerServiceImpl::Pin(grpc::ServerContext*,
                                    const v1::PinRequest* request,
                                    v1::PinResponse* response) {
  absl::StatusOr<std::vector<int64_t>> ids =
      ParseRequestIds(request->resource_ids(), 1000, "resource ids");
  if (!ids.ok()) return ToGrpcStatus(ids.status());
  auto counts = repo_.Enqueue(*ids);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_queued(counts->first);
  response->set_unknown(counts->second);
  if (counts->first > 0) wake_();
  return grpc::Status::OK;
}

}  // namespace niftysave::pinner
