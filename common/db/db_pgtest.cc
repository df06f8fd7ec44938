// common/db against a real PostgreSQL 15 (harness::PostgresServer): one
// server for the binary, a fresh database per test.

#include <algorithm>
#include <atomic>
#include <functional>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/db/prepared.h"
#include "common/db/rollup.h"
#include "common/db/work_queue.h"
#include "common/runtime/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/harness/postgres_server.h"

namespace niftysave::db {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAreArray;

class PgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = harness::PostgresServer::Start();
    start_status_ = new absl::Status(server.status());
    if (server.ok()) server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete start_status_;
    start_status_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(start_status_->ok()) << *start_status_;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string db = absl::AsciiStrToLower(
        absl::StrCat("t", ++db_counter_, "_", info->name()));
    ASSERT_TRUE(server_->CreateDatabase(db).ok());
    conninfo_ = server_->ConnectionString(db);
  }

  // Migrates and opens a pool of `size` connections.
  std::unique_ptr<Pool> MigratedPool(int size) {
    absl::StatusOr<int> version = Migrate(conninfo_);
    EXPECT_TRUE(version.ok()) << version.status();
    absl::StatusOr<std::unique_ptr<Pool>> pool = Pool::Create(conninfo_, size);
    EXPECT_TRUE(pool.ok()) << pool.status();
    return pool.ok() ? std::move(*pool) : nullptr;
  }

  // First column of the first row, as text ("" for NULL), on a connection of
  // its own.
  std::string Query(const std::string& sql) {
    pqxx::connection conn(conninfo_);
    pqxx::nontransaction txn(conn);
    pqxx::result rows = txn.exec(sql);
    if (rows.empty() || rows[0][0].is_null()) return "";
    return rows[0][0].c_str();
  }
  void Exec(const std::string& sql) {
    pqxx::connection conn(conninfo_);
    pqxx::work txn(conn);
    txn.exec(sql);
    txn.commit();
  }

  static int LatestVersion() { return AllMigrations().back().version; }

  static harness::PostgresServer* server_;
  static absl::Status* start_status_;
  static int db_counter_;
  std::string conninfo_;
};

harness::PostgresServer* PgTest::server_ = nullptr;
absl::Status* PgTest::start_status_ = nullptr;
int PgTest::db_counter_ = 0;

// ---------------------------------------------------------------- Migrate

using MigrateTest = PgTest;

TEST_F(MigrateTest, AppliesEveryMigration) {
  ASSERT_FALSE(AllMigrations().empty());
  absl::StatusOr<int> before = SchemaVersion(conninfo_);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(*before, 0);

  absl::StatusOr<int> version = Migrate(conninfo_);
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, LatestVersion());
  EXPECT_EQ(*SchemaVersion(conninfo_), LatestVersion());
  EXPECT_EQ(Query("SELECT count(*) FROM schema_migrations"),
            absl::StrCat(AllMigrations().size()));
  for (const char* table :
       {"chains", "contracts", "resources", "tokens", "transfers", "metadata",
        "token_resources", "token_links", "pins", "work_queue"}) {
    EXPECT_EQ(
        Query(absl::StrCat("SELECT to_regclass('", table, "') IS NOT NULL")),
        "t")
        << table;
  }
}

// A probe of tokens by key from an array of keys is estimated to match about
// one row on (chain_id, contract) alone, so any other index leading with
// those two columns costs the same as the key and may be taken, reading the
// whole contract a key (migration 0019). The key is the only such index.
TEST_F(MigrateTest, OnlyTheTokenKeyLeadsWithChainAndContract) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  EXPECT_EQ(Query(R"sql(
SELECT string_agg(c.relname || CASE WHEN i.indisunique THEN ' unique' ELSE '' END,
                  ', ' ORDER BY c.relname)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'tokens'::regclass AND i.indnkeyatts >= 2
  AND (SELECT attname FROM pg_attribute
       WHERE attrelid = i.indrelid AND attnum = i.indkey[0]) = 'chain_id'
  AND (SELECT attname FROM pg_attribute
       WHERE attrelid = i.indrelid AND attnum = i.indkey[1]) = 'contract')sql"),
            "tokens_key unique");
}

