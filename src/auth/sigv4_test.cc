#include "auth/sigv4.h"

#include <gtest/gtest.h>

#include <map>

#include "base/clock.h"
#include "base/crypto.h"

namespace herald::auth {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

SysTime At(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return SysTime(std::chrono::sys_days(std::chrono::year(y) / mo / d)) + std::chrono::hours(h) +
         std::chrono::minutes(mi) + std::chrono::seconds(s);
}

// Owns the strings a HttpRequestView points into.
struct Req {
  std::string method;
  std::string target;
  Headers headers;
  std::string body;
  HttpRequestView View() const { return HttpRequestView{method, target, headers, body}; }
};

constexpr char kSuiteKey[] = "AKIDEXAMPLE";
constexpr char kSuiteSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kKey[] = "AKIAHERALDTEST000001";
constexpr char kSecret[] = "herald/secret+key/EXAMPLE0123456789abcdef";
constexpr char kHost[] = "email.us-east-1.amazonaws.com";

KeyLookup Keys() {
  return [](const std::string& id) -> std::optional<KeyInfo> {
    static const std::map<std::string, KeyInfo> keys = {
        {kSuiteKey, {kSuiteSecret, true}},
        {kKey, {kSecret, true}},
        {"AKIADISABLED", {kSecret, false}},
    };
    auto it = keys.find(id);
    if (it == keys.end()) return std::nullopt;
    return it->second;
  };
}

SigV4Expectation Ses() { return SigV4Expectation{"us-east-1", "ses"}; }

// ---------------------------------------------------------------------------------------
// The public AWS SigV4 test suite (aws-sig-v4-test-suite, service "service", us-east-1,
// 20150830T123600Z). Signatures are the published ones; botocore reproduces them too.

struct SuiteCase {
  const char* name;
  const char* method;
  const char* target;
  const char* content_type;  // nullptr = no content-type header
  const char* body;
  const char* signature;
};

const SuiteCase kSuite[] = {
    {"get-vanilla", "GET", "/", nullptr, "",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", nullptr, "",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"get-vanilla-empty-query-key", "GET", "/?Param1=value1", nullptr, "",
     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
    {"get-vanilla-query-order-value", "GET", "/?Param1=value2&Param1=Value1", nullptr, "",
     "eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
    {"get-vanilla-query-order-key", "GET", "/?Param1=Value2&Param1=value1", nullptr, "",
     "163b3c2eeab87ec3436960fdead97ff392ced788406d38d4b9054b7c81371c77"},
    {"get-utf8", "GET", "/\xE1\x88\xB4", nullptr, "",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
    {"get-space", "GET", "/example space/", nullptr, "",
     "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
    {"normalize-path/get-slash", "GET", "//", nullptr, "",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"normalize-path/get-slashes", "GET", "//example//", nullptr, "",
     "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
    {"normalize-path/get-relative", "GET", "/example/..", nullptr, "",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"normalize-path/get-relative-relative", "GET", "/example1/example2/../..", nullptr, "",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"normalize-path/get-slash-dot-slash", "GET", "/./", nullptr, "",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"normalize-path/get-slash-pointless-dot", "GET", "/./example", nullptr, "",
     "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"},
    {"post-x-www-form-urlencoded", "POST", "/", "application/x-www-form-urlencoded",
     "Param1=value1", "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
};

Req SuiteRequest(const SuiteCase& c) {
  Req r{c.method, c.target, {}, c.body};
  std::string signed_headers = "host;x-amz-date";
  if (c.content_type != nullptr) {
    r.headers.emplace_back("Content-Type", c.content_type);
    signed_headers = "content-type;host;x-amz-date";
  }
  r.headers.emplace_back("Host", "example.amazonaws.com");
  r.headers.emplace_back("X-Amz-Date", "20150830T123600Z");
  r.headers.emplace_back("Authorization",
                         std::string("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
                                     "service/aws4_request, SignedHeaders=") +
                             signed_headers + ", Signature=" + c.signature);
  return r;
}

const SigV4Expectation kSuiteExpect{"us-east-1", "service"};
const SysTime kSuiteNow = At(2015, 8, 30, 12, 36, 0);

TEST(SigV4SuiteTest, PublishedVectorsVerify) {
  for (const SuiteCase& c : kSuite) {
    SCOPED_TRACE(c.name);
    Req r = SuiteRequest(c);
    SigV4Result res = VerifySigV4(r.View(), kSuiteExpect, kSuiteNow, Keys());
    ASSERT_TRUE(res.ok.has_value()) << res.failure.code << ": " << res.failure.message;
    EXPECT_EQ(res.ok->access_key_id, kSuiteKey);
  }
}

TEST(SigV4SuiteTest, OneFlippedSignatureDigitFails) {
  for (const SuiteCase& c : kSuite) {
    SCOPED_TRACE(c.name);
    Req r = SuiteRequest(c);
    std::string& auth = r.headers.back().second;
    auth.back() = auth.back() == '0' ? '1' : '0';
    SigV4Result res = VerifySigV4(r.View(), kSuiteExpect, kSuiteNow, Keys());
    ASSERT_FALSE(res.ok.has_value());
    EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  }
}

TEST(SigV4SuiteTest, CanonicalRequestOfGetVanilla) {
  Req r{"GET", "/", {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}}, ""};
  EXPECT_EQ(CanonicalRequest(r.View(), {"host", "x-amz-date"}, Sha256Hex("")),
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SigV4SuiteTest, SigningKeyMatchesAwsDocumentationExample) {
  // The derived key from AWS's "examples of how to derive a signing key" page.
  EXPECT_EQ(HexEncode(SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                 "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

// ---------------------------------------------------------------------------------------
// Requests captured from /usr/bin/python3 + botocore 1.29.27 (the sesv2 client's
// before-send hook): the exact target, headers and body boto3 put on the wire. Note the
// amz-sdk-* headers botocore adds after signing, and the unsigned User-Agent.

const SysTime kBotoNow = At(2026, 11, 22, 23, 17, 42);
constexpr char kBotoUserAgent[] =
    "Botocore/1.29.27 Python/3.11.2 Linux/6.18.44-fc-v769 awscrt/1.0.0.dev0";

TEST(SigV4BotocoreTest, SendEmailVerifies) {
  Req r{"POST",
        "/v2/email/outbound-emails",
        {{"Content-Type", "application/json"},
         {"User-Agent", kBotoUserAgent},
         {"host", kHost},
         {"X-Amz-Date", "20261122T231742Z"},
         {"Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAHERALDTEST000001/20261122/us-east-1/ses/aws4_request, "
          "SignedHeaders=content-type;host;x-amz-date, "
          "Signature=245377fc6542252936d7f952e7a46a62aef1c2447951c0d6b09b25940a4fed57"},
         {"amz-sdk-invocation-id", "239f0570-fd8a-410b-a10a-c08cf1e71a64"},
         {"amz-sdk-request", "attempt=1"},
         {"Content-Length", "182"}},
        R"({"FromEmailAddress": "sender@example.com", "Destination": {"ToAddresses": )"
        R"(["r@example.com"]}, "Content": {"Simple": {"Subject": {"Data": "Hi"}, "Body": )"
        R"({"Text": {"Data": "Hello"}}}}})"};
  ASSERT_EQ(r.body.size(), 182u);
  SigV4Result res = VerifySigV4(r.View(), Ses(), kBotoNow, Keys());
  ASSERT_TRUE(res.ok.has_value()) << res.failure.code << ": " << res.failure.message;
  EXPECT_EQ(res.ok->access_key_id, kKey);

  // The body is covered by the signature even without x-amz-content-sha256.
  r.body[r.body.size() - 10] = 'X';
  res = VerifySigV4(r.View(), Ses(), kBotoNow, Keys());
  ASSERT_FALSE(res.ok.has_value());
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
}

Req BotoGet(std::string target, std::string signature) {
  return Req{"GET",
             std::move(target),
             {{"User-Agent", kBotoUserAgent},
              {"host", kHost},
              {"X-Amz-Date", "20261122T231742Z"},
              {"Authorization",
               "AWS4-HMAC-SHA256 Credential=AKIAHERALDTEST000001/20261122/us-east-1/ses/"
               "aws4_request, SignedHeaders=host;x-amz-date, Signature=" +
                   signature},
              {"amz-sdk-invocation-id", "7e761013-81dc-4f32-90b3-bea2098430fe"},
              {"amz-sdk-request", "attempt=1"}},
             ""};
}

TEST(SigV4BotocoreTest, GetEmailIdentityWithPlusAndAtVerifies) {
  // boto3 get_email_identity(EmailIdentity="a+b@x.com"): the path is encoded once by the
  // serializer and once more by the signer.
  Req r = BotoGet("/v2/email/identities/a%2Bb%40x.com",
                  "1dbd13fb080db5cdef31e8822d9c3a1105e78a751f6f4c7614baf5c9eafbf50f");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kBotoNow, Keys());
  ASSERT_TRUE(res.ok.has_value()) << res.failure.code << ": " << res.failure.message;
  EXPECT_EQ(
      CanonicalRequest(r.View(), {"host"}, "h"),
      "GET\n/v2/email/identities/a%252Bb%2540x.com\n\nhost:" + std::string(kHost) + "\n\nhost\nh");

  // The same identity with a raw '@' is a different canonical path, so it fails.
  r.target = "/v2/email/identities/a%2Bb@x.com";
  EXPECT_FALSE(VerifySigV4(r.View(), Ses(), kBotoNow, Keys()).ok.has_value());
}

TEST(SigV4BotocoreTest, ListEmailIdentitiesWithEncodedQueryVerifies) {
  // list_email_identities(PageSize=10, NextToken="a b+c/=~")
  Req r = BotoGet("/v2/email/identities?PageSize=10&NextToken=a%20b%2Bc%2F%3D~",
                  "636c81100e5174f8d82dd2430da399f1693268fbc209755e869aef9797df6704");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kBotoNow, Keys());
  ASSERT_TRUE(res.ok.has_value()) << res.failure.code << ": " << res.failure.message;

  // Decoding and re-encoding: the same values with needlessly encoded unreserved
  // characters and in another order canonicalise identically.
  r.target = "/v2/email/identities?NextToken=a%20b%2Bc%2f%3d%7E&Page%53ize=10";
  res = VerifySigV4(r.View(), Ses(), kBotoNow, Keys());
  EXPECT_TRUE(res.ok.has_value()) << res.failure.message;

  r.target = "/v2/email/identities?PageSize=11&NextToken=a%20b%2Bc%2F%3D~";
  EXPECT_FALSE(VerifySigV4(r.View(), Ses(), kBotoNow, Keys()).ok.has_value());
}

// Signed with botocore.auth.SigV4Auth (service ses, 20261122T100000Z) from raw URLs.
TEST(SigV4BotocoreTest, PathAndQueryEdgeCasesVerify) {
  struct Case {
    const char* target;
    const char* signature;
  } cases[] = {
      {"/v2/email/identities/a%20b%40x.com",
       "046dc40307a49b8eac6388903844f9a41b465cc15122df9a1594ab199c2dcbe9"},
      {"/v2/email/identities/%C3%BCber%40b%C3%BCcher.de",
       "3e024cdf252f643dadd72be0c22a9e61e831bd7688f9d59499f693fe38461266"},
      {"/v2/email/suppression/addresses?Reason=COMPLAINT&Reason=BOUNCE&Empty=&Flag&NextToken="
       "x%2By%20z",
       "e7df0f21235b5148ed08960aa9f9470947302efdb1880450f703be7ba1963f74"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.target);
    Req r{"GET",
          c.target,
          {{"Host", kHost},
           {"X-Amz-Date", "20261122T100000Z"},
           {"Authorization",
            std::string("AWS4-HMAC-SHA256 Credential=AKIAHERALDTEST000001/20261122/us-east-1/ses/"
                        "aws4_request, SignedHeaders=host;x-amz-date, Signature=") +
                c.signature}},
          ""};
    SigV4Result res = VerifySigV4(r.View(), Ses(), At(2026, 11, 22, 10, 2, 0), Keys());
    EXPECT_TRUE(res.ok.has_value()) << res.failure.code << ": " << res.failure.message;
  }
}

// ---------------------------------------------------------------------------------------
// The header set @aws-sdk/client-sesv2 (JS v3) signs, including x-amz-content-sha256.
// Signed with botocore.auth.SigV4Auth (an independent implementation) over exactly
// these headers; the unsigned user-agent is as the JS SDK sends it.

Req JsRequest() {
  std::string body = R"({"FromEmailAddress":"sender@example.com","Destination":{"ToAddresses":)"
                     R"(["r@example.com"]},"Content":{"Simple":{"Subject":{"Data":"Hi"},"Body":)"
                     R"({"Text":{"Data":"Hello"}}}}})";
  return Req{
      "POST",
      "/v2/email/outbound-emails",
      {{"content-type", "application/json"},
       {"content-length", "169"},
       {"amz-sdk-invocation-id", "3f1c9a0e-7c2b-4a55-9a8e-2b6f0d1e4c77"},
       {"amz-sdk-request", "attempt=1; max=3"},
       {"x-amz-user-agent", "aws-sdk-js/3.700.0"},
       {"host", kHost},
       {"x-amz-content-sha256", "84762f3115887ae7e47dcb80f0b2cfe1803fc53c8d0457577a6b6e5219bded31"},
       {"user-agent",
        "aws-sdk-js/3.700.0 ua/2.1 os/linux lang/js md/nodejs#20.0.0 api/sesv2#3.700.0"},
       {"x-amz-date", "20261122T100000Z"},
       {"authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAHERALDTEST000001/20261122/us-east-1/ses/aws4_request, "
        "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;"
        "x-amz-content-sha256;x-amz-date;x-amz-user-agent, "
        "Signature=50a0971a0cfb401de4804a995e9650af13c0def49705717b3559e0052f72ddc7"}},
      body};
}

const SysTime kJsNow = At(2026, 11, 22, 10, 0, 30);

TEST(SigV4JsTest, JsV3RequestVerifies) {
  Req r = JsRequest();
  ASSERT_EQ(r.body.size(), 169u);
  SigV4Result res = VerifySigV4(r.View(), Ses(), kJsNow, Keys());
  ASSERT_TRUE(res.ok.has_value()) << res.failure.code << ": " << res.failure.message;
  EXPECT_EQ(res.ok->access_key_id, kKey);
}

TEST(SigV4JsTest, SignedHeaderValueChangeFails) {
  Req r = JsRequest();
  r.headers[3].second = "attempt=2; max=3";
  EXPECT_EQ(VerifySigV4(r.View(), Ses(), kJsNow, Keys()).failure.code, "InvalidSignatureException");
}

TEST(SigV4JsTest, UnsignedHeaderChangeIsIgnored) {
  Req r = JsRequest();
  r.headers[7].second = "something else";
  EXPECT_TRUE(VerifySigV4(r.View(), Ses(), kJsNow, Keys()).ok.has_value());
}

TEST(SigV4JsTest, BodyNotMatchingContentSha256IsRejected) {
  Req r = JsRequest();
  r.body[20] = 'X';  // the signature still covers the declared hash; the body differs
  SigV4Result res = VerifySigV4(r.View(), Ses(), kJsNow, Keys());
  ASSERT_FALSE(res.ok.has_value());
  EXPECT_EQ(res.failure.http_status, 403);
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message,
            "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

TEST(SigV4JsTest, UnsignedPayloadIsRefused) {
  Req r = JsRequest();
  r.headers[6].second = "UNSIGNED-PAYLOAD";
  SigV4Result res = VerifySigV4(r.View(), Ses(), kJsNow, Keys());
  ASSERT_FALSE(res.ok.has_value());
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_NE(res.failure.message.find("UNSIGNED-PAYLOAD"), std::string::npos);

  r.headers[6].second = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
  EXPECT_FALSE(VerifySigV4(r.View(), Ses(), kJsNow, Keys()).ok.has_value());
}

TEST(SigV4JsTest, HeaderNamesAreCaseInsensitive) {
  Req r = JsRequest();
  for (auto& [name, value] : r.headers) {
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  EXPECT_TRUE(VerifySigV4(r.View(), Ses(), kJsNow, Keys()).ok.has_value());
}

// ---------------------------------------------------------------------------------------
// SignRequestForTest round trips, and the canonicalisation details.

Req Unsigned(std::string method, std::string target, std::string body = "") {
  return Req{std::move(method),
             std::move(target),
             {{"Host", kHost}, {"Content-Type", "application/json"}, {"User-Agent", "test/1.0"}},
             std::move(body)};
}

void AddSignature(Req* r, SysTime now, bool sha256_header) {
  for (auto& h :
       SignRequestForTest(r->View(), kKey, kSecret, "us-east-1", "ses", now, sha256_header)) {
    r->headers.push_back(std::move(h));
  }
}

TEST(SigV4SignTest, BotoStyleRoundTrip) {
  const SysTime now = At(2026, 11, 22, 10, 0, 0);
  Req r = Unsigned("POST", "/v2/email/outbound-emails", "{}");
  AddSignature(&r, now, false);
  ASSERT_EQ(r.headers.size(), 5u);
  EXPECT_EQ(r.headers[4].first, "x-amz-date");
  EXPECT_EQ(r.headers[4].second, "20261122T100000Z");
  EXPECT_NE(r.headers[3].second.find("SignedHeaders=content-type;host;x-amz-date, Signature="),
            std::string::npos);
  EXPECT_TRUE(VerifySigV4(r.View(), Ses(), now, Keys()).ok.has_value());
}

TEST(SigV4SignTest, JsStyleRoundTrip) {
  const SysTime now = At(2026, 11, 22, 10, 0, 0);
  Req r = Unsigned("PUT", "/v2/email/identities/a%2Bb%40x.com/dkim", R"({"SigningEnabled":true})");
  AddSignature(&r, now, true);
  ASSERT_EQ(r.headers.size(), 6u);
  EXPECT_EQ(r.headers[5].first, "x-amz-content-sha256");
  EXPECT_EQ(r.headers[5].second, Sha256Hex(r.body));
  EXPECT_NE(r.headers[3].second.find("SignedHeaders=content-type;host;x-amz-content-sha256;"
                                     "x-amz-date, Signature="),
            std::string::npos);
  EXPECT_TRUE(VerifySigV4(r.View(), Ses(), now, Keys()).ok.has_value());
}

TEST(SigV4SignTest, MatchesTheSuiteVector) {
  Req r{"GET", "/", {{"Host", "example.amazonaws.com"}}, ""};
  auto added = SignRequestForTest(r.View(), kSuiteKey, kSuiteSecret, "us-east-1", "service",
                                  kSuiteNow, false);
  ASSERT_FALSE(added.empty());
  EXPECT_EQ(added[0].second,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            "SignedHeaders=host;x-amz-date, "
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

std::string CanonicalPathAndQuery(const std::string& target) {
  Req r{"GET", target, {}, ""};
  std::string cr = CanonicalRequest(r.View(), {}, "");
  // "GET\n<path>\n<query>\n\n\n"
  size_t a = cr.find('\n') + 1;
  size_t b = cr.find('\n', a);
  size_t c = cr.find('\n', b + 1);
  return cr.substr(a, b - a) + " " + cr.substr(b + 1, c - b - 1);
}

TEST(SigV4CanonicalTest, PathEncoding) {
  EXPECT_EQ(CanonicalPathAndQuery("/v2/email/identities/a%2Bb%40x.com"),
            "/v2/email/identities/a%252Bb%2540x.com ");
  EXPECT_EQ(CanonicalPathAndQuery("/v2/email/identities/a%20b"), "/v2/email/identities/a%2520b ");
  EXPECT_EQ(CanonicalPathAndQuery("/a b"), "/a%20b ");
  EXPECT_EQ(CanonicalPathAndQuery("/\xC3\xBC"), "/%C3%BC ");
  EXPECT_EQ(CanonicalPathAndQuery("/a+b"), "/a%2Bb ");
  EXPECT_EQ(CanonicalPathAndQuery("/~a-b_c.d"), "/~a-b_c.d ");
  EXPECT_EQ(CanonicalPathAndQuery("/a/b/"), "/a/b/ ");
  EXPECT_EQ(CanonicalPathAndQuery("/a/./b/../c"), "/a/c ");
  EXPECT_EQ(CanonicalPathAndQuery("/../.."), "/ ");
  EXPECT_EQ(CanonicalPathAndQuery("/%2E%2E/x"), "/%252E%252E/x ");
}

TEST(SigV4CanonicalTest, QueryEncoding) {
  EXPECT_EQ(CanonicalPathAndQuery("/?b=2&a=1&a=0"), "/ a=0&a=1&b=2");
  EXPECT_EQ(CanonicalPathAndQuery("/?a=&b"), "/ a=&b=");
  EXPECT_EQ(CanonicalPathAndQuery("/?&&a=1&"), "/ a=1");
  // A literal '+' is a plus sign (RFC 3986), not a form-encoded space.
  EXPECT_EQ(CanonicalPathAndQuery("/?q=a+b"), "/ q=a%2Bb");
  EXPECT_EQ(CanonicalPathAndQuery("/?q=a%2Bb"), "/ q=a%2Bb");
  EXPECT_EQ(CanonicalPathAndQuery("/?q=a%20b"), "/ q=a%20b");
  EXPECT_EQ(CanonicalPathAndQuery("/?q=a=b"), "/ q=a%3Db");
  EXPECT_EQ(CanonicalPathAndQuery("/?%7e=%41"), "/ ~=A");
  EXPECT_EQ(CanonicalPathAndQuery("/?q=%C3%BC"), "/ q=%C3%BC");
  // Sorted by encoded key, then value: "A" < "a" < "a%20" (byte order).
  EXPECT_EQ(CanonicalPathAndQuery("/?a%20=1&a=2&A=3"), "/ A=3&a=2&a%20=1");
}

TEST(SigV4CanonicalTest, MalformedTargetsGiveEmptyCanonicalRequest) {
  Req r{"GET", "/?q=%zz", {}, ""};
  EXPECT_EQ(CanonicalRequest(r.View(), {}, ""), "");
  r.target = "http://example.com/";
  EXPECT_EQ(CanonicalRequest(r.View(), {}, ""), "");
}

TEST(SigV4CanonicalTest, HeaderValuesTrimmedCollapsedAndJoined) {
  Req r{"GET",
        "/",
        {{"X-Multi", "  a   b  "}, {"x-multi", "\tc\t\td "}, {"Host", "h"}, {"X-Empty", ""}},
        ""};
  EXPECT_EQ(CanonicalRequest(r.View(), {"host", "x-empty", "x-multi"}, "p"),
            "GET\n/\n\nhost:h\nx-empty:\nx-multi:a b,c d\n\nhost;x-empty;x-multi\np");
}

// ---------------------------------------------------------------------------------------
// Failures, with AWS's status, code and message.

Req Signed(SysTime now) {
  Req r = Unsigned("POST", "/v2/email/outbound-emails", "{}");
  AddSignature(&r, now, false);
  return r;
}

std::string& AuthOf(Req& r) {
  for (auto& [name, value] : r.headers) {
    if (name == "authorization") return value;
  }
  static std::string none;
  return none;
}

void RemoveHeader(Req* r, const std::string& name) {
  std::erase_if(r->headers, [&](const auto& h) { return h.first == name; });
}

const SysTime kNow = At(2026, 11, 22, 10, 0, 0);

TEST(SigV4FailureTest, MissingAuthorization) {
  Req r = Unsigned("GET", "/v2/email/account");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  ASSERT_FALSE(res.ok.has_value());
  EXPECT_EQ(res.failure.http_status, 403);
  EXPECT_EQ(res.failure.code, "MissingAuthenticationTokenException");
  EXPECT_EQ(res.failure.message, "Missing Authentication Token");
}

TEST(SigV4FailureTest, MissingParametersAreListedInAwsOrder) {
  Req r = Signed(kNow);
  AuthOf(r) =
      "AWS4-HMAC-SHA256 Credential=AKIAHERALDTEST000001/20261122/us-east-1/ses/"
      "aws4_request, SignedHeaders=host;x-amz-date";
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.http_status, 403);
  EXPECT_EQ(res.failure.code, "IncompleteSignatureException");
  EXPECT_EQ(res.failure.message,
            "Authorization header requires 'Signature' parameter. Authorization=" + AuthOf(r));

  AuthOf(r) = "Bearer abc.def";
  RemoveHeader(&r, "x-amz-date");
  res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "IncompleteSignatureException");
  EXPECT_EQ(res.failure.message,
            "Authorization header requires 'Credential' parameter. Authorization header requires "
            "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header. Authorization=Bearer abc.def");
}

TEST(SigV4FailureTest, MissingDateHeader) {
  Req r = Signed(kNow);
  RemoveHeader(&r, "x-amz-date");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "IncompleteSignatureException");
  EXPECT_EQ(res.failure.message.rfind("Authorization header requires existence of either a "
                                      "'X-Amz-Date' or a 'Date' header. Authorization=AWS4-",
                                      0),
            0u)
      << res.failure.message;
}

TEST(SigV4FailureTest, MalformedHeaderPair) {
  Req r = Signed(kNow);
  AuthOf(r) = "AWS4-HMAC-SHA256 Credential AKIA/x, SignedHeaders=host, Signature=00";
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "IncompleteSignatureException");
  EXPECT_EQ(res.failure.message,
            "'Credential AKIA/x' not a valid key=value pair (missing equal-sign) in "
            "Authorization header: '" +
                AuthOf(r) + "'.");
}

TEST(SigV4FailureTest, UnsupportedAlgorithm) {
  Req r = Signed(kNow);
  AuthOf(r).replace(0, 16, "AWS4-HMAC-SHA512");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "IncompleteSignatureException");
  EXPECT_EQ(res.failure.message, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'");
}

TEST(SigV4FailureTest, DuplicateParameter) {
  Req r = Signed(kNow);
  AuthOf(r) += ", Signature=00";
  EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code,
            "IncompleteSignatureException");
}

TEST(SigV4FailureTest, CredentialWithoutFiveParts) {
  Req r = Signed(kNow);
  std::string& auth = AuthOf(r);
  auth.replace(auth.find("/ses/aws4_request"), 17, "/ses");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "IncompleteSignatureException");
  EXPECT_EQ(res.failure.message,
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'AKIAHERALDTEST000001/20261122/us-east-1/ses'");
}

TEST(SigV4FailureTest, UnknownKey) {
  Req r = Unsigned("GET", "/v2/email/account");
  for (auto& h :
       SignRequestForTest(r.View(), "AKIANOSUCHKEY", kSecret, "us-east-1", "ses", kNow, false)) {
    r.headers.push_back(h);
  }
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.http_status, 403);
  EXPECT_EQ(res.failure.code, "UnrecognizedClientException");
  EXPECT_EQ(res.failure.message, "The security token included in the request is invalid.");
}

TEST(SigV4FailureTest, InactiveKeyAnswersAsUnknown) {
  Req r = Unsigned("GET", "/v2/email/account");
  for (auto& h :
       SignRequestForTest(r.View(), "AKIADISABLED", kSecret, "us-east-1", "ses", kNow, false)) {
    r.headers.push_back(h);
  }
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "UnrecognizedClientException");
  EXPECT_EQ(res.failure.message, "The security token included in the request is invalid.");
}

TEST(SigV4FailureTest, SecurityTokenIsRejectedEvenWhenSigned) {
  Req r = Unsigned("GET", "/v2/email/account");
  r.headers.emplace_back("X-Amz-Security-Token", "FwoGZXIvYXdzEBYaDEXAMPLE");
  AddSignature(&r, kNow, false);
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "UnrecognizedClientException");
  EXPECT_EQ(res.failure.message, "The security token included in the request is invalid.");
}

TEST(SigV4FailureTest, WrongSecret) {
  Req r = Unsigned("GET", "/v2/email/account");
  for (auto& h :
       SignRequestForTest(r.View(), kKey, "not-the-secret", "us-east-1", "ses", kNow, false)) {
    r.headers.push_back(h);
  }
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.http_status, 403);
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message,
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.");
}

TEST(SigV4FailureTest, TamperedRequestsFail) {
  {
    Req r = Signed(kNow);
    r.method = "PUT";
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code, "InvalidSignatureException");
  }
  {
    Req r = Signed(kNow);
    r.target = "/v2/email/outbound-emails?x=1";
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code, "InvalidSignatureException");
  }
  {
    Req r = Signed(kNow);
    r.headers[0].second = "evil.example.com";  // host
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code, "InvalidSignatureException");
  }
  {
    Req r = Signed(kNow);
    r.headers.emplace_back("content-type", "text/plain");  // a second value of a signed header
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code, "InvalidSignatureException");
  }
  {
    Req r = Signed(kNow);
    RemoveHeader(&r, "Content-Type");  // a signed header that is gone
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code, "InvalidSignatureException");
  }
  {
    Req r = Signed(kNow);
    std::string& auth = AuthOf(r);
    auth.resize(auth.size() - 2);  // short signature
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code, "InvalidSignatureException");
  }
}

