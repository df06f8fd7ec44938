// CID verification and IPNS resolution, through both fetchers, against real
// servers: files added to a js-ipfs node (its gateway serves them), the
// fixture web server standing in for a gateway that serves other bytes, and
// the kubo name/resolve stand-in (the offline js-ipfs node cannot publish
// IPNS names; it is still asked about a name it has no record for).

#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/fetch/async_fetcher.h"
#include "common/fetch/cid_verifier.h"
#include "common/fetch/content_fetcher.h"
#include "common/fetch/fetch_metrics.h"
#include "common/http/http_client.h"
#include "common/http/multi_client.h"
#include "common/runtime/reason.h"
#include "common/uri/token_uri.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "prometheus/registry.h"
#include "tests/harness/fixture_http_server.h"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/ipns_api_standin.h"
#include "tests/harness/net.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::fetch {
namespace {

// Bytes that do not repeat within a chunk (a fixed LCG), so every chunk of
// a file is a different block.
std::string Bytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// The CID as the fetchers name it (v1 base32).
std::string Normalized(const std::string& cid) {
  return uri::ResolveUri("ipfs://" + cid).cid;
}

void Write(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

double Counted(prometheus::Registry& registry, const std::string& result) {
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != "niftysave_fetch_cid_verification_total") continue;
    for (const prometheus::ClientMetric& metric : family.metric) {
      for (const prometheus::ClientMetric::Label& label : metric.label) {
        if (label.name == "result" && label.value == result) {
          return metric.counter.value;
        }
      }
    }
  }
  return -1;
}

class CidVerificationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { status_ = new absl::Status(Start()); }
  static absl::Status Start() {
    auto root = harness::TempDir::Create("cid-verification-test");
    if (!root.ok()) return root.status();
    root_ = new harness::TempDir(std::move(*root));
    auto server = harness::FixtureHttpServer::Start(root_->path());
    if (!server.ok()) return server.status();
    server_ = server->release();
    auto standin = harness::IpnsApiStandin::Start();
    if (!standin.ok()) return standin.status();
    standin_ = standin->release();
    auto node = harness::IpfsNode::Start();
    if (!node.ok()) return node.status();
    node_ = node->release();
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    delete node_;
    delete standin_;
    delete server_;
    delete root_;
    delete status_;
  }
  void SetUp() override {
    ASSERT_TRUE(status_->ok()) << *status_;
    http::HttpClientOptions gateway;
    gateway.limits.connect_timeout = absl::Seconds(1);
    gateway.limits.total_timeout = absl::Seconds(10);
    http_ = std::make_unique<http::HttpClient>(gateway);
    multi_ = std::make_unique<http::MultiClient>(
        http::MultiClientOptions{.http = gateway});
    metrics_ = std::make_unique<FetchMetrics>(
        prometheus::BuildCounter()
            .Name("niftysave_fetch_cid_verification_total")
            .Help("CID verifications")
            .Register(registry_));
  }

  // One fetch through ContentFetcher or (`async`) AsyncFetcher.
  absl::StatusOr<FetchedContent> FetchOne(FetcherOptions options,
                                          const std::string& text, bool async) {
    options.metrics = metrics_.get();
    const uri::ResolvedUri uri = uri::ResolveUri(text);
    if (!async) return ContentFetcher(*http_, *http_, options).Fetch(uri);
    AsyncFetcher fetcher(*multi_, *multi_, options);
    std::promise<absl::StatusOr<FetchedContent>> promise;
    fetcher.Fetch(uri, [&](absl::StatusOr<FetchedContent> r) {
      promise.set_value(std::move(r));
    });
    return promise.get_future().get();
  }
  // The same fetch through both; both results.
  std::vector<absl::StatusOr<FetchedContent>> FetchBoth(
      const FetcherOptions& options, const std::string& text) {
    std::vector<absl::StatusOr<FetchedContent>> results;
    results.push_back(FetchOne(options, text, false));
    results.push_back(FetchOne(options, text, true));
    return results;
  }

  static harness::TempDir* root_;
  static harness::FixtureHttpServer* server_;
  static harness::IpnsApiStandin* standin_;
  static harness::IpfsNode* node_;
  static absl::Status* status_;
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<http::MultiClient> multi_;
  prometheus::Registry registry_;
  std::unique_ptr<FetchMetrics> metrics_;
};

harness::TempDir* CidVerificationTest::root_ = nullptr;
harness::FixtureHttpServer* CidVerificationTest::server_ = nullptr;
harness::IpnsApiStandin* CidVerificationTest::standin_ = nullptr;
harness::IpfsNode* CidVerificationTest::node_ = nullptr;
absl::Status* CidVerificationTest::status_ = nullptr;