TEST_F(MigrateTest, IsIdempotent) {
  absl::StatusOr<int> first = Migrate(conninfo_);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string applied = Query(
      "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY "
      "version) FROM schema_migrations");
  const std::string tables =
      Query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'");

  absl::StatusOr<int> second = Migrate(conninfo_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(Query("SELECT string_agg(version || '@' || applied_at, ',' ORDER "
                  "BY version) FROM schema_migrations"),
            applied);
  EXPECT_EQ(Query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            tables);
}

TEST_F(MigrateTest, ConcurrentRunsSerialise) {
  constexpr int kRunners = 3;
  std::latch start(kRunners);
  std::vector<absl::StatusOr<int>> results(kRunners, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      results[i] = Migrate(conninfo_);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& result : results) {
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(*result, LatestVersion());
  }
  EXPECT_EQ(Query("SELECT count(*) FROM schema_migrations"),
            absl::StrCat(AllMigrations().size()));
}

TEST_F(MigrateTest, RefusesNewerSchema) {
  ASSERT_TRUE(Migrate(conninfo_).ok());
  Exec(absl::StrCat("INSERT INTO schema_migrations (version, name) VALUES (",
                    LatestVersion() + 1, ", 'from_the_future')"));
  absl::StatusOr<int> version = Migrate(conninfo_);
  EXPECT_EQ(version.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(version.status().message(), HasSubstr("newer"));
  // The lock was released: another run is refused the same way, not blocked.
  EXPECT_EQ(Migrate(conninfo_).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(MigrateTest, CheckSchemaNamesTheFixForAMissingOrOlderSchema) {
  absl::Status missing = CheckSchema(conninfo_);
  EXPECT_EQ(missing.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.message(), HasSubstr("no niftysave schema"));
  EXPECT_THAT(missing.message(), HasSubstr("niftysave migrate"));

  ASSERT_TRUE(Migrate(conninfo_).ok());
  EXPECT_TRUE(CheckSchema(conninfo_).ok());
  Exec(absl::StrCat("DELETE FROM schema_migrations WHERE version = ",
                    LatestVersion()));
  absl::Status older = CheckSchema(conninfo_);
  EXPECT_EQ(older.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(older.message(), HasSubstr("older than this binary's"));
  EXPECT_THAT(older.message(), HasSubstr("niftysave migrate"));

  // Newer (migrated ahead of a rolling upgrade): served.
  Exec(absl::StrCat("INSERT INTO schema_migrations (version, name) VALUES (",
                    LatestVersion() + 1, ", 'from_the_future')"));
  EXPECT_TRUE(CheckSchema(conninfo_).ok());
}

// ---------------------------------------------------------------- Pool

using PoolTest = PgTest;

TEST_F(PoolTest, UniqueViolationIsAlreadyExists) {
  std::unique_ptr<Pool> pool = MigratedPool(2);
  ASSERT_NE(pool, nullptr);
  auto insert = [](pqxx::work& txn) {
    txn.exec(
        "INSERT INTO chains (chain_id, name, next_block) VALUES (1, 'eth', 0)");
    return absl::OkStatus();
  };
  ASSERT_TRUE(pool->Run(insert).ok());
  EXPECT_EQ(pool->Run(insert).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(PoolTest, SqlErrorIsStatusAndPoolKeepsWorking) {
  std::unique_ptr<Pool> pool = MigratedPool(1);
  ASSERT_NE(pool, nullptr);
  absl::Status bad = pool->Run([](pqxx::work& txn) {
    txn.exec("SELECT * FROM no_such_table");
    return absl::OkStatus();
  });
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(bad.message(), HasSubstr("no_such_table"));

  // A returned error rolls back rather than commits.
  absl::Status declined = pool->Run([](pqxx::work& txn) {
    txn.exec(
        "INSERT INTO chains (chain_id, name, next_block) VALUES (7, 'x', 0)");
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(declined.code(), absl::StatusCode::kAborted);

  int answer = 0;
  absl::Status good = pool->Run([&](pqxx::work& txn) {
    answer = txn.exec1("SELECT count(*) + 42 FROM chains")[0].as<int>();
    return absl::OkStatus();
  });
  ASSERT_TRUE(good.ok()) << good;
  EXPECT_EQ(answer, 42);
}

TEST_F(PoolTest, ReconnectsAfterBackendsAreTerminated) {
  std::unique_ptr<Pool> pool = MigratedPool(1);
  ASSERT_NE(pool, nullptr);
  auto select = [](pqxx::work& txn) {
    txn.exec("SELECT 1");
    return absl::OkStatus();
  };
  ASSERT_TRUE(pool->Run(select).ok());
  EXPECT_EQ(Query("SELECT count(pg_terminate_backend(pid)) FROM "
                  "pg_stat_activity WHERE datname = current_database() AND "
                  "pid <> pg_backend_pid()"),
            "1");
  absl::SleepFor(absl::Milliseconds(100));

  absl::Status next = pool->Run(select);  // may fail: the socket was dead
  absl::Status after = pool->Run(select);
  EXPECT_TRUE(after.ok()) << "first call after terminate: " << next
                          << "; second: " << after;
}

// The pool says when Postgres stops answering and when it answers again,
// once each (what niftysave_<service>_postgres_up follows); an SQL error is
// an answer. Its own server, so stopping it leaves the suite's alone.
TEST(PoolReachabilityTest, ListenerHearsTheOutageStartAndEndOnce) {
  auto server = harness::PostgresServer::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  auto pool = Pool::Create((*server)->ConnectionString("postgres"), 2);
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::vector<std::string> heard;
  (*pool)->SetReachabilityListener(
      [&heard](bool reachable, const std::string& error) {
        heard.push_back(reachable ? "up" : "down: " + error);
      });
  auto select = [](pqxx::work& txn) {
    txn.exec("SELECT 1");
    return absl::OkStatus();
  };
  auto sql_error = [](pqxx::work& txn) {
    txn.exec("SELECT * FROM no_such_table");
    return absl::OkStatus();
  };
  ASSERT_TRUE((*pool)->Run(select).ok());
  EXPECT_FALSE((*pool)->Run(sql_error).ok());
  EXPECT_TRUE(heard.empty());

  ASSERT_TRUE((*server)->Stop().ok());
  for (int i = 0; i < 3; ++i) {
    absl::Status down = (*pool)->Run(select);
    EXPECT_EQ(down.code(), absl::StatusCode::kUnavailable) << down;
  }
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_THAT(heard[0], HasSubstr("down: postgres: "));

  ASSERT_TRUE((*server)->RestartImmediately().ok());
  absl::Status back = (*pool)->Run(select);
  if (!back.ok()) back = (*pool)->Run(select);  // one idle socket was dead
  ASSERT_TRUE(back.ok()) << back;
  EXPECT_FALSE((*pool)->Run(sql_error).ok());
  EXPECT_THAT(heard, ElementsAre(HasSubstr("down: "), "up"));
}

// Why ExecPlanned exists: a prepared array lookup keeps the generic plan it
// got while the table was small (a sequential scan) after the table has
// grown, whereas the same statement run through ExecPlanned is planned for
// the table as it is (an index scan) and leaves nothing prepared.
TEST_F(PoolTest, ArrayLookupsThroughExecPlannedFollowTheTablesGrowth) {
  std::unique_ptr<Pool> pool = MigratedPool(1);  // one session throughout
  ASSERT_NE(pool, nullptr);
  // No autovacuum: an ANALYZE mid-test would re-plan the prepared one.
  Exec("ALTER TABLE pins SET (autovacuum_enabled = false)");
  Exec(
      "INSERT INTO pins (cid, backend) SELECT 'c' || g, 'kubo' "
      "FROM generate_series(1, 5) g");
  Exec("ANALYZE pins");
  static constexpr char kLookup[] =
      "SELECT id FROM pins WHERE id = ANY($1::bigint[])";
  // Runs `run` in the pool's one session; the first column of its rows.
  auto lines = [&](const std::function<pqxx::result(pqxx::work&)>& run) {
    std::string text;
    EXPECT_TRUE(pool->Run([&](pqxx::work& txn) {
                      for (const auto& row : run(txn)) {
                        text += std::string(row[0].c_str()) + "\n";
                      }
                      return absl::OkStatus();
                    })
                    .ok());
    return text;
  };
  lines([&](pqxx::work& txn) {
    pqxx::result last;
    for (int i = 0; i < 8; ++i) last = db::Exec(txn, kLookup, "{1,2}");
    return last;
  });
  Exec(
      "INSERT INTO pins (cid, backend) SELECT 'c' || g, 'kubo' "
      "FROM generate_series(6, 200000) g");

  // The prepared statement's plan, as its next call would run it.
  const std::string prepared = lines([&](pqxx::work& txn) {
    return txn.exec(
        absl::StrCat("EXPLAIN EXECUTE ", PreparedName(kLookup), "('{1,2}')"));
  });
  EXPECT_THAT(prepared, HasSubstr("Seq Scan on pins")) << prepared;
  // ExecPlanned's own plan, for the same ids and the table as it is.
  const std::string planned = lines([&](pqxx::work& txn) {
    return ExecPlanned(
        txn, "EXPLAIN SELECT id FROM pins WHERE id = ANY($1::bigint[])",
        "{1,2}");
  });
  EXPECT_THAT(planned, HasSubstr("Index")) << planned;
  EXPECT_THAT(planned, ::testing::Not(HasSubstr("Seq Scan"))) << planned;
  // And it left nothing prepared: only the Exec statement is.
  const std::string prepared_count = lines([&](pqxx::work& txn) {
    ExecPlanned(txn, kLookup, "{1,2}");
    return txn.exec("SELECT count(*) FROM pg_prepared_statements");
  });
  EXPECT_EQ(prepared_count, "1\n");
}

TEST_F(PoolTest, EveryConnectionOfALargerPoolReconnects) {
  constexpr int kSize = 3;
  std::unique_ptr<Pool> pool = MigratedPool(kSize);
  ASSERT_NE(pool, nullptr);
  // Open all three connections by holding them at once.
  std::latch all_open(kSize);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSize; ++i) {
    threads.emplace_back([&] {
      EXPECT_TRUE(pool->Run([&](pqxx::work& txn) {
                        txn.exec("SELECT 1");
                        all_open.arrive_and_wait();
                        return absl::OkStatus();
                      })
                      .ok());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(Query("SELECT count(pg_terminate_backend(pid)) FROM "
                  "pg_stat_activity WHERE datname = current_database() AND "
                  "pid <> pg_backend_pid()"),
            absl::StrCat(kSize));
  absl::SleepFor(absl::Milliseconds(100));

  // At most one failed call per broken connection, then healthy for good.
  int failures = 0;
  for (int i = 0; i < kSize + 3; ++i) {
    absl::Status s = pool->Run([](pqxx::work& txn) {
      txn.exec("SELECT 1");
      return absl::OkStatus();
    });
    if (!s.ok()) {
      ++failures;
      EXPECT_LT(i, kSize) << s;
    }
  }
  EXPECT_LE(failures, kSize);
}

// ---------------------------------------------------------------- WorkQueue

class WorkQueueTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    pool_ = MigratedPool(4);
    ASSERT_NE(pool_, nullptr);
  }

  int Enqueue(const std::vector<int64_t>& ids) {
    int added = -1;
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      added = WorkQueue::Enqueue(txn, "extract", ids);
                      return absl::OkStatus();
                    })
                    .ok());
    return added;
  }
  std::vector<QueueItem> Lease(WorkQueue& queue, int limit) {
    absl::StatusOr<std::vector<QueueItem>> items = queue.Lease(limit);
    EXPECT_TRUE(items.ok()) << items.status();
    return items.value_or(std::vector<QueueItem>{});
  }
  bool Complete(WorkQueue& queue, const QueueItem& item) {
    bool done = false;
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      done = queue.Complete(txn, item);
                      return absl::OkStatus();
                    })
                    .ok());
    return done;
  }
  bool Reschedule(WorkQueue& queue, const QueueItem& item,
                  absl::Duration delay) {
    bool done = false;
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      done = queue.Reschedule(txn, item, "boom", delay);
                      return absl::OkStatus();
                    })
                    .ok());
    return done;
  }
  // Seconds until the item is due (negative when overdue).
  double DueIn(int64_t id) {
    return std::stod(Query(absl::StrCat(
        "SELECT extract(epoch FROM run_after - now()) FROM work_queue "
        "WHERE queue = 'extract' AND item_id = ",
        id)));
  }

  std::unique_ptr<Pool> pool_;
};

