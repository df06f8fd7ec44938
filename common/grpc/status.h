#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace niftysave {

// The one mapping between absl::Status and grpc::Status (same canonical codes).
grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace niftysave
