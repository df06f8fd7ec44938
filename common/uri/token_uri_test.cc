#include "common/uri/token_uri.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace niftysave::uri {
namespace {

// One CID in its v0 and v1 text forms (multiformats/cid README example).
constexpr char kV0[] = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n";
constexpr char kV1[] =
    "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
// A libp2p-key CID in base36 (the IPNS key form subdomain gateways use).
constexpr char kIpnsKey[] =
    "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8";
// The same key as CIDv1 base32.
constexpr char kIpnsKeyBase32[] =
    "bafzaajaiaejcbzdibmxyzdjbbehgvizh6g5tikvy47mshdy6gwbruvgwvd24seje";
constexpr char kArId[] = "bNbA3TEQVL60xlgCcqdz4ZPHFZ711cZ3hmkpGttDt_U";

struct Case {
  std::string input;
  UriKind kind;
  std::string normalized;
  std::string cid = "";
  std::string path = "";
  std::string name = "";
};

std::string Ipfs(const std::string& path = "") {
  return absl::StrCat("ipfs://", kV1, path);
}

void ExpectResolves(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    const ResolvedUri r = ResolveUri(c.input);
    EXPECT_EQ(UriKindName(r.kind), UriKindName(c.kind))
        << c.input << " -> " << r.detail;
    EXPECT_EQ(r.normalized, c.normalized) << c.input;
    EXPECT_EQ(r.cid, c.cid) << c.input;
    EXPECT_EQ(r.path, c.path) << c.input;
    EXPECT_EQ(r.name, c.name) << c.input;
    EXPECT_EQ(r.reason, "") << c.input;
  }
}

TEST(ResolveUriTest, IpfsScheme) {
  const std::string v0(kV0);
  const std::string v1(kV1);
  ExpectResolves({
      {"ipfs://" + v0, UriKind::kIpfs, Ipfs(), v1},
      {"ipfs://" + v1, UriKind::kIpfs, Ipfs(), v1},
      {"ipfs://" + v0 + "/1.json", UriKind::kIpfs, Ipfs("/1.json"), v1,
       "/1.json"},
      {"ipfs://" + v1 + "/", UriKind::kIpfs, Ipfs(), v1},
      {"IPFS://" + v0 + "/a/b.png", UriKind::kIpfs, Ipfs("/a/b.png"), v1,
       "/a/b.png"},
      {"  \t ipfs://" + v0 + "/1.json\r\n", UriKind::kIpfs, Ipfs("/1.json"), v1,
       "/1.json"},
      // Query and fragment are dropped, percent-escapes kept as written.
      {"ipfs://" + v0 + "/my%20file.json?x=1#top", UriKind::kIpfs,
       Ipfs("/my%20file.json"), v1, "/my%20file.json"},
      // Spaces are encoded the way a gateway URL would carry them.
      {"ipfs://" + v0 + "/my file.json", UriKind::kIpfs,
       Ipfs("/my%20file.json"), v1, "/my%20file.json"},
      // Dot segments and repeated slashes, never above the CID.
      {"ipfs://" + v0 + "/a//b/./c/../d/", UriKind::kIpfs, Ipfs("/a/b/d"), v1,
       "/a/b/d"},
      {"ipfs://" + v0 + "/../../x", UriKind::kIpfs, Ipfs("/x"), v1, "/x"},
      // Quirks from broken minting tools.
      {"ipfs://ipfs/" + v0 + "/1.json", UriKind::kIpfs, Ipfs("/1.json"), v1,
       "/1.json"},
      {"ipfs://ipfs//" + v0 + "/1.json", UriKind::kIpfs, Ipfs("/1.json"), v1,
       "/1.json"},
      {"ipfs://ipfs/ipfs/" + v0, UriKind::kIpfs, Ipfs(), v1},
      {"ipfs:/" + v0, UriKind::kIpfs, Ipfs(), v1},
      {"ipfs://" +
           std::string("BAFYBEIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQU"
                       "VYKU"),
       UriKind::kIpfs, Ipfs(), v1},
  });
}

