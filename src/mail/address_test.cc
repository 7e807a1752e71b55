#include "mail/address.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::mail {
namespace {

TEST(ParseMailboxTest, PlainAddrSpec) {
  auto mb = ParseMailbox("User.Name+tag@Example.COM");
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  EXPECT_EQ(mb->local, "User.Name+tag");
  EXPECT_EQ(mb->domain, "example.com");
  EXPECT_EQ(mb->display_name, "");
  EXPECT_EQ(mb->Address(), "User.Name+tag@example.com");
  EXPECT_EQ(mb->Canonical(), "user.name+tag@example.com");
}

TEST(ParseMailboxTest, NameAddr) {
  auto mb = ParseMailbox("  \"Smith, John\" <john@example.com> ");
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  EXPECT_EQ(mb->display_name, "Smith, John");
  EXPECT_EQ(mb->Address(), "john@example.com");
  auto unquoted = ParseMailbox("John Q. Public <jqp@example.com>");
  ASSERT_TRUE(unquoted.ok()) << unquoted.status().ToString();
  EXPECT_EQ(unquoted->display_name, "John Q. Public");
}

TEST(ParseMailboxTest, EncodedDisplayName) {
  auto mb = ParseMailbox("=?UTF-8?B?SsO2cmc=?= <j@example.com>");
  ASSERT_TRUE(mb.ok());
  EXPECT_EQ(mb->display_name, "J\xC3\xB6rg");
}

TEST(ParseMailboxTest, CommentsAndQuotedPairs) {
  auto mb = ParseMailbox("(comment (nested)) john(x)@(y)example.com (trailing)");
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  EXPECT_EQ(mb->Address(), "john@example.com");
  auto quoted = ParseMailbox("\"john \\\"q\\\" doe\"@example.com");
  ASSERT_TRUE(quoted.ok()) << quoted.status().ToString();
  EXPECT_EQ(quoted->local, "\"john \\\"q\\\" doe\"");
}

TEST(ParseMailboxTest, IdnDomainToPunycode) {
  auto mb = ParseMailbox("user@b\xC3\xBC\x63her.example");  // bücher.example
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  EXPECT_EQ(mb->domain, "xn--bcher-kva.example");
  auto upper = ParseMailbox("user@B\xC3\x9C\x43HER.example");  // BÜCHER.example
  ASSERT_TRUE(upper.ok()) << upper.status().ToString();
  EXPECT_EQ(upper->domain, "xn--bcher-kva.example");
}

TEST(ParseMailboxTest, DomainLiteral) {
  auto mb = ParseMailbox("user@[192.0.2.1]");
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  EXPECT_EQ(mb->domain, "[192.0.2.1]");
  auto v6 = ParseMailbox("user@[IPv6:2001:DB8::1]");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->domain, "[IPv6:2001:db8::1]");
  EXPECT_FALSE(ParseMailbox("user@[300.1.1.1]").ok());
  EXPECT_FALSE(ParseMailbox("user@[example.com]").ok());
}

TEST(ParseMailboxTest, LengthLimits) {
  std::string local64(64, 'a');
  EXPECT_TRUE(ParseMailbox(local64 + "@example.com").ok());
  EXPECT_FALSE(ParseMailbox(local64 + "a@example.com").ok());
  std::string label63(63, 'b');
  EXPECT_TRUE(ParseMailbox("a@" + label63 + ".com").ok());
  EXPECT_FALSE(ParseMailbox("a@" + label63 + "b.com").ok());
  // 64 + 1 + 4 * 63 labels + dots > 320 but every part in range individually.
  std::string domain =
      label63 + "." + label63 + "." + label63 + "." + std::string(61, 'c') + ".com";
  auto long_addr = ParseMailbox(local64 + "@" + domain);
  ASSERT_FALSE(long_addr.ok());
}

struct Bad {
  std::string input;
  std::string error_part;
};

class ParseMailboxRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(ParseMailboxRejects, WithClearError) {
  auto mb = ParseMailbox(GetParam().input);
  ASSERT_FALSE(mb.ok()) << GetParam().input;
  EXPECT_EQ(mb.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mb.status().message().find(GetParam().error_part), std::string::npos)
      << GetParam().input << " -> " << mb.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Bad, ParseMailboxRejects,
    ::testing::Values(
        Bad{"", "empty address"}, Bad{"user", "missing '@'"},
        Bad{"user.example.com", "missing '@'"}, Bad{"@example.com", "empty local part"},
        Bad{"\"\"@example.com", "empty local part"},
        Bad{std::string(65, 'a') + "@example.com", "longer than 64"},
        Bad{"user@localhost", "no dot"}, Bad{"user@", "missing domain"},
        Bad{"user@example..com", "between dots"}, Bad{"user@.example.com", "starts with a dot"},
        Bad{"user@example.com.", "trailing dot"}, Bad{"user@-x.example.com", "'-'"},
        Bad{"user@exa_mple.com", "invalid character"}, Bad{"user@1.2.3.4", "all digits"},
        Bad{"us\xC3\xA9r@example.com", "non-ASCII local part"},
        Bad{"user@example.com\r\nBcc: x@example.com", "CR or LF"},
        Bad{"user@exa\nmple.com", "CR or LF"}, Bad{"us\x01r@example.com", "control character"},
        Bad{".user@example.com", "starts with a dot"}, Bad{"user.@example.com", "trailing dot"},
        Bad{"a@example.com, b@example.com", "only one address"},
        Bad{"Name <a@example.com", "missing '>'"}, Bad{"Name <>", "empty address"},
        Bad{"\"unterminated@example.com", "unterminated quoted"},
        Bad{"(unterminated a@example.com", "unterminated comment"},
        Bad{"group: a@example.com;", "unexpected ':'"}, Bad{"user@xn--.example", ""}));

