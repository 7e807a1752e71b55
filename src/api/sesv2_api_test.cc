#include "api/sesv2_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "api/api_test_util.h"
#include "base/crypto.h"
#include "base/strings.h"
#include "mail/dkim.h"

namespace herald::api {
namespace {

using nlohmann::json;
using testing::ApiHarness;
using testing::Body;
using ::testing::HasSubstr;
using testing::Header;
using ::testing::Not;
using testing::Sdk;
using ::testing::StartsWith;

constexpr char kSendPath[] = "/v2/email/outbound-emails";

void ExpectError(const HttpResponse& r, int status, const std::string& code,
                 const std::string& message) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), code) << r.body;
  json body = Body(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  ASSERT_TRUE(body.contains("message")) << r.body;
  EXPECT_EQ(body["message"], message);
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(Header(r, "x-amzn-RequestId").empty());
}

std::string SimpleBody(const std::string& extra = "") {
  return R"({"FromEmailAddress":"Sender <sender@example.com>",)"
         R"("Destination":{"ToAddresses":["to@example.org"],"CcAddresses":["cc@example.org"],)"
         R"("BccAddresses":["hidden@example.net"]},)"
         R"("Content":{"Simple":{"Subject":{"Data":"Hello there"},)"
         R"("Body":{"Text":{"Data":"plain body"},"Html":{"Data":"<p>html body</p>"}}}})" +
         extra + "}";
}

// ---------------------------------------------------------------- request ids, health

bool IsUuidShaped(const std::string& id) {
  if (id.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

TEST(RequestIdTest, IsUuidShapedAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string id = NewRequestId();
    EXPECT_TRUE(IsUuidShaped(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_FALSE(IsUuidShaped("0123456-89ab-cdef-0123-456789abcdef0"));
}

TEST(SesV2ApiTest, HealthIsUnsigned) {
  ApiHarness h;
  HttpResponse r = h.api().Handle(h.Unsigned("GET", "/_herald/health"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r), json({{"status", "ok"}}));
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(Header(r, "x-amzn-RequestId").empty());
}

TEST(SesV2ApiTest, UnknownHeraldPathIsUnknownOperation) {
  ApiHarness h;
  ExpectError(h.api().Handle(h.Unsigned("POST", "/_herald/health")), 404,
              "UnknownOperationException", "Unknown operation: POST /_herald/health");
}

// ---------------------------------------------------------------- SigV4 end to end

TEST(SesV2ApiTest, SignedRequestsFromBothSdksAreAccepted) {
  for (Sdk sdk : {Sdk::kBoto3, Sdk::kJsV3}) {
    ApiHarness h;
    HttpResponse r = h.Call("POST", kSendPath, SimpleBody(), sdk);
    EXPECT_EQ(r.status, 200) << r.body;
    ASSERT_EQ(h.sending.submissions.size(), 1u);
    EXPECT_EQ(h.sending.submissions[0].principal.access_key_id, testing::kKeyId);
    EXPECT_EQ(h.sending.submissions[0].principal.account_id, h.account_id);
    EXPECT_EQ(h.sending.submissions[0].principal.account_name, "acme");
    EXPECT_EQ(h.sending.submissions[0].principal.source_ip, "192.0.2.7");
  }
}

TEST(SesV2ApiTest, MissingAuthorization) {
  ApiHarness h;
  ExpectError(h.api().Handle(h.Unsigned("GET", "/v2/email/account")), 403,
              "MissingAuthenticationTokenException", "Missing Authentication Token");
}

TEST(SesV2ApiTest, UnknownKey) {
  ApiHarness h;
  HttpRequest r = h.Unsigned("GET", "/v2/email/account");
  h.Sign(r, Sdk::kBoto3, "AKIAUNKNOWNKEY000000");
  ExpectError(h.api().Handle(r), 403, "UnrecognizedClientException",
              "The security token included in the request is invalid.");
}

TEST(SesV2ApiTest, InactiveKey) {
  ApiHarness h;
  h.credentials.keys[testing::kKeyId].active = false;
  ExpectError(h.Call("GET", "/v2/email/account"), 403, "UnrecognizedClientException",
              "The security token included in the request is invalid.");
}

TEST(SesV2ApiTest, SessionTokenIsRefused) {
  ApiHarness h;
  HttpRequest r = h.Unsigned("GET", "/v2/email/account");
  r.headers.emplace_back("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLE");
  h.Sign(r);
  ExpectError(h.api().Handle(r), 403, "UnrecognizedClientException",
              "The security token included in the request is invalid.");
}

const char kMismatch[] =
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details.";

TEST(SesV2ApiTest, WrongSecret) {
  ApiHarness h;
  HttpRequest r = h.Unsigned("GET", "/v2/email/account");
  h.Sign(r, Sdk::kBoto3, testing::kKeyId, "not-the-secret");
  ExpectError(h.api().Handle(r), 403, "InvalidSignatureException", kMismatch);
}

TEST(SesV2ApiTest, BodyChangedAfterSigning) {
  for (Sdk sdk : {Sdk::kBoto3, Sdk::kJsV3}) {
    ApiHarness h;
    HttpRequest r = h.Signed("POST", kSendPath, SimpleBody(), sdk);
    r.body[r.body.find("Hello")] = 'J';
    HttpResponse resp = h.api().Handle(r);
    EXPECT_EQ(resp.status, 403);
    EXPECT_EQ(Header(resp, "x-amzn-ErrorType"), "InvalidSignatureException");
    EXPECT_TRUE(h.sending.submissions.empty());
  }
}

TEST(SesV2ApiTest, ExpiredSignature) {
  ApiHarness h;
  HttpRequest r = h.Signed("GET", "/v2/email/account");
  h.clock.Advance(std::chrono::minutes(6));
  HttpResponse resp = h.api().Handle(r);
  EXPECT_EQ(resp.status, 403);
  EXPECT_EQ(Header(resp, "x-amzn-ErrorType"), "InvalidSignatureException");
  EXPECT_THAT(Body(resp)["message"].get<std::string>(), StartsWith("Signature expired: "));
}

TEST(SesV2ApiTest, WrongRegionAndService) {
  ApiHarness h;
  HttpRequest r = h.Unsigned("GET", "/v2/email/account");
  h.Sign(r, Sdk::kBoto3, testing::kKeyId, testing::kSecret, "eu-west-1");
  ExpectError(h.api().Handle(r), 403, "InvalidSignatureException",
              "Credential should be scoped to a valid region. ");
  HttpRequest s = h.Unsigned("GET", "/v2/email/account");
  h.Sign(s, Sdk::kBoto3, testing::kKeyId, testing::kSecret, testing::kRegion, "email");
  ExpectError(h.api().Handle(s), 403, "InvalidSignatureException",
              "Credential should be scoped to correct service: 'ses'. ");
}

TEST(SesV2ApiTest, MalformedAuthorization) {
  ApiHarness h;
  HttpRequest r = h.Unsigned("GET", "/v2/email/account");
  r.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/x");
  r.headers.emplace_back("X-Amz-Date", FormatAmzDate(h.clock.Now()));
  HttpResponse resp = h.api().Handle(r);
  EXPECT_EQ(resp.status, 403);
  EXPECT_EQ(Header(resp, "x-amzn-ErrorType"), "IncompleteSignatureException");
  EXPECT_FALSE(Header(resp, "x-amzn-RequestId").empty());
}

TEST(SesV2ApiTest, ContentSha256Mismatch) {
  ApiHarness h;
  HttpRequest r = h.Signed("POST", kSendPath, SimpleBody(), Sdk::kJsV3);
  for (auto& [k, v] : r.headers) {
    if (k == "x-amz-content-sha256") {
      v = Sha256Hex("other body");
    }
  }
  ExpectError(h.api().Handle(r), 403, "InvalidSignatureException",
              "The provided 'x-amz-content-sha256' header does not match what was computed.");
}

TEST(SesV2ApiTest, SignatureIsCheckedBeforeRouting) {
  ApiHarness h;
  ExpectError(h.api().Handle(h.Unsigned("GET", "/v2/email/nothing-here")), 403,
              "MissingAuthenticationTokenException", "Missing Authentication Token");
  ExpectError(h.Call("GET", "/v2/email/nothing-here"), 404, "UnknownOperationException",
              "Unknown operation: GET /v2/email/nothing-here");
  ExpectError(h.Call("PUT", kSendPath, "{}"), 404, "UnknownOperationException",
              "Unknown operation: PUT /v2/email/outbound-emails");
}

// ---------------------------------------------------------------- SendEmail

TEST(SendEmailTest, SimpleHappyPath) {
  ApiHarness h;
  HttpResponse r = h.Call("POST", kSendPath,
                          SimpleBody(R"(,"ConfigurationSetName":"marketing",)"
                                     R"("EmailTags":[{"Name":"campaign","Value":"spring-2026"}],)"
                                     R"("ReplyToAddresses":["replies@example.com"])"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json({{"MessageId", "0100018c-test-message-id-000000"}}));
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_FALSE(Header(r, "x-amzn-RequestId").empty());

  ASSERT_EQ(h.sending.submissions.size(), 1u);
  const sending::Submission& s = h.sending.submissions[0];
  EXPECT_EQ(s.channel, sending::Channel::kApiV2);
  EXPECT_EQ(s.operation, "SendEmail");
  EXPECT_EQ(s.source, "sender@example.com");
  EXPECT_EQ(s.recipients,
            (std::vector<std::string>{"to@example.org", "cc@example.org", "hidden@example.net"}));
  EXPECT_EQ(s.configuration_set, "marketing");
  EXPECT_EQ(s.tags,
            (std::vector<std::pair<std::string, std::string>>{{"campaign", "spring-2026"}}));
  EXPECT_TRUE(s.simple_content);
  EXPECT_THAT(s.message, HasSubstr("Subject: Hello there\r\n"));
  EXPECT_THAT(s.message, HasSubstr("sender@example.com"));
  EXPECT_THAT(s.message, HasSubstr("To: to@example.org\r\n"));
  EXPECT_THAT(s.message, HasSubstr("Cc: cc@example.org\r\n"));
  EXPECT_THAT(s.message, HasSubstr("Reply-To: replies@example.com\r\n"));
  EXPECT_THAT(s.message, HasSubstr("multipart/alternative"));
  EXPECT_THAT(s.message, HasSubstr("plain body"));
  EXPECT_THAT(s.message, HasSubstr("<p>html body</p>"));
  EXPECT_THAT(s.message, Not(HasSubstr("hidden@example.net")));  // Bcc stays off the header
  EXPECT_THAT(s.message, Not(HasSubstr("\nBcc:")));
}

TEST(SendEmailTest, IdnRecipientBecomesPunycode) {
  ApiHarness h;
  HttpResponse r = h.Call("POST", kSendPath,
                          R"({"FromEmailAddress":"a@example.com",)"
                          R"("Destination":{"ToAddresses":["user@bücher.example"]},)"
                          R"("Content":{"Simple":{"Subject":{"Data":"s"},)"
                          R"("Body":{"Text":{"Data":"t"}}}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  EXPECT_EQ(h.sending.submissions[0].recipients,
            std::vector<std::string>{"user@xn--bcher-kva.example"});
}

TEST(SendEmailTest, RawHappyPathPassesBytesThrough) {
  ApiHarness h;
  const std::string mime =
      "From: Sender <sender@example.com>\r\nTo: someone@example.org\r\n"
      "Subject: raw\r\nX-Custom: kept as is\r\n\r\nraw body \xC3\xA9\r\n";
  HttpResponse r = h.Call("POST", kSendPath,
                          R"({"Destination":{"ToAddresses":["rcpt@example.org"]},)"
                          R"("Content":{"Raw":{"Data":")" +
                              Base64Encode(mime) + R"("}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  const sending::Submission& s = h.sending.submissions[0];
  EXPECT_EQ(s.message, mime);
  EXPECT_EQ(s.source, "");  // the sending service takes it from From:
  EXPECT_EQ(s.recipients, std::vector<std::string>{"rcpt@example.org"});
  EXPECT_FALSE(s.simple_content);
}

TEST(SendEmailTest, RawWithoutDestinationUsesHeaderRecipients) {
  ApiHarness h;
  const std::string mime =
      "From: sender@example.com\r\nTo: A <a@example.org>, b@example.org\r\n"
      "Cc: c@example.org\r\nBcc: d@example.org\r\nSubject: raw\r\n\r\nbody\r\n";
  HttpResponse r = h.Call("POST", kSendPath,
                          R"({"FromEmailAddress":"sender@example.com",)"
                          R"("Content":{"Raw":{"Data":")" +
                              Base64Encode(mime) + R"("}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  EXPECT_EQ(h.sending.submissions[0].recipients,
            (std::vector<std::string>{"a@example.org", "b@example.org", "c@example.org",
                                      "d@example.org"}));
  EXPECT_EQ(h.sending.submissions[0].source, "sender@example.com");
}

TEST(SendEmailTest, InlineTemplateIsRendered) {
  ApiHarness h;
  HttpResponse r = h.Call(
      "POST", kSendPath,
      R"({"FromEmailAddress":"sender@example.com",)"
      R"("Destination":{"ToAddresses":["to@example.org"]},)"
      R"("Content":{"Template":{"TemplateContent":{"Subject":"Hi {{name}}",)"
      R"("Text":"Your code is {{code}}."},"TemplateData":"{\"name\":\"Ana\",\"code\":\"4711\"}"}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  const sending::Submission& s = h.sending.submissions[0];
  EXPECT_THAT(s.message, HasSubstr("Subject: Hi Ana\r\n"));
  EXPECT_THAT(s.message, HasSubstr("Your code is 4711."));
  EXPECT_TRUE(s.simple_content);
}

TEST(SendEmailTest, RejectionIsMappedToHttpError) {
  ApiHarness h;
  h.sending.next = sending::Rejection{sending::RejectKind::kNotVerified,
                                      "Email address is not verified. The following "
                                      "identities failed the check in region US-EAST-1: "
                                      "sender@example.com"};
  ExpectError(h.Call("POST", kSendPath, SimpleBody()), 400, "MessageRejected",
              "Email address is not verified. The following identities failed the check in "
              "region US-EAST-1: sender@example.com");
  h.sending.next = sending::Rejection{sending::RejectKind::kMaxSendRate, ""};
  ExpectError(h.Call("POST", kSendPath, SimpleBody()), 429, "TooManyRequestsException",
              "Maximum sending rate exceeded.");
  h.sending.next = sending::Rejection{sending::RejectKind::kConfigSetPaused,
                                      "Sending is paused for configuration set tx."};
  ExpectError(h.Call("POST", kSendPath, SimpleBody(R"(,"ConfigurationSetName":"tx")")), 400,
              "SendingPausedException", "Sending is paused for configuration set tx.");
  h.sending.next = sending::Rejection{sending::RejectKind::kConfigSetNotFound,
                                      "Configuration set <tx> does not exist."};
  ExpectError(h.Call("POST", kSendPath, SimpleBody(R"(,"ConfigurationSetName":"tx")")), 404,
              "NotFoundException", "Configuration set <tx> does not exist.");
}

TEST(SendEmailTest, MessageTooLong) {
  ApiHarness h;
  h.config.max_message_bytes = 64;
  const std::string mime = "From: a@example.com\r\nSubject: x\r\n\r\n" + std::string(200, 'x');
  HttpResponse r = h.Call("POST", kSendPath,
                          R"({"Destination":{"ToAddresses":["rcpt@example.org"]},)"
                          R"("Content":{"Raw":{"Data":")" +
                              Base64Encode(mime) + R"("}}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "MessageRejected");
  EXPECT_THAT(Body(r)["message"].get<std::string>(),
              StartsWith("Message length is more than 64 bytes long"));
  EXPECT_TRUE(h.sending.submissions.empty());
}

struct BadInput {
  const char* name;
  std::string body;
  int status;
  std::string code;
  std::string message;
};

std::string Recipients(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += (i ? "," : "") + std::string("\"r") + std::to_string(i) + "@example.org\"";
  }
  return s;
}

