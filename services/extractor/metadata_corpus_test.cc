// Token URI and metadata shapes as public collections document and serve
// them, each with the exact assets (JSON path + normalised URI) the
// extractor must record. Metadata goes in as data: token URIs, so the real
// fetcher and parser run without a network; the token URI shapes that need a
// network are checked at resolution, which is what decides the resource.
//
// Expected CIDv1 forms were computed independently of common/uri (base58btc
// decode, 0x01 0x70 prefix, RFC 4648 base32 lower case).

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/extractor/metadata_extractor.h"

namespace niftysave::extractor {
namespace {

using ::testing::ElementsAreArray;

// BAYC's base URI and one of its images; Azuki's base URI.
constexpr char kBaycV0[] = "QmeSjSinHpPnmXmspMjwiXyN6zS4E9zccariGR3jxcaWtq";
constexpr char kBaycV1[] =
    "bafybeihpjhkeuiq3k6nqa3fkgeigeri7iebtrsuyuey5y6vy36n345xmbi";
constexpr char kApeImageV0[] = "QmRRPWG96cmgTn2qSzjwr2qvfNEuhunv6FNeMFGa9bx6mQ";
constexpr char kApeImageV1[] =
    "bafybeibnzhc7vp4hnfcocw7s2jej2tj5xqpwseyz3ifylismh47cr45rhm";
constexpr char kAzukiV0[] = "QmQFkLSQysj94s5GvTHPyzTxrawwtjgiiYS2TBLgrvw8CW";
constexpr char kAzukiV1[] =
    "bafybeia4oxkokelepor327ens3acwjkprb3dfrzyt2ziz2savgxz532ag4";
constexpr char kDirV0[] = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n";
constexpr char kDirV1[] =
    "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
constexpr char kArweaveId[] = "bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U";

struct UriCase {
  std::string uri;
  uri::UriKind kind;
  std::string normalized;
};

TEST(TokenUriCorpusTest, ResolvesToOneResourcePerContent) {
  const std::vector<UriCase> cases = {
      // ipfs:// directories: <base>/<n>, <base>/<n>.json.
      {absl::StrCat("ipfs://", kBaycV0, "/1"), uri::UriKind::kIpfs,
       absl::StrCat("ipfs://", kBaycV1, "/1")},
      {absl::StrCat("ipfs://", kDirV1, "/42.json"), uri::UriKind::kIpfs,
       absl::StrCat("ipfs://", kDirV1, "/42.json")},
      // The ipfs://ipfs/ quirk.
      {absl::StrCat("ipfs://ipfs/", kBaycV0, "/1"), uri::UriKind::kIpfs,
       absl::StrCat("ipfs://", kBaycV1, "/1")},
      // Path gateways: a dedicated Pinata gateway, the public ones.
      {absl::StrCat("https://ikzttp.mypinata.cloud/ipfs/", kAzukiV0, "/1"),
       uri::UriKind::kIpfs, absl::StrCat("ipfs://", kAzukiV1, "/1")},
      {absl::StrCat("https://gateway.pinata.cloud/ipfs/", kBaycV0, "/1"),
       uri::UriKind::kIpfs, absl::StrCat("ipfs://", kBaycV1, "/1")},
      {absl::StrCat("https://ipfs.io/ipfs/", kApeImageV0), uri::UriKind::kIpfs,
       absl::StrCat("ipfs://", kApeImageV1)},
      {absl::StrCat("https://cloudflare-ipfs.com/ipfs/", kDirV0, "/7.json"),
       uri::UriKind::kIpfs, absl::StrCat("ipfs://", kDirV1, "/7.json")},
      // Subdomain gateway.
      {absl::StrCat("https://", kDirV1, ".ipfs.dweb.link/7.json"),
       uri::UriKind::kIpfs, absl::StrCat("ipfs://", kDirV1, "/7.json")},
      // Arweave, both forms.
      {absl::StrCat("ar://", kArweaveId, "/1.json"), uri::UriKind::kArweave,
       absl::StrCat("ar://", kArweaveId, "/1.json")},
      {absl::StrCat("https://arweave.net/", kArweaveId), uri::UriKind::kArweave,
       absl::StrCat("ar://", kArweaveId)},
      // A plain web server, written sloppily.
      {"HTTPS://API.Example.com:443/token/1", uri::UriKind::kHttp,
       "https://api.example.com/token/1"},
  };
  for (const UriCase& c : cases) {
    uri::ResolvedUri r = uri::ResolveUri(c.uri);
    EXPECT_EQ(r.kind, c.kind) << c.uri << ": " << r.detail;
    EXPECT_EQ(r.normalized, c.normalized) << c.uri;
  }
}

TEST(TokenUriCorpusTest, Erc1155IdTemplate) {
  // The ERC-1155 spec's own example: id 314592 is 0x4CCE0.
  const std::string hex = std::string(59, '0') + "4cce0";
  EXPECT_EQ(
      uri::SubstituteErc1155Id("https://token-cdn-domain/{id}.json", "314592"),
      absl::StrCat("https://token-cdn-domain/", hex, ".json"));
  EXPECT_EQ(uri::SubstituteErc1155IdDecimal(
                "https://token-cdn-domain/{id}.json", "314592"),
            "https://token-cdn-domain/314592.json");
  uri::ResolvedUri r = uri::ResolveUri(
      uri::SubstituteErc1155Id(absl::StrCat("ipfs://", kDirV0, "/{id}"), "1"));
  EXPECT_EQ(r.normalized,
            absl::StrCat("ipfs://", kDirV1, "/", std::string(63, '0'), "1"));
}

struct Expected {
  std::string json_path;
  std::string normalized;
};

// Extracts `json` (served as an on-chain base64 data: URI) and returns
// "path normalized" for assets and "path role" for links.
class MetadataCorpusTest : public ::testing::Test {
 protected:
  std::vector<std::string> Assets(const std::string& json,
                                  const std::string& token_id = "1") {
    return Run("data:application/json;base64," + absl::Base64Escape(json),
               token_id)
        .first;
  }
  std::vector<std::string> Links(const std::string& json) {
    return Run("data:application/json;base64," + absl::Base64Escape(json), "1")
        .second;
  }
  std::pair<std::vector<std::string>, std::vector<std::string>> Run(
      const std::string& token_uri, const std::string& token_id) {
    auto result = extractor_.Extract(token_uri, token_id);
    auto* x = std::get_if<Extraction>(&result);
    EXPECT_NE(x, nullptr) << std::get<ExtractionFailure>(result).reason << ": "
                          << std::get<ExtractionFailure>(result).detail;
    if (x == nullptr) return {};
    std::vector<std::string> assets, links;
    for (const FoundAsset& a : x->assets) {
      assets.push_back(a.json_path + " " + a.resolved.normalized);
    }
    for (const FoundLink& l : x->links) {
      links.push_back(l.json_path + " " + l.role);
    }
    return {assets, links};
  }
  static std::vector<std::string> Lines(const std::vector<Expected>& e) {
    std::vector<std::string> out;
    for (const Expected& x : e) out.push_back(x.json_path + " " + x.normalized);
    return out;
  }

