#include "mail/tracking.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "base/crypto.h"
#include "mail/message.h"
#include "mail/mime_builder.h"

namespace herald::mail {
namespace {

constexpr char kKey[] = "tracking-key-0123456789abcdef";
constexpr char kBase[] = "https://track.example.com";
constexpr int64_t kNow = 1700000000;
constexpr int64_t kDay = 86400;

TrackingToken SampleToken() {
  TrackingToken t;
  t.kind = TrackingToken::kClick;
  t.account_id = "111122223333";
  t.configuration_set = "marketing";
  t.message_id = "0100018c-abcdef-000000@herald.example";
  t.recipient = "reader@example.org";
  t.link = "https://shop.example.com/p?id=7&q=caf\xC3\xA9";
  t.link_tags = {{"product", "book"}, {"genre", "fiction"}};
  t.issued_at = kNow - 60;
  return t;
}

TrackingPlan Plan() {
  TrackingPlan p;
  p.base_url = kBase;
  p.key = kKey;
  p.token_template.account_id = "111122223333";
  p.token_template.configuration_set = "marketing";
  p.token_template.message_id = "0100018c-abcdef-000000@herald.example";
  p.token_template.recipient = "reader@example.org";
  p.token_template.issued_at = kNow;
  return p;
}

// Every token that follows `base_url + path` in `s`, in order.
std::vector<std::string> TokensAfter(const std::string& s, const std::string& path) {
  std::vector<std::string> out;
  std::string prefix = std::string(kBase) + path;
  size_t pos = 0;
  while ((pos = s.find(prefix, pos)) != std::string::npos) {
    pos += prefix.size();
    size_t end = pos;
    while (end < s.size() &&
           (isalnum(static_cast<unsigned char>(s[end])) || s[end] == '-' || s[end] == '_')) {
      ++end;
    }
    out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// The links the click tokens in `html` stand for.
std::vector<std::string> ClickedLinks(const std::string& html) {
  std::vector<std::string> links;
  for (const std::string& sealed : TokensAfter(html, "/t/c/")) {
    auto t = OpenToken(sealed, kKey, kNow, kDay);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    if (!t.ok()) continue;
    EXPECT_EQ(t->kind, TrackingToken::kClick);
    links.push_back(t->link);
  }
  return links;
}

std::string DecodeBody(const ParsedMessage& part) {
  const HeaderField* cte = part.Find("Content-Transfer-Encoding");
  if (cte != nullptr && cte->value == "quoted-printable") {
    auto d = DecodeQuotedPrintable(part.body);
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : "";
  }
  if (cte != nullptr && cte->value == "base64") {
    auto d = Base64Decode(part.body, /*allow_whitespace=*/true);
    EXPECT_TRUE(d.has_value());
    return d.value_or("");
  }
  return std::string(part.body);
}

// The parts of a multipart entity, as raw bytes.
std::vector<std::string> RawParts(std::string_view entity) {
  auto parsed = ParseEntity(entity);
  EXPECT_TRUE(parsed.ok());
  if (!parsed.ok()) return {};
  const HeaderField* ct = parsed->Find("Content-Type");
  EXPECT_NE(ct, nullptr);
  if (ct == nullptr) return {};
  auto parts = SplitMultipart(parsed->body, HeaderParameter(ct->value, "boundary"));
  EXPECT_TRUE(parts.ok());
  if (!parts.ok()) return {};
  return std::vector<std::string>(parts->begin(), parts->end());
}

std::string Decoded(std::string_view entity) {
  auto parsed = ParseEntity(entity);
  EXPECT_TRUE(parsed.ok());
  return parsed.ok() ? DecodeBody(*parsed) : "";
}

std::string HeaderValue(std::string_view entity, std::string_view name) {
  auto parsed = ParseEntity(entity);
  if (!parsed.ok()) return "<unparsed>";
  const HeaderField* f = parsed->Find(name);
  return f == nullptr ? "<absent>" : f->value;
}

void ExpectLinesAtMost(const std::string& s, size_t limit) {
  size_t start = 0;
  while (start <= s.size()) {
    size_t eol = s.find("\r\n", start);
    size_t end = eol == std::string::npos ? s.size() : eol;
    EXPECT_LE(end - start, limit) << "line at " << start;
    if (eol == std::string::npos) break;
    start = eol + 2;
  }
}

std::string SinglePart(std::string_view content_type, std::string_view cte, std::string_view body) {
  std::string m =
      "From: a@example.com\r\nTo: b@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
      "Content-Type: ";
  m += content_type;
  m += "\r\n";
  if (!cte.empty()) {
    m += "Content-Transfer-Encoding: ";
    m += cte;
    m += "\r\n";
  }
  m += "\r\n";
  m += body;
  return m;
}

std::string Track(const std::string& message, TrackingStats* stats = nullptr,
                  const TrackingPlan& plan = Plan()) {
  auto out = AddTracking(message, plan, stats);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : "";
}

// ---------------------------------------------------------------------------------------
// Tokens.

TEST(TrackingTokenTest, RoundTrip) {
  TrackingToken t = SampleToken();
  std::string sealed = SealToken(t, kKey);
  for (char c : sealed) {
    EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
  }
  auto opened = OpenToken(sealed, kKey, kNow, kDay);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, t);

  TrackingToken open;
  open.kind = TrackingToken::kUnsubscribe;
  open.message_id = "m";
  open.issued_at = -5;  // any value survives; the age check is off below
  auto opened2 = OpenToken(SealToken(open, kKey), kKey, kNow, -1);
  ASSERT_TRUE(opened2.ok());
  EXPECT_EQ(*opened2, open);
}

TEST(TrackingTokenTest, EverySingleByteChangeIsRefused) {
  TrackingToken t = SampleToken();
  t.link_tags = {{"a", "b"}};
  const std::string sealed = SealToken(t, kKey);
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/.%\x80";
  int tried = 0;
  for (size_t i = 0; i < sealed.size(); ++i) {
    for (char c : alphabet) {
      if (c == sealed[i]) continue;
      std::string changed = sealed;
      changed[i] = c;
      auto r = OpenToken(changed, kKey, kNow, kDay);
      ASSERT_FALSE(r.ok()) << "position " << i << " char " << c;
      EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
      EXPECT_EQ(r.status().message(), "invalid tracking token");
      ++tried;
    }
    std::string truncated = sealed.substr(0, i);
    EXPECT_FALSE(OpenToken(truncated, kKey, kNow, kDay).ok()) << "prefix " << i;
    std::string deleted = sealed.substr(0, i) + sealed.substr(i + 1);
    EXPECT_FALSE(OpenToken(deleted, kKey, kNow, kDay).ok()) << "deleted " << i;
  }
  EXPECT_GT(tried, 1000);
  EXPECT_FALSE(OpenToken(sealed + "A", kKey, kNow, kDay).ok());
  EXPECT_FALSE(OpenToken(sealed + "AA", kKey, kNow, kDay).ok());
  EXPECT_TRUE(OpenToken(sealed, kKey, kNow, kDay).ok());
}

TEST(TrackingTokenTest, WrongKeyAndGarbageAreRefused) {
  std::string sealed = SealToken(SampleToken(), kKey);
  for (std::string_view bad : {std::string_view("other-key"), std::string_view("")}) {
    auto r = OpenToken(sealed, bad, kNow, kDay);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  }
  for (std::string_view garbage : {"", "A", "AAAA", "====", "not a token", "%00%00", "\xff\xfe"}) {
    auto r = OpenToken(garbage, kKey, kNow, kDay);
    ASSERT_FALSE(r.ok()) << garbage;
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  }
  // A MAC-sized run of zero bytes with nothing before it.
  EXPECT_FALSE(OpenToken(std::string(22, 'A'), kKey, kNow, kDay).ok());
}

TEST(TrackingTokenTest, KeyRotation) {
  TrackingToken t = SampleToken();
  std::string old_sealed = SealToken(t, "old-key");
  std::string new_sealed = SealToken(t, "new-key");
  std::vector<std::string> keys = {"new-key", "old-key"};
  EXPECT_TRUE(OpenToken(old_sealed, keys, kNow, kDay).ok());
  EXPECT_TRUE(OpenToken(new_sealed, keys, kNow, kDay).ok());
  std::vector<std::string> retired = {"new-key"};
  EXPECT_FALSE(OpenToken(old_sealed, retired, kNow, kDay).ok());
  std::vector<std::string> empty_keys = {"", ""};
  EXPECT_FALSE(OpenToken(old_sealed, empty_keys, kNow, kDay).ok());
  EXPECT_FALSE(OpenToken(old_sealed, std::vector<std::string>{}, kNow, kDay).ok());
}

TEST(TrackingTokenTest, ExpiryAndFutureTokens) {
  TrackingToken t = SampleToken();
  t.issued_at = kNow - kDay;
  std::string sealed = SealToken(t, kKey);
  EXPECT_TRUE(OpenToken(sealed, kKey, kNow, kDay).ok());  // exactly max_age: still fine
  auto expired = OpenToken(sealed, kKey, kNow + 1, kDay);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(expired.status().message(), "tracking token has expired");
  EXPECT_TRUE(OpenToken(sealed, kKey, kNow + 365 * kDay, -1).ok());  // no age limit

  t.issued_at = kNow + kMaxClockSkewSeconds;
  EXPECT_TRUE(OpenToken(SealToken(t, kKey), kKey, kNow, kDay).ok());
  t.issued_at = kNow + kMaxClockSkewSeconds + 1;
  auto future = OpenToken(SealToken(t, kKey), kKey, kNow, kDay);
  ASSERT_FALSE(future.ok());
  EXPECT_EQ(future.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(future.status().message(), "tracking token is issued in the future");

  // Extreme values do not overflow into acceptance.
  t.issued_at = std::numeric_limits<int64_t>::min();
  EXPECT_FALSE(OpenToken(SealToken(t, kKey), kKey, std::numeric_limits<int64_t>::max(),
                         std::numeric_limits<int64_t>::max() - 1)
                   .ok());
  t.issued_at = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE(OpenToken(SealToken(t, kKey), kKey, std::numeric_limits<int64_t>::min(), kDay).ok());
}

TEST(TrackingTokenTest, KindIsVisibleToTheCaller) {
  TrackingToken t = SampleToken();
  t.kind = TrackingToken::kOpen;
  t.link.clear();
  auto opened = OpenToken(SealToken(t, kKey), kKey, kNow, kDay);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->kind, TrackingToken::kOpen);
  EXPECT_NE(opened->kind, TrackingToken::kClick);  // a click endpoint can refuse it
  t.kind = TrackingToken::kClick;
  opened = OpenToken(SealToken(t, kKey), kKey, kNow, kDay);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->kind, TrackingToken::kClick);
}

TEST(TrackingTokenTest, OversizedTokenIsRefusedBeforeDecoding) {
  TrackingToken t = SampleToken();
  t.link = "https://example.com/" + std::string(7000, 'x');
  std::string sealed = SealToken(t, kKey);
  ASSERT_GT(sealed.size(), kMaxSealedTokenSize);
  auto r = OpenToken(sealed, kKey, kNow, kDay);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(r.status().message(), "invalid tracking token (too long)");
  t.link = "https://example.com/" + std::string(5000, 'x');
  EXPECT_TRUE(OpenToken(SealToken(t, kKey), kKey, kNow, kDay).ok());
}

TEST(TrackingTokenTest, ParseLinkTags) {
  using Tags = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(ParseLinkTags("product:book;genre:fiction"),
            (Tags{{"product", "book"}, {"genre", "fiction"}}));
  EXPECT_EQ(ParseLinkTags(" a_1 : V-2 ;;bad;x:;:y;sp ace:v;k:v:w;ok:yes; "),
            (Tags{{"a_1", "V-2"}, {"ok", "yes"}}));
  EXPECT_EQ(ParseLinkTags("caf\xC3\xA9:x;n:v\"><script>"), Tags{});
  EXPECT_EQ(ParseLinkTags(""), Tags{});
  EXPECT_EQ(ParseLinkTags(std::string(257, 'a') + ":v;k:" + std::string(256, 'b')),
            (Tags{{"k", std::string(256, 'b')}}));
  std::string many;
  for (int i = 0; i < 80; ++i) many += "k" + std::to_string(i) + ":v;";
  EXPECT_EQ(ParseLinkTags(many).size(), 50u);
}

// ---------------------------------------------------------------------------------------
// Rewriting.

SimpleMessage Newsletter() {
  SimpleMessage m;
  m.from = "News <news@example.com>";
  m.to = {"reader@example.org"};
  m.subject = "Weekly";
  m.text = "Read it at https://example.com/web-version\n";
  m.html =
      "<html><body><p>Hello</p>"
      "<a href=\"https://example.com/a?x=1&amp;y=2\">A</a> "
      "<a class=\"btn\" href=\"http://example.com/b\" ses:tags=\"campaign:spring;bad tag:x\">B</a> "
      "<a href=\"mailto:help@example.com\">mail</a> <a href=\"tel:+15550100\">call</a> "
      "<a href=\"#top\">top</a> <a href=\"/relative\">rel</a> <a name=\"anchor\">x</a>"
      "</body></html>";
  m.message_id = "orig@example.com";
  m.date = "Tue, 14 Nov 2023 22:13:20 +0000";
  return m;
}

TEST(AddTrackingTest, MultipartAlternativeFromMimeBuilder) {
  auto built = BuildMime(Newsletter());
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  TrackingStats stats;
  std::string out = Track(*built, &stats);
  EXPECT_TRUE(stats.parsed);
  EXPECT_EQ(stats.html_parts, 1);
  EXPECT_EQ(stats.links_rewritten, 2);
  EXPECT_EQ(stats.open_pixels, 1);
  ExpectLinesAtMost(out, 998);
  ASSERT_TRUE(ParseMessage(out).ok());

  // The header block is kept byte for byte.
  size_t header_end = built->find("\r\n\r\n");
  EXPECT_EQ(out.substr(0, header_end), built->substr(0, header_end));

  std::vector<std::string> before = RawParts(*built), after = RawParts(out);
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0], before[0]);  // the text part, byte for byte
  EXPECT_NE(after[1], before[1]);
  EXPECT_EQ(HeaderValue(after[1], "Content-Transfer-Encoding"), "quoted-printable");
  ExpectLinesAtMost(std::string(ParseEntity(after[1])->body), 76);

