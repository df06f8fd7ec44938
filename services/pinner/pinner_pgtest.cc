// The pinner end to end in one process: ResourcePinner with
// PgPinnerRepository against a real Postgres, downloading from the fixture
// web server and pinning on real backends (the js-ipfs node through the kubo
// RPC API, a CAR store directory, the Pinning Service stand-in).
//
// Checks the streaming path (large assets go through a temp file, capped
// mid-stream, the temp dir is empty afterwards, the process's peak RSS does
// not grow by the asset's size), replication to N backends, idempotent
// replays and Retry-After.

#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/db/migrations.h"
#include "common/db/pool.h"
#include "common/db/work_queue.h"
#include "common/fetch/content_fetcher.h"
#include "common/http/address_policy.h"
#include "common/http/http_client.h"
#include "common/ipfs/car_store_backend.h"
#include "common/ipfs/dag_pb.h"
#include "common/ipfs/dag_walk.h"
#include "common/ipfs/kubo_backend.h"
#include "common/ipfs/pinning_service_backend.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/uri/token_uri.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/pinner/pg_pinner_repository.h"
#include "services/pinner/resource_pinner.h"
#include "tests/harness/fixture_http_server.h"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/pinning_service_standin.h"
#include "tests/harness/postgres_server.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::pinner {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr size_t kMaxAsset = 50'000'000;

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    out.push_back(entry.path().filename().string());
  }
  return out;
}

// The CID of `size` bytes of 'x' (what the fixture's /huge serves), computed
// 1 MiB at a time.
std::string CidOfXs(size_t size, const ipfs::ImportProfile& profile) {
  ipfs::UnixfsImporter importer(profile, nullptr);
  const std::string chunk(1 << 20, 'x');
  for (size_t left = size; left > 0;) {
    const size_t n = std::min(left, chunk.size());
    EXPECT_TRUE(importer.Update(absl::string_view(chunk.data(), n)).ok());
    left -= n;
  }
  return ipfs::CidText(*importer.Finish());
}

std::string CidOf(const std::string& bytes,
                  const ipfs::ImportProfile& profile) {
  ipfs::UnixfsImporter importer(profile, nullptr);
  EXPECT_TRUE(importer.Update(bytes).ok());
  return ipfs::CidText(*importer.Finish());
}

long PeakRssKb() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

struct Resource {
  std::string status;
  std::string reason;
  std::string pinned_cid;
};

class PinnerPgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { status_ = new absl::Status(Start()); }
  static absl::Status Start() {
    auto pg = harness::PostgresServer::Start();
    if (!pg.ok()) return pg.status();
    pg_ = pg->release();
    if (auto v = db::Migrate(pg_->ConnectionString()); !v.ok()) {
      return v.status();
    }
    auto pool = db::Pool::Create(pg_->ConnectionString(), 4);
    if (!pool.ok()) return pool.status();
    pool_ = pool->release();
    queue_ = new db::WorkQueue(*pool_, "pin", "pinner-pgtest",
                               {.lease = absl::Minutes(5)});
    repo_ = new PgPinnerRepository(*pool_, *queue_);
    auto root = harness::TempDir::Create("pinner-pgtest-www");
    if (!root.ok()) return root.status();
    root_ = new harness::TempDir(std::move(*root));
    auto server = harness::FixtureHttpServer::Start(root_->path());
    if (!server.ok()) return server.status();
    server_ = server->release();
    auto node = harness::IpfsNode::Start();
    if (!node.ok()) return node.status();
    node_ = node->release();
    auto standin = harness::PinningServiceStandin::Start("secret-token");
    if (!standin.ok()) return standin.status();
    standin_ = standin->release();
    auto store_dir = harness::TempDir::Create("pinner-pgtest-cars");
    if (!store_dir.ok()) return store_dir.status();
    store_dir_ = new harness::TempDir(std::move(*store_dir));

    http::HttpClientOptions user;
    user.address_policy = *http::AddressPolicy::PublicOnly({"127.0.0.1/32"});
    user.limits.max_body_bytes = kMaxAsset;
    user.limits.total_timeout = absl::Seconds(60);
    user_http_ = new http::HttpClient(user);
    http::HttpClientOptions trusted;
    trusted.limits.total_timeout = absl::Seconds(120);
    trusted_http_ = new http::HttpClient(trusted);
    fetcher_ =
        new fetch::ContentFetcher(*user_http_, *trusted_http_,
                                  {.ipfs_gateways = {node_->gateway_url()},
                                   .max_bytes = kMaxAsset,
                                   .ipfs_api_url = node_->api_url()});
    kubo_ =
        new ipfs::KuboBackend(*trusted_http_, {.api_url = node_->api_url(),
                                               .pin_timeout = absl::Seconds(20),
                                               .max_upload_bytes = kMaxAsset});
    auto store = ipfs::CarStoreBackend::Open({.dir = store_dir_->path()});
    if (!store.ok()) return store.status();
    car_store_ = store->release();
    pinning_service_ = new ipfs::PinningServiceBackend(
        *trusted_http_,
        {.endpoint = standin_->url(), .access_token = standin_->token()});
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    delete pinning_service_;
    delete car_store_;
    delete kubo_;
    delete fetcher_;
    delete trusted_http_;
    delete user_http_;
    delete store_dir_;
    delete standin_;
    delete node_;
    delete server_;
    delete root_;
    delete repo_;
    delete queue_;
    delete pool_;
    delete pg_;
    delete status_;
  }
  void SetUp() override {
    ASSERT_TRUE(status_->ok()) << *status_;
    auto tmp = harness::TempDir::Create("pinner-pgtest-tmp");
    ASSERT_TRUE(tmp.ok()) << tmp.status();
    tmp_ = std::make_unique<harness::TempDir>(std::move(*tmp));
  }

  // A resource row, queued for pinning.
  static int64_t AddResource(const std::string& normalized,
                             const std::string& kind,
                             const std::string& cid = "") {
    int64_t id = 0;
    absl::Status s = pool_->Run([&](pqxx::work& txn) {
      // The path under the root, as the extractor records it.
      id = txn.exec_params1(
                  "INSERT INTO resources (uri_hash, normalized, kind, cid, "
                  "path) VALUES (decode(md5($1), 'hex'), $1, $2, "
                  "NULLIF($3, ''), $4) RETURNING id",
                  normalized, kind, cid, uri::ResolveUri(normalized).path)[0]
               .as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE(repo_->Enqueue({id}).ok());
    return id;
  }
  static Resource Load(int64_t id) {
    Resource r;
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      pqxx::row row = txn.exec_params1(
                          "SELECT status, coalesce(reason, ''), "
                          "coalesce(pinned_cid, '') FROM resources "
                          "WHERE id = $1",
                          id);
                      r = {row[0].as<std::string>(), row[1].as<std::string>(),
                           row[2].as<std::string>()};
                      return absl::OkStatus();
                    })
                    .ok());
    return r;
  }
  // "backend cid" of every pin of `cids`.
  static std::vector<std::string> Pins(const std::vector<std::string>& cids) {
    std::vector<std::string> out;
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      out.clear();
                      for (const std::string& cid : cids) {
                        for (const auto& row : txn.exec_params(
                                 "SELECT backend FROM pins WHERE cid = $1 "
                                 "ORDER BY id",
                                 cid)) {
                          out.push_back(row[0].as<std::string>() + " " + cid);
                        }
                      }
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  // The lease on resource `id`'s pin item runs out now.
  static void ExpireLease(int64_t id) {
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      txn.exec_params(
                          "UPDATE work_queue SET run_after = now() - "
                          "interval '1 second' WHERE queue = 'pin' AND "
                          "item_id = $1",
                          id);
                      return absl::OkStatus();
                    })
                    .ok());
  }

  // The item holding the claim of (cid, backend), 0 when unclaimed.
  static int64_t ClaimHolder(const std::string& cid,
                             const std::string& backend = "b") {
    int64_t holder = -1;
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      pqxx::result r = txn.exec_params(
                          "SELECT item_id FROM pin_claims WHERE cid = $1 "
                          "AND backend = $2",
                          cid, backend);
                      holder = r.empty() ? 0 : r[0][0].as<int64_t>();
                      return absl::OkStatus();
                    })
                    .ok());
    return holder;
  }

  // Steps until nothing is due; returns the observer's per-backend outcomes.
  std::vector<std::string> RunPinner(std::vector<ipfs::PinBackend*> backends,
                                     int replication,
                                     uint64_t max_pin_bytes = uint64_t{1} << 30,
                                     size_t download_memory_bytes = 0,
                                     std::string tmp_dir = "") {
    std::vector<std::string> outcomes;
    absl::Mutex mu;
    PinObserver observer;
    observer.finished = [&](const std::string& backend,
                            const std::string& outcome,
                            const std::string& reason) {
      absl::MutexLock lock(&mu);
      outcomes.push_back(absl::StrCat(backend, ":", outcome,
                                      reason.empty() ? "" : ":", reason));
    };
    observer.bytes = [&](const std::string& stage, uint64_t n) {
      absl::MutexLock lock(&mu);
      bytes_[stage] += n;
    };
    ResourcePinner pinner(
        *repo_, *fetcher_,
        [](const uri::Cid& cid) { return fetcher_->FetchBlock(cid); },
        std::move(backends),
        {.batch_size = 4,
         .replication = replication,
         .tmp_dir = tmp_dir.empty() ? tmp_->path() : tmp_dir,
         .download_memory_bytes = download_memory_bytes,
         .max_upload_bytes = kMaxAsset,
         .max_pin_bytes = max_pin_bytes},
        observer);
    while (pinner.Step() > 0) {
    }
    return outcomes;
  }

  std::unique_ptr<harness::TempDir> tmp_;
  std::map<std::string, uint64_t> bytes_;

  static harness::PostgresServer* pg_;
  static db::Pool* pool_;
  static db::WorkQueue* queue_;
  static PgPinnerRepository* repo_;
  static harness::TempDir* root_;
  static harness::FixtureHttpServer* server_;
  static harness::IpfsNode* node_;
  static harness::PinningServiceStandin* standin_;
  static harness::TempDir* store_dir_;
  static http::HttpClient* user_http_;
  static http::HttpClient* trusted_http_;
  static fetch::ContentFetcher* fetcher_;
  static ipfs::KuboBackend* kubo_;
  static ipfs::CarStoreBackend* car_store_;
  static ipfs::PinningServiceBackend* pinning_service_;
  static absl::Status* status_;
};

