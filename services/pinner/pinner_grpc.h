#pragma once

#include <functional>

#include "niftysave/v1/pinner.grpc.pb.h"
#include "services/pinner/pinner_repository.h"

namespace niftysave::pinner {

class PinnerServiceImpl final : public v1::Pinner::Service {
 public:
  PinnerServiceImpl(PinnerRepository& repo, std::function<void()> wake)
      : repo_(repo), wake_(std::move(wake)) {}
  grpc::Status Pin(grpc::ServerContext* context, const v1::PinRequest* request,
                   v1::PinResponse* response) override;

 private:
  PinnerRepository& repo_;
  const std::function<void()> wake_;
};

}  // namespace niftysave::pinner
