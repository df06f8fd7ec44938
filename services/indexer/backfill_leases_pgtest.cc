// BackfillLeases and FollowerLease against a real Postgres with the
// migrations applied: chunking, leasing, generation fencing, progress inside
// the caller's transaction, and concurrent leasing from many threads.

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/pool.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/indexer/indexer_test_fixture.h"
#include "services/indexer/pg_backfill_leases.h"

namespace niftysave::indexer {
namespace {

constexpr uint64_t kChain = 1;
constexpr uint64_t kOtherChain = 2;
constexpr uint64_t kUnknownChain = 99;

// A chunk row as stored.
struct Chunk {
  int64_t id = 0;
  uint64_t from_block = 0;
  uint64_t to_block = 0;
  uint64_t next_block = 0;
  int64_t generation = 0;
  std::string last_error;
};

constexpr absl::Duration kLong = absl::Hours(1);

class BackfillLeasesPgTest : public pgtest::PgTestFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpDatabase("backfill_test_", 10));
    ASSERT_OK(pool_->Run([](pqxx::work& txn) {
      txn.exec(
          "INSERT INTO chains (chain_id, name, next_block) "
          "VALUES (1, 'one', 0), (2, 'two', 0)");
      return absl::OkStatus();
    }));
    leases_ = std::make_unique<PgBackfillLeases>(*pool_);
  }

  std::vector<Chunk> Chunks(uint64_t chain_id = kChain) {
    std::vector<Chunk> chunks;
    absl::Status status = pool_->Run([&](pqxx::work& txn) {
      for (const auto& row : txn.exec_params(
               "SELECT id, from_block, to_block, next_block, generation, "
               "coalesce(last_error, '') FROM backfill_ranges "
               "WHERE chain_id = $1 ORDER BY id",
               static_cast<int64_t>(chain_id))) {
        chunks.push_back({row[0].as<int64_t>(), row[1].as<uint64_t>(),
                          row[2].as<uint64_t>(), row[3].as<uint64_t>(),
                          row[4].as<int64_t>(), row[5].as<std::string>()});
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(status.ok()) << status;
    return chunks;
  }

  // Advance in a transaction of its own that commits when Advance succeeds.
  absl::StatusOr<bool> AdvanceCommitted(const LeasedRange& lease,
                                        uint64_t next_block) {
    bool advanced = false;
    absl::Status status = pool_->Run([&](pqxx::work& txn) {
      advanced = PgBackfillLeases::Advance(txn, lease, next_block);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return advanced;
  }

  std::unique_ptr<BackfillLeases> leases_;
};

TEST_F(BackfillLeasesPgTest, AddSplitsARangeIntoChunks) {
  // A ragged last chunk.
  ASSERT_OK_AND_ASSIGN(uint64_t added, leases_->Add(kChain, 100, 349, 100));
  EXPECT_EQ(added, 3u);
  // An exact fit, a single block, and chunks of one block.
  ASSERT_OK_AND_ASSIGN(added, leases_->Add(kChain, 0, 199, 100));
  EXPECT_EQ(added, 2u);
  ASSERT_OK_AND_ASSIGN(added, leases_->Add(kChain, 7, 7, 100));
  EXPECT_EQ(added, 1u);
  ASSERT_OK_AND_ASSIGN(added, leases_->Add(kChain, 10, 12, 1));
  EXPECT_EQ(added, 3u);

  const std::vector<std::pair<uint64_t, uint64_t>> expected = {
      {100, 199}, {200, 299}, {300, 349}, {0, 99}, {100, 199},
      {7, 7},     {10, 10},   {11, 11},   {12, 12}};
  std::vector<Chunk> chunks = Chunks();
  ASSERT_EQ(chunks.size(), expected.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i].from_block, expected[i].first) << i;
    EXPECT_EQ(chunks[i].to_block, expected[i].second) << i;
    EXPECT_EQ(chunks[i].next_block, expected[i].first) << i;
    EXPECT_EQ(chunks[i].generation, 0) << i;
  }
  ASSERT_OK_AND_ASSIGN(BackfillPending pending, leases_->Pending(kChain));
  EXPECT_EQ(pending.chunks, 9u);
  EXPECT_EQ(pending.blocks, 250u + 200u + 1u + 3u);
  EXPECT_FALSE(pending.capped);
  ASSERT_OK_AND_ASSIGN(pending, leases_->Pending(kOtherChain));
  EXPECT_EQ(pending.chunks, 0u);
  EXPECT_EQ(pending.blocks, 0u);
  // The cap bounds the count.
  ASSERT_OK_AND_ASSIGN(pending, leases_->Pending(kChain, 4));
  EXPECT_EQ(pending.chunks, 4u);
  EXPECT_TRUE(pending.capped);
}

TEST_F(BackfillLeasesPgTest, AddRefusesBadRequests) {
  absl::StatusOr<uint64_t> added = leases_->Add(kChain, 11, 10, 100);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(added.status()), "backfill_invalid");

  added = leases_->Add(kChain, 0, 10, 0);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kInvalidArgument);

  added = leases_->Add(kChain, 0, uint64_t{1} << 63, 1000);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kInvalidArgument);

  // 100,001 chunks: one too many for a request.
  added = leases_->Add(kChain, 0, 100000, 1);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReasonOf(added.status()), "range_too_large");
  // Exactly the limit is accepted.
  ASSERT_OK_AND_ASSIGN(uint64_t n, leases_->Add(kOtherChain, 0, 99999, 1));
  EXPECT_EQ(n, 100000u);

  added = leases_->Add(kUnknownChain, 0, 10, 5);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kNotFound);

  EXPECT_TRUE(Chunks().empty());

  // The per-chain cap on chunks waiting.
  PgBackfillLeases small(*pool_,
                         {.max_chunks_per_add = 100, .max_pending_chunks = 5});
  ASSERT_OK_AND_ASSIGN(n, small.Add(kChain, 0, 39, 10));
  EXPECT_EQ(n, 4u);
  added = small.Add(kChain, 40, 59, 10);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReasonOf(added.status()), "backfill_queue_full");
  ASSERT_OK_AND_ASSIGN(n, small.Add(kChain, 40, 49, 10));
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(Chunks().size(), 5u);
}