  http::HttpClient http_{{}};
  fetch::ContentFetcher fetcher_{http_, http_, {}};
  MetadataExtractor extractor_{fetcher_, {}};
};

TEST_F(MetadataCorpusTest, OnChainBase64JsonWithBase64Svg) {
  // Loot-style: everything on chain, the image a base64 SVG.
  const std::string image =
      "data:image/svg+xml;base64," +
      absl::Base64Escape(
          R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 350 350">)"
          R"(<text x="10" y="20">Grave Wand</text></svg>)");
  const std::string json = absl::StrCat(
      R"({"name":"Bag #1","description":"Loot is randomized adventurer gear.",)",
      R"("image":")", image, R"("})");
  EXPECT_THAT(Assets(json), ElementsAreArray(Lines({{"$.image", image}})));
}

TEST_F(MetadataCorpusTest, IpfsImageWithPlainAttributes) {
  // BAYC-style: an ipfs:// image, attributes that are words, not URIs.
  const std::string json = absl::StrCat(
      R"({"image":"ipfs://)", kApeImageV0,
      R"(","attributes":[{"trait_type":"Earring","value":"Silver Hoop"},)",
      R"({"trait_type":"Background","value":"Orange"},)",
      R"({"trait_type":"Fur","value":"Robot"}]})");
  EXPECT_THAT(Assets(json),
              ElementsAreArray(
                  Lines({{"$.image", absl::StrCat("ipfs://", kApeImageV1)}})));
}

TEST_F(MetadataCorpusTest, GatewayUrlsInBothFormsAreIpfs) {
  const std::string json = absl::StrCat(
      R"({"image":"https://gateway.pinata.cloud/ipfs/)", kApeImageV0,
      R"(","animation_url":"https://)", kDirV1, R"(.ipfs.dweb.link/anim.mp4",)",
      R"("image_url":"https://cloudflare-ipfs.com/ipfs/)", kDirV0,
      R"(/1.png"})");
  EXPECT_THAT(
      Assets(json),
      ElementsAreArray(Lines(
          {{"$.image", absl::StrCat("ipfs://", kApeImageV1)},
           {"$.animation_url", absl::StrCat("ipfs://", kDirV1, "/anim.mp4")},
           {"$.image_url", absl::StrCat("ipfs://", kDirV1, "/1.png")}})));
}