std::vector<int64_t> Ids(const std::vector<QueueItem>& items) {
  std::vector<int64_t> ids;
  for (const QueueItem& item : items) ids.push_back(item.id);
  return ids;
}

TEST_F(WorkQueueTest, LeaseReturnsDueItemsWithFirstAttempt) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Seconds(60)});
  EXPECT_EQ(Enqueue({1, 2, 3}), 3);
  std::vector<QueueItem> items = Lease(queue, 10);
  EXPECT_THAT(Ids(items), UnorderedElementsAreArray({1, 2, 3}));
  for (const QueueItem& item : items) EXPECT_EQ(item.attempts, 1);
  EXPECT_EQ(Query("SELECT string_agg(DISTINCT leased_by, ',') FROM work_queue"),
            "w1");
  // Other queues are separate.
  WorkQueue pin(*pool_, "pin", "w1", {});
  EXPECT_TRUE(Lease(pin, 10).empty());
  // Limit is honoured.
  EXPECT_EQ(Enqueue({4, 5, 6}), 3);
  EXPECT_EQ(Lease(queue, 2).size(), 2u);
}

TEST_F(WorkQueueTest, LeasedItemIsReleasedOnlyAfterLeaseExpires) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Seconds(1)});
  Enqueue({7});
  std::vector<QueueItem> first = Lease(queue, 10);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(Lease(queue, 10).empty());

  absl::SleepFor(absl::Milliseconds(1200));
  std::vector<QueueItem> second = Lease(queue, 10);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id, 7);
  EXPECT_EQ(second[0].attempts, 2);

  // The first holder's lease is stale: its Complete changes nothing.
  EXPECT_FALSE(Complete(queue, first[0]));
  EXPECT_EQ(Query("SELECT count(*) FROM work_queue"), "1");
  EXPECT_FALSE(Reschedule(queue, first[0], absl::ZeroDuration()));
  EXPECT_TRUE(Complete(queue, second[0]));
  EXPECT_EQ(Query("SELECT count(*) FROM work_queue"), "0");
}

// A worker killed while it held leases comes back under the same id and
// takes them back at once, not after the lease; another worker's leases stay
// with it.
TEST_F(WorkQueueTest, RestartedWorkerTakesBackItsLeasesAtOnce) {
  ASSERT_EQ(Enqueue({1, 2, 3}), 3);
  const QueuePolicy policy = {.lease = absl::Minutes(5)};
  {
    WorkQueue killed(*pool_, "extract", "pod-a", policy);
    ASSERT_EQ(Lease(killed, 2).size(), 2u);
  }
  WorkQueue other(*pool_, "extract", "pod-b", policy);
  ASSERT_EQ(Ids(Lease(other, 5)), std::vector<int64_t>({3}));

  WorkQueue restarted(*pool_, "extract", "pod-a", policy);
  absl::StatusOr<int64_t> released = restarted.ReleaseHeld();
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(*released, 2);
  std::vector<int64_t> back = Ids(Lease(restarted, 5));
  std::sort(back.begin(), back.end());
  EXPECT_EQ(back, std::vector<int64_t>({1, 2}));
  EXPECT_GT(DueIn(3), 200);  // pod-b's lease is untouched
  // Each taken-back lease counts as lost, as if it had run out.
  EXPECT_EQ(Query("SELECT string_agg(lost_leases::text, ',' ORDER BY item_id) "
                  "FROM work_queue"),
            "1,1,0");
}

