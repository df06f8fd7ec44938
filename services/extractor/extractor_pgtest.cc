// ExtractionWorker + PgExtractorRepository against a real Postgres (schema
// from db::Migrate) and the harness's hostile fixture web server: how each
// kind of failure ends (retried or not, and with which reason), that a
// server's Retry-After holds the item back, that re-extraction replaces
// a token's asset list, and that many tokens in flight at once are all
// recorded in batched transactions.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/fetch/async_fetcher.h"
#include "common/http/address_policy.h"
#include "common/http/http_client.h"
#include "common/http/multi_client.h"
#include "common/uri/token_uri.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/extractor/extraction_worker.h"
#include "services/extractor/metadata_extractor.h"
#include "services/extractor/pg_extractor_repository.h"
#include "tests/harness/fixture_http_server.h"
#include "tests/harness/peak_rss.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::extractor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kContractHex[] = "00000000000000000000000000000000000000aa";
constexpr char kImageA[] =
    "ipfs://bafkreiem4twkqzsq2aj4shbycd4yvoj2cx72vezicletlhi7dijjciqpui";
constexpr char kImageB[] = "ar://bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U";

std::string Metadata(const std::string& image) {
  return absl::StrCat(R"({"name":"fixture","image":")", image, R"("})");
}

// The real repository, but every batched write waits until `open`.
class GatedRepository : public ExtractorRepository {
 public:
  explicit GatedRepository(PgExtractorRepository& repo) : repo_(repo) {}
  absl::Notification open;

  std::vector<SavedOutcome> SaveOutcomes(
      const std::vector<ItemOutcome>& outcomes) override {
    open.WaitForNotification();
    std::vector<SavedOutcome> saved = repo_.SaveOutcomes(outcomes);
    absl::MutexLock lock(&mu_);
    write_sizes_.push_back(outcomes.size());
    return saved;
  }
  // The size of each write so far, once `n` outcomes are written (or 30 s
  // have passed).
  std::vector<size_t> WriteSizes(size_t n) {
    absl::MutexLock lock(&mu_);
    auto written = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      size_t sum = 0;
      for (size_t s : write_sizes_) sum += s;
      return sum >= n;
    };
    mu_.AwaitWithTimeout(absl::Condition(&written), absl::Seconds(30));
    return write_sizes_;
  }
  absl::StatusOr<EnqueueCounts> Enqueue(
      const std::vector<eth::TokenKey>& keys) override {
    return repo_.Enqueue(keys);
  }
  absl::StatusOr<std::vector<db::QueueItem>> Lease(int limit) override {
    return repo_.Lease(limit);
  }
  absl::StatusOr<std::vector<TokenToExtract>> LoadTokens(
      const std::vector<int64_t>& pks) override {
    return repo_.LoadTokens(pks);
  }
  bool IsLastAttempt(const db::QueueItem& item) const override {
    return repo_.IsLastAttempt(item);
  }

 private:
  PgExtractorRepository& repo_;
  absl::Mutex mu_;
  std::vector<size_t> write_sizes_ ABSL_GUARDED_BY(mu_);
};

struct TokenState {
  std::string status;
  std::string reason;
};

