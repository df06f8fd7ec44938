#include "common/eth/revert_reason.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/eth/abi.h"
#include "common/eth/json_rpc_client.h"
#include "common/eth/uint256.h"
#include "common/runtime/reason.h"
#include "common/runtime/utf8.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace niftysave::eth {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Bytes(const std::string& hex) { return *HexToBytes(hex); }
std::string Word(uint64_t v) { return Bytes(Uint256(v).ToHex64()); }

// Error(string) as solc encodes it: selector, offset 32, length, padded text.
std::string ErrorString(const std::string& text) {
  std::string padded = text;
  padded.append((32 - padded.size() % 32) % 32, '\0');
  return Bytes(kErrorStringSelector) + Word(32) + Word(text.size()) + padded;
}

TEST(RevertReasonTest, DecodesErrorString) {
  EXPECT_EQ(DescribeRevertData(ErrorString("nonexistent token")),
            "nonexistent token");
  EXPECT_EQ(DescribeRevertData(ErrorString("")), "");
  // Not UTF-8, and a NUL: each bad byte becomes U+FFFD.
  EXPECT_EQ(DescribeRevertData(ErrorString(std::string("a\xff\0b", 4))),
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
}

TEST(RevertReasonTest, CutsALongErrorStringOnACharacterBoundary) {
  std::string text;
  while (text.size() < 2 * kMaxRevertTextBytes) text += "é";  // 2 bytes each
  text = "x" + text;  // so the limit falls inside a character
  const std::string got = DescribeRevertData(ErrorString(text));
  EXPECT_LE(got.size(), kMaxRevertTextBytes);
  EXPECT_GE(got.size(), kMaxRevertTextBytes - 1);
  EXPECT_TRUE(IsValidUtf8(got));
  EXPECT_EQ(got, text.substr(0, got.size()));
}

TEST(RevertReasonTest, NamesPanicCodes) {
  const std::string panic = Bytes(kPanicSelector);
  EXPECT_EQ(DescribeRevertData(panic + Word(0x11)),
            "panic 0x11 (arithmetic overflow)");
  EXPECT_EQ(DescribeRevertData(panic + Word(0x12)),
            "panic 0x12 (division or modulo by zero)");
  EXPECT_EQ(DescribeRevertData(panic + Word(0x01)),
            "panic 0x01 (assertion failed)");
  EXPECT_EQ(DescribeRevertData(panic + Word(0x32)),
            "panic 0x32 (array index out of bounds)");
  EXPECT_EQ(DescribeRevertData(panic + Word(0x99)), "panic 0x99");
  // A code over 64 bits: shown, not truncated.
  EXPECT_EQ(DescribeRevertData(panic + Bytes("01" + std::string(62, '0'))),
            "panic 0x1" + std::string(62, '0'));
  // No code word: hex.
  EXPECT_EQ(DescribeRevertData(panic + Bytes("1122")),
            "malformed Panic(uint256) 0x4e487b71(0x1122)");
}

TEST(RevertReasonTest, ShowsCustomErrorsAsSelectorAndArgumentWords) {
  // error NotRevealed(uint256 id, address by)
  const std::string data =
      Bytes("deadbeef") + Word(42) +
      Bytes(std::string(24, '0') + "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  EXPECT_EQ(DescribeRevertData(data),
            "custom error 0xdeadbeef(0x2a, "
            "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266)");
  EXPECT_EQ(DescribeRevertData(Bytes("deadbeef")), "custom error 0xdeadbeef()");
  // A ragged tail is shown too.
  EXPECT_EQ(DescribeRevertData(Bytes("deadbeef") + Word(0) + Bytes("00ff")),
            "custom error 0xdeadbeef(0x0, 0xff)");
  EXPECT_EQ(DescribeRevertData(Bytes("abcd")), "revert data 0xabcd");
  EXPECT_EQ(DescribeRevertData(""), "");
}

TEST(RevertReasonTest, BoundsTheArgumentsShown) {
  std::string data = Bytes("deadbeef");
  for (int i = 0; i < 1000; ++i) data += Word(i);
  const std::string got = DescribeRevertData(data);
  EXPECT_LE(got.size(), kMaxRevertTextBytes);
  EXPECT_THAT(got, StartsWith("custom error 0xdeadbeef(0x0, 0x1, "));
  EXPECT_THAT(got, HasSubstr(absl::StrCat("… ", 1000 * 32 - kMaxRevertArgBytes,
                                          " more bytes)")));
}

// Hostile Error(string) encodings fall back to hex and never read past the
// data (run under ASan by scripts/fuzz.sh's build as well).
TEST(RevertReasonTest, HostileErrorStringsFallBackToHex) {
  const std::string sel = Bytes(kErrorStringSelector);
  const std::string huge = Bytes(std::string(64, 'f'));  // 2^256 - 1
  for (const std::string& data : {
           sel,                                       // no offset word
           sel + Word(32),                            // no length word
           sel + Word(33) + Word(1) + Word(0),        // misaligned offset
           sel + Word(4096) + Word(1),                // offset past the end
           sel + huge + Word(1),                      // offset 2^256 - 1
           sel + Word(32) + huge,                     // length 2^256 - 1
           sel + Word(32) + Word(uint64_t{1} << 63),  // length 2^63
           sel + Word(32) + Word(40) + Word(0),       // length past the end
           sel + Bytes("0102"),                       // ragged
       }) {
    const std::string got = DescribeRevertData(data);
    EXPECT_THAT(got, StartsWith("malformed Error(string) 0x08c379a0("))
        << BytesToHex(data);
    EXPECT_LE(got.size(), kMaxRevertTextBytes);
  }
}

TEST(RevertReasonTest, RpcErrorsDecodeTheRevertData) {
  // anvil's message for a custom error prints its words as characters; the
  // data is what is decoded.
  absl::Status s = RpcErrorStatus(
      std::string("execution reverted: custom error 0xdeadbeef: \0\0*", 48),
      "0xdeadbeef" + Uint256(42).ToHex64());
  EXPECT_EQ(ReasonOf(s), "revert");
  EXPECT_EQ(s.message(), "execution reverted: custom error 0xdeadbeef(0x2a)");
  s = RpcErrorStatus("execution reverted", "0x");
  EXPECT_EQ(ReasonOf(s), "revert");
  EXPECT_EQ(s.message(), "execution reverted without a reason");
  // No data (some providers): the message, made valid.
  s = RpcErrorStatus("execution reverted: \xff", "");
  EXPECT_EQ(ReasonOf(s), "revert");
  EXPECT_EQ(s.message(), "execution reverted: \xEF\xBF\xBD");
  // Data that is not hex: the message.
  s = RpcErrorStatus("execution reverted: x", "0xzz");
  EXPECT_EQ(s.message(), "execution reverted: x");
  EXPECT_EQ(ReasonOf(RpcErrorStatus("header not found", "0x")), "rpc_error");
}

}  // namespace
}  // namespace niftysave::eth