TEST(ResolveUriTest, GatewaysInPathAndSubdomainForm) {
  const std::string v0(kV0);
  const std::string v1(kV1);
  ExpectResolves({
      {"https://gateway.pinata.cloud/ipfs/" + v0 + "/1.json", UriKind::kIpfs,
       Ipfs("/1.json"), v1, "/1.json"},
      {"http://127.0.0.1:8080/ipfs/" + v1, UriKind::kIpfs, Ipfs(), v1},
      {"https://ipfs.io/ipfs/" + v0 + "?filename=cat.png", UriKind::kIpfs,
       Ipfs(), v1},
      {"https://cloudflare-ipfs.com/ipfs/" + v1 + "/a/b#x", UriKind::kIpfs,
       Ipfs("/a/b"), v1, "/a/b"},
      {"https://some-random-host.example/ipfs/" + v0, UriKind::kIpfs, Ipfs(),
       v1},
      {"https://" + v1 + ".ipfs.dweb.link/1.json", UriKind::kIpfs,
       Ipfs("/1.json"), v1, "/1.json"},
      {"https://" + v1 + ".ipfs.nftstorage.link", UriKind::kIpfs, Ipfs(), v1},
      {"http://" + v1 + ".ipfs.localhost:8080/a?b", UriKind::kIpfs, Ipfs("/a"),
       v1, "/a"},
      {"HTTPS://" +
           std::string("BAFYBEIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQ"
                       "UVYKU") +
           ".IPFS.W3S.LINK/x",
       UriKind::kIpfs, Ipfs("/x"), v1, "/x"},
      // Not a CID after /ipfs/: an ordinary web URL.
      {"https://example.com/ipfs/notacid/1.json", UriKind::kHttp,
       "https://example.com/ipfs/notacid/1.json"},
      {"https://notacid.ipfs.example.com/x", UriKind::kHttp,
       "https://notacid.ipfs.example.com/x"},
  });
}

TEST(ResolveUriTest, Ipns) {
  const std::string key(kIpnsKey);
  ExpectResolves({
      {"ipns://" + key + "/meta/1.json", UriKind::kIpns,
       "ipns://" + key + "/meta/1.json", "", "/meta/1.json", key},
      {"ipns://ipns/" + key, UriKind::kIpns, "ipns://" + key, "", "", key},
      {"ipns://" + std::string(kIpnsKeyBase32), UriKind::kIpns, "ipns://" + key,
       "", "", key},
      {"ipns://Docs.IPFS.tech/a/", UriKind::kIpns, "ipns://docs.ipfs.tech/a",
       "", "/a", "docs.ipfs.tech"},
      {"https://ipfs.io/ipns/" + key + "/x", UriKind::kIpns,
       "ipns://" + key + "/x", "", "/x", key},
      {"https://" + key + ".ipns.dweb.link/x", UriKind::kIpns,
       "ipns://" + key + "/x", "", "/x", key},
      // DNSLink names inlined into one label.
      {"https://en-wikipedia--on--ipfs-org.ipns.dweb.link/wiki/",
       UriKind::kIpns, "ipns://en.wikipedia-on-ipfs.org/wiki", "", "/wiki",
       "en.wikipedia-on-ipfs.org"},
      {"/ipns/example.com/a", UriKind::kIpns, "ipns://example.com/a", "", "/a",
       "example.com"},
  });
}

TEST(ResolveUriTest, Arweave) {
  const std::string id(kArId);
  ExpectResolves({
      {"ar://" + id, UriKind::kArweave, "ar://" + id, "", "", id},
      {"ar://" + id + "/1.json?x#y", UriKind::kArweave,
       "ar://" + id + "/1.json", "", "/1.json", id},
      {"https://arweave.net/" + id, UriKind::kArweave, "ar://" + id, "", "",
       id},
      {"https://Arweave.NET/" + id + "/2", UriKind::kArweave,
       "ar://" + id + "/2", "", "/2", id},
      {"https://abc123.arweave.net/" + id, UriKind::kArweave, "ar://" + id, "",
       "", id},
      {"https://arweave.dev/" + id, UriKind::kArweave, "ar://" + id, "", "",
       id},
      {"https://arweave.net/graphql", UriKind::kHttp,
       "https://arweave.net/graphql"},
      {"https://notarweave.net/" + id, UriKind::kHttp,
       "https://notarweave.net/" + id},
  });
}