harness::PostgresServer* PinnerPgTest::pg_ = nullptr;
db::Pool* PinnerPgTest::pool_ = nullptr;
db::WorkQueue* PinnerPgTest::queue_ = nullptr;
PgPinnerRepository* PinnerPgTest::repo_ = nullptr;
harness::TempDir* PinnerPgTest::root_ = nullptr;
harness::FixtureHttpServer* PinnerPgTest::server_ = nullptr;
harness::IpfsNode* PinnerPgTest::node_ = nullptr;
harness::PinningServiceStandin* PinnerPgTest::standin_ = nullptr;
harness::TempDir* PinnerPgTest::store_dir_ = nullptr;
http::HttpClient* PinnerPgTest::user_http_ = nullptr;
http::HttpClient* PinnerPgTest::trusted_http_ = nullptr;
fetch::ContentFetcher* PinnerPgTest::fetcher_ = nullptr;
ipfs::KuboBackend* PinnerPgTest::kubo_ = nullptr;
ipfs::CarStoreBackend* PinnerPgTest::car_store_ = nullptr;
ipfs::PinningServiceBackend* PinnerPgTest::pinning_service_ = nullptr;
absl::Status* PinnerPgTest::status_ = nullptr;

// First in the suite, so the peak RSS before it is the suite's baseline.
TEST_F(PinnerPgTest, LargeAssetIsStreamedThroughATempFileToIpfs) {
  constexpr size_t kSize = 40'000'000;  // under the 50 MB cap
  const int64_t ok = AddResource(
      absl::StrCat(server_->http_url(), "/huge?bytes=", kSize), "http");
  // Over the cap: with a Content-Length (refused up front) and chunked
  // (refused mid-stream, after part of it was written to the temp file).
  const int64_t declared = AddResource(
      absl::StrCat(server_->http_url(), "/huge?bytes=60000000"), "http");
  const int64_t chunked = AddResource(
      absl::StrCat(server_->http_url(), "/huge?bytes=60000000&chunked=1"),
      "http");
  const long rss_before = PeakRssKb();
  RunPinner({kubo_}, 1);
  const long rss_growth_kb = PeakRssKb() - rss_before;

  const std::string cid = CidOfXs(kSize, ipfs::KuboV1Profile());
  const Resource pinned = Load(ok);
  EXPECT_EQ(pinned.status, "pinning") << pinned.reason;
  EXPECT_EQ(pinned.pinned_cid, cid);
  EXPECT_THAT(Pins({cid}), ElementsAre("kubo " + cid));
  absl::StatusOr<ipfs::PinState> state = kubo_->Status(cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, ipfs::PinState::kPinned);
  EXPECT_EQ(Load(declared).reason, "too_large");
  EXPECT_EQ(Load(declared).status, "failed");
  EXPECT_EQ(Load(chunked).reason, "too_large");
  EXPECT_EQ(Load(chunked).status, "failed");
  EXPECT_EQ(bytes_["downloaded"], kSize);
  EXPECT_EQ(bytes_["hashed"], kSize);
  EXPECT_EQ(bytes_["uploaded"], kSize);
  // Nothing left behind, and the asset was never held in memory: holding it
  // (as the body, then as the multipart copy) would have raised the peak by
  // 40-80 MB.
  EXPECT_THAT(Entries(tmp_->path()), IsEmpty());
  EXPECT_LT(rss_growth_kb, 20 * 1024)
      << "peak RSS grew by " << rss_growth_kb << " KiB for a 40 MB asset";
}

// Within --download_memory_bytes / --workers an asset never touches the
// temp directory: here one that does not exist. One byte past it, the asset
// moves to a file there, and that fails.
TEST_F(PinnerPgTest, SmallAssetsArePinnedFromMemoryWithoutATempFile) {
  constexpr size_t kMemory = 64 << 10;
  const int64_t small = AddResource(
      absl::StrCat(server_->http_url(), "/huge?bytes=", kMemory, "&chunked=1"),
      "http");
  const int64_t large =
      AddResource(absl::StrCat(server_->http_url(), "/huge?bytes=", kMemory + 1,
                               "&chunked=1"),
                  "http");
  EXPECT_THAT(
      RunPinner({car_store_}, 1, uint64_t{1} << 30, kMemory,
                tmp_->path() + "/gone"),
      UnorderedElementsAre("car-store:requested", "none:retry:write_failed"));
  const std::string cid = CidOfXs(kMemory, ipfs::IpfsCarProfile());
  EXPECT_EQ(Load(small).status, "pinning") << Load(small).reason;
  EXPECT_EQ(Load(small).pinned_cid, cid);
  absl::StatusOr<ipfs::PinState> state = car_store_->Status(cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, ipfs::PinState::kPinned);
  EXPECT_EQ(Load(large).status, "queued");
  EXPECT_EQ(bytes_["downloaded"], kMemory);
  EXPECT_EQ(bytes_["hashed"], kMemory);
  EXPECT_EQ(bytes_["uploaded"], kMemory);
  EXPECT_THAT(Entries(tmp_->path()), IsEmpty());
}

TEST(DownloadMemoryBytesTest, SplitsTheBudgetOverTheWorkersUpTo1MiB) {
  EXPECT_EQ(DownloadMemoryBytes(32 << 20, 32), size_t{1} << 20);
  EXPECT_EQ(DownloadMemoryBytes(32 << 20, 256), size_t{128} << 10);
  EXPECT_EQ(DownloadMemoryBytes(1 << 30, 1), kMaxDownloadMemoryBytes);
  EXPECT_EQ(DownloadMemoryBytes(0, 32), 0u);
}

