#include "services/extractor/pinner_notifier.h"

#include "common/grpc/grpc_server.h"
#include "common/grpc/notify.h"

namespace niftysave::extractor {

PinnerNotifier::PinnerNotifier(const std::string& target,
                               const GrpcClientSecurity& security) {
  if (!target.empty())
    stub_ = v1::Pinner::NewStub(MakeChannel(target, security));
}

bool PinnerNotifier::Notify(const std::vector<int64_t>& ids) {
  if (stub_ == nullptr || ids.empty()) return true;
  v1::PinRequest request;
  for (int64_t id : ids) request.add_resource_ids(static_cast<uint64_t>(id));
  v1::PinResponse response;
  return NotifyBestEffort("pinner", [&](grpc::ClientContext* context) {
    return stub_->Pin(context, request, &response);
  });
}

}  // namespace niftysave::extractor
