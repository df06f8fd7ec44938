// The extractor's gRPC adapter: Enqueue refuses more tokens than its
// documented cap before touching the repository and wakes the feeder only
// when something was queued; the pinner notifier cuts its calls at the
// pinner's cap (a real Pinner service on loopback records them).
#include "services/extractor/extractor_grpc.h"

#include <mutex>
#include <string>
#include <vector>

#include "common/grpc/grpc_server.h"
#include "common/metrics/metrics.h"
#include "gtest/gtest.h"

namespace niftysave::extractor {
namespace {

constexpr char kContract[] = "0x00000000000000000000000000000000000000aa";

// Answers Enqueue with what it was given; nothing else is called.
class FakeRepository final : public ExtractorRepository {
 public:
  absl::StatusOr<EnqueueCounts> Enqueue(
      const std::vector<eth::TokenKey>& keys) override {
    calls.push_back(keys.size());
    return EnqueueCounts{.queued = static_cast<uint32_t>(keys.size()) - 1,
                         .unknown = 1};
  }
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<std::vector<TokenToExtract>> LoadTokens(
      const std::vector<int64_t>&) override {
    return absl::UnimplementedError("");
  }
  std::vector<SavedOutcome> SaveOutcomes(
      const std::vector<ItemOutcome>&) override {
    return {};
  }
  bool IsLastAttempt(const db::QueueItem&) const override { return false; }

  std::vector<size_t> calls;
};

v1::EnqueueRequest RequestOf(int tokens) {
  v1::EnqueueRequest request;
  for (int i = 0; i < tokens; ++i) {
    v1::TokenKey* key = request.add_tokens();
    key->set_chain_id(1);
    key->set_contract(kContract);
    key->set_token_id(std::to_string(i));
  }
  return request;
}

TEST(ExtractorGrpcTest, EnqueueQueuesAndWakesTheFeeder) {
  FakeRepository repo;
  int wakes = 0;
  ExtractorServiceImpl service(repo, [&](int64_t) { ++wakes; });
  grpc::ServerContext context;
  const v1::EnqueueRequest request = RequestOf(api::kMaxEnqueueTokensPerCall);
  v1::EnqueueResponse response;
  grpc::Status status = service.Enqueue(&context, &request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.queued(), api::kMaxEnqueueTokensPerCall - 1u);
  EXPECT_EQ(response.unknown(), 1u);
  EXPECT_EQ(repo.calls, std::vector<size_t>{api::kMaxEnqueueTokensPerCall});
  EXPECT_EQ(wakes, 1);
}

TEST(ExtractorGrpcTest, EnqueueRefusesMoreThanTheCapBeforeTheRepository) {
  FakeRepository repo;
  int wakes = 0;
  ExtractorServiceImpl service(repo, [&](int64_t) { ++wakes; });
  grpc::ServerContext context;
  const v1::EnqueueRequest request =
      RequestOf(api::kMaxEnqueueTokensPerCall + 1);
  v1::EnqueueResponse response;
  grpc::Status status = service.Enqueue(&context, &request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(repo.calls.empty());
  EXPECT_EQ(wakes, 0);
}

class RecordingPinner final : public v1::Pinner::Service {
 public:
  grpc::Status Pin(grpc::ServerContext*, const v1::PinRequest* request,
                   v1::PinResponse*) override {
    std::lock_guard lock(mu);
    calls.emplace_back(request->resource_ids().begin(),
                       request->resource_ids().end());
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::vector<std::vector<uint64_t>> calls;
};

TEST(ExtractorGrpcTest, PinnerNotifierSplitsAtThePinnersCap) {
  auto metrics = Metrics::Start("127.0.0.1:0", "extractor_grpc_test");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  RecordingPinner pinner;
  auto server = GrpcServer::Start("127.0.0.1:0", {&pinner}, **metrics, {});
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<int64_t> ids;
  for (int64_t i = 1; i <= 2001; ++i) ids.push_back(i);

  const PinnerNotifier notifier =
      MakePinnerNotifier("127.0.0.1:" + std::to_string((*server)->port()), {});
  EXPECT_TRUE(notifier.Notify(ids));

  std::lock_guard lock(pinner.mu);
  ASSERT_EQ(pinner.calls.size(), 3u);  // pinner.proto: at most 1000 per call
  EXPECT_EQ(pinner.calls[0].size(), 1000u);
  EXPECT_EQ(pinner.calls[1].size(), 1000u);
  EXPECT_EQ(pinner.calls[2].size(), 1u);
  EXPECT_EQ(pinner.calls[2][0], 2001u);
  (*server)->Shutdown(absl::ZeroDuration());
}

TEST(ExtractorGrpcTest, PinnerNotifierWithoutATargetIsOff) {
  const PinnerNotifier notifier = MakePinnerNotifier("", {});
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.Notify({1, 2, 3}));
}

}  // namespace
}  // namespace niftysave::extractor
