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

absl::StatusOr<uint64_t> UploadFileSize(const std::string& path, size_t limit) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    return ErrorWithReason(
        absl::StatusCode::kNotFound, "read_failed",
        absl::StrCat("cannot read ", path, ": ", ec.message()));
  }
  if (size > limit) {
    return ErrorWithReason(absl::StatusCode::kInvalidArgument, "too_large",
                           absl::StrCat(path, " is ", size, " bytes, over the ",
                                        limit, " byte limit"));
  }
  return static_cast<uint64_t>(size);
}

absl::StatusOr<std::string> PinBackend::UploadFile(const std::string& path,
                                                   absl::string_view filename,
                                                   size_t max_bytes) {
  if (absl::StatusOr<uint64_t> size = UploadFileSize(path, max_bytes);
      !size.ok()) {
    return size.status();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return ErrorWithReason(absl::StatusCode::kNotFound, "read_failed",
                           absl::StrCat("cannot open ", path));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  return Upload(bytes, filename);
}

}  // namespace niftysave::ipfs
