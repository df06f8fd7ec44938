// The tracker's query API (ListTokens, BatchGetTokenStatus, GetStats,
// WatchProgress) end to end in one process: PgTrackerRepository against a real
// Postgres (schema from db::Migrate, rows seeded by SQL), TrackerServiceImpl
// on a real gRPC server on 127.0.0.1:0, called through the generated stub.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/grpc/grpc_server.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/metrics/metrics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "niftysave/v1/tracker.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "services/tracker/pg_tracker_repository.h"
#include "services/tracker/tracker_grpc.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/subprocess.h"

namespace niftysave::tracker {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr char kContractA[] = "0x00000000000000000000000000000000000000aa";
constexpr char kContractB[] = "0x00000000000000000000000000000000000000bb";

// Chain 1, contract A: tokens 1-250, status by i % 5 (0 failed, 1 queued,
// 2 extracted, 3-4 archived), failed ones alternate http_4xx / uri_invalid.
// Chain 1, contract B: 3 archived. Chain 2, contract A: 5 queued.
// Chain 3, contract C ("Cats"): tokens 1-40 by i % 8 (0-1 failed http_4xx,
// 2 failed too_large, 3 partial pin_failed, 4 queued, 5 extracted, 6-7
// archived); contract D: none yet.
constexpr char kSeed[] = R"sql(
INSERT INTO chains (chain_id, name, next_block) VALUES (1, 'one', 0), (2, 'two', 0), (3, 'three', 0);
INSERT INTO contracts (chain_id, address, standard, first_block) VALUES
  (1, decode('00000000000000000000000000000000000000aa', 'hex'), 'erc721', 0),
  (1, decode('00000000000000000000000000000000000000bb', 'hex'), 'erc721', 0),
  (2, decode('00000000000000000000000000000000000000aa', 'hex'), 'erc721', 0);
INSERT INTO contracts (chain_id, address, standard, name, symbol, first_block) VALUES
  (3, decode('00000000000000000000000000000000000000cc', 'hex'), 'erc1155', 'Cats', 'CAT', 0),
  (3, decode('00000000000000000000000000000000000000dd', 'hex'), 'erc721', NULL, NULL, 0);
INSERT INTO tokens (chain_id, contract, token_id, status, reason)
SELECT 3, decode('00000000000000000000000000000000000000cc', 'hex'), i,
       CASE i % 8 WHEN 0 THEN 'failed' WHEN 1 THEN 'failed' WHEN 2 THEN 'failed'
                  WHEN 3 THEN 'partial' WHEN 4 THEN 'queued' WHEN 5 THEN 'extracted'
                  ELSE 'archived' END,
       CASE i % 8 WHEN 0 THEN 'http_4xx' WHEN 1 THEN 'http_4xx' WHEN 2 THEN 'too_large'
                  WHEN 3 THEN 'pin_failed' END
FROM generate_series(1, 40) i;
INSERT INTO tokens (chain_id, contract, token_id, token_uri, status, reason, detail)
SELECT 1, decode('00000000000000000000000000000000000000aa', 'hex'), i,
       'https://example.com/' || i,
       CASE i % 5 WHEN 0 THEN 'failed' WHEN 1 THEN 'queued' WHEN 2 THEN 'extracted'
                  ELSE 'archived' END,
       CASE i % 10 WHEN 0 THEN 'http_4xx' WHEN 5 THEN 'uri_invalid' END,
       CASE i % 5 WHEN 0 THEN 'seeded failure' END
FROM generate_series(1, 250) i;
INSERT INTO tokens (chain_id, contract, token_id, status)
SELECT 1, decode('00000000000000000000000000000000000000bb', 'hex'), i, 'archived'
FROM generate_series(1, 3) i;
INSERT INTO tokens (chain_id, contract, token_id)
SELECT 2, decode('00000000000000000000000000000000000000aa', 'hex'), i
FROM generate_series(1, 5) i;
INSERT INTO resources (uri_hash, normalized, kind, status, reason) VALUES
  (decode('01', 'hex'), 'https://example.com/a', 'http', 'pinned', NULL),
  (decode('02', 'hex'), 'https://example.com/b', 'http', 'pinned', NULL),
  (decode('03', 'hex'), 'https://example.com/c', 'http', 'failed', 'pin_failed'),
  (decode('04', 'hex'), 'https://example.com/d', 'http', 'queued', NULL);
INSERT INTO pins (cid, backend, status) VALUES
  ('bafkreia', 'kubo', 'pinned'), ('bafkreib', 'kubo', 'pinned'),
  ('bafkreic', 'kubo', 'failed');
)sql";

class TrackerPgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_status_ = new absl::Status(StartSuite());
  }
  static absl::Status StartSuite() {
    auto pg = harness::PostgresServer::Start();
    if (!pg.ok()) return pg.status();
    pg_ = pg->release();
    if (auto v = db::Migrate(pg_->ConnectionString()); !v.ok())
      return v.status();
    auto pool = db::Pool::Create(pg_->ConnectionString(), 4);
    if (!pool.ok()) return pool.status();
    pool_ = pool->release();
    absl::Status seeded = pool_->Run([](pqxx::work& txn) {
      txn.exec(kSeed);
      return absl::OkStatus();
    });
    if (!seeded.ok()) return seeded;
    queue_ = new db::WorkQueue(*pool_, "track", "tracker-pgtest",
                               {.lease = absl::Minutes(2)});
    repo_ = new PgTrackerRepository(*pool_, *queue_);
    service_ = new TrackerServiceImpl(
        *repo_, [](int64_t) {},
        {.max_watch_streams = 2, .contract_status = repo_});
    auto metrics = Metrics::Start("127.0.0.1:0", "tracker_pgtest");
    if (!metrics.ok()) return metrics.status();
    metrics_ = metrics->release();
    auto server = GrpcServer::Start("127.0.0.1:0", {service_}, *metrics_, {});
    if (!server.ok()) return server.status();
    server_ = server->release();
    stub_ = v1::Tracker::NewStub(
                MakeChannel(absl::StrCat("127.0.0.1:", server_->port()), {}))
                .release();
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    delete stub_;
    if (server_ != nullptr) server_->Shutdown(absl::Seconds(1));
    delete server_;
    delete metrics_;
    delete service_;
    delete repo_;
    delete queue_;
    delete pool_;
    delete pg_;
    delete suite_status_;
  }
  void SetUp() override { ASSERT_TRUE(suite_status_->ok()) << *suite_status_; }

  static grpc::Status List(const v1::ListTokensRequest& request,
                           v1::ListTokensResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return stub_->ListTokens(&context, request, response);
  }

  static v1::TokenKey Key(uint64_t chain, const std::string& contract,
                          const std::string& id) {
    v1::TokenKey key;
    key.set_chain_id(chain);
    key.set_contract(contract);
    key.set_token_id(id);
    return key;
  }

  static inline absl::Status* suite_status_ = nullptr;
  static inline harness::PostgresServer* pg_ = nullptr;
  static inline db::Pool* pool_ = nullptr;
  static inline db::WorkQueue* queue_ = nullptr;
  static inline PgTrackerRepository* repo_ = nullptr;
  static inline TrackerServiceImpl* service_ = nullptr;
  static inline Metrics* metrics_ = nullptr;
  static inline GrpcServer* server_ = nullptr;
  static inline v1::Tracker::Stub* stub_ = nullptr;
};

TEST_F(TrackerPgTest, ListTokensPagesThroughEveryTokenOnce) {
  v1::ListTokensRequest request;
  request.set_chain_id(1);
  request.set_contract(kContractA);
  request.set_page_size(100);
  std::vector<int> page_sizes;
  std::set<std::string> seen;
  int rows = 0;
  do {
    v1::ListTokensResponse page;
    grpc::Status s = List(request, &page);
    ASSERT_TRUE(s.ok()) << s.error_message();
    page_sizes.push_back(page.tokens_size());
    for (const v1::TokenSummary& t : page.tokens()) {
      EXPECT_EQ(t.token().contract(), kContractA);
      EXPECT_FALSE(t.updated_at().empty());
      seen.insert(t.token().token_id());
      ++rows;
    }
    request.set_page_token(page.next_page_token());
    ASSERT_LE(page_sizes.size(), 4u) << "pagination does not end";
  } while (!request.page_token().empty());
  EXPECT_THAT(page_sizes, ElementsAre(100, 100, 50));
  EXPECT_EQ(rows, 250);  // no duplicates...
  ASSERT_EQ(seen.size(), 250u);
  for (int i = 1; i <= 250; ++i)  // ...and none missed
    EXPECT_TRUE(seen.count(std::to_string(i))) << i;

  // Without the contract filter: every token of chain 1, in one page.
  request.clear_contract();
  request.clear_page_token();
  request.set_page_size(1000);
  v1::ListTokensResponse all;
  ASSERT_TRUE(List(request, &all).ok());
  EXPECT_EQ(all.tokens_size(), 253);
  EXPECT_TRUE(all.next_page_token().empty());
}

