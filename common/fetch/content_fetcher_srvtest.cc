// ContentFetcher against real servers: a js-ipfs node's gateway (content
// added through its API), the fixture web server, and dead ports standing in
// for a gateway that is down.

#include <openssl/sha.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fetch/content_fetcher.h"
#include "common/http/address_policy.h"
#include "common/http/http_client.h"
#include "common/runtime/reason.h"
#include "common/uri/cid.h"
#include "common/uri/token_uri.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/harness/fixture_http_server.h"
#include "tests/harness/ipfs_node.h"
#include "tests/harness/net.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::fetch {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr char kContent[] = R"({"name":"on ipfs","image":"ipfs://x"})";
constexpr char kPage[] = R"({"name":"on the web"})";

// CIDv1 base32; `only_hash` computes the CID without storing anything.
absl::StatusOr<std::string> IpfsAdd(const harness::IpfsNode& node,
                                    const std::string& content,
                                    bool only_hash = false) {
  return node.Add(content,
                  {.query = absl::StrCat("cid-version=1&cid-base=base32",
                                         only_hash ? "&only-hash=true" : "")});
}

std::string DeadGateway() {
  return absl::StrCat("http://127.0.0.1:", harness::PickFreePort());
}

class ContentFetcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { status_ = new absl::Status(Start()); }
  static absl::Status Start() {
    auto root = harness::TempDir::Create("fetcher-test");
    if (!root.ok()) return root.status();
    root_ = new harness::TempDir(std::move(*root));
    std::ofstream(root_->path() + "/page.json") << kPage;
    auto server = harness::FixtureHttpServer::Start(root_->path());
    if (!server.ok()) return server.status();
    server_ = server->release();
    auto node = harness::IpfsNode::Start();
    if (!node.ok()) return node.status();
    node_ = node->release();
    auto cid = IpfsAdd(*node_, kContent);
    if (!cid.ok()) return cid.status();
    cid_ = new std::string(*cid);
    auto absent = IpfsAdd(*node_, "never added to the node", true);
    if (!absent.ok()) return absent.status();
    absent_cid_ = new std::string(*absent);
    return absl::OkStatus();
  }
  static void TearDownTestSuite() {
    delete node_;
    delete server_;
    delete root_;
    delete cid_;
    delete absent_cid_;
    delete status_;
  }
  void SetUp() override { ASSERT_TRUE(status_->ok()) << *status_; }

  static http::HttpClientOptions GatewayOptions() {
    http::HttpClientOptions options;  // operator-configured: allow all
    options.limits.connect_timeout = absl::Seconds(1);
    options.limits.total_timeout = absl::Seconds(2);
    return options;
  }
  static http::HttpClientOptions UserOptions(
      const std::vector<std::string>& allow) {
    http::HttpClientOptions options;
    options.address_policy = *http::AddressPolicy::PublicOnly(allow);
    options.limits.total_timeout = absl::Seconds(5);
    return options;
  }

  static harness::TempDir* root_;
  static harness::FixtureHttpServer* server_;
  static harness::IpfsNode* node_;
  static std::string* cid_;
  static std::string* absent_cid_;
  static absl::Status* status_;
};

harness::TempDir* ContentFetcherTest::root_ = nullptr;
harness::FixtureHttpServer* ContentFetcherTest::server_ = nullptr;
harness::IpfsNode* ContentFetcherTest::node_ = nullptr;
std::string* ContentFetcherTest::cid_ = nullptr;
std::string* ContentFetcherTest::absent_cid_ = nullptr;
absl::Status* ContentFetcherTest::status_ = nullptr;

TEST_F(ContentFetcherTest, FailsOverToWorkingGateway) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());
  // The first gateway is down, the second answers 502 (the fixture's
  // /status/502 route; the fetcher's /ipfs/... lands in the query string),
  // the third is the real node.
  ContentFetcher fetcher(
      user, gateways,
      {.ipfs_gateways = {DeadGateway(), server_->http_url() + "/status/502?p=",
                         node_->gateway_url()}});
  uri::ResolvedUri uri = uri::ResolveUri("ipfs://" + *cid_);
  ASSERT_EQ(uri.kind, uri::UriKind::kIpfs) << uri.detail;
  absl::StatusOr<FetchedContent> content = fetcher.Fetch(uri);
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(content->bytes, kContent);
  EXPECT_THAT(content->source, HasSubstr(node_->gateway_url()));
  EXPECT_THAT(content->source, HasSubstr(*cid_));

  // A gateway URL in a token URI is the same content, fetched the same way.
  absl::StatusOr<FetchedContent> via_url = fetcher.Fetch(
      uri::ResolveUri("https://gateway.example.com/ipfs/" + *cid_));
  ASSERT_TRUE(via_url.ok()) << via_url.status();
  EXPECT_EQ(via_url->bytes, kContent);
}

