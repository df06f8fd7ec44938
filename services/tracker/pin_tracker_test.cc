#include "services/tracker/pin_tracker.h"

#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

// The heartbeat renews a step's leases for as long as the step may take
// asking a slow backend about every pin it leased and re-pinning each: with
// the defaults (32 pins, 5 s budget waits, 30 s status requests, 120 s
// re-pins) 5,500 s, where it was 2 minutes, four status requests' worth.
TEST(LongestStepTest, CoversAStatusRequestAndARepinForEveryPinOfTheStep) {
  PinTrackerOptions options;
  EXPECT_EQ(LongestStep(options, absl::Seconds(30), absl::Seconds(120)),
            absl::Seconds(32 * (5 + 30 + 5 + 120 + 10) + 60));
  options.batch_size = 1;
  options.max_budget_wait = absl::ZeroDuration();
  EXPECT_EQ(LongestStep(options, absl::Seconds(10), absl::Seconds(20)),
            absl::Seconds(10 + 20 + 10 + 60));
}

}  // namespace
}  // namespace niftysave::tracker
