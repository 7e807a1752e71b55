#include "base/host_port.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(ParseHostPortTest, Forms) {
  std::string host;
  uint16_t port = 1;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:2587", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 2587);
  ASSERT_TRUE(ParseHostPort("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(ParseHostPort(":25", &host, &port).ok());
  EXPECT_EQ(host, "0.0.0.0");
  ASSERT_TRUE(ParseHostPort("localhost:25", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3.4:-1", "::1:25",
                          "[::1]25", "[::1]", "[1.2.3.4]:25", "h:2x"}) {
    EXPECT_FALSE(ParseHostPort(bad, &host, &port).ok()) << bad;
  }
}

}  // namespace
}  // namespace herald
