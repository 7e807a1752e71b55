#include "mail/mime_builder.h"

#include <gtest/gtest.h>

#include <string>

#include "base/crypto.h"
#include "mail/address.h"
#include "mail/message.h"

namespace herald::mail {
namespace {

SimpleMessage Basic() {
  SimpleMessage m;
  m.from = "Sender <sender@example.com>";
  m.to = {"a@example.com", "B <b@example.org>"};
  m.subject = "Hello";
  m.text = "Hi there";
  return m;
}

// Every line ends in CRLF and is at most 998 octets.
void ExpectWellFormedLines(const std::string& s) {
  size_t start = 0;
  while (start < s.size()) {
    size_t lf = s.find('\n', start);
    if (lf == std::string::npos) {
      EXPECT_LE(s.size() - start, 998u);
      EXPECT_EQ(s.find('\r', start), std::string::npos);
      break;
    }
    ASSERT_GT(lf, 0u);
    EXPECT_EQ(s[lf - 1], '\r') << "bare LF at " << lf;
    EXPECT_LE(lf - 1 - start, 998u);
    EXPECT_EQ(s.substr(start, lf - 1 - start).find('\r'), std::string::npos) << "bare CR";
    start = lf + 1;
  }
}

std::string DecodeBody(const ParsedMessage& part) {
  const HeaderField* cte = part.Find("Content-Transfer-Encoding");
  if (cte == nullptr) return std::string(part.body);
  if (cte->value == "quoted-printable") {
    auto d = DecodeQuotedPrintable(part.body);
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : "";
  }
  if (cte->value == "base64") {
    auto d = Base64Decode(part.body, /*allow_whitespace=*/true);
    EXPECT_TRUE(d.has_value());
    return d.value_or("");
  }
  return std::string(part.body);
}

std::vector<ParsedMessage> Children(const ParsedMessage& entity, const std::string& subtype) {
  const HeaderField* ct = entity.Find("Content-Type");
  EXPECT_NE(ct, nullptr);
  if (ct == nullptr) return {};
  EXPECT_EQ(ct->value.rfind("multipart/" + subtype + ";", 0), 0u) << ct->value;
  std::string boundary = HeaderParameter(ct->value, "boundary");
  EXPECT_FALSE(boundary.empty());
  auto parts = SplitMultipart(entity.body, boundary);
  EXPECT_TRUE(parts.ok()) << parts.status().ToString();
  std::vector<ParsedMessage> out;
  if (!parts.ok()) return out;
  for (std::string_view p : *parts) {
    EXPECT_EQ(p.find(boundary), std::string_view::npos);
    auto e = ParseEntity(p);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (e.ok()) out.push_back(*e);
  }
  return out;
}

TEST(BuildMimeTest, TextOnly) {
  SimpleMessage m = Basic();
  m.date = "Tue, 1 Jan 2030 00:00:00 +0000";
  m.message_id = "abc-123@herald.example";
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ExpectWellFormedLines(*built);
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  EXPECT_EQ(msg->Find("From")->value, "Sender <sender@example.com>");
  EXPECT_EQ(msg->Find("To")->value, "a@example.com, B <b@example.org>");
  EXPECT_EQ(msg->Find("Subject")->value, "Hello");
  EXPECT_EQ(msg->Find("Date")->value, "Tue, 1 Jan 2030 00:00:00 +0000");
  EXPECT_EQ(msg->Find("Message-ID")->value, "<abc-123@herald.example>");
  EXPECT_EQ(msg->Find("MIME-Version")->value, "1.0");
  EXPECT_EQ(msg->Find("Content-Type")->value, "text/plain; charset=UTF-8");
  EXPECT_EQ(msg->Find("Bcc"), nullptr);
  EXPECT_EQ(DecodeBody(*msg), "Hi there");
}

TEST(BuildMimeTest, OmitsDateAndMessageIdWhenEmpty) {
  auto built = BuildMime(Basic());
  ASSERT_TRUE(built.ok());
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->Find("Date"), nullptr);
  EXPECT_EQ(msg->Find("Message-ID"), nullptr);
}

TEST(BuildMimeTest, TextAndHtmlAlternative) {
  SimpleMessage m = Basic();
  m.text = "line one\nline two\r\nline three\rend";
  m.html = "<p>h\xC3\xA9llo = world</p>\n";
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ExpectWellFormedLines(*built);
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();
  auto parts = Children(*msg, "alternative");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].Find("Content-Type")->value, "text/plain; charset=UTF-8");
  EXPECT_EQ(DecodeBody(parts[0]), "line one\r\nline two\r\nline three\r\nend");
  EXPECT_EQ(parts[1].Find("Content-Type")->value, "text/html; charset=UTF-8");
  EXPECT_EQ(DecodeBody(parts[1]), "<p>h\xC3\xA9llo = world</p>\r\n");
}

