// SubgraphSource + PgSubgraphRepository against a real Postgres (migrations
// applied) and the subgraph stand-in (tests/harness/subgraph_standin.js),
// which serves the eip721-subgraph schema with graph-node's paging limits.

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/http/http_client.h"
#include "common/runtime/reason.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/indexer/indexer_test_fixture.h"
#include "services/indexer/pg_subgraph_repository.h"
#include "services/indexer/subgraph_source.h"
#include "tests/harness/subgraph_standin.h"

namespace niftysave::indexer {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kChainId = 1;

std::string Contract(int k) { return absl::StrFormat("0x%040x", 0xc0de00 + k); }

// A Token row as the eip721-subgraph returns it (id: contract_tokenID).
nlohmann::json Row(const std::string& contract, const std::string& token_id,
                   const nlohmann::json& uri) {
  return {{"id", contract + "_" + token_id},
          {"tokenID", token_id},
          {"tokenURI", uri},
          {"mintTime", "1700000000"},
          {"blockNumber", "12345"},
          {"blockHash", "0x" + std::string(64, 'a')},
          {"contract",
           {{"id", contract},
            {"name",
             "Name " + contract.substr(std::min<size_t>(36, contract.size()))},
            {"symbol", "SYM"},
            {"supportsEIP721Metadata", true}}},
          {"owner", {{"id", "0x" + std::string(40, 'b')}}}};
}

std::string UriOf(const std::string& contract, int id) {
  return absl::StrCat("ipfs://bafkrei", contract.substr(34), "/", id);
}

class SubgraphPgTest : public pgtest::PgTestFixture {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SetUpDatabase("subgraph_test_", 2));
    repo_ = std::make_unique<PgSubgraphRepository>(*pool_);
  }

  // `count` tokens spread over three contracts; remembered in expected_.
  nlohmann::json Tokens(int count) {
    nlohmann::json rows = nlohmann::json::array();
    for (int i = 0; i < count; ++i) {
      const std::string contract = Contract(i % 3);
      const int id = i / 3 + 1;
      rows.push_back(Row(contract, absl::StrCat(id), UriOf(contract, id)));
      expected_[{contract.substr(2), absl::StrCat(id)}] = UriOf(contract, id);
    }
    return rows;
  }

  // The re-scan sweep is off unless a test asks for it; its clock is now_.
  std::unique_ptr<SubgraphSource> NewSource(
      size_t page_size = 1000, SubgraphLimits limits = {},
      size_t max_body_bytes = 128 << 20,
      absl::Duration rescan_interval = absl::ZeroDuration()) {
    SubgraphSource::Counters counters;
    counters.request = [this](const std::string& outcome, absl::Duration) {
      ++outcomes_[outcome];
    };
    counters.bad_row = [this](const std::string& reason) {
      ++bad_rows_[reason];
    };
    counters.uri_changed = [this](uint64_t n) { uri_changes_ += n; };
    auto source = std::make_unique<SubgraphSource>(
        http_, *repo_,
        SubgraphSource::Options{
            .chain_id = kChainId,
            .chain_name = "mainnet",
            .url = standin_->url(),
            .page_size = page_size,
            .limits = limits,
            .http_limits = {.max_body_bytes = max_body_bytes,
                            .total_timeout = absl::Seconds(30)},
            .rescan_interval = rescan_interval,
            .now = [this] { return now_; }},
        [this](const std::vector<eth::TokenKey>& keys) {
          notified_ += keys.size();
        },
        counters);
    EXPECT_TRUE(source->Open().ok());
    return source;
  }

  // Steps until a page brings nothing new, as the worker would; failed
  // pages are counted by reason and asked for again.
  absl::Status Drain(SubgraphSource& source, int max_failures = 0) {
    int failures = 0;
    for (int i = 0; i < 1000; ++i) {
      absl::StatusOr<uint64_t> rows = source.Step();
      if (!rows.ok()) {
        ++step_errors_[ReasonOf(rows.status())];
        if (++failures > max_failures) return rows.status();
        continue;
      }
      if (*rows == 0) return absl::OkStatus();
    }
    return absl::InternalError("never caught up");
  }

  // Every expected token exactly once, queued with its URI, and queued for
  // extraction once.
  void ExpectExactlyTheTokens() {
    std::map<std::pair<std::string, std::string>, std::string> got;
    for (const pqxx::row& row :
         Sql("SELECT encode(contract, 'hex'), token_id::text, token_uri, "
             "status FROM tokens WHERE status = 'queued'")) {
      EXPECT_TRUE(got.emplace(std::make_pair(std::string(row[0].c_str()),
                                             std::string(row[1].c_str())),
                              row[2].c_str())
                      .second);
    }
    EXPECT_EQ(got.size(), expected_.size());
    EXPECT_TRUE(got == expected_);
    EXPECT_EQ(Count("SELECT count(*) FROM work_queue WHERE queue = 'extract'"),
              static_cast<int64_t>(expected_.size()));
    EXPECT_EQ(notified_, expected_.size());
  }

  std::unique_ptr<PgSubgraphRepository> repo_;
  std::unique_ptr<harness::SubgraphStandin> standin_;
  http::HttpClient http_{http::HttpClientOptions{}};
  std::map<std::pair<std::string, std::string>, std::string> expected_;
  std::map<std::string, int> outcomes_;
  std::map<std::string, int> bad_rows_;
  std::map<std::string, int> step_errors_;
  size_t notified_ = 0;
  uint64_t uri_changes_ = 0;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