TEST_F(ContentFetcherTest, AllGatewaysDownIsTemporaryFailure) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());
  ContentFetcher fetcher(user, gateways,
                         {.ipfs_gateways = {DeadGateway(), DeadGateway()}});
  absl::StatusOr<FetchedContent> content =
      fetcher.Fetch(uri::ResolveUri("ipfs://" + *cid_));
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(ReasonOf(content.status()), "gateway_unavailable")
      << content.status();
  EXPECT_TRUE(http::IsTemporary(content.status()));
  // The detail names each gateway's own failure.
  EXPECT_THAT(content.status().message(), HasSubstr("connect"));

  ContentFetcher none(user, gateways, {});
  EXPECT_FALSE(none.Fetch(uri::ResolveUri("ipfs://" + *cid_)).ok());
}

TEST_F(ContentFetcherTest, DecodesDataUris) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());
  ContentFetcher fetcher(user, gateways, {.ipfs_gateways = {DeadGateway()}});

  absl::StatusOr<FetchedContent> b64 = fetcher.Fetch(
      uri::ResolveUri("data:application/json;base64,eyJuYW1lIjoiYSJ9"));
  ASSERT_TRUE(b64.ok()) << b64.status();
  EXPECT_EQ(b64->bytes, R"({"name":"a"})");
  EXPECT_EQ(b64->content_type, "application/json");
  EXPECT_EQ(b64->source, "data:");

  absl::StatusOr<FetchedContent> plain = fetcher.Fetch(
      uri::ResolveUri(R"(data:application/json;utf8,{"name":"b%20c"})"));
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->bytes, R"({"name":"b c"})");

  ContentFetcher tiny(user, gateways, {.max_bytes = 4});
  EXPECT_EQ(ReasonOf(tiny.Fetch(uri::ResolveUri("data:,hello world")).status()),
            "too_large");
}

TEST_F(ContentFetcherTest, HttpGoesThroughUserClientAndItsGuard) {
  http::HttpClient gateways(GatewayOptions());
  const std::string url = server_->http_url() + "/page.json";
  uri::ResolvedUri uri = uri::ResolveUri(url);
  ASSERT_EQ(uri.kind, uri::UriKind::kHttp) << uri.detail;

  http::HttpClient guarded(UserOptions({}));
  ContentFetcher refusing(guarded, gateways, {});
  absl::StatusOr<FetchedContent> blocked = refusing.Fetch(uri);
  EXPECT_EQ(ReasonOf(blocked.status()), "blocked_address") << blocked.status();

  // The gateway client allows everything, but must not be used for user URLs.
  http::HttpClient allowed(UserOptions({"127.0.0.1/32"}));
  ContentFetcher fetcher(allowed, gateways, {});
  absl::StatusOr<FetchedContent> content = fetcher.Fetch(uri);
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(content->bytes, kPage);
  EXPECT_EQ(content->content_type, "application/json");

  // Redirects out of the allow-list are refused on that hop.
  absl::StatusOr<FetchedContent> redirected = fetcher.Fetch(uri::ResolveUri(
      server_->http_url() +
      "/redirect?to=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F"));
  EXPECT_EQ(ReasonOf(redirected.status()), "blocked_address")
      << redirected.status();

  // The fetcher's size cap applies to user URLs.
  ContentFetcher small(allowed, gateways, {.max_bytes = 1000});
  EXPECT_EQ(ReasonOf(small
                         .Fetch(uri::ResolveUri(server_->http_url() +
                                                "/huge?bytes=100000000"))
                         .status()),
            "too_large");
}

TEST_F(ContentFetcherTest, AbsentCidEndsInTimeoutNotAHang) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());  // 2 s total per gateway
  ContentFetcher fetcher(
      user, gateways, {.ipfs_gateways = {DeadGateway(), node_->gateway_url()}});
  const absl::Time begin = absl::Now();
  absl::StatusOr<FetchedContent> content =
      fetcher.Fetch(uri::ResolveUri("ipfs://" + *absent_cid_));
  ASSERT_FALSE(content.ok());
  EXPECT_THAT(ReasonOf(content.status()), AnyOf("gateway_timeout", "http_4xx"))
      << content.status();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(6));
}