// Feeds `worker` from a thread of its own, as the service's feeder does,
// until destroyed.
class Feeding {
 public:
  explicit Feeding(ExtractionWorker& worker)
      : thread_([this, &worker] {
          while (!stop_) {
            if (worker.Feed() == 0) absl::SleepFor(absl::Milliseconds(20));
          }
        }) {}
  ~Feeding() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ExtractorPgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_status_ = new absl::Status(StartSuite());
  }
  static absl::Status StartSuite() {
    auto pg = harness::PostgresServer::Start();
    if (!pg.ok()) return pg.status();
    pg_ = pg->release();
    auto root = harness::TempDir::Create("extractor-pgtest");
    if (!root.ok()) return root.status();
    root_ = new harness::TempDir(*std::move(root));
    auto server = harness::FixtureHttpServer::Start(root_->path());
    if (!server.ok()) return server.status();
    server_ = server->release();
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete root_;
    delete pg_;
    delete suite_status_;
  }

  void SetUp() override {
    ASSERT_TRUE(suite_status_->ok()) << *suite_status_;
    const std::string db = absl::StrCat("extractor_test_", ++databases_);
    ASSERT_TRUE(pg_->CreateDatabase(db).ok());
    const std::string conninfo = pg_->ConnectionString(db);
    ASSERT_TRUE(db::Migrate(conninfo).ok());
    auto pool = db::Pool::Create(conninfo, 2);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    queue_ = std::make_unique<db::WorkQueue>(
        *pool_, "extract", "extractor-pgtest",
        db::QueuePolicy{.lease = absl::Seconds(30),
                        .max_attempts = 4,
                        .backoff = {.initial = absl::Milliseconds(100),
                                    .max = absl::Milliseconds(200)}});
    repo_ = std::make_unique<PgExtractorRepository>(*pool_, *queue_);

    http::HttpClientOptions user;
    user.address_policy = *http::AddressPolicy::PublicOnly({"127.0.0.1/32"});
    user.limits.total_timeout = absl::Seconds(5);
    user_http_ = std::make_unique<http::HttpClient>(user);
    user_multi_ = std::make_unique<http::MultiClient>(
        http::MultiClientOptions{.http = user});
    gateway_multi_ =
        std::make_unique<http::MultiClient>(http::MultiClientOptions{});
    fetcher_ = std::make_unique<fetch::AsyncFetcher>(
        *user_multi_, *gateway_multi_,
        fetch::FetcherOptions{.ipfs_gateways = {server_->http_url()},
                              .max_bytes = 1 << 20});
    ExtractionObserver observer;
    observer.erc1155_id_form = [this](const std::string& form) {
      absl::MutexLock lock(&observed_mu_);
      id_forms_.push_back(form);
    };
    observer.resources_queued = [this](const std::vector<int64_t>& ids) {
      absl::MutexLock lock(&observed_mu_);
      notified_.insert(notified_.end(), ids.begin(), ids.end());
    };
    worker_ = std::make_unique<ExtractionWorker>(
        *repo_, *fetcher_, ExtractorLimits{.max_json_depth = 64},
        ExtractionWorkerOptions{.max_in_flight = 10, .write_batch = 4},
        observer);
    ASSERT_TRUE(
        Exec(absl::StrCat("INSERT INTO chains (chain_id, name, next_block) "
                          "VALUES (1, 'test', 0); "
                          "INSERT INTO contracts (chain_id, address, standard, "
                          "first_block) VALUES (1, decode('",
                          kContractHex, "', 'hex'), 'erc1155', 0)"))
            .ok());
  }

  absl::Status Exec(const std::string& sql) {
    return pool_->Run([&](pqxx::work& txn) {
      txn.exec(sql);
      return absl::OkStatus();
    });
  }

  // A token with `uri`, queued for extraction. Returns its pk.
  int64_t AddToken(const std::string& token_id, const std::string& uri) {
    int64_t pk = 0;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      pk =
          txn.exec_params1(
                 "INSERT INTO tokens (chain_id, contract, token_id, token_uri) "
                 "VALUES (1, decode($1, 'hex'), $2::numeric, $3) RETURNING id",
                 kContractHex, token_id, uri)[0]
              .as<int64_t>();
      db::WorkQueue::Enqueue(txn, "extract", {pk});
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return pk;
  }

  void Requeue(int64_t pk) {
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      db::WorkQueue::Enqueue(txn, "extract", {pk});
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  }

  TokenState Token(int64_t pk) {
    TokenState t;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      pqxx::row r = txn.exec_params1(
          "SELECT status, coalesce(reason, '') FROM tokens WHERE id = $1", pk);
      t = {r[0].as<std::string>(), r[1].as<std::string>()};
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return t;
  }

  // Seconds until the token's queue item is due; nullopt if it has none.
  std::optional<double> DueIn(int64_t pk) {
    std::optional<double> due;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      pqxx::result r = txn.exec_params(
          "SELECT extract(epoch FROM run_after - now())::float8 FROM "
          "work_queue WHERE queue = 'extract' AND item_id = $1",
          pk);
      if (!r.empty()) due = r[0][0].as<double>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return due;
  }

  // "json_path uri" of every asset link of the token.
  std::set<std::string> Assets(int64_t pk) {
    std::set<std::string> out;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      for (const auto& row : txn.exec_params(
               "SELECT tr.json_path, r.normalized FROM token_resources tr "
               "JOIN resources r ON r.id = tr.resource_id "
               "WHERE tr.token_pk = $1 AND tr.role = 'asset'",
               pk)) {
        out.insert(row[0].as<std::string>() + " " + row[1].as<std::string>());
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  std::string MetadataUri(int64_t pk) {
    std::string uri;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      pqxx::result r = txn.exec_params(
          "SELECT r.normalized FROM tokens t JOIN resources r "
          "ON r.id = t.metadata_resource_id WHERE t.id = $1",
          pk);
      if (!r.empty()) uri = r[0][0].as<std::string>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return uri;
  }

  // Waits until `n` tokens are extracted, at most `timeout`.
  void WaitForExtracted(int64_t n, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (Count("SELECT count(*) FROM tokens WHERE status = 'extracted'") <
               n &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  // How many requests the fixture's /sequence?key=<key> has answered.
  int Requests(const std::string& key) {
    auto r = user_http_->Fetch({.url = Url("/counter?key=" + key)});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::stoi(r->body) : -1;
  }

  // A fetched JSON document at `token_uri` naming `assets` (json path, URI).
  static Extraction MakeExtraction(
      const std::string& token_uri, const std::string& doc,
      const std::vector<std::pair<std::string, std::string>>& assets) {
    Extraction x;
    x.token_uri = token_uri;
    x.metadata_uri = uri::ResolveUri(token_uri);
    x.content.bytes = doc;
    x.content.content_type = "application/json";
    x.doc_json = doc;
    for (const auto& [path, asset] : assets) {
      x.assets.push_back({path, asset, uri::ResolveUri(asset)});
    }
    return x;
  }
  static ItemOutcome Extracted(const db::QueueItem& item, Extraction x) {
    ItemOutcome o;
    o.item = item;
    o.kind = ItemOutcome::Kind::kExtracted;
    o.extraction = std::move(x);
    return o;
  }
  // Leases every due item, by token pk.
  std::map<int64_t, db::QueueItem> LeaseAll() {
    std::map<int64_t, db::QueueItem> out;
    auto leased = repo_->Lease(1000);
    EXPECT_TRUE(leased.ok()) << leased.status();
    if (leased.ok()) {
      for (const db::QueueItem& item : *leased) out[item.id] = item;
    }
    return out;
  }
  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      n = txn.exec1(sql)[0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return n;
  }
  // Resource ids queued for pinning.
  std::set<int64_t> PinQueue() {
    std::set<int64_t> out;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      for (const auto& row :
           txn.exec("SELECT item_id FROM work_queue WHERE queue = 'pin'")) {
        out.insert(row[0].as<int64_t>());
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
  int64_t ResourceId(const std::string& normalized) {
    int64_t id = -1;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      pqxx::result r = txn.exec_params(
          "SELECT id FROM resources WHERE normalized = $1", normalized);
      if (!r.empty()) id = r[0][0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return id;
  }

  static std::string Url(const std::string& path) {
    return server_->http_url() + path;
  }
  static void WriteFile(const std::string& name, const std::string& content) {
    std::filesystem::create_directories(
        std::filesystem::path(root_->path() + "/" + name).parent_path());
    std::ofstream(root_->path() + "/" + name, std::ios::binary) << content;
  }

  // Steps the worker until nothing is due.
  void Drain() {
    for (int i = 0; i < 20 && worker_->Step() > 0; ++i) {
    }
  }

  static harness::PostgresServer* pg_;
  static harness::TempDir* root_;
  static harness::FixtureHttpServer* server_;
  static absl::Status* suite_status_;
  static int databases_;

  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<db::WorkQueue> queue_;
  std::unique_ptr<PgExtractorRepository> repo_;
  std::unique_ptr<http::HttpClient> user_http_;
  std::unique_ptr<http::MultiClient> user_multi_;
  std::unique_ptr<http::MultiClient> gateway_multi_;
  std::unique_ptr<fetch::AsyncFetcher> fetcher_;
  // What the observer records: declared before the worker so that they
  // outlive it (its destructor drains, and the last notifications land here).
  absl::Mutex observed_mu_;
  std::vector<std::string> id_forms_;
  std::vector<int64_t> notified_;
  std::unique_ptr<ExtractionWorker> worker_;
};

harness::PostgresServer* ExtractorPgTest::pg_ = nullptr;
harness::TempDir* ExtractorPgTest::root_ = nullptr;
harness::FixtureHttpServer* ExtractorPgTest::server_ = nullptr;
absl::Status* ExtractorPgTest::suite_status_ = nullptr;
int ExtractorPgTest::databases_ = 0;

TEST_F(ExtractorPgTest, NotFoundFailsAndIsNotRetried) {
  const int64_t pk = AddToken("1", Url("/sequence?key=nf&codes=404"));
  Drain();
  absl::SleepFor(absl::Milliseconds(400));  // past any back-off
  Drain();
  EXPECT_EQ(Token(pk).status, "failed");
  EXPECT_EQ(Token(pk).reason, "http_4xx");
  EXPECT_EQ(DueIn(pk), std::nullopt);
  EXPECT_EQ(Requests("nf"), 1);
}

TEST_F(ExtractorPgTest, ServerErrorIsRetriedThenExtracted) {
  WriteFile("meta-503.json", Metadata(kImageA));
  const int64_t pk =
      AddToken("2", Url("/sequence?key=se&codes=503,200&body=meta-503.json"));
  EXPECT_EQ(worker_->Step(), 1);
  EXPECT_EQ(Token(pk).status, "queued");
  ASSERT_TRUE(DueIn(pk).has_value());
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(worker_->Step(), 1);
  EXPECT_EQ(Token(pk).status, "extracted") << Token(pk).reason;
  EXPECT_THAT(Assets(pk), ElementsAre(absl::StrCat("$.image ", kImageA)));
  EXPECT_EQ(Requests("se"), 2);
}

TEST_F(ExtractorPgTest, RetryAfterHoldsTheItemBack) {
  WriteFile("meta-429.json", Metadata(kImageA));
  const int64_t pk = AddToken(
      "3",
      Url("/sequence?key=ra&codes=429,200&retry-after=2&body=meta-429.json"));
  const absl::Time first = absl::Now();
  EXPECT_EQ(worker_->Step(), 1);
  EXPECT_EQ(Token(pk).status, "queued");
  std::optional<double> due = DueIn(pk);
  ASSERT_TRUE(due.has_value());
  EXPECT_GE(*due, 1.5);  // the back-off alone would be 0.2 s at most
  // Not leased again before the server's 2 s are up.
  while (absl::Now() - first < absl::Milliseconds(1700)) {
    EXPECT_EQ(worker_->Step(), 0);
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Requests("ra"), 1);
  absl::SleepFor(absl::Milliseconds(500));
  EXPECT_EQ(worker_->Step(), 1);
  EXPECT_EQ(Token(pk).status, "extracted") << Token(pk).reason;
  EXPECT_EQ(Requests("ra"), 2);
}

TEST_F(ExtractorPgTest, RedirectToMetadataEndpointIsBlocked) {
  const int64_t pk = AddToken(
      "4", Url("/redirect?to=http%3A%2F%2F169.254.169.254%2Flatest%2F"));
  Drain();
  EXPECT_EQ(Token(pk).status, "failed");
  EXPECT_EQ(Token(pk).reason, "blocked_address");
}

TEST_F(ExtractorPgTest, HostileBodiesFailWithTheirReason) {
  const int64_t huge = AddToken("5", Url("/huge?bytes=50000000&chunked=1"));
  const int64_t bomb = AddToken("6", Url("/gzip-bomb?mb=64"));
  const int64_t lie = AddToken("7", Url("/length-lie?claim=10000000000"));
  const int64_t deep = AddToken("8", Url("/deep-json?depth=100000"));
  Drain();
  for (int64_t pk : {huge, bomb, lie}) {
    EXPECT_EQ(Token(pk).status, "failed") << pk;
    EXPECT_EQ(Token(pk).reason, "too_large") << pk;
  }
  EXPECT_EQ(Token(deep).status, "failed");
  EXPECT_EQ(Token(deep).reason, "too_deep");
}

TEST_F(ExtractorPgTest, OddButValidDocumentsAreExtracted) {
  const int64_t bom = AddToken("9", Url("/bom-json"));
  const int64_t utf8 = AddToken("10", Url("/bad-utf8"));
  const int64_t png = AddToken("11", Url("/wrong-type"));
  Drain();
  for (int64_t pk : {bom, utf8, png}) {
    EXPECT_EQ(Token(pk).status, "extracted") << pk << " " << Token(pk).reason;
    EXPECT_THAT(Assets(pk), ElementsAre(absl::StrCat("$.image ", kImageA)))
        << pk;
  }
}

TEST_F(ExtractorPgTest, ReExtractionReplacesTheAssetList) {
  WriteFile("changing.json",
            R"({"image":")" + std::string(kImageA) +
                R"(","animation_url":"https://example.com/a.mp4"})");
  const int64_t pk = AddToken("12", Url("/changing.json"));
  Drain();
  ASSERT_EQ(Token(pk).status, "extracted");
  EXPECT_THAT(Assets(pk), UnorderedElementsAre(
                              absl::StrCat("$.image ", kImageA),
                              "$.animation_url https://example.com/a.mp4"));

  WriteFile("changing.json", Metadata(kImageB));  // ERC-4906-style refresh
  Requeue(pk);
  Drain();
  EXPECT_EQ(Token(pk).status, "extracted");
  EXPECT_THAT(Assets(pk), ElementsAre(absl::StrCat("$.image ", kImageB)));
}

// Archived means all of it: asset URIs that do not resolve are recorded as
// failed resources with their reason, linked to the token, and never sent
// to the pinner; the resolvable one goes on as before.
TEST_F(ExtractorPgTest, UnresolvableAssetsAreRecordedFailedWithTheirReason) {
  const std::string long_url =
      "https://x.example/" + std::string(9 << 10, 'a');  // over 8 KiB
  WriteFile("broken-assets.json",
            absl::StrCat(R"({"image":")", kImageA,
                         R"j(","animation_url":"ipfs://notacid/x.mp4",)j",
                         R"j("thumbnail":"javascript:alert(1)","more":")j",
                         long_url, R"("})"));
  const int64_t pk = AddToken("13", Url("/broken-assets.json"));
  Drain();
  EXPECT_EQ(Token(pk).status, "extracted");
  struct Row {
    std::string path, kind, status, reason, detail, uri;
    int64_t id;
  };
  std::vector<Row> rows;
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    for (const auto& r : txn.exec_params(
                             "SELECT tr.json_path, r.kind, r.status, "
                             "coalesce(r.reason, ''), coalesce(r.detail, ''), "
                             "tr.uri, r.id FROM token_resources tr "
                             "JOIN resources r ON r.id = tr.resource_id "
                             "WHERE tr.token_pk = $1 AND tr.role = 'asset' "
                             "ORDER BY tr.json_path",
                             pk)) {
                      rows.push_back(
                          {r[0].as<std::string>(), r[1].as<std::string>(),
                           r[2].as<std::string>(), r[3].as<std::string>(),
                           r[4].as<std::string>(), r[5].as<std::string>(),
                           r[6].as<int64_t>()});
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(rows.size(), 4u);
  std::set<int64_t> failed_ids;
  for (const Row& r : rows) {
    if (r.path == "$.image") {
      EXPECT_EQ(r.status, "queued");
      continue;
    }
    EXPECT_EQ(r.kind, "invalid") << r.path;
    EXPECT_EQ(r.status, "failed") << r.path;
    EXPECT_EQ(r.reason, "uri_invalid") << r.path;
    EXPECT_FALSE(r.detail.empty()) << r.path;
    failed_ids.insert(r.id);
  }
  EXPECT_EQ(rows[0].path, "$.animation_url");
  EXPECT_EQ(rows[0].uri, "ipfs://notacid/x.mp4");
  EXPECT_THAT(rows[2].detail, HasSubstr("too long"));
  EXPECT_EQ(failed_ids.size(), 3u);
  absl::MutexLock lock(&observed_mu_);
  for (int64_t id : notified_) EXPECT_FALSE(failed_ids.contains(id)) << id;
}

TEST_F(ExtractorPgTest, Erc1155DecimalIdIsTheRecordedFallback) {
  WriteFile("erc1155/255.json", Metadata(kImageA));
  const int64_t decimal = AddToken("255", Url("/erc1155/{id}.json"));
  WriteFile(absl::StrCat("erc1155/", std::string(62, '0'), "10.json"),
            Metadata(kImageB));
  const int64_t hex = AddToken("16", Url("/erc1155/{id}.json"));
  Drain();
  EXPECT_EQ(Token(decimal).status, "extracted") << Token(decimal).reason;
  EXPECT_EQ(MetadataUri(decimal), Url("/erc1155/255.json"));
  EXPECT_EQ(Token(hex).status, "extracted") << Token(hex).reason;
  EXPECT_EQ(MetadataUri(hex),
            Url(absl::StrCat("/erc1155/", std::string(62, '0'), "10.json")));
  EXPECT_THAT(id_forms_, UnorderedElementsAre("decimal", "hex"));

  // Neither form there: the hex form's 404 is what is recorded.
  const int64_t missing = AddToken("17", Url("/erc1155/{id}.json"));
  Drain();
  EXPECT_EQ(Token(missing).reason, "http_4xx");
}

TEST_F(ExtractorPgTest, ManyTokensInFlightAreAllRecorded) {
  // 60 tokens, 10 in flight at a time, written 4 outcomes per transaction:
  // extracted, failed and dropped ones mixed in the same batches.
  std::vector<int64_t> good, gone;
  for (int i = 0; i < 40; ++i) {
    WriteFile(absl::StrCat("many/", i, ".json"),
              Metadata(absl::StrCat("https://example.com/img/", i, ".png")));
    good.push_back(AddToken(absl::StrCat(1000 + i),
                            Url(absl::StrCat("/many/", i, ".json"))));
  }
  for (int i = 0; i < 20; ++i) {
    gone.push_back(AddToken(absl::StrCat(2000 + i),
                            Url(absl::StrCat("/slow?ms=300&missing=", i))));
  }
  ASSERT_TRUE(
      Exec(absl::StrCat("UPDATE tokens SET token_uri = NULL WHERE id = ",
                        gone.back()))
          .ok());
  const absl::Time start = absl::Now();
  std::thread feeder([&] {
    while (worker_->Feed() > 0) {
    }
  });
  feeder.join();
  ASSERT_TRUE(worker_->Drain(absl::Seconds(30)));
  // 20 slow (300 ms) fetches, 10 at a time: well under 20 x 300 ms.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  for (size_t i = 0; i < good.size(); ++i) {
    ASSERT_EQ(Token(good[i]).status, "extracted") << Token(good[i]).reason;
    EXPECT_THAT(Assets(good[i]),
                ElementsAre(absl::StrCat("$.image https://example.com/img/", i,
                                         ".png")));
  }
  for (size_t i = 0; i + 1 < gone.size(); ++i) {
    // /slow answers "slow": neither JSON nor media.
    EXPECT_EQ(Token(gone[i]).reason, "not_json");
  }
  EXPECT_EQ(DueIn(gone.back()), std::nullopt);  // dropped: no URI
  absl::MutexLock lock(&observed_mu_);
  // Every metadata resource and image of the good tokens was handed on.
  EXPECT_EQ(notified_.size(), 80u);
}

TEST_F(ExtractorPgTest, OneBatchWritesEveryKindOfOutcomeSetBased) {
  // Three tokens share one token URI (one document, one resource) and every
  // token names the same image: the batch holds each resource several times
  // and must still be one transaction.
  const std::string shared = "https://example.com/shared.json";
  const std::string own = "https://example.com/own.json";
  const std::string broken = "https://example.com/broken.json";
  const std::vector<int64_t> pks = {
      AddToken("101", shared),
      AddToken("102", shared),
      AddToken("103", shared),
      AddToken("104", own),
      AddToken("105", broken),
      AddToken("106", "https://example.com/r.json"),
      AddToken("107", "https://example.com/gone.json")};
  std::map<int64_t, db::QueueItem> items = LeaseAll();
  ASSERT_EQ(items.size(), pks.size());
  const std::string doc = Metadata(kImageA);
  std::vector<ItemOutcome> batch;
  for (int i = 0; i < 3; ++i) {
    batch.push_back(Extracted(
        items[pks[i]],
        MakeExtraction(shared, doc,
                       {{"$.image", kImageA}, {"$.animation_url", kImageA}})));
  }
  Extraction with_link = MakeExtraction(
      own, doc,
      {{"$.image", kImageA},
       {"$.properties.files[0].uri", "https://example.com/a\"b\\c,{d}.png"}});
  with_link.links.push_back({"$.external_url", "link", "https://example.com"});
  with_link.links.push_back({"$.image_data", "inline", "<svg>\"{,}\"</svg>"});
  batch.push_back(Extracted(items[pks[3]], std::move(with_link)));
  ItemOutcome failed;
  failed.item = items[pks[4]];
  failed.kind = ItemOutcome::Kind::kFailed;
  failed.failure = ExtractionFailure{.reason = "http_4xx",
                                     .detail = "404 Not Found",
                                     .metadata_uri = uri::ResolveUri(broken)};
  failed.token_uri = broken;
  batch.push_back(failed);
  ItemOutcome retry;
  retry.item = items[pks[5]];
  retry.kind = ItemOutcome::Kind::kRetry;
  retry.failure = ExtractionFailure{.reason = "rate_limited",
                                    .temporary = true,
                                    .retry_after = absl::Seconds(60)};
  batch.push_back(retry);
  ItemOutcome drop;
  drop.item = items[pks[6]];
  drop.kind = ItemOutcome::Kind::kDrop;
  batch.push_back(drop);

  std::vector<SavedOutcome> saved = repo_->SaveOutcomes(batch);
  ASSERT_EQ(saved.size(), batch.size());
  for (const SavedOutcome& o : saved) EXPECT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(repo_->split_batches(), 0);  // one transaction, not one per item

  const int64_t meta = ResourceId(shared);
  const int64_t own_meta = ResourceId(own);
  const int64_t image = ResourceId(kImageA);
  const int64_t odd = ResourceId(
      uri::ResolveUri("https://example.com/a\"b\\c,{d}.png").normalized);
  const int64_t broken_meta = ResourceId(broken);
  for (int64_t id : {meta, own_meta, image, odd, broken_meta}) {
    EXPECT_GT(id, 0);
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Token(pks[i]).status, "extracted");
    EXPECT_EQ(MetadataUri(pks[i]), shared);
    EXPECT_THAT(Assets(pks[i]), UnorderedElementsAre(
                                    absl::StrCat("$.image ", kImageA),
                                    absl::StrCat("$.animation_url ", kImageA)));
    EXPECT_THAT(saved[i].to_pin,
                ElementsAre(std::min(meta, image), std::max(meta, image)));
  }
  EXPECT_EQ(Token(pks[3]).status, "extracted");
  EXPECT_EQ(Assets(pks[3]).size(), 2u);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM token_links WHERE "
                               "token_pk = ",
                               pks[3],
                               " AND ((json_path = '$.image_data' AND value = "
                               "'<svg>\"{,}\"</svg>') OR (json_path = "
                               "'$.external_url' AND role = 'link'))")),
            2);
  EXPECT_EQ(Count("SELECT count(*) FROM metadata"), 2);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM metadata WHERE "
                               "resource_id = ",
                               meta, " AND doc->>'image' = '", kImageA,
                               "' AND size = ", doc.size(),
                               " AND sha256 = sha256(raw)")),
            1);
  EXPECT_EQ(Count(absl::StrCat("SELECT count(*) FROM resources WHERE id = ",
                               meta, " AND size = ", doc.size(),
                               " AND content_type = 'application/json'")),
            1);
  EXPECT_EQ(Token(pks[4]).status, "failed");
  EXPECT_EQ(Token(pks[4]).reason, "http_4xx");
  EXPECT_EQ(MetadataUri(pks[4]), broken);
  EXPECT_EQ(Count(absl::StrCat(
                "SELECT count(*) FROM resources WHERE id = ", broken_meta,
                " AND status = 'failed' AND reason = "
                "'http_4xx'")),
            1);
  // The retry waits for the server's Retry-After; the others are done.
  ASSERT_TRUE(DueIn(pks[5]).has_value());
  EXPECT_GT(*DueIn(pks[5]), 50);
  EXPECT_EQ(Token(pks[5]).status, "queued");
  for (int64_t pk : {pks[0], pks[3], pks[4], pks[6]}) {
    EXPECT_EQ(DueIn(pk), std::nullopt) << pk;
  }
  // Every new resource an extraction named is queued for pinning, once; the
  // failed one is not.
  EXPECT_THAT(PinQueue(), UnorderedElementsAre(meta, own_meta, image, odd));
}