std::string Headers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += (i ? "," : "") + std::string(R"({"Name":"X-H)") + std::to_string(i) + R"(","Value":"v"})";
  }
  return s;
}

const std::string kFrom = R"("FromEmailAddress":"sender@example.com",)";
const std::string kTo = R"("Destination":{"ToAddresses":["to@example.org"]},)";
const std::string kBody = R"("Body":{"Text":{"Data":"t"}})";

std::string Simple(const std::string& simple_extra, const std::string& top_extra = "") {
  return "{" + kFrom + kTo + top_extra + R"("Content":{"Simple":{"Subject":{"Data":"s"},)" + kBody +
         simple_extra + "}}}";
}

std::vector<BadInput> BadInputs() {
  const std::string br = "BadRequestException";
  return {
      {"not json", "{not json", 400, br, "The request body is not valid JSON."},
      {"not an object", "[1,2]", 400, br, "The request body must be a JSON object."},
      {"too deep", "{\"a\":" + std::string(40, '[') + std::string(40, ']') + "}", 400, br,
       "The request body is nested too deeply."},
      {"no content", "{" + kFrom + kTo + "\"x\":1}", 400, br,
       "Missing required parameter: Content."},
      {"content wrong type", "{" + kFrom + kTo + R"("Content":"hi"})", 400, br,
       "Invalid type for parameter Content: expected a structure."},
      {"empty content", "{" + kFrom + kTo + R"("Content":{}})", 400, br,
       "Content must contain exactly one of Simple, Raw or Template."},
      {"simple and raw",
       "{" + kFrom + kTo + R"("Content":{"Raw":{"Data":"QQ=="},"Simple":{"Subject":{"Data":"s"},)" +
           kBody + "}}}",
       400, br, "Content must contain exactly one of Simple, Raw or Template."},
      {"no from", "{" + kTo + R"("Content":{"Simple":{"Subject":{"Data":"s"},)" + kBody + "}}}",
       400, br, "Missing required parameter: FromEmailAddress."},
      {"from wrong type",
       R"({"FromEmailAddress":5,)" + kTo + R"("Content":{"Simple":{"Subject":{"Data":"s"},)" +
           kBody + "}}}",
       400, br, "Invalid type for parameter FromEmailAddress: expected a string."},
      {"to not a list",
       "{" + kFrom +
           R"("Destination":{"ToAddresses":"a@b.c"},"Content":{"Simple":{"Subject":{"Data":"s"},)" +
           kBody + "}}}",
       400, br, "Invalid type for parameter Destination.ToAddresses: expected a list."},
      {"to item wrong type",
       "{" + kFrom +
           R"("Destination":{"ToAddresses":[7]},"Content":{"Simple":{"Subject":{"Data":"s"},)" +
           kBody + "}}}",
       400, br, "Invalid type for parameter Destination.ToAddresses[0]: expected a string."},
      {"no recipients",
       "{" + kFrom + R"("Content":{"Simple":{"Subject":{"Data":"s"},)" + kBody + "}}}", 400, br,
       "Destination must contain at least one recipient address."},
      {"51 recipients",
       "{" + kFrom + R"("Destination":{"ToAddresses":[)" + Recipients(30) +
           R"(],"BccAddresses":[)" + Recipients(21) +
           R"(]},"Content":{"Simple":{"Subject":{"Data":"s"},)" + kBody + "}}}",
       400, "BadRequestException", "Recipient count exceeds 50."},
      {"crlf in display name",
       "{" + kFrom +
           R"("Destination":{"ToAddresses":["Bob\r\nBcc: x@evil.example <b@example.org>"]},)" +
           R"("Content":{"Simple":{"Subject":{"Data":"s"},)" + kBody + "}}}",
       400, br,
       "Invalid address in Destination.ToAddresses[0]: CR and LF are not allowed (header "
       "injection)."},
      {"crlf in from",
       R"({"FromEmailAddress":"a@example.com\nBcc: x@evil.example",)" + kTo +
           R"("Content":{"Simple":{"Subject":{"Data":"s"},)" + kBody + "}}}",
       400, br,
       "Invalid address in FromEmailAddress: CR and LF are not allowed (header injection)."},
      {"no subject", "{" + kFrom + kTo + R"("Content":{"Simple":{)" + kBody + "}}}", 400, br,
       "Missing required parameter: Content.Simple.Subject."},
      {"no subject data",
       "{" + kFrom + kTo + R"("Content":{"Simple":{"Subject":{"Charset":"UTF-8"},)" + kBody + "}}}",
       400, br, "Missing required parameter: Content.Simple.Subject.Data."},
      {"no body", "{" + kFrom + kTo + R"("Content":{"Simple":{"Subject":{"Data":"s"}}}})", 400, br,
       "Missing required parameter: Content.Simple.Body."},
      {"crlf in subject",
       "{" + kFrom + kTo + R"("Content":{"Simple":{"Subject":{"Data":"s\r\nBcc: x@y.z"},)" + kBody +
           "}}}",
       400, br,
       "Invalid value for Content.Simple.Subject: CR and LF are not allowed (header "
       "injection)."},
      {"16 headers", Simple(R"(,"Headers":[)" + Headers(16) + "]"), 400, br,
       "Too many headers in Content.Simple.Headers: at most 15 are allowed."},
      {"header name with colon", Simple(R"(,"Headers":[{"Name":"X-A:b","Value":"v"}])"), 400, br,
       "Invalid header name in Content.Simple.Headers[0].Name: 1 to 126 printable ASCII "
       "characters other than ':' are required."},
      {"header name with crlf", Simple(R"(,"Headers":[{"Name":"X-A\r\nBcc","Value":"v"}])"), 400,
       br,
       "Invalid header name in Content.Simple.Headers[0].Name: CR and LF are not allowed "
       "(header injection)."},
      {"header value with crlf",
       Simple(R"(,"Headers":[{"Name":"X-A","Value":"v\r\nBcc: x@evil.example"}])"), 400, br,
       "Invalid value for Content.Simple.Headers[0].Value: CR and LF are not allowed (header "
       "injection)."},
      {"header without value", Simple(R"(,"Headers":[{"Name":"X-A"}])"), 400, br,
       "Missing required parameter: Content.Simple.Headers[0].Value."},
      {"attachment name with crlf",
       Simple(R"(,"Attachments":[{"RawContent":"QUJD","FileName":"a.txt\r\nX-Evil: 1"}])"), 400, br,
       "Invalid value for Content.Simple.Attachments[0].FileName: CR and LF are not allowed "
       "(header injection)."},
      {"attachment bad base64",
       Simple(R"(,"Attachments":[{"RawContent":"@@@","FileName":"a.txt"}])"), 400, br,
       "Invalid value for Content.Simple.Attachments[0].RawContent: not valid base64."},
      {"attachment bad disposition",
       Simple(
           R"(,"Attachments":[{"RawContent":"QUJD","FileName":"a.txt","ContentDisposition":"BOTH"}])"),
       400, br,
       "Invalid value for Content.Simple.Attachments[0].ContentDisposition: must be "
       "ATTACHMENT or INLINE."},
      {"bad tag name", Simple("", R"("EmailTags":[{"Name":"a b","Value":"v"}],)"), 400, br,
       "Invalid value for EmailTags[0].Name: 1 to 256 ASCII letters, digits, '_' or '-' are "
       "required."},
      {"tag value too long",
       Simple("", R"("EmailTags":[{"Name":"n","Value":")" + std::string(257, 'v') + "\"}],"), 400,
       br,
       "Invalid value for EmailTags[0].Value: at most 256 ASCII letters, digits, '_' or '-' "
       "are allowed."},
      {"tag without value", Simple("", R"("EmailTags":[{"Name":"n"}],)"), 400, br,
       "Missing required parameter: EmailTags[0].Value."},
      {"bad configuration set", Simple("", R"("ConfigurationSetName":"no spaces",)"), 400, br,
       "Invalid value for ConfigurationSetName: 1 to 64 ASCII letters, digits, '_' or '-' are "
       "required."},
      {"raw bad base64", "{" + kTo + R"("Content":{"Raw":{"Data":"not base64!"}}})", 400, br,
       "Invalid value for Content.Raw.Data: not valid base64."},
      {"raw without data", "{" + kTo + R"("Content":{"Raw":{}}})", 400, br,
       "Missing required parameter: Content.Raw.Data."},
      {"stored template",
       "{" + kFrom + kTo + R"("Content":{"Template":{"TemplateName":"welcome"}}})", 404,
       "NotFoundException", "Template welcome does not exist."},
      {"template by arn",
       "{" + kFrom + kTo +
           R"("Content":{"Template":{"TemplateArn":"arn:aws:ses:us-east-1:123456789012:template/promo"}}})",
       404, "NotFoundException", "Template promo does not exist."},
      {"template data not json",
       "{" + kFrom + kTo +
           R"("Content":{"Template":{"TemplateContent":{"Subject":"x"},"TemplateData":"{oops"}}})",
       400, br, "Invalid value for Content.Template.TemplateData: must be a JSON object."},
      {"template name and content",
       "{" + kFrom + kTo +
           R"("Content":{"Template":{"TemplateName":"t","TemplateContent":{"Subject":"x"}}}})",
       400, br,
       "Content.Template must contain exactly one of TemplateName, TemplateArn or "
       "TemplateContent."},
      // A name no list can have (existing lists are checked by the sending service).
      {"contact list", Simple("", R"("ListManagementOptions":{"ContactListName":"news letter"},)"),
       404, "NotFoundException", "List with name news letter does not exist."},
      {"topic",
       Simple("", R"("ListManagementOptions":{"ContactListName":"news","TopicName":"a/b"},)"), 404,
       "NotFoundException", "Topic a/b does not exist."},
      {"contact list type", Simple("", R"("ListManagementOptions":{"ContactListName":7},)"), 400,
       br, "Invalid type for parameter ListManagementOptions.ContactListName: expected a string."},
  };
}

TEST(SendEmailTest, BadInputTable) {
  const std::vector<BadInput> cases = BadInputs();
  ASSERT_GE(cases.size(), 20u);
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.name);
    ApiHarness h;
    ExpectError(h.Call("POST", kSendPath, c.body), c.status, c.code, c.message);
    EXPECT_TRUE(h.sending.submissions.empty());
  }
}

TEST(SendEmailTest, IllegalAddressNamesTheField) {
  ApiHarness h;
  HttpResponse r = h.Call("POST", kSendPath,
                          "{" + kFrom + R"("Destination":{"CcAddresses":["nobody"]},)" +
                              R"("Content":{"Simple":{"Subject":{"Data":"s"},)" + kBody + "}}}");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "BadRequestException");
  EXPECT_THAT(Body(r)["message"].get<std::string>(),
              StartsWith("Illegal address in Destination.CcAddresses[0]: "));
}