TEST_F(SubgraphPgTest, IngestsTwelveThousandTokensByKeyNeverBySkip) {
  ASSERT_OK_AND_ASSIGN(standin_,
                       harness::SubgraphStandin::Start(Tokens(12000)));
  std::unique_ptr<SubgraphSource> source = NewSource();
  ASSERT_OK(Drain(*source));
  ExpectExactlyTheTokens();
  EXPECT_EQ(Count("SELECT count(*) FROM contracts"), 3);
  EXPECT_EQ(Count("SELECT count(*) FROM contracts WHERE name LIKE 'Name %' "
                  "AND interfaces = '{80ac58cd,5b5e139f}'"),
            3);
  EXPECT_EQ(Count("SELECT count(*) FROM tokens WHERE mint_block = 12345 AND "
                  "owner = decode(repeat('b', 40), 'hex')"),
            12000);

  // 12 full pages and the empty one that says "caught up", each asking
  // for what follows the previous page's last id, none with skip.
  ASSERT_OK_AND_ASSIGN(nlohmann::json queries, standin_->Queries());
  ASSERT_EQ(queries.size(), 13u);
  std::string previous;
  for (size_t i = 0; i < queries.size(); ++i) {
    SCOPED_TRACE(queries[i].dump());
    EXPECT_TRUE(queries[i]["skip"].is_null());
    EXPECT_EQ(queries[i]["first"], 1000);
    EXPECT_EQ(queries[i]["orderBy"], "id");
    const std::string after = queries[i]["where"]["id_gt"];
    if (i > 0) {
      EXPECT_GT(after, previous);
    }
    previous = after;
  }
  EXPECT_EQ(
      Sql("SELECT last_id, pages, rows FROM subgraph_cursors")[0][0].c_str(),
      source->cursor());
  EXPECT_EQ(Count("SELECT rows FROM subgraph_cursors"), 12000);

  // The stand-in holds The Graph's limits: paging 12,000 rows with skip
  // would fail past 5000, and pages over 1000 are refused.
  ASSERT_OK_AND_ASSIGN(
      nlohmann::json skipped,
      standin_->Query("{ tokens(first: 1000, skip: 6000) { id } }", {}));
  ASSERT_TRUE(skipped.contains("errors")) << skipped.dump();
  EXPECT_THAT(skipped["errors"][0]["message"].get<std::string>(),
              HasSubstr("`skip` argument must be between 0 and 5000"));
  ASSERT_OK_AND_ASSIGN(nlohmann::json big,
                       standin_->Query("{ tokens(first: 1001) { id } }", {}));
  ASSERT_TRUE(big.contains("errors")) << big.dump();
  EXPECT_THAT(big["errors"][0]["message"].get<std::string>(),
              HasSubstr("`first` argument must be between 0 and 1000"));
}

