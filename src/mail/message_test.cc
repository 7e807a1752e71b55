#include "mail/message.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::mail {
namespace {

TEST(ParseMessageTest, SplitsHeaderAndBody) {
  std::string in =
      "From: a@example.com\r\n"
      "To: b@example.com\r\n"
      "Subject: hello\r\n"
      "  world\r\n"
      "\r\n"
      "body line\r\n";
  auto msg = ParseMessage(in);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  ASSERT_EQ(msg->headers.size(), 3u);
  EXPECT_EQ(msg->headers[0].name, "From");
  EXPECT_EQ(msg->headers[0].value, "a@example.com");
  EXPECT_EQ(msg->headers[0].raw, "From: a@example.com\r\n");
  EXPECT_EQ(msg->headers[2].value, "hello  world");
  EXPECT_EQ(msg->headers[2].raw, "Subject: hello\r\n  world\r\n");
  EXPECT_EQ(msg->body, "body line\r\n");
  // The body is a view into the input, not a copy.
  EXPECT_EQ(msg->body.data(), in.data() + in.size() - msg->body.size());
}

TEST(ParseMessageTest, FindIsCaseInsensitive) {
  auto msg = ParseMessage("FROM: a@example.com\r\nReceived: x\r\nreceived: y\r\n\r\n");
  ASSERT_TRUE(msg.ok());
  ASSERT_NE(msg->Find("from"), nullptr);
  EXPECT_EQ(msg->Find("from")->value, "a@example.com");
  EXPECT_EQ(msg->Find("Subject"), nullptr);
  auto all = msg->FindAll("RECEIVED");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->value, "x");
  EXPECT_EQ(all[1]->value, "y");
}

TEST(ParseMessageTest, SerializeRoundTripsByteForByte) {
  std::string in =
      "Received: from x by y;\r\n"
      "\tTue, 1 Jan 2030 00:00:00 +0000\r\n"
      "From:   \"A\" <a@example.com>  \r\n"
      "X-Odd :value\r\n"
      "Subject:\r\n"
      "\r\n"
      "line 1\r\n"
      "\r\n"
      "line 3 no final crlf";
  auto msg = ParseMessage(in);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(Serialize(msg->headers, msg->body), in);
  EXPECT_EQ(msg->Find("X-Odd")->value, "value");
  EXPECT_EQ(msg->Find("Subject")->value, "");
  EXPECT_EQ(msg->headers[1].value, "\"A\" <a@example.com>");
}

TEST(ParseMessageTest, EditingKeepsOtherBytes) {
  std::string in = "X-SES-CONFIGURATION-SET: cs\r\nFrom: a@example.com\r\n\r\nbody\r\n";
  auto msg = ParseMessage(in);
  ASSERT_TRUE(msg.ok());
  std::vector<HeaderField> headers;
  for (const auto& f : msg->headers) {
    if (f.name != "X-SES-CONFIGURATION-SET") headers.push_back(f);
  }
  auto id = MakeHeaderField("Message-ID", "<1@example.com>");
  ASSERT_TRUE(id.ok());
  headers.push_back(*id);
  EXPECT_EQ(Serialize(headers, msg->body),
            "From: a@example.com\r\nMessage-ID: <1@example.com>\r\n\r\nbody\r\n");
}

TEST(ParseMessageTest, NoBlankLineMeansEmptyBody) {
  auto msg = ParseMessage("From: a@example.com\r\nSubject: s\r\n");
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->headers.size(), 2u);
  EXPECT_TRUE(msg->body.empty());
  auto unterminated = ParseMessage("From: a@example.com");
  ASSERT_TRUE(unterminated.ok());
  EXPECT_EQ(unterminated->headers[0].raw, "From: a@example.com\r\n");
}

TEST(ParseMessageTest, EmptyBodyAfterBlankLine) {
  auto msg = ParseMessage("From: a@example.com\r\n\r\n");
  ASSERT_TRUE(msg.ok());
  EXPECT_TRUE(msg->body.empty());
}

struct BadCase {
  std::string input;
  std::string error_part;
};

class ParseMessageRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseMessageRejects, WithClearError) {
  auto msg = ParseMessage(GetParam().input);
  ASSERT_FALSE(msg.ok());
  EXPECT_EQ(msg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(msg.status().message().find(GetParam().error_part), std::string::npos)
      << msg.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Bad, ParseMessageRejects,
    ::testing::Values(
        BadCase{"From: a@example.com\nTo: b\r\n\r\n", "bare LF"},
        BadCase{"From: a@example.com\r\nTo: b\rc\r\n\r\n", "bare CR"},
        BadCase{"From: a@example.com\r\n\r\nbody\nmore\r\n", "bare LF"},
        BadCase{"From: a@example.com\r\n\r\nbody\rmore\r\n", "bare CR"},
        BadCase{"From: a@example.com\r\n\r\nbody\r", "bare CR"},
        BadCase{"From: a@example.com\r\n\r\n" + std::string(999, 'x') + "\r\n", "998"},
        BadCase{"From: " + std::string(1000, 'x') + "\r\n\r\n", "998"},
        BadCase{" folded: first\r\nFrom: a@example.com\r\n\r\n", "continuation"},
        BadCase{"From: a@example.com\r\nno colon here\r\n\r\n", "neither a field"},
        BadCase{"From: a@example.com\r\n: empty name\r\n\r\n", "neither a field"},
        BadCase{"From: a@example.com\r\nBad\x01Name: x\r\n\r\n", "neither a field"},
        BadCase{"To: b@example.com\r\n\r\n", "no From"},
        BadCase{"From: a@example.com\r\nFrom: c@example.com\r\n\r\n", "more than one From"}));

TEST(ParseMessageTest, AcceptsLongestLegalLine) {
  std::string in = "From: a@example.com\r\n\r\n" + std::string(998, 'x') + "\r\n";
  EXPECT_TRUE(ParseMessage(in).ok());
}

TEST(ParseMessageTest, BoundsHeaderFieldCount) {
  std::string in = "From: a@example.com\r\n";
  for (int i = 0; i < 6000; ++i) in += "X: y\r\n";
  auto msg = ParseMessage(in);
  ASSERT_FALSE(msg.ok());
  EXPECT_NE(msg.status().message().find("too many header fields"), std::string::npos);
}

TEST(MakeHeaderFieldTest, ShortValueOnOneLine) {
  auto f = MakeHeaderField("Subject", "hi there");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->raw, "Subject: hi there\r\n");
  EXPECT_EQ(f->value, "hi there");
  EXPECT_EQ(f->name, "Subject");
}

TEST(MakeHeaderFieldTest, FoldsLongValuesAndUnfoldsBack) {
  std::string value;
  for (int i = 0; i < 40; ++i) value += "word" + std::to_string(i) + " ";
  value += "end";
  auto f = MakeHeaderField("X-Long", value);
  ASSERT_TRUE(f.ok());
  size_t start = 0;
  int lines = 0;
  while (start < f->raw.size()) {
    size_t e = f->raw.find("\r\n", start);
    ASSERT_NE(e, std::string::npos);
    EXPECT_LE(e - start, 78u);
    start = e + 2;
    ++lines;
  }
  EXPECT_GT(lines, 1);
  // Parsing the folded field gives the value back.
  auto msg = ParseMessage("From: a@example.com\r\n" + f->raw + "\r\n");
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->Find("X-Long")->value, value);
}

TEST(MakeHeaderFieldTest, LongWordWithinLimitStaysWhole) {
  std::string word(500, 'a');
  auto f = MakeHeaderField("X-Token", word);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->raw, "X-Token: " + word + "\r\n");
  auto too_long = MakeHeaderField("X-Token", std::string(1000, 'a'));
  EXPECT_FALSE(too_long.ok());
}

TEST(MakeHeaderFieldTest, RejectsInjection) {
  EXPECT_FALSE(MakeHeaderField("Subject", "a\r\nBcc: x@example.com").ok());
  EXPECT_FALSE(MakeHeaderField("Subject", "a\nb").ok());
  EXPECT_FALSE(MakeHeaderField("Subject", "a\rb").ok());
  EXPECT_FALSE(MakeHeaderField("Bad Name", "x").ok());
  EXPECT_FALSE(MakeHeaderField("Bad:Name", "x").ok());
  EXPECT_FALSE(MakeHeaderField("", "x").ok());
}

TEST(EncodedWordsTest, DecodesBAndQ) {
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?B?aMOpbGxv?="), "h\xC3\xA9llo");
  EXPECT_EQ(DecodeEncodedWords("=?utf-8?q?h=C3=A9llo_world?="), "h\xC3\xA9llo world");
  EXPECT_EQ(DecodeEncodedWords("=?ISO-8859-1?Q?caf=E9?="), "caf\xC3\xA9");
  EXPECT_EQ(DecodeEncodedWords("plain text"), "plain text");
}

TEST(EncodedWordsTest, JoinsAdjacentWordsButKeepsOtherSpace) {
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?a?= =?UTF-8?Q?b?="), "ab");
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?="), "ab");
  EXPECT_EQ(DecodeEncodedWords("x =?UTF-8?Q?a?= y"), "x a y");
}

