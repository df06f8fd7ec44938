// The tracker's pin polling on real components: PinTracker and
// PgTrackerRepository against a real Postgres (one migrated database per
// test), asking the real PinningServiceBackend, which talks to the loopback
// STAND-IN for an IPFS Pinning Service (tests/harness/
// pinning_service_standin.js; no real pinning service runs here). The
// stand-in counts the requests it serves and can make a CID's pins fail or
// come back pinned (/_standin/outcome).

#include <atomic>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/db/migrations.h"
#include "common/db/pin_claims.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/grpc/grpc_server.h"
#include "common/http/http_client.h"
#include "common/ipfs/car_store_backend.h"
#include "common/ipfs/pinning_service_backend.h"
#include "common/metrics/metrics.h"
#include "common/uri/cid.h"
#include "gtest/gtest.h"
#include "niftysave/v1/tracker.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "pqxx/pqxx"
#include "services/tracker/pg_tracker_repository.h"
#include "services/tracker/pin_tracker.h"
#include "services/tracker/tracker_grpc.h"
#include "tests/harness/net.h"
#include "tests/harness/pinning_service_standin.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::tracker {
namespace {

constexpr char kToken[] = "tracker-test-token";
constexpr char kBackend[] = "pinning-service";
constexpr char kContract[] = "0x00000000000000000000000000000000000000ee";

// A distinct, well-formed CIDv1 (raw, sha2-256) per number.
std::string TestCid(int n) {
  std::string digest(32, '\0');
  for (int i = 0; i < 4; ++i) digest[i] = static_cast<char>((n >> (8 * i)));
  return uri::Cid::FromDigest(1, uri::kCodecRaw, uri::kHashSha2_256, digest)
      .ToString();
}

class PinTrackerPgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { suite_ = new absl::Status(StartSuite()); }
  static absl::Status StartSuite() {
    auto pg = harness::PostgresServer::Start();
    if (!pg.ok()) return pg.status();
    pg_ = pg->release();
    auto standin = harness::PinningServiceStandin::Start(kToken);
    if (!standin.ok()) return standin.status();
    standin_ = standin->release();
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    delete standin_;
    delete pg_;
    delete suite_;
  }

  void SetUp() override {
    ASSERT_TRUE(suite_->ok()) << *suite_;
    // A database of its own: the tracker leases whatever is due in the
    // 'track' queue, so tests must not see each other's pins.
    const std::string db = absl::StrCat("pt", ++databases_);
    ASSERT_TRUE(pg_->CreateDatabase(db).ok());
    auto v = db::Migrate(pg_->ConnectionString(db));
    ASSERT_TRUE(v.ok()) << v.status();
    auto pool = db::Pool::Create(pg_->ConnectionString(db), 4);
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    queue_ = std::make_unique<db::WorkQueue>(
        *pool_, "track", "pin-tracker-test", db::QueuePolicy{});
    repo_ = std::make_unique<PgTrackerRepository>(*pool_, *queue_);
    backend_ = std::make_unique<ipfs::PinningServiceBackend>(
        http_, ipfs::PinningServiceBackend::Options{.endpoint = standin_->url(),
                                                    .access_token = kToken});
    Exec(R"sql(
      INSERT INTO chains (chain_id, name, next_block) VALUES (1, 'one', 0);
      INSERT INTO contracts (chain_id, address, standard, first_block)
        VALUES (1, decode('00000000000000000000000000000000000000ee', 'hex'),
                'erc721', 0);)sql");
    // CIDs unique across tests: the stand-in lives for the whole suite.
    cid_base_ = databases_ * 100000;
  }

  // Fast schedules so a test takes seconds.
  PinTrackerOptions Options() const {
    return {.batch_size = 100,
            .recheck = {absl::Milliseconds(10), absl::Milliseconds(50)},
            .requests_per_second = 1000,
            .max_budget_wait = absl::Seconds(1),
            .max_repins = 3,
            .failed_recheck = absl::Hours(6)};
  }
  std::unique_ptr<PinTracker> Tracker(PinTrackerOptions options) {
    return std::make_unique<PinTracker>(
        *repo_,
        std::map<std::string, ipfs::PinBackend*>{{kBackend, backend_.get()}},
        options,
        PinTrackerObserver{
            .repin = [this](const std::string&, const std::string& outcome) {
              absl::MutexLock lock(&mu_);
              repin_outcomes_.push_back(outcome);
            }});
  }