// A failure's detail quotes what a server sent: a NUL byte, invalid UTF-8
// and SQL-looking text travel as array parameters without failing the batch
// (NUL and the bad byte become U+FFFD), and the detail is bounded.
TEST_F(ExtractorPgTest, HostileFailureTextIsStoredAsSentInOneBatch) {
  const std::string uri = "https://example.com/hostile.json";
  const int64_t pk = AddToken("250", uri);
  const int64_t other = AddToken("251", "https://example.com/fine.json");
  std::map<int64_t, db::QueueItem> items = LeaseAll();
  ASSERT_EQ(items.size(), 2u);
  ItemOutcome failed;
  failed.item = items[pk];
  failed.kind = ItemOutcome::Kind::kFailed;
  failed.failure = ExtractionFailure{
      .reason = "http_4xx",
      .detail = std::string("a\0b\xff '$1'; {\"x\",NULL}\\", 22) +
                std::string(3000, 'z'),
      .metadata_uri = uri::ResolveUri(uri)};
  failed.token_uri = uri;
  std::vector<ItemOutcome> batch = {
      failed,
      Extracted(items[other],
                MakeExtraction("https://example.com/fine.json",
                               Metadata(kImageA), {{"$.image", kImageA}}))};
  std::vector<SavedOutcome> saved = repo_->SaveOutcomes(batch);
  for (const SavedOutcome& o : saved) EXPECT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(repo_->split_batches(), 0);
  const std::string prefix = "a\uFFFDb\uFFFD '$1'; {\"x\",NULL}\\zzz";
  const std::vector<std::pair<std::string, int64_t>> rows = {
      {"tokens", pk}, {"resources", ResourceId(uri)}};
  for (const auto& [table, id] : rows) {
    std::string detail;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      detail = txn.exec_params1(absl::StrCat("SELECT detail FROM ", table,
                                             " WHERE id = $1"),
                                id)[0]
                   .as<std::string>();
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(detail.substr(0, prefix.size()), prefix) << table;
    EXPECT_LE(detail.size(), 2000u) << table;
  }
  EXPECT_EQ(Token(other).status, "extracted");
}