TEST_F(ContentFetcherTest, InvalidUriIsUriInvalid) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());
  ContentFetcher fetcher(user, gateways, {});
  absl::StatusOr<FetchedContent> content =
      fetcher.Fetch(uri::ResolveUri("javascript:alert(1)"));
  EXPECT_EQ(ReasonOf(content.status()), "uri_invalid") << content.status();
}

// The CIDv1 (raw codec, sha2-256) of `bytes`, computed independently of the
// fetcher's verifier.
std::string RawCid(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return uri::Cid::FromDigest(
             1, uri::kCodecRaw, uri::kHashSha2_256,
             std::string_view(reinterpret_cast<char*>(digest), sizeof digest))
      .ToString();
}

// The fixture server doubles as a gateway that serves whatever file sits at
// <root>/ipfs/<cid>: an honest one or a liar.
void ServeAsGateway(const std::string& root, const std::string& cid,
                    const std::string& bytes) {
  std::filesystem::create_directories(root + "/ipfs");
  std::ofstream(root + "/ipfs/" + cid, std::ios::binary) << bytes;
}

TEST_F(ContentFetcherTest, RawCidIsVerifiedAndALyingGatewayIsSkipped) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());
  const std::string honest = "raw leaf bytes, served honestly";
  const std::string cid = RawCid(honest);
  ASSERT_EQ(cid.substr(0, 7), "bafkrei");
  ServeAsGateway(root_->path(), cid, "tampered bytes");

  // The real node holds the honest bytes (js-ipfs makes a single-block CIDv1
  // file a raw leaf, so its CID is the same).
  absl::StatusOr<std::string> added = IpfsAdd(*node_, honest);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_EQ(*added, cid);

  ContentFetcher failover(
      user, gateways,
      {.ipfs_gateways = {server_->http_url(), node_->gateway_url()}});
  absl::StatusOr<FetchedContent> content =
      failover.Fetch(uri::ResolveUri("ipfs://" + cid));
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(content->bytes, honest);
  EXPECT_TRUE(content->verified);
  EXPECT_THAT(content->source, HasSubstr(node_->gateway_url()));

  ContentFetcher liar_only(user, gateways,
                           {.ipfs_gateways = {server_->http_url()}});
  absl::StatusOr<FetchedContent> lied =
      liar_only.Fetch(uri::ResolveUri("ipfs://" + cid));
  EXPECT_EQ(ReasonOf(lied.status()), "cid_mismatch") << lied.status();
  EXPECT_FALSE(http::IsTemporary(lied.status()));
}

// Blocks for the pinner's checks: the node's API and trustless gateways are
// asked in turn, each answer verified against the CID.
TEST_F(ContentFetcherTest, FetchBlockVerifiesEverySource) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());
  const std::string honest = "a block, asked for alone";
  const std::string cid = RawCid(honest);
  ASSERT_TRUE(IpfsAdd(*node_, honest).ok());
  const uri::Cid parsed = *uri::ParseCid(cid);

  ContentFetcher api(user, gateways, {.ipfs_api_url = node_->api_url()});
  EXPECT_EQ(api.FetchBlock(parsed).value_or(""), honest);

  // The fixture answers ?format=raw as a trustless gateway would: first
  // with tampered bytes, then honestly.
  ServeAsGateway(root_->path(), cid, "tampered block");
  ContentFetcher trustless(user, gateways,
                           {.ipfs_gateways = {server_->http_url()}});
  absl::StatusOr<std::string> lied = trustless.FetchBlock(parsed);
  EXPECT_EQ(ReasonOf(lied.status()), "cid_mismatch") << lied.status();
  ServeAsGateway(root_->path(), cid, honest);
  EXPECT_EQ(trustless.FetchBlock(parsed).value_or(""), honest);

  // js-ipfs's gateway knows no ?format=raw: not a verdict on the content.
  ContentFetcher plain(user, gateways,
                       {.ipfs_gateways = {node_->gateway_url()}});
  absl::StatusOr<std::string> unsupported = plain.FetchBlock(parsed);
  EXPECT_EQ(ReasonOf(unsupported.status()), "gateway_unavailable")
      << unsupported.status();
  EXPECT_TRUE(http::IsTemporary(unsupported.status()));

  ContentFetcher none(user, gateways, {});
  EXPECT_EQ(ReasonOf(none.FetchBlock(parsed).status()), "no_gateway");
}

