// The fault-injection test, short profile (issue 13): a seeded workload of
// every kind of token URI over ERC-721 and ERC-1155 through the whole
// pipeline on real Postgres, anvil and the js-ipfs node, once without faults
// and once with kill -9 of services, an immediate Postgres restart, an IPFS
// node crash, 20% RPC errors and a reorg, at seeded moments. The records of
// the two runs must end the same. The long profile is scripts/chaos.sh.
//
// Every service is killed once: a restarted pinner or tracker takes back
// the leases it held under its --worker_id at start-up, so the 3-minute CI
// budget no longer has to leave them out to avoid waiting out leases.
#include "gtest/gtest.h"
#include "tests/chaos/chaos_run.h"

namespace niftysave::chaos {
namespace {

TEST(ChaosTest, ShortProfileEndsWithTheFaultFreeRecords) {
  Profile profile;
  profile.seed = 1;
  profile.tokens = 24;
  profile.kill_services = {"indexer", "extractor", "pinner", "tracker"};
  profile.kills_per_service = 1;
  profile.fault_window = absl::Seconds(15);
  profile.settle_timeout = absl::Seconds(150);

  absl::StatusOr<Reference> reference = RunReference(profile);
  ASSERT_TRUE(reference.ok()) << reference.status();
  ASSERT_TRUE(reference->invariants.ok()) << reference->invariants.ToString();
  // The workload reaches the tables the comparison covers.
  for (const char* table : {"tokens", "resources", "token_resources", "pins",
                            "transfers", "erc1155_balances"}) {
    EXPECT_FALSE(reference->records[table].empty()) << table;
  }

  absl::StatusOr<ChaosResult> result = RunWithFaults(profile, *reference);
  ASSERT_TRUE(result.ok()) << result.status();
  SCOPED_TRACE(result->ToString());
  EXPECT_TRUE(result->converged);
  EXPECT_EQ(result->diff.lost(), 0);
  EXPECT_EQ(result->diff.duplicated(), 0);
  EXPECT_EQ(result->diff.differing(), 0);
  EXPECT_EQ(result->invariants.queue_items_left, 0);
  EXPECT_EQ(result->invariants.archived_with_unpinned, 0);
  EXPECT_EQ(result->invariants.pinned_not_on_node, 0);
  std::cout << result->ToString() << std::endl;
}

}  // namespace
}  // namespace niftysave::chaos