TEST_F(SubgraphPgTest, GraphQlAndHttpErrorsMidwayAreRetriedFromTheCursor) {
  ASSERT_OK_AND_ASSIGN(standin_, harness::SubgraphStandin::Start(Tokens(5000)));
  ASSERT_OK(standin_->FailNext(/*after=*/2, /*times=*/2));
  std::unique_ptr<SubgraphSource> source = NewSource();
  ASSERT_OK(Drain(*source, /*max_failures=*/2));
  EXPECT_EQ(step_errors_["subgraph_graphql"], 2);
  EXPECT_EQ(outcomes_["graphql_error"], 2);
  ASSERT_OK_AND_ASSIGN(nlohmann::json queries, standin_->Queries());
  ASSERT_EQ(queries.size(), 8u);  // 5 pages, 2 failures, 1 empty
  EXPECT_TRUE(queries[2]["failed"].get<bool>());
  EXPECT_TRUE(queries[3]["failed"].get<bool>());
  // The retries ask for what follows the last page written, not page 1.
  const std::string resume = queries[2]["where"]["id_gt"];
  EXPECT_GT(resume, queries[1]["where"]["id_gt"].get<std::string>());
  EXPECT_EQ(queries[3]["where"]["id_gt"], resume);
  EXPECT_EQ(queries[4]["where"]["id_gt"], resume);
  ExpectExactlyTheTokens();

  // An HTTP error later is no different.
  ASSERT_OK(standin_->FailNext(/*after=*/0, /*times=*/1, /*http_status=*/502));
  EXPECT_EQ(ReasonOf(source->Step().status()), "subgraph_http");
  EXPECT_EQ(outcomes_["http_error"], 1);
  ASSERT_OK_AND_ASSIGN(uint64_t rows, source->Step());
  EXPECT_EQ(rows, 0u);
  ExpectExactlyTheTokens();
}

TEST_F(SubgraphPgTest, RestartResumesFromThePersistedCursor) {
  ASSERT_OK_AND_ASSIGN(standin_, harness::SubgraphStandin::Start(Tokens(3000)));
  std::string cursor;
  {
    std::unique_ptr<SubgraphSource> first = NewSource();
    ASSERT_OK_AND_ASSIGN(uint64_t rows, first->Step());
    EXPECT_EQ(rows, 1000u);
    ASSERT_OK(first->Step());
    cursor = first->cursor();
  }
  EXPECT_EQ(Count("SELECT count(*) FROM tokens"), 2000);
  std::unique_ptr<SubgraphSource> second = NewSource();
  EXPECT_EQ(second->cursor(), cursor);
  ASSERT_OK(Drain(*second));
  ExpectExactlyTheTokens();
  ASSERT_OK_AND_ASSIGN(nlohmann::json queries, standin_->Queries());
  ASSERT_EQ(queries.size(), 4u);  // 2 pages, then 1 page and the empty one
  EXPECT_EQ(queries[0]["where"]["id_gt"], "");
  EXPECT_EQ(queries[2]["where"]["id_gt"], cursor);
}

