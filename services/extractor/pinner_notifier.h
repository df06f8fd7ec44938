#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/grpc/grpc_security.h"
#include "niftysave/v1/pinner.grpc.pb.h"

namespace niftysave::extractor {

// The fast path to the pinner; best effort (the 'pin' queue is durable).
class PinnerNotifier {
 public:
  // "" = off
  PinnerNotifier(const std::string& target, const GrpcClientSecurity& security);
  bool Notify(const std::vector<int64_t>& resource_ids);

 private:
  std::unique_ptr<v1::Pinner::Stub> stub_;
};

}  // namespace niftysave::extractor