TEST(EncodedWordsTest, LeavesUndecodableWordsAlone) {
  EXPECT_EQ(DecodeEncodedWords("=?KOI8-R?Q?x?="), "=?KOI8-R?Q?x?=");
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?X?x?="), "=?UTF-8?X?x?=");
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?B?!!!?="), "=?UTF-8?B?!!!?=");
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?=ZZ?="), "=?UTF-8?Q?=ZZ?=");
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?=C3?="), "=?UTF-8?Q?=C3?=");  // invalid UTF-8
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?abc"), "=?UTF-8?Q?abc");
}

TEST(EncodedWordsTest, NeverDecodesLineBreaks) {
  EXPECT_EQ(DecodeEncodedWords("=?UTF-8?Q?a=0D=0Ab?="), "a  b");
}

TEST(EncodedWordsTest, EncodeLeavesAsciiAlone) {
  EXPECT_EQ(EncodeHeaderValue("Hello world"), "Hello world");
}

TEST(EncodedWordsTest, EncodeSplitsOnCharacterBoundaries) {
  std::string value;
  for (int i = 0; i < 60; ++i) value += "\xE2\x82\xAC";  // U+20AC, 3 octets each
  value += " and more \xC3\xA9";
  std::string enc = EncodeHeaderValue(value);
  size_t start = 0;
  int words = 0;
  while (start < enc.size()) {
    size_t e = enc.find(' ', start);
    if (e == std::string::npos) e = enc.size();
    std::string word = enc.substr(start, e - start);
    EXPECT_LE(word.size(), 75u);
    EXPECT_EQ(word.rfind("=?UTF-8?B?", 0), 0u);
    // Each word decodes to valid UTF-8 on its own.
    EXPECT_NE(DecodeEncodedWords(word), word);
    start = e + 1;
    ++words;
  }
  EXPECT_GT(words, 2);
  EXPECT_EQ(DecodeEncodedWords(enc), value);
}

TEST(ParseEntityTest, NoFromNeeded) {
  auto e = ParseEntity("Content-Type: text/plain\r\n\r\nhi");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->body, "hi");
  EXPECT_FALSE(ParseMessage("Content-Type: text/plain\r\n\r\nhi").ok());
  auto headerless = ParseEntity("\r\nbody only");
  ASSERT_TRUE(headerless.ok());
  EXPECT_TRUE(headerless->headers.empty());
  EXPECT_EQ(headerless->body, "body only");
}

TEST(HeaderParameterTest, QuotedAndPlain) {
  std::string v = "multipart/mixed; charset=utf-8;\tboundary=\"a \\\"b\\\" c\"; x=y";
  EXPECT_EQ(HeaderParameter(v, "BOUNDARY"), "a \"b\" c");
  EXPECT_EQ(HeaderParameter(v, "charset"), "utf-8");
  EXPECT_EQ(HeaderParameter(v, "x"), "y");
  EXPECT_EQ(HeaderParameter(v, "missing"), "");
  EXPECT_EQ(HeaderParameter("text/plain", "charset"), "");
  EXPECT_EQ(HeaderParameter("a; b; c=\"unterminated", "c"), "unterminated");
}

TEST(SplitMultipartTest, PartsPreambleEpilogue) {
  std::string body =
      "preamble\r\n--xyz\r\nA: 1\r\n\r\npart one\r\n--xyz  \r\n\r\npart two\r\n"
      "--xyzNOT\r\nstill two\r\n--xyz--\r\nepilogue\r\n";
  auto parts = SplitMultipart(body, "xyz");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0], "A: 1\r\n\r\npart one");
  EXPECT_EQ((*parts)[1], "\r\npart two\r\n--xyzNOT\r\nstill two");
  EXPECT_FALSE(SplitMultipart("--xyz\r\nno close\r\n", "xyz").ok());
  EXPECT_FALSE(SplitMultipart("--xyz--\r\n", "xyz").ok());
  EXPECT_FALSE(SplitMultipart("x", "").ok());
  EXPECT_FALSE(SplitMultipart("x", std::string(71, 'b')).ok());
}

TEST(QuotedPrintableTest, Decode) {
  EXPECT_EQ(*DecodeQuotedPrintable("a=3Db=\r\nc\r\nd=C3=A9"), "a=bc\r\nd\xC3\xA9");
  EXPECT_EQ(*DecodeQuotedPrintable("soft=  \r\nbreak="), "softbreak");
  EXPECT_FALSE(DecodeQuotedPrintable("=G1").ok());
  EXPECT_FALSE(DecodeQuotedPrintable("x=4").ok());
}

TEST(Utf8Test, Validity) {
  EXPECT_TRUE(IsValidUtf8("plain \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

}  // namespace
}  // namespace herald::mail
