#include "services/extractor/metadata_extractor.h"

#include "gtest/gtest.h"

namespace niftysave::extractor {
namespace {

// data: URIs need no network, so the real fetcher runs here as it does in
// production; network fetches are covered by the integration tests.
class MetadataExtractorTest : public testing::Test {
 protected:
  http::HttpClient http_{{}};
  fetch::ContentFetcher fetcher_{
      http_, http_, {.ipfs_gateways = {"http://127.0.0.1:9"}}};
  MetadataExtractor extractor_{fetcher_, {.max_json_depth = 16}};
};

TEST_F(MetadataExtractorTest, DataUriJsonYieldsAssetsInDocumentOrder) {
  auto result = extractor_.Extract(
      "data:application/json;utf8,{\"name\":\"x\",\"image\":\"ipfs://"
      "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n/"
      "1.png\",\"attributes\":[{\"trait_type\":"
      "\"a\",\"value\":\"plain "
      "words\"}],\"animation_url\":\"https://example.com/a.mp4\","
      "\"external_url\":\"https://example.com\"}",
      "1");
  auto* x = std::get_if<Extraction>(&result);
  ASSERT_NE(x, nullptr) << std::get<ExtractionFailure>(result).detail;
  ASSERT_EQ(x->assets.size(), 2u);
  EXPECT_EQ(x->assets[0].json_path, "$.image");
  EXPECT_EQ(x->assets[0].resolved.cid,
            "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  EXPECT_EQ(x->assets[0].resolved.path, "/1.png");
  EXPECT_EQ(x->assets[1].json_path, "$.animation_url");
  ASSERT_EQ(x->links.size(), 1u);
  EXPECT_EQ(x->links[0].role, "link");
  ASSERT_TRUE(x->doc_json.has_value());
}

TEST_F(MetadataExtractorTest, TopLevelArrayAndBomAreAccepted) {
  auto result = extractor_.Extract(
      "data:application/json,%EF%BB%BF[1,2,{\"image\":\"ar://"
      "bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U\"}]",
      "1");
  auto* x = std::get_if<Extraction>(&result);
  ASSERT_NE(x, nullptr) << std::get<ExtractionFailure>(result).detail;
  ASSERT_EQ(x->assets.size(), 1u);
  EXPECT_EQ(x->assets[0].resolved.kind, uri::UriKind::kArweave);
}

TEST_F(MetadataExtractorTest, FailuresCarryReasons) {
  auto invalid = extractor_.Extract("javascript:alert(1)", "1");
  ASSERT_TRUE(std::holds_alternative<ExtractionFailure>(invalid));
  EXPECT_EQ(std::get<ExtractionFailure>(invalid).reason, "uri_invalid");
  EXPECT_FALSE(std::get<ExtractionFailure>(invalid).metadata_uri.has_value());

  auto not_json = extractor_.Extract("data:text/plain,hello", "1");
  ASSERT_TRUE(std::holds_alternative<ExtractionFailure>(not_json));
  EXPECT_EQ(std::get<ExtractionFailure>(not_json).reason, "not_json");
  EXPECT_TRUE(std::get<ExtractionFailure>(not_json).metadata_uri.has_value());

  std::string deep =
      "data:application/json," + std::string(100, '[') + std::string(100, ']');
  auto too_deep = extractor_.Extract(deep, "1");
  ASSERT_TRUE(std::holds_alternative<ExtractionFailure>(too_deep));
  EXPECT_EQ(std::get<ExtractionFailure>(too_deep).reason, "too_deep");
}

TEST_F(MetadataExtractorTest, MediaTokenUriIsItsOwnAsset) {
  auto result =
      extractor_.Extract("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", "1");
  auto* x = std::get_if<Extraction>(&result);
  ASSERT_NE(x, nullptr);
  EXPECT_FALSE(x->doc_json.has_value());
  EXPECT_TRUE(x->assets.empty());
}

TEST_F(MetadataExtractorTest, Erc1155IdTemplateIsExpanded) {
  auto result = extractor_.Extract(
      "ipfs://QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n/{id}.json", "255");
  // The gateway on port 9 refuses: a temporary failure, but the URI resolved.
  auto* f = std::get_if<ExtractionFailure>(&result);
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->metadata_uri.has_value());
  EXPECT_EQ(f->metadata_uri->path, "/" + std::string(62, '0') + "ff.json");
  EXPECT_TRUE(f->temporary);
}

TEST(JsonDepthTest, IgnoresBracketsInStrings) {
  EXPECT_EQ(JsonNestingDepth(R"({"a":"[[[[","b":[1,[2]]})"), 3u);
  EXPECT_EQ(JsonNestingDepth(R"("\"[")"), 0u);
}

}  // namespace
}  // namespace niftysave::extractor
