// The hand-off notifier against a real gRPC server on 127.0.0.1: calls are
// cut at the peer's cap, a dead peer costs a logged failure and nothing
// else, and an empty target turns it off.
#include "common/grpc/chunking_notifier.h"

#include <vector>

#include "common/grpc/grpc_server.h"
#include "common/grpc/recording_pinner.h"
#include "common/metrics/metrics.h"
#include "gtest/gtest.h"
#include "niftysave/v1/pinner.grpc.pb.h"

namespace niftysave {
namespace {

using test_support::MakePinNotifier;
using test_support::PinNotifier;
using test_support::RecordingPinner;

TEST(ChunkingNotifierTest, SplitsAtTheCapAndKeepsEveryItemInOrder) {
  auto metrics = Metrics::Start("127.0.0.1:0", "notifier_test");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  RecordingPinner pinner;
  auto server = GrpcServer::Start("127.0.0.1:0", {&pinner}, **metrics, {});
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<int64_t> ids;
  for (int64_t i = 1; i <= 2500; ++i) ids.push_back(i);

  PinNotifier notifier =
      MakePinNotifier("127.0.0.1:" + std::to_string((*server)->port()), 1000);
  EXPECT_TRUE(notifier.Notify(ids));

  const std::vector<std::vector<uint64_t>> calls = pinner.Calls();
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].size(), 1000u);
  EXPECT_EQ(calls[1].size(), 1000u);
  EXPECT_EQ(calls[2].size(), 500u);
  std::vector<int64_t> seen;
  for (const auto& call : calls)
    for (uint64_t id : call) seen.push_back(static_cast<int64_t>(id));
  EXPECT_EQ(seen, ids);
  (*server)->Shutdown(absl::ZeroDuration());
}

TEST(ChunkingNotifierTest, AnUnreachablePeerFailsWithoutThrowingOrHanging) {
  // Nothing listens on port 1 of loopback: the call fails fast.
  PinNotifier notifier = MakePinNotifier("127.0.0.1:1", 1000);
  EXPECT_TRUE(notifier.enabled());
  EXPECT_FALSE(notifier.Notify({1, 2, 3}));
}

TEST(ChunkingNotifierTest, AnEmptyTargetIsOff) {
  PinNotifier notifier = MakePinNotifier("", 1000);
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.Notify({1, 2, 3}));
}

}  // namespace
}  // namespace niftysave
