#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/grpc/api_limits.h"
#include "niftysave/v1/tracker.grpc.pb.h"
#include "services/tracker/funnel_counter.h"
#include "services/tracker/tracker_repository.h"

namespace niftysave::tracker {

// Request caps, enforced by the handlers (and used by callers that split
// their requests to fit).
// Token keys in one BatchGetTokenStatus call.
inline constexpr int kMaxBatchKeys = 100;

// The gRPC adapter: checks requests, maps proto to the model and back, and
// statuses with common/grpc/status.h; the work is the repository's.
class TrackerServiceImpl final : public v1::Tracker::Service {
 public:
  struct Options {
    int max_watch_streams = 32;
    // When notified, open WatchProgress streams end (OK) within ~100 ms
    // instead of holding the drain until the server cancels them.
    absl::Notification* shutdown = nullptr;
    // Serves GetContractStatus; without it the call is UNIMPLEMENTED.
    ContractStatusSource* contract_status = nullptr;
    // GetStats and WatchProgress answer from this count of the funnel,
    // shared with the funnel gauges (main.cc). Without one the service
    // keeps its own, counted at most every `stats_interval` (and at most 2%
    // of the time: FunnelCounter).
    FunnelCounter* funnel = nullptr;
    absl::Duration stats_interval = absl::Seconds(5);
  };

  TrackerServiceImpl(TrackerRepository& repo,
                     std::function<void(int64_t queued)> wake)
      : TrackerServiceImpl(repo, std::move(wake), Options()) {}
  TrackerServiceImpl(TrackerRepository& repo,
                     std::function<void(int64_t queued)> wake, Options options)
      : repo_(repo),
        wake_(std::move(wake)),
        options_(options),
        own_funnel_(options.funnel != nullptr
                        ? nullptr
                        : std::make_unique<FunnelCounter>(
                              [&repo] { return repo.CountFunnel(); },
                              options.stats_interval)),
        funnel_(options.funnel != nullptr ? *options.funnel : *own_funnel_) {}

  grpc::Status Track(grpc::ServerContext* context,
                     const v1::TrackRequest* request,
                     v1::TrackResponse* response) override;
  grpc::Status GetTokenStatus(grpc::ServerContext* context,
                              const v1::GetTokenStatusRequest* request,
                              v1::TokenStatusReport* response) override;
  grpc::Status BatchGetTokenStatus(
      grpc::ServerContext* context,
      const v1::BatchGetTokenStatusRequest* request,
      v1::BatchGetTokenStatusResponse* response) override;
  grpc::Status ListTokens(grpc::ServerContext* context,
                          const v1::ListTokensRequest* request,
                          v1::ListTokensResponse* response) override;
  grpc::Status GetStats(grpc::ServerContext* context,
                        const v1::GetStatsRequest* request,
                        v1::Stats* response) override;
  grpc::Status WatchProgress(grpc::ServerContext* context,
                             const v1::WatchProgressRequest* request,
                             grpc::ServerWriter<v1::Stats>* writer) override;
  grpc::Status GetContractStatus(grpc::ServerContext* context,
                                 const v1::GetContractStatusRequest* request,
                                 v1::ContractStatus* response) override;

 private:
  // Sleeps up to `d`; false when the call was cancelled or the server is
  // shutting down.
  bool WaitWhileWatched(grpc::ServerContext& context, absl::Duration d);

  TrackerRepository& repo_;
  const std::function<void(int64_t queued)> wake_;
  const Options options_;
  std::atomic<int> watch_streams_{0};
  const std::unique_ptr<FunnelCounter> own_funnel_;
  FunnelCounter& funnel_;
};

// Domain report → proto (exposed for the command-line client's tests).
void ToProto(const TokenReport& report, v1::TokenStatusReport* out);
void ToProto(const ContractStatus& status, v1::ContractStatus* out);

}  // namespace niftysave::tracker
