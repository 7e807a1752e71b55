#include "base/clock.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(ClockTest, Formats) {
  SysTime t = FromUnixMillis(1795000000123);  // 2026-11-18T11:06:40.123Z
  EXPECT_EQ(FormatIso8601Millis(t), "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(FormatAmzDate(t), "20261118T110640Z");
  EXPECT_EQ(FormatRfc5322Date(t), "Wed, 18 Nov 2026 11:06:40 +0000");
  EXPECT_EQ(UnixMillis(t), 1795000000123);
}

}  // namespace
}  // namespace herald