TEST(ParseAddressListTest, ListWithGroupsAndNames) {
  auto list = ParseAddressList(
      "a@example.com, \"B, Jr.\" <b@example.com>, friends: c@example.com, D <d@example.com>;, "
      "undisclosed-recipients:;, , e@example.org");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 5u);
  EXPECT_EQ((*list)[0].Address(), "a@example.com");
  EXPECT_EQ((*list)[1].display_name, "B, Jr.");
  EXPECT_EQ((*list)[2].Address(), "c@example.com");
  EXPECT_EQ((*list)[3].display_name, "D");
  EXPECT_EQ((*list)[4].Address(), "e@example.org");
}

TEST(ParseAddressListTest, EmptyAndErrors) {
  auto empty = ParseAddressList("  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto bad = ParseAddressList("a@example.com b@example.com");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected ','"), std::string::npos);
  EXPECT_FALSE(ParseAddressList("g: a@example.com").ok());  // group without ';'
  EXPECT_FALSE(ParseAddressList("a@example.com, nobody").ok());
  EXPECT_FALSE(ParseAddressList("g: h: a@example.com;;").ok());  // nested group
}

TEST(ParseSmtpPathTest, Paths) {
  auto p = ParseSmtpPath("<User@Example.com>", false);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->Address(), "User@example.com");
  auto empty = ParseSmtpPath("<>", true);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->local.empty());
  EXPECT_FALSE(ParseSmtpPath("<>", false).ok());
  auto routed = ParseSmtpPath("<@relay.example,@b.example:user@example.com>", false);
  ASSERT_TRUE(routed.ok()) << routed.status().ToString();
  EXPECT_EQ(routed->Address(), "user@example.com");
  auto quoted = ParseSmtpPath("<\"a b\"@example.com>", false);
  ASSERT_TRUE(quoted.ok()) << quoted.status().ToString();
  EXPECT_EQ(quoted->local, "\"a b\"");
  auto literal = ParseSmtpPath("<postmaster@[192.0.2.7]>", false);
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(literal->domain, "[192.0.2.7]");
}

TEST(ParseSmtpPathTest, Rejects) {
  EXPECT_FALSE(ParseSmtpPath("user@example.com", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<user@example.com", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<user>", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<@example.com>", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<a..b@example.com>", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<a b@example.com>", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<Name <a@example.com>>", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<us\xC3\xA9r@example.com>", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<user@localhost>", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<user@example.com>\r\n", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<" + std::string(65, 'a') + "@example.com>", false).ok());
  EXPECT_FALSE(ParseSmtpPath("<@bad:user@example.com>", false).ok());
}

TEST(NormalizeDomainTest, Cases) {
  EXPECT_EQ(*NormalizeDomain("MAIL.Example.COM"), "mail.example.com");
  EXPECT_EQ(*NormalizeDomain("\xE4\xBE\x8B\xE3\x81\x88.jp"), "xn--r8jz45g.jp");  // 例え.jp
  EXPECT_FALSE(NormalizeDomain("").ok());
  EXPECT_FALSE(NormalizeDomain("a b.com").ok());
  EXPECT_FALSE(NormalizeDomain(std::string(300, 'a') + ".com").ok());
  EXPECT_FALSE(NormalizeDomain("\xFF\xFE.com").ok());  // not UTF-8
}

TEST(HeaderAddressesTest, AllFieldsDecoded) {
  std::string in =
      "From: =?UTF-8?Q?J=C3=B6rg?= <j@example.com>\r\n"
      "To: a@example.com, B <b@example.com>\r\n"
      "to: c@example.com\r\n"
      "\r\n";
  auto msg = ParseMessage(in);
  ASSERT_TRUE(msg.ok());
  auto to = HeaderAddresses(*msg, "To");
  ASSERT_TRUE(to.ok());
  ASSERT_EQ(to->size(), 3u);
  EXPECT_EQ((*to)[2].Address(), "c@example.com");
  auto from = HeaderAddresses(*msg, "from");
  ASSERT_TRUE(from.ok());
  ASSERT_EQ(from->size(), 1u);
  EXPECT_EQ((*from)[0].display_name, "J\xC3\xB6rg");
  auto cc = HeaderAddresses(*msg, "Cc");
  ASSERT_TRUE(cc.ok());
  EXPECT_TRUE(cc->empty());
  auto bad_msg = ParseMessage("From: nobody\r\n\r\n");
  ASSERT_TRUE(bad_msg.ok());
  auto bad = HeaderAddresses(*bad_msg, "From");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("From"), std::string::npos);
}

TEST(FormatMailboxTest, QuotesAndEncodes) {
  Mailbox m{"", "a", "example.com"};
  EXPECT_EQ(FormatMailbox(m), "a@example.com");
  m.display_name = "Alice";
  EXPECT_EQ(FormatMailbox(m), "Alice <a@example.com>");
  m.display_name = "Smith, \"Al\"";
  EXPECT_EQ(FormatMailbox(m), "\"Smith, \\\"Al\\\"\" <a@example.com>");
  m.display_name = "J\xC3\xB6rg";
  EXPECT_EQ(FormatMailbox(m), "=?UTF-8?B?SsO2cmc=?= <a@example.com>");
  // Round trip through the parser.
  for (std::string name : {"Alice", "Smith, \"Al\"", "J\xC3\xB6rg", "a.b (c)"}) {
    m.display_name = name;
    auto back = ParseMailbox(FormatMailbox(m));
    ASSERT_TRUE(back.ok()) << name;
    EXPECT_EQ(back->display_name, name);
    EXPECT_EQ(back->Address(), "a@example.com");
  }
}

}  // namespace
}  // namespace herald::mail
