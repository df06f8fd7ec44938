// WorkerPool::Nudge: a hand-off wakes as many idle workers as leasing it
// takes, not the whole pool, and every item handed off is still taken at
// once (the poll interval here is ten minutes, so only nudges wake).
#include <algorithm>
#include <atomic>

#include "absl/time/clock.h"
#include "common/service/service_base.h"
#include "gtest/gtest.h"

namespace niftysave {
namespace {

class WorkerPoolTest : public ::testing::Test {
 protected:
  static constexpr int kWorkers = 16;
  static constexpr int kBatch = 8;

  // Takes up to kBatch of the waiting items: a lease.
  int Step() {
    ++steps_;
    int64_t waiting = waiting_.load();
    int64_t take = 0;
    do {
      take = std::min<int64_t>(waiting, kBatch);
    } while (!waiting_.compare_exchange_weak(waiting, waiting - take));
    return static_cast<int>(take);
  }

  // Waits until every worker is asleep; false after 10 s.
  static bool AllIdle(WorkerPool& pool) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (pool.idle() < kWorkers && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    return pool.idle() == kWorkers;
  }

  std::atomic<int64_t> waiting_{0};
  std::atomic<int> steps_{0};
};

TEST_F(WorkerPoolTest, AHandOffWakesOnlyTheWorkersItNeeds) {
  WorkerPool pool("test", kWorkers, absl::Minutes(10),
                  [this] { return Step(); });
  pool.Start();
  ASSERT_TRUE(AllIdle(pool));  // each ran one empty step at start
  steps_ = 0;
  waiting_ = 20;
  pool.Nudge(20, kBatch);  // 3 leases' worth
  ASSERT_TRUE(AllIdle(pool));
  EXPECT_EQ(waiting_.load(), 0);  // all taken, without waiting for a poll
  // Leases of 8, 8 and 4, then one empty lease for each woken worker
  // before it sleeps (NudgeAll: 16 empty ones).
  EXPECT_EQ(steps_.load(), 6);

  steps_ = 0;
  waiting_ = 1;
  pool.Nudge(1, kBatch);  // one item: one worker
  ASSERT_TRUE(AllIdle(pool));
  EXPECT_EQ(waiting_.load(), 0);
  EXPECT_EQ(steps_.load(), 2);
  pool.Stop();
}

TEST_F(WorkerPoolTest, AHandOffBiggerThanThePoolWakesEveryWorker) {
  WorkerPool pool("test", kWorkers, absl::Minutes(10),
                  [this] { return Step(); });
  pool.Start();
  ASSERT_TRUE(AllIdle(pool));
  waiting_ = 1000;
  pool.Nudge(1000, kBatch);
  ASSERT_TRUE(AllIdle(pool));
  EXPECT_EQ(waiting_.load(), 0);
  pool.Stop();
}

}  // namespace
}  // namespace niftysave
