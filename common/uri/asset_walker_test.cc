#include "common/uri/asset_walker.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/uri/token_uri.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace niftysave::uri {

// Found by gtest through ADL, so it lives in AssetRef's namespace.
void PrintTo(const AssetRef& r, std::ostream* os) {
  *os << "{" << r.json_path << ", " << r.uri.substr(0, 60) << ", "
      << AssetRoleName(r.role) << "}";
}

namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using Json = nlohmann::ordered_json;

constexpr char kV0[] = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n";
constexpr char kV1[] =
    "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
constexpr char kArId[] = "bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U";

AssetRef Asset(std::string path, std::string uri) {
  return AssetRef{std::move(path), std::move(uri), AssetRole::kAsset};
}
AssetRef Inline(std::string path, std::string uri) {
  return AssetRef{std::move(path), std::move(uri), AssetRole::kInline};
}
AssetRef Link(std::string path, std::string uri) {
  return AssetRef{std::move(path), std::move(uri), AssetRole::kLink};
}

std::vector<AssetRef> Walk(const Json& doc, const WalkLimits& limits = {}) {
  absl::StatusOr<std::vector<AssetRef>> refs = WalkAssets(doc, limits);
  EXPECT_TRUE(refs.ok()) << refs.status();
  return refs.ok() ? *refs : std::vector<AssetRef>{};
}

TEST(AssetWalkerTest, OpenSeaStyleWithAttributesArray) {
  const std::string image = absl::StrCat("ipfs://", kV0);
  const std::string anim =
      absl::StrCat("https://gateway.pinata.cloud/ipfs/", kV1, "/anim.mp4");
  const Json doc = Json::parse(R"({
    "name": "Ape #1",
    "description": "An ape. See https://example.com/ for more.",
    "image": ")" + image + R"(",
    "external_url": "https://apes.example/#/1",
    "animation_url": ")" + anim +
                               R"(",
    "youtube_url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "background_color": "ffffff",
    "attributes": [
      {"trait_type": "Background", "value": "Orange"},
      {"trait_type": "Hat", "value": "ipfs://)" +
                               std::string(kV1) + R"js(/hat.png"},
      {"display_type": "number", "trait_type": "Generation", "value": 2},
      {"trait_type": "Poster", "value": "https://cdn.example/p.png"},
      {"trait_type": "Homepage", "value": "www.example.com"},
      {"trait_type": "Script", "value": "javascript:alert(1)"
}
    ]
    })js");
  EXPECT_THAT(
      Walk(doc),
      ElementsAre(
          Asset("$.image", image),
          Link("$.external_url", "https://apes.example/#/1"),
          Asset("$.animation_url", anim),
          Link("$.youtube_url", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
          Asset("$.attributes[1].value",
                absl::StrCat("ipfs://", kV1, "/hat.png")),
          Asset("$.attributes[3].value", "https://cdn.example/p.png")));
}

TEST(AssetWalkerTest, OnChainBase64JsonWithBase64SvgImage) {
  const std::string svg_uri = "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=";
  // What an on-chain contract's tokenURI() returns: base64 JSON whose image
  // is a base64 SVG, plus inline SVG in image_data.
  const std::string token_uri =
      "data:application/json;base64,"
      "eyJuYW1lIjoiTG9vdCAjMSIsImltYWdlIjoiZGF0YTppbWFnZS9zdmcreG1sO2Jhc2U2"
      "NCxQSE4yWno0OEwzTjJaejQ9IiwiaW1hZ2VfZGF0YSI6IjxzdmcgeG1sbnM9J2h0dHA6"
      "Ly93d3cudzMub3JnLzIwMDAvc3ZnJz48L3N2Zz4ifQ==";
  absl::StatusOr<DataUri> data = DecodeDataUri(token_uri, 1 << 20);
  ASSERT_TRUE(data.ok()) << data.status();
  ASSERT_EQ(data->media_type, "application/json");
  const Json doc = Json::parse(data->bytes);
  EXPECT_THAT(Walk(doc),
              ElementsAre(Asset("$.image", svg_uri),
                          Inline("$.image_data",
                                 "<svg xmlns='http://www.w3.org/2000/svg'>"
                                 "</svg>")));
}