TEST_F(ExtractorPgTest, LostLeaseInABatchWritesNothingForThatToken) {
  const int64_t kept = AddToken("201", "https://example.com/kept.json");
  const int64_t lost = AddToken("202", "https://example.com/lost.json");
  const int64_t lost_retry = AddToken("203", "https://example.com/lr.json");
  std::map<int64_t, db::QueueItem> items = LeaseAll();
  ASSERT_EQ(items.size(), 3u);
  // A refresh lands while the batch is in flight: those leases are fenced.
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    db::WorkQueue::Requeue(txn, "extract", {lost, lost_retry});
                    return absl::OkStatus();
                  })
                  .ok());
  std::vector<ItemOutcome> batch = {
      Extracted(items[kept],
                MakeExtraction("https://example.com/kept.json",
                               Metadata(kImageA), {{"$.image", kImageA}})),
      Extracted(items[lost],
                MakeExtraction("https://example.com/lost.json",
                               Metadata(kImageB), {{"$.image", kImageB}}))};
  ItemOutcome retry;
  retry.item = items[lost_retry];
  retry.kind = ItemOutcome::Kind::kRetry;
  retry.failure = ExtractionFailure{
      .reason = "timeout", .temporary = true, .retry_after = absl::Hours(1)};
  batch.push_back(retry);
  std::vector<SavedOutcome> saved = repo_->SaveOutcomes(batch);
  EXPECT_TRUE(saved[0].status.ok()) << saved[0].status;
  EXPECT_EQ(saved[1].status.code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(saved[1].to_pin.empty());
  EXPECT_EQ(repo_->split_batches(), 0);
  EXPECT_EQ(Token(kept).status, "extracted");
  EXPECT_EQ(DueIn(kept), std::nullopt);
  // Nothing of the stale outcomes was written: no token change, no links,
  // no resources, no pins, and the items stay due for their new holder.
  EXPECT_EQ(Token(lost).status, "queued");
  EXPECT_TRUE(Assets(lost).empty());
  EXPECT_EQ(ResourceId("https://example.com/lost.json"), -1);
  EXPECT_EQ(ResourceId(kImageB), -1);
  for (int64_t pk : {lost, lost_retry}) {
    ASSERT_TRUE(DueIn(pk).has_value()) << pk;
    EXPECT_LT(*DueIn(pk), 1) << pk;
  }
  EXPECT_EQ(PinQueue().size(), 2u);  // kept's document and image
}

