#include "common/uri/cid.h"

#include <openssl/sha.h>

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace niftysave::uri {
namespace {

// One dag-pb sha2-256 CID (the empty-string digest) in every form; the
// alternate encodings were produced with the reference JS implementation
// (npm multiformats).
constexpr char kV0[] = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n";
constexpr char kV1[] =
    "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
constexpr char kV1Hex[] =
    "01701220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(CidTest, ParsesV0AndUpgradesToV1) {
  absl::StatusOr<Cid> cid = ParseCid(kV0);
  ASSERT_TRUE(cid.ok()) << cid.status();
  EXPECT_EQ(cid->version, 0u);
  EXPECT_EQ(cid->codec, kCodecDagPb);
  EXPECT_EQ(absl::BytesToHexString(cid->multihash),
            std::string(kV1Hex).substr(4));
  EXPECT_EQ(cid->ToString(), kV1);
  EXPECT_EQ(cid->ToV0String(), kV0);
  EXPECT_EQ(cid->Bytes(), cid->multihash);
}

TEST(CidTest, ParsesTheSameCidInEveryMultibase) {
  for (const char* text : {
           kV1,
           "BAFYBEIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU",
           "zdj7Wkkhxcu2rsiN6GUyHCLsSLL47kdUNfjbFqBUUhMFTZKBi",
           "f01701220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b78"
           "52b855",
           "F01701220E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B78"
           "52B855",
           "k2jmtxx1epa2wl096hsbpuhrz9xhppklonehzwkmskc9rmeb51kwn4ut",
           "K2JMTXX1EPA2WL096HSBPUHRZ9XHPPKLONEHZWKMSKC9RMEB51KWN4UT",
           "mAXASIOOwxEKY/BwUmvv0yJlvuSQnrkHkZJuTTKSVmRt4UrhV",
           "uAXASIOOwxEKY_BwUmvv0yJlvuSQnrkHkZJuTTKSVmRt4UrhV",
           "UAXASIOOwxEKY_BwUmvv0yJlvuSQnrkHkZJuTTKSVmRt4UrhV",
       }) {
    absl::StatusOr<Cid> cid = ParseCid(text);
    ASSERT_TRUE(cid.ok()) << text << ": " << cid.status();
    EXPECT_EQ(cid->version, 1u) << text;
    EXPECT_EQ(cid->ToString(), kV1) << text;
    EXPECT_EQ(absl::BytesToHexString(cid->Bytes()), kV1Hex) << text;
    EXPECT_EQ(cid->ToV0String(), kV0) << text;
  }
}

TEST(CidTest, AcceptsEveryKnownCodecAndHash) {
  struct Case {
    const char* text;
    uint64_t codec;
    uint64_t hash;
  };
  // "hello world" digests, encoded by npm multiformats.
  const Case cases[] = {
      {"bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", kCodecRaw,
       kHashSha2_256},
      {"bafyreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
       kCodecDagCbor, kHashSha2_256},
      {"baguqeeraxfgspomtju7arjjokll5u7nl7lcij37dpjjyb3uqrd32zyxpzxuq",
       kCodecDagJson, kHashSha2_256},
      {"bagaaieraxfgspomtju7arjjokll5u7nl7lcij37dpjjyb3uqrd32zyxpzxuq",
       kCodecJson, kHashSha2_256},
      {"bafzaablimvwgy3y", kCodecLibp2pKey, kHashIdentity},
      {"bafkrgqbqt3gerhas23vuzrapkdeqf4vu2dwxp3srdj6hvg6nhsug2tgyn6mj3u23yx7utf"
       "tq3i2ckw2fwdh5qmhid5qf3t35yvkc5e5ottlw6",
       kCodecRaw, kHashSha2_512},
      {"bafk2bzacec4u2j5zsngt4cfffzjnpwt5vp5mjbhp4n5fhahoscepplhc57g6s",
       kCodecRaw, kHashBlake2b256},
      {"bafkrmifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", kCodecRaw,
       kHashSha3_256},
      // ipld/ipld dag-cbor cross-codec fixture "array-2".
      {"bafyreihdb57fdysx5h35urvxz64ros7zvywshber7id6t6c6fek37jgyfe",
       kCodecDagCbor, kHashSha2_256},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Cid> cid = ParseCid(c.text);
    ASSERT_TRUE(cid.ok()) << c.text << ": " << cid.status();
    EXPECT_EQ(cid->codec, c.codec) << c.text;
    std::string_view mh = cid->multihash;
    EXPECT_EQ(ReadVarint(mh).value(), c.hash) << c.text;
    EXPECT_EQ(cid->ToString(), c.text);
    EXPECT_EQ(cid->ToV0String(), "") << c.text;
  }
}

TEST(CidTest, FromDigestMatchesTheReferenceTools) {
  const std::string content = "hello world";
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(content.data()), content.size(),
         digest);
  const std::string_view d(reinterpret_cast<const char*>(digest),
                           sizeof(digest));
  EXPECT_EQ(Cid::FromDigest(1, kCodecRaw, kHashSha2_256, d).ToString(),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  const Cid v0 = Cid::FromDigest(0, kCodecDagPb, kHashSha2_256, d);
  EXPECT_EQ(v0.ToV0String(), "QmaozNR7DZHQK1ZcU9p7QdrshMvXqWK6gpu5rmrkPdT3L4");
  EXPECT_EQ(v0.ToString(),
            "bafybeifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
}

TEST(CidTest, CidFromBytesRoundTrips) {
  const Cid v1 = ParseCid(kV1).value();
  EXPECT_EQ(CidFromBytes(v1.Bytes()).value(), v1);
  const Cid v0 = ParseCid(kV0).value();
  EXPECT_EQ(CidFromBytes(v0.Bytes()).value(), v0);
}

absl::StatusOr<Cid> FromHex(const std::string& hex) {
  return CidFromBytes(absl::HexStringToBytes(hex));
}

TEST(CidTest, RejectsBadBinaryCids) {
  const std::string digest(64, 'a');  // 32 bytes as hex
  EXPECT_TRUE(FromHex("01701220" + digest).ok());
  // Wrong digest length for sha2-256, declared and actual.
  EXPECT_FALSE(FromHex("01701221" + digest + "00").ok());
  EXPECT_FALSE(FromHex("01701220" + digest.substr(2)).ok());
  EXPECT_FALSE(FromHex("01701220" + digest + "00").ok());  // trailing byte
  // A codec outside the accepted list (0x50).
  EXPECT_FALSE(FromHex("01501220" + digest).ok());
  // Unknown multihash function (md5 = 0xd5).
  EXPECT_FALSE(FromHex("0170d50110" + std::string(32, 'a')).ok());
  // Overlong varints: version 1 as 0x81 0x00, codec 0x70 as 0xf0 0x00.
  EXPECT_FALSE(FromHex("8100701220" + digest).ok());
  EXPECT_FALSE(FromHex("01f0001220" + digest).ok());
  // Unsupported versions.
  EXPECT_FALSE(FromHex("02701220" + digest).ok());
  EXPECT_FALSE(FromHex("00701220" + digest).ok());
  // Truncated: cut inside the varint, after the codec, inside the digest.
  EXPECT_FALSE(FromHex("0181").ok());
  EXPECT_FALSE(FromHex("0170").ok());
  EXPECT_FALSE(FromHex("017012").ok());
  EXPECT_FALSE(FromHex("01701220aabb").ok());
  EXPECT_FALSE(FromHex("").ok());
  // Identity digests are capped at 128 bytes.
  EXPECT_TRUE(FromHex("01550080"
                      "01" +
                      std::string(256, 'a'))
                  .ok());
  EXPECT_FALSE(FromHex("01550081"
                       "01" +
                       std::string(258, 'a'))
                   .ok());
  // A v0 multihash must be exactly 34 bytes.
  EXPECT_FALSE(FromHex("1220" + digest + "00").ok());
}

TEST(CidTest, RejectsBadTextCids) {
  for (const std::string& bad : std::initializer_list<std::string>{
           "",
           // v0 with a character outside base58 and with the wrong length.
           "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zIII",
           "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1",
           "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1nn",
           // Truncated and corrupted v1.
           "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk",
           "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykuaa",
           "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk1",
           // A multibase-wrapped v0 is forbidden by the cid spec.
           "zQmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n",
           "f1220e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8"
           "55",
           // Unknown multibase prefix, words, a URL.
           "xafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
           "hello",
           "ipfs://bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
           // Over the 512-character cap.
           "b" + std::string(600, 'a'),
       }) {
    absl::StatusOr<Cid> cid = ParseCid(bad);
    EXPECT_FALSE(cid.ok()) << bad;
    if (!cid.ok()) {
      EXPECT_EQ(cid.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_FALSE(cid.status().message().empty());
    }
  }
}

TEST(CidTest, VarintsAreMinimal) {
  EXPECT_EQ(absl::BytesToHexString(EncodeVarint(0)), "00");
  EXPECT_EQ(absl::BytesToHexString(EncodeVarint(0x7f)), "7f");
  EXPECT_EQ(absl::BytesToHexString(EncodeVarint(0x80)), "8001");
  EXPECT_EQ(absl::BytesToHexString(EncodeVarint(0x0129)), "a902");
  EXPECT_EQ(absl::BytesToHexString(EncodeVarint(0xb220)), "a0e402");
  std::string bytes = absl::HexStringToBytes("ffffffffffffffff7f");
  std::string_view in = bytes;
  EXPECT_EQ(ReadVarint(in).value(), (uint64_t{1} << 63) - 1);
  bytes = absl::HexStringToBytes("ffffffffffffffffff01");  // 10 bytes
  in = bytes;
  EXPECT_FALSE(ReadVarint(in).ok());
  bytes = absl::HexStringToBytes("8080808000");
  in = bytes;
  EXPECT_FALSE(ReadVarint(in).ok());
}

}  // namespace
}  // namespace niftysave::uri
