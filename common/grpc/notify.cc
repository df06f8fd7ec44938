#include "common/grpc/notify.h"

#include <chrono>

#include "common/runtime/log.h"

namespace niftysave {

bool NotifyBestEffort(
    absl::string_view peer,
    const std::function<grpc::Status(grpc::ClientContext*)>& call) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(2));
  grpc::Status status = call(&context);
  if (!status.ok()) {
    log::Warn("peer not notified; it will find the work by polling",
              {{"peer", std::string(peer)}, {"error", status.error_message()}});
  }
  return status.ok();
}

}  // namespace niftysave
