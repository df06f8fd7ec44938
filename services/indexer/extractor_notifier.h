#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/eth/token_key.h"
#include "common/grpc/grpc_security.h"
#include "niftysave/v1/extractor.grpc.pb.h"

namespace niftysave::indexer {

// The fast path to the extractor: tells it which tokens were just queued.
// Best effort by design — the work is already durable in Postgres, so a
// failed call only costs the extractor's poll interval.
class ExtractorNotifier {
 public:
  // Empty target: notifications are off (the extractor polls).
  ExtractorNotifier(const std::string& target,
                    const GrpcClientSecurity& security);
  // Returns false when the extractor could not be reached.
  bool Notify(const std::vector<eth::TokenKey>& tokens);

 private:
  std::unique_ptr<v1::Extractor::Stub> stub_;
};

}  // namespace niftysave::indexer
