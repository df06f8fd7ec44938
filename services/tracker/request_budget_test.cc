// RequestBudget on a fake clock: the bucket's arithmetic, exactly.
#include "services/tracker/request_budget.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

class RequestBudgetTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  RequestBudget::Clock clock_ = [this] { return now_; };
};

TEST_F(RequestBudgetTest, BurstOfOneSecondThenQueuedAtTheRate) {
  RequestBudget budget(4, clock_);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(budget.Reserve(), absl::ZeroDuration());
  // The 5th, 6th... wait 1/4 s more each.
  EXPECT_EQ(budget.Reserve(), absl::Milliseconds(250));
  EXPECT_EQ(budget.Reserve(), absl::Milliseconds(500));
  now_ += absl::Milliseconds(500);  // both reservations are due now
  EXPECT_EQ(budget.Reserve(), absl::Milliseconds(250));
}

TEST_F(RequestBudgetTest, IdleTimeRefillsUpToOneSecondOnly) {
  RequestBudget budget(2, clock_);
  EXPECT_EQ(budget.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(budget.Reserve(), absl::ZeroDuration());
  now_ += absl::Hours(1);  // no credit beyond the burst
  EXPECT_EQ(budget.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(budget.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(budget.Reserve(), absl::Milliseconds(500));
}

TEST_F(RequestBudgetTest, SlowRateStillAllowsOneRequest) {
  RequestBudget budget(0.5, clock_);  // one every 2 s, burst 1
  EXPECT_EQ(budget.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(budget.Reserve(), absl::Seconds(2));
}

TEST_F(RequestBudgetTest, CancelGivesTheTokenBack) {
  RequestBudget budget(1, clock_);
  EXPECT_EQ(budget.Reserve(), absl::ZeroDuration());
  EXPECT_EQ(budget.Reserve(), absl::Seconds(1));
  budget.Cancel();
  EXPECT_EQ(budget.Reserve(), absl::Seconds(1));
  budget.Cancel();
  budget.Cancel();
  EXPECT_EQ(budget.Reserve(), absl::ZeroDuration());
}

TEST_F(RequestBudgetTest, AvailableWithinCountsWhatFitsTheHorizon) {
  RequestBudget budget(10, clock_);
  EXPECT_EQ(budget.AvailableWithin(absl::ZeroDuration()), 10);
  EXPECT_EQ(budget.AvailableWithin(absl::Seconds(2)), 30);
  for (int i = 0; i < 15; ++i) budget.Reserve();  // 5 reserved ahead
  EXPECT_EQ(budget.AvailableWithin(absl::ZeroDuration()), 0);
  EXPECT_EQ(budget.AvailableWithin(absl::Milliseconds(500)), 0);
  EXPECT_EQ(budget.AvailableWithin(absl::Seconds(1)), 5);
  // What it promised holds: the 5th next reservation waits exactly 1 s.
  for (int i = 0; i < 4; ++i) budget.Reserve();
  EXPECT_EQ(budget.Reserve(), absl::Seconds(1));
}

// Over any window the requests started are bounded by burst + rate * T,
// however many threads reserve.
TEST(RequestBudgetRealClockTest, ThreadsTogetherKeepTheRate) {
  RequestBudget budget(50);
  std::vector<absl::Time> starts;
  absl::Mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        absl::SleepFor(budget.Reserve());
        absl::MutexLock lock(&mu);
        starts.push_back(absl::Now());
      }
    });
  }
  const absl::Time begin = absl::Now();
  for (std::thread& t : threads) t.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - begin);
  // 80 requests at 50/s with a burst of 50: at least (80 - 50) / 50 s.
  EXPECT_GE(elapsed, 0.55);
  EXPECT_EQ(starts.size(), 80u);
}

}  // namespace
}  // namespace niftysave::tracker
