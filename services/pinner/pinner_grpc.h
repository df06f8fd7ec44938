#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/grpc/api_limits.h"
#include "common/grpc/chunking_notifier.h"
#include "common/grpc/coalescing_notifier.h"
#include "common/grpc/grpc_security.h"
#include "niftysave/v1/pinner.grpc.pb.h"
#include "niftysave/v1/tracker.grpc.pb.h"
#include "services/pinner/pinner_repository.h"

namespace niftysave::pinner {

class PinnerServiceImpl final : public v1::Pinner::Service {
 public:
  PinnerServiceImpl(PinnerRepository& repo,
                    std::function<void(int64_t queued)> wake)
      : repo_(repo), wake_(std::move(wake)) {}
  grpc::Status Pin(grpc::ServerContext* context, const v1::PinRequest* request,
                   v1::PinResponse* response) override;

 private:
  PinnerRepository& repo_;
  const std::function<void(int64_t queued)> wake_;
};

// The pinner -> tracker hand-off: the ids of newly requested pins.
using TrackerNotifier =
    ChunkingNotifier<int64_t, v1::TrackRequest, v1::TrackResponse>;

// The same, gathered over a window (--notify_window_ms) off the workers'
// threads.
using CoalescingTrackerNotifier =
    CoalescingNotifier<int64_t, v1::TrackRequest, v1::TrackResponse>;

// Notifies the tracker at `target` (host:port); an empty target turns the
// notifications off (the tracker polls its queue).
TrackerNotifier MakeTrackerNotifier(const std::string& target,
                                    const GrpcClientSecurity& security);

}  // namespace niftysave::pinner