  void Exec(const std::string& sql) {
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      txn.exec(sql);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s << "\n" << sql;
  }
  std::string Query(const std::string& sql) {
    std::string out;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      pqxx::result r = txn.exec(sql);
      out = r.empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s << "\n" << sql;
    return out;
  }
  int64_t QueryInt(const std::string& sql) {
    const std::string v = Query(sql);
    return v.empty() ? -1 : std::stoll(v);
  }

  // Asks the stand-in to pin `cid` (as the pinner would have) and records
  // the pin, queued for tracking. Returns the pin's id.
  int64_t AddPin(const std::string& cid) {
    absl::StatusOr<ipfs::PinReceipt> receipt = backend_->PinCid(cid);
    EXPECT_TRUE(receipt.ok()) << receipt.status();
    int64_t id = 0;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      id = txn.exec_params1(
                  "INSERT INTO pins (cid, backend, request_id, "
                  "status) VALUES ($1, $2, $3, 'pinning') "
                  "RETURNING id",
                  cid, kBackend, receipt.ok() ? receipt->request_id : "")[0]
               .as<int64_t>();
      db::WorkQueue::Enqueue(txn, "track", {id});
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return id;
  }
  // An IPFS resource whose pin of `cid` is in flight.
  int64_t AddResource(const std::string& cid) {
    return QueryInt(absl::StrCat(
        "INSERT INTO resources (uri_hash, normalized, kind, cid, status, "
        "pinned_cid) VALUES (sha256(convert_to('ipfs://",
        cid, "', 'UTF8')), 'ipfs://", cid, "', 'ipfs', '", cid,
        "', 'pinning', '", cid, "') RETURNING id"));
  }
  // Token `token_id` with metadata `meta` and assets at $.image, $.image1..
  int64_t AddToken(int token_id, int64_t meta,
                   const std::vector<int64_t>& assets) {
    const int64_t pk = QueryInt(absl::StrCat(
        "INSERT INTO tokens (chain_id, contract, token_id, token_uri, status, "
        "metadata_resource_id) VALUES (1, decode('",
        std::string(kContract).substr(2), "', 'hex'), ", token_id,
        ", 'ipfs://meta', 'extracted', ", meta, ") RETURNING id"));
    Exec(
        absl::StrCat("INSERT INTO token_resources (token_pk, json_path, "
                     "resource_id, role, uri) VALUES (",
                     pk, ", '', ", meta, ", 'metadata', 'u')"));
    for (size_t i = 0; i < assets.size(); ++i) {
      Exec(absl::StrCat(
          "INSERT INTO token_resources (token_pk, json_path, resource_id, "
          "role, uri) VALUES (",
          pk, ", '$.image", i == 0 ? "" : std::to_string(i), "', ", assets[i],
          ", 'asset', 'u')"));
    }
    return pk;
  }
  std::string TokenStatus(int64_t pk) {
    return Query(
        absl::StrCat("SELECT status || '|' || coalesce(reason, '') || '|' || "
                     "coalesce(detail, '') FROM tokens WHERE id = ",
                     pk));
  }
  std::string PinColumn(int64_t pin, const std::string& column) {
    return Query(
        absl::StrCat("SELECT ", column, "::text FROM pins WHERE id = ", pin));
  }

  static absl::Status SetOutcome(const std::string& cid,
                                 const std::string& outcome) {
    nlohmann::json body = {{"cid", cid}};
    body["outcome"] = nullptr;
    if (!outcome.empty()) body["outcome"] = outcome;
    absl::StatusOr<harness::HttpResponse> r =
        harness::Fetch({.method = "POST",
                        .url = standin_->url() + "/_standin/outcome",
                        .body = body.dump(),
                        .headers = {"Content-Type: application/json"}});
    if (!r.ok()) return r.status();
    if (r->status != 200) return absl::InternalError("outcome not set");
    return absl::OkStatus();
  }
  static int Requests(const std::string& what) {
    absl::StatusOr<int> n = standin_->RequestCount(what);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : -1;
  }

  // Steps `tracker` until `done` holds; false at the deadline.
  static bool Drive(PinTracker& tracker, const std::function<bool()>& done,
                    absl::Duration deadline = absl::Seconds(20)) {
    const absl::Time end = absl::Now() + deadline;
    while (absl::Now() < end) {
      tracker.Step();
      if (done()) return true;
      absl::SleepFor(absl::Milliseconds(15));
    }
    return done();
  }

