#include "common/runtime/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace niftysave {
namespace {

using namespace std::string_literals;

TEST(Utf8Test, ValidTextPassesUnchanged) {
  for (const std::string& s :
       {""s, "plain ascii"s, "caf\xC3\xA9"s, "\xE2\x82\xAC 5"s,
        "\xF0\x9F\x98\x80 emoji"s, "\xEF\xBF\xBD"s}) {
    EXPECT_EQ(ValidUtf8(s), s);
    EXPECT_TRUE(IsValidUtf8(s)) << s;
  }
}

TEST(Utf8Test, EveryBadByteBecomesOneReplacement) {
  const std::string r = "\xEF\xBF\xBD";
  // Latin-1 in a header, a lone continuation byte, an overlong '/', a
  // surrogate, past U+10FFFF, a truncated sequence, NUL.
  EXPECT_EQ(ValidUtf8("image/p\xE9ng"), "image/p" + r + "ng");
  EXPECT_EQ(ValidUtf8("\x80"), r);
  EXPECT_EQ(ValidUtf8("\xC0\xAF"), r + r);
  EXPECT_EQ(ValidUtf8("\xED\xA0\x80"), r + r + r);
  EXPECT_EQ(ValidUtf8("\xF4\x90\x80\x80"), r + r + r + r);
  EXPECT_EQ(ValidUtf8("ab\xE2\x82"), "ab" + r + r);
  EXPECT_EQ(ValidUtf8("a\0b"s), "a" + r + "b");
  for (const std::string& s : {"\x80"s, "\xC0\xAF"s, "a\0b"s, "ab\xE2\x82"s}) {
    EXPECT_FALSE(IsValidUtf8(s)) << s;
    EXPECT_TRUE(IsValidUtf8(ValidUtf8(s))) << s;
  }
}

TEST(Utf8Test, CutsOnACharacterBoundary) {
  const std::string euro = "\xE2\x82\xAC";  // 3 bytes
  const std::string text = "ab" + euro + euro;
  EXPECT_EQ(ValidUtf8(text, 2), "ab");
  EXPECT_EQ(ValidUtf8(text, 3), "ab");
  EXPECT_EQ(ValidUtf8(text, 4), "ab");
  EXPECT_EQ(ValidUtf8(text, 5), "ab" + euro);
  EXPECT_EQ(ValidUtf8(text, 7), "ab" + euro);
  EXPECT_EQ(ValidUtf8(text, 8), text);
  EXPECT_EQ(ValidUtf8(text, 0), "");
  // A cut after a replacement never splits the replacement either.
  EXPECT_EQ(ValidUtf8("a\xFF", 3), "a");
}

}  // namespace
}  // namespace niftysave