TEST_F(SubgraphPgTest, MalformedRowsAreRecordedWithReasonsNotFatal) {
  nlohmann::json rows = Tokens(30);
  const std::string c = Contract(7);
  rows.push_back(Row("0x1234", "1", "ipfs://short-address"));
  rows.push_back(Row(c, "-1", "ipfs://negative"));
  rows.push_back(Row(c, "0x10", "ipfs://hex-id"));
  rows.push_back(Row(
      c,
      "115792089237316195423570985008687907853269984665640564039457584007913"
      "129639936",  // 2^256
      "ipfs://too-big"));
  nlohmann::json no_contract = Row(c, "5", "ipfs://x");
  no_contract["contract"] = nullptr;
  rows.push_back(no_contract);
  rows.push_back(Row(c, "100", std::string(2000, 'x')));  // over the limit
  rows.push_back(Row(c, "101", nullptr));                 // no URI
  rows.push_back(Row(c, "102", std::string("ipfs://a\0b", 10)));
  nlohmann::json long_name = Row(Contract(8), "1", "ipfs://long-name");
  long_name["contract"]["name"] = std::string(300, 'n');
  rows.push_back(long_name);
  expected_[{Contract(8).substr(2), "1"}] = "ipfs://long-name";
  ASSERT_OK_AND_ASSIGN(standin_, harness::SubgraphStandin::Start(rows));

  std::unique_ptr<SubgraphSource> source =
      NewSource(/*page_size=*/7, {.max_token_uri_bytes = 1024});
  ASSERT_OK(Drain(*source));
  ExpectExactlyTheTokens();
  EXPECT_EQ(bad_rows_["subgraph_bad_contract"], 2);
  EXPECT_EQ(bad_rows_["subgraph_bad_token_id"], 3);
  EXPECT_EQ(Count("SELECT count(*) FROM indexer_errors WHERE reason = "
                  "'subgraph_bad_contract' AND detail LIKE 'subgraph row %'"),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM indexer_errors WHERE reason = "
                  "'subgraph_bad_token_id'"),
            3);
  // Usable tokens with unusable URIs are on record, failed, not queued.
  std::map<std::string, std::string> failed;
  for (const pqxx::row& row :
       Sql("SELECT token_id::text, reason FROM tokens WHERE status = "
           "'failed'")) {
    failed[row[0].c_str()] = row[1].c_str();
  }
  EXPECT_EQ(failed, (std::map<std::string, std::string>{
                        {"100", "token_uri_too_large"},
                        {"101", "uri_empty"},
                        {"102", "token_uri_not_utf8"}}));
  pqxx::result contract =
      Sql("SELECT name, probe_error FROM contracts WHERE address = decode($1, "
          "'hex')",
          Contract(8).substr(2));
  ASSERT_EQ(contract.size(), 1u);
  EXPECT_TRUE(contract[0][0].is_null());
  EXPECT_STREQ(contract[0][1].c_str(), "name: too_large");
}

TEST_F(SubgraphPgTest, OversizedReplyHalvesThePageAndGrowsBack) {
  ASSERT_OK_AND_ASSIGN(standin_, harness::SubgraphStandin::Start(Tokens(2000)));
  // About 450 bytes a row: 1000 rows do not fit in 300 kB, 500 do.
  std::unique_ptr<SubgraphSource> source =
      NewSource(1000, {}, /*max_body_bytes=*/300 << 10);
  ASSERT_OK(Drain(*source, /*max_failures=*/10));
  ExpectExactlyTheTokens();
  EXPECT_GT(outcomes_["too_large"], 0);
  ASSERT_OK_AND_ASSIGN(nlohmann::json queries, standin_->Queries());
  std::set<int> firsts;
  for (const auto& q : queries) firsts.insert(q["first"].get<int>());
  EXPECT_TRUE(firsts.count(1000));
  EXPECT_TRUE(firsts.count(500));
}

// The queries from `from` on that `operation` asked (NiftysaveTokens: the
// forward cursor; NiftysaveRescan: the re-scan sweep).
std::vector<nlohmann::json> QueriesOf(const nlohmann::json& queries,
                                      const std::string& operation,
                                      size_t from = 0) {
  std::vector<nlohmann::json> out;
  for (size_t i = from; i < queries.size(); ++i) {
    if (queries[i]["operation"] == operation) out.push_back(queries[i]);
  }
  return out;
}

// Each sweep query asks for what follows the previous one, by key, never
// with skip, from the start of the token set.
void ExpectKeyedSweep(const std::vector<nlohmann::json>& sweep, size_t pages,
                      int first) {
  ASSERT_EQ(sweep.size(), pages);
  std::string previous;
  for (size_t i = 0; i < sweep.size(); ++i) {
    SCOPED_TRACE(sweep[i].dump());
    EXPECT_TRUE(sweep[i]["skip"].is_null());
    EXPECT_EQ(sweep[i]["first"], first);
    EXPECT_EQ(sweep[i]["orderBy"], "id");
    const std::string after = sweep[i]["where"]["id_gt"];
    if (i == 0) {
      EXPECT_EQ(after, "");
    } else {
      EXPECT_GT(after, previous);
    }
    previous = after;
  }
}