TEST_F(BackfillLeasesPgTest, TwoWorkersLeaseDifferentChunksOldestFirst) {
  ASSERT_OK(leases_->Add(kChain, 0, 19, 10));
  ASSERT_OK(leases_->Add(kOtherChain, 500, 500, 10));

  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> a,
                       leases_->Lease(kChain, "worker-a", kLong));
  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> b,
                       leases_->Lease(kChain, "worker-b", kLong));
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(b.has_value());
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(a->chain_id, kChain);
  EXPECT_EQ(a->from_block, 0u);
  EXPECT_EQ(a->to_block, 9u);
  EXPECT_EQ(a->next_block, 0u);
  EXPECT_EQ(a->generation, 1);
  EXPECT_EQ(a->attempts, 1);
  EXPECT_EQ(b->from_block, 10u);
  EXPECT_EQ(b->to_block, 19u);

  // Nothing left on this chain; the other chain's chunk is its own.
  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> c,
                       leases_->Lease(kChain, "worker-c", kLong));
  EXPECT_FALSE(c.has_value());
  ASSERT_OK_AND_ASSIGN(c, leases_->Lease(kOtherChain, "worker-c", kLong));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->from_block, 500u);

  // Bad lease requests are refused before touching the database.
  EXPECT_EQ(leases_->Lease(kChain, "", kLong).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(leases_->Lease(kChain, "w", absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(leases_->Lease(kChain, "w", absl::Hours(2)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BackfillLeasesPgTest, ExpiredLeaseIsTakenOverAndTheOldHolderFenced) {
  ASSERT_OK(leases_->Add(kChain, 0, 99, 100));
  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> old,
                       leases_->Lease(kChain, "worker-old", absl::Seconds(1)));
  ASSERT_TRUE(old.has_value());
  // Progress before the lease ran out counts.
  ASSERT_OK_AND_ASSIGN(bool advanced, AdvanceCommitted(*old, 40));
  EXPECT_TRUE(advanced);

  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> none,
                       leases_->Lease(kChain, "worker-new", kLong));
  EXPECT_FALSE(none.has_value()) << "leased while the first lease held";

  absl::SleepFor(absl::Milliseconds(1300));
  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> taken,
                       leases_->Lease(kChain, "worker-new", kLong));
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->id, old->id);
  EXPECT_EQ(taken->next_block, 40u);  // resumes where the old holder got
  EXPECT_EQ(taken->generation, old->generation + 1);
  EXPECT_EQ(taken->attempts, 2);

  ASSERT_OK_AND_ASSIGN(advanced, AdvanceCommitted(*old, 60));
  EXPECT_FALSE(advanced);
  ASSERT_OK_AND_ASSIGN(advanced, AdvanceCommitted(*old, 100));  // finishing
  EXPECT_FALSE(advanced);
  ASSERT_OK_AND_ASSIGN(bool renewed, leases_->Renew(*old, kLong));
  EXPECT_FALSE(renewed);
  ASSERT_OK_AND_ASSIGN(bool released, leases_->Release(*old, "late"));
  EXPECT_FALSE(released);

  std::vector<Chunk> chunks = Chunks();
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].next_block, 40u);
  EXPECT_EQ(chunks[0].generation, taken->generation);
  EXPECT_EQ(chunks[0].last_error, "");

  // The new holder is unaffected.
  ASSERT_OK_AND_ASSIGN(advanced, AdvanceCommitted(*taken, 70));
  EXPECT_TRUE(advanced);
  EXPECT_EQ(Chunks()[0].next_block, 70u);
}