TEST(ResolveUriTest, Http) {
  ExpectResolves({
      {"https://api.example.com/token/1", UriKind::kHttp,
       "https://api.example.com/token/1"},
      {"HTTPS://Example.COM:443/Path/X.json?q=A#frag", UriKind::kHttp,
       "https://example.com/Path/X.json?q=A"},
      {"http://example.com:80", UriKind::kHttp, "http://example.com/"},
      {"http://example.com:443/", UriKind::kHttp, "http://example.com:443/"},
      {"https://example.com:8443?x=1", UriKind::kHttp,
       "https://example.com:8443/?x=1"},
      {"http://example.com:8080/my image.png", UriKind::kHttp,
       "http://example.com:8080/my%20image.png"},
      {"https://example.com/caf\xc3\xa9", UriKind::kHttp,
       "https://example.com/caf%C3%A9"},
      {"https://[::1]:8443/x", UriKind::kHttp, "https://[::1]:8443/x"},
      {"https://example.com./x", UriKind::kHttp, "https://example.com./x"},
      {"http://127.0.0.1:9000/meta/{id}.json", UriKind::kHttp,
       "http://127.0.0.1:9000/meta/{id}.json"},
  });
}

TEST(ResolveUriTest, BareCidsAndPaths) {
  const std::string v0(kV0);
  const std::string v1(kV1);
  ExpectResolves({
      {v0, UriKind::kIpfs, Ipfs(), v1},
      {v1, UriKind::kIpfs, Ipfs(), v1},
      {" " + v0 + " ", UriKind::kIpfs, Ipfs(), v1},
      {v0 + "/1.json", UriKind::kIpfs, Ipfs("/1.json"), v1, "/1.json"},
      {"/ipfs/" + v0 + "/1.json", UriKind::kIpfs, Ipfs("/1.json"), v1,
       "/1.json"},
  });
}

TEST(ResolveUriTest, DataUrisAreKeptAsGiven) {
  const std::string uri = "data:application/json;base64,eyJhIjoxfQ==";
  ExpectResolves({
      {uri, UriKind::kData, uri},
      {"  " + uri + "\n", UriKind::kData, uri},
      {"DATA:,hi", UriKind::kData, "DATA:,hi"},
  });
  // Large data: URIs are fine up to 1 MiB.
  const std::string big = "data:text/plain," + std::string(900 << 10, 'a');
  EXPECT_EQ(ResolveUri(big).kind, UriKind::kData);
}