TEST_F(SubgraphPgTest, RescanSweepRequeuesTokensWhoseUriChanged) {
  nlohmann::json rows = Tokens(2500);  // a sweep of three pages of 1000
  const std::string late = Contract(7);
  rows.push_back(Row(late, "1", nullptr));  // no URI at first: failed
  ASSERT_OK_AND_ASSIGN(standin_, harness::SubgraphStandin::Start(rows));
  std::unique_ptr<SubgraphSource> source =
      NewSource(1000, {}, 128 << 20, absl::Hours(1));

  // Ingest; once caught up, the first sweep runs and finds nothing new.
  ASSERT_OK(Drain(*source));
  ExpectExactlyTheTokens();
  EXPECT_EQ(source->sweeps_completed(), 1u);
  EXPECT_EQ(source->last_sweep().pages, 3u);
  EXPECT_EQ(source->last_sweep().rows, 2501u);
  EXPECT_EQ(source->last_sweep().compared, 2501u);
  EXPECT_EQ(source->last_sweep().changed, 0u);
  EXPECT_EQ(uri_changes_, 0u);
  ASSERT_OK_AND_ASSIGN(nlohmann::json queries, standin_->Queries());
  ExpectKeyedSweep(QueriesOf(queries, "NiftysaveRescan"), 3, 1000);

  // Extraction done for all; one token is being extracted right now.
  const std::string a = Contract(0), b = Contract(2), c = Contract(1);
  auto pk_of = [&](const std::string& contract, const std::string& id) {
    return Sql("SELECT id FROM tokens WHERE contract = decode($1, 'hex') AND "
               "token_id = $2::numeric",
               contract.substr(2), id)[0][0]
        .as<int64_t>();
  };
  Sql("UPDATE tokens SET status = 'archived' WHERE token_uri IS NOT NULL");
  Sql("DELETE FROM work_queue");
  db::WorkQueue extract(*pool_, "extract", "test-worker", {});
  ASSERT_OK(pool_->Run([&](pqxx::work& txn) {
    db::WorkQueue::Enqueue(txn, "extract", {pk_of(a, "1")});
    return absl::OkStatus();
  }));
  ASSERT_OK_AND_ASSIGN(std::vector<db::QueueItem> leased, extract.Lease(10));
  ASSERT_EQ(leased.size(), 1u);

  // The subgraph sees new URIs: on the first page (with a new block), on the
  // last page, for the token that had none; and one URI disappears.
  nlohmann::json moved = Row(a, "1", "ipfs://changed-a");
  moved["blockNumber"] = "20000";
  ASSERT_OK(standin_->Upsert(nlohmann::json::array({moved})));
  ASSERT_OK(standin_->SetTokenUri(b + "_99", "ipfs://changed-b"));
  ASSERT_OK(standin_->SetTokenUri(late + "_1", "ipfs://now-there"));
  ASSERT_OK(standin_->SetTokenUri(c + "_5", nullptr));

  // Not before the interval: only the forward cursor asks.
  ASSERT_OK_AND_ASSIGN(queries, standin_->Queries());
  size_t seen = queries.size();
  now_ += absl::Minutes(59);
  ASSERT_OK(Drain(*source));
  ASSERT_OK_AND_ASSIGN(queries, standin_->Queries());
  EXPECT_EQ(queries.size(), seen + 1);
  EXPECT_TRUE(QueriesOf(queries, "NiftysaveRescan", seen).empty());
  EXPECT_EQ(Count("SELECT count(*) FROM tokens WHERE status = 'queued'"), 0);

  // An hour after the first sweep started, the second one finds them.
  seen = queries.size();
  now_ += absl::Minutes(2);
  ASSERT_OK(Drain(*source));
  EXPECT_EQ(source->sweeps_completed(), 2u);
  EXPECT_EQ(source->last_sweep().compared, 2501u);
  EXPECT_EQ(source->last_sweep().changed, 3u);
  EXPECT_EQ(source->last_sweep().kept, 1u);
  EXPECT_EQ(uri_changes_, 3u);
  EXPECT_EQ(notified_, expected_.size() + 3);
  ASSERT_OK_AND_ASSIGN(queries, standin_->Queries());
  ExpectKeyedSweep(QueriesOf(queries, "NiftysaveRescan", seen), 3, 1000);

  pqxx::result changed =
      Sql("SELECT encode(contract, 'hex') || '_' || token_id::text, "
          "token_uri, uri_block, reason IS NULL AND detail IS NULL "
          "FROM tokens WHERE status = 'queued' ORDER BY 1");
  ASSERT_EQ(changed.size(), 3u);
  EXPECT_EQ(std::string(changed[0][0].c_str()), a.substr(2) + "_1");
  EXPECT_STREQ(changed[0][1].c_str(), "ipfs://changed-a");
  EXPECT_EQ(changed[0][2].as<int64_t>(), 20000);
  EXPECT_EQ(std::string(changed[1][0].c_str()), b.substr(2) + "_99");
  EXPECT_STREQ(changed[1][1].c_str(), "ipfs://changed-b");
  EXPECT_EQ(changed[1][2].as<int64_t>(), 12345);
  EXPECT_EQ(std::string(changed[2][0].c_str()), late.substr(2) + "_1");
  EXPECT_STREQ(changed[2][1].c_str(), "ipfs://now-there");
  for (const pqxx::row& row : changed) EXPECT_TRUE(row[3].as<bool>());

  // Exactly those are queued for extraction, and the lease that read the
  // old URI is fenced off.
  std::set<int64_t> queued_pks;
  for (const pqxx::row& row :
       Sql("SELECT item_id FROM work_queue WHERE queue = 'extract' AND "
           "state = 'ready'")) {
    queued_pks.insert(row[0].as<int64_t>());
  }
  EXPECT_EQ(queued_pks, (std::set<int64_t>{pk_of(a, "1"), pk_of(b, "99"),
                                           pk_of(late, "1")}));
  EXPECT_EQ(Count("SELECT count(*) FROM work_queue"), 3);
  ASSERT_OK(pool_->Run([&](pqxx::work& txn) {
    EXPECT_FALSE(extract.Complete(txn, leased[0]));
    return absl::OkStatus();
  }));

  // The URI that disappeared: the stored one is kept, recorded once.
  pqxx::result kept =
      Sql("SELECT token_uri, status FROM tokens WHERE contract = decode($1, "
          "'hex') AND token_id = 5",
          c.substr(2));
  EXPECT_EQ(std::string(kept[0][0].c_str()), UriOf(c, 5));
  EXPECT_STREQ(kept[0][1].c_str(), "archived");
  const std::string kept_errors = absl::StrCat(
      "SELECT count(*) FROM indexer_errors WHERE reason = 'uri_empty' AND "
      "detail LIKE '%",
      c.substr(2), "/5:%stored URI is kept'");
  EXPECT_EQ(Count(kept_errors), 1);
  EXPECT_EQ(bad_rows_["uri_empty"], 1);

  // A sweep that finds nothing new changes nothing: no token re-queued (the
  // queue's generations stay), no error recorded twice.
  const int64_t generations =
      Count("SELECT coalesce(sum(generation), 0) FROM work_queue");
  now_ += absl::Hours(1);
  ASSERT_OK(Drain(*source));
  EXPECT_EQ(source->sweeps_completed(), 3u);
  EXPECT_EQ(source->last_sweep().changed, 0u);
  EXPECT_EQ(source->last_sweep().kept, 0u);
  EXPECT_EQ(Count("SELECT coalesce(sum(generation), 0) FROM work_queue"),
            generations);
  EXPECT_EQ(Count("SELECT count(*) FROM work_queue"), 3);
  EXPECT_EQ(Count(kept_errors), 1);
  EXPECT_EQ(uri_changes_, 3u);
}