TEST(BuildMimeTest, HtmlOnlySinglePart) {
  SimpleMessage m = Basic();
  m.text.clear();
  m.html = "<b>x</b>";
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok());
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->Find("Content-Type")->value, "text/html; charset=UTF-8");
  EXPECT_EQ(DecodeBody(*msg), "<b>x</b>");
}

TEST(BuildMimeTest, QuotedPrintableSoftBreaksAndTrailingSpace) {
  SimpleMessage m = Basic();
  std::string long_line;
  for (int i = 0; i < 50; ++i) long_line += "\xE2\x82\xAC word ";
  m.text = long_line + "\ntrailing space \nend\t";
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok());
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok());
  size_t start = 0;
  std::string_view body = msg->body;
  while (start < body.size()) {
    size_t e = body.find("\r\n", start);
    if (e == std::string_view::npos) e = body.size();
    std::string_view line = body.substr(start, e - start);
    EXPECT_LE(line.size(), 76u);
    if (!line.empty()) {
      EXPECT_NE(line.back(), ' ');
      EXPECT_NE(line.back(), '\t');
    }
    start = e + 2;
  }
  EXPECT_EQ(DecodeBody(*msg), long_line + "\r\ntrailing space \r\nend\t");
}

TEST(BuildMimeTest, NonAsciiSubjectAndDisplayNames) {
  SimpleMessage m = Basic();
  m.from = "J\xC3\xB6rg <j@b\xC3\xBC\x63her.example>";
  m.cc = {"\xE5\xB1\xB1\xE7\x94\xB0 <y@example.jp>"};
  m.reply_to = {"\"Support, Team\" <help@example.com>"};
  m.subject = "Gr\xC3\xBC\xC3\x9F\x65 aus K\xC3\xB6ln";
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok());
  EXPECT_TRUE(IsValidUtf8(*built));
  for (char c : msg->Find("Subject")->raw) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  EXPECT_EQ(DecodeEncodedWords(msg->Find("Subject")->value), m.subject);
  auto from = HeaderAddresses(*msg, "From");
  ASSERT_TRUE(from.ok());
  EXPECT_EQ((*from)[0].display_name, "J\xC3\xB6rg");
  EXPECT_EQ((*from)[0].domain, "xn--bcher-kva.example");
  auto cc = HeaderAddresses(*msg, "Cc");
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ((*cc)[0].display_name, "\xE5\xB1\xB1\xE7\x94\xB0");
  auto reply = HeaderAddresses(*msg, "Reply-To");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ((*reply)[0].display_name, "Support, Team");
}