// ---------------------------------------------------------------- GetAccount

TEST(GetAccountTest, SandboxAndProduction) {
  ApiHarness h;
  h.sending.sent_last_24h = 7;  // the sending service owns the count
  HttpResponse r = h.Call("GET", "/v2/email/account");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = Body(r);
  EXPECT_EQ(b["ProductionAccessEnabled"], false);
  EXPECT_EQ(b["SendingEnabled"], true);
  EXPECT_EQ(b["EnforcementStatus"], "HEALTHY");
  EXPECT_EQ(b["DedicatedIpAutoWarmupEnabled"], false);
  EXPECT_EQ(b["SendQuota"]["Max24HourSend"], 200.0);
  EXPECT_EQ(b["SendQuota"]["MaxSendRate"], 1.0);
  EXPECT_EQ(b["SendQuota"]["SentLast24Hours"], 7.0);
  EXPECT_EQ(b["SuppressionAttributes"]["SuppressedReasons"], json({"BOUNCE", "COMPLAINT"}));
  EXPECT_FALSE(Header(r, "x-amzn-RequestId").empty());

  ASSERT_TRUE(h.store.SetProduction(h.account_id, true).ok());
  ASSERT_TRUE(h.store.SetSendingEnabled(h.account_id, false).ok());
  b = Body(h.Call("GET", "/v2/email/account"));
  EXPECT_EQ(b["ProductionAccessEnabled"], true);
  EXPECT_EQ(b["SendingEnabled"], false);
  EXPECT_EQ(b["SendQuota"]["Max24HourSend"], 50000.0);
  EXPECT_EQ(b["SendQuota"]["MaxSendRate"], 14.0);
}

// The account's own pause (PutAccountSendingAttributes) and herald's enforcement both show
// as SendingEnabled false; EnforcementStatus follows enforcement only.
TEST(GetAccountTest, SelfPauseAndEnforcement) {
  ApiHarness h;
  HttpResponse r = h.Call("PUT", "/v2/email/account/sending", R"({"SendingEnabled":false})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/account"))["SendingEnabled"], false);
  EXPECT_FALSE(h.store.GetAccount(h.account_id)->sending_enabled);
  ExpectError(h.Call("PUT", "/v2/email/account/sending", R"({"SendingEnabled":"no"})"), 400,
              "BadRequestException",
              "Invalid type for parameter SendingEnabled: expected a boolean.");
  ASSERT_EQ(h.Call("PUT", "/v2/email/account/sending", R"({"SendingEnabled":true})").status, 200);
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/account"))["SendingEnabled"], true);

  store::ReputationRow row{"{}", "under_review", SysTime{}};
  ASSERT_TRUE(h.store.PutReputation(h.account_id, row, "PROBATION").ok());
  json b = Body(h.Call("GET", "/v2/email/account"));
  EXPECT_EQ(b["EnforcementStatus"], "PROBATION");
  EXPECT_EQ(b["SendingEnabled"], true);
  row.state_name = "paused";
  ASSERT_TRUE(h.store.PutReputation(h.account_id, row, "SHUTDOWN").ok());
  b = Body(h.Call("GET", "/v2/email/account"));
  EXPECT_EQ(b["EnforcementStatus"], "SHUTDOWN");
  EXPECT_EQ(b["SendingEnabled"], false);
  ASSERT_EQ(h.Call("PUT", "/v2/email/account/sending", R"({"SendingEnabled":true})").status, 200);
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/account"))["SendingEnabled"], false)
      << "the account cannot lift herald's pause itself";
}

TEST(GetAccountTest, StoreFailureIsInternalError) {
  ApiHarness h;
  h.store.FailAllForTest(UnavailableError("db down"));
  ExpectError(h.Call("GET", "/v2/email/account"), 500, "InternalServiceErrorException",
              "Internal service error.");
}

// ---------------------------------------------------------------- suppression list

constexpr char kSuppressionPath[] = "/v2/email/suppression/addresses";

std::string AddressPath(const std::string& encoded) {
  return std::string(kSuppressionPath) + "/" + encoded;
}

std::vector<std::string> ListedAddresses(const json& body) {
  std::vector<std::string> out;
  for (const auto& s : body["SuppressedDestinationSummaries"]) {
    out.push_back(s["EmailAddress"].get<std::string>());
  }
  return out;
}

