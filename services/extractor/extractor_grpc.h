#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/grpc/api_limits.h"
#include "common/grpc/chunking_notifier.h"
#include "common/grpc/coalescing_notifier.h"
#include "common/grpc/grpc_security.h"
#include "niftysave/v1/extractor.grpc.pb.h"
#include "niftysave/v1/pinner.grpc.pb.h"
#include "services/extractor/extractor_repository.h"

namespace niftysave::extractor {

// gRPC adapter: validates and converts; the queue write is the repository's.
class ExtractorServiceImpl final : public v1::Extractor::Service {
 public:
  ExtractorServiceImpl(ExtractorRepository& repo,
                       std::function<void(int64_t queued)> wake)
      : repo_(repo), wake_(std::move(wake)) {}

  grpc::Status Enqueue(grpc::ServerContext* context,
                       const v1::EnqueueRequest* request,
                       v1::EnqueueResponse* response) override;

 private:
  ExtractorRepository& repo_;
  const std::function<void(int64_t queued)> wake_;
};

// The fast path to the pinner: the ids of resources just queued for
// pinning, in calls of at most the pinner's cap; best effort (the 'pin'
// queue is durable).
using PinnerNotifier =
    ChunkingNotifier<int64_t, v1::PinRequest, v1::PinResponse>;
using CoalescingPinnerNotifier =
    CoalescingNotifier<int64_t, v1::PinRequest, v1::PinResponse>;

// `target` "" turns notifications off (the pinner polls).
PinnerNotifier MakePinnerNotifier(const std::string& target,
                                  const GrpcClientSecurity& security);

}  // namespace niftysave::extractor
