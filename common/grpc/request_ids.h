#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_field.h"

namespace niftysave {

// Validates a list of record ids from a gRPC request: at most `max` of them,
// each a positive int64. InvalidArgument naming `what` otherwise.
absl::StatusOr<std::vector<int64_t>> ParseRequestIds(
    const google::protobuf::RepeatedField<uint64_t>& ids, int max,
    const std::string& what);

}  // namespace niftysave