TEST_F(TrackerPgTest, ListTokensFiltersByStatusAndChain) {
  v1::ListTokensRequest request;
  request.set_chain_id(1);
  request.set_status(v1::TOKEN_STATUS_FAILED);
  v1::ListTokensResponse failed;
  ASSERT_TRUE(List(request, &failed).ok());
  ASSERT_EQ(failed.tokens_size(), 50);
  for (const v1::TokenSummary& t : failed.tokens()) {
    EXPECT_EQ(t.status(), v1::TOKEN_STATUS_FAILED);
    EXPECT_THAT(t.failure().reason(),
                ::testing::AnyOf("http_4xx", "uri_invalid"));
    EXPECT_EQ(std::stoi(t.token().token_id()) % 5, 0);
  }
  EXPECT_TRUE(failed.next_page_token().empty());

  request.set_status(v1::TOKEN_STATUS_ARCHIVED);
  request.set_contract(kContractB);
  v1::ListTokensResponse archived_b;
  ASSERT_TRUE(List(request, &archived_b).ok());
  EXPECT_EQ(archived_b.tokens_size(), 3);

  v1::ListTokensRequest chain2;
  chain2.set_chain_id(2);
  v1::ListTokensResponse two;
  ASSERT_TRUE(List(chain2, &two).ok());
  EXPECT_EQ(two.tokens_size(), 5);
}