  std::string html = Decoded(after[1]);
  EXPECT_EQ(ClickedLinks(html),
            (std::vector<std::string>{"https://example.com/a?x=1&y=2", "http://example.com/b"}));
  for (const char* kept :
       {"href=\"mailto:help@example.com\"", "href=\"tel:+15550100\"", "href=\"#top\"",
        "href=\"/relative\"", "<a name=\"anchor\">", "class=\"btn\" href=\"https://track"}) {
    EXPECT_NE(html.find(kept), std::string::npos) << kept;
  }
  EXPECT_EQ(html.find("https://example.com/a"), std::string::npos);

  // The second link's token carries its tags and the template's fields.
  std::vector<std::string> clicks = TokensAfter(html, "/t/c/");
  ASSERT_EQ(clicks.size(), 2u);
  auto b = OpenToken(clicks[1], kKey, kNow, kDay);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->link_tags,
            (std::vector<std::pair<std::string, std::string>>{{"campaign", "spring"}}));
  EXPECT_EQ(b->account_id, "111122223333");
  EXPECT_EQ(b->configuration_set, "marketing");
  EXPECT_EQ(b->message_id, "0100018c-abcdef-000000@herald.example");
  EXPECT_EQ(b->recipient, "reader@example.org");
  EXPECT_EQ(b->issued_at, kNow);
  auto a = OpenToken(clicks[0], kKey, kNow, kDay);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->link_tags.empty());

  // The pixel sits just before </body>.
  std::vector<std::string> opens = TokensAfter(html, "/t/o/");
  ASSERT_EQ(opens.size(), 1u);
  auto o = OpenToken(opens[0], kKey, kNow, kDay);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind, TrackingToken::kOpen);
  EXPECT_TRUE(o->link.empty());
  std::string pixel = "<img src=\"" + std::string(kBase) + "/t/o/" + opens[0] +
                      "\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none;border:0\">";
  EXPECT_NE(html.find(pixel + "</body></html>"), std::string::npos) << html;
}