TEST_F(ContentFetcherTest, BareCidIsCheckedWhenItCanBe) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());
  ContentFetcher fetcher(user, gateways,
                         {.ipfs_gateways = {node_->gateway_url()}});
  // kContent was added as a file: with js-ipfs's defaults a dag-pb root or a
  // raw leaf; either way it arrives, checked (cid_verification_test covers
  // dag-pb roots). A dag-pb CID whose bytes no importer profile re-derives
  // is Unimplemented for VerifyAgainstCid, not a mismatch.
  absl::StatusOr<FetchedContent> content =
      fetcher.Fetch(uri::ResolveUri("ipfs://" + *cid_));
  ASSERT_TRUE(content.ok()) << content.status();
  EXPECT_EQ(content->verified, cid_->substr(0, 7) == "bafkrei");
  EXPECT_EQ(VerifyAgainstCid(
                "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
                "anything")
                .code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(ContentFetcherTest, VerifiesIdentityCid) {
  const std::string inline_bytes = "tiny";
  const std::string cid =
      uri::Cid::FromDigest(1, uri::kCodecRaw, uri::kHashIdentity, inline_bytes)
          .ToString();
  EXPECT_TRUE(VerifyAgainstCid(cid, inline_bytes).ok());
  EXPECT_EQ(ReasonOf(VerifyAgainstCid(cid, "tiny!")), "cid_mismatch");
}

TEST_F(ContentFetcherTest, EveryGatewayFailingSaysWhy) {
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());  // 2 s total
  const std::string cid = RawCid("whatever");
  const std::string fixture = server_->http_url();
  auto reason_with = [&](std::vector<std::string> list) {
    ContentFetcher fetcher(user, gateways, {.ipfs_gateways = std::move(list)});
    return fetcher.Fetch(uri::ResolveUri("ipfs://" + cid)).status();
  };
  // Content gone: every gateway says 404. Permanent.
  absl::Status gone =
      reason_with({fixture + "/status/404?p=", fixture + "/status/410?p="});
  EXPECT_EQ(ReasonOf(gone), "http_4xx") << gone;
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(http::IsTemporary(gone));

  // A 404 from one gateway while another is down proves nothing: temporary.
  absl::Status mixed = reason_with({fixture + "/status/404?p=", DeadGateway()});
  EXPECT_EQ(ReasonOf(mixed), "gateway_unavailable") << mixed;
  EXPECT_TRUE(http::IsTemporary(mixed));

  // Slow gateways: a timeout (or a gateway's own 504) is gateway_timeout.
  absl::Status slow =
      reason_with({fixture + "/slow?ms=5000&p=", fixture + "/status/504?p="});
  EXPECT_EQ(ReasonOf(slow), "gateway_timeout") << slow;
  EXPECT_TRUE(http::IsTemporary(slow));

  // Rate limited everywhere: the earliest Retry-After comes along.
  absl::Status limited = reason_with(
      {fixture + "/retry-after?s=9&p=", fixture + "/retry-after?s=3&p="});
  EXPECT_EQ(ReasonOf(limited), "rate_limited") << limited;
  EXPECT_EQ(RetryAfterOf(limited), absl::Seconds(3));
  EXPECT_TRUE(http::IsTemporary(limited));

  // A body over the cap is refused at once, without trying the others.
  ContentFetcher small(
      user, gateways,
      {.ipfs_gateways = {fixture + "/huge?bytes=5000&p=", node_->gateway_url()},
       .max_bytes = 1000});
  EXPECT_EQ(ReasonOf(small.Fetch(uri::ResolveUri("ipfs://" + cid)).status()),
            "too_large");
}

// ---- FetchToFile: the same fetches, streamed into a file ----

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    out.push_back(entry.path().filename().string());
  }
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

