// Issue 13: the indexer binary under a stable --worker_id (real Postgres,
// real anvil). Killed with -9 and started again under the same id, it
// follows the chain again at once, although its follower lease has most of
// its two minutes left, and takes back the backfill chunk and the URI read
// its predecessor held instead of waiting out their leases.

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/db/migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/harness/anvil_node.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::indexer {
namespace {

using ::testing::HasSubstr;

constexpr char kWorker[] = "indexer-a";

class IndexerRestartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = harness::PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = *std::move(pg);
    url_ = pg_->ConnectionString();
    ASSERT_TRUE(db::Migrate(url_).ok());
    auto anvil = harness::AnvilNode::Start();
    ASSERT_TRUE(anvil.ok()) << anvil.status();
    anvil_ = *std::move(anvil);
    auto dir = harness::TempDir::Create("indexer-restart");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<harness::TempDir>(*std::move(dir));
  }

  std::unique_ptr<harness::Subprocess> StartIndexer(const std::string& log) {
    auto proc = harness::Subprocess::Start(
        {NIFTYSAVE_INDEXER_BIN, "--database_url=" + url_,
         "--grpc_listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
         "--chain_id=31337", "--rpc_url=" + anvil_->rpc_url(),
         "--confirmations=0", "--poll_seconds=0.2",
         "--follower_lease_seconds=120", absl::StrCat("--worker_id=", kWorker),
         "--extractor_addr=127.0.0.1:9"},
        {}, absl::StrCat(dir_->path(), "/", log));
    EXPECT_TRUE(proc.ok()) << proc.status();
    return proc.ok() ? *std::move(proc) : nullptr;
  }

  int64_t Count(const std::string& sql) {
    pqxx::connection conn(url_);
    pqxx::work txn(conn);
    return txn.exec1(sql)[0].as<int64_t>();
  }

  void Exec(const std::string& sql) {
    pqxx::connection conn(url_);
    pqxx::work txn(conn);
    txn.exec0(sql);
    txn.commit();
  }

  // Polls `done` every 100 ms for up to `deadline`.
  template <typename F>
  bool Eventually(absl::Duration deadline, F done) {
    for (const absl::Time end = absl::Now() + deadline; absl::Now() < end;
         absl::SleepFor(absl::Milliseconds(100))) {
      if (done()) return true;
    }
    return done();
  }

  std::string ReadLog(const std::string& name) {
    std::ifstream in(absl::StrCat(dir_->path(), "/", name));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::unique_ptr<harness::PostgresServer> pg_;
  std::unique_ptr<harness::AnvilNode> anvil_;
  std::unique_ptr<harness::TempDir> dir_;
  std::string url_;
};

TEST_F(IndexerRestartTest, RestartedUnderItsIdFollowsAtOnceAndTakesItsWork) {
  std::unique_ptr<harness::Subprocess> first = StartIndexer("first.log");
  ASSERT_NE(first, nullptr);
  const std::string held_by_us = absl::StrCat(
      "SELECT count(*) FROM chain_followers WHERE chain_id = 31337 AND "
      "holder = '",
      kWorker, "' AND expires_at > now() + interval '60 seconds'");
  ASSERT_TRUE(
      Eventually(absl::Seconds(20), [&] { return Count(held_by_us) == 1; }))
      << "the follower lease is not held under --worker_id\n"
      << ReadLog("first.log");
  const int64_t term =
      Count("SELECT term FROM chain_followers WHERE chain_id = 31337");

  ASSERT_TRUE(first->Terminate(absl::ZeroDuration(), SIGKILL).ok());
  // What the killed replica held, with an hour of lease left: a backfill
  // chunk and a URI read.
  Exec(absl::StrCat(
      "INSERT INTO backfill_ranges (chain_id, from_block, to_block, "
      "next_block, leased_by, lease_until) VALUES (31337, 0, 0, 0, '",
      kWorker, "', now() + interval '1 hour')"));
  Exec(absl::StrCat(
      "INSERT INTO work_queue (queue, item_id, leased_by, run_after) VALUES "
      "('read_uri:31337', 999999, '",
      kWorker, "', now() + interval '1 hour')"));

  std::unique_ptr<harness::Subprocess> second = StartIndexer("second.log");
  ASSERT_NE(second, nullptr);
  // Well inside the two minutes the follower lease still runs.
  EXPECT_TRUE(Eventually(absl::Seconds(10), [&] {
    return ReadLog("second.log").find("this replica follows the chain now") !=
           std::string::npos;
  })) << ReadLog("second.log");
  EXPECT_EQ(Count(held_by_us), 1);
  EXPECT_EQ(Count("SELECT term FROM chain_followers WHERE chain_id = 31337"),
            term)
      << "the same holder: no takeover";
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM backfill_ranges WHERE "
                               "leased_by = '",
                               kWorker,
                               "' AND lease_until > now() + interval '30 "
                               "minutes'")),
            0);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM work_queue WHERE "
                               "leased_by = '",
                               kWorker,
                               "' AND run_after > now() + interval '30 "
                               "minutes'")),
            0);
  const std::string log = ReadLog("second.log");
  EXPECT_THAT(log, HasSubstr(R"("queue":"backfill","released":"1")"));
  EXPECT_THAT(log, HasSubstr(R"("queue":"read_uri:31337","released":"1")"));
  absl::StatusOr<int> stopped = second->Terminate();
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(*stopped, 0) << log;
}

}  // namespace
}  // namespace niftysave::indexer
