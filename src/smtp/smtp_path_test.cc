#include "smtp/smtp_path.h"

#include <gtest/gtest.h>

namespace herald::smtp {
namespace {

TEST(SmtpPathTest, AcceptsValidPaths) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"<user@example.com>", "user@example.com"},
      {"<User.Name+tag@EXAMPLE.Com>", "User.Name+tag@example.com"},
      {"<\"quoted local\"@example.com>", "\"quoted local\"@example.com"},
      {"<\"a\\\"b\"@example.com>", "\"a\\\"b\"@example.com"},
      {"<@relay.example,@r2.example:user@example.com>", "user@example.com"},
      {"<x@sub-domain.example-1.org>", "x@sub-domain.example-1.org"},
  };
  for (const Case& c : cases) {
    StatusOr<std::string> r = ParseSmtpPath(c.in, false);
    ASSERT_TRUE(r.ok()) << c.in << ": " << r.status().ToString();
    EXPECT_EQ(*r, c.out) << c.in;
  }
}

TEST(SmtpPathTest, EmptyPathOnlyWhenAllowed) {
  StatusOr<std::string> r = ParseSmtpPath("<>", true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "");
  EXPECT_FALSE(ParseSmtpPath("<>", false).ok());
}

TEST(SmtpPathTest, RejectsInvalidPaths) {
  const std::string long_local(65, 'a');
  const std::string long_label(64, 'b');
  const std::string bad[] = {
      "user@example.com",  // no brackets
      "<user@example.com",
      "<user>",
      "<@example.com>",
      "<user@>",
      "<user@@example.com>",
      "<.user@example.com>",
      "<us..er@example.com>",
      "<user.@example.com>",
      "<us er@example.com>",
      "<user@exa_mple.com>",
      "<user@-example.com>",
      "<user@example-.com>",
      "<user@example..com>",
      "<user@example.com.>",
      "<user@[192.0.2.1]>",
      "<\"unterminated@example.com>",
      "<\"a\"b@example.com>",
      "<@relay.example:>",
      "<@bad_relay:user@example.com>",
      "<" + long_local + "@example.com>",
      "<user@" + long_label + ".com>",
      "<us\xc3\xa9r@example.com>",
      "<user@ex\x01mple.com>",
  };
  for (const std::string& b : bad) {
    EXPECT_FALSE(ParseSmtpPath(b, true).ok()) << b;
  }
}

TEST(SmtpPathTest, BoundsTotalLength) {
  std::string domain;
  while (domain.size() < 300) domain += "abcdefghij.";
  domain += "com";
  EXPECT_FALSE(ParseSmtpPath("<a@" + domain + ">", false).ok());
}

TEST(SmtpPathTest, HostNames) {
  EXPECT_TRUE(IsValidHostName("mail.example.com"));
  EXPECT_TRUE(IsValidHostName("localhost"));
  EXPECT_FALSE(IsValidHostName(""));
  EXPECT_FALSE(IsValidHostName("a..b"));
  EXPECT_FALSE(IsValidHostName("a.b."));
}

}  // namespace
}  // namespace herald::smtp