TEST_F(PinnerPgTest, ReplicatesOncePerBackendAndReplaysAddNothing) {
  // 3 MB of random bytes: several chunks, so kubo-v1 (256 KiB chunks) and
  // ipfs-car (1 MiB chunks) give different CIDs.
  std::mt19937 rng(5);
  std::string bytes(3'000'000, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  std::ofstream(root_->path() + "/asset.bin", std::ios::binary) << bytes;
  const std::string kubo_cid = CidOf(bytes, ipfs::KuboV1Profile());
  const std::string car_cid = CidOf(bytes, ipfs::IpfsCarProfile());
  ASSERT_NE(kubo_cid, car_cid);
  const int64_t id = AddResource(server_->http_url() + "/asset.bin", "http");

  EXPECT_THAT(RunPinner({kubo_, car_store_}, 2),
              ElementsAre("kubo:requested", "car-store:requested"));
  EXPECT_EQ(Load(id).pinned_cid, kubo_cid);
  EXPECT_THAT(Pins({kubo_cid, car_cid}),
              ElementsAre("kubo " + kubo_cid, "car-store " + car_cid));
  EXPECT_TRUE(
      std::filesystem::exists(store_dir_->path() + "/" + car_cid + ".car"));

  // Replayed (the request comes again): no backend is asked, no pin added.
  ASSERT_TRUE(repo_->Enqueue({id}).ok());
  EXPECT_THAT(RunPinner({kubo_, car_store_}, 2),
              ElementsAre("kubo:exists", "car-store:exists"));
  EXPECT_THAT(Pins({kubo_cid, car_cid}),
              ElementsAre("kubo " + kubo_cid, "car-store " + car_cid));
  EXPECT_THAT(Entries(tmp_->path()), IsEmpty());
}

// Two resources of one batch with the same bytes: the backend is asked
// once, and the pin it accepted is recorded once, with both resources.
TEST_F(PinnerPgTest, ResourcesOfABatchSharingBytesShareOneRequest) {
  const std::string bytes(300'000, 'q');
  std::ofstream(root_->path() + "/same-a.bin", std::ios::binary) << bytes;
  std::ofstream(root_->path() + "/same-b.bin", std::ios::binary) << bytes;
  const std::string cid = CidOf(bytes, ipfs::IpfsCarProfile());
  const int64_t a = AddResource(server_->http_url() + "/same-a.bin", "http");
  const int64_t b = AddResource(server_->http_url() + "/same-b.bin", "http");

  EXPECT_THAT(RunPinner({car_store_}, 1),
              ElementsAre("car-store:requested", "car-store:exists"));
  EXPECT_EQ(bytes_["downloaded"], 2 * bytes.size());
  EXPECT_EQ(bytes_["uploaded"], bytes.size());  // asked once
  EXPECT_THAT(Pins({cid}), ElementsAre("car-store " + cid));
  for (int64_t id : {a, b}) {
    EXPECT_EQ(Load(id).status, "pinning") << id;
    EXPECT_EQ(Load(id).pinned_cid, cid) << id;
  }
  EXPECT_EQ(ClaimHolder(cid, "car-store"), 0);
}

// A leased batch is loaded in one query, its stored metadata bytes only up
// to kMaxBatchStoredBytes (3 x 3 MB here: the first comes along, the other
// two are read alone), and each is pinned from the bytes it was stored with.
TEST_F(PinnerPgTest, StoredBytesOverTheBatchBudgetAreReadAlone) {
  std::vector<int64_t> ids;
  std::vector<std::string> docs;
  for (int i = 0; i < 3; ++i) {
    docs.push_back(std::string(3'000'000, static_cast<char>('a' + i)));
    const int64_t id = AddResource(
        absl::StrCat(server_->http_url(), "/stored-", i, ".json"), "http");
    ASSERT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      txn.exec_params(
                          "INSERT INTO metadata (resource_id, sha256, size, "
                          "raw) VALUES ($1, sha256($2), $3, $2)",
                          id, pqxx::binarystring(docs.back()),
                          static_cast<int64_t>(docs.back().size()));
                      return absl::OkStatus();
                    })
                    .ok());
    ids.push_back(id);
  }
  absl::StatusOr<std::map<int64_t, ResourceToPin>> batch =
      repo_->LoadResources(ids);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->size(), 3u);
  EXPECT_EQ(batch->at(ids[0]).stored_bytes.value_or(""), docs[0]);
  for (int i : {1, 2}) {
    EXPECT_FALSE(batch->at(ids[i]).stored_bytes.has_value());
    EXPECT_TRUE(batch->at(ids[i]).stored_bytes_deferred);
  }

  EXPECT_THAT(RunPinner({car_store_}, 1),
              ElementsAre("car-store:requested", "car-store:requested",
                          "car-store:requested"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Load(ids[i]).pinned_cid, CidOf(docs[i], ipfs::IpfsCarProfile()));
  }
}