TEST_F(ExtractorPgTest, OneBadOutcomeDoesNotHoldBackTheBatch) {
  std::vector<int64_t> pks;
  for (int i = 0; i < 4; ++i) {
    pks.push_back(AddToken(absl::StrCat(300 + i),
                           absl::StrCat("https://example.com/b/", i, ".json")));
  }
  std::map<int64_t, db::QueueItem> items = LeaseAll();
  ASSERT_EQ(items.size(), 4u);
  std::vector<ItemOutcome> batch;
  for (int i = 0; i < 4; ++i) {
    Extraction x =
        MakeExtraction(absl::StrCat("https://example.com/b/", i, ".json"),
                       Metadata(kImageA), {{"$.image", kImageA}});
    if (i == 2) x.doc_json = "{not json";  // Postgres refuses it as jsonb
    batch.push_back(Extracted(items[pks[i]], std::move(x)));
  }
  std::vector<SavedOutcome> saved = repo_->SaveOutcomes(batch);
  EXPECT_EQ(repo_->split_batches(), 1);
  for (int i = 0; i < 4; ++i) {
    if (i == 2) {
      EXPECT_FALSE(saved[i].status.ok());
      EXPECT_EQ(Token(pks[i]).status, "queued");
      EXPECT_TRUE(DueIn(pks[i]).has_value());  // its lease runs out: again
    } else {
      EXPECT_TRUE(saved[i].status.ok()) << saved[i].status;
      EXPECT_EQ(Token(pks[i]).status, "extracted");
      EXPECT_EQ(DueIn(pks[i]), std::nullopt);
    }
  }
}