TEST_F(CidVerificationTest, DagPbFilesFromTheNodeAreVerified) {
  struct Case {
    std::string name;
    size_t size;
    std::string query;
  };
  // 256 KiB chunks unless the query says otherwise: 200 kB is one chunk
  // (one dag-pb leaf: v0 and v1 without raw leaves), 700 kB three.
  const std::vector<Case> cases = {
      {"v0, 1 chunk", 200000, "cid-version=0"},
      {"v0, 3 chunks", 700000, "cid-version=0"},
      {"v1 dag-pb leaf, 1 chunk", 200000, "cid-version=1&raw-leaves=false"},
      {"v1 raw leaves, 3 chunks", 700000, "cid-version=1"},
      {"v1, 1 MiB chunks, 3 chunks", 2500000,
       "cid-version=1&chunker=size-1048576"},
      {"v0, 1 MiB chunks, 3 chunks", 2500000,
       "cid-version=0&chunker=size-1048576"},
  };
  uint32_t seed = 1;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string content = Bytes(c.size, seed++);
    absl::StatusOr<std::string> cid = node_->Add(content, {.query = c.query});
    ASSERT_TRUE(cid.ok()) << cid.status();
    // Every case names a dag-pb root, which needs the re-import.
    ASSERT_EQ(Normalized(*cid).substr(0, 4), "bafy") << *cid;
    EXPECT_TRUE(VerifyAgainstCid(*cid, content).ok());
    EXPECT_EQ(CheckAgainstCid(*cid, content.substr(1)).value(),
              CidVerification::kUnverifiable);
    for (const auto& r : FetchBoth({.ipfs_gateways = {node_->gateway_url()}},
                                   "ipfs://" + *cid)) {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->bytes, content);
      EXPECT_TRUE(r->verified);
      EXPECT_EQ(r->verification, CidVerification::kVerified);
    }
  }
  EXPECT_EQ(Counted(registry_, "verified"), 2.0 * cases.size());
  EXPECT_EQ(Counted(registry_, "mismatch"), 0);
}

TEST_F(CidVerificationTest, UnknownDagPbLayoutIsUnverifiedNotFailed) {
  const std::string content = Bytes(700000, 99);
  // 100 kB chunks: no tool's default, so nothing re-derives the CID.
  absl::StatusOr<std::string> cid =
      node_->Add(content, {.query = "cid-version=0&chunker=size-100000"});
  ASSERT_TRUE(cid.ok()) << cid.status();
  for (const auto& r :
       FetchBoth({.ipfs_gateways = {node_->gateway_url()}}, "ipfs://" + *cid)) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->bytes, content);
    EXPECT_FALSE(r->verified);
    EXPECT_EQ(r->verification, CidVerification::kUnverifiable);
  }
  EXPECT_EQ(Counted(registry_, "unverifiable"), 2);
  EXPECT_EQ(Counted(registry_, "verified"), 0);
}

TEST_F(CidVerificationTest, LyingGateways) {
  const std::string v0_bytes = Bytes(700000, 7);
  const std::string v1_bytes = Bytes(700000, 8);
  const std::string leaf_bytes = Bytes(1000, 9);
  absl::StatusOr<std::string> v0 =
      node_->Add(v0_bytes, {.query = "cid-version=0"});
  absl::StatusOr<std::string> v1 =
      node_->Add(v1_bytes, {.query = "cid-version=1"});
  // One raw leaf: the CID is the bytes' own hash.
  absl::StatusOr<std::string> leaf =
      node_->Add(leaf_bytes, {.query = "cid-version=1"});
  ASSERT_TRUE(v0.ok() && v1.ok() && leaf.ok());
  ASSERT_EQ(Normalized(*leaf).substr(0, 7), "bafkrei");
  for (const std::string* cid : {&*v0, &*v1, &*leaf}) {
    Write(root_->path() + "/liar/ipfs/" + Normalized(*cid), "tampered");
  }
  const std::string liar = server_->http_url() + "/liar";

  // The raw leaf: the liar is caught (cid_mismatch) and the node's bytes
  // are verified; with the liar alone the fetch fails, permanently.
  for (const auto& r :
       FetchBoth({.ipfs_gateways = {liar, node_->gateway_url()}},
                 "ipfs://" + *leaf)) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->bytes, leaf_bytes);
    EXPECT_TRUE(r->verified);
  }
  for (const auto& r :
       FetchBoth({.ipfs_gateways = {liar}}, "ipfs://" + *leaf)) {
    EXPECT_EQ(ReasonOf(r.status()), "cid_mismatch") << r.status();
  }
  EXPECT_EQ(Counted(registry_, "mismatch"), 4);

  // dag-pb, v0 and v1: the liar's bytes re-derive to another CID, which
  // proves nothing (another chunker could have made it): they come back
  // unverified, marked so, while the node's bytes are verified.
  for (const std::string* cid : {&*v0, &*v1}) {
    for (const auto& r :
         FetchBoth({.ipfs_gateways = {liar}}, "ipfs://" + *cid)) {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->bytes, "tampered");
      EXPECT_FALSE(r->verified);
      EXPECT_EQ(r->verification, CidVerification::kUnverifiable);
    }
    for (const auto& r : FetchBoth({.ipfs_gateways = {node_->gateway_url()}},
                                   "ipfs://" + *cid)) {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_TRUE(r->verified);
    }
  }
  EXPECT_EQ(Counted(registry_, "unverifiable"), 4);

  // Streamed to a file, the same checks run on the file.
  ContentFetcher blocking(*http_, *http_,
                          {.ipfs_gateways = {liar, node_->gateway_url()}});
  const std::string out = root_->path() + "/out.bin";
  absl::StatusOr<FetchedFile> file =
      blocking.FetchToFile(uri::ResolveUri("ipfs://" + *v1), out);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->verification, CidVerification::kUnverifiable);
  ContentFetcher honest(*http_, *http_,
                        {.ipfs_gateways = {node_->gateway_url()}});
  file = honest.FetchToFile(uri::ResolveUri("ipfs://" + *v0), out);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->verified);
  EXPECT_EQ(file->size, v0_bytes.size());
  file = blocking.FetchToFile(uri::ResolveUri("ipfs://" + *leaf), out);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->verified);
  EXPECT_EQ(file->size, leaf_bytes.size());
}

