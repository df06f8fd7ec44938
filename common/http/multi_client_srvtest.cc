// MultiClient against the harness's hostile loopback server: the caps are
// checked from the server's side (requests answered at once, TCP
// connections), HTTP/2 multiplexing over TLS, and every limit's reason while
// the body streams.

#include <algorithm>
#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/clock.h"
#include "common/http/multi_client.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"
#include "tests/harness/hostile_http_server.h"

namespace niftysave::http {
namespace {

class MultiClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = harness::HostileHttpServer::Start();
    if (server.ok()) {
      server_ = server->release();
    } else {
      start_error_ = new absl::Status(server.status());
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_, nullptr) << *start_error_;
    ASSERT_TRUE(server_->Reset().ok());
  }

  // A client that may reach 127.0.0.1 (the server) and nothing else
  // internal.
  static MultiClientOptions Options() {
    MultiClientOptions o;
    o.http.address_policy = *AddressPolicy::PublicOnly({"127.0.0.1/32"});
    o.http.ca_file = server_->ca_file();
    o.http.limits.total_timeout = absl::Seconds(10);
    o.http.limits.max_body_bytes = 1 << 20;
    return o;
  }

  // Fetches every URL at once; returns the results in order.
  static std::vector<absl::StatusOr<HttpResponse>> FetchAll(
      MultiClient& client, const std::vector<std::string>& urls) {
    std::vector<std::future<absl::StatusOr<HttpResponse>>> futures;
    for (const std::string& url : urls) {
      futures.push_back(client.Fetch(HttpRequest{.url = url}));
    }
    std::vector<absl::StatusOr<HttpResponse>> out;
    for (auto& f : futures) out.push_back(f.get());
    return out;
  }

  static std::string Fail(const std::string& url, MultiClient& client) {
    absl::StatusOr<HttpResponse> r =
        client.Fetch(HttpRequest{.url = url}).get();
    return r.ok() ? "ok" : ReasonOf(r.status());
  }

  static harness::HostileHttpServer* server_;
  static absl::Status* start_error_;
};

harness::HostileHttpServer* MultiClientTest::server_ = nullptr;
absl::Status* MultiClientTest::start_error_ = nullptr;

TEST_F(MultiClientTest, PerHostCapHoldsAtTheServer) {
  MultiClientOptions o = Options();
  o.max_in_flight = 100;
  o.max_per_host = 4;
  MultiClient client(o);
  std::vector<std::string> urls(20, server_->http_url() + "/slow?ms=200");
  for (const auto& r : FetchAll(client, urls))
    ASSERT_TRUE(r.ok()) << r.status();
  auto stats = server_->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->peak_active, 4);  // never more, and the cap was reached
  // The client's 4 (kept alive), plus the stats request's own.
  EXPECT_LE(stats->http_connections_peak, 5);
  EXPECT_EQ(client.stats().peak_in_flight, 4);
}

TEST_F(MultiClientTest, PlainHttpDoesNotWaitForTheFirstAnswer) {
  // Over http:// nothing multiplexes: the first transfers to a host all go
  // out at once, not one first while the rest wait for its answer.
  MultiClient client(Options());
  ASSERT_TRUE(server_->Reset().ok());
  std::vector<std::string> urls(8, server_->http_url() + "/slow?ms=1000");
  for (const auto& r : FetchAll(client, urls))
    ASSERT_TRUE(r.ok()) << r.status();
  auto stats = server_->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->peak_active, 8);
}

TEST_F(MultiClientTest, GlobalCapHoldsAcrossHosts) {
  MultiClientOptions o = Options();
  o.max_in_flight = 6;
  o.max_per_host = 64;
  MultiClient client(o);
  // Two host keys for the same server: 127.0.0.1 over http and over https.
  std::vector<std::string> urls;
  for (int i = 0; i < 15; ++i) {
    urls.push_back(server_->http_url() + "/slow?ms=200");
    urls.push_back(server_->https_url() + "/slow?ms=200");
  }
  for (const auto& r : FetchAll(client, urls))
    ASSERT_TRUE(r.ok()) << r.status();
  auto stats = server_->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->peak_active, 6);
  EXPECT_EQ(stats->requests, 30);
}

TEST_F(MultiClientTest, ManyInFlightOnOneThreadAndHttp2Multiplexes) {
  MultiClientOptions o = Options();
  o.max_in_flight = 200;
  o.max_per_host = 200;
  MultiClient client(o);
  // One request first, so the connection and the server's HTTP/2 SETTINGS
  // (1000 streams) are known: until then curl assumes 100 per connection.
  ASSERT_TRUE(
      client.Fetch(HttpRequest{.url = server_->https_url() + "/status/200"})
          .get()
          .ok());
  ASSERT_TRUE(server_->Reset().ok());
  std::vector<std::string> urls(200, server_->https_url() + "/slow?ms=500");
  const absl::Time start = absl::Now();
  for (const auto& r : FetchAll(client, urls))
    ASSERT_TRUE(r.ok()) << r.status();
  // 200 transfers of 500 ms each, all at once: about 0.5 s, not 100 s.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  auto stats = server_->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->peak_active, 200);
  EXPECT_EQ(stats->h2_streams, 200);
  // HTTP/2: the streams share the connection instead of opening 200 (the
  // peak counts the one kept alive from before the reset).
  EXPECT_LE(stats->https_connections_peak, 2);
}

