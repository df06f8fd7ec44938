#pragma once

#include <functional>

#include "niftysave/v1/tracker.grpc.pb.h"
#include "services/tracker/tracker_repository.h"

namespace niftysave::tracker {

class TrackerServiceImpl final : public v1::Tracker::Service {
 public:
  TrackerServiceImpl(TrackerRepository& repo, std::function<void()> wake)
      : repo_(repo), wake_(std::move(wake)) {}

  grpc::Status Track(grpc::ServerContext* context,
                     const v1::TrackRequest* request,
                     v1::TrackResponse* response) override;
  grpc::Status GetTokenStatus(grpc::ServerContext* context,
                              const v1::GetTokenStatusRequest* request,
                              v1::TokenStatusReport* response) override;

 private:
  TrackerRepository& repo_;
  const std::function<void()> wake_;
};

// Domain report → proto (exposed for the command-line client's tests).
void ToProto(const TokenReport& report, v1::TokenStatusReport* out);

}  // namespace niftysave::tracker
