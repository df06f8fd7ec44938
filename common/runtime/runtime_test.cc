#include <atomic>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "common/runtime/backoff.h"
#include "common/runtime/flags.h"
#include "common/runtime/worker.h"
#include "gtest/gtest.h"

ABSL_FLAG(int, runtime_test_port, 1, "test flag");

namespace niftysave {
namespace {

TEST(BackoffTest, GrowsExponentiallyWithinJitterAndCaps) {
  BackoffPolicy policy{absl::Seconds(1), absl::Seconds(30)};
  for (int attempt = 1; attempt <= 10; ++attempt) {
    absl::Duration full = absl::Seconds(1);
    for (int i = 1; i < attempt; ++i) full *= 2;
    if (full > absl::Seconds(30)) full = absl::Seconds(30);
    for (int i = 0; i < 50; ++i) {
      absl::Duration d = BackoffDelay(policy, attempt);
      EXPECT_GE(d, full / 2) << attempt;
      EXPECT_LE(d, full) << attempt;
    }
  }
}

TEST(FlagsTest, EnvironmentFallbackAndCommandLineWins) {
  EXPECT_EQ(EnvNameForFlag("runtime_test_port"), "NIFTYSAVE_RUNTIME_TEST_PORT");
  setenv("NIFTYSAVE_RUNTIME_TEST_PORT", "42", 1);
  char arg0[] = "runtime_test";
  char* argv1[] = {arg0};
  ParseFlags(1, argv1, "test");
  EXPECT_EQ(absl::GetFlag(FLAGS_runtime_test_port), 42);
  char arg1[] = "--runtime_test_port=7";
  char* argv2[] = {arg0, arg1};
  ParseFlags(2, argv2, "test");
  EXPECT_EQ(absl::GetFlag(FLAGS_runtime_test_port), 7);
  unsetenv("NIFTYSAVE_RUNTIME_TEST_PORT");
}

TEST(FlagsDeathTest, BadEnvironmentValueNamesTheFlag) {
  setenv("NIFTYSAVE_RUNTIME_TEST_PORT", "not-a-number", 1);
  char arg0[] = "runtime_test";
  char* argv[] = {arg0};
  EXPECT_EXIT(ParseFlags(1, argv, "test"), testing::ExitedWithCode(2),
              "--runtime_test_port: from NIFTYSAVE_RUNTIME_TEST_PORT");
  unsetenv("NIFTYSAVE_RUNTIME_TEST_PORT");
}

TEST(FlagsDeathTest, OutOfRangeValueNamesTheFlagAndTheRange) {
  absl::SetFlag(&FLAGS_runtime_test_port, 5);
  EXPECT_EQ(GetFlagInRange(FLAGS_runtime_test_port, 1, 10), 5);
  absl::SetFlag(&FLAGS_runtime_test_port, 11);
  EXPECT_EXIT(GetFlagInRange(FLAGS_runtime_test_port, 1, 10),
              testing::ExitedWithCode(2), "--runtime_test_port: must be 1-10");
  absl::SetFlag(&FLAGS_runtime_test_port, 1);
}

TEST(WorkerTest, NudgeWakesBeforePollInterval) {
  std::atomic<int> calls{0};
  Worker worker("test", absl::Hours(1), [&] {
    ++calls;
    return 0;
  });
  worker.Start();
  while (calls.load() < 1) absl::SleepFor(absl::Milliseconds(1));
  worker.Nudge();
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (calls.load() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_GE(calls.load(), 2);
  worker.Stop();
}

TEST(WorkerTest, KeepsGoingWhileThereIsWorkAndSurvivesAThrow) {
  std::atomic<int> calls{0};
  Worker worker("test", absl::Milliseconds(20), [&]() -> int {
    int n = ++calls;
    if (n == 2) throw std::runtime_error("boom");
    return n < 5 ? 1 : 0;
  });
  worker.Start();
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (calls.load() < 5 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  worker.Stop();
  EXPECT_EQ(calls.load(), 5);
}

// Ten hand-offs, each nudging, within the gather time after the first: one
// step takes all ten items (without gathering: a step per hand-off).
TEST(WorkerTest, GatherTakesTheHandOffsOfItsWindowInOneStep) {
  absl::Mutex mu;
  int pending = 0;
  std::vector<int> batches;
  Worker worker(
      "test", absl::Hours(1),
      [&] {
        absl::MutexLock lock(&mu);
        if (pending > 0) batches.push_back(pending);
        return std::exchange(pending, 0);
      },
      absl::Seconds(2));
  worker.Start();
  absl::SleepFor(absl::Milliseconds(50));  // the first (empty) step is over
  for (int i = 0; i < 10; ++i) {
    {
      absl::MutexLock lock(&mu);
      ++pending;
    }
    worker.Nudge();
    absl::SleepFor(absl::Milliseconds(20));
  }
  auto done = [&] {
    absl::MutexLock lock(&mu);
    return pending == 0 && !batches.empty();
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  worker.Stop();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(batches, std::vector<int>{10});
}

}  // namespace
}  // namespace niftysave