TEST_F(MultiClientTest, PerHostRateLimitSpacesStarts) {
  MultiClientOptions o = Options();
  o.per_host_rps = 10;
  MultiClient client(o);
  std::vector<std::string> urls(20, server_->http_url() + "/status/200");
  const absl::Time start = absl::Now();
  for (const auto& r : FetchAll(client, urls))
    ASSERT_TRUE(r.ok()) << r.status();
  // A burst of 10, then 10 more at 10/s: about a second.
  const absl::Duration took = absl::Now() - start;
  EXPECT_GE(took, absl::Milliseconds(850));
  EXPECT_LT(took, absl::Seconds(4));
}

TEST_F(MultiClientTest, FirstByteTimeout) {
  MultiClientOptions o = Options();
  o.first_byte_timeout = absl::Seconds(1);
  MultiClient client(o);
  const absl::Time start = absl::Now();
  absl::StatusOr<HttpResponse> r =
      client.Fetch(HttpRequest{.url = server_->http_url() + "/slow?ms=8000"})
          .get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ReasonOf(r.status()), "timeout");
  EXPECT_NE(r.status().message().find("first-byte"), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

TEST_F(MultiClientTest, LimitsHoldWhileStreaming) {
  MultiClientOptions o = Options();
  o.http.limits.total_timeout = absl::Seconds(2);
  MultiClient client(o);
  const std::string base = server_->http_url();
  EXPECT_EQ(Fail(base + "/endless", client), "too_large");
  EXPECT_EQ(Fail(server_->https_url() + "/endless", client), "too_large");
  EXPECT_EQ(Fail(base + "/length-lie", client), "too_large");
  EXPECT_EQ(Fail(base + "/gzip-bomb?mb=64", client), "too_large");
  EXPECT_EQ(Fail(base + "/drip?bytes=100&ms=100", client), "timeout");
  EXPECT_EQ(Fail(base + "/redirect-loop", client), "too_many_redirects");
}

TEST_F(MultiClientTest, AdmitBodyIsAskedAsTheBodyGrowsAndCanCutIt) {
  MultiClient client(Options());
  // Admits up to 300,000 bytes of an endless body (gzip-decoded bytes too).
  for (const std::string path : {"/endless", "/gzip-bomb?mb=64"}) {
    std::vector<size_t> asked;
    absl::StatusOr<HttpResponse> r =
        client
            .Fetch(HttpRequest{.url = server_->http_url() + path,
                               .admit_body =
                                   [&](size_t bytes) {
                                     asked.push_back(bytes);
                                     return bytes <= 300000;
                                   }})
            .get();
    ASSERT_FALSE(r.ok()) << path;
    EXPECT_EQ(ReasonOf(r.status()), "memory_budget") << r.status();
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    ASSERT_GE(asked.size(), 2u) << path;
    EXPECT_TRUE(std::is_sorted(asked.begin(), asked.end())) << path;
    EXPECT_GT(asked.back(), 300000u) << path;
    EXPECT_LE(asked[asked.size() - 2], 300000u) << path;
  }
  // Admitted whole, the body arrives as without it.
  absl::StatusOr<HttpResponse> small =
      client
          .Fetch(HttpRequest{.url = server_->http_url() + "/status/200",
                             .admit_body = [](size_t) { return true; }})
          .get();
  EXPECT_TRUE(small.ok()) << small.status();
}

TEST_F(MultiClientTest, SsrfGuardOnEveryHop) {
  MultiClient client(Options());
  const std::string base = server_->http_url();
  EXPECT_EQ(
      Fail(base + "/redirect?to=http%3A%2F%2F169.254.169.254%2Flatest", client),
      "blocked_address");
  EXPECT_EQ(Fail(base + "/redirect?to=http%3A%2F%2F127.0.0.2%3A80%2F", client),
            "blocked_address");
  EXPECT_EQ(Fail("http://10.0.0.1/", client), "blocked_address");
  EXPECT_EQ(Fail("ftp://127.0.0.1/x", client), "uri_invalid");
}

TEST_F(MultiClientTest, HttpAnswersAsFetchReasons) {
  MultiClient client(Options());
  absl::StatusOr<HttpResponse> r =
      client.Fetch(HttpRequest{.url = server_->http_url() + "/retry-after?s=7"})
          .get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ReasonOf(r.status()), "rate_limited");
  EXPECT_EQ(RetryAfterOf(r.status()), absl::Seconds(7));
  EXPECT_EQ(Fail(server_->http_url() + "/status/404", client), "http_4xx");
  EXPECT_EQ(Fail(server_->http_url() + "/status/503", client), "http_5xx");
  auto ok =
      client.Fetch(HttpRequest{.url = server_->https_url() + "/meta/7.json"})
          .get();
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->content_type, "application/json");
  EXPECT_NE(ok->body.find("token 7"), std::string::npos);
}

TEST_F(MultiClientTest, QueueCapAndShutdownCancel) {
  MultiClientOptions o = Options();
  o.max_in_flight = 1;
  o.max_queued = 2;
  auto client = std::make_unique<MultiClient>(o);
  std::vector<std::future<absl::StatusOr<HttpResponse>>> futures;
  const HttpRequest slow{.url = server_->http_url() + "/slow?ms=3000"};
  futures.push_back(client->Fetch(slow));
  absl::SleepFor(absl::Milliseconds(300));  // running now
  futures.push_back(client->Fetch(slow));
  futures.push_back(client->Fetch(slow));
  // One running, two waiting: the fourth is refused at once.
  absl::StatusOr<HttpResponse> refused =
      client->Fetch(HttpRequest{.url = server_->http_url() + "/slow?ms=1"})
          .get();
  EXPECT_EQ(ReasonOf(refused.status()), "overloaded");
  const absl::Time start = absl::Now();
  client.reset();  // cancels the rest without waiting for them
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  for (auto& f : futures) {
    EXPECT_EQ(f.get().status().code(), absl::StatusCode::kCancelled);
  }
}

}  // namespace
}  // namespace niftysave::http