TEST_F(CidVerificationTest, IpnsNamesResolveThroughTheApi) {
  const std::string content = Bytes(700000, 11);
  absl::StatusOr<std::string> cid =
      node_->Add(content, {.query = "cid-version=0"});
  ASSERT_TRUE(cid.ok()) << cid.status();
  const std::string name =
      "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8";
  const std::string alias =
      "k51qzi5uqu5dh9ihj4p2v5sl3hxvv27ryx2w0xrsv6jmmqi91t9xp8p9kaipc2";
  ASSERT_TRUE(standin_->SetRecord(name, "/ipfs/" + *cid).ok());
  ASSERT_TRUE(standin_->SetRecord(alias, "/ipns/" + name).ok());
  const FetcherOptions options{.ipfs_gateways = {node_->gateway_url()},
                               .ipfs_api_url = standin_->url()};
  for (const std::string& uri :
       {"ipns://" + name, "/ipns/" + name, "ipns://" + alias}) {
    SCOPED_TRACE(uri);
    for (const auto& r : FetchBoth(options, uri)) {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->bytes, content);
      EXPECT_TRUE(r->verified);
      EXPECT_EQ(r->resolved_cid, Normalized(*cid));
    }
  }
  absl::StatusOr<int> asked =
      standin_->RequestCount("POST /api/v0/name/resolve");
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(*asked, 6);

  // A name without a record, asked of the real node (offline, so it has
  // none of any name).
  absl::StatusOr<harness::HttpResponse> id = harness::Fetch(
      {.method = "POST", .url = node_->api_url() + "/api/v0/id"});
  ASSERT_TRUE(id.ok() && id->status == 200);
  const std::string own = nlohmann::json::parse(id->body)["ID"];
  for (const auto& r : FetchBoth({.ipfs_gateways = {node_->gateway_url()},
                       .ipfs_api_url = node_->api_url()},
                                 "ipns://" + own)) {
    EXPECT_EQ(ReasonOf(r.status()), "ipns_unresolved") << r.status();
  }
  // Answers that are not a resolution, and an API that is down.
  for (const std::string& body :
       {std::string("not json"), std::string(R"({"Path":"/ipns/other"})"),
        std::string(R"({"Path":"/ipfs/not-a-cid"})"), std::string("{}")}) {
    SCOPED_TRACE(body);
    for (bool async : {false, true}) {
      ASSERT_TRUE(standin_->AnswerNextWith(200, body).ok());
      absl::StatusOr<FetchedContent> r =
          FetchOne(options, "ipns://" + name, async);
      EXPECT_EQ(ReasonOf(r.status()), "ipns_invalid") << r.status();
    }
  }
  ASSERT_TRUE(standin_
                  ->AnswerNextWith(500, R"({"Message":"could not resolve name",
                                            "Code":0,"Type":"error"})")
                  .ok());
  EXPECT_EQ(ReasonOf(FetchOne(options, "ipns://" + name, true).status()),
            "ipns_unresolved");
  FetcherOptions down = options;
  down.ipfs_api_url =
      absl::StrCat("http://127.0.0.1:", harness::PickFreePort());
  for (const auto& r : FetchBoth(down, "ipns://" + name)) {
    EXPECT_EQ(ReasonOf(r.status()), "ipns_api_unavailable") << r.status();
  }

  // Without the API, /ipns/ goes to the gateways as it is.
  Write(root_->path() + "/ipns/" + name, "via the gateway");
  for (const auto& r :
       FetchBoth({.ipfs_gateways = {server_->http_url()}}, "ipns://" + name)) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->bytes, "via the gateway");
    EXPECT_EQ(r->resolved_cid, "");
    EXPECT_EQ(r->verification, CidVerification::kNotChecked);
  }
}

}  // namespace
}  // namespace niftysave::fetch