// A Zora-style token's content, which the extractor found to match the
// token's on-chain hash, is checked again when the pinner fetches it to pin:
// bytes the server changed since are not archived as that content. A link
// the extractor did not verify is not checked.
TEST_F(PinnerPgTest, VerifiedContentMustStillMatchItsOnChainHashWhenPinned) {
  const std::string same = "zora content, as minted\n";
  ASSERT_TRUE(harness::WriteFile(root_->path() + "/zora-same.txt", same).ok());
  ASSERT_TRUE(
      harness::WriteFile(root_->path() + "/zora-changed.txt", "replaced\n")
          .ok());
  ASSERT_TRUE(
      harness::WriteFile(root_->path() + "/zora-unchecked.txt", "other\n")
          .ok());
  const int64_t kept =
      AddResource(server_->http_url() + "/zora-same.txt", "http");
  const int64_t changed =
      AddResource(server_->http_url() + "/zora-changed.txt", "http");
  const int64_t unchecked =
      AddResource(server_->http_url() + "/zora-unchecked.txt", "http");
  // token_id, the content hash it committed to, its link's resource and
  // whether the extractor verified it.
  auto link = [](int token_id, const std::string& committed_to,
                 int64_t resource, bool verified) {
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      const int64_t pk =
                          txn.exec_params1(
                                 "INSERT INTO tokens (chain_id, contract, "
                                 "token_id, content_sha256) VALUES (1, "
                                 "decode(repeat('ee', 20), 'hex'), $1, "
                                 "sha256(convert_to($2, 'UTF8'))) "
                                 "RETURNING id",
                                 token_id, committed_to)[0]
                              .as<int64_t>();
                      txn.exec_params(
                          "INSERT INTO token_resources (token_pk, json_path, "
                          "resource_id, role, uri, verified) VALUES ($1, "
                          "'tokenURI()', $2, 'asset', 'u', $3)",
                          pk, resource, verified);
                      return absl::OkStatus();
                    })
                    .ok());
  };
  link(1, same, kept, true);
  link(2, "zora content, as minted, before the server changed it\n", changed,
       true);
  link(3, "not what is served\n", unchecked, false);
  absl::StatusOr<std::map<int64_t, ResourceToPin>> batch =
      repo_->LoadResources({kept, changed, unchecked});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->at(kept).expected_sha256,
            absl::BytesToHexString(ipfs::Sha256(same)));
  EXPECT_EQ(batch->at(unchecked).expected_sha256, "");

  RunPinner({kubo_}, 1);
  const std::string cid = CidOf(same, ipfs::KuboV1Profile());
  EXPECT_EQ(Load(kept).status, "pinning") << Load(kept).reason;
  EXPECT_EQ(Load(kept).pinned_cid, cid);
  EXPECT_EQ(Load(changed).status, "failed");
  EXPECT_EQ(Load(changed).reason, "hash_mismatch");
  EXPECT_THAT(Pins({CidOf("replaced\n", ipfs::KuboV1Profile())}), IsEmpty());
  EXPECT_EQ(Load(unchecked).status, "pinning") << Load(unchecked).reason;
}

TEST_F(PinnerPgTest, PermanentFailureSkipsToTheNextBackend) {
  // Content the IPFS node holds; the CAR store cannot fetch it.
  absl::StatusOr<std::string> cid =
      node_->Add("pinned by CID, replicated",
                 {.query = "cid-version=1", .filename = "by-cid.txt"});
  ASSERT_TRUE(cid.ok()) << cid.status();
  const int64_t id = AddResource("ipfs://" + *cid, "ipfs", *cid);
  EXPECT_THAT(RunPinner({car_store_, kubo_}, 1),
              ElementsAre("car-store:failed:rejected", "kubo:requested"));
  EXPECT_EQ(Load(id).status, "pinning");
  EXPECT_THAT(Pins({*cid}), ElementsAre("kubo " + *cid));
}

// Pins by CID are checked from the node's verified blocks before anything is
// pinned: a path that is not under the root fails path_not_found, a root
// over --max_pin_bytes is refused too_large, and an asset inside an
// oversized root is pinned alone. Directories of more than 1,000 entries
// are HAMT-sharded by the node: the path is found through the shards.
TEST_F(PinnerPgTest, PinsByCidAreCheckedForPathAndSize) {
  const std::string image(40000, 'i');
  std::vector<std::pair<std::string, std::string>> files = {
      {"a.png", image}, {"big.bin", std::string(300000, 'b')}};
  absl::StatusOr<std::string> dir = node_->AddDirectory(files);
  ASSERT_TRUE(dir.ok()) << dir.status();
  absl::StatusOr<std::string> image_cid =
      node_->Add(image, {.query = "cid-version=1&cid-base=base32"});
  ASSERT_TRUE(image_cid.ok()) << image_cid.status();

  const int64_t missing =
      AddResource("ipfs://" + *dir + "/missing.png", "ipfs", *dir);
  const int64_t whole = AddResource("ipfs://" + *dir, "ipfs", *dir);
  const int64_t inside = AddResource("ipfs://" + *dir + "/a.png", "ipfs", *dir);
  // Over the 64 KB cap: the root (340 KB) and big.bin; a.png (40 KB) fits.
  RunPinner({kubo_}, 1, 64000);
  EXPECT_EQ(Load(missing).status, "failed");
  EXPECT_EQ(Load(missing).reason, "path_not_found");
  EXPECT_EQ(Load(whole).status, "failed");
  EXPECT_EQ(Load(whole).reason, "too_large");
  EXPECT_EQ(Load(inside).pinned_cid, *image_cid);
  EXPECT_THAT(Pins({*dir}), ::testing::IsEmpty());
  EXPECT_THAT(Pins({*image_cid}), ElementsAre("kubo " + *image_cid));

  // A HAMT-sharded directory (the node shards above 10 entries when asked;
  // 300 entries in 256 buckets put some under sub-shards): every entry is
  // found through the shards from verified blocks, and pins by path work.
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 300; ++i) {
    many.push_back({absl::StrCat("f", i, ".txt"), absl::StrCat("file ", i)});
  }
  absl::StatusOr<std::string> sharded = node_->AddDirectory(
      many, "cid-version=1&cid-base=base32&shard-split-threshold=10");
  ASSERT_TRUE(sharded.ok()) << sharded.status();
  absl::StatusOr<std::string> root_block =
      fetcher_->FetchBlock(*uri::ParseCid(*sharded));
  ASSERT_TRUE(root_block.ok()) << root_block.status();
  absl::StatusOr<ipfs::PbNode> pb = ipfs::DecodePbNode(*root_block);
  ASSERT_TRUE(pb.ok() && pb->data.has_value());
  ASSERT_EQ(ipfs::DecodeUnixfsData(*pb->data)->type,
            ipfs::kUnixfsHamtShardType);
  const ipfs::BlockSource blocks = [](const uri::Cid& cid) {
    return fetcher_->FetchBlock(cid);
  };
  for (const auto& [name, content] : many) {
    absl::StatusOr<ipfs::DagNode> found =
        ipfs::ResolvePath(blocks, *uri::ParseCid(*sharded), "/" + name);
    ASSERT_TRUE(found.ok()) << name << ": " << found.status();
    EXPECT_EQ(found->block, content) << name;  // raw leaves
  }
  const int64_t deep =
      AddResource("ipfs://" + *sharded + "/f299.txt", "ipfs", *sharded);
  const int64_t absent =
      AddResource("ipfs://" + *sharded + "/f300.txt", "ipfs", *sharded);
  RunPinner({kubo_}, 1);
  EXPECT_EQ(Load(deep).pinned_cid, *sharded);
  EXPECT_EQ(Load(absent).status, "failed");
  EXPECT_EQ(Load(absent).reason, "path_not_found");
}

