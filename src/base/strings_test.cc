#include "base/strings.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(StringsTest, CaseHelpers) {
  EXPECT_EQ(AsciiLower("MiXeD-1"), "mixed-1");
  EXPECT_TRUE(EqualsIgnoreCase("Content-Type", "content-type"));
  EXPECT_FALSE(EqualsIgnoreCase("a", "ab"));
  EXPECT_TRUE(StartsWithIgnoreCase("MAIL FROM:<a@b>", "mail from:"));
}

// AsciiLower works eight bytes at a time: every byte value, at every offset within a word
// and in the byte-wise tail, must come out as the one-byte rule says.
TEST(StringsTest, AsciiLowerEveryByteAtEveryOffset) {
  for (size_t len : {1, 7, 8, 9, 16, 23}) {
    for (size_t at = 0; at < len; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string in(len, 'Q');
        in[at] = static_cast<char>(b);
        std::string want = in;
        for (char& c : want) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
        }
        ASSERT_EQ(AsciiLower(in), want) << "byte " << b << " at " << at << " of " << len;
      }
    }
  }
}

TEST(StringsTest, PercentCoding) {
  std::string out;
  EXPECT_TRUE(PercentDecode("a%20b%2Fc", &out));
  EXPECT_EQ(out, "a b/c");
  EXPECT_FALSE(PercentDecode("bad%2", &out));
  EXPECT_FALSE(PercentDecode("bad%zz", &out));
  EXPECT_TRUE(PercentDecode("a+b", &out, true));
  EXPECT_EQ(out, "a b");
  EXPECT_EQ(PercentEncode("a b/c~"), "a%20b%2Fc~");
  EXPECT_EQ(PercentEncode("a b/c", true), "a%20b/c");
}

TEST(StringsTest, SplitAndTrim) {
  auto parts = Split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(TrimWhitespace("  x y \r\n"), "x y");
}

}  // namespace
}  // namespace herald