TEST_F(ExtractorPgTest, ByteBudgetBoundsBodiesInFlightAndUnwritten) {
  // 40 tokens of 900 KB metadata each, writes stuck, 32 fetch slots: the
  // item cap alone lets all 40 bodies (36 MB) pile up. With a 4 MiB budget
  // all 32 start on 64 KiB; the bodies outgrowing what is free are cut and
  // wait for a whole 1 MiB, so at most 4 are held until writes resume.
  const std::string big =
      absl::StrCat(R"({"name":"big","image":")", kImageA,
                   R"(","description":")", std::string(900000, 'x'), R"("})");
  WriteFile("big.json", big);
  for (int i = 0; i < 40; ++i) {
    AddToken(absl::StrCat(600 + i), Url("/sequence?key=big&body=big.json"));
  }
  GatedRepository gated(*repo_);
  struct OpenAtExit {
    GatedRepository& g;
    ~OpenAtExit() {
      if (!g.open.HasBeenNotified()) g.open.Notify();
    }
  } open_at_exit{gated};
  std::atomic<int> waits{0};
  absl::Mutex outcomes_mu;
  std::map<std::string, int> outcomes;
  ExtractionObserver observer;
  observer.budget_wait = [&] { ++waits; };
  observer.finished = [&](const std::string& outcome, const std::string&) {
    absl::MutexLock lock(&outcomes_mu);
    ++outcomes[outcome];
  };
  const int64_t budget = 4 << 20;
  const int64_t rss_before_kb = harness::PeakRssKb();
  {
    ExtractionWorker worker(
        gated, *fetcher_, ExtractorLimits{.max_json_depth = 64},
        ExtractionWorkerOptions{.max_in_flight = 32,
                                .lease_batch = 8,
                                .lease_when_free = 1,
                                .write_batch = 4,
                                .writers = 1,
                                .max_buffered_bytes = budget,
                                .max_item_bytes = 1 << 20},
        observer);
    std::optional<Feeding> feeding(std::in_place, worker);
    // Settled: each leased item is either held whole or waiting (32, or a
    // few more when bodies finished before the first had to wait).
    auto settled = [&] {
      const int64_t held =
          worker.buffered_bytes() / static_cast<int64_t>(big.size());
      return held >= 1 &&
             held + worker.awaiting_budget() == worker.in_flight() &&
             worker.buffered_bytes() == held * static_cast<int64_t>(big.size());
    };
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!settled() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    absl::SleepFor(absl::Milliseconds(500));  // would another one start?
    EXPECT_TRUE(settled()) << worker.buffered_bytes() << " bytes held, "
                           << worker.awaiting_budget() << " waiting";
    EXPECT_LE(worker.buffered_bytes(), 4 * static_cast<int64_t>(big.size()));
    EXPECT_LE(worker.peak_buffered_bytes(), budget);
    EXPECT_GE(waits.load(), 28);
    gated.open.Notify();
    WaitForExtracted(40, absl::Seconds(60));
    feeding.reset();
    EXPECT_TRUE(worker.Drain(absl::Seconds(10)));
    EXPECT_LE(worker.peak_buffered_bytes(), budget);
    EXPECT_EQ(worker.buffered_bytes(), 0);
  }
  EXPECT_EQ(Count("SELECT count(*) FROM tokens WHERE status = 'extracted'"),
            40);
  // Waiting for the budget is not a failed attempt.
  absl::MutexLock lock(&outcomes_mu);
  EXPECT_EQ(outcomes, (std::map<std::string, int>{{"extracted", 40}}));
  // Whole process, the writes of all 40 included (measured: 37 MB with the
  // budget, 88 MB without).
  std::cout << "peak RSS growth extracting 40 x 900 KB with "
               "max_buffered_bytes=4 MiB: "
            << (harness::PeakRssKb() - rss_before_kb) / 1024 << " MB\n";
}