TEST_F(PinnerPgTest, RateLimitedBackendIsRetriedNoSoonerThanRetryAfter) {
  absl::StatusOr<std::string> cid =
      node_->Add("pinned through a rate-limited service",
                 {.query = "cid-version=1", .filename = "limited.txt"});
  ASSERT_TRUE(cid.ok()) << cid.status();
  const int64_t id = AddResource("ipfs://" + *cid, "ipfs", *cid);
  ASSERT_TRUE(standin_->FailNext(429, "RATE_LIMIT", 1, 300).ok());
  EXPECT_THAT(RunPinner({pinning_service_}, 1),
              ElementsAre("pinning-service:retry:rate_limited"));
  EXPECT_EQ(Load(id).status, "queued");
  double due_in = 0;
  std::string last_error;
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    pqxx::row row = txn.exec_params1(
                        "SELECT extract(epoch FROM run_after - now()), "
                        "last_error FROM work_queue "
                        "WHERE queue = 'pin' AND item_id = $1",
                        id);
                    due_in = row[0].as<double>();
                    last_error = row[1].as<std::string>();
                    return absl::OkStatus();
                  })
                  .ok());
  // The queue's own back-off for a first attempt is about a second.
  EXPECT_GT(due_in, 290) << last_error;
  EXPECT_THAT(last_error, ::testing::HasSubstr("rate_limited"));
}

// Two replicas (two pinners with their own worker ids and leases) work many
// resources under one root CID at once, against a slow Pinning Service: the
// service sees exactly one POST /pins for the CID. Without the claim each
// replica asks while the other's request is in flight.
TEST_F(PinnerPgTest, ReplicasSharingARootCidSendOnePinRequest) {
  constexpr int kResources = 8;
  std::vector<std::pair<std::string, std::string>> files;
  for (int i = 0; i < kResources; ++i) {
    files.push_back({absl::StrCat("t", i, ".json"), absl::StrCat("token ", i)});
  }
  absl::StatusOr<std::string> dir = node_->AddDirectory(files);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::vector<int64_t> ids;
  for (const auto& [name, content] : files) {
    ids.push_back(AddResource("ipfs://" + *dir + "/" + name, "ipfs", *dir));
  }
  ASSERT_TRUE(standin_->SetDelay(absl::Milliseconds(500)).ok());
  auto queued = [&] {
    int n = 0;
    for (int64_t id : ids) n += Load(id).status == "queued" ? 1 : 0;
    return n;
  };
  // Short back-off and enough attempts to outwait the slow request.
  const db::QueuePolicy policy{
      .lease = absl::Seconds(30),
      .max_attempts = 30,
      .backoff = {.initial = absl::Milliseconds(200), .max = absl::Seconds(1)}};
  std::vector<std::thread> replicas;
  for (const std::string worker : {"replica-a", "replica-b"}) {
    replicas.emplace_back([&, worker] {
      db::WorkQueue queue(*pool_, "pin", worker, policy);
      PgPinnerRepository repo(*pool_, queue);
      ResourcePinner pinner(
          repo, *fetcher_,
          [](const uri::Cid& cid) { return fetcher_->FetchBlock(cid); },
          {pinning_service_}, {.batch_size = 2, .tmp_dir = tmp_->path()}, {});
      const absl::Time deadline = absl::Now() + absl::Seconds(60);
      while (queued() > 0 && absl::Now() < deadline) {
        if (pinner.Step() == 0) absl::SleepFor(absl::Milliseconds(50));
      }
    });
  }
  for (std::thread& t : replicas) t.join();
  ASSERT_TRUE(standin_->SetDelay(absl::ZeroDuration()).ok());

  EXPECT_EQ(*standin_->RequestCount("POST /pins " + *dir), 1);
  for (int64_t id : ids) {
    EXPECT_EQ(Load(id).status, "pinning") << id << ": " << Load(id).reason;
    EXPECT_EQ(Load(id).pinned_cid, *dir) << id;
  }
  EXPECT_THAT(Pins({*dir}), ElementsAre("pinning-service " + *dir));
  int claims = -1;
  ASSERT_TRUE(
      pool_
          ->Run([&](pqxx::work& txn) {
            claims = txn.exec1("SELECT count(*) FROM pin_claims")[0].as<int>();
            return absl::OkStatus();
          })
          .ok());
  EXPECT_EQ(claims, 0);  // dropped with the pin
}