  static inline absl::Status* suite_ = nullptr;
  static inline harness::PostgresServer* pg_ = nullptr;
  static inline harness::PinningServiceStandin* standin_ = nullptr;
  static inline int databases_ = 0;

  http::HttpClient http_{http::HttpClientOptions{}};
  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<db::WorkQueue> queue_;
  std::unique_ptr<PgTrackerRepository> repo_;
  std::unique_ptr<ipfs::PinningServiceBackend> backend_;
  int cid_base_ = 0;
  absl::Mutex mu_;
  std::vector<std::string> repin_outcomes_ ABSL_GUARDED_BY(mu_);
};

// 300 pins, two workers sharing one tracker, 10 status requests a second:
// the stand-in must see at most burst + rate * elapsed requests, each
// carrying up to 10 CIDs, and every pin must still end confirmed.
// Another backend answering one CID a request, each answer `delay` late;
// `on_request` runs before each.
class SlowBackend final : public ipfs::PinBackend {
 public:
  SlowBackend(ipfs::PinBackend& inner, absl::Duration delay,
              std::function<void()> on_request)
      : inner_(inner), delay_(delay), on_request_(std::move(on_request)) {}
  std::string name() const override { return inner_.name(); }
  absl::StatusOr<ipfs::PinReceipt> PinCid(const std::string& cid) override {
    return inner_.PinCid(cid);
  }
  absl::StatusOr<std::string> Upload(absl::string_view content,
                                     absl::string_view filename) override {
    return inner_.Upload(content, filename);
  }
  absl::StatusOr<ipfs::PinState> Status(const std::string& cid) override {
    on_request_();
    absl::SleepFor(delay_);
    return inner_.Status(cid);
  }
  absl::Duration longest_pin_call() const override {
    return inner_.longest_pin_call();
  }
  absl::Duration longest_status_call() const override {
    return delay_ + inner_.longest_status_call();
  }

 private:
  ipfs::PinBackend& inner_;
  const absl::Duration delay_;
  std::function<void()> on_request_;
};

// A step reports progress after each status request: the pins still to be
// asked about stay held (renewed by the heartbeat) past renew_for counted
// from the lease, as long as each request comes within it.
TEST_F(PinTrackerPgTest, AStepMakingProgressKeepsItsPinsHeld) {
  db::WorkQueue queue(*pool_, "track", "pin-tracker-progress",
                      {.renew_for = absl::Milliseconds(500)});
  PgTrackerRepository repo(*pool_, queue);
  std::vector<int64_t> pins;
  for (int i = 0; i < 3; ++i) pins.push_back(AddPin(TestCid(cid_base_ + i)));
  std::vector<size_t> held_at_request;
  SlowBackend slow(*backend_, absl::Milliseconds(400),
                   [&] { held_at_request.push_back(queue.Held().size()); });
  PinTracker tracker(repo, {{kBackend, &slow}}, Options(),
                     PinTrackerObserver{});
  EXPECT_EQ(tracker.Step(), 3);
  // The third request goes out ~0.8 s after the lease, past the 0.5 s:
  // the pins are still held because the first two answers were progress.
  EXPECT_EQ(held_at_request, (std::vector<size_t>{3, 3, 3}));
  // And each answer was recorded under the lease the step still held.
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pins WHERE checks > 0"), 3);
}

// A CAR store's status checks are local: the request budget counts one per
// kStatusBatch CIDs, so one step confirms every pin it leased even at one
// request a second (it was one CID a request: 10 pins a second with the
// default budget).
TEST_F(PinTrackerPgTest, ACarStoresPinsAreCheckedAStepAtATimeWithinTheBudget) {
  absl::StatusOr<harness::TempDir> dir = harness::TempDir::Create("cars");
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::unique_ptr<ipfs::CarStoreBackend>> store =
      ipfs::CarStoreBackend::Open({.dir = dir->path() + "/store"});
  ASSERT_TRUE(store.ok()) << store.status();
  constexpr int kPins = 64;
  for (int i = 0; i < kPins; ++i) {
    absl::StatusOr<std::string> cid =
        (*store)->Upload(absl::StrCat("car ", cid_base_, " ", i), "f");
    ASSERT_TRUE(cid.ok()) << cid.status();
    ASSERT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      const int64_t id =
                          txn.exec_params1(
                                 "INSERT INTO pins (cid, backend, status) "
                                 "VALUES ($1, 'car-store', 'pinning') "
                                 "RETURNING id",
                                 *cid)[0]
                              .as<int64_t>();
                      db::WorkQueue::Enqueue(txn, "track", {id});
                      return absl::OkStatus();
                    })
                    .ok());
  }
  PinTrackerOptions options = Options();
  options.requests_per_second = 1;
  PinTracker tracker(*repo_, {{"car-store", store->get()}}, options,
                     PinTrackerObserver{});
  EXPECT_EQ(tracker.Step(), kPins);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pins WHERE backend = 'car-store' "
                     "AND status = 'pinned'"),
            kPins);
}

