#include "services/tracker/pin_tracker.h"

#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

// The heartbeat renews a step's leases for as long as it may go between
// two reports of progress: a budget wait and a status request, then a
// budget wait and a re-pin. With the defaults (5 s budget waits, 30 s
// status requests, 120 s re-pins) 230 s after the last progress.
TEST(LongestCheckTest, CoversAStatusRequestAndARepin) {
  PinTrackerOptions options;
  EXPECT_EQ(LongestCheck(options, absl::Seconds(30), absl::Seconds(120)),
            absl::Seconds(5 + 30 + 5 + 120 + 10 + 60));
  options.max_budget_wait = absl::ZeroDuration();
  EXPECT_EQ(LongestCheck(options, absl::Seconds(10), absl::Seconds(20)),
            absl::Seconds(10 + 20 + 10 + 60));
}

}  // namespace
}  // namespace niftysave::tracker