TEST_F(BackfillLeasesPgTest, AdvanceInARolledBackTransactionChangesNothing) {
  ASSERT_OK(leases_->Add(kChain, 1000, 1099, 100));
  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> lease,
                       leases_->Lease(kChain, "worker", kLong));
  ASSERT_TRUE(lease.has_value());

  // The records' write fails after Advance: both roll back together.
  bool advanced = false;
  absl::Status status = pool_->Run([&](pqxx::work& txn) {
    advanced = PgBackfillLeases::Advance(txn, *lease, 1050);
    return absl::AbortedError("the records' insert failed");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(advanced);
  // A finishing Advance rolled back leaves the row too.
  status = pool_->Run([&](pqxx::work& txn) {
    advanced = PgBackfillLeases::Advance(txn, *lease, 1100);
    return absl::AbortedError("the records' insert failed");
  });
  EXPECT_TRUE(advanced);

  std::vector<Chunk> chunks = Chunks();
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].next_block, 1000u);
  EXPECT_EQ(chunks[0].generation, lease->generation);
  ASSERT_OK_AND_ASSIGN(BackfillPending pending, leases_->Pending(kChain));
  EXPECT_EQ(pending.blocks, 100u);

  // The lease still holds, and progress never goes backwards.
  ASSERT_OK_AND_ASSIGN(advanced, AdvanceCommitted(*lease, 1050));
  EXPECT_TRUE(advanced);
  ASSERT_OK_AND_ASSIGN(advanced, AdvanceCommitted(*lease, 1010));
  EXPECT_TRUE(advanced);
  EXPECT_EQ(Chunks()[0].next_block, 1050u);
  ASSERT_OK_AND_ASSIGN(pending, leases_->Pending(kChain));
  EXPECT_EQ(pending.blocks, 50u);
}

TEST_F(BackfillLeasesPgTest, AdvancePastToBlockFinishesTheChunk) {
  ASSERT_OK(leases_->Add(kChain, 0, 149, 100));
  ASSERT_OK_AND_ASSIGN(BackfillPending pending, leases_->Pending(kChain));
  EXPECT_EQ(pending.chunks, 2u);
  EXPECT_EQ(pending.blocks, 150u);

  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> first,
                       leases_->Lease(kChain, "worker", kLong));
  ASSERT_TRUE(first.has_value());
  ASSERT_OK_AND_ASSIGN(bool advanced, AdvanceCommitted(*first, 99));
  EXPECT_TRUE(advanced);
  ASSERT_OK_AND_ASSIGN(pending, leases_->Pending(kChain));
  EXPECT_EQ(pending.chunks, 2u);
  EXPECT_EQ(pending.blocks, 51u);  // block 99 and the 50 of the second chunk

  ASSERT_OK_AND_ASSIGN(advanced, AdvanceCommitted(*first, 100));
  EXPECT_TRUE(advanced);
  ASSERT_OK_AND_ASSIGN(pending, leases_->Pending(kChain));
  EXPECT_EQ(pending.chunks, 1u);
  EXPECT_EQ(pending.blocks, 50u);
  // Done means gone: a second finish finds nothing.
  ASSERT_OK_AND_ASSIGN(advanced, AdvanceCommitted(*first, 100));
  EXPECT_FALSE(advanced);

  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> second,
                       leases_->Lease(kChain, "worker", kLong));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->from_block, 100u);
  EXPECT_EQ(second->to_block, 149u);
  // Overshooting the end is a finish too.
  ASSERT_OK_AND_ASSIGN(advanced, AdvanceCommitted(*second, 5000));
  EXPECT_TRUE(advanced);
  ASSERT_OK_AND_ASSIGN(pending, leases_->Pending(kChain));
  EXPECT_EQ(pending.chunks, 0u);
  EXPECT_EQ(pending.blocks, 0u);
  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> none,
                       leases_->Lease(kChain, "worker", kLong));
  EXPECT_FALSE(none.has_value());
}