TEST(AddTrackingTest, QuotedPrintableWithSoftBreakInsideHref) {
  std::string body =
      "<p>Hi</p><a href=3D\"https://example.com/very/long/path/that/goes/on/and/on/a=\r\n"
      "nd/on?x=3D1\">go</a>\r\n"
      "-- \r\nThe team\r\n</BODY>\r\n";
  std::string msg = SinglePart("text/html; charset=UTF-8", "quoted-printable", body);
  TrackingStats stats;
  std::string out = Track(msg, &stats);
  EXPECT_EQ(stats.links_rewritten, 1);
  EXPECT_EQ(HeaderValue(out, "Content-Transfer-Encoding"), "quoted-printable");
  auto parsed = ParseMessage(out);
  ASSERT_TRUE(parsed.ok());
  ExpectLinesAtMost(std::string(parsed->body), 76);
  // A line that starts with '-' is escaped, so it can never read as a delimiter.
  EXPECT_NE(out.find("\r\n=2D-=20\r\n"), std::string::npos) << out;
  std::string html = Decoded(out);
  EXPECT_EQ(ClickedLinks(html),
            (std::vector<std::string>{"https://example.com/very/long/path/that/goes/on/and/on/"
                                      "and/on?x=1"}));
  EXPECT_NE(html.find("-- \r\nThe team\r\n<img src="), std::string::npos) << html;
  EXPECT_TRUE(html.ends_with("\"></BODY>\r\n")) << html;
}