// The claim follows its lease: held while the lease lives, taken over once
// it has run out (a claimer that crashed mid-request) or never existed, and
// gone with the recorded pin.
TEST_F(PinnerPgTest, APinClaimLivesAsLongAsItsLease) {
  const std::string cid = "bafkreiclaimfollowsitslease";
  const int64_t id = AddResource("ipfs://" + cid + "/claim", "ipfs", cid);
  absl::StatusOr<std::vector<db::QueueItem>> leased = queue_->Lease(100);
  ASSERT_TRUE(leased.ok()) << leased.status();
  auto it = std::find_if(leased->begin(), leased->end(),
                         [&](const db::QueueItem& i) { return i.id == id; });
  ASSERT_NE(it, leased->end());
  const db::QueueItem live = *it;
  const db::QueueItem gone{.id = 987654, .attempts = 1, .generation = 3};
  const db::QueueItem other{.id = 987655, .attempts = 1, .generation = 1};
  auto claim = [&](const db::QueueItem& who) {
    absl::StatusOr<PinClaim> c = repo_->ClaimPin(who, cid, "b");
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : PinClaim::kBusy;
  };
  EXPECT_EQ(claim(gone), PinClaim::kClaimed);
  EXPECT_EQ(claim(live), PinClaim::kClaimed);  // gone's lease does not exist
  EXPECT_EQ(claim(other), PinClaim::kBusy);    // live's lease runs
  EXPECT_EQ(claim(live), PinClaim::kClaimed);  // its own claim, again
  // live's lease runs out (its worker was killed mid-request).
  ExpireLease(id);
  EXPECT_EQ(claim(other), PinClaim::kClaimed);
  // A refused request drops its claim; only its own lease can drop it.
  ASSERT_TRUE(repo_->ReleasePin(live, cid, "b").ok());
  EXPECT_EQ(ClaimHolder(cid), other.id);
  ASSERT_TRUE(repo_->ReleasePin(other, cid, "b").ok());
  EXPECT_EQ(ClaimHolder(cid), 0);
  EXPECT_EQ(claim(live), PinClaim::kClaimed);
  ASSERT_TRUE(repo_->SavePin(cid, "b", "").ok());
  EXPECT_EQ(claim(other), PinClaim::kPinned);
  EXPECT_EQ(claim(live), PinClaim::kPinned);
  EXPECT_EQ(ClaimHolder(cid), 0);  // dropped with the recorded pin
  ASSERT_TRUE(repo_->Drop(live).ok());
}

// A recorded live pin answers the claim whoever holds a claim on the pair
// (the tracker re-pinning it, say): nothing is asked and no claim is taken.
// A failed pin is not live: the claim decides.
TEST_F(PinnerPgTest, ALivePinAnswersTheClaimEvenWhileAnotherLeaseHoldsOne) {
  const std::string cid = "bafkreilivepinwinsoverclaim";
  const int64_t id = AddResource("ipfs://" + cid, "ipfs", cid);
  absl::StatusOr<std::vector<db::QueueItem>> leased = queue_->Lease(100);
  ASSERT_TRUE(leased.ok()) << leased.status();
  auto it = std::find_if(leased->begin(), leased->end(),
                         [&](const db::QueueItem& i) { return i.id == id; });
  ASSERT_NE(it, leased->end());
  const db::QueueItem holder = *it;
  const db::QueueItem other{.id = 987656, .attempts = 1, .generation = 1};
  ASSERT_EQ(repo_->ClaimPin(holder, cid, "b").value_or(PinClaim::kBusy),
            PinClaim::kClaimed);
  auto set_pin = [&](const std::string& status) {
    ASSERT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      txn.exec_params(
                          "INSERT INTO pins (cid, backend, status) "
                          "VALUES ($1, 'b', $2) ON CONFLICT (cid, backend) "
                          "DO UPDATE SET status = EXCLUDED.status",
                          cid, status);
                      return absl::OkStatus();
                    })
                    .ok());
  };
  set_pin("failed");
  EXPECT_EQ(repo_->ClaimPin(other, cid, "b").value_or(PinClaim::kClaimed),
            PinClaim::kBusy);  // holder's lease runs
  set_pin("pinning");
  EXPECT_EQ(repo_->ClaimPin(other, cid, "b").value_or(PinClaim::kBusy),
            PinClaim::kPinned);
  EXPECT_EQ(ClaimHolder(cid), holder.id);  // untouched
  ASSERT_TRUE(repo_->ReleasePin(holder, cid, "b").ok());
  EXPECT_EQ(repo_->ClaimPin(other, cid, "b").value_or(PinClaim::kBusy),
            PinClaim::kPinned);
  EXPECT_EQ(ClaimHolder(cid), 0);  // none taken
  ASSERT_TRUE(repo_->Drop(holder).ok());
}