TEST(AssetWalkerTest, ImageDataThatIsAUriIsAnAsset) {
  const Json doc = {
      {"image_data", "data:image/svg+xml;utf8,<svg></svg>"},
      {"imageData", absl::StrCat("ipfs://", kV1)},
      {"image-data", "   "},
  };
  EXPECT_THAT(
      Walk(doc),
      ElementsAre(Asset("$.image_data", "data:image/svg+xml;utf8,<svg></svg>"),
                  Asset("$.imageData", absl::StrCat("ipfs://", kV1))));
}

TEST(AssetWalkerTest, MetaplexPropertiesFiles) {
  const Json doc = Json::parse(R"({
    "name": "Degen #7",
    "image": "https://arweave.net/)" +
                               std::string(kArId) + R"(",
    "properties": {
      "image": ")" + std::string(kV1) +
                               R"(",
      "files": [
        {"uri": "ar://)" + std::string(kArId) +
                               R"(/7.png", "type": "image/png"},
        {"uri": "https://cdn.example/7 hi-res.png", "type": "image/png", "cdn": true}
      ],
      "category": "image",
      "creators": [{"address": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU", "share": 100}]
    },
    "externalUrl": "https://degen.example"
  })");
  EXPECT_THAT(
      Walk(doc),
      ElementsAre(Asset("$.image", absl::StrCat("https://arweave.net/", kArId)),
                  Asset("$.properties.image", kV1),
                  Asset("$.properties.files[0].uri",
                        absl::StrCat("ar://", kArId, "/7.png")),
                  // A known asset key keeps a URL with a space in it.
                  Asset("$.properties.files[1].uri",
                        "https://cdn.example/7 hi-res.png"),
                  Link("$.externalUrl", "https://degen.example")));
}

TEST(AssetWalkerTest, ArraysAtTopLevelAndNested) {
  const std::string a = absl::StrCat("ipfs://", kV1, "/a.png");
  const Json doc = Json::array(
      {a,
       {{"image", {"https://x.example/1.png", "https://x.example/2.png"}}},
       3,
       nullptr,
       true,
       "word",
       Json::array(),
       Json::object(),
       Json::array({Json::array({"/ipfs/" + std::string(kV0)})})});
  EXPECT_THAT(Walk(doc),
              ElementsAre(Asset("$[0]", a),
                          Asset("$[1].image[0]", "https://x.example/1.png"),
                          Asset("$[1].image[1]", "https://x.example/2.png"),
                          Asset("$[8][0][0]", "/ipfs/" + std::string(kV0))));
}

TEST(AssetWalkerTest, ScalarDocuments) {
  EXPECT_THAT(Walk(Json(absl::StrCat("ipfs://", kV1))),
              ElementsAre(Asset("$", absl::StrCat("ipfs://", kV1))));
  EXPECT_THAT(Walk(Json("just a name")), IsEmpty());
  EXPECT_THAT(Walk(Json(42)), IsEmpty());
  EXPECT_THAT(Walk(Json(nullptr)), IsEmpty());
  EXPECT_THAT(Walk(Json(false)), IsEmpty());
}

// A reference that does not resolve is still an asset (recorded failed with
// its reason by the extractor); prose, names and empty values are not.
TEST(AssetWalkerTest, UnresolvableReferencesCountProseDoesNot) {
  const std::string long_url =
      "https://x.example/" + std::string(9 << 10, 'a');  // over 8 KiB
  const Json doc = {
      {"image", "javascript:alert(1)"},
      {"animation_url", "file:///etc/passwd"},
      {"thumbnail", "/images/1.png"},
      {"extra", "gopher://old.example/x"},
      {"more", long_url},
      {"name", "Cool Cat"},
      {"external_url", "TBD"},
      {"description", "minted at https://mint.example/ today"},
      {"notes", "Qm is a prefix"},
      {"image_url", "a picture of a cat"},
      {"video", ""},
      {"website", "https://mint.example/"},
  };
  EXPECT_THAT(Walk(doc),
              ElementsAre(Asset("$.image", "javascript:alert(1)"),
                          Asset("$.animation_url", "file:///etc/passwd"),
                          Asset("$.thumbnail", "/images/1.png"),
                          Asset("$.extra", "gopher://old.example/x"),
                          Asset("$.more", long_url),
                          Asset("$.website", "https://mint.example/")));
}

TEST(AssetWalkerTest, NonIdentifierKeysAreQuoted) {
  const Json doc = {
      {"my image", "https://x.example/a.png"},
      {"2x", {{"src", "https://x.example/b.png"}}},
      {"q\"uote", "https://x.example/c.png"},
      {"bad\xff", "https://x.example/d.png"},
  };
  EXPECT_THAT(
      Walk(doc),
      ElementsAre(Asset(R"($["my image"])", "https://x.example/a.png"),
                  Asset(R"($["2x"].src)", "https://x.example/b.png"),
                  Asset(R"($["q\"uote"])", "https://x.example/c.png"),
                  Asset("$[\"bad\xef\xbf\xbd\"]", "https://x.example/d.png")));
}