TEST(ResolveUriTest, Invalid) {
  struct Bad {
    std::string input;
    std::string detail_contains;
  };
  const std::vector<Bad> bad = {
      {"", "empty"},
      {" \t\n", "empty"},
      {"javascript:alert(1)", "unsupported scheme 'javascript'"},
      {"file:///etc/passwd", "unsupported scheme 'file'"},
      {"ftp://example.com/a.png", "unsupported scheme 'ftp'"},
      {"gopher://x", "unsupported scheme"},
      {"hello", "not a URI"},
      {"Some NFT name", "not a URI"},
      {"//example.com/a.png", "not a URI"},
      {"https://user:secret@example.com/", "userinfo"},
      {"https://example.com@169.254.169.254/", "userinfo"},
      {"https://", "host"},
      {"https:///path", "host"},
      {"http:example.com", "'//'"},
      {"https://exa mple.com/", "invalid host"},
      {"https://a..b/", "invalid host"},
      {"https://./", "invalid host"},
      {"https://example.com:99999/", "port"},
      {"https://example.com:8a/", "port"},
      {"https://[::1/", "IPv6"},
      {"https://example.com/a\x01z", "control"},
      {"ipfs://notacid", "cid"},
      {"ipfs://", "cid"},
      {"ipfs://QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1", "cid"},
      {"ipns://", "IPNS"},
      {"ipns://bad$name", "IPNS"},
      {"ar://tooshort", "Arweave"},
      {"ar:" + std::string(kArId), "'//'"},
      {"/ipfs/notacid", "cid"},
      {"data:text/plain", "','"},
      {"https://example.com/" + std::string(8 << 10, 'a'), "too long"},
      {"data:," + std::string(1 << 20, 'a'), "too long"},
      // Under the cap as written, over it once its non-ASCII bytes are
      // percent-encoded: what would be stored must itself resolve.
      {"https://example.com/" + std::string(3000, '\xff'),
       "too long once normalised"},
  };
  for (const Bad& b : bad) {
    const ResolvedUri r = ResolveUri(b.input);
    EXPECT_EQ(r.kind, UriKind::kInvalid) << b.input;
    EXPECT_EQ(r.reason, "uri_invalid") << b.input;
    EXPECT_NE(r.detail.find(b.detail_contains), std::string::npos)
        << b.input.substr(0, 80) << " -> " << r.detail;
    EXPECT_EQ(r.normalized, "") << b.input.substr(0, 80);
  }
}

TEST(ResolveUriTest, KindNames) {
  EXPECT_EQ(UriKindName(UriKind::kIpfs), "ipfs");
  EXPECT_EQ(UriKindName(UriKind::kIpns), "ipns");
  EXPECT_EQ(UriKindName(UriKind::kArweave), "arweave");
  EXPECT_EQ(UriKindName(UriKind::kHttp), "http");
  EXPECT_EQ(UriKindName(UriKind::kData), "data");
  EXPECT_EQ(UriKindName(UriKind::kInvalid), "invalid");
}

TEST(DecodeDataUriTest, AllForms) {
  struct Case {
    std::string uri;
    std::string media_type;
    std::string charset;
    std::string bytes;
  };
  const std::vector<Case> cases = {
      {"data:application/json;base64,eyJuYW1lIjoiYSJ9", "application/json", "",
       R"({"name":"a"})"},
      {"data:application/json;utf8,{\"name\":\"a\"}", "application/json",
       "utf-8", R"({"name":"a"})"},
      {"data:application/json;ascii,{\"name\":\"a\"}", "application/json",
       "us-ascii", R"({"name":"a"})"},
      {"data:application/json;charset=UTF-8,%7B%22name%22%3A%22a%22%7D",
       "application/json", "utf-8", R"({"name":"a"})"},
      {"data:text/plain;charset=\"utf-8\",x", "text/plain", "utf-8", "x"},
      {"data:application/json,{\"d\":\"100% real\"}", "application/json", "",
       R"({"d":"100% real"})"},
      {"data:,Hello%2C%20World!", "text/plain", "", "Hello, World!"},
      {"data:;base64,SGVsbG8=", "text/plain", "", "Hello"},
      {"data:;charset=utf-8;base64,SGVsbG8", "text/plain", "utf-8", "Hello"},
      {"data:text/plain;base64,SGVsbG8%3D", "text/plain", "", "Hello"},
      {"data:text/plain;base64,SGVs\n bG8=", "text/plain", "", "Hello"},
      {"DATA:Image/SVG+XML;BASE64,PHN2Zz48L3N2Zz4=", "image/svg+xml", "",
       "<svg></svg>"},
      {"data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'>"
       "<rect fill='%23fff'/></svg>",
       "image/svg+xml", "utf-8",
       "<svg xmlns='http://www.w3.org/2000/svg'><rect fill='#fff'/></svg>"},
      {"data:image/png;name=a.png;base64,AAEC", "image/png", "",
       std::string("\x00\x01\x02", 3)},
  };
  for (const Case& c : cases) {
    absl::StatusOr<DataUri> d = DecodeDataUri(c.uri, 1024);
    ASSERT_TRUE(d.ok()) << c.uri << ": " << d.status();
    EXPECT_EQ(d->media_type, c.media_type) << c.uri;
    EXPECT_EQ(d->charset, c.charset) << c.uri;
    EXPECT_EQ(d->bytes, c.bytes) << c.uri;
  }
}

