#pragma once

#include <functional>

#include "niftysave/v1/extractor.grpc.pb.h"
#include "services/extractor/extractor_repository.h"

namespace niftysave::extractor {

// gRPC adapter: validates and converts; the queue write is the repository's.
class ExtractorServiceImpl final : public v1::Extractor::Service {
 public:
  ExtractorServiceImpl(ExtractorRepository& repo, std::function<void()> wake)
      : repo_(repo), wake_(std::move(wake)) {}

  grpc::Status Enqueue(grpc::ServerContext* context,
                       const v1::EnqueueRequest* request,
                       v1::EnqueueResponse* response) override;

 private:
  ExtractorRepository& repo_;
  const std::function<void()> wake_;
};

}  // namespace niftysave::extractor