TEST(AddTrackingTest, Base64StaysBase64) {
  std::string html =
      "<html><body><A HREF='https://example.com/x'>x</A><a href=https://example.com/y>y</a>"
      "</body></html>\r\n";
  std::string b64 = Base64Encode(html);
  std::string folded;
  for (size_t i = 0; i < b64.size(); i += 76) folded += b64.substr(i, 76) + "\r\n";
  std::string msg = SinglePart("text/html", "base64", folded);
  TrackingStats stats;
  std::string out = Track(msg, &stats);
  EXPECT_EQ(stats.links_rewritten, 2);
  EXPECT_EQ(HeaderValue(out, "Content-Transfer-Encoding"), "base64");
  auto parsed = ParseMessage(out);
  ASSERT_TRUE(parsed.ok());
  std::string body(parsed->body);
  EXPECT_TRUE(body.ends_with("\r\n"));
  ExpectLinesAtMost(body, 76);
  EXPECT_EQ(body.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n"),
            std::string::npos);
  std::string decoded = Decoded(out);
  EXPECT_EQ(ClickedLinks(decoded),
            (std::vector<std::string>{"https://example.com/x", "https://example.com/y"}));
  // Quoting styles are kept: single quotes and unquoted.
  EXPECT_NE(decoded.find("<A HREF='https://track.example.com/t/c/"), std::string::npos);
  EXPECT_NE(decoded.find("<a href=https://track.example.com/t/c/"), std::string::npos);
  EXPECT_NE(decoded.find("\"></body></html>\r\n"), std::string::npos);
}

