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
// at once, and every slot is given back.
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
  for (std::thread& t : workers) t.join();
  EXPECT_EQ(most.load(), 3);
  EXPECT_EQ(slots.Running("https://busy.example/"), 0);
}

// A host at its cap holds up only its own next transfer, which goes on as
// soon as a slot is given back; another host's is had at once (were it held
// up, this test would never end).
TEST(HostSlotsTest, AHostAtItsCapHoldsUpOnlyItself) {
  HostSlots slots(2);
  std::vector<HostSlots::Slot> busy;
  busy.push_back(slots.Acquire("https://busy.example/a"));
  busy.push_back(slots.Acquire("https://BUSY.example:443/b"));
  EXPECT_EQ(slots.Running("https://busy.example/"), 2);

  std::atomic<bool> third{false};
  std::thread waiter([&] {
    HostSlots::Slot slot = slots.Acquire("https://busy.example/c");
    third = true;
  });
  {
    HostSlots::Slot other = slots.Acquire("https://quiet.example/y");
    EXPECT_EQ(slots.Running("https://quiet.example/"), 1);
  }
  EXPECT_EQ(slots.Running("https://quiet.example/"), 0);
  EXPECT_FALSE(third.load());
  busy.pop_back();
  waiter.join();
  EXPECT_TRUE(third.load());
  EXPECT_EQ(slots.Running("https://busy.example/"), 1);
}

}  // namespace
}  // namespace niftysave::http
