#include "services/tracker/pin_tracker.h"

#include <map>
#include <string>

#include "common/http/http_client.h"
#include "common/ipfs/backend_factory.h"
#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

// The heartbeat renews a step's leases for as long as it may go between
// two reports of progress: a budget wait and a status request, then a
// budget wait and a re-pin, each as long as the slowest backend's own
// timeouts allow. With the default budget wait (5 s), kubo (30 s pin/ls; a
// call to it may be a 10-minute add) and a pinning service (up to 20 pages
// of 30 s for one status query): 5 + 600 + 5 + 600 + 60 s.
TEST(LongestCheckTest, CoversTheSlowestBackendsStatusRequestAndRepin) {
  http::HttpClient http({});
  ipfs::BackendConfig config{.kind = "kubo,pinning-service",
                             .kubo_api_url = "http://127.0.0.1:9",
                             .pinning_service_url = "http://127.0.0.1:9",
                             .pinning_service_token = "t"};
  auto made = ipfs::MakePinBackends(config, http);
  ASSERT_TRUE(made.ok()) << made.status();
  std::map<std::string, ipfs::PinBackend*> backends;
  for (const auto& b : *made) backends[b->name()] = b.get();
  PinTrackerOptions options;
  EXPECT_EQ(LongestCheck(options, backends),
            absl::Seconds(5 + 600 + 5 + 600 + 60));
  // Kubo alone: its 30 s pin/ls.
  backends.erase("pinning-service");
  options.max_budget_wait = absl::ZeroDuration();
  EXPECT_EQ(LongestCheck(options, backends), absl::Seconds(30 + 600 + 60));
}

}  // namespace
}  // namespace niftysave::tracker