TEST(AddTrackingTest, NoTrackAndNonHttpLinksStayAsWritten) {
  std::string body =
      "<a ses:no-track href=\"https://example.com/private\">p</a>\r\n"
      "<a href=\"https://example.com/private2\" SES:NO-TRACK>q</a>\r\n"
      "<a href=\"javascript:alert(1)\">j</a><a href=\"ftp://example.com/\">f</a>\r\n"
      "<a href>empty</a><a href=\"\">empty2</a><abbr href=\"https://example.com/abbr\">\r\n"
      "<!-- <a href=\"https://example.com/comment\"> -->\r\n"
      "<script>var s = '<a href=\"https://example.com/script\">';</script>\r\n"
      "<a\r\n  title=\"t\"\r\n  href = \"https://example.com/tracked\">t</a>\r\n";
  std::string msg = SinglePart("text/html; charset=\"utf-8\"", "7bit", body);
  TrackingStats stats;
  std::string out = Track(msg, &stats);
  EXPECT_EQ(stats.links_rewritten, 1);
  std::string html(ParseMessage(out)->body);
  EXPECT_EQ(ClickedLinks(html), (std::vector<std::string>{"https://example.com/tracked"}));
  EXPECT_TRUE(html.starts_with(body.substr(0, body.find("<a\r\n  title")))) << html;
  EXPECT_EQ(HeaderValue(out, "Content-Transfer-Encoding"), "7bit");
}

TEST(AddTrackingTest, CharacterReferencesInHrefsAndTags) {
  std::string body =
      "<a href=\"https&#58;//example.com/?a=1&amp;b=2&#x26;c=&quot;3&quot;&copy=4\" "
      "ses:tags=\"k1:v1&#59;k2:v2\">x</a></body>";
  std::string msg = SinglePart("text/html", "", body);
  std::string out = Track(msg);
  std::string html(ParseMessage(out)->body);
  std::vector<std::string> clicks = TokensAfter(html, "/t/c/");
  ASSERT_EQ(clicks.size(), 1u);
  auto t = OpenToken(clicks[0], kKey, kNow, kDay);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->link, "https://example.com/?a=1&b=2&c=\"3\"&copy=4");
  EXPECT_EQ(t->link_tags,
            (std::vector<std::pair<std::string, std::string>>{{"k1", "v1"}, {"k2", "v2"}}));
}

TEST(AddTrackingTest, PixelAtTheEndWithoutBody) {
  std::string msg = SinglePart("text/html", "7bit", "<p><a href=\"https://example.com/\">x</a>");
  TrackingStats stats;
  std::string out = Track(msg, &stats);
  EXPECT_EQ(stats.open_pixels, 1);
  std::string html(ParseMessage(out)->body);
  EXPECT_TRUE(html.ends_with("style=\"display:none;border:0\">")) << html;
  EXPECT_EQ(TokensAfter(html, "/t/o/").size(), 1u);

  // The last </body> wins when there are several.
  msg = SinglePart("text/html", "7bit", "a</body>b</Body >c");
  html = std::string(ParseMessage(Track(msg))->body);
  EXPECT_TRUE(html.starts_with("a</body>b<img src=")) << html;
  EXPECT_TRUE(html.ends_with("border:0\"></Body >c")) << html;
}