TEST_F(SubgraphPgTest, RescanSweepYieldsToTheForwardCursorAndResumes) {
  ASSERT_OK_AND_ASSIGN(standin_, harness::SubgraphStandin::Start(Tokens(30)));
  std::unique_ptr<SubgraphSource> source =
      NewSource(/*page_size=*/7, {}, 128 << 20, absl::Hours(1));
  ASSERT_OK(Drain(*source));
  EXPECT_EQ(source->sweeps_completed(), 1u);
  ASSERT_OK_AND_ASSIGN(nlohmann::json queries, standin_->Queries());
  // 5 forward pages (7+7+7+7+2), then the sweep walks the same keys.
  std::vector<nlohmann::json> forward = QueriesOf(queries, "NiftysaveTokens");
  std::vector<nlohmann::json> sweep = QueriesOf(queries, "NiftysaveRescan");
  ExpectKeyedSweep(sweep, 5, 7);
  ASSERT_GE(forward.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(sweep[i]["where"], forward[i]["where"]);
  }

  // The next sweep reads one page, then new tokens arrive: that step goes
  // to the forward cursor alone.
  now_ += absl::Hours(1);
  ASSERT_OK_AND_ASSIGN(uint64_t rows, source->Step());
  EXPECT_EQ(rows, 7u);
  EXPECT_TRUE(source->sweeping());
  const std::string sweep_at = source->sweep_cursor();
  nlohmann::json more = nlohmann::json::array();
  const std::string d = Contract(9);
  for (int id = 1; id <= 3; ++id) {
    more.push_back(Row(d, absl::StrCat(id), UriOf(d, id)));
    expected_[{d.substr(2), absl::StrCat(id)}] = UriOf(d, id);
  }
  ASSERT_OK(standin_->Upsert(more));
  ASSERT_OK_AND_ASSIGN(queries, standin_->Queries());
  size_t seen = queries.size();
  ASSERT_OK_AND_ASSIGN(rows, source->Step());
  EXPECT_EQ(rows, 3u);
  ASSERT_OK_AND_ASSIGN(queries, standin_->Queries());
  ASSERT_EQ(queries.size(), seen + 1);
  EXPECT_EQ(queries[seen]["operation"], "NiftysaveTokens");
  EXPECT_EQ(source->sweep_cursor(), sweep_at);

  // A failed sweep page is asked for again from the sweep cursor.
  ASSERT_OK(standin_->FailNext(/*after=*/1, /*times=*/1));
  EXPECT_EQ(ReasonOf(source->Step().status()), "subgraph_graphql");
  EXPECT_EQ(source->sweep_cursor(), sweep_at);
  ASSERT_OK(Drain(*source));
  EXPECT_EQ(source->sweeps_completed(), 2u);
  EXPECT_EQ(source->last_sweep().compared, 33u);  // new tokens included
  EXPECT_EQ(source->last_sweep().changed, 0u);
  ASSERT_OK_AND_ASSIGN(queries, standin_->Queries());
  sweep = QueriesOf(queries, "NiftysaveRescan", seen);
  ASSERT_GE(sweep.size(), 2u);
  EXPECT_TRUE(sweep[0]["failed"].get<bool>());
  EXPECT_EQ(sweep[0]["where"]["id_gt"], sweep_at);
  EXPECT_FALSE(sweep[1]["failed"].get<bool>());
  EXPECT_EQ(sweep[1]["where"]["id_gt"], sweep_at);
  ExpectExactlyTheTokens();

  // Interval 0: no sweep, ever.
  std::unique_ptr<SubgraphSource> off = NewSource(7);
  ASSERT_OK_AND_ASSIGN(queries, standin_->Queries());
  seen = queries.size();
  now_ += absl::Hours(24);
  ASSERT_OK(Drain(*off));
  ASSERT_OK_AND_ASSIGN(queries, standin_->Queries());
  EXPECT_EQ(queries.size(), seen + 1);
  EXPECT_TRUE(QueriesOf(queries, "NiftysaveRescan", seen).empty());
}

