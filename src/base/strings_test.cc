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