TEST_F(ExtractorPgTest, SmallDocumentsKeepEveryFetchSlotBusy) {
  // The same 4 MiB budget and 1 MiB cap: typical documents of a few hundred
  // bytes take only their first 64 KiB each, so all 32 fetch slots work at
  // once on a slow server instead of the 4 whole-cap reservations fitting.
  WriteFile("small.json", Metadata(kImageA));
  for (int i = 0; i < 40; ++i) {
    AddToken(absl::StrCat(700 + i),
             Url("/sequence?key=small&ms=4000&body=small.json"));
  }
  {
    ExtractionWorker worker(
        *repo_, *fetcher_, ExtractorLimits{.max_json_depth = 64},
        ExtractionWorkerOptions{.max_in_flight = 32,
                                .lease_batch = 8,
                                .lease_when_free = 1,
                                .max_buffered_bytes = 4 << 20,
                                .max_item_bytes = 1 << 20},
        ExtractionObserver{});
    std::optional<Feeding> feeding(std::in_place, worker);
    // Requests are counted when they arrive; answers take 4 s.
    const absl::Time deadline = absl::Now() + absl::Milliseconds(3500);
    while (Requests("small") < 32 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(Requests("small"), 32);
    WaitForExtracted(40, absl::Seconds(30));
    feeding.reset();
    EXPECT_TRUE(worker.Drain(absl::Seconds(10)));
  }
  EXPECT_EQ(Count("SELECT count(*) FROM tokens WHERE status = 'extracted'"),
            40);
}

TEST_F(ExtractorPgTest, WritesDoNotHoldFetchSlotsAndStayBounded) {
  // Writes are stuck; 4 fetch slots. The 4 first outcomes wait for their
  // write without holding a slot, so 4 more are fetched; then the backlog
  // (a whole cap) stops the feeder: 8 fetches, not 4 and not all 12.
  WriteFile("wb.json", Metadata(kImageA));
  std::vector<int64_t> pks;
  for (int i = 0; i < 12; ++i) {
    pks.push_back(
        AddToken(absl::StrCat(400 + i), Url("/sequence?key=wb&body=wb.json")));
  }
  GatedRepository gated(*repo_);
  struct OpenAtExit {
    GatedRepository& g;
    ~OpenAtExit() {
      if (!g.open.HasBeenNotified()) g.open.Notify();
    }
  } open_at_exit{gated};
  std::atomic<bool> stop{false};
  {
    ExtractionWorker worker(gated, *fetcher_,
                            ExtractorLimits{.max_json_depth = 64},
                            ExtractionWorkerOptions{.max_in_flight = 4,
                                                    .lease_batch = 4,
                                                    .write_batch = 4,
                                                    .writers = 1},
                            ExtractionObserver{});
    std::thread feeder([&] {
      while (!stop) {
        if (worker.Feed() == 0) absl::SleepFor(absl::Milliseconds(20));
      }
    });
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (Requests("wb") < 8 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    absl::SleepFor(absl::Milliseconds(500));  // would a 9th one start?
    EXPECT_EQ(Requests("wb"), 8);
    EXPECT_EQ(worker.in_flight(), 8);  // none written yet
    EXPECT_EQ(Token(pks[0]).status, "queued");
    gated.open.Notify();
    const absl::Time done = absl::Now() + absl::Seconds(10);
    while (Count("SELECT count(*) FROM tokens WHERE status = 'extracted'") <
               12 &&
           absl::Now() < done) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    stop = true;
    feeder.join();
    EXPECT_TRUE(worker.Drain(absl::Seconds(10)));
  }
  for (int64_t pk : pks) EXPECT_EQ(Token(pk).status, "extracted") << pk;
  EXPECT_EQ(Requests("wb"), 12);
}

// The indexer's hand-off of token keys: the known ones are queued (once,
// however often named), the rest counted unknown; one statement for the
// lot, by the (chain, contract, token id) index.
TEST_F(ExtractorPgTest, HandOffOfKeysQueuesKnownTokensAndCountsTheRest) {
  const int64_t a = AddToken("801", Url("/a.json"));
  const int64_t b = AddToken(
      "115792089237316195423570985008687907853269984665640564039457584007913129"
      "639935",
      Url("/b.json"));
  ASSERT_TRUE(pool_
                  ->Run([](pqxx::work& txn) {
                    txn.exec("DELETE FROM work_queue");
                    return absl::OkStatus();
                  })
                  .ok());
  const eth::TokenKey ka{
      .chain_id = 1, .contract = kContractHex, .token_id = "801"};
  const eth::TokenKey kb{.chain_id = 1,
                         .contract = kContractHex,
                         .token_id =
                             "1157920892373161954235709850086879078532699846656"
                             "40564039457584007913129639935"};
  const eth::TokenKey other_chain{
      .chain_id = 2, .contract = kContractHex, .token_id = "801"};
  const eth::TokenKey absent{
      .chain_id = 1, .contract = kContractHex, .token_id = "802"};
  absl::StatusOr<EnqueueCounts> counts =
      repo_->Enqueue({ka, absent, kb, ka, other_chain});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->queued, 3u);
  EXPECT_EQ(counts->unknown, 2u);
  EXPECT_EQ(Count("SELECT count(*) FROM work_queue WHERE queue = 'extract'"),
            2);
  EXPECT_EQ(
      Count(absl::StrCat("SELECT count(*) FROM work_queue WHERE item_id IN (",
                         a, ", ", b, ")")),
      2);
  counts = repo_->Enqueue({});
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->queued, 0u);
  EXPECT_EQ(counts->unknown, 0u);
}

