#include "common/ipfs/pin_backend.h"

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

}  // namespace niftysave::ipfs
