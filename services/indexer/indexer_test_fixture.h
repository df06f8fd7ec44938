// What the indexer's Postgres tests share: one throwaway Postgres server per
// test suite and a freshly migrated database per test (PgTestFixture), the
// Sql/Count helpers, the ASSERT_OK/ASSERT_OK_AND_ASSIGN macros, and, for the
// tests that read a chain, a real anvil node with the DemoNFT deployed
// (ChainPgTestFixture). Header-only: a test that uses ChainPgTestFixture links
// niftysave_devchain, one that only uses PgTestFixture need not.

#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/indexer/pg_indexer_repository.h"
#include "services/indexer/uri_reader.h"
#include "tests/harness/anvil_node.h"
#include "tests/harness/dev_chain.h"
#include "tests/harness/postgres_server.h"

namespace niftysave::indexer::pgtest {

inline absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

}  // namespace niftysave::indexer::pgtest

// Fails the test (returning from the enclosing void function) unless `expr`,
// an absl::Status or absl::StatusOr, is OK; the failure shows the status.
#define ASSERT_OK(expr)                                        \
  do {                                                         \
    const auto& ok_result_ = (expr);                           \
    ASSERT_TRUE(ok_result_.ok())                               \
        << ::niftysave::indexer::pgtest::StatusOf(ok_result_); \
  } while (0)

#define NS_PGTEST_CONCAT_INNER(a, b) a##b
#define NS_PGTEST_CONCAT(a, b) NS_PGTEST_CONCAT_INNER(a, b)
// `lhs = *expr` when the absl::StatusOr `expr` is OK; else fails the test.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(NS_PGTEST_CONCAT(status_or_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  ASSERT_TRUE(tmp.ok()) << tmp.status();          \
  lhs = *std::move(tmp)

namespace niftysave::indexer::pgtest {

// One Postgres server for the suite (started in SetUpTestSuite, stopped in
// TearDownTestSuite); SetUpDatabase gives a test its own migrated database.
class PgTestFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<harness::PostgresServer>> pg =
        harness::PostgresServer::Start();
    if (pg.ok()) {
      pg_ = pg->release();
    } else {
      pg_error_ = new absl::Status(pg.status());
    }
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
    delete pg_error_;
    pg_error_ = nullptr;
  }

  // A new database <prefix><n> on the suite's server (n counts every
  // database the suites of this binary made), migrated; its connection
  // string.
  static absl::StatusOr<std::string> NewMigratedDatabase(
      const std::string& prefix) {
    if (pg_ == nullptr) {
      return pg_error_ != nullptr
                 ? *pg_error_
                 : absl::FailedPreconditionError("no Postgres server");
    }
    const std::string db = absl::StrCat(prefix, ++databases_);
    if (absl::Status s = pg_->CreateDatabase(db); !s.ok()) return s;
    std::string conninfo = pg_->ConnectionString(db);
    if (absl::StatusOr<int> v = db::Migrate(conninfo); !v.ok()) {
      return v.status();
    }
    return conninfo;
  }

  // This test's database (conninfo_) and a pool of `pool_size` connections
  // to it (pool_). Call as ASSERT_NO_FATAL_FAILURE(SetUpDatabase(...)).
  void SetUpDatabase(const std::string& prefix, size_t pool_size) {
    ASSERT_NE(pg_, nullptr) << *pg_error_;
    ASSERT_OK_AND_ASSIGN(conninfo_, NewMigratedDatabase(prefix));
    ASSERT_OK_AND_ASSIGN(pool_, db::Pool::Create(conninfo_, pool_size));
  }

  // One statement on a connection of its own, outside any transaction.
  template <typename... Args>
  pqxx::result Sql(const std::string& sql, Args&&... args) {
    pqxx::connection conn(conninfo_);
    pqxx::nontransaction txn(conn);
    return txn.exec_params(sql, std::forward<Args>(args)...);
  }
  // The first column of the first row of `sql`, e.g. a count(*).
  int64_t Count(const std::string& sql) { return Sql(sql)[0][0].as<int64_t>(); }

  static inline harness::PostgresServer* pg_ = nullptr;
  static inline absl::Status* pg_error_ = nullptr;
  static inline int databases_ = 0;

  std::string conninfo_;
  std::unique_ptr<db::Pool> pool_;
};

// PgTestFixture plus a PgIndexerRepository over the pool and a real anvil
// node of its own per test, with its accounts and a DemoNFT deployed.
class ChainPgTestFixture : public PgTestFixture {
 protected:
  // The database (as SetUpDatabase) and repo_ over it. Call as
  // ASSERT_NO_FATAL_FAILURE(SetUpRepository(...)).
  void SetUpRepository(const std::string& prefix, size_t pool_size) {
    ASSERT_NO_FATAL_FAILURE(SetUpDatabase(prefix, pool_size));
    repo_ = std::make_unique<PgIndexerRepository>(*pool_);
  }

  // anvil_ and chain_ over it. Call as ASSERT_NO_FATAL_FAILURE(StartAnvil()).
  void StartAnvil() {
    ASSERT_OK_AND_ASSIGN(anvil_, harness::AnvilNode::Start());
    chain_ = std::make_unique<harness::DevChain>(anvil_->rpc_url());
  }

  // accounts_ (anvil's dev account first, and at least three) and nft_, a
  // DemoNFT deployed from the first. Call as
  // ASSERT_NO_FATAL_FAILURE(DeployNft()).
  void DeployNft() {
    ASSERT_OK_AND_ASSIGN(accounts_, chain_->Accounts());
    ASSERT_GE(accounts_.size(), 3u);
    ASSERT_EQ(accounts_[0], harness::DevChain::kDevAccount);
    ASSERT_OK_AND_ASSIGN(nft_, chain_->Deploy("DemoNFT"));
  }

  std::unique_ptr<PgIndexerRepository> repo_;
  std::unique_ptr<harness::AnvilNode> anvil_;
  std::unique_ptr<harness::DevChain> chain_;
  std::vector<std::string> accounts_;
  std::string nft_;  // the DemoNFT every test deploys
};

}  // namespace niftysave::indexer::pgtest

namespace niftysave::indexer {

// A UriReader over its own PgUriReadRepository of the pool (as main.cc wires
// them) with `policy`.
struct PgUriReadRepositoryHolder {
  PgUriReadRepository uri_repo;
};
class PgUriReader : private PgUriReadRepositoryHolder, public UriReader {
 public:
  PgUriReader(UriReaderConfig config, db::Pool& pool, ChainSource& source,
              std::string worker_id,
              std::function<void(const std::vector<eth::TokenKey>&)> on_tokens,
              UriReaderCounters counters = {}, db::QueuePolicy policy = {})
      : PgUriReadRepositoryHolder{PgUriReadRepository(
            pool, config.chain_id, std::move(worker_id), policy)},
        UriReader(config, uri_repo, source, std::move(on_tokens),
                  std::move(counters)) {}
};

}  // namespace niftysave::indexer