TEST(AssetWalkerTest, SameUriAtTwoPathsIsTwoReferences) {
  const std::string uri = absl::StrCat("ipfs://", kV1);
  const Json doc = {{"image", uri}, {"properties", {{"image", uri}}}};
  EXPECT_THAT(Walk(doc), ElementsAre(Asset("$.image", uri),
                                     Asset("$.properties.image", uri)));
}

TEST(AssetWalkerTest, SortedJsonIsDeterministicToo) {
  const nlohmann::json doc = {{"z", "https://x.example/z"},
                              {"a", "https://x.example/a"}};
  absl::StatusOr<std::vector<AssetRef>> refs = WalkAssets(doc);
  ASSERT_TRUE(refs.ok());
  EXPECT_THAT(*refs, ElementsAre(Asset("$.a", "https://x.example/a"),
                                 Asset("$.z", "https://x.example/z")));
}

TEST(AssetWalkerTest, DepthBombIsRejected) {
  const std::string bomb = std::string(100000, '[') + std::string(100000, ']');
  const Json doc = Json::parse(bomb);
  absl::StatusOr<std::vector<AssetRef>> refs = WalkAssets(doc);
  EXPECT_EQ(refs.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(AssetWalkerTest, DepthLimitIsExact) {
  const Json three = {{"a", {{"b", {"https://x.example/"}}}}};
  EXPECT_EQ(WalkAssets(three, {.max_depth = 3}).value().size(), 1u);
  EXPECT_EQ(WalkAssets(three, {.max_depth = 2}).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(AssetWalkerTest, AssetCountLimit) {
  Json doc = Json::array();
  for (int i = 0; i < 1001; ++i) {
    doc.push_back(absl::StrCat("https://x.example/", i));
  }
  EXPECT_EQ(WalkAssets(doc).status().code(),
            absl::StatusCode::kResourceExhausted);
  doc.erase(doc.size() - 1);
  EXPECT_EQ(WalkAssets(doc).value().size(), 1000u);
}

TEST(AssetWalkerTest, RoleNames) {
  EXPECT_EQ(AssetRoleName(AssetRole::kAsset), "asset");
  EXPECT_EQ(AssetRoleName(AssetRole::kInline), "inline");
  EXPECT_EQ(AssetRoleName(AssetRole::kLink), "link");
}

}  // namespace
}  // namespace niftysave::uri
