// PinningServiceBackend against a loopback STAND-IN for a pinning service
// (tests/harness/pinning_service_standin.js): no real IPFS Pinning Service
// runs here, so the stand-in follows the published v1 spec (bearer auth,
// 202 on POST /pins, the 10-CID filter limit, `before`/`limit` paging).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/http/http_client.h"
#include "common/ipfs/pinning_service_backend.h"
#include "common/ipfs/unixfs_importer.h"
#include "common/runtime/reason.h"
#include "gtest/gtest.h"
#include "tests/harness/net.h"
#include "tests/harness/pinning_service_standin.h"

namespace niftysave::ipfs {
namespace {

std::string CidOf(const std::string& content) {
  UnixfsImporter importer(IpfsCarProfile(), nullptr);
  EXPECT_TRUE(importer.Update(content).ok());
  return CidText(*importer.Finish());
}

class PinningServiceStandinTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto standin = harness::PinningServiceStandin::Start("s3cret-token");
    status_ = new absl::Status(standin.status());
    if (standin.ok()) standin_ = standin->release();
  }
  static void TearDownTestSuite() {
    delete standin_;
    standin_ = nullptr;
    delete status_;
    status_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(status_->ok()) << *status_; }
  PinningServiceBackend Backend(std::string token = "s3cret-token",
                                int page_limit = 1000) {
    return PinningServiceBackend(
        http_, {.endpoint = standin_->url(),
                .access_token = std::move(token),
                .origins = {"/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWOrigin"},
                .page_limit = page_limit});
  }

  static harness::PinningServiceStandin* standin_;
  static absl::Status* status_;
  http::HttpClient http_{http::HttpClientOptions{}};
};

harness::PinningServiceStandin* PinningServiceStandinTest::standin_ = nullptr;
absl::Status* PinningServiceStandinTest::status_ = nullptr;

TEST_F(PinningServiceStandinTest, PinIsQueuedThenFollowedToPinned) {
  PinningServiceBackend backend = Backend();
  const std::string cid = CidOf("pin me");
  absl::StatusOr<PinReceipt> receipt = backend.PinCid(cid);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  EXPECT_EQ(receipt->state, PinState::kQueued);
  EXPECT_FALSE(receipt->request_id.empty());

  absl::StatusOr<PinReceipt> by_id =
      backend.StatusByRequestId(receipt->request_id);
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(by_id->state, PinState::kPinning);
  EXPECT_EQ(by_id->request_id, receipt->request_id);
  absl::StatusOr<PinState> state = backend.Status(cid);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kPinned);
}

TEST_F(PinningServiceStandinTest, UnknownRequestIdIsRejectedNotFound) {
  absl::StatusOr<PinReceipt> r = Backend().StatusByRequestId("no-such-id");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_EQ(ReasonOf(r.status()), "rejected");
}

TEST_F(PinningServiceStandinTest, CidNeverPinnedThereIsFailed) {
  absl::StatusOr<PinState> state = Backend().Status(CidOf("never pinned"));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, PinState::kFailed);
}

TEST_F(PinningServiceStandinTest, ManyCidsAreQueriedTenAtATimeAndPaged) {
  // 25 CIDs → 3 filter queries; a page limit of 4 makes each page through
  // `before` (the stand-in answers 400 to more than 10 CIDs in one query).
  PinningServiceBackend backend = Backend("s3cret-token", 4);
  std::vector<std::string> cids;
  for (int i = 0; i < 25; ++i) {
    cids.push_back(CidOf(absl::StrCat("many ", i)));
    ASSERT_TRUE(backend.PinCid(cids.back()).ok());
  }
  absl::StatusOr<int> before = standin_->RequestCount("GET /pins");
  ASSERT_TRUE(before.ok());
  absl::StatusOr<std::map<std::string, PinState>> states =
      backend.StatusMany(cids);
  ASSERT_TRUE(states.ok()) << states.status();
  EXPECT_EQ(states->size(), cids.size());
  for (const std::string& cid : cids) EXPECT_TRUE(states->contains(cid)) << cid;
  absl::StatusOr<int> after = standin_->RequestCount("GET /pins");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after - *before, 3 + 3 + 2);  // pages of 4: 10→3, 10→3, 5→2
}