// Taking back one worker's leases reads that worker's items, not the queue:
// 20,000 items waiting out a back-off (not due, not leased) are not read.
// Counted from Postgres's own statistics for the table and its indexes,
// flushed by the backend that ran the statement (a pool of one).
TEST_F(WorkQueueTest, TakingBackLeasesReadsOnlyTheWorkersItems) {
  Exec(
      "INSERT INTO work_queue (queue, item_id, run_after) "
      "SELECT 'extract', i, now() + interval '1 hour' "
      "FROM generate_series(1, 20000) i");
  Exec(
      "INSERT INTO work_queue (queue, item_id, run_after, leased_by, "
      "attempts) SELECT 'extract', i, now() + interval '5 minutes', "
      "'pod-' || (i % 2), 1 FROM generate_series(20001, 20004) i");
  Exec("ANALYZE work_queue");
  absl::StatusOr<std::unique_ptr<Pool>> one = Pool::Create(conninfo_, 1);
  ASSERT_TRUE(one.ok()) << one.status();
  auto flush = [&] {
    ASSERT_TRUE((*one)
                    ->Run([](pqxx::work& txn) {
                      txn.exec("SELECT pg_stat_force_next_flush()");
                      return absl::OkStatus();
                    })
                    .ok());
  };
  // Rows read from work_queue by any means, as Postgres counts them.
  auto rows_read = [&] {
    return std::stoll(
        Query("SELECT (SELECT seq_tup_read FROM pg_stat_user_tables "
              "        WHERE relname = 'work_queue') + "
              "       (SELECT sum(idx_tup_read) FROM pg_stat_user_indexes "
              "        WHERE relname = 'work_queue')"));
  };
  flush();
  absl::SleepFor(absl::Milliseconds(200));
  const int64_t before = rows_read();

  WorkQueue restarted(**one, "extract", "pod-0", {.lease = absl::Minutes(5)});
  absl::StatusOr<int64_t> released = restarted.ReleaseHeld();
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(*released, 2);
  flush();
  int64_t read = 0;
  for (int i = 0; i < 50 && (read = rows_read() - before) == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GT(read, 0) << "the statistics were not flushed";
  EXPECT_LE(read, 10) << "ReleaseHeld read " << read << " rows";
}

// The heartbeat keeps a slow step's items past the lease it began with.
TEST_F(WorkQueueTest, RenewedLeaseOutlivesItsOriginalDeadline) {
  ASSERT_EQ(Enqueue({1}), 1);
  WorkQueue queue(*pool_, "extract", "w1",
                  {.lease = absl::Seconds(2), .renew_for = absl::Minutes(5)});
  ASSERT_EQ(Lease(queue, 1).size(), 1u);
  absl::SleepFor(absl::Milliseconds(1500));
  absl::StatusOr<int64_t> renewed = queue.RenewHeld();
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(*renewed, 1);
  EXPECT_GT(DueIn(1), 1.5);  // not the 0.5 s left of the first lease
  absl::SleepFor(absl::Milliseconds(1000));
  WorkQueue other(*pool_, "extract", "w2", {.lease = absl::Seconds(2)});
  EXPECT_TRUE(Lease(other, 1).empty());  // past the first deadline, still held
}

// A lease fenced off (re-queued, so a new generation) or given an outcome is
// not renewed and is forgotten; so is one held past renew_for.
TEST_F(WorkQueueTest, StaleOrFinishedLeaseIsNotRenewed) {
  ASSERT_EQ(Enqueue({1, 2, 3}), 3);
  WorkQueue queue(
      *pool_, "extract", "w1",
      {.lease = absl::Seconds(60), .renew_for = absl::Milliseconds(1500)});
  std::vector<QueueItem> items = Lease(queue, 3);
  ASSERT_EQ(items.size(), 3u);
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    WorkQueue::Requeue(txn, "extract", {items[0].id});
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_TRUE(Reschedule(queue, items[1], absl::Seconds(30)));
  absl::StatusOr<int64_t> renewed = queue.RenewHeld();
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(*renewed, 1);
  EXPECT_EQ(Ids(queue.Held()), std::vector<int64_t>({items[2].id}));
  EXPECT_LE(DueIn(items[0].id), 0.5);  // the re-queued item stays due
  EXPECT_LE(DueIn(items[1].id), 30.5);
  absl::SleepFor(absl::Milliseconds(1600));
  EXPECT_TRUE(queue.Held().empty());  // held too long: a hung step lets go
}

// A step that goes on making progress with its items (KeepHolding after
// each unit of work) keeps them past renew_for counted from the lease; the
// items it stopped reporting progress on are let go at renew_for, as is an
// item leased again meanwhile (a new generation).
TEST_F(WorkQueueTest, ProgressStartsTheRenewalWindowAgain) {
  ASSERT_EQ(Enqueue({1, 2}), 2);
  WorkQueue queue(
      *pool_, "extract", "w1",
      {.lease = absl::Seconds(60), .renew_for = absl::Milliseconds(1000)});
  std::vector<QueueItem> items = Lease(queue, 2);
  ASSERT_EQ(items.size(), 2u);
  absl::SleepFor(absl::Milliseconds(700));
  queue.KeepHolding(
      {items[0], {.id = items[1].id, .generation = items[1].generation + 1}});
  absl::SleepFor(absl::Milliseconds(700));
  // 1.4 s since the lease: only the item with progress 0.7 s ago is held.
  EXPECT_EQ(Ids(queue.Held()), std::vector<int64_t>({items[0].id}));
  absl::StatusOr<int64_t> renewed = queue.RenewHeld();
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(*renewed, 1);
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_TRUE(queue.Held().empty());  // no progress for 1.1 s: let go
}

// The heartbeat and a batch outcome of the same worker's items, in two
// transactions at once, must never wait on each other in a cycle: both lock
// in item_id order. Here the batch holds the lowest item; the heartbeat waits
// for it and, locking in order, holds nothing else, so the batch can go on
// with the rest. Locked in the order their plans read (the heap is filled
// highest id first, the held set is a hash map), the heartbeat took the
// others first and Postgres aborted one of the two as a deadlock (seen 13
// times in the 1,000,000-token run).
TEST_F(WorkQueueTest, RenewAndBatchOutcomesLockInIdOrder) {
  for (int64_t id = 40; id >= 1; --id) ASSERT_EQ(Enqueue({id}), 1);
  WorkQueue queue(*pool_, "extract", "w1",
                  {.lease = absl::Seconds(60), .renew_for = absl::Minutes(5)});
  std::vector<QueueItem> items = Lease(queue, 40);
  ASSERT_EQ(items.size(), 40u);
  std::sort(items.begin(), items.end(),
            [](const QueueItem& a, const QueueItem& b) { return a.id < b.id; });

  // The batch's outcomes go through another object of the same worker, so
  // the heartbeat still holds every item (CompleteMany forgets what it
  // completes; in the service the heartbeat may have read its set before).
  WorkQueue writer(*pool_, "extract", "w1", {.lease = absl::Seconds(60)});
  pqxx::connection batch_conn(pool_->conninfo());
  pqxx::work batch(batch_conn);
  batch.exec("SET LOCAL lock_timeout = '3s'");
  ASSERT_EQ(writer.CompleteMany(batch, {items[0]}),
            std::vector<int64_t>({items[0].id}));

  absl::StatusOr<int64_t> renewed;
  std::thread heartbeat([&] { renewed = queue.RenewHeld(); });
  // Until the heartbeat waits for the batch's lock.
  bool waiting = false;
  for (int i = 0; i < 100 && !waiting; ++i) {
    waiting = Query(
                  "SELECT count(*) FROM pg_stat_activity "
                  "WHERE datname = current_database() AND "
                  "wait_event_type = 'Lock' AND query LIKE '%UPDATE work_queue "
                  "w%'") == "1";
    if (!waiting) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(waiting) << "the heartbeat never waited for the batch";

  const std::vector<QueueItem> rest(items.begin() + 1, items.end());
  std::vector<int64_t> completed;
  try {
    completed = writer.CompleteMany(batch, rest);
    batch.commit();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the batch waited for the heartbeat: " << e.what();
  }
  heartbeat.join();
  EXPECT_EQ(completed.size(), rest.size());
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(*renewed, 0);  // every item completed meanwhile
  EXPECT_EQ(Query("SELECT count(*) FROM work_queue"), "0");
}

TEST_F(WorkQueueTest, RescheduleDelaysByGivenDuration) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Seconds(60)});
  Enqueue({1, 2});
  std::vector<QueueItem> items = Lease(queue, 10);
  ASSERT_EQ(items.size(), 2u);
  ASSERT_TRUE(Reschedule(queue, items[0], absl::Hours(1)));
  ASSERT_TRUE(Reschedule(queue, items[1], absl::ZeroDuration()));
  const int64_t later = items[0].id;
  const int64_t now = items[1].id;
  EXPECT_NEAR(DueIn(later), 3600, 5);
  EXPECT_NEAR(DueIn(now), 0, 5);
  EXPECT_EQ(Query(absl::StrCat(
                "SELECT state || ':' || last_error FROM work_queue WHERE "
                "item_id = ",
                later)),
            "ready:boom");

  std::vector<QueueItem> again = Lease(queue, 10);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, now);
  EXPECT_EQ(again[0].attempts, 2);
}

TEST_F(WorkQueueTest, DeadAfterMaxAttemptsAndRevivedByEnqueue) {
  WorkQueue queue(*pool_, "extract", "w1",
                  {.lease = absl::Seconds(60), .max_attempts = 2});
  Enqueue({9});
  std::vector<QueueItem> first = Lease(queue, 10);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_FALSE(queue.IsLastAttempt(first[0]));
  ASSERT_TRUE(Reschedule(queue, first[0], absl::ZeroDuration()));

  std::vector<QueueItem> second = Lease(queue, 10);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempts, 2);
  EXPECT_TRUE(queue.IsLastAttempt(second[0]));
  ASSERT_TRUE(Reschedule(queue, second[0], absl::ZeroDuration()));
  EXPECT_EQ(Query("SELECT state FROM work_queue WHERE item_id = 9"), "dead");
  EXPECT_TRUE(Lease(queue, 10).empty());
  absl::StatusOr<WorkQueue::Depth> depth = queue.GetDepth();
  ASSERT_TRUE(depth.ok()) << depth.status();
  EXPECT_EQ(depth->ready, 0);
  EXPECT_EQ(depth->dead, 1);

  EXPECT_EQ(Enqueue({9}), 1);
  std::vector<QueueItem> revived = Lease(queue, 10);
  ASSERT_EQ(revived.size(), 1u);
  EXPECT_EQ(revived[0].id, 9);
  EXPECT_EQ(revived[0].attempts, 1);
}

// A handler that never records an outcome (it crashes the process, hangs,
// or cannot write) loses its lease every time. The third loss in a row
// parks the item with reason lease_expired, while a neighbour whose handler
// records outcomes keeps flowing; the operator lists it and puts it back.
TEST_F(WorkQueueTest, LostLeasesInARowParkThePoisonItem) {
  WorkQueue queue(*pool_, "extract", "w1",
                  {.lease = absl::Milliseconds(200),
                   .max_attempts = 100,
                   .max_lost_leases = 3});
  Enqueue({1, 2});
  int poison_leases = 0, healthy_leases = 0;
  for (int round = 0; round < 8; ++round) {
    for (const QueueItem& item : Lease(queue, 10)) {
      if (item.id == 1) {
        ++poison_leases;  // "crashes": no outcome, the lease runs out
      } else {
        ++healthy_leases;
        ASSERT_TRUE(Reschedule(queue, item, absl::ZeroDuration()));
      }
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_EQ(poison_leases, 3);
  EXPECT_EQ(healthy_leases, 8);
  EXPECT_EQ(Query("SELECT state || ' ' || lost_leases FROM work_queue "
                  "WHERE item_id = 1"),
            "dead 3");
  EXPECT_THAT(Query("SELECT last_error FROM work_queue WHERE item_id = 1"),
              ::testing::StartsWith("lease_expired: 3 leases in a row"));
  EXPECT_EQ(Query("SELECT state FROM work_queue WHERE item_id = 2"), "ready");

  absl::StatusOr<std::vector<DeadItem>> dead =
      ListDeadItems(*pool_, "extract", 10);
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].item_id, 1);
  EXPECT_EQ((*dead)[0].lost_leases, 3);
  EXPECT_EQ((*dead)[0].attempts, 3);
  ASSERT_TRUE(ListDeadItems(*pool_, "pin", 10).ok());
  EXPECT_TRUE(ListDeadItems(*pool_, "pin", 10)->empty());

  EXPECT_FALSE(RetryDeadItems(*pool_, "", {1}).ok());  // ids need a queue
  absl::StatusOr<int64_t> back = RetryDeadItems(*pool_, "extract", {1});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, 1);
  std::vector<QueueItem> again = Lease(queue, 10);
  ASSERT_THAT(Ids(again), ::testing::Contains(1));
  for (const QueueItem& item : again) {
    if (item.id == 1) {
      EXPECT_EQ(item.attempts, 1);
    }
  }
}