TEST(AddTrackingTest, OnlyOpenOrOnlyClicks) {
  std::string msg = SinglePart("text/html", "7bit", "<a href=\"https://example.com/\">x</a>");
  TrackingPlan plan = Plan();
  plan.open = false;
  TrackingStats stats;
  std::string html(ParseMessage(Track(msg, &stats, plan))->body);
  EXPECT_EQ(stats.links_rewritten, 1);
  EXPECT_EQ(stats.open_pixels, 0);
  EXPECT_EQ(html.find("/t/o/"), std::string::npos);

  plan.open = true;
  plan.clicks = false;
  html = std::string(ParseMessage(Track(msg, &stats, plan))->body);
  EXPECT_EQ(stats.links_rewritten, 0);
  EXPECT_EQ(stats.open_pixels, 1);
  EXPECT_NE(html.find("href=\"https://example.com/\""), std::string::npos);

  plan.open = false;
  EXPECT_EQ(Track(msg, &stats, plan), msg);
}

TEST(AddTrackingTest, TextOnlyMessageIsUnchanged) {
  SimpleMessage m = Newsletter();
  m.html.clear();
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok());
  TrackingStats stats;
  EXPECT_EQ(Track(*built, &stats), *built);
  EXPECT_TRUE(stats.parsed);
  EXPECT_EQ(stats.html_parts, 0);
}

TEST(AddTrackingTest, HtmlAttachmentIsUntouchedInNestedMixed) {
  SimpleMessage m = Newsletter();
  Attachment page;
  page.file_name = "page.html";
  page.content = "<html><body><a href=\"https://example.com/attached\">x</a></body></html>";
  m.attachments.push_back(page);
  Attachment inline_page = page;
  inline_page.file_name = "inline.html";
  inline_page.disposition = "inline";  // inline, but no Content-ID: stays in mixed
  inline_page.content_type = "text/plain";
  m.attachments.push_back(inline_page);
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  ASSERT_NE(HeaderValue(*built, "Content-Type").find("multipart/mixed"), std::string::npos);

  TrackingStats stats;
  std::string out = Track(*built, &stats);
  EXPECT_EQ(stats.html_parts, 1);
  EXPECT_EQ(stats.links_rewritten, 2);

  std::vector<std::string> before = RawParts(*built), after = RawParts(out);
  ASSERT_EQ(before.size(), 3u);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(after[1], before[1]);  // the HTML attachment, byte for byte
  EXPECT_EQ(after[2], before[2]);
  EXPECT_NE(HeaderValue(after[1], "Content-Type").find("text/html"), std::string::npos);

  std::vector<std::string> alt_before = RawParts(before[0]), alt_after = RawParts(after[0]);
  ASSERT_EQ(alt_after.size(), 2u);
  EXPECT_EQ(alt_after[0], alt_before[0]);
  std::string html = Decoded(alt_after[1]);
  EXPECT_EQ(ClickedLinks(html),
            (std::vector<std::string>{"https://example.com/a?x=1&y=2", "http://example.com/b"}));
  // Preamble, delimiters and epilogue: everything outside the html part is as it was.
  size_t html_at = out.find(alt_after[1]);
  size_t old_at = built->find(alt_before[1]);
  ASSERT_NE(html_at, std::string::npos);
  ASSERT_NE(old_at, std::string::npos);
  EXPECT_EQ(out.substr(0, html_at), built->substr(0, old_at));
  EXPECT_EQ(out.substr(html_at + alt_after[1].size()),
            built->substr(old_at + alt_before[1].size()));
}

TEST(AddTrackingTest, LongSevenBitLineBecomesQuotedPrintable) {
  std::string line = "<p>" + std::string(900, 'w') + " <a href=\"https://example.com/\">x</a></p>";
  std::string msg = SinglePart("text/html", "7bit", line + "\r\n");
  TrackingStats stats;
  std::string out = Track(msg, &stats);
  EXPECT_EQ(stats.parts_reencoded_qp, 1);
  EXPECT_EQ(HeaderValue(out, "Content-Transfer-Encoding"), "quoted-printable");
  auto parsed = ParseMessage(out);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->FindAll("Content-Transfer-Encoding").size(), 1u);
  ExpectLinesAtMost(std::string(parsed->body), 76);
  EXPECT_EQ(ClickedLinks(Decoded(out)), (std::vector<std::string>{"https://example.com/"}));

  // Without a Content-Transfer-Encoding field one is added.
  msg = SinglePart("text/html", "", line + "\r\n");
  out = Track(msg, &stats);
  EXPECT_EQ(HeaderValue(out, "Content-Transfer-Encoding"), "quoted-printable");
  EXPECT_EQ(ClickedLinks(Decoded(out)), (std::vector<std::string>{"https://example.com/"}));

  // A short 8bit part stays 8bit, its UTF-8 intact.
  msg =
      SinglePart("text/html; charset=utf-8", "8bit", "caf\xC3\xA9 <a href=\"http://e.com\">x</a>");
  out = Track(msg, &stats);
  EXPECT_EQ(stats.parts_reencoded_qp, 0);
  EXPECT_EQ(HeaderValue(out, "Content-Transfer-Encoding"), "8bit");
  EXPECT_TRUE(std::string(ParseMessage(out)->body).starts_with("caf\xC3\xA9 <a href=\"https://"));
}