TEST(SuppressionApiTest, PutGetDeleteMatchCaseInsensitively) {
  ApiHarness h;
  HttpResponse r =
      h.Call("PUT", kSuppressionPath, R"({"EmailAddress":"Gone@Example.com","Reason":"BOUNCE"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());

  r = h.Call("GET", AddressPath("gone%40example.COM"));
  ASSERT_EQ(r.status, 200) << r.body;
  json d = Body(r)["SuppressedDestination"];
  EXPECT_EQ(d["EmailAddress"], "Gone@Example.com");  // as given
  EXPECT_EQ(d["Reason"], "BOUNCE");
  EXPECT_EQ(d["LastUpdateTime"], static_cast<double>(UnixMillis(h.clock.Now())) / 1000);
  EXPECT_FALSE(d.contains("Attributes"));  // added by hand: no message caused it

  // A second put replaces the reason and the time.
  h.clock.Advance(std::chrono::minutes(2));
  ASSERT_EQ(
      h.Call("PUT", kSuppressionPath, R"({"EmailAddress":"GONE@example.com","Reason":"COMPLAINT"})")
          .status,
      200);
  d = Body(h.Call("GET", AddressPath("Gone@Example.com")))["SuppressedDestination"];
  EXPECT_EQ(d["Reason"], "COMPLAINT");
  EXPECT_EQ(d["EmailAddress"], "GONE@example.com");
  EXPECT_EQ(d["LastUpdateTime"], static_cast<double>(UnixMillis(h.clock.Now())) / 1000);

  // Entries added by an outcome show the message and feedback that caused them.
  store::SuppressedDestination e;
  e.account_id = h.account_id;
  e.address = "bounced@example.org";
  e.last_update = h.clock.Now();
  e.message_id = "0100018c-cause-000000";
  e.feedback_id = "fb-0001";
  ASSERT_TRUE(h.store.PutSuppressedDestination(e).ok());
  d = Body(h.Call("GET", AddressPath("bounced%40example.org")))["SuppressedDestination"];
  EXPECT_EQ(d["Attributes"],
            json({{"MessageId", "0100018c-cause-000000"}, {"FeedbackId", "fb-0001"}}));

  r = h.Call("DELETE", AddressPath("gone%40EXAMPLE.com"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());
  ExpectError(h.Call("GET", AddressPath("gone%40example.com")), 404, "NotFoundException",
              "Email address gone@example.com does not exist on your suppression list.");
  ExpectError(h.Call("DELETE", AddressPath("gone%40example.com")), 404, "NotFoundException",
              "Email address gone@example.com does not exist on your suppression list.");
  // Another account's entries are not visible.
  auto other = h.store.CreateAccount("other", h.clock.Now());
  ASSERT_TRUE(other.ok());
  e.account_id = other->id;
  e.address = "theirs@example.org";
  ASSERT_TRUE(h.store.PutSuppressedDestination(e).ok());
  EXPECT_EQ(h.Call("GET", AddressPath("theirs%40example.org")).status, 404);
  EXPECT_EQ(h.Call("DELETE", AddressPath("theirs%40example.org")).status, 404);
  EXPECT_TRUE(h.store.GetSuppressedDestination(other->id, "theirs@example.org").ok());
}

TEST(SuppressionApiTest, BadInputIsBadRequest) {
  ApiHarness h;
  ExpectError(h.Call("PUT", kSuppressionPath, R"({"Reason":"BOUNCE"})"), 400, "BadRequestException",
              "Missing required parameter: EmailAddress.");
  ExpectError(h.Call("PUT", kSuppressionPath, R"({"EmailAddress":"a@example.com"})"), 400,
              "BadRequestException", "Missing required parameter: Reason.");
  ExpectError(
      h.Call("PUT", kSuppressionPath, R"({"EmailAddress":"a@example.com","Reason":"SPAM"})"), 400,
      "BadRequestException", "Invalid value for Reason: must be BOUNCE or COMPLAINT.");
  ExpectError(h.Call("PUT", kSuppressionPath, R"({"EmailAddress":7,"Reason":"BOUNCE"})"), 400,
              "BadRequestException", "Invalid type for parameter EmailAddress: expected a string.");
  HttpResponse r =
      h.Call("PUT", kSuppressionPath, R"({"EmailAddress":"not-an-address","Reason":"BOUNCE"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "BadRequestException");
  EXPECT_THAT(Body(r)["message"].get<std::string>(),
              StartsWith("Invalid email address not-an-address: "));
  r = h.Call("PUT", kSuppressionPath,
             R"({"EmailAddress":"Name <a@example.com>","Reason":"BOUNCE"})");
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "BadRequestException");
  ExpectError(h.Call("PUT", kSuppressionPath, R"({"EmailAddress":"","Reason":"BOUNCE"})"), 400,
              "BadRequestException", "Invalid email address: the address is empty.");
  EXPECT_EQ(Header(h.Call("GET", AddressPath("nobody")), "x-amzn-ErrorType"),
            "BadRequestException");
  EXPECT_EQ(Header(h.Call("DELETE", AddressPath("a%20b")), "x-amzn-ErrorType"),
            "BadRequestException");
  ExpectError(h.Call("GET", AddressPath("a%zz")), 400, "BadRequestException",
              "Invalid percent-encoding in the request path.");
  EXPECT_EQ(Header(h.Call("POST", kSuppressionPath, "{}"), "x-amzn-ErrorType"),
            "UnknownOperationException");
  EXPECT_EQ(Header(h.Call("GET", AddressPath("a%40b.example/x")), "x-amzn-ErrorType"),
            "UnknownOperationException");
  EXPECT_TRUE(h.store.ListSuppressedDestinations(h.account_id, {}, "", 10)->empty());
}

TEST(SuppressionApiTest, IdnDomainsAreStoredAsTheSendPathSeesThem) {
  ApiHarness h;
  ASSERT_EQ(h.Call("PUT", kSuppressionPath,
                   "{\"EmailAddress\":\"User@B\xC3\xBC"
                   "cher.example\",\"Reason\":\"BOUNCE\"}")
                .status,
            200);
  auto e = h.store.GetSuppressedDestination(h.account_id, "user@xn--bcher-kva.example");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->address, "User@xn--bcher-kva.example");
}

TEST(SuppressionApiTest, ListFiltersByReasonAndDateAndPages) {
  ApiHarness h;
  const SysTime t0 = FromUnixMillis(1795000000000);  // 2026-11-18T11:06:40Z
  const std::vector<std::pair<std::string, store::SuppressionReason>> entries = {
      {"a@x.test", store::SuppressionReason::kBounce},
      {"b@x.test", store::SuppressionReason::kComplaint},
      {"c@x.test", store::SuppressionReason::kBounce},
      {"d@x.test", store::SuppressionReason::kComplaint},
      {"e@x.test", store::SuppressionReason::kBounce}};
  for (size_t i = 0; i < entries.size(); ++i) {
    store::SuppressedDestination e;
    e.account_id = h.account_id;
    e.address = entries[i].first;
    e.reason = entries[i].second;
    e.last_update = t0 + std::chrono::hours(24 * static_cast<int>(i));  // one a day
    ASSERT_TRUE(h.store.PutSuppressedDestination(e).ok());
  }
  using V = std::vector<std::string>;
  HttpResponse r = h.Call("GET", kSuppressionPath);
  ASSERT_EQ(r.status, 200) << r.body;
  json b = Body(r);
  EXPECT_EQ(ListedAddresses(b), (V{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test"}));
  EXPECT_FALSE(b.contains("NextToken"));
  EXPECT_EQ(b["SuppressedDestinationSummaries"][1], json({{"EmailAddress", "b@x.test"},
                                                          {"Reason", "COMPLAINT"},
                                                          {"LastUpdateTime", 1795086400.0}}));

  EXPECT_EQ(ListedAddresses(Body(h.Call("GET", std::string(kSuppressionPath) + "?Reason=BOUNCE"))),
            (V{"a@x.test", "c@x.test", "e@x.test"}));
  EXPECT_EQ(ListedAddresses(Body(
                h.Call("GET", std::string(kSuppressionPath) + "?Reason=COMPLAINT&Reason=BOUNCE"))),
            (V{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test"}));
  // botocore's ISO 8601 form; bounds are inclusive.
  EXPECT_EQ(
      ListedAddresses(Body(h.Call(
          "GET", std::string(kSuppressionPath) +
                     "?StartDate=2026-11-19T11%3A06%3A40Z&EndDate=2026-11-21T11%3A06%3A40Z"))),
      (V{"b@x.test", "c@x.test", "d@x.test"}));
  // A UTC offset, a fraction, epoch seconds and a bare date are understood too.
  EXPECT_EQ(ListedAddresses(Body(h.Call(
                "GET", std::string(kSuppressionPath) +
                           "?StartDate=2026-11-19T12%3A06%3A40.001%2B01%3A00&Reason=COMPLAINT"))),
            (V{"d@x.test"}));
  EXPECT_EQ(ListedAddresses(Body(h.Call(
                "GET", std::string(kSuppressionPath) + "?EndDate=1795086400.5&Reason=BOUNCE"))),
            (V{"a@x.test"}));
  EXPECT_EQ(
      ListedAddresses(Body(h.Call("GET", std::string(kSuppressionPath) + "?StartDate=2026-11-22"))),
      (V{"e@x.test"}));

  // Pages of two, following NextToken, with the filter repeated on each call.
  V seen;
  std::string token;
  int pages = 0;
  do {
    std::string target =
        std::string(kSuppressionPath) + "?PageSize=2&Reason=BOUNCE&Reason=COMPLAINT";
    if (!token.empty()) {
      target += "&NextToken=" + PercentEncode(token);
    }
    r = h.Call("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    b = Body(r);
    EXPECT_LE(b["SuppressedDestinationSummaries"].size(), 2u);
    for (const auto& a : ListedAddresses(b)) {
      seen.push_back(a);
    }
    token = b.contains("NextToken") ? b["NextToken"].get<std::string>() : "";
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (V{"a@x.test", "b@x.test", "c@x.test", "d@x.test", "e@x.test"}));
}

TEST(SuppressionApiTest, ListRefusesBadParameters) {
  ApiHarness h;
  const std::string base = kSuppressionPath;
  ExpectError(h.Call("GET", base + "?Reason=SPAM"), 400, "BadRequestException",
              "Invalid value for Reason: SPAM is not BOUNCE or COMPLAINT.");
  ExpectError(h.Call("GET", base + "?PageSize=1001"), 400, "BadRequestException",
              "Invalid value for PageSize: must be an integer from 0 to 1000.");
  ExpectError(h.Call("GET", base + "?StartDate=yesterday"), 400, "BadRequestException",
              "Invalid value for StartDate: yesterday is not a timestamp.");
  ExpectError(h.Call("GET", base + "?EndDate=2026-02-30"), 400, "BadRequestException",
              "Invalid value for EndDate: 2026-02-30 is not a timestamp.");
  ExpectError(h.Call("GET", base + "?StartDate=2026-11-20&EndDate=2026-11-19"), 400,
              "BadRequestException", "StartDate must not be later than EndDate.");
  ExpectError(h.Call("GET", base + "?NextToken=%21%21"), 400, "InvalidNextTokenException",
              "Invalid NextToken.");
  // A token must name a key (lower case).
  ExpectError(h.Call("GET", base + "?NextToken=" + "QUB4LnRlc3Q"), 400, "InvalidNextTokenException",
              "Invalid NextToken.");
}

TEST(SuppressionApiTest, AccountSuppressionAttributesArePutAndReported) {
  ApiHarness h;
  HttpResponse r =
      h.Call("PUT", "/v2/email/account/suppression", R"({"SuppressedReasons":["COMPLAINT"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = Body(h.Call("GET", "/v2/email/account"));
  EXPECT_EQ(b["SuppressionAttributes"], json({{"SuppressedReasons", {"COMPLAINT"}}}));
  EXPECT_EQ(h.store.GetAccount(h.account_id)->suppressed_reasons,
            (store::SuppressionReasons{false, true}));

  r = h.Call(
      "PUT", "/v2/email/account/suppression",
      R"({"SuppressedReasons":["COMPLAINT","BOUNCE","BOUNCE"],)"
      R"("ValidationAttributes":{"ConditionThreshold":{"ConditionThresholdEnabled":"ENABLED",)"
      R"("OverallConfidenceThreshold":{"ConfidenceVerdictThreshold":"HIGH"}}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  b = Body(h.Call("GET", "/v2/email/account"));
  EXPECT_EQ(b["SuppressionAttributes"]["SuppressedReasons"], json({"BOUNCE", "COMPLAINT"}));
  EXPECT_EQ(b["SuppressionAttributes"]["ValidationAttributes"],
            json({{"ConditionThreshold",
                   {{"ConditionThresholdEnabled", "ENABLED"},
                    {"OverallConfidenceThreshold", {{"ConfidenceVerdictThreshold", "HIGH"}}}}}}));

  // An empty put switches automatic additions off.
  ASSERT_EQ(h.Call("PUT", "/v2/email/account/suppression", "{}").status, 200);
  b = Body(h.Call("GET", "/v2/email/account"));
  EXPECT_EQ(b["SuppressionAttributes"], json({{"SuppressedReasons", json::array()}}));

  ExpectError(h.Call("PUT", "/v2/email/account/suppression", R"({"SuppressedReasons":["X"]})"), 400,
              "BadRequestException",
              "Invalid value for SuppressedReasons[0]: must be BOUNCE or COMPLAINT.");
  ExpectError(h.Call("PUT", "/v2/email/account/suppression", R"({"SuppressedReasons":"BOUNCE"})"),
              400, "BadRequestException",
              "Invalid type for parameter SuppressedReasons: expected a list.");
  ExpectError(h.Call("PUT", "/v2/email/account/suppression", R"({"ValidationAttributes":{}})"), 400,
              "BadRequestException",
              "Missing required parameter: ValidationAttributes.ConditionThreshold.");
  EXPECT_TRUE(h.store.GetAccount(h.account_id)->suppressed_reasons.empty());
}

// ---------------------------------------------------------------- identities

TEST(IdentityTest, CreateEmailIdentitySendsVerificationMail) {
  ApiHarness h;
  HttpResponse r =
      h.Call("POST", "/v2/email/identities",
             R"({"EmailIdentity":"Sender@Example.COM","Tags":[{"Key":"team","Value":"ops"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = Body(r);
  EXPECT_EQ(b["IdentityType"], "EMAIL_ADDRESS");
  EXPECT_EQ(b["VerifiedForSendingStatus"], false);
  EXPECT_EQ(b["DkimAttributes"]["Status"], "NOT_STARTED");
  EXPECT_EQ(b["DkimAttributes"]["SigningAttributesOrigin"], "AWS_SES");
  EXPECT_EQ(b["DkimAttributes"]["Tokens"], json::array());
  EXPECT_FALSE(b.contains("HeraldVerificationRecord"));

  ASSERT_EQ(h.verifier.mails.size(), 1u);
  EXPECT_EQ(h.verifier.mails[0].address, "sender@example.com");
  EXPECT_EQ(h.verifier.mails[0].account_name, "acme");
  EXPECT_GE(h.verifier.mails[0].token.size(), 40u);

  StatusOr<store::Identity> id = h.store.GetIdentity(h.account_id, "sender@example.com");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->status, store::VerificationStatus::kPending);
  EXPECT_EQ(id->verification_token, h.verifier.mails[0].token);
  EXPECT_EQ(id->token_expires, h.clock.Now() + std::chrono::hours(24));

  ExpectError(h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"sender@example.com"})"),
              400, "AlreadyExistsException", "Email identity sender@example.com already exists.");
}

TEST(IdentityTest, DomainIdentityLifecycle) {
  ApiHarness h;
  HttpResponse r = h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"Bücher.Example"})");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = Body(r);
  EXPECT_EQ(b["IdentityType"], "DOMAIN");
  EXPECT_EQ(b["HeraldVerificationRecord"]["Name"], "_amazonses.xn--bcher-kva.example");
  EXPECT_EQ(b["HeraldVerificationRecord"]["Type"], "TXT");
  const std::string token = b["HeraldVerificationRecord"]["Value"];
  EXPECT_FALSE(token.empty());
  EXPECT_TRUE(h.verifier.mails.empty());

  // Not yet in DNS: still pending. The path segment is percent-decoded.
  r = h.Call("GET", "/v2/email/identities/B%C3%BCcher.example");
  ASSERT_EQ(r.status, 200) << r.body;
  b = Body(r);
  EXPECT_EQ(b["VerificationStatus"], "PENDING");
  EXPECT_EQ(b["VerifiedForSendingStatus"], false);
  EXPECT_EQ(b["FeedbackForwardingStatus"], true);
  EXPECT_EQ(b["Policies"], json::object());
  EXPECT_EQ(b["Tags"], json::array());
  EXPECT_EQ(h.verifier.dns_checks, 1);

  // DNS failing: temporary failure, then the record appears: success, stored.
  h.verifier.dns_failure = true;
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/xn--bcher-kva.example"))["VerificationStatus"],
            "TEMPORARY_FAILURE");
  h.verifier.txt["_amazonses.xn--bcher-kva.example"] = token;
  b = Body(h.Call("GET", "/v2/email/identities/xn--bcher-kva.example"));
  EXPECT_EQ(b["VerificationStatus"], "SUCCESS");
  EXPECT_EQ(b["VerifiedForSendingStatus"], true);
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "xn--bcher-kva.example")->status,
            store::VerificationStatus::kSuccess);
  // Verified identities are not looked up again.
  const int checks = h.verifier.dns_checks;
  h.Call("GET", "/v2/email/identities/xn--bcher-kva.example");
  EXPECT_EQ(h.verifier.dns_checks, checks);
}

TEST(IdentityTest, DomainFailsAfterSearchWindow) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"example.net"})").status,
            200);
  h.verifier.txt["_amazonses.example.net"] = "wrong token";
  h.clock.Advance(std::chrono::hours(73));
  // Re-sign after moving the clock (Call signs with the current time).
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/example.net"))["VerificationStatus"],
            "FAILED");
}

TEST(IdentityTest, EmailVerificationLink) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"me@example.com"})").status,
            200);
  ASSERT_EQ(h.verifier.mails.size(), 1u);
  const std::string token = h.verifier.mails[0].token;

  HttpResponse page =
      h.api().Handle(h.Unsigned("GET", "/_herald/verify-email?token=" + PercentEncode(token)));
  EXPECT_EQ(page.status, 200) << page.body;
  EXPECT_THAT(Header(page, "Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(page.body, HasSubstr("me@example.com is now verified"));
  EXPECT_FALSE(Header(page, "x-amzn-RequestId").empty());

  json b = Body(h.Call("GET", "/v2/email/identities/me%40example.com"));
  EXPECT_EQ(b["VerificationStatus"], "SUCCESS");
  EXPECT_EQ(b["VerifiedForSendingStatus"], true);
  EXPECT_FALSE(b.contains("HeraldVerificationRecord"));

  page = h.api().Handle(h.Unsigned("GET", "/_herald/verify-email?token=unknown-token"));
  EXPECT_EQ(page.status, 404);
  page = h.api().Handle(h.Unsigned("GET", "/_herald/verify-email"));
  EXPECT_EQ(page.status, 400);
  page = h.api().Handle(h.Unsigned("GET", "/_herald/verify-email?token=%zz"));
  EXPECT_EQ(page.status, 400);
}

TEST(IdentityTest, ExpiredEmailLinkFails) {
  ApiHarness h;
  ASSERT_EQ(
      h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"late@example.com"})").status,
      200);
  const std::string token = h.verifier.mails.at(0).token;
  h.clock.Advance(std::chrono::hours(25));
  HttpResponse page =
      h.api().Handle(h.Unsigned("GET", "/_herald/verify-email?token=" + PercentEncode(token)));
  EXPECT_EQ(page.status, 400);
  EXPECT_THAT(page.body, HasSubstr("expired"));
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "late@example.com")->status,
            store::VerificationStatus::kFailed);
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/late@example.com"))["VerificationStatus"],
            "FAILED");
}

TEST(IdentityTest, PendingEmailExpiresOnGet) {
  ApiHarness h;
  ASSERT_EQ(
      h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"slow@example.com"})").status,
      200);
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/slow@example.com"))["VerificationStatus"],
            "PENDING");
  h.clock.Advance(std::chrono::hours(25));
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/slow@example.com"))["VerificationStatus"],
            "FAILED");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "slow@example.com")->status,
            store::VerificationStatus::kFailed);
}

TEST(IdentityTest, TagsAreReturned) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities",
                   R"({"EmailIdentity":"t@example.com","Tags":[{"Key":"k","Value":"v"}]})")
                .status,
            200);
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/t@example.com"))["Tags"],
            json::parse(R"([{"Key":"k","Value":"v"}])"));
}

TEST(IdentityTest, BadCreateRequests) {
  ApiHarness h;
  const std::string br = "BadRequestException";
  ExpectError(h.Call("POST", "/v2/email/identities", "{}"), 400, br,
              "Missing required parameter: EmailIdentity.");
  ExpectError(h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":["a"]})"), 400, br,
              "Invalid type for parameter EmailIdentity: expected a string.");
  {
    HttpResponse r = h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"localhost"})");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(Header(r, "x-amzn-ErrorType"), br);
    EXPECT_THAT(Body(r)["message"].get<std::string>(),
                StartsWith("Invalid domain name localhost: "));
  }
  ExpectError(h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"A <a@b.example>"})"), 400,
              br,
              "Invalid email address A <a@b.example>: contains characters not allowed in an "
              "identity.");
  ExpectError(h.Call("POST", "/v2/email/identities",
                     R"({"EmailIdentity":"x.example","Tags":[{"Key":""}]})"),
              400, br, "Invalid parameter Tags[0]: Key and Value strings are required.");
  ExpectError(
      h.Call(
          "POST", "/v2/email/identities",
          R"({"EmailIdentity":"x.example","DkimSigningAttributes":{"DomainSigningSelector":"s"}})"),
      400, br, "DomainSigningSelector and DomainSigningPrivateKey must be given together.");
  EXPECT_TRUE(h.verifier.mails.empty());
}