TEST(DecodeDataUriTest, Limits) {
  EXPECT_TRUE(DecodeDataUri("data:;base64,SGVsbG8=", 5).ok());
  EXPECT_EQ(DecodeDataUri("data:;base64,SGVsbG8=", 4).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(DecodeDataUri("data:,Hello", 5).ok());
  EXPECT_EQ(DecodeDataUri("data:,Hello", 4).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(
      DecodeDataUri("data:," + std::string(10000, 'x'), 100).status().code(),
      absl::StatusCode::kResourceExhausted);
}

TEST(DecodeDataUriTest, Malformed) {
  for (const char* bad : {"data:application/json", "https://example.com/",
                          "data:;base64,!!!!", "data:;base64,SGVsb"}) {
    EXPECT_EQ(DecodeDataUri(bad, 1024).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

constexpr char kMaxUint256[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129"
    "639935";

TEST(Erc1155Test, DecimalToHex64) {
  EXPECT_EQ(DecimalToHex64("0").value(), std::string(64, '0'));
  EXPECT_EQ(DecimalToHex64("1").value(), std::string(63, '0') + "1");
  EXPECT_EQ(DecimalToHex64("255").value(), std::string(62, '0') + "ff");
  EXPECT_EQ(DecimalToHex64("00255").value(), std::string(62, '0') + "ff");
  // 2^53 + 1: where JavaScript numbers lose precision.
  EXPECT_EQ(DecimalToHex64("9007199254740993").value(),
            std::string(50, '0') + "20000000000001");
  // 2^64 crosses a limb boundary.
  EXPECT_EQ(DecimalToHex64("18446744073709551616").value(),
            std::string(47, '0') + "10000000000000000");
  EXPECT_EQ(DecimalToHex64(kMaxUint256).value(), std::string(64, 'f'));
  EXPECT_EQ(DecimalToHex64(std::string(100, '0') + "1").value(),
            std::string(63, '0') + "1");
}

TEST(Erc1155Test, DecimalToHex64RejectsNonUint256) {
  for (const std::string& bad : std::initializer_list<std::string>{
           "", "-1", "0x10", "1e3", " 1", "12a",
           // 2^256
           "115792089237316195423570985008687907853269984665640564039457584007"
           "913129639936",
           std::string(79, '9')}) {
    EXPECT_EQ(DecimalToHex64(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(Erc1155Test, SubstitutesEveryIdPlaceholder) {
  EXPECT_EQ(SubstituteErc1155Id("https://game.example/api/item/{id}.json", "0"),
            "https://game.example/api/item/" + std::string(64, '0') + ".json");
  EXPECT_EQ(SubstituteErc1155Id("ipfs://x/{id}", "1"),
            "ipfs://x/" + std::string(63, '0') + "1");
  EXPECT_EQ(SubstituteErc1155Id("{id}/{id}", "255"),
            std::string(62, '0') + "ff/" + std::string(62, '0') + "ff");
  EXPECT_EQ(SubstituteErc1155Id("ar://a/{id}", kMaxUint256),
            "ar://a/" + std::string(64, 'f'));
  EXPECT_EQ(SubstituteErc1155Id("https://a/b.json", "5"), "https://a/b.json");
  EXPECT_EQ(SubstituteErc1155Id("https://a/{id}", "nope"), "https://a/{id}");
  EXPECT_EQ(SubstituteErc1155IdDecimal("https://a/{id}.json", "0042"),
            "https://a/42.json");
  EXPECT_EQ(SubstituteErc1155IdDecimal("https://a/{id}", "0"), "https://a/0");
  EXPECT_EQ(SubstituteErc1155IdDecimal("https://a/{id}", kMaxUint256),
            absl::StrCat("https://a/", kMaxUint256));
}

}  // namespace
}  // namespace niftysave::uri