TEST_F(ContentFetcherTest, FetchToFileStreamsEveryKind) {
  auto dir = harness::TempDir::Create("fetch-to-file");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string out = dir->path() + "/asset";
  http::HttpClient user(UserOptions({"127.0.0.1/32"}));
  http::HttpClient gateways(GatewayOptions());
  ContentFetcher fetcher(
      user, gateways,
      {.ipfs_gateways = {DeadGateway(), node_->gateway_url()},
       .max_bytes = 8 << 20});

  // http(s): a large body arrives whole in the file.
  absl::StatusOr<FetchedFile> big = fetcher.FetchToFile(
      uri::ResolveUri(server_->http_url() + "/huge?bytes=5000000&chunked=1"),
      out);
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->path, out);
  EXPECT_EQ(big->size, 5000000u);
  EXPECT_EQ(std::filesystem::file_size(out), 5000000u);

  // ipfs through the gateways, with failover.
  absl::StatusOr<FetchedFile> ipfs =
      fetcher.FetchToFile(uri::ResolveUri("ipfs://" + *cid_), out);
  ASSERT_TRUE(ipfs.ok()) << ipfs.status();
  EXPECT_EQ(ReadAll(out), kContent);
  EXPECT_EQ(ipfs->size, sizeof(kContent) - 1);

  // data: URIs are written out.
  absl::StatusOr<FetchedFile> data = fetcher.FetchToFile(
      uri::ResolveUri("data:application/json;base64,eyJuYW1lIjoiYSJ9"), out);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(ReadAll(out), R"({"name":"a"})");
  EXPECT_EQ(data->content_type, "application/json");
}

TEST_F(ContentFetcherTest, FetchToFileVerifiesByHashingTheFile) {
  auto dir = harness::TempDir::Create("fetch-to-file");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string out = dir->path() + "/asset";
  http::HttpClient user(UserOptions({}));
  http::HttpClient gateways(GatewayOptions());
  const std::string honest = "streamed raw leaf, served honestly";
  const std::string cid = RawCid(honest);
  ServeAsGateway(root_->path(), cid, "streamed and tampered");
  absl::StatusOr<std::string> added = IpfsAdd(*node_, honest);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_EQ(*added, cid);

  ContentFetcher failover(
      user, gateways,
      {.ipfs_gateways = {server_->http_url(), node_->gateway_url()}});
  absl::StatusOr<FetchedFile> file =
      failover.FetchToFile(uri::ResolveUri("ipfs://" + cid), out);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->verified);
  EXPECT_EQ(ReadAll(out), honest);
  EXPECT_TRUE(VerifyFileAgainstCid(cid, out).ok());
  EXPECT_EQ(ReasonOf(VerifyFileAgainstCid(RawCid("other"), out)),
            "cid_mismatch");
  std::filesystem::remove(out);

  ContentFetcher liar_only(user, gateways,
                           {.ipfs_gateways = {server_->http_url()}});
  absl::StatusOr<FetchedFile> lied =
      liar_only.FetchToFile(uri::ResolveUri("ipfs://" + cid), out);
  EXPECT_EQ(ReasonOf(lied.status()), "cid_mismatch") << lied.status();
  EXPECT_THAT(Entries(dir->path()), ::testing::IsEmpty());

  // Identity CIDs, from a file.
  const std::string identity =
      uri::Cid::FromDigest(1, uri::kCodecRaw, uri::kHashIdentity, "tiny")
          .ToString();
  std::ofstream(out) << "tiny";
  EXPECT_TRUE(VerifyFileAgainstCid(identity, out).ok());
  std::ofstream(out) << "tiny!";
  EXPECT_EQ(ReasonOf(VerifyFileAgainstCid(identity, out)), "cid_mismatch");
}

