// For the notifier tests (test-only): a real Pinner service that records
// the ids of each call, and a notifier that calls it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/grpc/chunking_notifier.h"
#include "common/grpc/grpc_server.h"
#include "niftysave/v1/pinner.grpc.pb.h"

namespace niftysave::test_support {

// Records each call's ids; with `hold` set, each call waits until released.
class RecordingPinner final : public v1::Pinner::Service {
 public:
  explicit RecordingPinner(bool hold = false) : held_(hold) {}

  grpc::Status Pin(grpc::ServerContext*, const v1::PinRequest* request,
                   v1::PinResponse*) override {
    absl::MutexLock lock(&mu_);
    calls_.emplace_back(request->resource_ids().begin(),
                        request->resource_ids().end());
    auto released = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !held_; };
    mu_.Await(absl::Condition(&released));
    return grpc::Status::OK;
  }

  void Release() {
    absl::MutexLock lock(&mu_);
    held_ = false;
  }

  // The calls so far, once there are at least `n` (or 60 s have passed).
  std::vector<std::vector<uint64_t>> WaitForCalls(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, n]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return calls_.size() >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(60));
    return calls_;
  }

  std::vector<std::vector<uint64_t>> Calls() { return WaitForCalls(0); }

 private:
  absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<uint64_t>> calls_ ABSL_GUARDED_BY(mu_);
};

using PinNotifier = ChunkingNotifier<int64_t, v1::PinRequest, v1::PinResponse>;

// Calls the Pinner at `target` with at most `cap` ids a call; an empty
// target is off.
inline PinNotifier MakePinNotifier(const std::string& target, size_t cap) {
  if (target.empty()) return PinNotifier("pinner", cap, nullptr, nullptr);
  std::shared_ptr<v1::Pinner::Stub> stub =
      v1::Pinner::NewStub(MakeChannel(target, {}));
  return PinNotifier(
      "pinner", cap,
      [](v1::PinRequest& request, const int64_t& id) {
        request.add_resource_ids(static_cast<uint64_t>(id));
      },
      [stub](grpc::ClientContext* context, const v1::PinRequest& request,
             v1::PinResponse* response) {
        return stub->Pin(context, request, response);
      });
}

}  // namespace niftysave::test_support