// Only losses in a row count: an outcome in between starts over, so an item
// that is slow now and then is never parked for it.
TEST_F(WorkQueueTest, AnOutcomeBetweenLostLeasesStartsTheCountOver) {
  WorkQueue queue(*pool_, "extract", "w1",
                  {.lease = absl::Milliseconds(200),
                   .max_attempts = 100,
                   .max_lost_leases = 2});
  Enqueue({5});
  for (int round = 0; round < 6; ++round) {
    std::vector<QueueItem> items = Lease(queue, 10);
    ASSERT_EQ(items.size(), 1u) << "round " << round;
    if (round % 2 == 1) {
      ASSERT_TRUE(Reschedule(queue, items[0], absl::ZeroDuration()));
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_EQ(Query("SELECT state FROM work_queue WHERE item_id = 5"), "ready");
}

// Every text from outside reaches Postgres valid: a Latin-1 byte, a cut
// multi-byte character and a NUL in a text[] parameter, and an error text
// cut mid-character by the 2,000-byte bound.
TEST_F(WorkQueueTest, InvalidUtf8FromOutsideIsStoredNotRefused) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Seconds(60)});
  Enqueue({3});
  std::vector<QueueItem> items = Lease(queue, 10);
  ASSERT_EQ(items.size(), 1u);
  // 1,999 ASCII bytes then a 3-byte euro sign: a byte cut at 2,000 would
  // leave half a character.
  const std::string error = std::string(1999, 'x') + "\xE2\x82\xAC tail";
  bool done = false;
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    done = queue.Reschedule(txn, items[0], error,
                                            absl::ZeroDuration());
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(done);
  EXPECT_EQ(Query("SELECT octet_length(last_error) FROM work_queue"), "1999");
  std::string stored;
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    stored = txn.exec_params1(
                                    "SELECT string_agg(t, '|') FROM "
                                    "unnest($1::text[]) AS t",
                                    TextArray(std::vector<std::string>{
                                        "image/p\xE9ng", "ab\xE2\x82",
                                        std::string("a\0b", 3)}))[0]
                                 .as<std::string>();
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(stored,
            "image/p\xEF\xBF\xBDng|ab\xEF\xBF\xBD\xEF\xBF\xBD|"
            "a\xEF\xBF\xBD"
            "b");
}

TEST_F(WorkQueueTest, EnqueueOfQueuedItemKeepsItsSchedule) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Seconds(60)});
  Enqueue({5});
  std::vector<QueueItem> items = Lease(queue, 10);
  ASSERT_EQ(items.size(), 1u);
  // Leased: a replayed notification must not make it due again.
  EXPECT_EQ(Enqueue({5}), 0);
  EXPECT_TRUE(Lease(queue, 10).empty());

  ASSERT_TRUE(Reschedule(queue, items[0], absl::Hours(1)));
  EXPECT_EQ(Enqueue({5, 6}), 1);  // only 6 is new
  EXPECT_NEAR(DueIn(5), 3600, 5);
  EXPECT_EQ(Query("SELECT attempts FROM work_queue WHERE item_id = 5"), "1");
  std::vector<QueueItem> leased = Lease(queue, 10);
  EXPECT_THAT(Ids(leased), UnorderedElementsAreArray({6}));
}

// A hand-off that repeats ids the sender already queued (the Pin and Track
// notifications) only reads: it neither waits for nor takes the row lock a
// worker's transaction holds on the item.
TEST_F(WorkQueueTest, EnqueueOfQueuedItemTakesNoRowLock) {
  Enqueue({5});
  pqxx::connection holder(pool_->conninfo());
  pqxx::work locked(holder);
  locked.exec("SELECT 1 FROM work_queue WHERE item_id = 5 FOR UPDATE");
  int added = -1;
  absl::Status s = pool_->Run([&](pqxx::work& txn) {
    txn.exec("SET LOCAL lock_timeout = '500ms'");
    added = WorkQueue::Enqueue(txn, "extract", {5, 5, 6});
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(added, 1);  // 6 only, and once
  locked.abort();
  EXPECT_EQ(Query("SELECT count(*) FROM work_queue"), "2");
}

// A hand-off costs what it hands off, however deep the queue: ids already
// present are skipped by the insert's own primary-key probe. The look-up for
// waiting ids it replaces was planned from statistics, and in a queue that
// grew faster than they did it read every waiting item through the partial
// due index: 11 ms a hand-off of 1,000 ids at 100,000 queued, 150 ms at
// 900,000 (bench/queue_bench.sh); here 401,000 index reads for 2,000 ids.
TEST_F(WorkQueueTest, HandOffReadsOnlyItsOwnIdsHoweverDeepTheQueue) {
  Query(
      "INSERT INTO work_queue (queue, item_id) "
      "SELECT 'extract', g FROM generate_series(1, 200000) g");
  // No ANALYZE: a queue that grew fast is one whose statistics are stale,
  // which is when the planner chose the scan.
  std::vector<int64_t> fresh, queued;
  for (int64_t i = 1; i <= 1000; ++i) {
    fresh.push_back(500'000 + i);
    queued.push_back(100'000 + i);
  }
  // Index reads are counted per backend and flushed when it goes idle after
  // pg_stat_force_next_flush(); one connection does the work and the reads.
  pqxx::connection conn(pool_->conninfo());
  auto due_index_reads = [&] {
    pqxx::work txn(conn);
    return txn
        .exec1(
            "SELECT idx_tup_read FROM pg_stat_user_indexes "
            "WHERE indexrelname = 'work_queue_due'")[0]
        .as<int64_t>();
  };
  const int64_t before = due_index_reads();
  {
    pqxx::work txn(conn);
    EXPECT_EQ(WorkQueue::Enqueue(txn, "extract", fresh), 1000);
    EXPECT_EQ(WorkQueue::Enqueue(txn, "extract", queued), 0);
    txn.exec("SELECT pg_stat_force_next_flush()");
    txn.commit();
  }
  EXPECT_LT(due_index_reads() - before, 1000)
      << "a hand-off read the waiting queue instead of its own ids";
  EXPECT_EQ(Query("SELECT count(*) FROM work_queue"), "201000");
}

TEST_F(WorkQueueTest, ConcurrentLeasesNeverShareAnItem) {
  constexpr int kItems = 200;
  constexpr int kThreads = 4;
  std::vector<int64_t> all;
  for (int i = 1; i <= kItems; ++i) all.push_back(i);
  ASSERT_EQ(Enqueue(all), kItems);

  std::atomic<int> leased{0};
  std::vector<std::vector<int64_t>> got(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      WorkQueue queue(*pool_, "extract", absl::StrCat("w", t),
                      {.lease = absl::Seconds(60)});
      start.arrive_and_wait();
      const absl::Time deadline = absl::Now() + absl::Seconds(15);
      while (leased.load() < kItems && absl::Now() < deadline) {
        absl::StatusOr<std::vector<QueueItem>> items = queue.Lease(7);
        if (!items.ok()) {
          ADD_FAILURE() << items.status();
          return;
        }
        EXPECT_LE(items->size(), 7u);
        for (const QueueItem& item : *items) got[t].push_back(item.id);
        leased += static_cast<int>(items->size());
      }
    });
  }
  for (auto& t : threads) t.join();

  std::vector<int64_t> merged;
  for (const auto& ids : got)
    merged.insert(merged.end(), ids.begin(), ids.end());
  std::set<int64_t> unique(merged.begin(), merged.end());
  EXPECT_EQ(merged.size(), unique.size()) << "an item was leased twice";
  EXPECT_THAT(merged, UnorderedElementsAreArray(all));
}

// ---------------------------------------------------------------- RollUp

class RollUpTest : public PgTest {
 protected:
  void SetUp() override {
    PgTest::SetUp();
    if (HasFatalFailure()) return;
    pool_ = MigratedPool(1);
    ASSERT_NE(pool_, nullptr);
    Exec(R"sql(
      INSERT INTO chains (chain_id, name, next_block) VALUES (1, 'mainnet', 0);
      INSERT INTO contracts (chain_id, address, standard, first_block)
        VALUES (1, decode(repeat('ab', 20), 'hex'), 'erc721', 0);
    )sql");
  }

  // A resource with `status` (and reason/detail when failed); returns its id.
  int64_t Resource(const std::string& name, const std::string& status,
                   const std::string& reason = "",
                   const std::string& detail = "") {
    pqxx::connection conn(conninfo_);
    pqxx::work txn(conn);
    const int64_t id =
        txn.exec_params1(
               "INSERT INTO resources (uri_hash, normalized, kind, status, "
               "reason, detail) VALUES (sha256(convert_to($1, 'UTF8')), $1, "
               "'http', $2, nullif($3, ''), nullif($4, '')) RETURNING id",
               "https://example.com/" + name, status, reason, detail)[0]
            .as<int64_t>();
    txn.commit();
    return id;
  }

  // A token whose metadata is `metadata` and assets are {json_path, id}.
  int64_t Token(int token_id, const std::string& status, int64_t metadata,
                const std::vector<std::pair<std::string, int64_t>>& assets) {
    pqxx::connection conn(conninfo_);
    pqxx::work txn(conn);
    const int64_t pk =
        txn.exec_params1(
               "INSERT INTO tokens (chain_id, contract, token_id, status, "
               "metadata_resource_id) VALUES (1, decode(repeat('ab', 20), "
               "'hex'), $1, $2, $3) RETURNING id",
               token_id, status, metadata)[0]
            .as<int64_t>();
    const std::string link =
        "INSERT INTO token_resources (token_pk, json_path, resource_id, role, "
        "uri) VALUES ($1, $2, $3, $4, 'u')";
    txn.exec_params(link, pk, "", metadata, "metadata");
    for (const auto& [path, id] : assets) {
      txn.exec_params(link, pk, path, id, "asset");
    }
    txn.commit();
    return pk;
  }

  void RollUp(const std::vector<int64_t>& pks) {
    ASSERT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      RollUpTokens(txn, pks);
                      return absl::OkStatus();
                    })
                    .ok());
  }

  std::string StatusOf(int64_t pk) {
    return Query(
        absl::StrCat("SELECT status || '|' || coalesce(reason, '') || '|' || "
                     "coalesce(detail, '') FROM tokens WHERE id = ",
                     pk));
  }

  std::unique_ptr<Pool> pool_;
};

