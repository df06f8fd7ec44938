#pragma once

#include <functional>

#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace niftysave {

// Makes one best-effort call to the next service with a short deadline and
// logs a failure. The hand-offs between services use it: the work is already
// durable in Postgres, so a lost call only costs the receiver's poll interval.
bool NotifyBestEffort(
    absl::string_view peer,
    const std::function<grpc::Status(grpc::ClientContext*)>& call);

}  // namespace niftysave