TEST(SigV4FailureTest, WrongRegion) {
  Req r = Unsigned("GET", "/v2/email/account");
  for (auto& h : SignRequestForTest(r.View(), kKey, kSecret, "eu-west-1", "ses", kNow, false)) {
    r.headers.push_back(h);
  }
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.http_status, 403);
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message, "Credential should be scoped to a valid region. ");
}

TEST(SigV4FailureTest, WrongService) {
  Req r = Unsigned("GET", "/v2/email/account");
  for (auto& h : SignRequestForTest(r.View(), kKey, kSecret, "us-east-1", "email", kNow, false)) {
    r.headers.push_back(h);
  }
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message, "Credential should be scoped to correct service: 'ses'. ");
}

TEST(SigV4FailureTest, WrongTerminator) {
  Req r = Signed(kNow);
  std::string& auth = AuthOf(r);
  auth.replace(auth.find("aws4_request"), 12, "aws5_request");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message,
            "Credential should be scoped with a valid terminator: 'aws4_request', not "
            "'aws5_request'. ");
}

TEST(SigV4FailureTest, ScopeDateDiffersFromRequestDate) {
  Req r = Signed(kNow);
  std::string& auth = AuthOf(r);
  auth.replace(auth.find("/20261122/"), 10, "/20261121/");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.http_status, 403);
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '20261121' != '20261122', from '20261122T100000Z'.");
}