TEST_F(PinTrackerPgTest, ManyPinsArePolledWithinTheRequestBudget) {
  constexpr int kPins = 300;
  constexpr double kRate = 10;
  for (int i = 0; i < kPins; ++i) AddPin(TestCid(cid_base_ + i));
  PinTrackerOptions options = Options();
  options.batch_size = 1000;
  options.requests_per_second = kRate;
  std::unique_ptr<PinTracker> tracker = Tracker(options);

  const int before = Requests("GET /pins");
  const absl::Time start = absl::Now();
  std::atomic<bool> stop{false};
  auto all_pinned = [&] {
    return QueryInt("SELECT count(*) FROM pins WHERE status = 'pinned'") ==
           kPins;
  };
  std::thread second([&] {
    while (!stop) {
      if (tracker->Step() == 0) absl::SleepFor(absl::Milliseconds(15));
    }
  });
  const bool done = Drive(*tracker, all_pinned, absl::Seconds(60));
  stop = true;
  second.join();
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const int requests = Requests("GET /pins") - before;

  std::cout << "budget: " << requests << " GET /pins for " << kPins
            << " pins in " << elapsed << " s at " << kRate << "/s\n";
  ASSERT_TRUE(done) << QueryInt(
      "SELECT count(*) FROM pins WHERE status = 'pinned'");
  // Every pin checked at least once, ten CIDs a request: at least 30.
  EXPECT_GE(requests, kPins / 10);
  // Batched: far fewer requests than pins (each pin is seen twice or more).
  EXPECT_LT(requests, kPins / 4);
  // The budget: a burst of one second's worth, then the rate.
  EXPECT_LE(requests, kRate + kRate * elapsed + 1)
      << requests << " requests in " << elapsed << " s";
  // ... which is what made it take this long (30+ requests at 10/s).
  EXPECT_GE(elapsed, (kPins / 10 - kRate) / kRate - 0.1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM work_queue"), 0);
}

// One status request's answers are recorded in one transaction: pinned
// pins, resources and tokens confirmed, pins in flight rescheduled each on
// its own back-off; an item whose lease was lost meanwhile (re-queued here,
// as a new pin request for it would) keeps what the newer lease will write.
TEST_F(PinTrackerPgTest,
       AnswersOfOneRequestAreSavedTogetherSkippingLostLeases) {
  const std::string a = TestCid(cid_base_), b = TestCid(cid_base_ + 1),
                    c = TestCid(cid_base_ + 2);
  const int64_t pin_a = AddPin(a), pin_b = AddPin(b), pin_c = AddPin(c);
  const int64_t meta = AddResource(a), image = AddResource(c);
  const int64_t token = AddToken(7, meta, {image});
  absl::StatusOr<std::vector<db::QueueItem>> leased = repo_->Lease(10);
  ASSERT_TRUE(leased.ok()) << leased.status();
  ASSERT_EQ(leased->size(), 3u);
  absl::StatusOr<std::map<int64_t, PinToCheck>> pins =
      repo_->LoadPins({pin_a, pin_b, pin_c});
  ASSERT_TRUE(pins.ok()) << pins.status();
  std::vector<CheckedPin> checked;
  for (const db::QueueItem& item : *leased) {
    const bool in_flight = item.id == pin_b;
    checked.push_back(
        {item, pins->at(item.id),
         in_flight ? ipfs::PinState::kPinning : ipfs::PinState::kPinned,
         in_flight ? absl::Seconds(30) : absl::ZeroDuration()});
  }
  // pin_c's lease is lost before the answers are saved.
  Exec(
      absl::StrCat("UPDATE work_queue SET generation = generation + 1 "
                   "WHERE queue = 'track' AND item_id = ",
                   pin_c));

  absl::StatusOr<int> saved = repo_->SaveChecked(checked);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(*saved, 2);
  EXPECT_EQ(PinColumn(pin_a, "status"), "pinned");
  EXPECT_EQ(PinColumn(pin_b, "status"), "pinning");
  EXPECT_EQ(PinColumn(pin_b, "recheck_step"), "1");
  EXPECT_NEAR(QueryInt(absl::StrCat(
                  "SELECT extract(epoch FROM next_check_at - now())::int "
                  "FROM pins WHERE id = ",
                  pin_b)),
              30, 3);
  EXPECT_EQ(PinColumn(pin_c, "status"), "pinning");  // untouched
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM work_queue WHERE "
                                  "queue = 'track' AND item_id IN (",
                                  pin_b, ",", pin_c, ")")),
            2);
  EXPECT_EQ(QueryInt(absl::StrCat("SELECT count(*) FROM work_queue WHERE "
                                  "item_id = ",
                                  pin_a)),
            0);
  // The metadata is pinned, the image's pin not recorded yet: in progress.
  EXPECT_EQ(
      Query(absl::StrCat("SELECT status FROM resources WHERE id = ", meta)),
      "pinned");
  EXPECT_EQ(TokenStatus(token), "extracted||");
}