TEST(IdentityTest, GetAndDeleteMissing) {
  ApiHarness h;
  ExpectError(h.Call("GET", "/v2/email/identities/nobody%40example.com"), 404, "NotFoundException",
              "Email identity nobody@example.com does not exist.");
  ExpectError(h.Call("DELETE", "/v2/email/identities/none.example"), 404, "NotFoundException",
              "Email identity none.example does not exist.");
  ExpectError(h.Call("GET", "/v2/email/identities/%zz"), 400, "BadRequestException",
              "Invalid percent-encoding in the request path.");
  ExpectError(h.Call("GET", "/v2/email/identities/a/b"), 404, "UnknownOperationException",
              "Unknown operation: GET /v2/email/identities/a/b");
}

TEST(IdentityTest, DeleteRemoves) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"gone.example"})").status,
            200);
  HttpResponse r = h.Call("DELETE", "/v2/email/identities/GONE.example");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());
  EXPECT_FALSE(h.store.GetIdentity(h.account_id, "gone.example").ok());
  EXPECT_EQ(h.Call("GET", "/v2/email/identities/gone.example").status, 404);
}

TEST(IdentityTest, ListPaginates) {
  ApiHarness h;
  for (int i = 0; i < 7; ++i) {
    ASSERT_EQ(h.Call("POST", "/v2/email/identities",
                     R"({"EmailIdentity":"d)" + std::to_string(i) + R"(.example"})")
                  .status,
              200);
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    std::string target = "/v2/email/identities?PageSize=3";
    if (!token.empty()) {
      target += "&NextToken=" + PercentEncode(token);
    }
    HttpResponse r = h.Call("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    json b = Body(r);
    ASSERT_TRUE(b["EmailIdentities"].is_array());
    EXPECT_LE(b["EmailIdentities"].size(), 3u);
    for (const json& item : b["EmailIdentities"]) {
      names.push_back(item["IdentityName"].get<std::string>());
      EXPECT_EQ(item["IdentityType"], "DOMAIN");
      EXPECT_EQ(item["VerificationStatus"], "PENDING");
      EXPECT_EQ(item["SendingEnabled"], false);
    }
    token = b.contains("NextToken") ? b["NextToken"].get<std::string>() : "";
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names, (std::vector<std::string>{"d0.example", "d1.example", "d2.example", "d3.example",
                                             "d4.example", "d5.example", "d6.example"}));
}

TEST(IdentityTest, ListDefaultsAndBadParameters) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"a@example.com"})").status,
            200);
  json b = Body(h.Call("GET", "/v2/email/identities"));
  ASSERT_EQ(b["EmailIdentities"].size(), 1u);
  EXPECT_EQ(b["EmailIdentities"][0]["IdentityType"], "EMAIL_ADDRESS");
  EXPECT_FALSE(b.contains("NextToken"));
  const std::string msg = "Invalid value for PageSize: must be an integer from 0 to 1000.";
  ExpectError(h.Call("GET", "/v2/email/identities?PageSize=1001"), 400, "BadRequestException", msg);
  ExpectError(h.Call("GET", "/v2/email/identities?PageSize=-1"), 400, "BadRequestException", msg);
  ExpectError(h.Call("GET", "/v2/email/identities?PageSize=ten"), 400, "BadRequestException", msg);
  ExpectError(h.Call("GET", "/v2/email/identities?NextToken=%21%21"), 400, "BadRequestException",
              "Invalid NextToken.");
}

TEST(IdentityTest, IdentitiesAreScopedToTheAccount) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"mine.example"})").status,
            200);
  const int64_t other = h.store.CreateAccount("other", h.clock.Now()).value().id;
  h.credentials.keys[testing::kKeyId].principal.account_id = other;
  EXPECT_EQ(h.Call("GET", "/v2/email/identities/mine.example").status, 404);
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities"))["EmailIdentities"], json::array());
}

// ---------------------------------------------------------------- DKIM

// The base64 DER inside a PEM: what SES's DomainSigningPrivateKey carries.
std::string PemBody(const std::string& pem) {
  std::string out;
  for (std::string_view line : Split(pem, '\n')) {
    if (!line.empty() && !line.starts_with("-----")) {
      out.append(line);
    }
  }
  return out;
}

std::string CreateBody(const std::string& identity, const json& dkim = json()) {
  json j = {{"EmailIdentity", identity}};
  if (!dkim.is_null()) {
    j["DkimSigningAttributes"] = dkim;
  }
  return j.dump();
}

std::string DkimRecordName(const json& dkim_attributes, const std::string& domain) {
  return dkim_attributes["Tokens"][0].get<std::string>() + "._domainkey." + domain;
}

TEST(DkimTest, CreateDomainGeneratesAnEasyDkimKey) {
  ApiHarness h;
  HttpResponse r = h.Call("POST", "/v2/email/identities", CreateBody("example.com"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr("PRIVATE")));
  json b = Body(r);
  const json& d = b["DkimAttributes"];
  EXPECT_EQ(d["SigningEnabled"], true);
  EXPECT_EQ(d["Status"], "PENDING");
  EXPECT_EQ(d["SigningAttributesOrigin"], "AWS_SES");
  ASSERT_EQ(d["Tokens"].size(), 1u);
  const std::string selector = d["Tokens"][0];
  EXPECT_EQ(selector.size(), 32u);
  EXPECT_EQ(d["NextSigningKeyLength"], "RSA_1024_BIT");
  EXPECT_EQ(d["CurrentSigningKeyLength"], "RSA_1024_BIT");
  EXPECT_EQ(d["LastKeyGenerationTimestamp"].get<double>(),
            static_cast<double>(UnixMillis(h.clock.Now())) / 1000);
  EXPECT_EQ(b["HeraldDkimRecord"]["Name"], selector + "._domainkey.example.com");
  EXPECT_EQ(b["HeraldDkimRecord"]["Type"], "TXT");

  auto stored = h.store.GetIdentity(h.account_id, "example.com");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->dkim_selector, selector);
  EXPECT_EQ(stored->dkim_status, store::VerificationStatus::kPending);
  auto info = mail::ParseDkimPrivateKey(stored->dkim_private_key_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->bits, 1024);
  EXPECT_EQ(b["HeraldDkimRecord"]["Value"], "v=DKIM1; k=rsa; p=" + info->public_key_base64);

  // Another domain gets another selector and key.
  json other = Body(h.Call("POST", "/v2/email/identities", CreateBody("example.net")));
  EXPECT_NE(other["DkimAttributes"]["Tokens"][0], selector);
}

TEST(DkimTest, KeyLengthFromTheRequestOrTheDefault) {
  ApiHarness h;
  h.config.default_dkim_key_length = "RSA_2048_BIT";  // SES's default
  json b = Body(h.Call("POST", "/v2/email/identities", CreateBody("big.example")));
  EXPECT_EQ(b["DkimAttributes"]["CurrentSigningKeyLength"], "RSA_2048_BIT");
  EXPECT_EQ(mail::ParseDkimPrivateKey(
                h.store.GetIdentity(h.account_id, "big.example")->dkim_private_key_pem)
                ->bits,
            2048);
  b = Body(h.Call("POST", "/v2/email/identities",
                  CreateBody("small.example", {{"NextSigningKeyLength", "RSA_1024_BIT"}})));
  EXPECT_EQ(b["DkimAttributes"]["CurrentSigningKeyLength"], "RSA_1024_BIT");
  EXPECT_EQ(b["DkimAttributes"]["NextSigningKeyLength"], "RSA_1024_BIT");
}

TEST(DkimTest, GetEmailIdentityChecksTheDkimRecord) {
  ApiHarness h;
  json b = Body(h.Call("POST", "/v2/email/identities", CreateBody("example.com")));
  const std::string name = DkimRecordName(b["DkimAttributes"], "example.com");
  const std::string value = b["HeraldDkimRecord"]["Value"];
  auto get = [&] { return Body(h.Call("GET", "/v2/email/identities/example.com")); };

  EXPECT_EQ(get()["DkimAttributes"]["Status"], "PENDING");  // no record yet
  EXPECT_EQ(h.verifier.txt_lookups, 1);
  h.verifier.dns_failure = true;
  EXPECT_EQ(get()["DkimAttributes"]["Status"], "TEMPORARY_FAILURE");
  h.verifier.dns_failure = false;
  // Someone else's key at our selector.
  auto other = mail::GenerateDkimKey(mail::DkimAlgorithm::kRsaSha256, 1024);
  ASSERT_TRUE(other.ok());
  h.verifier.txt[name] =
      mail::DkimDnsRecord(mail::DkimAlgorithm::kRsaSha256, other->public_key_base64);
  EXPECT_EQ(get()["DkimAttributes"]["Status"], "FAILED");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "example.com")->dkim_status,
            store::VerificationStatus::kFailed);
  // Corrected within the search window: checked again and verified.
  h.verifier.txt[name] = value;
  EXPECT_EQ(get()["DkimAttributes"]["Status"], "SUCCESS");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "example.com")->dkim_status,
            store::VerificationStatus::kSuccess);
  const int lookups = h.verifier.txt_lookups;
  EXPECT_EQ(get()["DkimAttributes"]["Status"], "SUCCESS");
  EXPECT_EQ(h.verifier.txt_lookups, lookups);  // verified records are not looked up again
}

TEST(DkimTest, MissingDkimRecordFailsAfterTheSearchWindow) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", CreateBody("example.com")).status, 200);
  h.clock.Advance(std::chrono::hours(71));
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/example.com"))["DkimAttributes"]["Status"],
            "PENDING");
  h.clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/example.com"))["DkimAttributes"]["Status"],
            "FAILED");
  // FAILED after the window is final: no more lookups.
  const int lookups = h.verifier.txt_lookups;
  h.Call("GET", "/v2/email/identities/example.com");
  EXPECT_EQ(h.verifier.txt_lookups, lookups);
}

TEST(DkimTest, BringYourOwnDkimAtCreation) {
  ApiHarness h;
  auto key = mail::GenerateDkimKey(mail::DkimAlgorithm::kRsaSha256, 2048);
  ASSERT_TRUE(key.ok());
  HttpResponse r = h.Call(
      "POST", "/v2/email/identities",
      CreateBody("byo.example", {{"DomainSigningSelector", "mail2026"},
                                 {"DomainSigningPrivateKey", PemBody(key->private_key_pem)}}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, Not(HasSubstr(PemBody(key->private_key_pem).substr(40, 40))));
  json d = Body(r)["DkimAttributes"];
  EXPECT_EQ(d["SigningAttributesOrigin"], "EXTERNAL");
  EXPECT_EQ(d["Tokens"], json::array({"mail2026"}));
  EXPECT_EQ(d["Status"], "PENDING");
  EXPECT_FALSE(d.contains("LastKeyGenerationTimestamp"));  // Easy DKIM only
  EXPECT_FALSE(d.contains("CurrentSigningKeyLength"));

  auto stored = h.store.GetIdentity(h.account_id, "byo.example");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->dkim_origin, "EXTERNAL");
  EXPECT_EQ(stored->dkim_key_length, "RSA_2048_BIT");
  EXPECT_EQ(mail::DkimPublicKeyBase64(stored->dkim_private_key_pem).value(),
            key->public_key_base64);

  h.verifier.txt["mail2026._domainkey.byo.example"] = "v=DKIM1; k=rsa; p=" + key->public_key_base64;
  EXPECT_EQ(Body(h.Call("GET", "/v2/email/identities/byo.example"))["DkimAttributes"]["Status"],
            "SUCCESS");
}

TEST(DkimTest, BringYourOwnDkimEd25519IsAccepted) {
  ApiHarness h;
  auto key = mail::GenerateDkimKey(mail::DkimAlgorithm::kEd25519Sha256);
  ASSERT_TRUE(key.ok());
  json b = Body(h.Call(
      "POST", "/v2/email/identities",
      CreateBody("ed.example", {{"DomainSigningSelector", "ed"},
                                {"DomainSigningPrivateKey", PemBody(key->private_key_pem)}})));
  EXPECT_EQ(b["HeraldDkimRecord"]["Value"], "v=DKIM1; k=ed25519; p=" + key->public_key_base64);
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "ed.example")->dkim_algorithm, "ed25519-sha256");
}

