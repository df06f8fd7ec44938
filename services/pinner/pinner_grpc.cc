#include "services/pinner/pinner_grpc.h"

#include "common/grpc/status.h"

namespace niftysave::pinner {

grpc::Status PinnerServiceImpl::Pin(grpc::ServerContext*,
                                    const v1::PinRequest* request,
                                    v1::PinResponse* response) {
  if (request->resource_ids_size() > 1000) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "at most 1000 resource ids per call");
  }
  std::vector<int64_t> ids;
  for (uint64_t id : request->resource_ids()) {
    if (id == 0 || id > static_cast<uint64_t>(INT64_MAX)) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "resource ids are positive int64");
    }
    ids.push_back(static_cast<int64_t>(id));
  }
  auto counts = repo_.Enqueue(ids);
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_queued(counts->first);
  response->set_unknown(counts->second);
  if (counts->first > 0) wake_();
  return grpc::Status::OK;
}

}  // namespace niftysave::pinner
