// The shared queue-worker flags: per-service defaults, overridden by the
// command line, and --max_attempts refused by a service that never gives up
// whatever value is passed (-1 included, the old sentinel).
#include "common/service/queue_worker_flags.h"

#include "common/runtime/flags.h"
#include "gtest/gtest.h"

namespace niftysave {
namespace {

QueueWorkerFlags Parse(const QueueWorkerFlags& defaults,
                       std::vector<std::string> args) {
  SetQueueWorkerDefaults(defaults);
  args.insert(args.begin(), "queue_worker_flags_test");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ParseFlags(static_cast<int>(argv.size()), argv.data(), "test");
  return ReadQueueWorkerFlags();
}

const QueueWorkerFlags kGivesUp = {.workers = 3,
                                   .batch_size = 40,
                                   .max_attempts = 5,
                                   .poll = absl::Seconds(2)};
const QueueWorkerFlags kNeverGivesUp = {.workers = 3,
                                        .batch_size = 40,
                                        .max_attempts = std::nullopt,
                                        .poll = absl::Seconds(2)};

TEST(QueueWorkerFlagsTest, ServiceDefaultsApplyAndTheCommandLineWins) {
  const QueueWorkerFlags flags = Parse(kGivesUp, {"--batch_size=7"});
  EXPECT_EQ(flags.workers, 3);
  EXPECT_EQ(flags.batch_size, 7);
  EXPECT_EQ(flags.max_attempts, 5);
  EXPECT_EQ(flags.poll, absl::Seconds(2));
}

TEST(QueueWorkerFlagsDeathTest, AServiceThatNeverGivesUpRefusesMaxAttempts) {
  for (const char* given : {"--max_attempts=4", "--max_attempts=-1"}) {
    EXPECT_EXIT(Parse(kNeverGivesUp, {given}), testing::ExitedWithCode(2),
                "--max_attempts: not used by this service")
        << given;
  }
  setenv("NIFTYSAVE_MAX_ATTEMPTS", "-1", 1);
  EXPECT_EXIT(Parse(kNeverGivesUp, {}), testing::ExitedWithCode(2),
              "--max_attempts: not used by this service");
  unsetenv("NIFTYSAVE_MAX_ATTEMPTS");
}

TEST(QueueWorkerFlagsDeathTest, AnEmptyOrOutOfRangeMaxAttemptsIsRefused) {
  for (const char* given :
       {"--max_attempts=", "--max_attempts=0", "--max_attempts=101"}) {
    EXPECT_EXIT(Parse(kGivesUp, {given}), testing::ExitedWithCode(2),
                "--max_attempts: must be 1-100")
        << given;
  }
}

TEST(QueueWorkerFlagsTest, NotGivenItIsNotRefused) {
  EXPECT_FALSE(Parse(kNeverGivesUp, {}).max_attempts.has_value());
}

}  // namespace
}  // namespace niftysave
