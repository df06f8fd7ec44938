// SSRF through the operator's own gateways: a gateway may sit on an internal
// address (the first hop is trusted), but where it redirects us is judged
// like a user URL. A public subdomain gateway redirects every path by design
// and honours a CID's _redirects file, so content can point it anywhere.
//
// Real servers on loopback: "gateways" on 127.0.0.3-5 (outside the
// allow-list of 127.0.0.1, as an in-cluster gateway would be) and a canary on
// 127.0.0.2 (outside it too) that must never see a request.
// Both fetchers are checked: AsyncFetcher (the extractor's metadata path)
// and ContentFetcher, to memory and to a file (the pinner's media path).

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fetch/async_fetcher.h"
#include "common/fetch/content_fetcher.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"
#include "tests/harness/hostile_http_server.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::fetch {
namespace {

using harness::HostileHttpServer;

// Any syntactically valid CID: the path under it makes the answer
// unverifiable, so what the gateway serves is taken as it is.
constexpr char kCid[] =
    "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

std::unique_ptr<HostileHttpServer> StartOn(const std::string& host,
                                           const std::string& redirect_to) {
  auto server = HostileHttpServer::Start(
      {.host = host, .gateway_redirect_to = redirect_to});
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

class GatewayRedirectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    canary_ = StartOn("127.0.0.2", "").release();
    // Redirects every /ipfs/ and /ipns/ path to the canary.
    to_canary_ = StartOn("127.0.0.3", canary_->http_url()).release();
    allowed_ = StartOn("127.0.0.1", "").release();
    // Redirects to an address the allow-list names: must still work. The
    // gateway path lands on the allowed server's metadata route.
    to_allowed_ = StartOn("127.0.0.4", allowed_->http_url() + "/meta/7.json?p=")
                      .release();
    // Serves the answer itself, on an address user fetches may not reach.
    internal_ = StartOn("127.0.0.5", "").release();
  }
  static void TearDownTestSuite() {
    for (HostileHttpServer* s :
         {canary_, to_canary_, allowed_, to_allowed_, internal_}) {
      delete s;
    }
  }

  void SetUp() override {
    ASSERT_NE(canary_, nullptr);
    ASSERT_TRUE(canary_->Reset().ok());
    user_.address_policy = *http::AddressPolicy::PublicOnly({"127.0.0.1/32"});
    user_.limits.total_timeout = absl::Seconds(5);
    gateway_ = user_;
    gateway_.trust_first_hop = true;
  }

  // Requests the canary saw since SetUp (its own stats calls are not
  // counted; its connection count would include them).
  int CanaryHits() const {
    auto stats = canary_->GetStats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? stats->requests : -1;
  }

  FetcherOptions Options(const std::vector<std::string>& gateways) const {
    return {.ipfs_gateways = gateways,
            .arweave_gateway = to_canary_->http_url(),
            .max_bytes = 1 << 20};
  }

  // The reason each fetcher ends with ("ok" when it succeeded): the async
  // one, the blocking one to memory, the blocking one to a file.
  std::vector<std::string> Reasons(const std::vector<std::string>& gateways,
                                   const std::string& uri) const {
    http::HttpClient user_http(user_), gateway_http(gateway_);
    http::MultiClient user_multi({.http = user_});
    http::MultiClient gateway_multi({.http = gateway_});
    const uri::ResolvedUri resolved = uri::ResolveUri(uri);
    AsyncFetcher async(user_multi, gateway_multi, Options(gateways));
    std::promise<absl::StatusOr<FetchedContent>> promise;
    async.Fetch(resolved, [&](absl::StatusOr<FetchedContent> r) {
      promise.set_value(std::move(r));
    });
    ContentFetcher blocking(user_http, gateway_http, Options(gateways));
    auto dir = harness::TempDir::Create("gateway-redirect-test");
    EXPECT_TRUE(dir.ok());
    const auto reason = [](const absl::Status& s) {
      return s.ok() ? std::string("ok") : ReasonOf(s);
    };
    return {
        reason(promise.get_future().get().status()),
        reason(blocking.Fetch(resolved).status()),
        reason(blocking.FetchToFile(resolved, dir->path() + "/f").status())};
  }