TEST(SigV4FailureTest, SeveralScopeErrorsAreReportedTogether) {
  Req r = Unsigned("GET", "/v2/email/account");
  for (auto& h : SignRequestForTest(r.View(), kKey, kSecret, "eu-west-1", "email", kNow, false)) {
    r.headers.push_back(h);
  }
  EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.message,
            "Credential should be scoped to a valid region. Credential should be scoped to "
            "correct service: 'ses'. ");
}

TEST(SigV4FailureTest, ExpiredSignature) {
  Req r = Signed(At(2026, 1, 1, 0, 0, 0));
  SigV4Result res = VerifySigV4(r.View(), Ses(), At(2026, 11, 22, 10, 5, 0), Keys());
  EXPECT_EQ(res.failure.http_status, 403);
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message,
            "Signature expired: 20260101T000000Z is now earlier than 20261122T100000Z "
            "(20261122T100500Z - 5 min.)");
}

TEST(SigV4FailureTest, FutureSignature) {
  Req r = Signed(At(2026, 11, 22, 10, 30, 0));
  SigV4Result res = VerifySigV4(r.View(), Ses(), At(2026, 11, 22, 10, 0, 0), Keys());
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message,
            "Signature not yet current: 20261122T103000Z is still later than 20261122T100500Z "
            "(20261122T100000Z + 5 min.)");
}

