#include "common/uri/multibase.h"

#include <string>
#include <tuple>

#include "gtest/gtest.h"

namespace niftysave::uri {
namespace {

using std::string_literals::operator""s;

struct Vector {
  Multibase base;
  std::string input;
  std::string encoded;
};

// multiformats/multibase tests/basic.csv, leading_zero.csv and
// two_leading_zeros.csv.
const Vector kVectors[] = {
    {Multibase::kBase16, "yes mani !", "f796573206d616e692021"},
    {Multibase::kBase16Upper, "yes mani !", "F796573206D616E692021"},
    {Multibase::kBase32, "yes mani !", "bpfsxgidnmfxgsibb"},
    {Multibase::kBase32Upper, "yes mani !", "BPFSXGIDNMFXGSIBB"},
    {Multibase::kBase36, "yes mani !", "k2lcpzo5yikidynfl"},
    {Multibase::kBase36Upper, "yes mani !", "K2LCPZO5YIKIDYNFL"},
    {Multibase::kBase58Btc, "yes mani !", "z7paNL19xttacUY"},
    {Multibase::kBase64, "yes mani !", "meWVzIG1hbmkgIQ"},
    {Multibase::kBase64Pad, "yes mani !", "MeWVzIG1hbmkgIQ=="},
    {Multibase::kBase64Url, "yes mani !", "ueWVzIG1hbmkgIQ"},
    {Multibase::kBase64UrlPad, "yes mani !", "UeWVzIG1hbmkgIQ=="},
    {Multibase::kBase16, "\0yes mani !"s, "f00796573206d616e692021"},
    {Multibase::kBase32, "\0yes mani !"s, "bab4wk4zanvqw42jaee"},
    {Multibase::kBase36, "\0yes mani !"s, "k02lcpzo5yikidynfl"},
    {Multibase::kBase58Btc, "\0yes mani !"s, "z17paNL19xttacUY"},
    {Multibase::kBase64, "\0yes mani !"s, "mAHllcyBtYW5pICE"},
    {Multibase::kBase64UrlPad, "\0yes mani !"s, "UAHllcyBtYW5pICE="},
    {Multibase::kBase16, "\0\0yes mani !"s, "f0000796573206d616e692021"},
    {Multibase::kBase32, "\0\0yes mani !"s, "baaahszltebwwc3tjeaqq"},
    {Multibase::kBase36, "\0\0yes mani !"s, "k002lcpzo5yikidynfl"},
    {Multibase::kBase58Btc, "\0\0yes mani !"s, "z117paNL19xttacUY"},
    {Multibase::kBase64Url, "\0\0yes mani !"s, "uAAB5ZXMgbWFuaSAh"},
};

TEST(MultibaseTest, EncodesSpecVectors) {
  for (const Vector& v : kVectors) {
    EXPECT_EQ(MultibaseEncode(v.base, v.input), v.encoded);
  }
}

TEST(MultibaseTest, DecodesSpecVectors) {
  for (const Vector& v : kVectors) {
    absl::StatusOr<std::string> decoded = MultibaseDecode(v.encoded);
    ASSERT_TRUE(decoded.ok()) << v.encoded << ": " << decoded.status();
    EXPECT_EQ(*decoded, v.input) << v.encoded;
  }
}

// multiformats/multibase tests/case_insensitivity.csv ("hello world").
TEST(MultibaseTest, DecodesMixedCaseWhereTheBaseIsCaseInsensitive) {
  for (const char* text : {"f68656c6c6f20776F726C64", "F68656c6c6f20776F726C64",
                           "bnbswy3dpeB3W64TMMQ", "Bnbswy3dpeB3W64TMMQ",
                           "kfUvrsIvVnfRbjWaJo", "KfUVrSIVVnFRbJWAJo"}) {
    absl::StatusOr<std::string> decoded = MultibaseDecode(text);
    ASSERT_TRUE(decoded.ok()) << text << ": " << decoded.status();
    EXPECT_EQ(*decoded, "hello world") << text;
  }
}

TEST(MultibaseTest, EmptyPayloadRoundTrips) {
  EXPECT_EQ(MultibaseEncode(Multibase::kBase32, ""), "b");
  EXPECT_EQ(MultibaseDecode("b").value(), "");
  EXPECT_EQ(MultibaseDecode("z").value(), "");
  EXPECT_EQ(MultibaseDecode("bmy").value(), "f");
}

TEST(MultibaseTest, RejectsMalformedInput) {
  for (const char* bad : {
           "",                   // no prefix
           "qabc",               // unknown prefix
           "f7",                 // odd hex length
           "fzz",                // not hex
           "bpfsxgidnmfxgsib1",  // '1' is not base32
           "bmz",                // non-zero trailing bits ("my" is "f")
           "ba",                 // one base32 character holds no byte
           "z0OIl",              // not in the Bitcoin alphabet
           "meWVzIG1hbmkgIQ==",  // 'm' is the unpadded base64
           "ueWVz+G1hbmkgIQ",    // '+' is not base64url
           "m/",                 // truncated base64
       }) {
    EXPECT_FALSE(MultibaseDecode(bad).ok()) << bad;
  }
}

TEST(MultibaseTest, Base58BtcWithoutPrefix) {
  EXPECT_EQ(EncodeBase58Btc("yes mani !"), "7paNL19xttacUY");
  EXPECT_EQ(DecodeBase58Btc("7paNL19xttacUY").value(), "yes mani !");
  EXPECT_EQ(EncodeBase58Btc(std::string(3, '\0')), "111");
}

TEST(MultibaseTest, LenientBase64ForDataUris) {
  EXPECT_EQ(DecodeBase64Lenient("eWVzIG1hbmkgIQ==").value(), "yes mani !");
  EXPECT_EQ(DecodeBase64Lenient("eWVzIG1hbmkgIQ").value(), "yes mani !");
  EXPECT_EQ(DecodeBase64Lenient("eWVz\nIG1h bmkg\r\nIQ==").value(),
            "yes mani !");
  // URL-safe alphabet: 0xfb 0xff is "+/8" standard, "-_8" URL-safe.
  EXPECT_EQ(DecodeBase64Lenient("-_8").value(), "\xfb\xff");
  EXPECT_EQ(DecodeBase64Lenient("+/8=").value(), "\xfb\xff");
  EXPECT_FALSE(DecodeBase64Lenient("eWVz*").ok());
  EXPECT_FALSE(DecodeBase64Lenient("eW==Vz").ok());
  EXPECT_FALSE(DecodeBase64Lenient("eWVzI").ok());
}

}  // namespace
}  // namespace niftysave::uri
