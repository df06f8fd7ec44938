#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/eth/token_key.h"
#include "google/protobuf/repeated_field.h"
#include "niftysave/v1/common.pb.h"

namespace niftysave {

// Validates a list of record ids from a gRPC request: at most `max` of them,
// each a positive int64. InvalidArgument naming `what` otherwise.
absl::StatusOr<std::vector<int64_t>> ParseRequestIds(
    const google::protobuf::RepeatedField<uint64_t>& ids, int max,
    const std::string& what);

// Validates a list of token keys from a gRPC request: between `min` and
// `max` of them, each canonicalised by eth::ParseTokenKey. InvalidArgument
// naming the bad element ("tokens[3]: ...") otherwise.
absl::StatusOr<std::vector<eth::TokenKey>> ParseRequestTokenKeys(
    const google::protobuf::RepeatedPtrField<v1::TokenKey>& keys, int min,
    int max);

}  // namespace niftysave
