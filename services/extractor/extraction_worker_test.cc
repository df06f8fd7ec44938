#include "services/extractor/extraction_worker.h"

#include "gtest/gtest.h"

namespace niftysave::extractor {
namespace {

// The heartbeat renews a leased item for as long as it may take behind a
// slow host: with the defaults (256 in flight, 64 a host, 30 s fetches, a
// 100 ms write gather) 900.1 s, where it was 90 s, three fetches' worth
// with no wait in the host's line.
TEST(LongestItemTest, CoversEveryFetchOfAnItemBehindAFullHostLine) {
  ExtractionWorkerOptions options{.max_in_flight = 256,
                                  .write_gather = absl::Milliseconds(100)};
  EXPECT_EQ(LongestItem(options, 64, 0, absl::Seconds(30)),
            absl::Seconds(7 * 4 * 30 + 60) + absl::Milliseconds(100));
  // A line that does not divide evenly still waits a whole round.
  options = {.max_in_flight = 10};
  EXPECT_EQ(LongestItem(options, 4, 0, absl::Seconds(1)),
            absl::Seconds(7 * 3 + 60));
  // Starts paced at 2 a second: the tenth in line starts 5 s late.
  EXPECT_EQ(LongestItem(options, 4, 2, absl::Seconds(1)),
            absl::Seconds(7 * (3 + 5) + 60));
}

}  // namespace
}  // namespace niftysave::extractor