// A query that still pages after kMaxPagesPerQuery pages is refused rather
// than followed for ever: one CID asked for 21 times, one result a page.
TEST_F(PinningServiceStandinTest, PagingIsCappedPerQuery) {
  PinningServiceBackend backend = Backend("s3cret-token", 1);
  const std::string cid = CidOf("asked for again and again");
  for (int i = 0; i < PinningServiceBackend::kMaxPagesPerQuery + 1; ++i) {
    ASSERT_TRUE(backend.PinCid(cid).ok());
  }
  absl::StatusOr<int> before = standin_->RequestCount("GET /pins");
  ASSERT_TRUE(before.ok());
  absl::StatusOr<std::map<std::string, PinState>> states =
      backend.StatusMany({cid});
  EXPECT_EQ(ReasonOf(states.status()), "backend_invalid") << states.status();
  absl::StatusOr<int> after = standin_->RequestCount("GET /pins");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after - *before, PinningServiceBackend::kMaxPagesPerQuery);
  // A status call is bounded by those pages.
  EXPECT_EQ(backend.longest_status_call(),
            PinningServiceBackend::kMaxPagesPerQuery * absl::Seconds(30));
}

TEST_F(PinningServiceStandinTest, StandinEnforcesTheTenCidLimit) {
  std::string many;
  for (int i = 0; i < 11; ++i) {
    absl::StrAppend(&many, i ? "," : "", CidOf(absl::StrCat("limit ", i)));
  }
  absl::StatusOr<harness::HttpResponse> r = harness::Fetch(
      {.url = standin_->url() + "/pins?cid=" + many,
       .headers = {"Authorization: Bearer " + standin_->token()}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 400);
}

TEST_F(PinningServiceStandinTest, MissingOrWrongTokenIsUnauthorized) {
  for (const char* token : {"", "wrong"}) {
    absl::StatusOr<PinReceipt> r = Backend(token).PinCid(CidOf("auth"));
    EXPECT_EQ(ReasonOf(r.status()), "unauthorized") << r.status();
    EXPECT_FALSE(http::IsTemporary(r.status()));
    // The token is never echoed into errors (and so never into logs).
    EXPECT_EQ(std::string(r.status().message()).find("s3cret"),
              std::string::npos);
  }
}

TEST_F(PinningServiceStandinTest, ErrorsMapToReasons) {
  struct Case {
    int status;
    const char* reason;
    const char* expected;
    bool temporary;
  };
  for (const Case& c :
       {Case{409, "INSUFFICIENT_FUNDS", "insufficient_funds", false},
        Case{429, "RATE_LIMIT", "rate_limited", true},
        Case{400, "BAD_REQUEST", "rejected", false},
        Case{403, "FORBIDDEN", "unauthorized", false},
        Case{503, "UNAVAILABLE", "backend_unavailable", true}}) {
    ASSERT_TRUE(standin_->FailNext(c.status, c.reason, 1, 3).ok());
    absl::StatusOr<PinReceipt> r = Backend().PinCid(CidOf("errors"));
    EXPECT_EQ(ReasonOf(r.status()), c.expected) << r.status();
    EXPECT_EQ(http::IsTemporary(r.status()), c.temporary) << r.status();
    EXPECT_NE(std::string(r.status().message()).find(c.reason),
              std::string::npos);
    if (c.status == 429) {
      EXPECT_EQ(RetryAfterOf(r.status()), absl::Seconds(3));
    }
  }
}

TEST_F(PinningServiceStandinTest, DeadServiceIsBackendUnavailable) {
  PinningServiceBackend dead(
      http_,
      {.endpoint = absl::StrCat("http://127.0.0.1:", harness::PickFreePort())});
  EXPECT_EQ(ReasonOf(dead.PinCid(CidOf("x")).status()), "backend_unavailable");
  EXPECT_EQ(ReasonOf(dead.Status(CidOf("x")).status()), "backend_unavailable");
}

TEST_F(PinningServiceStandinTest, UploadIsUnimplemented) {
  absl::StatusOr<std::string> r = Backend().Upload("bytes", "f");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(http::IsTemporary(r.status()));
}

}  // namespace
}  // namespace niftysave::ipfs
