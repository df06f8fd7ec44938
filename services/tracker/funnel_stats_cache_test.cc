// FunnelStatsCache on a fake clock: one computation per interval and chain
// filter, shared; failures are not kept.
#include "services/tracker/funnel_stats_cache.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

class FunnelStatsCacheTest : public ::testing::Test {
 protected:
  FunnelStatsCache::Compute Counting() {
    return [this](uint64_t chain_id) -> absl::StatusOr<FunnelStats> {
      ++computed_;
      if (fail_) return absl::UnavailableError("database down");
      return FunnelStats{.indexed =
                             static_cast<int64_t>(chain_id) * 100 + computed_};
    };
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  FunnelStatsCache::Clock clock_ = [this] { return now_; };
  int computed_ = 0;
  bool fail_ = false;
};

TEST_F(FunnelStatsCacheTest, ComputedOncePerIntervalAndChainFilter) {
  FunnelStatsCache cache(Counting(), absl::Seconds(5), clock_);
  EXPECT_EQ(cache.Get(0)->indexed, 1);
  now_ += absl::Seconds(4);
  EXPECT_EQ(cache.Get(0)->indexed, 1);    // fresh: shared
  EXPECT_EQ(cache.Get(7)->indexed, 702);  // another filter: its own
  EXPECT_EQ(computed_, 2);
  now_ += absl::Seconds(1);  // 5 s after the first: stale
  EXPECT_EQ(cache.Get(0)->indexed, 3);
  EXPECT_EQ(cache.Get(7)->indexed, 702);  // computed 1 s ago
  EXPECT_EQ(computed_, 3);
}

TEST_F(FunnelStatsCacheTest, ZeroIntervalComputesEachTime) {
  FunnelStatsCache cache(Counting(), absl::ZeroDuration(), clock_);
  cache.Get(0).IgnoreError();
  cache.Get(0).IgnoreError();
  EXPECT_EQ(computed_, 2);
}

TEST_F(FunnelStatsCacheTest, AFailureIsNotKept) {
  FunnelStatsCache cache(Counting(), absl::Seconds(5), clock_);
  fail_ = true;
  EXPECT_EQ(cache.Get(0).status().code(), absl::StatusCode::kUnavailable);
  fail_ = false;
  EXPECT_EQ(cache.Get(0)->indexed, 2);  // tried again at once
  EXPECT_EQ(cache.Get(0)->indexed, 2);
  EXPECT_EQ(computed_, 2);
}

TEST_F(FunnelStatsCacheTest, ConcurrentCallersShareOneComputation) {
  std::atomic<int> computed{0};
  FunnelStatsCache cache(
      [&](uint64_t) -> absl::StatusOr<FunnelStats> {
        ++computed;
        absl::SleepFor(absl::Milliseconds(50));
        return FunnelStats{.indexed = 1};
      },
      absl::Minutes(1));
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] { EXPECT_EQ(cache.Get(0)->indexed, 1); });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(computed.load(), 1);
}

TEST_F(FunnelStatsCacheTest, ManyChainFiltersStayBounded) {
  FunnelStatsCache cache(Counting(), absl::Minutes(1), clock_);
  for (uint64_t chain = 1; chain <= FunnelStatsCache::kMaxEntries; ++chain)
    cache.Get(chain).IgnoreError();
  cache.Get(1).IgnoreError();  // still cached
  EXPECT_EQ(computed_, static_cast<int>(FunnelStatsCache::kMaxEntries));
  cache.Get(FunnelStatsCache::kMaxEntries + 1).IgnoreError();  // starts over
  cache.Get(1).IgnoreError();
  EXPECT_EQ(computed_, static_cast<int>(FunnelStatsCache::kMaxEntries) + 2);
}

}  // namespace
}  // namespace niftysave::tracker