TEST_F(PinTrackerPgTest, FailedPinIsRepinnedAndEndsPinned) {
  const std::string meta_cid = TestCid(cid_base_);
  const std::string cid = TestCid(cid_base_ + 1);
  ASSERT_TRUE(SetOutcome(cid, "failed").ok());
  AddPin(meta_cid);
  const int64_t pin = AddPin(cid);
  const int64_t token = AddToken(1, AddResource(meta_cid), {AddResource(cid)});
  const int posts = Requests("POST /pins");
  std::unique_ptr<PinTracker> tracker = Tracker(Options());

  // The service gives up on the pin; the tracker asks for a new one.
  ASSERT_TRUE(Drive(*tracker, [&] { return PinColumn(pin, "repins") == "1"; }))
      << PinColumn(pin, "status");
  EXPECT_EQ(Requests("POST /pins") - posts, 1);
  // Meanwhile the resource is in progress, not failed: the token waits.
  EXPECT_EQ(TokenStatus(token), "extracted||");

  // This time the service pins it.
  ASSERT_TRUE(SetOutcome(cid, "").ok());
  ASSERT_TRUE(
      Drive(*tracker, [&] { return PinColumn(pin, "status") == "pinned"; }));
  EXPECT_EQ(PinColumn(pin, "repins"), "1");
  EXPECT_EQ(PinColumn(pin, "next_check_at"), "");
  EXPECT_EQ(TokenStatus(token), "archived||");
  EXPECT_EQ(QueryInt("SELECT count(*) FROM work_queue"), 0);
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(repin_outcomes_, std::vector<std::string>{"requested"});
}

