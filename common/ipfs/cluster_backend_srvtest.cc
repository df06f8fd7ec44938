// ClusterBackend against a loopback STAND-IN for the IPFS Cluster REST API
// (tests/harness/cluster_standin.js): no cluster peer runs here, so the
// stand-in follows the published v1 API, and builds added DAGs with the real
// js-ipfs node the harness starts.

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/ipfs/cluster_backend.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"
#include "tests/harness/cluster_standin.h"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/net.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::ipfs {
namespace {

constexpr char kAuth[] = "niftysave:pa55:word";

std::string CidOf(const std::string& content, const ImportProfile& profile) {
  UnixfsImporter importer(profile, nullptr);
  EXPECT_TRUE(importer.Update(content).ok());
  return CidText(*importer.Finish());
}
std::string PinnableCid(int i) {
  return CidOf(absl::StrCat("cluster pin ", i), KuboV1Profile());
}
std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) % 251);
  return s;
}

class ClusterBackendTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ipfs = harness::IpfsNode::Start();
    status_ = new absl::Status(ipfs.status());
    if (!ipfs.ok()) return;
    ipfs_ = ipfs->release();
    auto standin = harness::ClusterStandin::Start(
        {.ipfs_api_url = ipfs_->api_url(), .basic_auth = kAuth});
    *status_ = standin.status();
    if (standin.ok()) standin_ = standin->release();
  }
  static void TearDownTestSuite() {
    delete standin_;
    standin_ = nullptr;
    delete ipfs_;
    ipfs_ = nullptr;
    delete status_;
    status_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(status_->ok()) << *status_; }
  ClusterBackend Backend(std::string auth = kAuth) {
    return ClusterBackend(http_, {.endpoint = standin_->url(),
                                  .basic_auth = std::move(auth),
                                  .replication_min = 1,
                                  .replication_max = 2});
  }

  static harness::IpfsNode* ipfs_;
  static harness::ClusterStandin* standin_;
  static absl::Status* status_;
  http::HttpClient http_{http::HttpClientOptions{}};
};

harness::IpfsNode* ClusterBackendTest::ipfs_ = nullptr;
harness::ClusterStandin* ClusterBackendTest::standin_ = nullptr;
absl::Status* ClusterBackendTest::status_ = nullptr;

TEST_F(ClusterBackendTest, PinIsQueuedThenRollsUpToPinned) {
  ClusterBackend backend = Backend();
  const std::string cid = PinnableCid(-1);
  absl::StatusOr<PinReceipt> receipt = backend.PinCid(cid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->state, PinState::kQueued);
  // Allocated peers go pin_queued → pinning → pinned, one step per read.
  absl::StatusOr<PinState> state = backend.Status(cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kPinning);
  state = backend.Status(cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kPinned);
}

TEST_F(ClusterBackendTest, UntrackedCidIsFailedAndAbsentFromMany) {
  ClusterBackend backend = Backend();
  const std::string cid = PinnableCid(-2);
  absl::StatusOr<PinState> state = backend.Status(cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kFailed);
  absl::StatusOr<std::map<std::string, PinState>> many =
      backend.StatusMany({cid});
  ASSERT_TRUE(many.ok()) << many.status();
  EXPECT_TRUE(many->empty());
}

TEST_F(ClusterBackendTest, EveryAllocatedPeerInErrorIsFailed) {
  ClusterBackend backend = Backend();
  const std::string cid = PinnableCid(-3);
  ASSERT_TRUE(backend.PinCid(cid).ok());
  ASSERT_TRUE(standin_->SetPinError(cid).ok());
  absl::StatusOr<PinState> state = backend.Status(cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kFailed);
}

TEST_F(ClusterBackendTest, ManyCidsGoAtMost120ToARequest) {
  ClusterBackend backend = Backend();
  std::vector<std::string> cids;
  for (int i = 0; i < 250; ++i) {
    cids.push_back(PinnableCid(i));
    ASSERT_TRUE(backend.PinCid(cids.back()).ok()) << i;
  }
  const std::vector<std::string> tracked = cids;
  cids.push_back(PinnableCid(1000));  // never pinned: absent
  absl::StatusOr<int> before = standin_->RequestCount("GET /pins");
  ASSERT_TRUE(before.ok());
  absl::StatusOr<std::map<std::string, PinState>> states =
      backend.StatusMany(cids);
  ASSERT_TRUE(states.ok()) << states.status();
  EXPECT_EQ(states->size(), tracked.size());
  for (const std::string& cid : tracked) {
    ASSERT_TRUE(states->contains(cid)) << cid;
    EXPECT_EQ(states->at(cid), PinState::kPinning);  // first read: one step
  }
  EXPECT_FALSE(states->contains(cids.back()));
  absl::StatusOr<int> after = standin_->RequestCount("GET /pins");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after - *before, 3);  // 251 CIDs → 120 + 120 + 11
  absl::StatusOr<int> widest = standin_->RequestCount("max_cids_per_request");
  ASSERT_TRUE(widest.ok());
  EXPECT_EQ(*widest, static_cast<int>(ClusterBackend::kMaxCidsPerQuery));
  EXPECT_EQ(backend.max_status_batch(), ClusterBackend::kMaxCidsPerQuery);
}

TEST_F(ClusterBackendTest, StandinRefusesARequestLineOverItsHeaderLimit) {
  // Why the cap: 200 CIDs make a request line of ~12 KB, over the 8 KiB a
  // cluster peer's Go HTTP server reads.
  std::string query;
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&query, i ? "," : "", PinnableCid(i));
  }
  absl::StatusOr<harness::HttpResponse> r = harness::Fetch(
      {.url = standin_->url() + "/pins?cids=" + query,
       .headers = {"Authorization: Basic bmlmdHlzYXZlOnBhNTU6d29yZA=="}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 431);
}