TEST_F(RollUpTest, StatusFollowsResources) {
  const int64_t meta = Resource("meta.json", "pinned");
  const int64_t image = Resource("image.png", "pinned");
  const int64_t video = Resource("video.mp4", "pinning");
  const int64_t broken =
      Resource("broken.png", "failed", "fetch_timeout", "no answer in 30s");

  const int64_t archived =
      Token(1, "extracted", meta, {{"image", image}, {"properties.x", image}});
  // Metadata and image pinned, the animation failed: partial (rollup.cc).
  const int64_t partial = Token(2, "extracted", meta,
                                {{"image", image}, {"animation_url", broken}});
  const int64_t pending =
      Token(3, "archived", meta, {{"image", image}, {"animation_url", video}});
  const int64_t queued = Token(4, "queued", meta, {{"image", image}});
  RollUp({archived, partial, pending, queued});

  EXPECT_EQ(StatusOf(archived), "archived||");
  EXPECT_EQ(StatusOf(pending), "extracted||");
  EXPECT_EQ(StatusOf(queued), "queued||");
  const std::string p = StatusOf(partial);
  EXPECT_THAT(p, ::testing::StartsWith("partial|fetch_timeout|"));
  EXPECT_THAT(p, HasSubstr("animation_url"));
}

// Parked work records its reason where an operator looks: a token whose
// extraction keeps losing its lease, and an asset whose pin does, end
// failed with reason lease_expired (the token of the asset rolls up to
// partial), not
// in progress for ever.
TEST_F(RollUpTest, ParkedWorkMarksItsRecordFailed) {
  const int64_t meta = Resource("meta.json", "pinned");
  const int64_t image = Resource("image.png", "queued");
  const int64_t waiting = Token(1, "extracted", meta, {{"image", image}});
  const int64_t unread = Token(2, "queued", meta, {});
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    WorkQueue::Enqueue(txn, "pin", {image});
                    WorkQueue::Enqueue(txn, "extract", {unread});
                    return absl::OkStatus();
                  })
                  .ok());
  const QueuePolicy policy{.lease = absl::Milliseconds(100),
                           .max_attempts = 100,
                           .max_lost_leases = 2};
  WorkQueue pins(*pool_, "pin", "w", policy);
  WorkQueue extracts(*pool_, "extract", "w", policy);
  for (int round = 0; round < 3; ++round) {  // leased, lost, lost: parked
    ASSERT_TRUE(pins.Lease(10).ok());
    ASSERT_TRUE(extracts.Lease(10).ok());
    absl::SleepFor(absl::Milliseconds(150));
  }
  EXPECT_EQ(Query(absl::StrCat("SELECT state FROM work_queue WHERE queue = "
                               "'pin' AND item_id = ",
                               image)),
            "dead");
  EXPECT_EQ(Query(absl::StrCat("SELECT status || '|' || reason FROM "
                               "resources WHERE id = ",
                               image)),
            "failed|lease_expired");
  EXPECT_THAT(StatusOf(waiting),
              ::testing::StartsWith("partial|lease_expired|"));
  EXPECT_THAT(StatusOf(unread), ::testing::StartsWith("failed|lease_expired|"));
  EXPECT_THAT(StatusOf(unread), HasSubstr("niftysave queue dead"));
}

TEST_F(RollUpTest, FailureOfMetadataNamesTokenUriAndClearsOnRecovery) {
  const int64_t meta = Resource("meta.json", "failed", "not_json", "bad JSON");
  const int64_t image = Resource("image.png", "pinned");
  const int64_t pk = Token(1, "extracted", meta, {{"image", image}});
  RollUp({pk});
  const std::string failed = StatusOf(pk);
  EXPECT_THAT(failed, ::testing::StartsWith("failed|not_json|"));
  EXPECT_THAT(failed, HasSubstr("token URI"));

  // Failure is not final: once the resource is pinned the token is archived
  // and the old reason is gone.
  Exec(
      absl::StrCat("UPDATE resources SET status = 'pinned', reason = NULL, "
                   "detail = NULL WHERE id = ",
                   meta));
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    RollUpTokensOfResources(txn, {meta});
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(StatusOf(pk), "archived||");
}

}  // namespace
}  // namespace niftysave::db

