// The tracker's read-side checks and assembly, without a database: request
// validation, page tokens, and a report built from its query's rows.
#include "services/tracker/token_query.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace niftysave::tracker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(TokenQueryTest, ListQueryNormalisesTheContractAndDefaultsThePage) {
  auto q = MakeTokenListQuery(1, "0x00000000000000000000000000000000000000AB",
                              "failed", 0, "");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->contract, "00000000000000000000000000000000000000ab");
  EXPECT_EQ(q->status, "failed");
  EXPECT_EQ(q->limit, kDefaultPageSize);
  EXPECT_EQ(q->after_id, 0);
}

TEST(TokenQueryTest, ListQueryNamesTheBadField) {
  EXPECT_THAT(MakeTokenListQuery(0, "", "", 0, "").status().message(),
              HasSubstr("chain_id"));
  EXPECT_THAT(MakeTokenListQuery(1, "0x12", "", 0, "").status().message(),
              HasSubstr("contract"));
  EXPECT_THAT(
      MakeTokenListQuery(1, "", "", kMaxPageSize + 1, "").status().message(),
      HasSubstr("page_size"));
  EXPECT_THAT(MakeTokenListQuery(1, "", "", 0, "junk").status().message(),
              HasSubstr("page_token"));
}

TEST(TokenQueryTest, PageTokensRoundTripAndRefuseForgeries) {
  const std::string token = EncodePageToken(12345);
  EXPECT_EQ(*DecodePageToken(token), 12345);
  auto q = MakeTokenListQuery(1, "", "", 10, token);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->after_id, 12345);
  EXPECT_FALSE(DecodePageToken(EncodePageToken(0)).ok());
  EXPECT_FALSE(DecodePageToken("djI6MQ").ok());  // "v2:1"
}

TEST(TokenQueryTest, WatchIntervalDefaultsToFiveAndStopsAtSixty) {
  EXPECT_EQ(*WatchInterval(0), absl::Seconds(5));
  EXPECT_EQ(*WatchInterval(60), absl::Seconds(60));
  EXPECT_FALSE(WatchInterval(61).ok());
}

TEST(TokenQueryTest, ContractRefIsCanonical) {
  auto ref = ParseContractRef(3, "0x00000000000000000000000000000000000000CC");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->chain_id, 3u);
  EXPECT_EQ(ref->contract, "00000000000000000000000000000000000000cc");
  EXPECT_FALSE(
      ParseContractRef(uint64_t{1} << 63, "0x" + std::string(40, '0')).ok());
  EXPECT_FALSE(ParseContractRef(3, "cc").ok());
}

TEST(TokenQueryTest, MostFirstThenByName) {
  EXPECT_THAT(
      MostFirst({{"a", 1}, {"b", 5}, {"c", 1}, {"d", 7}}),
      ElementsAre(Pair("d", 7), Pair("b", 5), Pair("a", 1), Pair("c", 1)));
}

TokenReportRow Row(std::string json_path, std::string role, std::string uri,
                   std::optional<std::string> pin_backend) {
  TokenReportRow row{.token_uri = "ipfs://meta",
                     .status = "archived",
                     .owner = "ab",
                     .mint_block = 7,
                     .has_resource = true,
                     .json_path = std::move(json_path),
                     .role = std::move(role)};
  row.resource.uri = std::move(uri);
  if (pin_backend) row.pin = PinView{.backend = *pin_backend};
  return row;
}

// One row per (resource, pin), grouped by json_path: the metadata, then each
// asset with all of its pins.
TEST(TokenQueryTest, ReportGroupsRowsByResource) {
  std::vector<TokenReportRow> rows;
  rows.push_back(Row("$", "metadata", "ipfs://meta", "kubo"));
  rows.push_back(Row("$.image", "asset", "ipfs://img", "cluster"));
  rows.push_back(Row("$.image", "asset", "ipfs://img", "kubo"));
  rows.push_back(Row("$.video", "asset", "https://v", std::nullopt));
  const eth::TokenKey key{1, "ab", "9"};
  TokenReport report = AssembleTokenReport(key, std::move(rows));
  EXPECT_EQ(report.status, "archived");
  EXPECT_EQ(report.mint_block, 7u);
  ASSERT_TRUE(report.metadata.has_value());
  EXPECT_EQ(report.metadata->uri, "ipfs://meta");
  ASSERT_EQ(report.metadata->pins.size(), 1u);
  ASSERT_EQ(report.assets.size(), 2u);
  EXPECT_EQ(report.assets[0].json_path, "$.image");
  ASSERT_EQ(report.assets[0].resource.pins.size(), 2u);
  EXPECT_EQ(report.assets[0].resource.pins[0].backend, "cluster");
  EXPECT_EQ(report.assets[0].resource.pins[1].backend, "kubo");
  EXPECT_EQ(report.assets[1].resource.uri, "https://v");
  EXPECT_TRUE(report.assets[1].resource.pins.empty());
}

// A link checked against the token's on-chain SHA-256 says so, the
// metadata's on the report, an asset's on its entry; each once, whatever
// the number of pins.
TEST(TokenQueryTest, ReportCarriesWhichLinksWereVerified) {
  std::vector<TokenReportRow> rows;
  rows.push_back(Row("", "metadata", "https://meta", "kubo"));
  rows.back().verified = true;
  rows.push_back(Row("$.image", "asset", "https://img", "cluster"));
  rows.push_back(Row("$.image", "asset", "https://img", "kubo"));
  rows.push_back(Row("tokenURI()", "asset", "https://c", "kubo"));
  rows.back().verified = true;
  TokenReport report = AssembleTokenReport({1, "ab", "9"}, std::move(rows));
  EXPECT_TRUE(report.metadata_verified);
  ASSERT_EQ(report.assets.size(), 2u);
  EXPECT_FALSE(report.assets[0].verified);
  EXPECT_TRUE(report.assets[1].verified);
}

TEST(TokenQueryTest, ReportOfATokenWithoutResources) {
  TokenReportRow only{.token_uri = "https://x", .status = "queued"};
  std::vector<TokenReportRow> rows;
  rows.push_back(std::move(only));
  TokenReport report = AssembleTokenReport({1, "ab", "9"}, std::move(rows));
  EXPECT_EQ(report.token_uri, "https://x");
  EXPECT_EQ(report.status, "queued");
  EXPECT_FALSE(report.metadata.has_value());
  EXPECT_TRUE(report.assets.empty());
}

}  // namespace
}  // namespace niftysave::tracker