TEST_F(TrackerPgTest, ListTokensRejectsBadRequests) {
  auto code = [](v1::ListTokensRequest request) {
    v1::ListTokensResponse response;
    return List(request, &response).error_code();
  };
  v1::ListTokensRequest ok;
  ok.set_chain_id(1);

  v1::ListTokensRequest r = ok;
  r.set_page_token("not a token!");
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
  r.set_page_token("bm9wZQ");  // base64 of "nope"
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = ok;
  r.set_page_size(1001);
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = ok;
  r.set_contract("0x1234");
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
  r = ok;
  r.set_status(static_cast<v1::TokenStatus>(99));
  EXPECT_EQ(code(r), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(code(v1::ListTokensRequest()), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TrackerPgTest, BatchGetTokenStatusReportsFoundAndMissingKeys) {
  v1::BatchGetTokenStatusRequest request;
  *request.add_tokens() = Key(1, kContractA, "5");
  *request.add_tokens() = Key(1, kContractA, "999");
  // Any case on input; canonical lower-case on output.
  *request.add_tokens() =
      Key(1, "0x00000000000000000000000000000000000000AA", "2");
  *request.add_tokens() = Key(2, kContractA, "3");
  v1::BatchGetTokenStatusResponse response;
  grpc::ClientContext context;
  grpc::Status s = stub_->BatchGetTokenStatus(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(response.reports_size(), 3);
  EXPECT_EQ(response.reports(0).token().token_id(), "5");
  EXPECT_EQ(response.reports(0).status(), v1::TOKEN_STATUS_FAILED);
  EXPECT_EQ(response.reports(0).failure().reason(), "uri_invalid");
  EXPECT_EQ(response.reports(0).token_uri(), "https://example.com/5");
  EXPECT_EQ(response.reports(1).token().contract(), kContractA);
  EXPECT_EQ(response.reports(1).status(), v1::TOKEN_STATUS_EXTRACTED);
  EXPECT_EQ(response.reports(2).token().chain_id(), 2u);
  EXPECT_EQ(response.reports(2).status(), v1::TOKEN_STATUS_QUEUED);
  ASSERT_EQ(response.not_found_size(), 1);
  EXPECT_EQ(response.not_found(0).token_id(), "999");

  v1::BatchGetTokenStatusRequest too_many;
  for (int i = 1; i <= 101; ++i)
    *too_many.add_tokens() = Key(1, kContractA, std::to_string(i));
  grpc::ClientContext c2;
  s = stub_->BatchGetTokenStatus(&c2, too_many, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), ::testing::HasSubstr("100"));

  v1::BatchGetTokenStatusRequest malformed;
  *malformed.add_tokens() = Key(1, "0xnothex", "1");
  grpc::ClientContext c3;
  s = stub_->BatchGetTokenStatus(&c3, malformed, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TrackerPgTest, GetStatsCountsTheSeed) {
  auto stats = [](uint64_t chain) {
    v1::GetStatsRequest request;
    request.set_chain_id(chain);
    v1::Stats out;
    grpc::ClientContext context;
    grpc::Status s = stub_->GetStats(&context, request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  };
  v1::Stats one = stats(1);
  EXPECT_EQ(one.indexed(), 253u);
  EXPECT_EQ(one.metadata_fetched(), 50u + 103u);  // extracted + archived
  EXPECT_EQ(one.archived(), 103u);
  EXPECT_EQ(one.failed(), 50u);
  ASSERT_EQ(one.failures_size(), 2);
  std::set<std::pair<std::string, uint64_t>> failures;
  for (const v1::ReasonCount& f : one.failures())
    failures.insert({f.reason(), f.count()});
  EXPECT_THAT(failures,
              ElementsAre(Pair("http_4xx", 25u), Pair("uri_invalid", 25u)));
  std::vector<std::pair<std::string, uint64_t>> resources, pins;
  for (const v1::StatusCount& c : one.resources())
    resources.push_back({c.status(), c.count()});
  for (const v1::StatusCount& c : one.pins())
    pins.push_back({c.status(), c.count()});
  EXPECT_THAT(resources, ElementsAre(Pair("failed", 1u), Pair("pinned", 2u),
                                     Pair("queued", 1u)));
  EXPECT_THAT(pins, ElementsAre(Pair("failed", 1u), Pair("pinned", 2u)));
  EXPECT_FALSE(one.computed_at().empty());

  v1::Stats all = stats(0);
  EXPECT_EQ(all.indexed(), 298u);
  EXPECT_EQ(all.failed(), 65u);
  EXPECT_EQ(stats(2).indexed(), 5u);
}

// GetStats is counted once per interval (5 s) for every chain filter and
// shared: answers inside the interval carry the same computed_at and do not
// see a token added meanwhile, so a thousand callers on any filters cost one
// scan.
TEST_F(TrackerPgTest, GetStatsIsComputedOncePerIntervalAndShared) {
  auto stats = [](uint64_t chain = 2) {
    v1::GetStatsRequest request;
    request.set_chain_id(chain);
    v1::Stats out;
    grpc::ClientContext context;
    grpc::Status s = stub_->GetStats(&context, request, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  };
  const v1::Stats first = stats();
  EXPECT_EQ(first.indexed(), 5u);
  auto run = [](const char* sql) {
    ASSERT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      txn.exec(sql);
                      return absl::OkStatus();
                    })
                    .ok());
  };
  run("INSERT INTO tokens (chain_id, contract, token_id) VALUES (2, "
      "decode('00000000000000000000000000000000000000aa', 'hex'), 6)");
  for (int i = 0; i < 20; ++i) {
    const v1::Stats again = stats();
    EXPECT_EQ(again.computed_at(), first.computed_at());
    EXPECT_EQ(again.indexed(), 5u);
  }
  for (uint64_t chain : {0, 1, 3, 99}) {
    EXPECT_EQ(stats(chain).computed_at(), first.computed_at()) << chain;
  }
  EXPECT_EQ(stats(0).indexed(), 298u);
  run("DELETE FROM tokens WHERE chain_id = 2 AND token_id = 6");
}

TEST_F(TrackerPgTest, GetContractStatusCountsOneContract) {
  auto get = [](uint64_t chain, const std::string& contract,
                v1::ContractStatus* out) {
    v1::GetContractStatusRequest request;
    request.set_chain_id(chain);
    request.set_contract(contract);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return stub_->GetContractStatus(&context, request, out);
  };
  auto reasons = [](const auto& counts) {
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const v1::ReasonCount& c : counts)
      out.push_back({c.reason(), c.count()});
    return out;
  };

  // Mixed case is accepted and answered in lower case.
  v1::ContractStatus c;
  grpc::Status s = get(3, "0x00000000000000000000000000000000000000CC", &c);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(c.chain_id(), 3u);
  EXPECT_EQ(c.contract(), "0x00000000000000000000000000000000000000cc");
  EXPECT_EQ(c.standard(), "erc1155");
  EXPECT_EQ(c.name(), "Cats");
  EXPECT_EQ(c.symbol(), "CAT");
  EXPECT_EQ(c.indexed(), 40u);
  EXPECT_EQ(c.queued(), 5u);
  EXPECT_EQ(c.extracted(), 5u);
  EXPECT_EQ(c.in_progress(), 10u);
  EXPECT_EQ(c.archived(), 10u);
  EXPECT_EQ(c.partial(), 5u);
  EXPECT_EQ(c.failed(), 15u);
  EXPECT_THAT(reasons(c.failures()),
              ElementsAre(Pair("http_4xx", 10u), Pair("too_large", 5u)));
  EXPECT_THAT(reasons(c.partial_failures()),
              ElementsAre(Pair("pin_failed", 5u)));
  EXPECT_FALSE(c.computed_at().empty());

  // Chain 1's contract A: only its own 250 tokens, not chain 2's.
  v1::ContractStatus a;
  ASSERT_TRUE(get(1, kContractA, &a).ok());
  EXPECT_EQ(a.indexed(), 250u);
  EXPECT_EQ(a.archived(), 100u);
  EXPECT_EQ(a.in_progress(), 100u);
  EXPECT_EQ(a.failed(), 50u);
  EXPECT_EQ(a.partial(), 0u);
  EXPECT_EQ(a.failures_size(), 2);
  v1::ContractStatus a2;
  ASSERT_TRUE(get(2, kContractA, &a2).ok());
  EXPECT_EQ(a2.indexed(), 5u);
  EXPECT_EQ(a2.queued(), 5u);

  // Indexed but no token yet: found, all zero.
  v1::ContractStatus d;
  ASSERT_TRUE(get(3, "0x00000000000000000000000000000000000000dd", &d).ok());
  EXPECT_EQ(d.indexed(), 0u);
  EXPECT_EQ(d.standard(), "erc721");
  EXPECT_EQ(d.failures_size(), 0);

  v1::ContractStatus none;
  EXPECT_EQ(get(3, kContractA, &none).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(get(0, kContractA, &none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(get(3, "0xcc", &none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      get(3, "0x00000000000000000000000000000000000000zz", &none).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(get(uint64_t{1} << 63, kContractA, &none).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// The count is served by the token key tokens_key, which includes status and
// reason (migration 0019), as an index-only scan. Sequential and bitmap scans
// are disabled so the small seed shows the plan a large table gets; without
// status and reason in the key the plan visits the heap.
TEST_F(TrackerPgTest, GetContractStatusIsAnIndexOnlyScan) {
  {
    pqxx::connection conn(pg_->ConnectionString());
    pqxx::nontransaction n(conn);
    n.exec("VACUUM ANALYZE tokens");
  }
  std::string plan;
  absl::Status s = pool_->Run([&](pqxx::work& txn) {
    txn.exec("SET LOCAL enable_seqscan = off");
    txn.exec("SET LOCAL enable_bitmapscan = off");
    for (const auto& row : txn.exec_params(
             absl::StrCat("EXPLAIN ", PgTrackerRepository::ContractStatusSql()),
             int64_t{3}, "00000000000000000000000000000000000000cc"))
      plan += row[0].as<std::string>() + "\n";
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(plan, ::testing::HasSubstr("Index Only Scan using tokens_key"))
      << plan;
}

// The funnel counts, in the order `niftysave summary` prints them: tokens,
// resources, pins, then by status and reason.
TEST_F(TrackerPgTest, CountRecordsOrdersTokensResourcesPins) {
  auto counts = PgTrackerRepository::CountRecords(*pool_);
  ASSERT_TRUE(counts.ok()) << counts.status();
  std::vector<std::string> rows;
  for (const StatusCount& c : *counts)
    rows.push_back(
        absl::StrCat(c.record, " ", c.status, " ", c.reason, " ", c.count));
  EXPECT_THAT(
      rows,
      ElementsAre("tokens archived  113", "tokens extracted  55",
                  "tokens failed http_4xx 35", "tokens failed too_large 5",
                  "tokens failed uri_invalid 25", "tokens partial pin_failed 5",
                  "tokens queued  60", "resources failed pin_failed 1",
                  "resources pinned  2", "resources queued  1",
                  "pins failed  1", "pins pinned  2"));
}

// `niftysave summary` runs the tracker's own count statement (one copy of
// the SQL), as text and JSON.
TEST_F(TrackerPgTest, SummaryCommandPrintsTheFunnelCounts) {
  const std::string db = "--database_url=" + pg_->ConnectionString();
  auto text = harness::RunCommand({NIFTYSAVE_CLI_BIN, "summary", db},
                                  absl::Seconds(30));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text,
              ::testing::ContainsRegex("tokens +archived +- +113\n"
                                       "tokens +extracted +- +55\n"
                                       "tokens +failed +http_4xx +35\n"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("pins +failed +- +1\n"
                                              "pins +pinned +- +2\n"
                                              "pins +\\(total\\) +3\n"
                                              "resources +\\(total\\) +4\n"
                                              "tokens +\\(total\\) +298\n"));
  auto json = harness::RunCommand({NIFTYSAVE_CLI_BIN, "summary", db, "--json"},
                                  absl::Seconds(30));
  ASSERT_TRUE(json.ok()) << json.status();
  const nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(*json);
  EXPECT_EQ(parsed.begin().key(), "tokens");
  EXPECT_EQ(parsed["tokens"]["failed:http_4xx"], 35);
  EXPECT_EQ(parsed["resources"]["failed:pin_failed"], 1);
  EXPECT_EQ(parsed["pins"]["pinned"], 2);
}

// The operator's view: `niftysave stats --chain_id --contract`, as text and
// JSON, against this test's tracker.
TEST_F(TrackerPgTest, StatsCommandPrintsOneContract) {
  const std::string addr =
      absl::StrCat("--tracker_addr=127.0.0.1:", server_->port());
  const std::string contract =
      "--contract=0x00000000000000000000000000000000000000cc";
  auto text = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "stats", addr, "--chain_id=3", contract},
      absl::Seconds(30));
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, ::testing::HasSubstr("erc1155, Cats, CAT"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("indexed +40 +100.0%"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("in progress +10 +25.0%"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("partial +5 +12.5%"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("failed +15 +37.5%"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("http_4xx +10 +66.7%"));
  EXPECT_THAT(*text, ::testing::ContainsRegex("pin_failed +5 +100.0%"));

  auto json = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "stats", addr, "--chain_id=3", contract, "--json"},
      absl::Seconds(30));
  ASSERT_TRUE(json.ok()) << json.status();
  const nlohmann::json parsed = nlohmann::json::parse(*json);
  EXPECT_EQ(parsed["indexed"], "40");  // proto3 JSON: uint64 as a string
  EXPECT_EQ(parsed["archived"], "10");
  EXPECT_EQ(parsed["failures"][0]["reason"], "http_4xx");

  // A contract needs its chain; an unknown one is an error, not zeros.
  auto no_chain = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "stats", addr, contract}, absl::Seconds(30));
  ASSERT_FALSE(no_chain.ok());
  EXPECT_THAT(no_chain.status().message(), ::testing::HasSubstr("chain_id"));
  auto unknown = harness::RunCommand(
      {NIFTYSAVE_CLI_BIN, "stats", addr, "--chain_id=9", contract},
      absl::Seconds(30));
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(),
              ::testing::HasSubstr("not indexed on chain 9"));
}

// The same call from a second gRPC implementation (Python grpcio, stubs
// generated from protos/), which also checks the answer's invariants.
TEST_F(TrackerPgTest, GetContractStatusFromPythonGrpc) {
  auto out = harness::RunCommand(
      {"/usr/bin/python3",
       NIFTYSAVE_SOURCE_DIR "/tests/interop/contract_status_interop.py",
       "--protos=" NIFTYSAVE_SOURCE_DIR "/protos",
       absl::StrCat("--tracker=127.0.0.1:", server_->port()), "--chain=3",
       "--contract=0x00000000000000000000000000000000000000CC"},
      absl::Seconds(60));
  ASSERT_TRUE(out.ok()) << out.status();
  const nlohmann::json c = nlohmann::json::parse(*out);
  EXPECT_EQ(c["contract"], "0x00000000000000000000000000000000000000cc");
  EXPECT_EQ(c["indexed"], "40");
  EXPECT_EQ(c["partial"], "5");
  EXPECT_EQ(c["partialFailures"][0]["reason"], "pin_failed");
}

TEST_F(TrackerPgTest, GetContractStatusIsUnimplementedWithoutASource) {
  TrackerServiceImpl bare(*repo_, [](int64_t) {});
  grpc::ServerContext context;
  v1::GetContractStatusRequest request;
  request.set_chain_id(3);
  request.set_contract("0x00000000000000000000000000000000000000cc");
  v1::ContractStatus out;
  EXPECT_EQ(bare.GetContractStatus(&context, &request, &out).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(TrackerPgTest, WatchProgressStreamsUntilCancelledAndIsBounded) {
  v1::WatchProgressRequest bad;
  bad.set_interval_seconds(61);
  {
    grpc::ClientContext context;
    auto reader = stub_->WatchProgress(&context, bad);
    v1::Stats stats;
    EXPECT_FALSE(reader->Read(&stats));
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  v1::WatchProgressRequest request;
  request.set_interval_seconds(1);
  grpc::ClientContext first_context;
  auto first = stub_->WatchProgress(&first_context, request);
  v1::Stats stats;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(first->Read(&stats));
  EXPECT_EQ(stats.indexed(), 298u);
  ASSERT_TRUE(first->Read(&stats));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(900));  // the interval

  // The service was built with max_watch_streams = 2.
  grpc::ClientContext second_context;
  auto second = stub_->WatchProgress(&second_context, request);
  ASSERT_TRUE(second->Read(&stats));
  grpc::ClientContext third_context;
  auto third = stub_->WatchProgress(&third_context, request);
  EXPECT_FALSE(third->Read(&stats));
  EXPECT_EQ(third->Finish().error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  first_context.TryCancel();
  while (first->Read(&stats)) {
  }
  EXPECT_EQ(first->Finish().error_code(), grpc::StatusCode::CANCELLED);
  second_context.TryCancel();
  while (second->Read(&stats)) {
  }
  EXPECT_EQ(second->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // The server side ended too: a new stream is admitted again (once the
  // cancelled handlers noticed, within ~100 ms).
  bool admitted = false;
  for (int attempt = 0; attempt < 50 && !admitted; ++attempt) {
    grpc::ClientContext context;
    auto again = stub_->WatchProgress(&context, request);
    admitted = again->Read(&stats);
    context.TryCancel();
    while (again->Read(&stats)) {
    }
    (void)again->Finish();
    if (!admitted) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(admitted);
}

// Twenty tokens with 1 MiB URIs (20 MiB in all, five times a default
// client's 4 MiB limit), each with 300 assets named by 1 KB JSON paths, and
// token 1 with 5,200 more: every answer carries each URI once, cut to
// kMaxTextBytes with the whole URI's length and SHA-256, and says what it
// left out.
constexpr char kHugeContract[] = "0x00000000000000000000000000000000000000ee";
constexpr char kHugeSeed[] = R"sql(
INSERT INTO chains (chain_id, name, next_block) VALUES (9, 'huge', 0);
INSERT INTO contracts (chain_id, address, standard, first_block) VALUES
  (9, decode('00000000000000000000000000000000000000ee', 'hex'), 'erc721', 0);
)sql";
constexpr char kHugeTokens[] = R"sql(
INSERT INTO tokens (chain_id, contract, token_id, token_uri, status)
SELECT 9, decode('00000000000000000000000000000000000000ee', 'hex'), i, $1 || i,
       'archived'
FROM generate_series(1, 20) i)sql";
constexpr char kHugeAssets[] = R"sql(
INSERT INTO token_resources (token_pk, json_path, resource_id, role, uri)
SELECT t.id, '$.a' || lpad(i::text, 1000, '0'), r.id, 'asset',
       'https://example.com/a'
FROM tokens t, resources r, generate_series(1, 300) i
WHERE t.chain_id = 9 AND r.normalized = 'https://example.com/a';
INSERT INTO token_resources (token_pk, json_path, resource_id, role, uri)
SELECT t.id, '$.b' || i, r.id, 'asset', 'https://example.com/a'
FROM tokens t, resources r, generate_series(1, 5200) i
WHERE t.chain_id = 9 AND t.token_id = 1
  AND r.normalized = 'https://example.com/a';
)sql";
constexpr char kHugeUnseed[] = R"sql(
DELETE FROM tokens WHERE chain_id = 9;
DELETE FROM contracts WHERE chain_id = 9;
DELETE FROM chains WHERE chain_id = 9;
)sql";

TEST_F(TrackerPgTest, HugeTokenUrisComeBackCutWithLengthAndHash) {
  const std::string base = "https://example.com/" + std::string(1 << 20, 'x');
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    txn.exec(kHugeSeed);
                    txn.exec_params(kHugeTokens, base);
                    txn.exec(kHugeAssets);
                    return absl::OkStatus();
                  })
                  .ok());
  auto expect_cut = [&](const std::string& uri, uint64_t length, bool truncated,
                        const std::string& sha256,
                        const std::string& token_id) {
    const std::string whole = base + token_id;
    EXPECT_EQ(uri, whole.substr(0, kMaxTextBytes));
    EXPECT_EQ(length, whole.size());
    EXPECT_TRUE(truncated);
    EXPECT_EQ(sha256, ipfs::Sha256(whole));
  };

  // GetTokenStatus: the URI once, at most kMaxReportRows rows, and a report
  // that says it left assets out.
  v1::GetTokenStatusRequest one;
  *one.mutable_token() = Key(9, kHugeContract, "1");
  v1::TokenStatusReport report;
  grpc::ClientContext c1;
  grpc::Status s = stub_->GetTokenStatus(&c1, one, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  expect_cut(report.token_uri(), report.token_uri_length(),
             report.token_uri_truncated(), report.token_uri_sha256(), "1");
  EXPECT_TRUE(report.assets_truncated());
  EXPECT_GT(report.assets_size(), 0);
  EXPECT_LE(report.assets_size(), static_cast<int>(kMaxReportRows));
  EXPECT_LT(report.ByteSizeLong(), size_t{4} << 20);

  // ListTokens through a default-limit client: every URI cut.
  v1::ListTokensRequest list;
  list.set_chain_id(9);
  v1::ListTokensResponse page;
  s = List(list, &page);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(page.tokens_size(), 20);
  for (const v1::TokenSummary& t : page.tokens())
    expect_cut(t.token_uri(), t.token_uri_length(), t.token_uri_truncated(),
               t.token_uri_sha256(), t.token().token_id());

  // BatchGetTokenStatus: 20 reports of ~300 KB do not fit one answer; what
  // fits comes back whole, the rest is named in not_returned.
  v1::BatchGetTokenStatusRequest batch;
  for (int i = 1; i <= 20; ++i)
    *batch.add_tokens() = Key(9, kHugeContract, absl::StrCat(i));
  v1::BatchGetTokenStatusResponse reports;
  grpc::ClientContext c2;
  s = stub_->BatchGetTokenStatus(&c2, batch, &reports);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(reports.reports_size(), 0);
  EXPECT_GT(reports.not_returned_size(), 0);
  EXPECT_EQ(reports.reports_size() + reports.not_returned_size(), 20);
  EXPECT_LT(reports.ByteSizeLong(), size_t{4} << 20);
  std::set<std::string> seen;
  for (const v1::TokenStatusReport& r : reports.reports()) {
    expect_cut(r.token_uri(), r.token_uri_length(), r.token_uri_truncated(),
               r.token_uri_sha256(), r.token().token_id());
    seen.insert(r.token().token_id());
  }
  for (const v1::TokenKey& k : reports.not_returned())
    EXPECT_TRUE(seen.insert(k.token_id()).second) << k.token_id();
  EXPECT_EQ(seen.size(), 20u);

  // A short URI comes back whole and not marked as cut.
  list.set_chain_id(1);
  list.set_page_size(1);
  s = List(list, &page);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(page.tokens(0).token_uri_truncated());
  EXPECT_TRUE(page.tokens(0).token_uri_sha256().empty());

  ASSERT_TRUE(pool_
                  ->Run([](pqxx::work& txn) {
                    txn.exec(kHugeUnseed);
                    return absl::OkStatus();
                  })
                  .ok());
}

}  // namespace
}  // namespace niftysave::tracker
