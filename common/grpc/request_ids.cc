#include "common/grpc/request_ids.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace niftysave {

absl::StatusOr<std::vector<int64_t>> ParseRequestIds(
    const google::protobuf::RepeatedField<uint64_t>& ids, int max,
    const std::string& what) {
  if (ids.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", max, " ", what, " per call"));
  }
  std::vector<int64_t> out;
  out.reserve(ids.size());
  for (uint64_t id : ids) {
    if (id == 0 ||
        id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " are positive int64 values"));
    }
    out.push_back(static_cast<int64_t>(id));
  }
  return out;
}

absl::StatusOr<std::vector<eth::TokenKey>> ParseRequestTokenKeys(
    const google::protobuf::RepeatedPtrField<v1::TokenKey>& keys, int min,
    int max) {
  if (keys.size() < min || keys.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tokens: ", min, " to ", max, " keys per call, got ", keys.size()));
  }
  std::vector<eth::TokenKey> out;
  out.reserve(keys.size());
  for (int i = 0; i < keys.size(); ++i) {
    const v1::TokenKey& k = keys[i];
    absl::StatusOr<eth::TokenKey> key =
        eth::ParseTokenKey(k.chain_id(), k.contract(), k.token_id());
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("tokens[", i, "]: ", key.status().message()));
    }
    out.push_back(*std::move(key));
  }
  return out;
}

}  // namespace niftysave