TEST(DkimTest, BadDkimSigningAttributes) {
  ApiHarness h;
  const std::string br = "BadRequestException";
  auto create = [&](const std::string& identity, const json& dkim) {
    return h.Call("POST", "/v2/email/identities", CreateBody(identity, dkim));
  };
  auto message = [](const HttpResponse& r) { return Body(r)["message"].get<std::string>(); };

  HttpResponse r = create("x.example", {{"DomainSigningSelector", "s"},
                                        {"DomainSigningPrivateKey", Base64Encode("not a key")}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), br);
  EXPECT_THAT(message(r), StartsWith("Invalid DomainSigningPrivateKey: "));

  auto odd = mail::GenerateDkimKey(mail::DkimAlgorithm::kRsaSha256, 1536);
  ASSERT_TRUE(odd.ok());
  ExpectError(create("x.example", {{"DomainSigningSelector", "s"},
                                   {"DomainSigningPrivateKey", PemBody(odd->private_key_pem)}}),
              400, br,
              "Invalid DomainSigningPrivateKey: an RSA key must have 1024 or 2048 bits, this one "
              "has 1536.");
  ExpectError(create("x.example", {{"DomainSigningSelector", "bad_selector"},
                                   {"DomainSigningPrivateKey", "AAAA"}}),
              400, br,
              "Invalid DomainSigningSelector bad_selector: use 1 to 63 letters, digits and inner "
              "hyphens.");
  ExpectError(create("x.example", {{"NextSigningKeyLength", "RSA_4096_BIT"}}), 400, br,
              "Invalid value for NextSigningKeyLength: must be RSA_1024_BIT or RSA_2048_BIT.");
  ExpectError(create("x.example", {{"DomainSigningSelector", 7}}), 400, br,
              "Invalid type for parameter DkimSigningAttributes.DomainSigningSelector: expected "
              "a string.");
  ExpectError(create("x.example", json::array()), 400, br,
              "Invalid type for parameter DkimSigningAttributes: expected a structure.");
  ExpectError(create("me@x.example", {{"NextSigningKeyLength", "RSA_2048_BIT"}}), 400, br,
              "DkimSigningAttributes can be set only for a domain identity; an address is "
              "signed with its domain's key.");
  EXPECT_FALSE(h.store.GetIdentity(h.account_id, "x.example").ok());
  EXPECT_FALSE(h.store.GetIdentity(h.account_id, "me@x.example").ok());
  EXPECT_TRUE(h.verifier.mails.empty());
}

TEST(DkimTest, PutEmailIdentityDkimAttributesTogglesSigning) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", CreateBody("example.com")).status, 200);
  HttpResponse r =
      h.Call("PUT", "/v2/email/identities/example.com/dkim", R"({"SigningEnabled":false})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());
  EXPECT_FALSE(h.store.GetIdentity(h.account_id, "example.com")->dkim_signing_enabled);
  EXPECT_EQ(
      Body(h.Call("GET", "/v2/email/identities/example.com"))["DkimAttributes"]["SigningEnabled"],
      false);
  ASSERT_EQ(
      h.Call("PUT", "/v2/email/identities/EXAMPLE.com/dkim", R"({"SigningEnabled":true})").status,
      200);
  EXPECT_TRUE(h.store.GetIdentity(h.account_id, "example.com")->dkim_signing_enabled);

  ExpectError(h.Call("PUT", "/v2/email/identities/none.example/dkim", R"({"SigningEnabled":true})"),
              404, "NotFoundException", "Email identity none.example does not exist.");
  ExpectError(h.Call("PUT", "/v2/email/identities/example.com/dkim", R"({"SigningEnabled":"no"})"),
              400, "BadRequestException",
              "Invalid type for parameter SigningEnabled: expected a boolean.");
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", CreateBody("me@example.com")).status, 200);
  ExpectError(
      h.Call("PUT", "/v2/email/identities/me%40example.com/dkim", R"({"SigningEnabled":false})"),
      400, "BadRequestException",
      "DKIM signing can be set only for a domain identity in herald; set it on "
      "example.com instead.");
}

TEST(DkimTest, PutEmailIdentityDkimSigningAttributes) {
  ApiHarness h;
  json created = Body(h.Call("POST", "/v2/email/identities", CreateBody("example.com")));
  const std::string easy_selector = created["DkimAttributes"]["Tokens"][0];
  auto key = mail::GenerateDkimKey(mail::DkimAlgorithm::kRsaSha256, 1024);
  ASSERT_TRUE(key.ok());
  const json external = {{"SigningAttributesOrigin", "EXTERNAL"},
                         {"SigningAttributes",
                          {{"DomainSigningSelector", "byo1"},
                           {"DomainSigningPrivateKey", PemBody(key->private_key_pem)}}}};

  // Older models route the operation to /v1/...; both work.
  HttpResponse r = h.Call("PUT", "/v1/email/identities/example.com/dkim/signing", external.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json({{"DkimStatus", "PENDING"}, {"DkimTokens", {"byo1"}}}));
  auto stored = h.store.GetIdentity(h.account_id, "example.com");
  EXPECT_EQ(stored->dkim_origin, "EXTERNAL");
  EXPECT_EQ(stored->dkim_selector, "byo1");
  EXPECT_EQ(mail::DkimPublicKeyBase64(stored->dkim_private_key_pem).value(),
            key->public_key_base64);

  // Back to Easy DKIM: a fresh key under a fresh selector, of the requested length.
  r = h.Call("PUT", "/v2/email/identities/example.com/dkim/signing",
             R"({"SigningAttributesOrigin":"AWS_SES",)"
             R"("SigningAttributes":{"NextSigningKeyLength":"RSA_2048_BIT"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  json b = Body(r);
  EXPECT_EQ(b["DkimStatus"], "PENDING");
  const std::string fresh = b["DkimTokens"][0];
  EXPECT_NE(fresh, "byo1");
  EXPECT_NE(fresh, easy_selector);
  stored = h.store.GetIdentity(h.account_id, "example.com");
  EXPECT_EQ(stored->dkim_origin, "AWS_SES");
  EXPECT_EQ(stored->dkim_key_length, "RSA_2048_BIT");
  EXPECT_EQ(mail::ParseDkimPrivateKey(stored->dkim_private_key_pem)->bits, 2048);

  // Easy DKIM already: only the next key length changes.
  r = h.Call("PUT", "/v2/email/identities/example.com/dkim/signing",
             R"({"SigningAttributesOrigin":"AWS_SES",)"
             R"("SigningAttributes":{"NextSigningKeyLength":"RSA_1024_BIT"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r)["DkimTokens"][0], fresh);
  stored = h.store.GetIdentity(h.account_id, "example.com");
  EXPECT_EQ(stored->dkim_key_length, "RSA_2048_BIT");
  EXPECT_EQ(stored->dkim_next_key_length, "RSA_1024_BIT");

  const std::string br = "BadRequestException";
  const std::string path = "/v2/email/identities/example.com/dkim/signing";
  ExpectError(h.Call("PUT", path, "{}"), 400, br,
              "Missing required parameter: SigningAttributesOrigin.");
  ExpectError(h.Call("PUT", path, R"({"SigningAttributesOrigin":"AWS_SES_US_EAST_1"})"), 400, br,
              "SigningAttributesOrigin AWS_SES_US_EAST_1 (Easy DKIM from another region) is not "
              "supported.");
  ExpectError(h.Call("PUT", path, R"({"SigningAttributesOrigin":"MINE"})"), 400, br,
              "Invalid value for SigningAttributesOrigin: must be AWS_SES or EXTERNAL.");
  ExpectError(h.Call("PUT", path, R"({"SigningAttributesOrigin":"EXTERNAL"})"), 400, br,
              "SigningAttributesOrigin EXTERNAL needs SigningAttributes.DomainSigningSelector "
              "and DomainSigningPrivateKey.");
  json misplaced = external;
  misplaced["SigningAttributesOrigin"] = "AWS_SES";
  ExpectError(h.Call("PUT", path, misplaced.dump()), 400, br,
              "DomainSigningSelector and DomainSigningPrivateKey need SigningAttributesOrigin "
              "EXTERNAL.");
  ExpectError(h.Call("PUT", "/v2/email/identities/none.example/dkim/signing", external.dump()), 404,
              "NotFoundException", "Email identity none.example does not exist.");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "example.com")->dkim_selector, fresh);
}

TEST(DkimTest, AddressesShowTheirDomainsDkim) {
  ApiHarness h;
  json b = Body(h.Call("POST", "/v2/email/identities", CreateBody("example.com")));
  h.verifier.txt[DkimRecordName(b["DkimAttributes"], "example.com")] =
      b["HeraldDkimRecord"]["Value"];
  ASSERT_EQ(Body(h.Call("GET", "/v2/email/identities/example.com"))["DkimAttributes"]["Status"],
            "SUCCESS");
  json addr = Body(h.Call("POST", "/v2/email/identities", CreateBody("me@news.example.com")));
  EXPECT_EQ(addr["DkimAttributes"]["Status"], "SUCCESS");
  EXPECT_EQ(addr["DkimAttributes"]["Tokens"], b["DkimAttributes"]["Tokens"]);
  EXPECT_FALSE(addr.contains("HeraldDkimRecord"));
  EXPECT_EQ(
      Body(h.Call("GET",
                  "/v2/email/identities/me@news.example.com"))["DkimAttributes"]["SigningEnabled"],
      true);
  json lone = Body(h.Call("POST", "/v2/email/identities", CreateBody("me@elsewhere.example")));
  EXPECT_EQ(lone["DkimAttributes"]["Status"], "NOT_STARTED");
  EXPECT_EQ(lone["DkimAttributes"]["SigningEnabled"], false);
}

TEST(DkimTest, DomainWithoutAKeyGetsOneWhenRead) {
  ApiHarness h;
  store::Identity old;  // as a store from before DKIM has it
  old.account_id = h.account_id;
  old.name = "old.example";
  old.type = store::IdentityType::kDomain;
  old.status = store::VerificationStatus::kSuccess;
  old.created = h.clock.Now();
  ASSERT_TRUE(h.store.CreateIdentity(old).ok());
  json b = Body(h.Call("GET", "/v2/email/identities/old.example"));
  EXPECT_EQ(b["VerificationStatus"], "SUCCESS");
  ASSERT_EQ(b["DkimAttributes"]["Tokens"].size(), 1u);
  EXPECT_EQ(b["DkimAttributes"]["Status"], "PENDING");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "old.example")->dkim_selector,
            b["DkimAttributes"]["Tokens"][0]);
  EXPECT_EQ(b["HeraldDkimRecord"]["Name"], DkimRecordName(b["DkimAttributes"], "old.example"));
}

TEST(DkimTest, UnknownSubresourcesAreUnknownOperations) {
  ApiHarness h;
  ExpectError(h.Call("GET", "/v2/email/identities/example.com/dkim"), 404,
              "UnknownOperationException",
              "Unknown operation: GET /v2/email/identities/example.com/dkim");
  ExpectError(h.Call("PUT", "/v1/email/identities/example.com/dkim", "{}"), 404,
              "UnknownOperationException",
              "Unknown operation: PUT /v1/email/identities/example.com/dkim");
  ExpectError(h.Call("GET", "/v1/email/identities/example.com"), 404, "UnknownOperationException",
              "Unknown operation: GET /v1/email/identities/example.com");
  ExpectError(h.Call("PUT", "/v2/email/identities//dkim", "{}"), 404, "UnknownOperationException",
              "Unknown operation: PUT /v2/email/identities//dkim");
}

// ---------------------------------------------------------------- MAIL FROM

TEST(FeedbackAttributesTest, ForwardingIsSetAndReported) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", CreateBody("me@example.com")).status, 200);
  auto status = [&] {
    return Body(h.Call("GET", "/v2/email/identities/me@example.com"))["FeedbackForwardingStatus"];
  };
  EXPECT_EQ(status(), true);  // SES's default
  HttpResponse r = h.Call("PUT", "/v2/email/identities/me@example.com/feedback",
                          R"({"EmailForwardingEnabled":false})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(status(), false);
  EXPECT_FALSE(h.store.GetIdentity(h.account_id, "me@example.com")->feedback_forwarding);
  ASSERT_EQ(h.Call("PUT", "/v2/email/identities/ME@example.com/feedback",
                   R"({"EmailForwardingEnabled":true})")
                .status,
            200);
  EXPECT_EQ(status(), true);
  // Errors change nothing.
  EXPECT_EQ(h.Call("PUT", "/v2/email/identities/me@example.com/feedback",
                   R"({"EmailForwardingEnabled":"no"})")
                .status,
            400);
  EXPECT_EQ(h.Call("PUT", "/v2/email/identities/other@example.com/feedback",
                   R"({"EmailForwardingEnabled":false})")
                .status,
            404);
  EXPECT_EQ(status(), true);
}

TEST(MailFromTest, SetCheckAndClear) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", CreateBody("example.com")).status, 200);
  EXPECT_FALSE(
      Body(h.Call("GET", "/v2/email/identities/example.com")).contains("MailFromAttributes"));
  HttpResponse r =
      h.Call("PUT", "/v2/email/identities/example.com/mail-from",
             R"({"MailFromDomain":"Bounce.Example.com","BehaviorOnMxFailure":"REJECT_MESSAGE"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());
  auto mail_from = [&] {
    return Body(h.Call("GET", "/v2/email/identities/example.com"))["MailFromAttributes"];
  };
  EXPECT_EQ(mail_from(), json({{"MailFromDomain", "bounce.example.com"},
                               {"MailFromDomainStatus", "PENDING"},
                               {"BehaviorOnMxFailure", "REJECT_MESSAGE"}}));
  h.verifier.dns_failure = true;
  EXPECT_EQ(mail_from()["MailFromDomainStatus"], "TEMPORARY_FAILURE");
  h.verifier.dns_failure = false;
  h.verifier.txt["bounce.example.com"] = "v=spf10 not really";
  EXPECT_EQ(mail_from()["MailFromDomainStatus"], "PENDING");
  h.verifier.txt["bounce.example.com"] = "v=spf1 a:mx.example.com ~all";
  EXPECT_EQ(mail_from()["MailFromDomainStatus"], "SUCCESS");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "example.com")->mail_from_status,
            store::VerificationStatus::kSuccess);

  // A new domain starts over; an empty request clears it, behaviour back to the default.
  ASSERT_EQ(h.Call("PUT", "/v2/email/identities/example.com/mail-from",
                   R"({"MailFromDomain":"mail.example.com"})")
                .status,
            200);
  EXPECT_EQ(mail_from(), json({{"MailFromDomain", "mail.example.com"},
                               {"MailFromDomainStatus", "PENDING"},
                               {"BehaviorOnMxFailure", "USE_DEFAULT_VALUE"}}));
  ASSERT_EQ(h.Call("PUT", "/v2/email/identities/example.com/mail-from", "{}").status, 200);
  EXPECT_FALSE(
      Body(h.Call("GET", "/v2/email/identities/example.com")).contains("MailFromAttributes"));
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "example.com")->mail_from_domain, "");
}

