// AsyncFetcher must answer exactly as ContentFetcher does: the same URIs
// (gateway failover, verdicts, raw-CID verification, data:, http behind the
// guard) go through both, against the fixture web server standing in for
// gateways and web hosts, and the outcomes are compared field by field.

#include <openssl/sha.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fetch/async_fetcher.h"
#include "common/fetch/content_fetcher.h"
#include "common/runtime/reason.h"
#include "common/uri/cid.h"
#include "gtest/gtest.h"
#include "tests/harness/fixture_http_server.h"
#include "tests/harness/net.h"
#include "tests/harness/temp_dir.h"

namespace niftysave::fetch {
namespace {

std::string RawCid(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         digest);
  return uri::Cid::FromDigest(
             1, uri::kCodecRaw, uri::kHashSha2_256,
             std::string(reinterpret_cast<char*>(digest), sizeof digest))
      .ToString();
}

void Write(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

// What a fetch came to, in one comparable line.
std::string Outcome(const absl::StatusOr<FetchedContent>& r) {
  if (!r.ok()) {
    std::optional<absl::Duration> after = RetryAfterOf(r.status());
    return absl::StrCat("error ", absl::StatusCodeToString(r.status().code()),
                        " ", ReasonOf(r.status()), " retry_after=",
                        after ? absl::FormatDuration(*after) : "-");
  }
  return absl::StrCat("ok ", r->bytes, " type=", r->content_type,
                      " verified=", r->verified, " source=", r->source);
}

TEST(AsyncFetcherTest, SameOutcomesAsContentFetcher) {
  auto root = harness::TempDir::Create("async-fetcher-test");
  ASSERT_TRUE(root.ok()) << root.status();
  const std::string honest = "raw bytes served honestly";
  const std::string cid = RawCid(honest);
  Write(root->path() + "/honest/ipfs/" + cid, honest);
  Write(root->path() + "/liar/ipfs/" + cid, "tampered");
  Write(root->path() + "/tree/ipfs/" + cid + "/dir/file", "in a directory");
  Write(root->path() + "/page.json", R"({"name":"page"})");
  auto server = harness::FixtureHttpServer::Start(root->path());
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string web = (*server)->http_url();
  const std::string dead =
      absl::StrCat("http://127.0.0.1:", harness::PickFreePort());

  http::HttpClientOptions user;
  user.address_policy = *http::AddressPolicy::PublicOnly({"127.0.0.1/32"});
  user.limits.total_timeout = absl::Seconds(2);
  http::HttpClientOptions gateway;
  gateway.limits.connect_timeout = absl::Seconds(1);
  gateway.limits.total_timeout = absl::Seconds(2);
  http::HttpClient user_http(user);
  http::HttpClient gateway_http(gateway);
  http::MultiClient user_multi({.http = user});
  http::MultiClient gateway_multi({.http = gateway});

  struct Case {
    std::vector<std::string> gateways;
    std::string uri;
    std::string want;  // must appear in the outcome, whatever both say
  };
  const std::vector<Case> cases = {
      {{web + "/liar", web + "/honest"},
       "ipfs://" + cid,
       R"(ok raw bytes served honestly)"},
      {{web + "/liar"}, "ipfs://" + cid, R"(cid_mismatch)"},
      {{dead, web + "/honest"}, "ipfs://" + cid, R"(verified=1)"},
      {{web + "/status/404?p=", web + "/status/410?p="},
       "ipfs://" + cid,
       R"(NOT_FOUND http_4xx)"},
      {{web + "/status/404?p=", dead},
       "ipfs://" + cid,
       R"(gateway_unavailable)"},
      {{web + "/slow?ms=5000&p=", web + "/status/504?p="},
       "ipfs://" + cid,
       R"(gateway_timeout)"},
      {{web + "/retry-after?s=9&p=", web + "/retry-after?s=3&p="},
       "ipfs://" + cid,
       R"(rate_limited retry_after=3s)"},
      {{web + "/retry-after?s=4&p=", dead},
       "ipfs://" + cid,
       R"(gateway_unavailable retry_after=4s)"},
      {{web + "/huge?bytes=5000&p=", web + "/honest"},
       "ipfs://" + cid,
       R"(too_large)"},
      {{web + "/tree"}, "ipfs://" + cid + "/dir/file", R"(verified=0)"},
      {{}, "ipfs://" + cid, R"(no_gateway)"},
      {{web}, "data:application/json;base64,eyJhIjoxfQ==", R"(ok {"a":1})"},
      {{web}, "data:application/json;base64,!!!", R"(uri_invalid)"},
      {{web}, web + "/page.json", R"(ok {"name":"page"})"},
      {{web}, web + "/status/404", R"(http_4xx)"},
      {{web},
       web + "/redirect?to=http%3A%2F%2F169.254.169.254%2F",
       R"(blocked_address)"},
      {{web}, "javascript:alert(1)", R"(uri_invalid)"},
  };
  for (const Case& c : cases) {
    const FetcherOptions options{.ipfs_gateways = c.gateways,
                                 .max_bytes = 1000};
    const uri::ResolvedUri resolved = uri::ResolveUri(c.uri);
    ContentFetcher blocking(user_http, gateway_http, options);
    AsyncFetcher async(user_multi, gateway_multi, options);
    std::promise<absl::StatusOr<FetchedContent>> promise;
    async.Fetch(resolved, [&](absl::StatusOr<FetchedContent> r) {
      promise.set_value(std::move(r));
    });
    const std::string expected = Outcome(blocking.Fetch(resolved));
    const std::string got = Outcome(promise.get_future().get());
    EXPECT_EQ(got, expected)
        << c.uri << " via " << (c.gateways.empty() ? "" : c.gateways[0]);
    EXPECT_NE(got.find(c.want), std::string::npos) << got;
  }
}

}  // namespace
}  // namespace niftysave::fetch
