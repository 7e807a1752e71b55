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

namespace herald {
namespace {

TEST(ParseTimestampTest, IsoAndEpochForms) {
  EXPECT_EQ(UnixMillis(*ParseTimestamp("2026-11-22T10:04:05Z")), 1795341845000);
  EXPECT_EQ(UnixMillis(*ParseTimestamp("2026-11-22T10:04:05.250Z")), 1795341845250);
  EXPECT_EQ(UnixMillis(*ParseTimestamp("2026-11-22T11:04:05+01:00")), 1795341845000);
  EXPECT_EQ(UnixMillis(*ParseTimestamp("2026-11-22")), 1795305600000);
  EXPECT_EQ(UnixMillis(*ParseTimestamp("1795341845")), 1795341845000);
  EXPECT_EQ(UnixMillis(*ParseTimestamp("1795341845.5")), 1795341845500);
  for (const char* bad : {"", "2026-02-30", "2026-13-01", "yesterday", "2026-11-22T25:00:00Z",
                          "12x", "2026-11-22T10:04:05Zjunk"}) {
    EXPECT_FALSE(ParseTimestamp(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace herald
