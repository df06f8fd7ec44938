#pragma once

#include <cstddef>

// The per-call caps of the internal gRPC API, written once beside the
// protos (protos/niftysave/v1/*.proto say the same in comments). Each
// handler refuses a call over its cap with INVALID_ARGUMENT, and the peer
// that hands work to it splits its calls at the same constant, so the two
// sides cannot drift apart.
namespace niftysave::api {

// extractor.proto EnqueueRequest.tokens: the indexer's hand-off.
inline constexpr size_t kMaxEnqueueTokensPerCall = 1000;
// pinner.proto PinRequest.resource_ids: the extractor's hand-off.
inline constexpr size_t kMaxPinResourceIdsPerCall = 1000;
// tracker.proto TrackRequest.pin_ids: the pinner's hand-off.
inline constexpr size_t kMaxTrackPinIdsPerCall = 1000;

}  // namespace niftysave::api
