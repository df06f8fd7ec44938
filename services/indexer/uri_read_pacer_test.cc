// UriReadPacer with a fake clock: URI reads at full speed at the head, held
// to the catch-up rate while the follower catches up, and the backlog gauge
// refreshed at most every depth_every.
#include "services/indexer/uri_read_pacer.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace niftysave::indexer {
namespace {

using ::testing::ElementsAre;

class UriReadPacerTest : public ::testing::Test {
 protected:
  UriReadPacer Pacer(double rate) {
    return UriReadPacer(
        {.catch_up_rate = rate},
        {.read = [this]() -> absl::StatusOr<size_t> {
           ++reads_;
           if (!read_ok_) return absl::UnavailableError("node down");
           return batch_;
         },
         .catching_up = [this] { return catching_up_; },
         .refresh_depth = [this] { depth_at_.push_back(now_ - start_); },
         .now = [this] { return now_; },
         .sleep =
             [this](absl::Duration d) {
               slept_.push_back(d);
               now_ += d;
             }});
  }

  const absl::Time start_ = absl::FromUnixSeconds(1000);
  absl::Time now_ = start_;
  bool catching_up_ = false;
  bool read_ok_ = true;
  size_t batch_ = 50;
  int reads_ = 0;
  std::vector<absl::Duration> slept_;
  std::vector<absl::Duration> depth_at_;
};

TEST_F(UriReadPacerTest, AtTheHeadEveryStepReads) {
  UriReadPacer pacer = Pacer(100);
  EXPECT_EQ(pacer.Step(), 50);
  EXPECT_EQ(pacer.Step(), 50);
  EXPECT_EQ(reads_, 2);
  EXPECT_TRUE(slept_.empty());
}

TEST_F(UriReadPacerTest, CatchingUpHoldsReadsToTheRate) {
  catching_up_ = true;
  UriReadPacer pacer = Pacer(100);  // 50 tokens: the next batch in 0.5 s
  EXPECT_EQ(pacer.Step(), 50);
  // Waits in sleeps of at most 250 ms, reading nothing, coming straight
  // back (1).
  EXPECT_EQ(pacer.Step(), 1);
  EXPECT_EQ(pacer.Step(), 1);
  EXPECT_EQ(reads_, 1);
  EXPECT_THAT(slept_,
              ElementsAre(absl::Milliseconds(250), absl::Milliseconds(250)));
  EXPECT_EQ(pacer.Step(), 50);  // 0.5 s on: due
  EXPECT_EQ(reads_, 2);
  // At the head again: no wait, whatever the last batch.
  catching_up_ = false;
  EXPECT_EQ(pacer.Step(), 50);
  EXPECT_EQ(reads_, 3);
  EXPECT_EQ(slept_.size(), 2u);
}

TEST_F(UriReadPacerTest, ShortWaitIsSleptWhole) {
  catching_up_ = true;
  batch_ = 10;
  UriReadPacer pacer = Pacer(100);  // 10 tokens: 100 ms
  EXPECT_EQ(pacer.Step(), 10);
  EXPECT_EQ(pacer.Step(), 1);
  EXPECT_THAT(slept_, ElementsAre(absl::Milliseconds(100)));
  EXPECT_EQ(pacer.Step(), 10);
}

TEST_F(UriReadPacerTest, RateZeroMeansNoLimit) {
  catching_up_ = true;
  UriReadPacer pacer = Pacer(0);
  EXPECT_EQ(pacer.Step(), 50);
  EXPECT_EQ(pacer.Step(), 50);
  EXPECT_TRUE(slept_.empty());
}

TEST_F(UriReadPacerTest, FailedReadIsNoWorkAndNoWait) {
  read_ok_ = false;
  UriReadPacer pacer = Pacer(100);
  EXPECT_EQ(pacer.Step(), 0);
  catching_up_ = true;
  EXPECT_EQ(pacer.Step(), 0);
  EXPECT_EQ(pacer.Step(), 0);  // nothing read: nothing to wait for
  EXPECT_EQ(reads_, 3);
  EXPECT_TRUE(slept_.empty());
}

TEST_F(UriReadPacerTest, BacklogGaugeAtMostEveryFiveSeconds) {
  UriReadPacer pacer = Pacer(100);
  pacer.Step();
  now_ += absl::Seconds(3);
  pacer.Step();
  now_ += absl::Seconds(3);
  pacer.Step();
  now_ += absl::Seconds(1);
  pacer.Step();
  EXPECT_THAT(depth_at_, ElementsAre(absl::ZeroDuration(), absl::Seconds(6)));
}

}  // namespace
}  // namespace niftysave::indexer
