// The hand-off notifier against a real gRPC server on 127.0.0.1: calls are
// cut at the peer's cap, a dead peer costs a logged failure and nothing
// else, and an empty target turns it off.
#include "common/grpc/chunking_notifier.h"

#include <mutex>
#include <vector>

#include "common/grpc/grpc_server.h"
#include "common/metrics/metrics.h"
#include "gtest/gtest.h"
#include "niftysave/v1/pinner.grpc.pb.h"

namespace niftysave {
namespace {

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

using PinNotifier = ChunkingNotifier<int64_t, v1::PinRequest, v1::PinResponse>;

PinNotifier MakeNotifier(const std::string& target, size_t cap) {
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

TEST(ChunkingNotifierTest, SplitsAtTheCapAndKeepsEveryItemInOrder) {
  auto metrics = Metrics::Start("127.0.0.1:0", "notifier_test");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  RecordingPinner pinner;
  auto server = GrpcServer::Start("127.0.0.1:0", {&pinner}, **metrics, {});
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<int64_t> ids;
  for (int64_t i = 1; i <= 2500; ++i) ids.push_back(i);

  PinNotifier notifier =
      MakeNotifier("127.0.0.1:" + std::to_string((*server)->port()), 1000);
  EXPECT_TRUE(notifier.Notify(ids));

  std::lock_guard lock(pinner.mu);
  ASSERT_EQ(pinner.calls.size(), 3u);
  EXPECT_EQ(pinner.calls[0].size(), 1000u);
  EXPECT_EQ(pinner.calls[1].size(), 1000u);
  EXPECT_EQ(pinner.calls[2].size(), 500u);
  std::vector<int64_t> seen;
  for (const auto& call : pinner.calls)
    for (uint64_t id : call) seen.push_back(static_cast<int64_t>(id));
  EXPECT_EQ(seen, ids);
  (*server)->Shutdown(absl::ZeroDuration());
}

TEST(ChunkingNotifierTest, AnUnreachablePeerFailsWithoutThrowingOrHanging) {
  // Nothing listens on port 1 of loopback: the call fails fast.
  PinNotifier notifier = MakeNotifier("127.0.0.1:1", 1000);
  EXPECT_TRUE(notifier.enabled());
  EXPECT_FALSE(notifier.Notify({1, 2, 3}));
}

TEST(ChunkingNotifierTest, AnEmptyTargetIsOff) {
  PinNotifier notifier = MakeNotifier("", 1000);
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.Notify({1, 2, 3}));
}

}  // namespace
}  // namespace niftysave