TEST_F(BackfillLeasesPgTest, ReleaseAndRenew) {
  ASSERT_OK(leases_->Add(kChain, 0, 9, 10));
  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> a,
                       leases_->Lease(kChain, "worker-a", kLong));
  ASSERT_TRUE(a.has_value());

  // Released with an error: leasable at once, error kept, old holder fenced.
  ASSERT_OK_AND_ASSIGN(bool released,
                       leases_->Release(*a, "rpc_unavailable: node down"));
  EXPECT_TRUE(released);
  EXPECT_EQ(Chunks()[0].last_error, "rpc_unavailable: node down");
  ASSERT_OK_AND_ASSIGN(bool advanced, AdvanceCommitted(*a, 5));
  EXPECT_FALSE(advanced);
  ASSERT_OK_AND_ASSIGN(released, leases_->Release(*a, "again"));
  EXPECT_FALSE(released);

  ASSERT_OK_AND_ASSIGN(
      std::optional<LeasedRange> b,
      leases_->Lease(kChain, "worker-b", absl::Milliseconds(300)));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->id, a->id);
  EXPECT_EQ(b->attempts, 2);
  // Renewed before it runs out, it outlives its first deadline.
  ASSERT_OK_AND_ASSIGN(bool renewed, leases_->Renew(*b, kLong));
  EXPECT_TRUE(renewed);
  absl::SleepFor(absl::Milliseconds(600));
  ASSERT_OK_AND_ASSIGN(std::optional<LeasedRange> none,
                       leases_->Lease(kChain, "worker-c", kLong));
  EXPECT_FALSE(none.has_value());

  // Released with a delay: not leasable until it passes.
  ASSERT_OK_AND_ASSIGN(released,
                       leases_->Release(*b, std::string(5000, 'x'), kLong));
  EXPECT_TRUE(released);
  EXPECT_EQ(Chunks()[0].last_error.size(), 2000u);  // bounded
  ASSERT_OK_AND_ASSIGN(none, leases_->Lease(kChain, "worker-c", kLong));
  EXPECT_FALSE(none.has_value());
}

TEST_F(BackfillLeasesPgTest, ConcurrentLeasesNeverShareAChunk) {
  constexpr int kChunks = 300;
  constexpr int kThreads = 8;
  ASSERT_OK(leases_->Add(kChain, 0, kChunks - 1, 1));

  absl::Mutex mu;
  std::vector<int64_t> leased;  // guarded by mu
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string worker = absl::StrCat("worker-", t);
      for (;;) {
        absl::StatusOr<std::optional<LeasedRange>> lease =
            leases_->Lease(kChain, worker, kLong);
        if (!lease.ok()) {
          ++errors;
          continue;
        }
        if (!lease->has_value()) return;
        absl::MutexLock lock(&mu);
        leased.push_back((*lease)->id);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(errors.load(), 0);
  const std::set<int64_t> distinct(leased.begin(), leased.end());
  EXPECT_EQ(leased.size(), static_cast<size_t>(kChunks));
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kChunks));
  for (const Chunk& chunk : Chunks()) EXPECT_EQ(chunk.generation, 1);
}