  http::HttpClientOptions user_, gateway_;
  static HostileHttpServer* canary_;
  static HostileHttpServer* to_canary_;
  static HostileHttpServer* allowed_;
  static HostileHttpServer* to_allowed_;
  static HostileHttpServer* internal_;
};

HostileHttpServer* GatewayRedirectTest::canary_ = nullptr;
HostileHttpServer* GatewayRedirectTest::to_canary_ = nullptr;
HostileHttpServer* GatewayRedirectTest::allowed_ = nullptr;
HostileHttpServer* GatewayRedirectTest::to_allowed_ = nullptr;
HostileHttpServer* GatewayRedirectTest::internal_ = nullptr;

const std::vector<std::string> kBlocked(3, "blocked_address");
const std::vector<std::string> kOk(3, "ok");

// The canary is reachable at all: a client that trusts every hop (what the
// gateways used before) is led straight to it. Without this the tests below
// could pass against a canary nobody can reach.
TEST_F(GatewayRedirectTest, CanaryIsReachableWhenEveryHopIsTrusted) {
  gateway_ = {};
  gateway_.limits.total_timeout = absl::Seconds(5);
  EXPECT_EQ(Reasons({to_canary_->http_url()}, absl::StrCat("ipfs://", kCid)),
            std::vector<std::string>(3, "http_4xx"));
  EXPECT_GT(CanaryHits(), 0);
}

TEST_F(GatewayRedirectTest, RedirectToAnInternalAddressIsBlocked) {
  EXPECT_EQ(Reasons({to_canary_->http_url()},
                    absl::StrCat("ipfs://", kCid, "/a.json")),
            kBlocked);
  EXPECT_EQ(Reasons({to_canary_->http_url()}, absl::StrCat("ipfs://", kCid)),
            kBlocked);
  EXPECT_EQ(CanaryHits(), 0);
}

TEST_F(GatewayRedirectTest, IpnsAndArweaveRedirectsAreBlocked) {
  EXPECT_EQ(Reasons({to_canary_->http_url()}, "ipns://attacker.example/x"),
            kBlocked);
  // ar:// goes to the Arweave gateway, here the redirecting one.
  EXPECT_EQ(Reasons({}, absl::StrCat("ar://", std::string(43, 'a'))), kBlocked);
  EXPECT_EQ(CanaryHits(), 0);
}

TEST_F(GatewayRedirectTest, RedirectToAnAllowedAddressStillWorks) {
  EXPECT_EQ(Reasons({to_allowed_->http_url()},
                    absl::StrCat("ipfs://", kCid, "/a.json")),
            kOk);
}

TEST_F(GatewayRedirectTest, OperatorGatewayOnAnInternalAddressIsTrusted) {
  // 127.0.0.5 is outside the allow-list: a user URL could not reach it, the
  // operator's gateway on it can (first hop only).
  EXPECT_EQ(Reasons({internal_->http_url() + "/meta/3.json?p="},
                    absl::StrCat("ipfs://", kCid, "/a.json")),
            kOk);
  // The same address named by a user URL is blocked.
  EXPECT_EQ(Reasons({internal_->http_url() + "/meta/3.json?p="},
                    internal_->http_url() + "/meta/3.json"),
            kBlocked);
}

// One gateway blocked, the next one serves: failover still works, and the
// blocked one does not poison the answer.
TEST_F(GatewayRedirectTest, FailoverPastABlockedGateway) {
  EXPECT_EQ(Reasons({to_canary_->http_url(),
                     internal_->http_url() + "/meta/3.json?p="},
                    absl::StrCat("ipfs://", kCid, "/a.json")),
            kOk);
  EXPECT_EQ(CanaryHits(), 0);
}

}  // namespace
}  // namespace niftysave::fetch
