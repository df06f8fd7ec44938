#include "services/extractor/metadata_extractor.h"

#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

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

TEST_F(MetadataExtractorTest, Utf8AndAsciiDataUrisParse) {
  for (const char* header :
       {"data:application/json;utf8,", "data:application/json;ascii,",
        "data:application/json;charset=utf-8,"}) {
    auto result = extractor_.Extract(
        std::string(header) +
            R"({"name":"n","image":"ar://bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U"})",
        "1");
    auto* x = std::get_if<Extraction>(&result);
    ASSERT_NE(x, nullptr) << header << ": "
                          << std::get<ExtractionFailure>(result).detail;
    ASSERT_EQ(x->assets.size(), 1u) << header;
    EXPECT_TRUE(x->leniency.empty());
  }
}

TEST_F(MetadataExtractorTest, TrailingCommasAreForgivenOutsideStrings) {
  const std::string json =
      R"({"name":"a, ]","image":"ipfs://bafkreiem4twkqzsq2aj4shbycd4yvoj2cx72vezicletlhi7dijjciqpui",)"
      "\n"
      R"( "attributes":[{"value":"x",} , ],})";
  auto result = extractor_.Extract("data:application/json;utf8," + json, "1");
  auto* x = std::get_if<Extraction>(&result);
  ASSERT_NE(x, nullptr) << std::get<ExtractionFailure>(result).detail;
  ASSERT_EQ(x->assets.size(), 1u);
  EXPECT_EQ(x->assets[0].json_path, "$.image");
  ASSERT_TRUE(x->doc_json.has_value());
  // The comma inside the string is content, not syntax.
  EXPECT_NE(x->doc_json->find(R"("a, ]")"), std::string::npos);
  EXPECT_EQ(x->leniency, std::vector<std::string>{"trailing_commas"});
  // The original bytes are kept as served.
  EXPECT_EQ(x->content.bytes, json);

  EXPECT_EQ(StripTrailingCommas(R"({"a":[1,2,],"b":"\",]",})"),
            R"({"a":[1,2],"b":"\",]"})");
  // Not trailing: untouched.
  EXPECT_EQ(StripTrailingCommas("[1,,2]"), "[1,,2]");
}

TEST_F(MetadataExtractorTest, UrlEncodedJsonDocumentIsDecoded) {
  // The document itself is percent-encoded (served that way, here inside a
  // base64 data: URI so one decoding layer is the URI's own):
  // %7B%22name%22%3A%22x%22%2C%22image%22%3A%22ar%3A%2F%2FbNbA...%22%7D
  const std::string encoded =
      "%7B%22name%22%3A%22x%20y%22%2C%22image%22%3A%22ar%3A%2F%2F"
      "bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U%22%7D";
  std::vector<std::string> leniency;
  nlohmann::ordered_json doc = ParseMetadataLeniently(encoded, &leniency);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["name"], "x y");
  EXPECT_EQ(leniency, std::vector<std::string>{"percent_decoded"});

  // Through the extractor: base64 of the encoded text.
  auto result = extractor_.Extract(
      "data:text/plain;base64,"
      "JTdCJTIybmFtZSUyMiUzQSUyMnglMjB5JTIyJTJDJTIyaW1hZ2UlMjIlM0ElMjJhciUzQSUy"
      "RiUyRmJOYkEzVEVRVkw2MHhsZ0NjcWR6NFpQSEZaNzExY1ozaG1rcEd0dER0X1UlMjIlN0Q"
      "=",
      "1");
  auto* x = std::get_if<Extraction>(&result);
  ASSERT_NE(x, nullptr) << std::get<ExtractionFailure>(result).detail;
  ASSERT_EQ(x->assets.size(), 1u);
  EXPECT_EQ(x->assets[0].resolved.kind, uri::UriKind::kArweave);

  // A percent-encoded depth bomb is still too deep.
  std::string bomb;
  for (int i = 0; i < 100; ++i) bomb += "%5B";
  for (int i = 0; i < 100; ++i) bomb += "%5D";
  // Escaped once more for the data: URI's own percent-decoding.
  auto deep = extractor_.Extract(
      "data:text/plain," + absl::StrReplaceAll(bomb, {{"%", "%25"}}), "1");
  auto* f = std::get_if<ExtractionFailure>(&deep);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->reason, "too_deep") << f->detail;
}

TEST_F(MetadataExtractorTest, InvalidUtf8IsReplacedNotFatal) {
  auto result = extractor_.Extract(
      "data:application/json,{\"name\":\"bad %C3%28 %FF\",\"image\":"
      "\"ar://bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U\"}",
      "1");
  auto* x = std::get_if<Extraction>(&result);
  ASSERT_NE(x, nullptr) << std::get<ExtractionFailure>(result).detail;
  EXPECT_EQ(x->leniency, std::vector<std::string>{"utf8_replaced"});
  ASSERT_EQ(x->assets.size(), 1u);
  ASSERT_TRUE(x->doc_json.has_value());
  EXPECT_NE(x->doc_json->find("bad \xef\xbf\xbd("), std::string::npos);
}

TEST_F(MetadataExtractorTest, GarbageIsStillNotJson) {
  std::vector<std::string> leniency;
  EXPECT_TRUE(ParseMetadataLeniently("{\"a\":,}", &leniency).is_discarded());
  EXPECT_TRUE(ParseMetadataLeniently("%7Bnope", &leniency).is_discarded());
  EXPECT_TRUE(ParseMetadataLeniently("", &leniency).is_discarded());
}

TEST_F(MetadataExtractorTest, DepthBombBehindACommentIsTooDeep) {
  // A '"' inside a comment must not make the depth check skip what
  // follows: the parser ignores comments, so the check has to as well.
  for (const std::string& comment :
       {std::string("%2F%2F %22%0A"), std::string("%2F* %22 *%2F")}) {
    auto result = extractor_.Extract("data:application/json," + comment +
                                         std::string(200000, '[') +
                                         std::string(200000, ']'),
                                     "1");
    auto* f = std::get_if<ExtractionFailure>(&result);
    ASSERT_NE(f, nullptr) << comment;
    EXPECT_EQ(f->reason, "too_deep") << comment << ": " << f->detail;
  }
}

TEST(JsonDepthTest, IgnoresBracketsInStrings) {
  EXPECT_EQ(JsonNestingDepth(R"({"a":"[[[[","b":[1,[2]]})"), 3u);
  EXPECT_EQ(JsonNestingDepth(R"("\"[")"), 0u);
  // Comments are skipped the way the parser skips them.
  EXPECT_EQ(JsonNestingDepth("// \"\n[[1]]"), 2u);
  EXPECT_EQ(JsonNestingDepth("/* \" */ [[1]] // ["), 2u);
  EXPECT_EQ(JsonNestingDepth("[\"//\", [\"/*\"]]"), 2u);
}

}  // namespace
}  // namespace niftysave::extractor