TEST(BuildMimeTest, AttachmentsMixedAndRelated) {
  SimpleMessage m = Basic();
  m.html = "<img src=\"cid:logo\">";
  Attachment pdf;
  pdf.file_name = "report.PDF";
  pdf.content = std::string("%PDF-1.4\0\x01\xFF binary", 17);
  Attachment logo;
  logo.file_name = "logo.png";
  logo.content = "\x89PNG\r\n\x1a\n....";
  logo.disposition = "INLINE";
  logo.content_id = "logo";
  Attachment intl;
  intl.file_name = "r\xC3\xA9sum\xC3\xA9 \"final\".txt";
  intl.content = "plain\nfile";
  intl.transfer_encoding = "QUOTED_PRINTABLE";
  intl.description = "Lebenslauf \xC3\xBC";
  m.attachments = {pdf, logo, intl};
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ExpectWellFormedLines(*built);
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok()) << msg.status().ToString();

  auto mixed = Children(*msg, "mixed");
  ASSERT_EQ(mixed.size(), 3u);
  auto alt = Children(mixed[0], "alternative");
  ASSERT_EQ(alt.size(), 2u);
  EXPECT_EQ(DecodeBody(alt[0]), "Hi there");
  auto related = Children(alt[1], "related");
  ASSERT_EQ(related.size(), 2u);
  EXPECT_EQ(DecodeBody(related[0]), "<img src=\"cid:logo\">");
  EXPECT_EQ(related[1].Find("Content-ID")->value, "<logo>");
  EXPECT_EQ(related[1].Find("Content-Type")->value, "image/png; name=\"logo.png\"");
  EXPECT_EQ(related[1].Find("Content-Disposition")->value, "inline; filename=\"logo.png\"");
  EXPECT_EQ(DecodeBody(related[1]), logo.content);

  EXPECT_EQ(mixed[1].Find("Content-Type")->value, "application/pdf; name=\"report.PDF\"");
  EXPECT_EQ(mixed[1].Find("Content-Transfer-Encoding")->value, "base64");
  EXPECT_EQ(DecodeBody(mixed[1]), pdf.content);

  const HeaderField* disp = mixed[2].Find("Content-Disposition");
  ASSERT_NE(disp, nullptr);
  EXPECT_EQ(disp->value, "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.txt");
  EXPECT_EQ(mixed[2].Find("Content-Type")->value.rfind("text/plain;", 0), 0u);
  EXPECT_EQ(DecodeEncodedWords(mixed[2].Find("Content-Description")->value), intl.description);
  EXPECT_EQ(DecodeBody(mixed[2]), intl.content);
}

TEST(BuildMimeTest, AttachmentDefaultsAndQuotedFileName) {
  SimpleMessage m = Basic();
  Attachment a;
  a.file_name = "weird \"name\".unknownext";
  a.content = "x";
  Attachment b;
  b.file_name = "cal.ics";
  b.content = "BEGIN:VCALENDAR\nEND:VCALENDAR\n";
  b.transfer_encoding = "SEVEN_BIT";
  m.attachments = {a, b};
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok());
  auto mixed = Children(*msg, "mixed");
  ASSERT_EQ(mixed.size(), 3u);
  EXPECT_EQ(mixed[1].Find("Content-Disposition")->value,
            "attachment; filename=\"weird \\\"name\\\".unknownext\"");
  EXPECT_EQ(HeaderParameter(mixed[1].Find("Content-Disposition")->value, "filename"), a.file_name);
  EXPECT_EQ(mixed[1].Find("Content-Type")->value.rfind("application/octet-stream;", 0), 0u);
  EXPECT_EQ(mixed[2].Find("Content-Type")->value, "text/calendar; name=\"cal.ics\"");
  EXPECT_EQ(mixed[2].Find("Content-Transfer-Encoding")->value, "7bit");
  EXPECT_EQ(DecodeBody(mixed[2]), "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n");
}

TEST(BuildMimeTest, BoundaryNeverInContent) {
  // A 7bit attachment that contains text shaped like herald's boundaries.
  SimpleMessage m = Basic();
  Attachment a;
  a.file_name = "a.txt";
  a.content = "--=_herald_\r\n--=_herald_x--\r\n";
  a.transfer_encoding = "SEVEN_BIT";
  m.attachments = {a};
  m.html = "<p>--=_herald_</p>";
  for (int i = 0; i < 20; ++i) {
    auto built = BuildMime(m);
    ASSERT_TRUE(built.ok());
    auto msg = ParseMessage(*built);
    ASSERT_TRUE(msg.ok());
    auto mixed = Children(*msg, "mixed");
    ASSERT_EQ(mixed.size(), 2u);
    EXPECT_EQ(DecodeBody(mixed[1]), a.content);
  }
}

TEST(BuildMimeTest, ExtraHeaders) {
  SimpleMessage m = Basic();
  m.headers = {{"X-Campaign", "spring"},
               {"List-Unsubscribe", "<mailto:u@example.com>"},
               {"X-Name", "\xC3\xA9t\xC3\xA9"}};
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok());
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->Find("X-Campaign")->value, "spring");
  EXPECT_EQ(msg->Find("List-Unsubscribe")->value, "<mailto:u@example.com>");
  EXPECT_EQ(DecodeEncodedWords(msg->Find("X-Name")->value), "\xC3\xA9t\xC3\xA9");
}