TEST_F(ClusterBackendTest, UploadsReturnTheCidOfOurImporter) {
  ClusterBackend backend = Backend();
  ASSERT_EQ(backend.upload_profile(), "kubo-v1");
  absl::StatusOr<harness::TempDir> dir = harness::TempDir::Create("cluster");
  ASSERT_TRUE(dir.ok());
  // 0 B, 1 B, and 1 MiB + 17 B: five 256 KiB chunks under one parent.
  for (size_t size : {size_t{0}, size_t{1}, (size_t{1} << 20) + 17}) {
    const std::string content = Pattern(size);
    const std::string expected = CidOf(content, KuboV1Profile());
    absl::StatusOr<std::string> cid = backend.Upload(content, "asset.bin");
    ASSERT_TRUE(cid.ok()) << size << ": " << cid.status();
    EXPECT_EQ(*cid, expected) << size;

    const std::string path = absl::StrCat(dir->path(), "/f", size);
    std::ofstream(path, std::ios::binary) << content;
    cid = backend.UploadFile(path, "asset.bin", size + 1);
    ASSERT_TRUE(cid.ok()) << size << ": " << cid.status();
    EXPECT_EQ(*cid, expected) << size;
    // The added content is pinned through the cluster.
    absl::StatusOr<PinState> state = backend.Status(expected);
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_NE(*state, PinState::kFailed);
  }
  absl::StatusOr<std::string> over =
      backend.UploadFile(absl::StrCat(dir->path(), "/f1"), "x", 0);
  EXPECT_EQ(ReasonOf(over.status()), "too_large");
}

TEST_F(ClusterBackendTest, ErrorsMapToReasons) {
  const std::string cid = PinnableCid(-4);
  absl::StatusOr<PinReceipt> denied = Backend("niftysave:wrong").PinCid(cid);
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReasonOf(denied.status()), "unauthorized");

  ClusterBackend backend = Backend();
  ASSERT_TRUE(standin_->FailNext(429, 1, 7).ok());
  absl::StatusOr<PinState> limited = backend.Status(cid);
  EXPECT_EQ(ReasonOf(limited.status()), "rate_limited");
  EXPECT_TRUE(http::IsTemporary(limited.status()));
  ASSERT_TRUE(RetryAfterOf(limited.status()).has_value());
  EXPECT_EQ(*RetryAfterOf(limited.status()), absl::Seconds(7));

  ASSERT_TRUE(standin_->FailNext(503).ok());
  absl::StatusOr<PinReceipt> down = backend.PinCid(cid);
  EXPECT_EQ(ReasonOf(down.status()), "backend_unavailable");
  EXPECT_EQ(down.status().code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE(standin_->FailNext(400).ok());
  absl::StatusOr<std::string> bad = backend.Upload("x", "x");
  EXPECT_EQ(ReasonOf(bad.status()), "rejected");

  absl::StatusOr<PinReceipt> not_cid = backend.PinCid("not-a-cid");
  EXPECT_EQ(ReasonOf(not_cid.status()), "rejected");

  // Nothing listens on a closed port.
  ClusterBackend nowhere(
      http_,
      {.endpoint = absl::StrCat("http://127.0.0.1:", harness::PickFreePort())});
  EXPECT_EQ(ReasonOf(nowhere.Status(cid).status()), "backend_unavailable");
}

TEST_F(ClusterBackendTest, BearerTokenAndTheBodyLimit) {
  auto limited =
      harness::ClusterStandin::Start({.ipfs_api_url = ipfs_->api_url(),
                                      .token = "cluster-jwt",
                                      .max_add_bytes = 4096});
  ASSERT_TRUE(limited.ok()) << limited.status();
  ClusterBackend backend(
      http_, {.endpoint = (*limited)->url(), .bearer_token = "cluster-jwt"});
  absl::StatusOr<std::string> small = backend.Upload("small", "s.txt");
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(*small, CidOf("small", KuboV1Profile()));
  absl::StatusOr<std::string> big = backend.Upload(Pattern(10000), "b.bin");
  EXPECT_EQ(ReasonOf(big.status()), "too_large") << big.status();

  ClusterBackend wrong(
      http_, {.endpoint = (*limited)->url(), .bearer_token = "other"});
  EXPECT_EQ(ReasonOf(wrong.Status(*small).status()), "unauthorized");
}

TEST(ClusterRollUpTest, PeerMapRollsUpBestFirst) {
  auto gpi = [](std::vector<std::string> statuses) {
    nlohmann::json peers = nlohmann::json::object();
    for (size_t i = 0; i < statuses.size(); ++i) {
      peers[absl::StrCat("peer", i)] = {{"status", statuses[i]}};
    }
    return nlohmann::json{{"cid", "bafkqaaa"}, {"peer_map", peers}};
  };
  EXPECT_EQ(RollUpClusterPeerMap(gpi({"pin_error", "pinned", "remote"})),
            PinState::kPinned);
  EXPECT_EQ(RollUpClusterPeerMap(gpi({"pin_queued", "pinning"})),
            PinState::kPinning);
  EXPECT_EQ(RollUpClusterPeerMap(gpi({"pin_error", "pin_queued"})),
            PinState::kQueued);
  EXPECT_EQ(RollUpClusterPeerMap(gpi({"pin_error", "cluster_error"})),
            PinState::kFailed);
  EXPECT_EQ(RollUpClusterPeerMap(gpi({"unpinned", "unpinned"})), std::nullopt);
  EXPECT_EQ(RollUpClusterPeerMap(nlohmann::json::object()), std::nullopt);
}

}  // namespace
}  // namespace niftysave::ipfs
