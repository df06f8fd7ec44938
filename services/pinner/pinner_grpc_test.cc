// The pinner's gRPC adapter on a loopback server: Pin refuses more than
// api::kMaxPinResourceIdsPerCall resource ids before touching the repository,
// and the tracker hand-off is cut at the tracker's cap of 1,000 pin ids.
#include "services/pinner/pinner_grpc.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "common/grpc/grpc_server.h"
#include "common/metrics/metrics.h"
#include "gtest/gtest.h"

namespace niftysave::pinner {
namespace {

// Only Enqueue is reached through the adapter.
class EnqueueOnlyRepository final : public PinnerRepository {
 public:
  absl::StatusOr<std::pair<uint32_t, uint32_t>> Enqueue(
      const std::vector<int64_t>& ids) override {
    enqueued.push_back(ids);
    return std::make_pair(static_cast<uint32_t>(ids.size() - 1), 1u);
  }
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int) override {
    return std::vector<db::QueueItem>{};
  }
  void KeepHolding(const std::vector<db::QueueItem>&) override {}
  absl::StatusOr<std::optional<ResourceToPin>> LoadResource(int64_t) override {
    return std::nullopt;
  }
  absl::StatusOr<std::map<int64_t, ResourceToPin>> LoadResources(
      const std::vector<int64_t>&) override {
    return std::map<int64_t, ResourceToPin>{};
  }
  absl::StatusOr<PinClaim> ClaimPin(const db::QueueItem&, const std::string&,
                                    const std::string&) override {
    return PinClaim::kClaimed;
  }
  absl::Status ReleasePin(const db::QueueItem&, const std::string&,
                          const std::string&) override {
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> SavePin(const std::string&, const std::string&,
                                  const std::string&) override {
    return 0;
  }
  absl::StatusOr<std::vector<SavedPinning>> SaveResourcesPinning(
      const std::vector<ResourcePinning>& batch) override {
    return std::vector<SavedPinning>(batch.size());
  }
  absl::Status SaveFailure(const db::QueueItem&, const PinFailure&) override {
    return absl::OkStatus();
  }
  absl::Status Retry(const db::QueueItem&, const PinFailure&) override {
    return absl::OkStatus();
  }
  bool IsLastAttempt(const db::QueueItem&) const override { return false; }
  absl::Status Drop(const db::QueueItem&) override { return absl::OkStatus(); }

  std::vector<std::vector<int64_t>> enqueued;
};

class RecordingTracker final : public v1::Tracker::Service {
 public:
  grpc::Status Track(grpc::ServerContext*, const v1::TrackRequest* request,
                     v1::TrackResponse*) override {
    std::lock_guard lock(mu);
    calls.emplace_back(request->pin_ids().begin(), request->pin_ids().end());
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::vector<std::vector<uint64_t>> calls;
};

class PinnerGrpcTest : public ::testing::Test {
 protected:
  // Serves `service` on 127.0.0.1; returns its host:port.
  std::string Serve(grpc::Service* service) {
    auto metrics = Metrics::Start("127.0.0.1:0", "pinner_grpc_test");
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = *std::move(metrics);
    auto server = GrpcServer::Start("127.0.0.1:0", {service}, *metrics_, {});
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    return "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (server_) server_->Shutdown(absl::ZeroDuration());
  }

  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<GrpcServer> server_;
};

v1::PinRequest RequestOf(int n) {
  v1::PinRequest request;
  for (int i = 1; i <= n; ++i) request.add_resource_ids(i);
  return request;
}

TEST_F(PinnerGrpcTest, PinTakesUpToTheCapAndRefusesOneMore) {
  EnqueueOnlyRepository repo;
  int wakes = 0;
  int64_t woken_for = 0;
  PinnerServiceImpl service(repo, [&](int64_t queued) {
    ++wakes;
    woken_for += queued;
  });
  auto stub = v1::Pinner::NewStub(MakeChannel(Serve(&service), {}));

  grpc::ClientContext full_context;
  v1::PinResponse response;
  grpc::Status full = stub->Pin(
      &full_context, RequestOf(api::kMaxPinResourceIdsPerCall), &response);
  ASSERT_TRUE(full.ok()) << full.error_message();
  EXPECT_EQ(response.queued(),
            static_cast<uint32_t>(api::kMaxPinResourceIdsPerCall - 1));
  EXPECT_EQ(response.unknown(), 1u);
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(woken_for, api::kMaxPinResourceIdsPerCall - 1);  // sizes the wake

  grpc::ClientContext over_context;
  grpc::Status over = stub->Pin(
      &over_context, RequestOf(api::kMaxPinResourceIdsPerCall + 1), &response);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(repo.enqueued.size(), 1u);  // the refused call never reached it
  EXPECT_EQ(repo.enqueued[0].size(), api::kMaxPinResourceIdsPerCall);
  EXPECT_EQ(wakes, 1);
}

TEST_F(PinnerGrpcTest, TrackerNotifierSplitsAtTheTrackersCap) {
  RecordingTracker tracker;
  TrackerNotifier notifier = MakeTrackerNotifier(Serve(&tracker), {});
  std::vector<int64_t> ids;
  for (int64_t i = 1; i <= 2500; ++i) ids.push_back(i);
  EXPECT_TRUE(notifier.Notify(ids));

  std::lock_guard lock(tracker.mu);
  ASSERT_EQ(tracker.calls.size(), 3u);
  EXPECT_EQ(tracker.calls[0].size(), 1000u);
  EXPECT_EQ(tracker.calls[1].size(), 1000u);
  EXPECT_EQ(tracker.calls[2].size(), 500u);
  std::vector<int64_t> seen;
  for (const auto& call : tracker.calls)
    for (uint64_t id : call) seen.push_back(static_cast<int64_t>(id));
  EXPECT_EQ(seen, ids);
}

TEST_F(PinnerGrpcTest, NoTrackerAddressTurnsTheHandOffOff) {
  TrackerNotifier notifier = MakeTrackerNotifier("", {});
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.Notify({1, 2, 3}));
}

}  // namespace
}  // namespace niftysave::pinner
