#include "common/http/host_slots.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace niftysave::http {
namespace {

// Eight workers fetching from one host with a cap of 3: never more than 3
// at once; a worker on another host is not held up behind them.
TEST(HostSlotsTest, NoMoreThanTheCapRunAgainstOneHost) {
  HostSlots slots(3);
  std::atomic<int> running{0}, most{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 8; ++i) {
    workers.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        HostSlots::Slot slot = slots.Acquire("https://busy.example/x");
        const int now = ++running;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        absl::SleepFor(absl::Milliseconds(5));
        --running;
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(10));
  const absl::Time begin = absl::Now();
  { HostSlots::Slot other = slots.Acquire("https://quiet.example/y"); }
  EXPECT_LT(absl::Now() - begin, absl::Milliseconds(50));
  for (std::thread& t : workers) t.join();
  EXPECT_EQ(most.load(), 3);
  EXPECT_EQ(slots.Running("https://busy.example/"), 0);
}

}  // namespace
}  // namespace niftysave::http