TEST(SubgraphReplyTest, RejectsRepliesThatBreakPaging) {
  SubgraphLimits limits{.max_rows = 2};
  auto reason = [&](const nlohmann::json& reply) {
    return ReasonOf(ParseTokensReply(reply, limits).status());
  };
  EXPECT_EQ(reason(nlohmann::json::parse(R"({"errors":[{"message":"x"}]})")),
            "subgraph_graphql");
  EXPECT_EQ(reason(nlohmann::json::parse(R"({"data":{}})")),
            "subgraph_invalid");
  EXPECT_EQ(reason(nlohmann::json::parse(
                R"({"data":{"tokens":[{"id":"a"},{"id":"b"},{"id":"c"}]}})")),
            "subgraph_invalid");  // more rows than asked for
  EXPECT_EQ(reason(nlohmann::json::parse(R"({"data":{"tokens":[{"id":7}]}})")),
            "subgraph_invalid");  // no usable cursor
  EXPECT_EQ(reason(nlohmann::json::parse(
                R"({"data":{"tokens":[{"id":"b"},{"id":"a"}]}})")),
            "subgraph_invalid");  // out of order
  absl::StatusOr<SubgraphPage> page = ParseTokensReply(
      nlohmann::json::parse(R"({"data":{"tokens":[]}})"), limits);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->rows, 0u);
}

}  // namespace
}  // namespace niftysave::indexer