TEST_F(MetadataCorpusTest, PropertiesFilesAndArweave) {
  // Metaplex-style: the image on Arweave, properties.files[] listing it
  // again (as an arweave.net URL) and a video on IPFS.
  const std::string json =
      absl::StrCat(R"({"name":"x","image":"ar://)", kArweaveId,
                   R"(","properties":{"category":"video","files":[)",
                   R"({"uri":"https://arweave.net/)", kArweaveId,
                   R"(","type":"image/png"},)", R"({"uri":"ipfs://)", kDirV0,
                   R"(/v.mp4","type":"video/mp4"}],)",
                   R"("creators":[{"address":"7xKX","share":100}]}})");
  EXPECT_THAT(
      Assets(json),
      ElementsAreArray(Lines(
          {{"$.image", absl::StrCat("ar://", kArweaveId)},
           {"$.properties.files[0].uri", absl::StrCat("ar://", kArweaveId)},
           {"$.properties.files[1].uri",
            absl::StrCat("ipfs://", kDirV1, "/v.mp4")}})));
}

TEST_F(MetadataCorpusTest, AttributeValuesThatAreUris) {
  const std::string json = absl::StrCat(
      R"({"attributes":[{"trait_type":"Song","value":"ipfs://)", kDirV0,
      R"(/song.mp3"},{"trait_type":"Mood","value":"calm sea"},)",
      R"({"trait_type":"Note","value":"see https://example.com for more"},)",
      R"({"trait_type":"Level","value":3}]})");
  EXPECT_THAT(Assets(json),
              ElementsAreArray(
                  Lines({{"$.attributes[0].value",
                          absl::StrCat("ipfs://", kDirV1, "/song.mp3")}})));
}

TEST_F(MetadataCorpusTest, OpenSeaInlineSvgAndLinks) {
  // OpenSea's documented fields: image_data is inline SVG, external_url and
  // youtube_url are links, animation_url an asset.
  const std::string json =
      R"({"name":"Dave Starbelly","image_data":"<svg viewBox='0 0 10 10'>)"
      R"(<rect width='10' height='10'/></svg>",)"
      R"("external_url":"https://openseacreatures.io/3",)"
      R"("youtube_url":"https://www.youtube.com/watch?v=dQw4w9WgXcQ",)"
      R"("animation_url":"https://storage.googleapis.com/opensea-prod.appspot.com/puffs/3.mp4"})";
  EXPECT_THAT(
      Assets(json),
      ElementsAreArray(Lines(
          {{"$.animation_url",
            "https://storage.googleapis.com/opensea-prod.appspot.com/puffs/"
            "3.mp4"}})));
  EXPECT_THAT(Links(json),
              ElementsAreArray({"$.image_data inline", "$.external_url link",
                                "$.youtube_url link"}));
}

TEST_F(MetadataCorpusTest, Erc1155IdInsideJsonValues) {
  // The ERC-1155 spec's metadata example: "{id}" in the image URL is the
  // token id as 64 hex digits, as in the URI.
  const std::string json =
      R"({"name":"Asset Name","description":"Lorem ipsum...",)"
      R"("image":"https:\/\/s3.amazonaws.com\/your-bucket\/images\/{id}.png",)"
      R"("properties":{"simple_property":"example value",)"
      R"("rich_property":{"name":"Name","value":"123","display_value":"123 Example Value",)"
      R"("class":"emphasis","css":{"color":"#ffffff","font-weight":"bold"}},)"
      R"("array_property":{"name":"Name","value":[1,2,3,4],"class":"emphasis"}}})";
  EXPECT_THAT(Assets(json, "314592"),
              ElementsAreArray(Lines(
                  {{"$.image",
                    absl::StrCat("https://s3.amazonaws.com/your-bucket/images/",
                                 std::string(59, '0'), "4cce0.png")}})));
}

TEST_F(MetadataCorpusTest, PlainAndUtf8DataUris) {
  // Both spellings on-chain contracts use for unencoded JSON.
  for (const char* prefix :
       {"data:application/json;utf8,", "data:application/json;ascii,",
        "data:application/json,"}) {
    auto [assets, links] = Run(
        absl::StrCat(prefix, R"({"image":"ar://)", kArweaveId, R"("})"), "1");
    EXPECT_THAT(assets, ElementsAreArray(Lines(
                            {{"$.image", absl::StrCat("ar://", kArweaveId)}})))
        << prefix;
  }
}

}  // namespace
}  // namespace niftysave::extractor