namespace niftysave::db {
namespace {

// Two resources of one token confirmed at the same moment by two workers:
// each transaction alone sees the other resource still pinning. Without a
// lock on the token before the roll-up reads, both would conclude
// "extracted" and the token would never become archived (seen in the
// end-to-end test under load).
TEST_F(RollUpTest, ConcurrentConfirmationsStillArchiveTheToken) {
  const int64_t meta = Resource("meta.json", "pinning");
  const int64_t image = Resource("image.png", "pinning");
  const int64_t pk = Token(1, "extracted", meta, {{"image", image}});

  pqxx::connection a_conn(conninfo_), b_conn(conninfo_);
  pqxx::work a(a_conn);
  a.exec_params("UPDATE resources SET status = 'pinned' WHERE id = $1", meta);
  RollUpTokens(a, {pk});  // holds the token's lock until commit

  std::atomic<bool> b_done{false};
  std::thread b_thread([&] {
    pqxx::work b(b_conn);
    b.exec_params("UPDATE resources SET status = 'pinned' WHERE id = $1",
                  image);
    RollUpTokens(b, {pk});  // waits for `a`, then must see its commit
    b.commit();
    b_done = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(b_done.load())
      << "the second roll-up did not wait for the first";
  a.commit();
  b_thread.join();
  EXPECT_EQ(StatusOf(pk), "archived||");
}

}  // namespace
}  // namespace niftysave::db

namespace niftysave::db {
namespace {

// A refresh (new token URI) that lands while a worker holds the item must
// not be lost: the holder can no longer complete it, and the item is due
// again at once with its tries reset.
TEST_F(WorkQueueTest, RequeueFencesTheLeaseInFlight) {
  WorkQueue queue(*pool_, "extract", "w",
                  {.lease = absl::Minutes(5), .max_attempts = 3});
  ASSERT_EQ(Enqueue({42}), 1);
  std::vector<QueueItem> held = Lease(queue, 10);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_TRUE(Lease(queue, 10).empty());  // leased for five minutes

  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    EXPECT_EQ(WorkQueue::Requeue(txn, "extract", {42, 43}), 2);
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_FALSE(Complete(queue, held[0]));  // stale: it read the old record
  std::vector<QueueItem> again = Lease(queue, 10);
  ASSERT_EQ(again.size(), 2u);
  for (const QueueItem& item : again) EXPECT_EQ(item.attempts, 1);
  EXPECT_GT(again[0].generation + again[1].generation, held[0].generation);
  for (const QueueItem& item : again) EXPECT_TRUE(Complete(queue, item));
}

// ---------------------------------------------------------------- Pool
// deadline

absl::Status SelectOne(pqxx::work& txn) {
  txn.exec("SELECT 1");
  return absl::OkStatus();
}

TEST_F(PoolTest, AcquireFailsAfterItsTimeoutWhenEveryConnectionIsBusy) {
  constexpr absl::Duration kTimeout = absl::Milliseconds(400);
  absl::StatusOr<std::unique_ptr<Pool>> pool =
      Pool::Create(conninfo_, 1, {.acquire_timeout = kTimeout});
  ASSERT_TRUE(pool.ok()) << pool.status();

  absl::Notification held, release;
  std::thread holder([&] {
    EXPECT_TRUE((*pool)
                    ->Run([&](pqxx::work& txn) {
                      txn.exec("SELECT 1");
                      held.Notify();
                      release.WaitForNotification();
                      return absl::OkStatus();
                    })
                    .ok());
  });
  held.WaitForNotification();

  bool called = false;
  const absl::Time start = absl::Now();
  absl::Status busy = (*pool)->Run([&](pqxx::work& txn) {
    called = true;
    return SelectOne(txn);
  });
  const absl::Duration waited = absl::Now() - start;
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  EXPECT_EQ(ReasonOf(busy), "db_pool_exhausted");
  EXPECT_THAT(busy.message(), HasSubstr("pool of 1"));
  EXPECT_FALSE(called);
  EXPECT_GE(waited, kTimeout - absl::Milliseconds(20));
  EXPECT_LT(waited, kTimeout + absl::Seconds(2));

  release.Notify();
  holder.join();
  // The failed wait took no slot: the one connection serves again, twice.
  EXPECT_TRUE((*pool)->Run(SelectOne).ok());
  EXPECT_TRUE((*pool)->Run(SelectOne).ok());
}

TEST_F(PoolTest, WaiterGetsAConnectionReleasedBeforeItsDeadline) {
  absl::StatusOr<std::unique_ptr<Pool>> pool =
      Pool::Create(conninfo_, 1, {.acquire_timeout = absl::Seconds(10)});
  ASSERT_TRUE(pool.ok()) << pool.status();
  absl::Notification held;
  std::thread holder([&] {
    EXPECT_TRUE((*pool)
                    ->Run([&](pqxx::work& txn) {
                      held.Notify();
                      absl::SleepFor(absl::Milliseconds(300));
                      return SelectOne(txn);
                    })
                    .ok());
  });
  held.WaitForNotification();
  const absl::Time start = absl::Now();
  absl::Status waited = (*pool)->Run(SelectOne);
  EXPECT_TRUE(waited.ok()) << waited;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  holder.join();
}

TEST_F(PoolTest, RejectsANonPositiveAcquireTimeout) {
  EXPECT_EQ(
      Pool::Create(conninfo_, 1, {.acquire_timeout = absl::ZeroDuration()})
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- WorkQueue
// batches

class WorkQueueBatchTest : public WorkQueueTest {
 protected:
  // Runs `fn` in one committed transaction of the pool.
  void InTxn(const std::function<void(pqxx::work&)>& fn) {
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      fn(txn);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  // The held item's next attempt: reschedules it due now and leases it
  // again (it must be the only due item).
  QueueItem NextAttempt(WorkQueue& queue, const QueueItem& held) {
    EXPECT_TRUE(Reschedule(queue, held, absl::ZeroDuration()));
    std::vector<QueueItem> again = Lease(queue, 1);
    EXPECT_EQ(again.size(), 1u);
    if (again.empty()) return {};
    EXPECT_EQ(again[0].id, held.id);
    return again[0];
  }
  std::string Row(int64_t id) {
    return Query(absl::StrCat(
        "SELECT state || ':' || attempts || ':' || coalesce(last_error, '') "
        "FROM work_queue WHERE queue = 'extract' AND item_id = ",
        id));
  }
};

TEST_F(WorkQueueBatchTest, CompleteManyLeavesLostLeasesOut) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Minutes(5)});
  ASSERT_EQ(Enqueue({1, 2, 3, 4}), 4);
  std::vector<QueueItem> held = Lease(queue, 10);
  ASSERT_EQ(held.size(), 4u);
  // 2 is re-queued (its holder's lease is fenced off) and leased anew.
  InTxn([&](pqxx::work& txn) { WorkQueue::Requeue(txn, "extract", {2}); });
  std::vector<QueueItem> fresh = Lease(queue, 10);
  ASSERT_EQ(fresh.size(), 1u);
  ASSERT_EQ(fresh[0].id, 2);

  std::vector<int64_t> done;
  InTxn([&](pqxx::work& txn) { done = queue.CompleteMany(txn, held); });
  EXPECT_THAT(done, UnorderedElementsAreArray({1, 3, 4}));
  EXPECT_EQ(Query("SELECT string_agg(item_id::text, ',') FROM work_queue"),
            "2");

  // The stale and the current lease of one item together: only the current
  // one matches.
  std::vector<QueueItem> both = {held[0], fresh[0]};
  for (const QueueItem& item : held) {
    if (item.id == 2) both[0] = item;
  }
  InTxn([&](pqxx::work& txn) { done = queue.CompleteMany(txn, both); });
  EXPECT_THAT(done, UnorderedElementsAreArray({2}));
  EXPECT_EQ(Query("SELECT count(*) FROM work_queue"), "0");
}

TEST_F(WorkQueueBatchTest, CompleteManyRollsBackWithTheCallersTransaction) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Minutes(5)});
  ASSERT_EQ(Enqueue({1, 2}), 2);
  std::vector<QueueItem> held = Lease(queue, 10);
  ASSERT_EQ(held.size(), 2u);
  absl::Status declined = pool_->Run([&](pqxx::work& txn) {
    EXPECT_EQ(queue.CompleteMany(txn, held).size(), 2u);
    return absl::AbortedError("the record write failed");
  });
  EXPECT_EQ(declined.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Query("SELECT count(*) FROM work_queue"), "2");
}

TEST_F(WorkQueueBatchTest, RescheduleManyBacksOffPerAttempt) {
  // Equal-jitter back-off: attempt n waits between 50s * 2^(n-1) and twice
  // that, so attempts 1 and 3 cannot overlap.
  WorkQueue queue(
      *pool_, "extract", "w1",
      {.lease = absl::Minutes(5),
       .backoff = {.initial = absl::Seconds(100), .max = absl::Hours(1)}});
  ASSERT_EQ(Enqueue({1}), 1);
  std::vector<QueueItem> held = Lease(queue, 1);
  ASSERT_EQ(held.size(), 1u);
  QueueItem third = NextAttempt(queue, NextAttempt(queue, held[0]));
  ASSERT_EQ(Enqueue({2}), 1);
  EXPECT_EQ(third.attempts, 3);
  std::vector<QueueItem> first = Lease(queue, 10);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].attempts, 1);

  std::vector<int64_t> done;
  InTxn([&](pqxx::work& txn) {
    done = queue.RescheduleMany(txn, {third, first[0]}, "boom");
  });
  EXPECT_THAT(done, UnorderedElementsAreArray({third.id, first[0].id}));
  const double due_first = DueIn(first[0].id);
  const double due_third = DueIn(third.id);
  EXPECT_GE(due_first, 49);
  EXPECT_LE(due_first, 101);
  EXPECT_GE(due_third, 199);
  EXPECT_LE(due_third, 401);
  EXPECT_EQ(Row(first[0].id), "ready:1:boom");
  EXPECT_EQ(Row(third.id), "ready:3:boom");
  EXPECT_TRUE(Lease(queue, 10).empty());
}