// Issue 13: a re-pin sends POST /pins, so it takes the (CID, backend) claim
// the pinner takes. While a pinner's live lease holds the claim, the tracker
// sends nothing and spends no re-pin; once that lease is gone it takes the
// claim over, re-pins once, and recording the re-pin drops the claim. A
// stale claim (its claimer's lease gone) is dropped at start-up.
TEST_F(PinTrackerPgTest, RepinWaitsForAPinnersLiveClaimOnTheSameCid) {
  const std::string cid = TestCid(cid_base_);
  ASSERT_TRUE(SetOutcome(cid, "failed").ok());
  const int64_t pin = AddPin(cid);
  // A pinner replica is asking for this very (CID, backend) right now.
  Exec(absl::StrCat(
      "INSERT INTO work_queue (queue, item_id, generation, attempts, "
      "leased_by, run_after) VALUES ('pin', 777, 3, 1, 'pinner-a', "
      "now() + interval '1 hour');"
      "INSERT INTO pin_claims (cid, backend, queue, item_id, generation) "
      "VALUES ('",
      cid, "', '", kBackend, "', 'pin', 777, 3)"));
  const int posts = Requests("POST /pins");
  PinTrackerOptions options = Options();
  options.claim_busy_wait = absl::Milliseconds(50);
  std::unique_ptr<PinTracker> tracker = Tracker(options);
  auto claimed_elsewhere = [&] {
    absl::MutexLock lock(&mu_);
    return std::count(repin_outcomes_.begin(), repin_outcomes_.end(),
                      "claimed_elsewhere");
  };
  ASSERT_TRUE(Drive(*tracker, [&] { return claimed_elsewhere() >= 3; }));
  EXPECT_EQ(Requests("POST /pins") - posts, 0);
  EXPECT_EQ(PinColumn(pin, "repins"), "0");
  EXPECT_EQ(QueryInt("SELECT item_id FROM pin_claims"), 777);

  // The pinner's lease runs out (it crashed): the claim is free to take.
  Exec("UPDATE work_queue SET run_after = now() WHERE queue = 'pin'");
  ASSERT_TRUE(Drive(*tracker, [&] { return PinColumn(pin, "repins") == "1"; }));
  EXPECT_EQ(Requests("POST /pins") - posts, 1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pin_claims"), 0);

  // Start-up clean-up: a claim whose lease is gone goes, a live one stays.
  Exec(absl::StrCat(
      "INSERT INTO pin_claims (cid, backend, queue, item_id, generation) "
      "VALUES ('stale', '",
      kBackend, "', 'pin', 777, 3), ('live', '", kBackend,
      "', 'pin', 778, 1);"
      "INSERT INTO work_queue (queue, item_id, generation, attempts, "
      "leased_by, run_after) VALUES ('pin', 778, 1, 1, 'pinner-b', "
      "now() + interval '1 hour')"));
  absl::StatusOr<int64_t> dropped = db::DropStalePinClaims(*pool_, "pin");
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, 1);
  EXPECT_EQ(Query("SELECT string_agg(cid, ',') FROM pin_claims"), "live");
}

