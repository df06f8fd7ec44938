// The coalescing hand-off against a real gRPC server on 127.0.0.1: what one
// window gathers goes out as one call, a whole call's worth goes out at
// once, the waiting items are capped, Stop sends what is left, and a peer
// that is dead or stuck never holds up the callers. Counts, not timings:
// each wait has a generous timeout and only bounds a hang.
#include "common/grpc/coalescing_notifier.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
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

using Coalescing = CoalescingNotifier<int64_t, v1::PinRequest, v1::PinResponse>;

std::vector<uint64_t> Ids(uint64_t first, uint64_t last) {
  std::vector<uint64_t> ids;
  for (uint64_t id = first; id <= last; ++id) ids.push_back(id);
  return ids;
}

class CoalescingNotifierTest : public ::testing::Test {
 protected:
  // The server outlives the test body, and so its notifier's last send.
  RecordingPinner& StartServer(bool hold = false) {
    pinner_ = std::make_unique<RecordingPinner>(hold);
    auto metrics = Metrics::Start("127.0.0.1:0", "coalescing_test");
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = std::move(*metrics);
    auto server =
        GrpcServer::Start("127.0.0.1:0", {pinner_.get()}, *metrics_, {});
    EXPECT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    return *pinner_;
  }
  std::string target() const {
    return "127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override {
    if (pinner_) pinner_->Release();  // a failed test may leave a call held
    if (server_) server_->Shutdown(absl::ZeroDuration());
  }

  std::unique_ptr<RecordingPinner> pinner_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(CoalescingNotifierTest, OneWindowOfNotifiesIsOneCallInOrder) {
  RecordingPinner& pinner = StartServer();
  Coalescing notifier(MakePinNotifier(target(), 1000), absl::Seconds(3));
  // 50 workers' hand-offs, a duplicate among them, well inside the window.
  for (int64_t id = 1; id <= 50; ++id) notifier.Notify({id});
  notifier.Notify({7});

  const auto calls = pinner.WaitForCalls(1);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], Ids(1, 50));
  EXPECT_EQ(notifier.calls(), 1);
  EXPECT_EQ(notifier.dropped(), 0);
}

TEST_F(CoalescingNotifierTest, AWindowOfZeroPassesEachNotifyThrough) {
  RecordingPinner& pinner = StartServer();
  Coalescing notifier(MakePinNotifier(target(), 1000), absl::ZeroDuration());
  for (int64_t id = 1; id <= 50; ++id) notifier.Notify({id});
  // Synchronous: every call has arrived when Notify returns.
  EXPECT_EQ(pinner.Calls().size(), 50u);
  EXPECT_EQ(notifier.calls(), 50);
}

TEST_F(CoalescingNotifierTest, AWholeCallsWorthGoesOutWithoutWaiting) {
  RecordingPinner& pinner = StartServer();
  // The window would hold the items for an hour; the cap sends them now.
  Coalescing notifier(MakePinNotifier(target(), 10), absl::Hours(1));
  std::vector<int64_t> ids;
  for (int64_t id = 1; id <= 25; ++id) ids.push_back(id);
  notifier.Notify(ids);

  const auto calls = pinner.WaitForCalls(2);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], Ids(1, 10));
  EXPECT_EQ(calls[1], Ids(11, 20));
  // The last five wait for their window, or for Stop.
  notifier.Stop();
  const auto all = pinner.Calls();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2], Ids(21, 25));
  EXPECT_EQ(notifier.calls(), 3);
}

TEST_F(CoalescingNotifierTest, ItemsOverThePendingCapAreDroppedAndCounted) {
  RecordingPinner& pinner = StartServer();
  std::atomic<int64_t> observed_dropped = 0;
  Coalescing notifier(MakePinNotifier(target(), 1000), absl::Hours(1),
                      /*max_pending=*/100,
                      {.dropped = [&](int64_t n) { observed_dropped += n; }});
  std::vector<int64_t> ids;
  for (int64_t id = 1; id <= 150; ++id) ids.push_back(id);
  notifier.Notify(ids);
  EXPECT_EQ(notifier.dropped(), 50);
  EXPECT_EQ(observed_dropped, 50);
  EXPECT_EQ(notifier.calls(), 0);

  notifier.Stop();
  const auto calls = pinner.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], Ids(1, 100));
}

TEST_F(CoalescingNotifierTest, DestructionSendsWhatIsWaiting) {
  RecordingPinner& pinner = StartServer();
  {
    Coalescing notifier(MakePinNotifier(target(), 1000), absl::Hours(1));
    notifier.Notify({3, 1, 2});
  }
  const auto calls = pinner.Calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], (std::vector<uint64_t>{3, 1, 2}));
}

TEST_F(CoalescingNotifierTest, AStuckPeerNeverHoldsUpTheCallers) {
  RecordingPinner& pinner = StartServer(/*hold=*/true);
  Coalescing notifier(MakePinNotifier(target(), 10), absl::Hours(1),
                      /*max_pending=*/100);
  // The first call reaches the peer and hangs there...
  std::vector<int64_t> first;
  for (int64_t id = 1; id <= 10; ++id) first.push_back(id);
  notifier.Notify(first);
  ASSERT_EQ(pinner.WaitForCalls(1).size(), 1u);
  const absl::Time held_since = absl::Now();
  // ...while 500 more hand-offs return at once: 100 wait, the rest are
  // dropped, and the peer saw no second call. (A synchronous hand-off would
  // make one call per Notify, each held until its 2 s deadline.)
  absl::Notification returned;
  std::thread workers([&] {
    for (int64_t id = 11; id <= 510; ++id) notifier.Notify({id});
    returned.Notify();
  });
  const bool all_returned =
      returned.WaitForNotificationWithTimeout(absl::Seconds(30));
  const absl::Duration held_for = absl::Now() - held_since;
  const size_t calls_seen = pinner.Calls().size();
  const int64_t dropped = notifier.dropped();
  pinner.Release();
  workers.join();
  ASSERT_TRUE(all_returned);
  // Past the held call's deadline the sender moves on to the next call: on
  // a machine stalled that long the counts above say nothing.
  if (held_for > absl::Seconds(1)) GTEST_SKIP() << "stalled past a deadline";
  EXPECT_EQ(calls_seen, 1u);
  EXPECT_EQ(dropped, 400);
  notifier.Stop();
  EXPECT_EQ(pinner.Calls().size(), 11u);
  EXPECT_EQ(notifier.failed_calls(), 0);
}

TEST(CoalescingNotifierDeadPeerTest, CostsALoggedFailureAndNothingElse) {
  // Nothing listens on port 1 of loopback.
  std::atomic<int64_t> observed_failures = 0;
  Coalescing notifier(MakePinNotifier("127.0.0.1:1", 10), absl::Hours(1),
                      100000,
                      {.call = [&](bool ok) { observed_failures += !ok; }});
  for (int64_t id = 1; id <= 100; ++id) notifier.Notify({id});
  notifier.Stop();
  EXPECT_EQ(observed_failures, notifier.failed_calls());
  // Every call made failed, and was counted; whatever the failed calls
  // carried, or Stop gave up on, is the tracker poll's to find.
  EXPECT_GE(notifier.calls(), 1);
  EXPECT_EQ(notifier.failed_calls(), notifier.calls());
}

}  // namespace
}  // namespace niftysave