TEST_F(ContentFetcherTest, FetchToFileKeepsSmallContentInMemory) {
  auto dir = harness::TempDir::Create("fetch-to-file");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string out = dir->path() + "/asset";
  http::HttpClient user(UserOptions({"127.0.0.1/32"}));
  http::HttpClient gateways(GatewayOptions());
  const std::string honest = "kept in memory, verified from memory";
  const std::string cid = RawCid(honest);
  absl::StatusOr<std::string> added = IpfsAdd(*node_, honest);
  ASSERT_TRUE(added.ok()) << added.status();
  ContentFetcher fetcher(
      user, gateways,
      {.ipfs_gateways = {DeadGateway(), node_->gateway_url()},
       .max_bytes = 8 << 20});
  constexpr size_t kMemory = 4096;

  // Within the allowance: the bytes, no file.
  absl::StatusOr<FetchedFile> small = fetcher.FetchToFile(
      uri::ResolveUri(server_->http_url() + "/huge?bytes=4096&chunked=1"), out,
      kMemory);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->path, "");
  EXPECT_EQ(small->size, kMemory);
  EXPECT_EQ(small->bytes, std::string(kMemory, 'x'));
  EXPECT_FALSE(std::filesystem::exists(out));

  // One byte over: the file, whole.
  absl::StatusOr<FetchedFile> over = fetcher.FetchToFile(
      uri::ResolveUri(server_->http_url() + "/huge?bytes=4097&chunked=1"), out,
      kMemory);
  ASSERT_TRUE(over.ok()) << over.status();
  EXPECT_EQ(over->path, out);
  EXPECT_TRUE(over->bytes.empty());
  EXPECT_EQ(ReadAll(out), std::string(kMemory + 1, 'x'));
  std::filesystem::remove(out);

  // A CID's bytes in memory are still checked against it (after a dead
  // gateway), and a lying gateway's are refused.
  absl::StatusOr<FetchedFile> ipfs =
      fetcher.FetchToFile(uri::ResolveUri("ipfs://" + cid), out, kMemory);
  ASSERT_TRUE(ipfs.ok()) << ipfs.status();
  EXPECT_TRUE(ipfs->verified);
  EXPECT_EQ(ipfs->bytes, honest);
  EXPECT_FALSE(std::filesystem::exists(out));
  const std::string tampered_cid = RawCid("honest bytes, never served");
  ServeAsGateway(root_->path(), tampered_cid, "kept in memory and tampered");
  ContentFetcher liar_only(user, gateways,
                           {.ipfs_gateways = {server_->http_url()}});
  EXPECT_EQ(ReasonOf(liar_only
                         .FetchToFile(uri::ResolveUri("ipfs://" + tampered_cid),
                                      out, kMemory)
                         .status()),
            "cid_mismatch");

  // data: URIs within the allowance stay as they are; over it, the file.
  absl::StatusOr<FetchedFile> data = fetcher.FetchToFile(
      uri::ResolveUri("data:application/json;base64,eyJuYW1lIjoiYSJ9"), out,
      kMemory);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->bytes, R"({"name":"a"})");
  EXPECT_EQ(data->path, "");
  absl::StatusOr<FetchedFile> data_over =
      fetcher.FetchToFile(uri::ResolveUri("data:,hello"), out, 4);
  ASSERT_TRUE(data_over.ok()) << data_over.status();
  EXPECT_EQ(ReadAll(out), "hello");
  std::filesystem::remove(out);
  EXPECT_THAT(Entries(dir->path()), ::testing::IsEmpty());
}

TEST_F(ContentFetcherTest, FetchToFileFailuresLeaveNothingBehind) {
  auto dir = harness::TempDir::Create("fetch-to-file");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string out = dir->path() + "/asset";
  http::HttpClient user(UserOptions({"127.0.0.1/32"}));
  http::HttpClient gateways(GatewayOptions());
  const std::string fixture = server_->http_url();
  ContentFetcher small(
      user, gateways,
      {.ipfs_gateways = {fixture + "/huge?chunked=1&p=", node_->gateway_url()},
       .max_bytes = 100000});
  // Over the cap mid-stream (no Content-Length), from a user URL and from a
  // gateway (refused at once, not tried elsewhere).
  const absl::Time begin = absl::Now();
  absl::StatusOr<FetchedFile> over = small.FetchToFile(
      uri::ResolveUri(fixture + "/huge?bytes=4000000000&chunked=1"), out);
  EXPECT_EQ(ReasonOf(over.status()), "too_large") << over.status();
  EXPECT_LT(absl::Now() - begin, absl::Seconds(3));
  absl::StatusOr<FetchedFile> gateway_over =
      small.FetchToFile(uri::ResolveUri("ipfs://" + *cid_), out);
  EXPECT_EQ(ReasonOf(gateway_over.status()), "too_large")
      << gateway_over.status();
  // Same reasons as Fetch for the rest.
  EXPECT_EQ(
      ReasonOf(small.FetchToFile(uri::ResolveUri(fixture + "/status/404"), out)
                   .status()),
      "http_4xx");
  EXPECT_EQ(ReasonOf(small
                         .FetchToFile(uri::ResolveUri("data:,hello"),
                                      dir->path() + "/no/such/dir")
                         .status()),
            "write_failed");
  EXPECT_EQ(
      ReasonOf(
          small.FetchToFile(uri::ResolveUri("javascript:1"), out).status()),
      "uri_invalid");
  absl::StatusOr<FetchedFile> unwritable = small.FetchToFile(
      uri::ResolveUri(fixture + "/page.json"), dir->path() + "/no/such/file");
  EXPECT_EQ(ReasonOf(unwritable.status()), "write_failed")
      << unwritable.status();
  EXPECT_TRUE(http::IsTemporary(unwritable.status()));
  EXPECT_THAT(Entries(dir->path()), ::testing::IsEmpty());
}

}  // namespace
}  // namespace niftysave::fetch