TEST_F(WorkQueueBatchTest, RescheduleManyWithADelayAppliesItToEveryItem) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Minutes(5)});
  ASSERT_EQ(Enqueue({1, 2, 3}), 3);
  std::vector<QueueItem> held = Lease(queue, 10);
  ASSERT_EQ(held.size(), 3u);
  std::vector<int64_t> done;
  InTxn([&](pqxx::work& txn) {
    done =
        queue.RescheduleMany(txn, {held[0], held[1]}, "later", absl::Hours(1));
  });
  EXPECT_THAT(done, UnorderedElementsAreArray({held[0].id, held[1].id}));
  EXPECT_NEAR(DueIn(held[0].id), 3600, 5);
  EXPECT_NEAR(DueIn(held[1].id), 3600, 5);
  EXPECT_NEAR(DueIn(held[2].id), 300, 5);  // untouched: still leased
  InTxn([&](pqxx::work& txn) {
    done = queue.RescheduleMany(txn, {held[2]}, "now", absl::ZeroDuration());
  });
  EXPECT_THAT(done, UnorderedElementsAreArray({held[2].id}));
  EXPECT_THAT(Ids(Lease(queue, 10)), UnorderedElementsAreArray({held[2].id}));
}

TEST_F(WorkQueueBatchTest, RescheduleManyOnTheLastAttemptGoesDead) {
  WorkQueue queue(*pool_, "extract", "w1",
                  {.lease = absl::Minutes(5), .max_attempts = 2});
  ASSERT_EQ(Enqueue({1}), 1);
  std::vector<QueueItem> one = Lease(queue, 1);
  ASSERT_EQ(one.size(), 1u);
  QueueItem last = NextAttempt(queue, one[0]);
  ASSERT_TRUE(queue.IsLastAttempt(last));
  ASSERT_EQ(Enqueue({2, 3}), 2);
  std::vector<QueueItem> rest = Lease(queue, 10);  // first attempts
  ASSERT_EQ(rest.size(), 2u);
  // One of the first attempts has lost its lease.
  InTxn([&](pqxx::work& txn) {
    WorkQueue::Requeue(txn, "extract", {rest[1].id});
  });

  std::vector<int64_t> done;
  InTxn([&](pqxx::work& txn) {
    done = queue.RescheduleMany(txn, {last, rest[0], rest[1]}, "gone",
                                absl::ZeroDuration());
  });
  EXPECT_THAT(done, UnorderedElementsAreArray({last.id, rest[0].id}));
  EXPECT_EQ(Row(last.id), "dead:2:gone");
  EXPECT_EQ(Row(rest[0].id), "ready:1:gone");
  EXPECT_EQ(Row(rest[1].id), "ready:0:");  // re-queued, untouched
  EXPECT_THAT(Ids(Lease(queue, 10)),
              UnorderedElementsAreArray({rest[0].id, rest[1].id}));
}

TEST_F(WorkQueueBatchTest, RescheduleEachKeepsItsOwnErrorAndDelay) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Minutes(5)});
  ASSERT_EQ(Enqueue({1, 2}), 2);
  std::vector<QueueItem> held = Lease(queue, 10);
  ASSERT_EQ(held.size(), 2u);
  // What a server sent may be anything: NUL, invalid UTF-8, a megabyte.
  std::string garbage = std::string("bad\0byte\xff\xc3", 10) + "\xc3\xa9";
  std::string huge(1 << 20, 'x');
  huge.replace(1999, 2, "\xc3\xa9");  // a character across the limit
  std::vector<int64_t> done;
  InTxn([&](pqxx::work& txn) {
    done = queue.RescheduleEach(
        txn, {{held[0], garbage, absl::Hours(2)}, {held[1], huge, {}}});
  });
  EXPECT_THAT(done, UnorderedElementsAreArray({held[0].id, held[1].id}));
  EXPECT_NEAR(DueIn(held[0].id), 7200, 5);
  EXPECT_LE(DueIn(held[1].id), 2);  // back-off of the default policy: 1s
  EXPECT_EQ(Row(held[0].id),
            "ready:1:bad\xEF\xBF\xBD"
            "byte\xEF\xBF\xBD\xEF\xBF\xBD\xC3\xA9");
  EXPECT_EQ(Query(absl::StrCat("SELECT octet_length(last_error) FROM "
                               "work_queue WHERE item_id = ",
                               held[1].id)),
            "1999");
}

// An empty batch must cost nothing: no statement reaches the server. The
// backend's last statement, as another session sees it in pg_stat_activity,
// tells.
TEST_F(WorkQueueBatchTest, EmptyBatchSendsNoStatement) {
  WorkQueue queue(*pool_, "extract", "w1", {});
  ASSERT_EQ(Enqueue({1}), 1);
  std::vector<QueueItem> held = Lease(queue, 1);
  ASSERT_EQ(held.size(), 1u);
  InTxn([&](pqxx::work& txn) {
    const std::string pid =
        txn.exec1("SELECT pg_backend_pid() /* mark */")[0].as<std::string>();
    const std::string last =
        absl::StrCat("SELECT query FROM pg_stat_activity WHERE pid = ", pid);
    EXPECT_THAT(Query(last), HasSubstr("/* mark */"));
    EXPECT_TRUE(queue.CompleteMany(txn, {}).empty());
    EXPECT_TRUE(queue.RescheduleMany(txn, {}, "x").empty());
    EXPECT_TRUE(queue.RescheduleEach(txn, {}).empty());
    EXPECT_THAT(Query(last), HasSubstr("/* mark */"));
    // The check can fail: a real batch is seen.
    EXPECT_EQ(queue.CompleteMany(txn, held).size(), 1u);
    EXPECT_THAT(Query(last), HasSubstr("DELETE FROM work_queue"));
  });
}

TEST_F(WorkQueueBatchTest, LeaseInTheCallersTransaction) {
  WorkQueue queue(*pool_, "extract", "w1", {.lease = absl::Minutes(5)});
  ASSERT_EQ(Enqueue({1, 2, 3}), 3);
  // Rolled back with its transaction: nothing was leased.
  absl::Status declined = pool_->Run([&](pqxx::work& txn) {
    EXPECT_EQ(queue.Lease(txn, 2).size(), 2u);
    return absl::AbortedError("changed my mind");
  });
  EXPECT_EQ(declined.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Query("SELECT max(attempts) FROM work_queue"), "0");

  // Leased and completed in one transaction.
  std::vector<int64_t> done;
  InTxn([&](pqxx::work& txn) {
    std::vector<QueueItem> items = queue.Lease(txn, 2);
    EXPECT_EQ(items.size(), 2u);
    for (const QueueItem& item : items) EXPECT_EQ(item.attempts, 1);
    done = queue.CompleteMany(txn, items);
  });
  EXPECT_EQ(done.size(), 2u);
  EXPECT_EQ(Query("SELECT count(*) FROM work_queue"), "1");
}

}  // namespace
}  // namespace niftysave::db
