// FunnelCounter on a fake clock: one count serves every caller and chain
// filter; counts are spaced by the interval and by 2% of the time; a failure
// is spaced too and never hides a good count. StatsFor and RecordCounts
// derive GetStats and the gauges from one count.
#include "services/tracker/funnel_counter.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

class FunnelCounterTest : public ::testing::Test {
 protected:
  // Each count finds one more token on chain 1 and takes `takes_`.
  FunnelCounter::Count Counting() {
    return [this]() -> absl::StatusOr<FunnelCounts> {
      ++counted_;
      now_ += takes_;
      if (fail_) return absl::UnavailableError("database down");
      return FunnelCounts{.tokens = {{1, "queued", "", counted_}},
                          .computed_at = absl::StrCat("count ", counted_)};
    };
  }
  int64_t Indexed(FunnelCounter& counter) {
    absl::StatusOr<std::shared_ptr<const FunnelCounts>> counts = counter.Get();
    EXPECT_TRUE(counts.ok()) << counts.status();
    return counts.ok() ? StatsFor(**counts, 0).indexed : -1;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  FunnelCounter::Clock clock_ = [this] { return now_; };
  absl::Duration takes_ = absl::Milliseconds(1);
  int counted_ = 0;
  bool fail_ = false;
};

TEST_F(FunnelCounterTest, OneCountPerIntervalServesEveryChainFilter) {
  FunnelCounter counter(Counting(), absl::Seconds(5), clock_);
  auto first = counter.Get();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(StatsFor(**first, 1).indexed, 1);
  EXPECT_EQ(StatsFor(**first, 7).indexed, 0);  // another filter, same count
  now_ += absl::Seconds(4);
  auto again = counter.Get();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *first);  // shared, not copied
  EXPECT_EQ(counted_, 1);
  now_ += absl::Seconds(1);  // 5 s after the first count began
  EXPECT_EQ(Indexed(counter), 2);
  EXPECT_EQ(counted_, 2);
}

// A count that took 2 s is not repeated before 98 s have passed (2% of the
// time), however short the interval and however many callers ask.
TEST_F(FunnelCounterTest, CountingNeverTakesMoreThanTwoPercentOfTheTime) {
  takes_ = absl::Seconds(2);
  FunnelCounter counter(Counting(), absl::Seconds(1), clock_);
  const absl::Time start = now_;
  EXPECT_EQ(Indexed(counter), 1);
  EXPECT_EQ(counter.last_count(), absl::Seconds(2));
  while (now_ < start + absl::Seconds(97)) {
    EXPECT_EQ(Indexed(counter), 1);
    now_ += absl::Milliseconds(500);
  }
  EXPECT_EQ(counted_, 1);
  now_ = start + absl::Seconds(98);
  EXPECT_EQ(Indexed(counter), 2);
}

TEST_F(FunnelCounterTest, AFailureIsSpacedAndNeverHidesAGoodCount) {
  FunnelCounter counter(Counting(), absl::Seconds(5), clock_);
  fail_ = true;
  EXPECT_EQ(counter.Get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(counter.Get().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(counted_, 1);  // not retried on every call
  fail_ = false;
  now_ += absl::Seconds(5);
  EXPECT_EQ(Indexed(counter), 2);
  fail_ = true;
  now_ += absl::Seconds(5);
  EXPECT_EQ(Indexed(counter), 2);  // the last good count
  EXPECT_EQ(counted_, 3);
}

TEST_F(FunnelCounterTest, BeforeTheFirstCountCallersAreToldSo) {
  FunnelCounter counter(
      []() -> absl::StatusOr<FunnelCounts> {
        return absl::InternalError("boom");
      },
      absl::Seconds(5), clock_);
  EXPECT_EQ(counter.Get().status().message(), "boom");
}

TEST_F(FunnelCounterTest, ConcurrentCallersShareOneCount) {
  std::atomic<int> counted{0};
  FunnelCounter counter(
      [&]() -> absl::StatusOr<FunnelCounts> {
        ++counted;
        absl::SleepFor(absl::Milliseconds(50));
        return FunnelCounts{.tokens = {{1, "queued", "", 1}}};
      },
      absl::Minutes(1));
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      auto counts = counter.Get();
      ASSERT_TRUE(counts.ok());
      EXPECT_EQ(StatsFor(**counts, 0).indexed, 1);
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(counted.load(), 1);
}

FunnelCounts Sample() {
  return {.tokens = {{1, "archived", "", 10},
                     {1, "failed", "http_4xx", 3},
                     {1, "failed", "uri_invalid", 4},
                     {1, "partial", "pin_failed", 2},
                     {2, "extracted", "", 5},
                     {2, "failed", "http_4xx", 6},
                     {2, "queued", "", 7}},
          .shared = {{"resources", "failed", "http_5xx", 1},
                     {"resources", "failed", "too_large", 2},
                     {"resources", "pinned", "", 9},
                     {"pins", "pinned", "", 9}},
          .computed_at = "2026-12-05T09:00:00Z"};
}

TEST(FunnelStatsTest, StatsForFiltersTokensByChainAndSharesTheRest) {
  const FunnelStats one = StatsFor(Sample(), 1);
  EXPECT_EQ(one.indexed, 19);
  EXPECT_EQ(one.metadata_fetched, 12);  // archived + partial
  EXPECT_EQ(one.archived, 10);
  EXPECT_EQ(one.partial, 2);
  EXPECT_EQ(one.failed, 7);
  EXPECT_THAT(one.failures,
              ElementsAre(Pair("uri_invalid", 4), Pair("http_4xx", 3)));
  EXPECT_THAT(one.resources, ElementsAre(Pair("failed", 3), Pair("pinned", 9)));
  EXPECT_THAT(one.pins, ElementsAre(Pair("pinned", 9)));
  EXPECT_EQ(one.computed_at, "2026-12-05T09:00:00Z");

  const FunnelStats all = StatsFor(Sample(), 0);
  EXPECT_EQ(all.indexed, 37);
  EXPECT_EQ(all.metadata_fetched, 17);
  EXPECT_EQ(all.failed, 13);
  EXPECT_THAT(all.failures,
              ElementsAre(Pair("http_4xx", 9), Pair("uri_invalid", 4)));
  EXPECT_THAT(all.resources, ElementsAre(Pair("failed", 3), Pair("pinned", 9)));
  EXPECT_EQ(StatsFor(Sample(), 3).indexed, 0);
}

TEST(FunnelStatsTest, RecordCountsSumTheChains) {
  std::vector<std::string> rows;
  for (const StatusCount& c : RecordCounts(Sample())) {
    rows.push_back(
        absl::StrCat(c.record, " ", c.status, " ", c.reason, " ", c.count));
  }
  EXPECT_THAT(
      rows,
      ElementsAre("tokens archived  10", "tokens extracted  5",
                  "tokens failed http_4xx 9", "tokens failed uri_invalid 4",
                  "tokens partial pin_failed 2", "tokens queued  7",
                  "resources failed http_5xx 1", "resources failed too_large 2",
                  "resources pinned  9", "pins pinned  9"));
}

}  // namespace
}  // namespace niftysave::tracker