struct BadCase {
  std::string name;
  SimpleMessage msg;
};

TEST(BuildMimeTest, RejectsInjectionAndBadInput) {
  std::vector<BadCase> cases;
  auto add = [&](std::string name, auto mutate) {
    SimpleMessage m = Basic();
    mutate(m);
    cases.push_back({std::move(name), std::move(m)});
  };
  add("subject CRLF", [](SimpleMessage& m) { m.subject = "x\r\nBcc: evil@example.com"; });
  add("subject LF non-ascii", [](SimpleMessage& m) { m.subject = "\xC3\xA9\nBcc: e@x.com"; });
  add("from CRLF", [](SimpleMessage& m) { m.from = "a@example.com\r\nBcc: e@example.com"; });
  add("from invalid", [](SimpleMessage& m) { m.from = "nobody"; });
  add("to invalid", [](SimpleMessage& m) { m.to = {"x@localhost"}; });
  add("header value CRLF", [](SimpleMessage& m) { m.headers = {{"X-A", "a\r\nBcc: e@x.com"}}; });
  add("header name bad", [](SimpleMessage& m) { m.headers = {{"X A", "a"}}; });
  add("header reserved", [](SimpleMessage& m) { m.headers = {{"bcc", "e@example.com"}}; });
  add("header reserved 2", [](SimpleMessage& m) { m.headers = {{"Content-Type", "text/x"}}; });
  add("date CRLF", [](SimpleMessage& m) { m.date = "x\r\nBcc: e@x.com"; });
  add("message id bad", [](SimpleMessage& m) { m.message_id = "a>\r\nb"; });
  add("attachment no name", [](SimpleMessage& m) { m.attachments = {Attachment{}}; });
  add("attachment name CRLF", [](SimpleMessage& m) {
    Attachment a;
    a.file_name = "a\r\n.txt";
    m.attachments = {a};
  });
  add("attachment type CRLF", [](SimpleMessage& m) {
    Attachment a;
    a.file_name = "a.txt";
    a.content_type = "text/plain\r\nBcc: e@x.com";
    m.attachments = {a};
  });
  add("attachment type bad", [](SimpleMessage& m) {
    Attachment a;
    a.file_name = "a.txt";
    a.content_type = "nonsense";
    m.attachments = {a};
  });
  add("attachment disposition", [](SimpleMessage& m) {
    Attachment a;
    a.file_name = "a.txt";
    a.disposition = "sideways";
    m.attachments = {a};
  });
  add("attachment encoding", [](SimpleMessage& m) {
    Attachment a;
    a.file_name = "a.txt";
    a.transfer_encoding = "UUENCODE";
    m.attachments = {a};
  });
  add("seven bit binary", [](SimpleMessage& m) {
    Attachment a;
    a.file_name = "a.bin";
    a.content = "\xFF";
    a.transfer_encoding = "SEVEN_BIT";
    m.attachments = {a};
  });
  add("content id CRLF", [](SimpleMessage& m) {
    Attachment a;
    a.file_name = "a.png";
    a.content_id = "x\r\ny";
    m.attachments = {a};
  });
  add("long file name", [](SimpleMessage& m) {
    Attachment a;
    a.file_name = std::string(256, 'a');
    m.attachments = {a};
  });
  add("invalid utf-8 body", [](SimpleMessage& m) { m.text = "\xC3"; });
  for (const BadCase& c : cases) {
    auto built = BuildMime(c.msg);
    EXPECT_FALSE(built.ok()) << c.name;
    if (!built.ok()) {
      EXPECT_EQ(built.status().code(), StatusCode::kInvalidArgument) << c.name;
    }
  }
}

TEST(BuildMimeTest, EmptyBodyGetsEmptyTextPart) {
  SimpleMessage m = Basic();
  m.text.clear();
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok());
  auto msg = ParseMessage(*built);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->Find("Content-Type")->value, "text/plain; charset=UTF-8");
  EXPECT_TRUE(msg->body.empty());
}

}  // namespace
}  // namespace herald::mail
