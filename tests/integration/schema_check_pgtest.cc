// Each service binary started against a database that `niftysave migrate`
// has not prepared (real Postgres, real binaries): it exits 1 saying the
// schema is missing or older and naming the command that fixes it, instead
// of failing on its first query with `relation "chains" does not exist`.

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/harness/postgres_server.h"
#include "tests/harness/subprocess.h"
#include "tests/harness/temp_dir.h"

namespace niftysave {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Each service and its binary.
const std::vector<std::pair<std::string, std::string>> kServices = {
    {"indexer", NIFTYSAVE_INDEXER_BIN},
    {"extractor", NIFTYSAVE_EXTRACTOR_BIN},
    {"pinner", NIFTYSAVE_PINNER_BIN},
    {"tracker", NIFTYSAVE_TRACKER_BIN}};

class SchemaCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = harness::PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = *std::move(pg);
    auto dir = harness::TempDir::Create("schema-check");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = std::make_unique<harness::TempDir>(*std::move(dir));
    ASSERT_TRUE(pg_->CreateDatabase("unmigrated").ok());
    url_ = pg_->ConnectionString("unmigrated");
  }

  // The command line of `service` against this database; every other
  // endpoint is a dead port.
  std::vector<std::string> Args(const std::string& service,
                                const std::string& binary) const {
    std::vector<std::string> args = {binary, "--database_url=" + url_,
                                     "--grpc_listen=127.0.0.1:0",
                                     "--metrics_listen=127.0.0.1:0"};
    if (service == "indexer") {
      args.insert(args.end(),
                  {"--chain_id=31337", "--rpc_url=http://127.0.0.1:9"});
    } else if (service == "tracker") {
      args.push_back("--kubo_api_url=http://127.0.0.1:9");
    } else if (service == "pinner") {
      args.insert(args.end(), {"--kubo_api_url=http://127.0.0.1:9",
                               "--ipfs_gateways=http://127.0.0.1:9"});
    } else {
      args.push_back("--ipfs_gateways=http://127.0.0.1:9");
    }
    return args;
  }

  std::string ReadLog(const std::string& path) const {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // Runs `service` until it exits (at most 30 s); its exit code and log.
  std::pair<int, std::string> Run(const std::string& service,
                                  const std::string& binary) {
    const std::string log = absl::StrCat(dir_->path(), "/", service, ".log");
    auto proc = harness::Subprocess::Start(Args(service, binary), {}, log);
    EXPECT_TRUE(proc.ok()) << proc.status();
    if (!proc.ok()) return {-1, ""};
    absl::StatusOr<int> code = (*proc)->Wait(absl::Seconds(30));
    EXPECT_TRUE(code.ok()) << service << " still running: " << code.status();
    return {code.ok() ? *code : -1, ReadLog(log)};
  }

  std::unique_ptr<harness::PostgresServer> pg_;
  std::unique_ptr<harness::TempDir> dir_;
  std::string url_;
};

TEST_F(SchemaCheckTest, EveryServiceNamesTheMigrateCommandOnAnEmptyDatabase) {
  for (const auto& [service, binary] : kServices) {
    const auto [code, log] = Run(service, binary);
    EXPECT_EQ(code, 1) << service << ":\n" << log;
    EXPECT_THAT(log, HasSubstr("no niftysave schema")) << service;
    EXPECT_THAT(log, HasSubstr("niftysave migrate")) << service;
    EXPECT_THAT(log, Not(HasSubstr("does not exist"))) << service;
  }
}

TEST_F(SchemaCheckTest, AnOlderSchemaIsRefusedAndACurrentOneServed) {
  ASSERT_TRUE(db::Migrate(url_).ok());
  const auto& all = db::AllMigrations();
  ASSERT_GE(all.size(), 2u);
  const int latest = all.back().version;
  const int previous = all[all.size() - 2].version;
  {
    pqxx::connection conn(url_);
    pqxx::work txn(conn);
    txn.exec_params("DELETE FROM schema_migrations WHERE version = $1", latest);
    txn.commit();
  }
  auto [code, log] = Run("tracker", NIFTYSAVE_TRACKER_BIN);
  EXPECT_EQ(code, 1) << log;
  EXPECT_THAT(log, HasSubstr(absl::StrCat(
                       "the database schema is at version ", previous,
                       ", older than this binary's ", latest)));
  EXPECT_THAT(log, HasSubstr("niftysave migrate"));

  // Current again (the row put back; its migration is applied): the check
  // passes and the service serves until stopped.
  {
    pqxx::connection conn(url_);
    pqxx::work txn(conn);
    txn.exec_params(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, 'back')",
        latest);
    txn.commit();
  }
  auto proc = harness::Subprocess::Start(
      {NIFTYSAVE_TRACKER_BIN, "--database_url=" + url_,
       "--grpc_listen=127.0.0.1:0", "--metrics_listen=127.0.0.1:0",
       "--kubo_api_url=http://127.0.0.1:9"},
      {}, absl::StrCat(dir_->path(), "/current.log"));
  ASSERT_TRUE(proc.ok()) << proc.status();
  EXPECT_EQ((*proc)->Wait(absl::Seconds(2)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  absl::StatusOr<int> stopped = (*proc)->Terminate();
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  EXPECT_EQ(*stopped, 0);
}

// Issue 13: Postgres down is waited for, never a reason to exit. Every
// service started against a stopped Postgres keeps running, says in its log
// what it waits for, and stops cleanly (exit 0) when told to.
TEST_F(SchemaCheckTest, EveryServiceWaitsForPostgresAndStopsCleanly) {
  ASSERT_TRUE(pg_->Stop().ok());
  for (const auto& [service, binary] : kServices) {
    const std::string log =
        absl::StrCat(dir_->path(), "/", service, "-down.log");
    auto proc = harness::Subprocess::Start(Args(service, binary), {}, log);
    ASSERT_TRUE(proc.ok()) << proc.status();
    EXPECT_EQ((*proc)->Wait(absl::Seconds(2)).status().code(),
              absl::StatusCode::kDeadlineExceeded)
        << service << " exited while Postgres was down";
    absl::StatusOr<int> stopped = (*proc)->Terminate();
    ASSERT_TRUE(stopped.ok()) << stopped.status();
    EXPECT_EQ(*stopped, 0) << service;
    const std::string text = ReadLog(log);
    EXPECT_THAT(text, HasSubstr("waiting for Postgres")) << service;
    EXPECT_THAT(text, Not(HasSubstr("cannot connect"))) << service;
  }
}

}  // namespace
}  // namespace niftysave