TEST(MailFromTest, MissingSpfRecordFailsAfterTheSearchWindow) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", CreateBody("example.com")).status, 200);
  ASSERT_EQ(h.Call("PUT", "/v2/email/identities/example.com/mail-from",
                   R"({"MailFromDomain":"mail.example.com"})")
                .status,
            200);
  h.clock.Advance(std::chrono::hours(73));
  EXPECT_EQ(
      Body(h.Call(
          "GET", "/v2/email/identities/example.com"))["MailFromAttributes"]["MailFromDomainStatus"],
      "FAILED");
}

TEST(MailFromTest, BadRequests) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", CreateBody("example.com")).status, 200);
  ASSERT_EQ(h.Call("POST", "/v2/email/identities", CreateBody("me@example.com")).status, 200);
  const std::string path = "/v2/email/identities/example.com/mail-from";
  const std::string br = "BadRequestException";
  ExpectError(h.Call("PUT", path, R"({"MailFromDomain":"example.org"})"), 400, br,
              "Invalid MailFromDomain example.org: it must be a subdomain of example.com.");
  ExpectError(h.Call("PUT", path, R"({"MailFromDomain":"example.com"})"), 400, br,
              "Invalid MailFromDomain example.com: it must be a subdomain of example.com.");
  ExpectError(h.Call("PUT", path, R"({"MailFromDomain":"badexample.com"})"), 400, br,
              "Invalid MailFromDomain badexample.com: it must be a subdomain of example.com.");
  ExpectError(h.Call("PUT", path, R"({"MailFromDomain":"a..example.com"})"), 400, br,
              "Invalid MailFromDomain a..example.com: it must be a subdomain of example.com.");
  ExpectError(h.Call("PUT", path, R"({"MailFromDomain":5})"), 400, br,
              "Invalid type for parameter MailFromDomain: expected a string.");
  ExpectError(
      h.Call("PUT", path, R"({"MailFromDomain":"m.example.com","BehaviorOnMxFailure":"X"})"), 400,
      br,
      "Invalid value for BehaviorOnMxFailure: must be USE_DEFAULT_VALUE or "
      "REJECT_MESSAGE.");
  ExpectError(h.Call("PUT", "/v2/email/identities/me%40example.com/mail-from",
                     R"({"MailFromDomain":"m.example.com"})"),
              400, br,
              "A MAIL FROM domain can be set only for a domain identity in herald; set it on "
              "example.com instead.");
  ExpectError(h.Call("PUT", "/v2/email/identities/none.example/mail-from", "{}"), 404,
              "NotFoundException", "Email identity none.example does not exist.");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "example.com")->mail_from_domain, "");
}

// ---------------------------------------------------------------- configuration sets

constexpr char kSetsPath[] = "/v2/email/configuration-sets";

std::string SetPath(const std::string& name, const std::string& option = "") {
  return std::string(kSetsPath) + "/" + name + option;
}

TEST(ConfigSetTest, CreateGetListDelete) {
  ApiHarness h;
  HttpResponse r = h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"tx"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());
  EXPECT_EQ(Body(h.Call("GET", SetPath("tx"))), json::parse(R"({
      "ConfigurationSetName": "tx",
      "DeliveryOptions": {"TlsPolicy": "OPTIONAL"},
      "ReputationOptions": {"ReputationMetricsEnabled": false},
      "SendingOptions": {"SendingEnabled": true},
      "Tags": []})"));
  EXPECT_EQ(Body(h.Call("GET", kSetsPath)), json::parse(R"({"ConfigurationSets": ["tx"]})"));
  EXPECT_TRUE(h.store.GetConfigurationSet(h.account_id, "tx").ok());

  r = h.Call("DELETE", SetPath("tx"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());
  ExpectError(h.Call("GET", SetPath("tx")), 404, "NotFoundException",
              "Configuration set <tx> does not exist.");
  ExpectError(h.Call("DELETE", SetPath("tx")), 404, "NotFoundException",
              "Configuration set <tx> does not exist.");
  EXPECT_EQ(Body(h.Call("GET", kSetsPath)), json::parse(R"({"ConfigurationSets": []})"));
}

TEST(ConfigSetTest, EveryOptionGroupRoundTrips) {
  ApiHarness h;
  const json request = json::parse(R"({
      "ConfigurationSetName": "Marketing_EU-1",
      "TrackingOptions": {"CustomRedirectDomain": "Track.Example.COM", "HttpsPolicy": "REQUIRE"},
      "DeliveryOptions": {"TlsPolicy": "REQUIRE", "SendingPoolName": "pool-1",
                          "MaxDeliverySeconds": 900},
      "ReputationOptions": {"ReputationMetricsEnabled": true, "LastFreshStart": 1700000000.5},
      "SendingOptions": {"SendingEnabled": false},
      "Tags": [{"Key": "team", "Value": "growth"}, {"Key": "empty", "Value": ""}],
      "SuppressionOptions": {"SuppressedReasons": ["COMPLAINT", "BOUNCE", "COMPLAINT"],
                             "ValidationOptions": {"ConditionThreshold": {
                                 "ConditionThresholdEnabled": "ENABLED",
                                 "OverallConfidenceThreshold": {
                                     "ConfidenceVerdictThreshold": "HIGH"}}}},
      "VdmOptions": {"DashboardOptions": {"EngagementMetrics": "ENABLED"},
                     "GuardianOptions": {"OptimizedSharedDelivery": "DISABLED"}},
      "ArchivingOptions": {"ArchiveArn":
          "arn:aws:ses:us-east-1:123456789012:mailmanager-archive/a-abcdefghijklmnopqrstuvwx"},
      "SomethingNew": {"ignored": true}})");
  HttpResponse r = h.Call("POST", kSetsPath, request.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json expected = request;
  expected.erase("SomethingNew");
  expected["TrackingOptions"]["CustomRedirectDomain"] = "track.example.com";
  expected["SuppressionOptions"]["SuppressedReasons"] = json::array({"COMPLAINT", "BOUNCE"});
  EXPECT_EQ(Body(h.Call("GET", SetPath("Marketing_EU-1"))), expected);
  // What the sending service reads.
  auto set = h.store.GetConfigurationSet(h.account_id, "Marketing_EU-1");
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->tls_policy, "REQUIRE");
  EXPECT_EQ(set->max_delivery_seconds, 900);
  EXPECT_FALSE(set->sending_enabled);
  // Names are case-sensitive.
  EXPECT_EQ(h.Call("GET", SetPath("marketing_eu-1")).status, 404);
}

TEST(ConfigSetTest, DuplicateIsAlreadyExists) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"tx"})").status, 200);
  ExpectError(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"tx"})"), 400,
              "AlreadyExistsException", "Configuration set <tx> already exists.");
  // Another account may use the name.
  const int64_t other = h.store.CreateAccount("other", h.clock.Now()).value().id;
  h.credentials.keys[testing::kKeyId].principal.account_id = other;
  EXPECT_EQ(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"tx"})").status, 200);
}

TEST(ConfigSetTest, BadCreateRequests) {
  ApiHarness h;
  const std::string br = "BadRequestException";
  const std::string bad_name =
      "Invalid value for ConfigurationSetName: 1 to 64 ASCII letters, digits, '_' or '-' are "
      "required.";
  auto create = [&](const std::string& extra) {
    return h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"ok")" + extra + "}");
  };
  struct Case {
    std::string body;  // members after the name, or a whole body when it starts with '{'
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{}", "Missing required parameter: ConfigurationSetName."},
      {R"({"ConfigurationSetName":7})",
       "Invalid type for parameter ConfigurationSetName: expected a string."},
      {R"({"ConfigurationSetName":""})", bad_name},
      {R"({"ConfigurationSetName":"has space"})", bad_name},
      {R"({"ConfigurationSetName":"dot.ted"})", bad_name},
      {R"({"ConfigurationSetName":")" + std::string(65, 'x') + R"("})", bad_name},
      {R"(,"DeliveryOptions":[])",
       "Invalid type for parameter DeliveryOptions: expected a structure."},
      {R"(,"DeliveryOptions":{"TlsPolicy":"Require"})",
       "Invalid value for DeliveryOptions.TlsPolicy: must be REQUIRE or OPTIONAL."},
      {R"(,"DeliveryOptions":{"MaxDeliverySeconds":299})",
       "Invalid value for DeliveryOptions.MaxDeliverySeconds: must be an integer from 300 to "
       "50400."},
      {R"(,"DeliveryOptions":{"MaxDeliverySeconds":50401})",
       "Invalid value for DeliveryOptions.MaxDeliverySeconds: must be an integer from 300 to "
       "50400."},
      {R"(,"DeliveryOptions":{"MaxDeliverySeconds":-600})",
       "Invalid value for DeliveryOptions.MaxDeliverySeconds: must be an integer from 300 to "
       "50400."},
      {R"(,"DeliveryOptions":{"MaxDeliverySeconds":18446744073709551615})",
       "Invalid value for DeliveryOptions.MaxDeliverySeconds: must be an integer from 300 to "
       "50400."},
      {R"(,"DeliveryOptions":{"MaxDeliverySeconds":"600"})",
       "Invalid type for parameter DeliveryOptions.MaxDeliverySeconds: expected an integer."},
      {R"(,"DeliveryOptions":{"MaxDeliverySeconds":600.5})",
       "Invalid type for parameter DeliveryOptions.MaxDeliverySeconds: expected an integer."},
      {R"(,"DeliveryOptions":{"SendingPoolName":"no spaces"})",
       "Invalid value for DeliveryOptions.SendingPoolName: 1 to 64 ASCII letters, digits, '_' "
       "or '-' are required."},
      {R"(,"SendingOptions":{"SendingEnabled":"false"})",
       "Invalid type for parameter SendingOptions.SendingEnabled: expected a boolean."},
      {R"(,"ReputationOptions":{"LastFreshStart":-1})",
       "Invalid value for ReputationOptions.LastFreshStart."},
      {R"(,"TrackingOptions":{"HttpsPolicy":"REQUIRE"})",
       "Missing required parameter: TrackingOptions.CustomRedirectDomain."},
      {R"(,"TrackingOptions":{"CustomRedirectDomain":"localhost"})",
       "Invalid value for TrackingOptions.CustomRedirectDomain: localhost is not a domain "
       "name."},
      {R"(,"TrackingOptions":{"CustomRedirectDomain":"t.example.com","HttpsPolicy":"ALWAYS"})",
       "Invalid value for TrackingOptions.HttpsPolicy: must be REQUIRE, REQUIRE_OPEN_ONLY or "
       "OPTIONAL."},
      {R"(,"SuppressionOptions":{"SuppressedReasons":"BOUNCE"})",
       "Invalid type for parameter SuppressionOptions.SuppressedReasons: expected a list."},
      {R"(,"SuppressionOptions":{"SuppressedReasons":["BOUNCE","SPAM"]})",
       "Invalid value for SuppressionOptions.SuppressedReasons[1]: must be BOUNCE or "
       "COMPLAINT."},
      {R"(,"SuppressionOptions":{"ValidationOptions":{}})",
       "Missing required parameter: SuppressionOptions.ValidationOptions.ConditionThreshold."},
      {R"(,"SuppressionOptions":{"ValidationOptions":{"ConditionThreshold":{}}})",
       "Missing required parameter: "
       "SuppressionOptions.ValidationOptions.ConditionThreshold.ConditionThresholdEnabled."},
      {R"(,"SuppressionOptions":{"ValidationOptions":{"ConditionThreshold":{)"
       R"("ConditionThresholdEnabled":"ENABLED","OverallConfidenceThreshold":{)"
       R"("ConfidenceVerdictThreshold":"LOW"}}}})",
       "Invalid value for "
       "SuppressionOptions.ValidationOptions.ConditionThreshold.OverallConfidenceThreshold."
       "ConfidenceVerdictThreshold: must be MEDIUM, HIGH or MANAGED."},
      {R"(,"VdmOptions":{"DashboardOptions":{"EngagementMetrics":"ON"}})",
       "Invalid value for VdmOptions.DashboardOptions.EngagementMetrics: must be ENABLED or "
       "DISABLED."},
      {R"(,"ArchivingOptions":{"ArchiveArn":"arn:aws:s3:::bucket/archive"})",
       "Invalid value for ArchivingOptions.ArchiveArn: must be the ARN of a MailManager "
       "archive."},
      {R"(,"Tags":[{"Key":"k"}])",
       "Invalid parameter Tags[0]: Key and Value strings are required."},
  };
  for (const Case& c : cases) {
    HttpResponse r = c.body.starts_with("{") ? h.Call("POST", kSetsPath, c.body) : create(c.body);
    ExpectError(r, 400, br, c.message);
  }
  {
    HttpResponse r = h.Call("POST", kSetsPath, "[1]");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(Header(r, "x-amzn-ErrorType"), br);
  }
  EXPECT_EQ(Body(h.Call("GET", kSetsPath)), json::parse(R"({"ConfigurationSets": []})"));
  // The bounds themselves are accepted.
  EXPECT_EQ(create(R"(,"DeliveryOptions":{"MaxDeliverySeconds":300})").status, 200);
  EXPECT_EQ(
      h.Call("POST", kSetsPath,
             R"({"ConfigurationSetName":"max","DeliveryOptions":{"MaxDeliverySeconds":50400}})")
          .status,
      200);
  EXPECT_EQ(
      h.Call("POST", kSetsPath, R"({"ConfigurationSetName":")" + std::string(64, 'x') + R"("})")
          .status,
      200);
}