TEST_F(BackfillLeasesPgTest, OneFollowerPerChain) {
  PgFollowerLease follower(*pool_);
  const absl::Duration ttl = absl::Seconds(1);

  ASSERT_OK_AND_ASSIGN(bool got, follower.TryAcquire(kChain, "a", ttl));
  EXPECT_TRUE(got);
  ASSERT_OK_AND_ASSIGN(got, follower.TryAcquire(kChain, "b", ttl));
  EXPECT_FALSE(got);
  // Another chain has its own follower.
  ASSERT_OK_AND_ASSIGN(got, follower.TryAcquire(kOtherChain, "b", ttl));
  EXPECT_TRUE(got);
  // The holder renews.
  ASSERT_OK_AND_ASSIGN(got, follower.TryAcquire(kChain, "a", ttl));
  EXPECT_TRUE(got);
  ASSERT_OK_AND_ASSIGN(std::optional<FollowerLease::Holder> holder,
                       follower.Current(kChain));
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->worker_id, "a");
  EXPECT_EQ(holder->term, 1);
  EXPECT_GT(holder->remaining, absl::ZeroDuration());
  EXPECT_LE(holder->remaining, ttl);

  absl::SleepFor(absl::Milliseconds(1300));
  ASSERT_OK_AND_ASSIGN(holder, follower.Current(kChain));
  EXPECT_FALSE(holder.has_value());
  ASSERT_OK_AND_ASSIGN(got, follower.TryAcquire(kChain, "b", kLong));
  EXPECT_TRUE(got);
  // The old holder's renewal now fails.
  ASSERT_OK_AND_ASSIGN(got, follower.TryAcquire(kChain, "a", ttl));
  EXPECT_FALSE(got);
  ASSERT_OK_AND_ASSIGN(holder, follower.Current(kChain));
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->worker_id, "b");
  EXPECT_EQ(holder->term, 2);

  // A resignation frees it at once; only the holder can resign.
  ASSERT_OK_AND_ASSIGN(bool resigned, follower.Resign(kChain, "a"));
  EXPECT_FALSE(resigned);
  ASSERT_OK_AND_ASSIGN(resigned, follower.Resign(kChain, "b"));
  EXPECT_TRUE(resigned);
  ASSERT_OK_AND_ASSIGN(got, follower.TryAcquire(kChain, "a", kLong));
  EXPECT_TRUE(got);
  ASSERT_OK_AND_ASSIGN(holder, follower.Current(kChain));
  ASSERT_TRUE(holder.has_value());
  EXPECT_EQ(holder->term, 3);

  EXPECT_EQ(follower.TryAcquire(kUnknownChain, "a", ttl).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      follower.TryAcquire(kChain, "a", absl::ZeroDuration()).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(follower.TryAcquire(kChain, "", ttl).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BackfillLeasesPgTest, FollowerWriteHoldsOffATakeover) {
  PgFollowerLease follower(*pool_);
  ASSERT_OK_AND_ASSIGN(bool got,
                       follower.TryAcquire(kChain, "a", absl::Seconds(1)));
  ASSERT_TRUE(got);

  // A's write transaction checks it still follows, then runs long enough for
  // the lease to expire meanwhile.
  pqxx::connection conn(conninfo_);
  pqxx::work txn(conn);
  ASSERT_TRUE(PgFollowerLease::HeldInTxn(txn, kChain, "a"));
  EXPECT_FALSE(PgFollowerLease::HeldInTxn(txn, kChain, "b"));
  absl::SleepFor(absl::Milliseconds(1300));

  std::atomic<bool> done{false};
  absl::StatusOr<bool> b_got = false;
  std::thread takeover([&] {
    b_got = follower.TryAcquire(kChain, "b", kLong);
    done = true;
  });
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_FALSE(done.load()) << "took over during the holder's write";
  txn.commit();
  takeover.join();
  ASSERT_OK(b_got);
  EXPECT_TRUE(*b_got);

  // A's next write sees it lost the role.
  pqxx::work next(conn);
  EXPECT_FALSE(PgFollowerLease::HeldInTxn(next, kChain, "a"));
  EXPECT_TRUE(PgFollowerLease::HeldInTxn(next, kChain, "b"));
}

}  // namespace
}  // namespace niftysave::indexer