TEST(SigV4FailureTest, SkewWindowEdgesAreInclusive) {
  Req r = Signed(kNow);
  EXPECT_TRUE(VerifySigV4(r.View(), Ses(), kNow + std::chrono::minutes(5), Keys()).ok);
  EXPECT_TRUE(VerifySigV4(r.View(), Ses(), kNow - std::chrono::minutes(5), Keys()).ok);
  EXPECT_FALSE(VerifySigV4(r.View(), Ses(), kNow + std::chrono::seconds(301), Keys()).ok);
  EXPECT_FALSE(VerifySigV4(r.View(), Ses(), kNow - std::chrono::seconds(301), Keys()).ok);
}

TEST(SigV4FailureTest, MalformedAmzDate) {
  for (const char* bad : {"2026-11-22T10:00:00Z", "20261122T100000", "20261322T100000Z",
                          "20261122T250000Z", "20260230T100000Z", "2026112XT100000Z", ""}) {
    SCOPED_TRACE(bad);
    Req r = Signed(kNow);
    for (auto& [name, value] : r.headers) {
      if (name == "x-amz-date") value = bad;
    }
    SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
    EXPECT_EQ(res.failure.code, "IncompleteSignatureException");
    EXPECT_EQ(res.failure.message, std::string("Date must be in ISO-8601 'basic format'. Got '") +
                                       bad + "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
}

TEST(SigV4BotocoreTest, DateHeaderInsteadOfAmzDate) {
  // botocore keeps a caller's Date header (rewritten in RFC 2822 form with "-0000") and
  // then sends no X-Amz-Date; the string to sign still carries 20261122T100000Z.
  // Signed with botocore.auth.SigV4Auth.
  Req r{"GET",
        "/v2/email/account",
        {{"Host", kHost},
         {"Date", "Sun, 22 Nov 2026 10:00:00 -0000"},
         {"Authorization",
          "AWS4-HMAC-SHA256 Credential=AKIAHERALDTEST000001/20261122/us-east-1/ses/aws4_request, "
          "SignedHeaders=date;host, "
          "Signature=8d3e53f4bc1be7697e0679ba61dad2243fbe93e945bd477bfc75cec6eedfaba8"}},
        ""};
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  ASSERT_TRUE(res.ok.has_value()) << res.failure.code << ": " << res.failure.message;

  // The Date header is part of the time window like X-Amz-Date.
  res = VerifySigV4(r.View(), Ses(), kNow + std::chrono::hours(1), Keys());
  EXPECT_EQ(res.failure.message.rfind("Signature expired: 20261122T100000Z", 0), 0u);

  r.headers[1].second = "Sun, 22 Nov 2026 10:00:00 PST";
  res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "IncompleteSignatureException");
  EXPECT_EQ(res.failure.message,
            "Date must be in ISO-8601 'basic format'. Got 'Sun, 22 Nov 2026 10:00:00 PST'. See "
            "http://en.wikipedia.org/wiki/ISO_8601");
}

TEST(SigV4FailureTest, HostMustBeSigned) {
  Req r = Signed(kNow);
  std::string& auth = AuthOf(r);
  auth.replace(auth.find("content-type;host;"), 18, "content-type;");
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.code, "InvalidSignatureException");
  EXPECT_EQ(res.failure.message,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST(SigV4FailureTest, BadSignedHeaderNames) {
  for (const char* bad :
       {"Host;x-amz-date", "host;;x-amz-date", "host;host;x-amz-date", "host;x amz"}) {
    SCOPED_TRACE(bad);
    Req r = Signed(kNow);
    std::string& auth = AuthOf(r);
    size_t a = auth.find("SignedHeaders=") + 14;
    auth.replace(a, auth.find(',', a) - a, bad);
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code,
              "IncompleteSignatureException");
  }
}

TEST(SigV4FailureTest, MalformedQueryIsABadRequest) {
  Req r = Unsigned("GET", "/v2/email/identities?NextToken=%G0");
  AddSignature(&r, kNow, false);  // the signer could not canonicalise it either
  SigV4Result res = VerifySigV4(r.View(), Ses(), kNow, Keys());
  EXPECT_EQ(res.failure.http_status, 400);
  EXPECT_EQ(res.failure.code, "BadRequestException");
}

TEST(SigV4FailureTest, OversizedInputsAreRejected) {
  {
    Req r = Signed(kNow);
    AuthOf(r) += std::string(5000, ' ') + "x";
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code,
              "IncompleteSignatureException");
  }
  {
    Req r = Signed(kNow);
    r.target = "/" + std::string(20000, 'a');
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code, "BadRequestException");
  }
  {
    Req r = Signed(kNow);
    r.target = "/?";
    for (int i = 0; i < 300; ++i) r.target += "a=1&";
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code, "BadRequestException");
  }
  {
    Req r = Signed(kNow);
    std::string names = "host";
    for (int i = 0; i < 70; ++i) names += ";x" + std::to_string(i);
    std::string& auth = AuthOf(r);
    size_t a = auth.find("SignedHeaders=") + 14;
    auth.replace(a, auth.find(',', a) - a, names);
    EXPECT_EQ(VerifySigV4(r.View(), Ses(), kNow, Keys()).failure.code,
              "IncompleteSignatureException");
  }
}

TEST(SigV4FailureTest, LookupIsNotCalledBeforeTheHeaderChecksPass) {
  int calls = 0;
  KeyLookup counting = [&](const std::string&) -> std::optional<KeyInfo> {
    ++calls;
    return KeyInfo{kSecret, true};
  };
  Req r = Signed(At(2020, 1, 1, 0, 0, 0));
  EXPECT_FALSE(VerifySigV4(r.View(), Ses(), kNow, counting).ok);
  EXPECT_EQ(calls, 0);
  Req good = Signed(kNow);
  EXPECT_TRUE(VerifySigV4(good.View(), Ses(), kNow, counting).ok);
  EXPECT_EQ(calls, 1);
}

// ---------------------------------------------------------------------------------------

TEST(SmtpPasswordTest, Vectors) {
  EXPECT_EQ(DeriveSmtpPasswordV4("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1"),
            "BLBM/9hSUELfq8Gw+rU1YcBjkOxGbhT2XG763xVLGWL9");
  EXPECT_EQ(DeriveSmtpPasswordV4("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-west-2"),
            "BF2PynzbSCAjX08zhZZnP/kW+T9P5zs/1Er0pi5vTEmd");
}

}  // namespace
}  // namespace herald::auth