TEST(AddTrackingTest, UnparseableOrTooDeepMessagesAreReturnedUnchanged) {
  TrackingStats stats;
  std::string bare_lf = "From: a@example.com\nContent-Type: text/html\n\n<a href=\"http://x\">";
  EXPECT_EQ(Track(bare_lf, &stats), bare_lf);
  EXPECT_FALSE(stats.parsed);

  // 40 nested multiparts around an HTML part.
  std::string inner = "Content-Type: text/html\r\n\r\n<a href=\"https://example.com/\">x</a>";
  for (int i = 0; i < 40; ++i) {
    std::string b = "b" + std::to_string(i);
    inner = "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n" + inner +
            "\r\n--" + b + "--\r\n";
  }
  std::string deep = "From: a@example.com\r\n" + inner;
  EXPECT_EQ(Track(deep, &stats), deep);
  EXPECT_FALSE(stats.parsed);

  // The same nesting within the limit is tracked.
  inner = "Content-Type: text/html\r\n\r\n<a href=\"https://example.com/\">x</a>";
  for (int i = 0; i < 20; ++i) {
    std::string b = "b" + std::to_string(i);
    inner = "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n" + inner +
            "\r\n--" + b + "--\r\n";
  }
  std::string ok = "From: a@example.com\r\n" + inner;
  std::string out = Track(ok, &stats);
  EXPECT_TRUE(stats.parsed);
  EXPECT_EQ(stats.links_rewritten, 1);
  EXPECT_TRUE(ParseMessage(out).ok());

  // A multipart without its close delimiter is kept as it is.
  std::string open_multipart =
      "From: a@example.com\r\nContent-Type: multipart/alternative; boundary=q\r\n\r\n--q\r\n"
      "Content-Type: text/html\r\n\r\n<a href=\"https://example.com/\">x</a>\r\n";
  EXPECT_EQ(Track(open_multipart, &stats), open_multipart);
  EXPECT_TRUE(stats.parsed);
}

TEST(AddTrackingTest, NonAsciiCompatibleCharsetAndUnknownEncodingAreSkipped) {
  std::string msg = SinglePart("text/html; charset=UTF-16", "base64", "PABhAD4A\r\n");
  EXPECT_EQ(Track(msg), msg);
  msg = SinglePart("text/html", "x-uuencode", "<a href=\"https://example.com/\">x</a>");
  EXPECT_EQ(Track(msg), msg);
  msg = SinglePart("text/html", "quoted-printable", "<a href=3D\"https://e.com/\">=ZZ</a>");
  EXPECT_EQ(Track(msg), msg);  // malformed quoted-printable: the part stays as written
}

TEST(AddTrackingTest, GrowthIsBounded) {
  std::string body;
  for (int i = 0; i < 3000; ++i) body += "<a href=http://e.co>" + std::to_string(i) + "</a>\r\n";
  std::string msg = SinglePart("text/html", "7bit", body);
  TrackingPlan plan = Plan();
  plan.token_template.recipient = std::string(200, 'r') + "@example.org";
  TrackingStats stats;
  std::string out = Track(msg, &stats, plan);
  EXPECT_GT(stats.links_rewritten, 0);
  EXPECT_GT(stats.links_over_budget, 0);
  EXPECT_EQ(stats.links_rewritten + stats.links_over_budget, 3000);
  EXPECT_LE(out.size(), 4 * msg.size() + 256 * 1024);
  // Links are tracked in document order until the budget runs out.
  std::string html(ParseMessage(out)->body);
  EXPECT_NE(html.find("/t/c/"), std::string::npos);
  EXPECT_TRUE(html.find("<a href=http://e.co>2999</a>") != std::string::npos);
}