TEST(ConfigSetTest, PutDeliveryOptionsReplacesTheGroup) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"tx"})").status, 200);
  const std::string path = SetPath("tx", "/delivery-options");
  HttpResponse r = h.Call(
      "PUT", path, R"({"TlsPolicy":"REQUIRE","SendingPoolName":"p1","MaxDeliverySeconds":300})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Body(r), json::object());
  EXPECT_EQ(
      Body(h.Call("GET", SetPath("tx")))["DeliveryOptions"],
      json::parse(R"({"TlsPolicy":"REQUIRE","SendingPoolName":"p1","MaxDeliverySeconds":300})"));
  auto set = h.store.GetConfigurationSet(h.account_id, "tx");
  EXPECT_EQ(set->tls_policy, "REQUIRE");
  EXPECT_EQ(set->max_delivery_seconds, 300);
  // Absent members take their defaults.
  ASSERT_EQ(h.Call("PUT", path, R"({"MaxDeliverySeconds":50400})").status, 200);
  EXPECT_EQ(Body(h.Call("GET", SetPath("tx")))["DeliveryOptions"],
            json::parse(R"({"TlsPolicy":"OPTIONAL","MaxDeliverySeconds":50400})"));
  ASSERT_EQ(h.Call("PUT", path, "").status, 200);
  EXPECT_EQ(Body(h.Call("GET", SetPath("tx")))["DeliveryOptions"],
            json::parse(R"({"TlsPolicy":"OPTIONAL"})"));
  EXPECT_EQ(h.store.GetConfigurationSet(h.account_id, "tx")->max_delivery_seconds, 0);

  // A bad request is BadRequest even for a set that does not exist; a good one is NotFound.
  ExpectError(h.Call("PUT", path, R"({"MaxDeliverySeconds":60})"), 400, "BadRequestException",
              "Invalid value for MaxDeliverySeconds: must be an integer from 300 to 50400.");
  ExpectError(h.Call("PUT", SetPath("nope", "/delivery-options"), R"({"TlsPolicy":"NEVER"})"), 400,
              "BadRequestException", "Invalid value for TlsPolicy: must be REQUIRE or OPTIONAL.");
  ExpectError(h.Call("PUT", SetPath("nope", "/delivery-options"), R"({"TlsPolicy":"REQUIRE"})"),
              404, "NotFoundException", "Configuration set <nope> does not exist.");
  // Other groups are untouched by a delivery-options put.
  EXPECT_TRUE(h.store.GetConfigurationSet(h.account_id, "tx")->sending_enabled);
}

TEST(ConfigSetTest, PutSendingAndReputationOptions) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", kSetsPath,
                   R"({"ConfigurationSetName":"tx",)"
                   R"("ReputationOptions":{"LastFreshStart":1700000000}})")
                .status,
            200);
  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/sending"), R"({"SendingEnabled":false})").status, 200);
  EXPECT_FALSE(h.store.GetConfigurationSet(h.account_id, "tx")->sending_enabled);
  EXPECT_EQ(Body(h.Call("GET", SetPath("tx")))["SendingOptions"],
            json::parse(R"({"SendingEnabled":false})"));
  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/sending"), R"({"SendingEnabled":true})").status, 200);
  EXPECT_TRUE(h.store.GetConfigurationSet(h.account_id, "tx")->sending_enabled);
  // An absent boolean is false.
  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/sending"), "{}").status, 200);
  EXPECT_FALSE(h.store.GetConfigurationSet(h.account_id, "tx")->sending_enabled);

  ASSERT_EQ(
      h.Call("PUT", SetPath("tx", "/reputation-options"), R"({"ReputationMetricsEnabled":true})")
          .status,
      200);
  // LastFreshStart is not part of the put and is kept.
  EXPECT_EQ(Body(h.Call("GET", SetPath("tx")))["ReputationOptions"],
            json::parse(R"({"ReputationMetricsEnabled":true,"LastFreshStart":1700000000.0})"));
  ExpectError(
      h.Call("PUT", SetPath("tx", "/reputation-options"), R"({"ReputationMetricsEnabled":1})"), 400,
      "BadRequestException",
      "Invalid type for parameter ReputationMetricsEnabled: expected a boolean.");
  ExpectError(h.Call("PUT", SetPath("nope", "/sending"), "{}"), 404, "NotFoundException",
              "Configuration set <nope> does not exist.");
}

TEST(ConfigSetTest, PutTrackingSuppressionVdmAndArchivingOptions) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"tx"})").status, 200);
  const auto get = [&] { return Body(h.Call("GET", SetPath("tx"))); };

  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/tracking-options"),
                   R"({"CustomRedirectDomain":"t.example.com","HttpsPolicy":"REQUIRE_OPEN_ONLY"})")
                .status,
            200);
  EXPECT_EQ(get()["TrackingOptions"], json::parse(R"({"CustomRedirectDomain":"t.example.com",)"
                                                  R"("HttpsPolicy":"REQUIRE_OPEN_ONLY"})"));
  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/tracking-options"), "{}").status, 200);
  EXPECT_FALSE(get().contains("TrackingOptions"));
  ExpectError(h.Call("PUT", SetPath("tx", "/tracking-options"), R"({"HttpsPolicy":"REQUIRE"})"),
              400, "BadRequestException", "Missing required parameter: CustomRedirectDomain.");

  EXPECT_FALSE(get().contains("SuppressionOptions"));
  ASSERT_EQ(
      h.Call("PUT", SetPath("tx", "/suppression-options"), R"({"SuppressedReasons":["BOUNCE"]})")
          .status,
      200);
  EXPECT_EQ(get()["SuppressionOptions"], json::parse(R"({"SuppressedReasons":["BOUNCE"]})"));
  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/suppression-options"), "{}").status, 200);
  EXPECT_EQ(get()["SuppressionOptions"], json::parse(R"({"SuppressedReasons":[]})"));

  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/vdm-options"),
                   R"({"VdmOptions":{"GuardianOptions":{"OptimizedSharedDelivery":"ENABLED"}}})")
                .status,
            200);
  EXPECT_EQ(get()["VdmOptions"],
            json::parse(R"({"GuardianOptions":{"OptimizedSharedDelivery":"ENABLED"}})"));
  ExpectError(h.Call("PUT", SetPath("tx", "/vdm-options"), R"({"VdmOptions":"on"})"), 400,
              "BadRequestException",
              "Invalid type for parameter VdmOptions: expected a structure.");
  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/vdm-options"), "{}").status, 200);
  EXPECT_FALSE(get().contains("VdmOptions"));

  const std::string arn =
      "arn:aws:ses:us-east-1:123456789012:mailmanager-archive/a-abcdefghijklmnopqrstuvwx";
  ASSERT_EQ(
      h.Call("PUT", SetPath("tx", "/archiving-options"), json({{"ArchiveArn", arn}}).dump()).status,
      200);
  EXPECT_EQ(get()["ArchivingOptions"], json({{"ArchiveArn", arn}}));
  ASSERT_EQ(h.Call("PUT", SetPath("tx", "/archiving-options"), "{}").status, 200);
  EXPECT_FALSE(get().contains("ArchivingOptions"));
  // None of these touched the delivery or sending options.
  EXPECT_EQ(get()["DeliveryOptions"], json::parse(R"({"TlsPolicy":"OPTIONAL"})"));
  EXPECT_EQ(get()["SendingOptions"], json::parse(R"({"SendingEnabled":true})"));
}

TEST(ConfigSetTest, ListPaginatesInNameOrder) {
  ApiHarness h;
  for (const char* n : {"delta", "alpha", "Zulu", "charlie", "bravo", "echo", "9"}) {
    ASSERT_EQ(h.Call("POST", kSetsPath, json({{"ConfigurationSetName", n}}).dump()).status, 200);
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    std::string target = std::string(kSetsPath) + "?PageSize=3";
    if (!token.empty()) {
      target += "&NextToken=" + PercentEncode(token);
    }
    HttpResponse r = h.Call("GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    json b = Body(r);
    EXPECT_LE(b["ConfigurationSets"].size(), 3u);
    for (const json& n : b["ConfigurationSets"]) {
      names.push_back(n.get<std::string>());
    }
    token = b.contains("NextToken") ? b["NextToken"].get<std::string>() : "";
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names,
            (std::vector<std::string>{"9", "Zulu", "alpha", "bravo", "charlie", "delta", "echo"}));
  ExpectError(h.Call("GET", std::string(kSetsPath) + "?PageSize=1001"), 400, "BadRequestException",
              "Invalid value for PageSize: must be an integer from 0 to 1000.");
  ExpectError(h.Call("GET", std::string(kSetsPath) + "?NextToken=%21%21"), 400,
              "BadRequestException", "Invalid NextToken.");
}

TEST(ConfigSetTest, SetsAreScopedToTheAccount) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"mine"})").status, 200);
  const int64_t other = h.store.CreateAccount("other", h.clock.Now()).value().id;
  h.credentials.keys[testing::kKeyId].principal.account_id = other;
  EXPECT_EQ(h.Call("GET", SetPath("mine")).status, 404);
  EXPECT_EQ(h.Call("PUT", SetPath("mine", "/sending"), "{}").status, 404);
  EXPECT_EQ(h.Call("DELETE", SetPath("mine")).status, 404);
  EXPECT_EQ(Body(h.Call("GET", kSetsPath))["ConfigurationSets"], json::array());
  EXPECT_TRUE(h.store.GetConfigurationSet(h.account_id, "mine")->sending_enabled);
}

TEST(ConfigSetTest, Routing) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"my-set"})").status, 200);
  // Path segments are percent-decoded.
  EXPECT_EQ(h.Call("GET", SetPath("my%2Dset")).status, 200);
  ExpectError(h.Call("GET", SetPath("%zz")), 400, "BadRequestException",
              "Invalid percent-encoding in the request path.");
  // A name that cannot exist is simply not found.
  ExpectError(h.Call("GET", SetPath("a%20b")), 404, "NotFoundException",
              "Configuration set <a b> does not exist.");
  ExpectError(h.Call("PUT", SetPath("a%20b", "/sending"), "{}"), 404, "NotFoundException",
              "Configuration set <a b> does not exist.");
  ExpectError(h.Call("GET", SetPath("my-set", "/delivery-options")), 404,
              "UnknownOperationException",
              "Unknown operation: GET /v2/email/configuration-sets/my-set/delivery-options");
  ExpectError(h.Call("POST", SetPath("my-set", "/event-destinations/d/x"), "{}"), 404,
              "UnknownOperationException",
              "Unknown operation: POST /v2/email/configuration-sets/my-set/event-destinations/d/x");
  ExpectError(h.Call("PUT", SetPath("my-set", "/sending/x"), "{}"), 404,
              "UnknownOperationException",
              "Unknown operation: PUT /v2/email/configuration-sets/my-set/sending/x");
  ExpectError(h.Call("PUT", SetPath("", "/sending"), "{}"), 404, "UnknownOperationException",
              "Unknown operation: PUT /v2/email/configuration-sets//sending");
  ExpectError(h.Call("GET", "/v2/email/configuration-setsx"), 404, "UnknownOperationException",
              "Unknown operation: GET /v2/email/configuration-setsx");
  ExpectError(h.Call("PUT", kSetsPath, "{}"), 404, "UnknownOperationException",
              "Unknown operation: PUT /v2/email/configuration-sets");
}

TEST(ConfigSetTest, StoreFailureIsInternalError) {
  ApiHarness h;
  ASSERT_EQ(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"tx"})").status, 200);
  h.store.FailAllForTest(UnavailableError("disk on fire"));
  // SigV4 needs no store here (FakeCredentials), so every operation reaches it.
  const std::string ise = "InternalServiceErrorException";
  ExpectError(h.Call("POST", kSetsPath, R"({"ConfigurationSetName":"ty"})"), 500, ise,
              "Internal service error.");
  ExpectError(h.Call("GET", SetPath("tx")), 500, ise, "Internal service error.");
  ExpectError(h.Call("GET", kSetsPath), 500, ise, "Internal service error.");
  ExpectError(h.Call("PUT", SetPath("tx", "/sending"), "{}"), 500, ise, "Internal service error.");
  ExpectError(h.Call("DELETE", SetPath("tx")), 500, ise, "Internal service error.");
  h.store.FailAllForTest(Status::Ok());
  EXPECT_TRUE(h.store.GetConfigurationSet(h.account_id, "tx")->sending_enabled);
}

}  // namespace
}  // namespace herald::api