TEST_F(PinTrackerPgTest, PinFailedBeyondMaxRepinsIsRecheckedAndRevived) {
  const std::string meta_cid = TestCid(cid_base_);
  const std::string image_cid = TestCid(cid_base_ + 1);
  const std::string cid = TestCid(cid_base_ + 2);
  ASSERT_TRUE(SetOutcome(cid, "failed").ok());
  AddPin(meta_cid);
  AddPin(image_cid);
  const int64_t pin = AddPin(cid);
  const int64_t token = AddToken(2, AddResource(meta_cid),
                                 {AddResource(image_cid), AddResource(cid)});
  const int posts = Requests("POST /pins");
  PinTrackerOptions options = Options();
  options.max_repins = 2;
  options.failed_recheck = absl::Seconds(3);
  std::unique_ptr<PinTracker> tracker = Tracker(options);

  ASSERT_TRUE(Drive(*tracker,
                    [&] {
                      return PinColumn(pin, "status") == "failed" &&
                             PinColumn(pin, "repins") == "2" &&
                             TokenStatus(token).substr(0, 7) == "partial";
                    }))
      << PinColumn(pin, "status") << " " << TokenStatus(token);
  EXPECT_EQ(Requests("POST /pins") - posts, 2);  // max_repins, no more
  EXPECT_EQ(PinColumn(pin, "reason"), "pin_failed");
  const std::string status = TokenStatus(token);
  EXPECT_TRUE(absl::StartsWith(status, "partial|pin_failed|$.image1: "))
      << status;
  {
    absl::MutexLock lock(&mu_);
    EXPECT_EQ(repin_outcomes_, (std::vector<std::string>{
                                   "requested", "requested", "exhausted"}));
  }

  // Still tracked, at the low rate: due again in about failed_recheck, and
  // not looked at before.
  EXPECT_GT(QueryInt("SELECT extract(epoch FROM run_after - now())::int "
                     "FROM work_queue WHERE item_id = " +
                     std::to_string(pin)),
            1);
  const std::string checks = PinColumn(pin, "checks");
  for (int i = 0; i < 10; ++i) {
    tracker->Step();
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(PinColumn(pin, "checks"), checks);

  // The service finds the content after all: the next re-check revives the
  // pin, the resource and the token.
  ASSERT_TRUE(SetOutcome(cid, "pinned").ok());
  ASSERT_TRUE(
      Drive(*tracker, [&] { return PinColumn(pin, "status") == "pinned"; }));
  EXPECT_EQ(TokenStatus(token), "archived||");
  EXPECT_EQ(Query(absl::StrCat("SELECT status FROM resources WHERE cid = '",
                               cid, "'")),
            "pinned");
  EXPECT_EQ(Requests("POST /pins") - posts, 2);
}

// One asset pinned, one failed (no re-pins allowed): the token is partial,
// and the gRPC API says so; a token whose metadata pin failed is failed.
TEST_F(PinTrackerPgTest, OneAssetPinnedOneFailedEndsPartial) {
  const std::string meta_cid = TestCid(cid_base_);
  const std::string image_cid = TestCid(cid_base_ + 1);
  const std::string broken_cid = TestCid(cid_base_ + 2);
  const std::string broken_meta_cid = TestCid(cid_base_ + 3);
  ASSERT_TRUE(SetOutcome(broken_cid, "failed").ok());
  ASSERT_TRUE(SetOutcome(broken_meta_cid, "failed").ok());
  for (const std::string& c :
       {meta_cid, image_cid, broken_cid, broken_meta_cid})
    AddPin(c);
  const int64_t image = AddResource(image_cid);
  const int64_t partial =
      AddToken(3, AddResource(meta_cid), {image, AddResource(broken_cid)});
  const int64_t failed = AddToken(4, AddResource(broken_meta_cid), {image});
  PinTrackerOptions options = Options();
  options.max_repins = 0;
  std::unique_ptr<PinTracker> tracker = Tracker(options);
  ASSERT_TRUE(Drive(*tracker, [&] {
    return QueryInt(
               "SELECT count(*) FROM pins WHERE status IN ('pinned', "
               "'failed')") == 4;
  }));
  EXPECT_EQ(TokenStatus(partial),
            "partial|pin_failed|$.image1: the backend reports the pin failed "
            "(after 0 re-pins; re-checked every 6h)");
  EXPECT_TRUE(
      absl::StartsWith(TokenStatus(failed), "failed|pin_failed|token URI: "))
      << TokenStatus(failed);

  auto metrics = Metrics::Start("127.0.0.1:0", "pin_tracker_pgtest");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  TrackerServiceImpl service(*repo_, [](int64_t) {});
  auto server = GrpcServer::Start("127.0.0.1:0", {&service}, **metrics, {});
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::Tracker::NewStub(
      MakeChannel(absl::StrCat("127.0.0.1:", (*server)->port()), {}));
  v1::GetTokenStatusRequest request;
  request.mutable_token()->set_chain_id(1);
  request.mutable_token()->set_contract(kContract);
  request.mutable_token()->set_token_id("3");
  v1::TokenStatusReport report;
  grpc::ClientContext context;
  grpc::Status s = stub->GetTokenStatus(&context, request, &report);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(report.status(), v1::TOKEN_STATUS_PARTIAL);
  EXPECT_EQ(report.failure().reason(), "pin_failed");
  ASSERT_EQ(report.assets_size(), 2);
  EXPECT_EQ(report.assets(0).resource().status(), v1::RESOURCE_STATUS_PINNED);
  EXPECT_EQ(report.assets(1).resource().status(), v1::RESOURCE_STATUS_FAILED);

  v1::ListTokensRequest list;
  list.set_chain_id(1);
  list.set_status(v1::TOKEN_STATUS_PARTIAL);
  v1::ListTokensResponse listed;
  grpc::ClientContext list_context;
  s = stub->ListTokens(&list_context, list, &listed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(listed.tokens_size(), 1);
  EXPECT_EQ(listed.tokens(0).token().token_id(), "3");
  (*server)->Shutdown(absl::Seconds(1));
}

// A backend outage is not a pin failure: the pins keep their state, note the
// reason, are not re-pinned, and are confirmed once the service is back.
TEST_F(PinTrackerPgTest, BackendOutageIsNotAPinFailure) {
  const std::string cid = TestCid(cid_base_);
  const int64_t pin = AddPin(cid);
  const int posts = Requests("POST /pins");
  std::unique_ptr<PinTracker> tracker = Tracker(Options());
  ASSERT_TRUE(standin_->FailNext(503, "SERVICE_UNAVAILABLE", 2).ok());
  tracker->Step();
  EXPECT_EQ(PinColumn(pin, "status"), "pinning");
  EXPECT_EQ(PinColumn(pin, "reason"), "backend_unavailable");
  ASSERT_TRUE(
      Drive(*tracker, [&] { return PinColumn(pin, "status") == "pinned"; }));
  EXPECT_EQ(PinColumn(pin, "repins"), "0");
  EXPECT_EQ(Requests("POST /pins") - posts, 0);
}

}  // namespace
}  // namespace niftysave::tracker