// A batch's pins and its resources' outcomes commit together; an item
// whose lease was lost still has its pin recorded (the backend holds it
// whoever holds the item) and its resource is left to the new holder.
TEST_F(PinnerPgTest, ABatchsPinsAndOutcomesCommitTogetherAndPinsOutliveLeases) {
  auto lease = [&](int64_t id) {
    absl::StatusOr<std::vector<db::QueueItem>> leased = queue_->Lease(100);
    EXPECT_TRUE(leased.ok()) << leased.status();
    for (const db::QueueItem& i : *leased) {
      if (i.id == id) return i;
    }
    ADD_FAILURE() << "resource " << id << " not leased";
    return db::QueueItem{};
  };
  auto queued = [&](const std::string& queue, int64_t id) {
    int64_t n = -1;
    EXPECT_TRUE(pool_
                    ->Run([&](pqxx::work& txn) {
                      n = txn.exec_params1(
                                 "SELECT count(*) FROM work_queue "
                                 "WHERE queue = $1 AND item_id = $2",
                                 queue, id)[0]
                              .as<int64_t>();
                      return absl::OkStatus();
                    })
                    .ok());
    return n;
  };
  // Two resources with the same bytes (one pin, accepted for the first and
  // carried by both), one whose CID's pin is already confirmed, and one
  // whose lease runs out before the batch is recorded.
  const std::string cid = "bafkreibatchsharedpin";
  const std::string confirmed_cid = "bafkreibatchconfirmedpin";
  const std::string lost_cid = "bafkreibatchpinoutliveslease";
  const int64_t first = AddResource("https://example.com/b1.png", "http");
  const int64_t second = AddResource("https://example.com/b2.png", "http");
  const int64_t confirmed = AddResource("https://example.com/b3.png", "http");
  const int64_t lost = AddResource("https://example.com/b4.png", "http");
  ASSERT_TRUE(pool_
                  ->Run([&](pqxx::work& txn) {
                    txn.exec_params(
                        "INSERT INTO pins (cid, backend, status) "
                        "VALUES ($1, 'b', 'pinned')",
                        confirmed_cid);
                    return absl::OkStatus();
                  })
                  .ok());
  absl::StatusOr<std::vector<db::QueueItem>> leased = queue_->Lease(100);
  ASSERT_TRUE(leased.ok()) << leased.status();
  std::map<int64_t, db::QueueItem> items;
  for (const db::QueueItem& i : *leased) items[i.id] = i;
  ASSERT_EQ(items.count(first) + items.count(second) + items.count(confirmed) +
                items.count(lost),
            4u);
  ASSERT_EQ(repo_->ClaimPin(items[first], cid, "b").value_or(PinClaim::kBusy),
            PinClaim::kClaimed);
  ASSERT_EQ(
      repo_->ClaimPin(items[lost], lost_cid, "b").value_or(PinClaim::kBusy),
      PinClaim::kClaimed);
  // The lost item's lease runs out and another worker takes it.
  ExpireLease(lost);
  const db::QueueItem taker = lease(lost);
  ASSERT_GT(taker.attempts, items[lost].attempts);

  absl::StatusOr<std::vector<SavedPinning>> saved =
      repo_->SaveResourcesPinning({
          {items[first], cid, {{cid, "b", "req-1"}}},
          {items[second], cid, {{cid, "b", "req-1"}}},
          {items[confirmed], confirmed_cid, {}},
          {items[lost], lost_cid, {{lost_cid, "b", ""}}},
      });
  ASSERT_TRUE(saved.ok()) << saved.status();
  ASSERT_EQ(saved->size(), 4u);
  ASSERT_EQ((*saved)[0].pin_ids.size(), 1u);
  EXPECT_EQ((*saved)[1].pin_ids, (*saved)[0].pin_ids);  // one pin for both
  EXPECT_TRUE((*saved)[2].pin_ids.empty());
  ASSERT_EQ((*saved)[3].pin_ids.size(), 1u);
  EXPECT_FALSE((*saved)[0].lease_lost);
  EXPECT_FALSE((*saved)[1].lease_lost);
  EXPECT_FALSE((*saved)[2].lease_lost);
  EXPECT_TRUE((*saved)[3].lease_lost);

  EXPECT_EQ(Pins({cid}), std::vector<std::string>{"b " + cid});
  EXPECT_EQ(ClaimHolder(cid), 0);
  EXPECT_EQ(queued("track", (*saved)[0].pin_ids[0]), 1);
  for (int64_t id : {first, second}) {
    EXPECT_EQ(Load(id).status, "pinning") << id;
    EXPECT_EQ(Load(id).pinned_cid, cid) << id;
    EXPECT_EQ(queued("pin", id), 0) << id;  // completed
  }
  EXPECT_EQ(Load(confirmed).status, "pinned");
  EXPECT_EQ(Load(confirmed).pinned_cid, confirmed_cid);
  EXPECT_EQ(queued("pin", confirmed), 0);

  EXPECT_EQ(Pins({lost_cid}), std::vector<std::string>{"b " + lost_cid});
  EXPECT_EQ(ClaimHolder(lost_cid), 0);
  EXPECT_EQ(queued("track", (*saved)[3].pin_ids[0]), 1);
  EXPECT_EQ(Load(lost).status, "queued");  // the taker's to record
  EXPECT_EQ(queued("pin", lost), 1);
  // The taker finds the pin and asks nothing.
  EXPECT_EQ(repo_->ClaimPin(taker, lost_cid, "b").value_or(PinClaim::kBusy),
            PinClaim::kPinned);
  ASSERT_TRUE(repo_->Drop(taker).ok());
}

}  // namespace
}  // namespace niftysave::pinner
