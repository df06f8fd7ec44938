// The token roll-up rule (common/db/rollup.h) case by case, on a real
// Postgres with the migrated schema: archived, partial, failed, extracted,
// and that nothing is final.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/db/rollup.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/harness/postgres_server.h"

namespace niftysave::db {
namespace {

struct Case {
  std::string name;
  std::string metadata;  // the metadata resource's status
  std::vector<std::string> assets;
  std::string status;  // the token's, after the roll-up
  // Which failure the token reports: -1 none, 0 the metadata, i the i-th
  // asset (1-based).
  int failure = -1;
};

class RollUpRuleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pg = harness::PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = pg->release();
    auto v = Migrate(pg_->ConnectionString());
    ASSERT_TRUE(v.ok()) << v.status();
    auto pool = Pool::Create(pg_->ConnectionString(), 2);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = pool->release();
    Exec(R"sql(
      INSERT INTO chains (chain_id, name, next_block) VALUES (1, 'one', 0);
      INSERT INTO contracts (chain_id, address, standard, first_block)
        VALUES (1, decode(repeat('cd', 20), 'hex'), 'erc721', 0);)sql");
  }
  static void TearDownTestSuite() {
    delete pool_;
    delete pg_;
  }
  void SetUp() override { ASSERT_NE(pool_, nullptr); }

  static void Exec(const std::string& sql) {
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      txn.exec(sql);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }

  static int64_t Resource(const std::string& status) {
    int64_t id = 0;
    const int n = ++resources_;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      id = txn.exec_params1(
                  "INSERT INTO resources (uri_hash, normalized, kind, status, "
                  "reason, detail) VALUES (sha256(convert_to($1, 'UTF8')), $1, "
                  "'http', $2, NULL, NULL) RETURNING id",
                  absl::StrCat("https://example.com/r", n), status)[0]
               .as<int64_t>();
      // Each failure names its resource, so a test can tell which one a
      // token reports.
      txn.exec_params(
          "UPDATE resources SET reason = 'reason_' || id, detail = 'broken ' "
          "|| id WHERE id = $1 AND status = 'failed'",
          id);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return id;
  }

  // A token in `status` whose metadata is `meta` and whose assets are
  // linked as $.a0, $.a1, ...
  static int64_t Token(const std::string& status, int64_t meta,
                       const std::vector<int64_t>& assets) {
    int64_t pk = 0;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      pk = txn.exec_params1(
                  "INSERT INTO tokens (chain_id, contract, token_id, status, "
                  "metadata_resource_id) VALUES (1, decode(repeat('cd', 20), "
                  "'hex'), $1, $2, $3) RETURNING id",
                  ++tokens_, status, meta)[0]
               .as<int64_t>();
      const std::string link =
          "INSERT INTO token_resources (token_pk, json_path, resource_id, "
          "role, uri) VALUES ($1, $2, $3, $4, 'u')";
      txn.exec_params(link, pk, "", meta, "metadata");
      for (size_t i = 0; i < assets.size(); ++i)
        txn.exec_params(link, pk, absl::StrCat("$.a", i), assets[i], "asset");
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return pk;
  }

  static void RollUp(const std::vector<int64_t>& pks) {
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      RollUpTokens(txn, pks);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }

  static std::string StatusOf(int64_t pk) {
    std::string out;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      out = txn.exec_params1(
                   "SELECT status || '|' || coalesce(reason, '') || "
                   "'|' || coalesce(detail, '') FROM tokens "
                   "WHERE id = $1",
                   pk)[0]
                .as<std::string>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  static inline harness::PostgresServer* pg_ = nullptr;
  static inline Pool* pool_ = nullptr;
  static inline int resources_ = 0;
  static inline int tokens_ = 0;
};

TEST_F(RollUpRuleTest, EveryCaseOfTheRule) {
  const std::vector<Case> cases = {
      {"all pinned", "pinned", {"pinned", "pinned"}, "archived"},
      {"metadata only, pinned", "pinned", {}, "archived"},
      {"in flight, nothing failed",
       "pinned",
       {"pinned", "pinning"},
       "extracted"},
      {"metadata in flight", "pinning", {"pinned"}, "extracted"},
      {"one asset pinned, one failed",
       "pinned",
       {"pinned", "failed"},
       "partial",
       2},
      {"the only asset failed, metadata pinned",
       "pinned",
       {"failed"},
       "partial",
       1},
      {"an asset failed, another in flight",
       "pinned",
       {"queued", "failed"},
       "partial",
       2},
      {"the first failed asset is reported",
       "pinned",
       {"failed", "pinned", "failed"},
       "partial",
       1},
      {"assets failed, metadata in flight",
       "pinning",
       {"failed", "failed"},
       "extracted"},
      {"metadata failed, assets pinned", "failed", {"pinned"}, "failed", 0},
      {"everything failed", "failed", {"failed", "failed"}, "failed", 0},
  };
  std::vector<int64_t> pks;
  std::vector<std::string> want;
  for (const Case& c : cases) {
    std::vector<int64_t> ids = {Resource(c.metadata)};
    for (const std::string& a : c.assets) ids.push_back(Resource(a));
    pks.push_back(Token("extracted", ids[0],
                        std::vector<int64_t>(ids.begin() + 1, ids.end())));
    if (c.failure < 0) {
      want.push_back(c.status + "||");
    } else {
      const int64_t id = ids[c.failure];
      want.push_back(absl::StrCat(
          c.status, "|reason_", id, "|",
          c.failure == 0 ? "token URI" : absl::StrCat("$.a", c.failure - 1),
          ": broken ", id));
    }
  }
  RollUp(pks);
  for (size_t i = 0; i < cases.size(); ++i)
    EXPECT_EQ(StatusOf(pks[i]), want[i]) << cases[i].name;
}

TEST_F(RollUpRuleTest, PartialIsNotFinalAndUntouchedStatusesStay) {
  const int64_t meta = Resource("pinned");
  const int64_t good = Resource("pinned");
  const int64_t bad = Resource("failed");
  const int64_t partial = Token("archived", meta, {good, bad});
  const int64_t queued = Token("queued", meta, {bad});
  RollUp({partial, queued});
  EXPECT_EQ(StatusOf(partial).substr(0, 8), "partial|");
  EXPECT_EQ(StatusOf(queued), "queued||");  // not past extraction: left alone

  // The failed asset is pinned after all (a re-check found it): archived,
  // and the reason is cleared.
  Exec(
      absl::StrCat("UPDATE resources SET status = 'pinned', reason = NULL, "
                   "detail = NULL WHERE id = ",
                   bad));
  absl::Status s = pool_->Run([&](pqxx::work& txn) {
    RollUpTokensOfResources(txn, {bad});
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(StatusOf(partial), "archived||");
  EXPECT_EQ(StatusOf(queued), "queued||");
}

}  // namespace
}  // namespace niftysave::db
