#include "common/ipfs/pin_backend.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/runtime/reason.h"

namespace niftysave::ipfs {

absl::string_view PinStateName(PinState state) {
  switch (state) {
    case PinState::kQueued:
      return "queued";
    case PinState::kPinning:
      return "pinning";
    case PinState::kPinned:
      return "pinned";
    case PinState::kFailed:
      return "failed";
  }
  return "queued";
}

absl::StatusOr<std::map<std::string, PinState>> PinBackend::StatusMany(
    const std::vector<std::string>& cids) {
  std::map<std::string, PinState> out;
  for (const std::string& cid : cids) {
    absl::StatusOr<PinState> state = Status(cid);
    if (state.ok()) {
      out[cid] = *state;
    } else if (!absl::IsNotFound(state.status())) {
      return state.status();
    }
  }
  return out;
}

absl::StatusOr<std::string> PinBackend::UploadFile(const std::string& path,
                                                   absl::string_view filename,
                                                   size_t max_bytes) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    return absl::NotFoundError(absl::StrCat(path, ": ", ec.message()));
  }
  if (size > max_bytes) {
    return WithReason(
        absl::InvalidArgumentError(absl::StrCat(
            path, " is ", size, " bytes, over the ", max_bytes, " byte limit")),
        "too_large");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  return Upload(bytes, filename);
}

}  // namespace niftysave::ipfs
