#include "services/tracker/funnel_recount.h"

#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(FunnelRecountTest, FastRecountsKeepTheInterval) {
  FunnelRecount recount(absl::Seconds(15));
  EXPECT_TRUE(recount.Due(kT0));
  recount.Ran(kT0, kT0 + absl::Milliseconds(20));  // 49 x 20 ms < 15 s
  EXPECT_FALSE(recount.Due(kT0 + absl::Seconds(14)));
  EXPECT_TRUE(recount.Due(kT0 + absl::Seconds(15)));
}

// A recount of whole tables that took 3 minutes waits 49 times as long, so
// counting takes 2% of the time however large the archive.
TEST(FunnelRecountTest, SlowRecountsSpendAtMostTheirShare) {
  FunnelRecount recount(absl::Seconds(15));
  recount.Ran(kT0, kT0 + absl::Minutes(3));
  EXPECT_EQ(recount.last(), absl::Minutes(3));
  EXPECT_FALSE(recount.Due(kT0 + absl::Minutes(146)));
  EXPECT_TRUE(recount.Due(kT0 + absl::Minutes(147)));
  // It speeds up again once recounts are fast.
  const absl::Time later = kT0 + absl::Minutes(147);
  recount.Ran(later, later + absl::Milliseconds(10));
  EXPECT_TRUE(recount.Due(later + absl::Seconds(15)));
}

}  // namespace
}  // namespace niftysave::tracker