TEST(AddTrackingTest, InvalidPlansAreRefused) {
  std::string msg = SinglePart("text/html", "7bit", "<a href=\"https://example.com/\">x</a>");
  for (const char* url :
       {"", "https://", "https:///x", "https://t.example.com/", "ftp://t.example.com",
        "https://t.example.com/\"x", "https://t.example.com/?a=b", "https://t.example.com/a b",
        "https://t.example.com/&"}) {
    TrackingPlan plan = Plan();
    plan.base_url = url;
    auto r = AddTracking(msg, plan);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  TrackingPlan plan = Plan();
  plan.key.clear();
  EXPECT_FALSE(AddTracking(msg, plan).ok());
  plan = Plan();
  plan.base_url = "http://127.0.0.1:8080";
  auto r = AddTracking(msg, plan);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->find("href=\"http://127.0.0.1:8080/t/c/"), std::string::npos);
}

TEST(AddTrackingTest, OpenPixelMayHaveItsOwnBaseUrl) {
  std::string msg = SinglePart("text/html", "7bit", "<a href=\"https://example.com/\">x</a>");
  TrackingPlan plan = Plan();
  plan.base_url = "http://t.example.com";
  plan.open_base_url = "https://t.example.com";
  std::string out = Track(msg, nullptr, plan);
  EXPECT_NE(out.find("href=\"http://t.example.com/t/c/"), std::string::npos) << out;
  EXPECT_NE(out.find("src=\"https://t.example.com/t/o/"), std::string::npos) << out;
  plan.open_base_url = "https://t.example.com/";
  EXPECT_FALSE(AddTracking(msg, plan).ok());
}

TEST(AddTrackingTest, UnsubscribePlaceholdersInTextAndHtml) {
  SimpleMessage m = Newsletter();
  const std::string ph(kUnsubscribePlaceholder);
  m.text = "Leave: " + ph + "\nAgain: " + ph + "\n";
  m.html = "<html><body><a href=\"" + ph + "\">unsubscribe</a> " +
           "<a href=\"https://example.com/\">shop</a> " + ph + "</body></html>";
  auto built = BuildMime(m);
  ASSERT_TRUE(built.ok());
  TrackingPlan plan = Plan();
  plan.unsubscribe_url = "https://t.example.com/u/TOKEN";
  TrackingStats stats;
  std::string out = Track(*built, &stats, plan);
  // Two per message, in message order: both in the text part, none left for the HTML.
  EXPECT_EQ(stats.placeholders_filled, kMaxUnsubscribePlaceholders);
  auto parts = RawParts(out);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(Decoded(parts[0]),
            "Leave: https://t.example.com/u/TOKEN\r\nAgain: "
            "https://t.example.com/u/TOKEN\r\n");
  std::string html = Decoded(parts[1]);
  EXPECT_NE(html.find("href=\"" + ph + "\""), std::string::npos) << html;
  EXPECT_EQ(ClickedLinks(html), (std::vector<std::string>{"https://example.com/"}));

  // Only the HTML has them: it gets them, and the unsubscribe link is not click-tracked.
  m.text = "plain\n";
  built = BuildMime(m);
  ASSERT_TRUE(built.ok());
  out = Track(*built, &stats, plan);
  EXPECT_EQ(stats.placeholders_filled, 2);
  html = Decoded(RawParts(out)[1]);
  EXPECT_NE(html.find("<a href=\"https://t.example.com/u/TOKEN\">unsubscribe</a>"),
            std::string::npos)
      << html;
  EXPECT_EQ(ClickedLinks(html), (std::vector<std::string>{"https://example.com/"}));

  // Without tracking, only the placeholders change, even in a quoted-printable part whose
  // soft line break falls inside one.
  plan.open = false;
  plan.clicks = false;
  plan.base_url.clear();
  plan.key.clear();
  std::string qp = SinglePart("text/plain; charset=utf-8", "quoted-printable",
                              "Bye: {{amazonSES=\r\nUnsubscribeUrl}} caf=C3=A9\r\n");
  out = Track(qp, &stats, plan);
  EXPECT_EQ(stats.placeholders_filled, 1);
  EXPECT_EQ(stats.open_pixels, 0);
  EXPECT_EQ(Decoded(out), "Bye: https://t.example.com/u/TOKEN caf\xC3\xA9\r\n");
  // A text part is left alone without an unsubscribe URL.
  plan.unsubscribe_url.clear();
  EXPECT_EQ(Track(qp, &stats, plan), qp);
  plan.unsubscribe_url = "https://t.example.com/u/\"x";
  EXPECT_FALSE(AddTracking(qp, plan).ok());
}

}  // namespace
}  // namespace herald::mail