// Fetches finish one by one; a write waits (write_gather) for a whole
// write_batch to gather, so six outcomes, three of them finishing 400 ms
// after the others, are recorded in one transaction instead of two or more.
TEST_F(ExtractorPgTest, FinishedTokensGatherIntoOneWrite) {
  WriteFile("ga.json", Metadata(kImageA));
  for (int i = 0; i < 3; ++i)
    AddToken(absl::StrCat(700 + i), Url("/sequence?key=ga&body=ga.json"));
  for (int i = 3; i < 6; ++i)
    AddToken(absl::StrCat(700 + i), Url("/slow?ms=400"));
  GatedRepository gated(*repo_);
  gated.open.Notify();
  std::atomic<bool> stop{false};
  std::vector<size_t> sizes;
  {
    ExtractionWorker worker(
        gated, *fetcher_, ExtractorLimits{.max_json_depth = 64},
        ExtractionWorkerOptions{.max_in_flight = 10,
                                .lease_batch = 6,
                                .write_batch = 6,
                                .writers = 2,
                                .write_gather = absl::Seconds(30)},
        ExtractionObserver{});
    std::thread feeder([&] {
      while (!stop) {
        if (worker.Feed() == 0) absl::SleepFor(absl::Milliseconds(20));
      }
    });
    sizes = gated.WriteSizes(6);
    stop = true;
    feeder.join();
    EXPECT_TRUE(worker.Drain(absl::Seconds(10)));
  }
  EXPECT_EQ(sizes, std::vector<size_t>{6});
  EXPECT_EQ(Count("SELECT count(*) FROM tokens WHERE status = 'extracted'"), 3);
}

}  // namespace
}  // namespace niftysave::extractor
