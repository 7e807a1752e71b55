// The SES v1 Query API through SesV2Api::Handle: signed form requests as botocore's
// query serializer sends them, XML replies read back.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "api/api_test_util.h"
#include "api/query_form.h"
#include "api/sesv2_api.h"
#include "base/crypto.h"
#include "base/strings.h"

namespace herald::api {
namespace {

using testing::ApiHarness;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Header;
using ::testing::IsEmpty;
using ::testing::Not;

using Params = std::vector<std::pair<std::string, std::string>>;

constexpr char kFormType[] = "application/x-www-form-urlencoded; charset=utf-8";

// A form body as botocore encodes it (every reserved byte percent-encoded).
std::string Encode(const Params& params) {
  std::string body;
  for (const auto& [k, v] : params) {
    body += (body.empty() ? "" : "&") + PercentEncode(k) + "=" + PercentEncode(v);
  }
  return body;
}

HttpRequest FormRequest(ApiHarness& h, std::string body, std::string method = "POST",
                        std::string content_type = kFormType, bool sign = true) {
  HttpRequest r;
  r.method = std::move(method);
  r.target = "/";
  r.body = std::move(body);
  r.remote_addr = "192.0.2.7";
  r.headers.emplace_back("Host", "email.us-east-1.amazonaws.com");
  if (!content_type.empty()) {
    r.headers.emplace_back("Content-Type", content_type);
  }
  r.headers.emplace_back("User-Agent", "Boto3/1.26.27 Python/3.11.2");
  if (sign) {
    h.Sign(r);
  }
  return r;
}

HttpResponse V1(ApiHarness& h, const std::string& action, Params params = {}) {
  params.insert(params.begin(), {{"Action", action}, {"Version", "2010-12-01"}});
  return h.api().Handle(FormRequest(h, Encode(params)));
}

// The text of the first <tag> element (entities decoded), or "<none>".
std::string XmlText(const std::string& xml, const std::string& tag) {
  const std::string open = "<" + tag + ">";
  const size_t start = xml.find(open);
  if (start == std::string::npos) {
    return "<none>";
  }
  const size_t end = xml.find("</" + tag + ">", start);
  std::string text = xml.substr(start + open.size(), end - start - open.size());
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const size_t semi = text.find(';', i);
    const std::string entity = text.substr(i + 1, semi - i - 1);
    out += entity == "lt"     ? "<"
           : entity == "gt"   ? ">"
           : entity == "amp"  ? "&"
           : entity == "quot" ? "\""
           : entity == "apos" ? "'"
                              : "?";
    i = semi;
  }
  return out;
}

std::vector<std::string> XmlAll(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">";
  const std::string close = "</" + tag + ">";
  for (size_t pos = xml.find(open); pos != std::string::npos; pos = xml.find(open, pos + 1)) {
    const size_t end = xml.find(close, pos);
    out.push_back(xml.substr(pos + open.size(), end - pos - open.size()));
  }
  return out;
}

void ExpectOk(const HttpResponse& r, const std::string& action, bool has_result = true) {
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Header(r, "Content-Type"), "text/xml");
  const std::string id = Header(r, "x-amzn-RequestId");
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(
      std::count_if(r.headers.begin(), r.headers.end(),
                    [](const auto& h) { return EqualsIgnoreCase(h.first, "x-amzn-RequestId"); }),
      1);
  EXPECT_THAT(r.body, ::testing::StartsWith("<" + action +
                                            "Response xmlns=\"http://ses.amazonaws.com/doc/"
                                            "2010-12-01/\">"));
  EXPECT_EQ(r.body.find("<" + action + "Result") != std::string::npos, has_result) << r.body;
  EXPECT_EQ(XmlText(r.body, "RequestId"), id);
}

void ExpectV1Error(const HttpResponse& r, int status, const std::string& code,
                   const std::string& message = "") {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(Header(r, "Content-Type"), "text/xml");
  EXPECT_THAT(r.body, ::testing::StartsWith(
                          "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"));
  EXPECT_EQ(XmlText(r.body, "Type"), status >= 500 ? "Receiver" : "Sender");
  EXPECT_EQ(XmlText(r.body, "Code"), code) << r.body;
  if (!message.empty()) {
    EXPECT_EQ(XmlText(r.body, "Message"), message) << r.body;
  }
  EXPECT_EQ(XmlText(r.body, "RequestId"), Header(r, "x-amzn-RequestId"));
  EXPECT_FALSE(Header(r, "x-amzn-RequestId").empty());
}

Params SimpleSend() {
  return {{"Source", "Sender <sender@example.com>"},
          {"Destination.ToAddresses.member.1", "to@example.org"},
          {"Destination.ToAddresses.member.2", "to2@example.org"},
          {"Destination.CcAddresses.member.1", "cc@example.org"},
          {"Destination.BccAddresses.member.1", "hidden@example.net"},
          {"Message.Subject.Data", "Hello v1"},
          {"Message.Subject.Charset", "UTF-8"},
          {"Message.Body.Text.Data", "plain body"},
          {"Message.Body.Html.Data", "<p>html body</p>"},
          {"ReplyToAddresses.member.1", "reply@example.com"}};
}

// ---------------------------------------------------------------- dispatch and envelopes

TEST(SesV1DispatchTest, WrongMethodOrContentTypeIsAV1Error) {
  ApiHarness h;
  const std::string body = Encode({{"Action", "GetSendQuota"}, {"Version", "2010-12-01"}});
  ExpectV1Error(h.api().Handle(FormRequest(h, "", "GET", "")), 400, "InvalidQueryParameter");
  ExpectV1Error(h.api().Handle(FormRequest(h, body, "POST", "application/json")), 400,
                "InvalidQueryParameter");
  ExpectV1Error(h.api().Handle(FormRequest(h, body, "PUT")), 400, "InvalidQueryParameter");
  ExpectV1Error(h.api().Handle(FormRequest(h, body, "POST", "")), 400, "InvalidQueryParameter");
  // Case and parameters of the media type do not matter.
  ExpectOk(h.api().Handle(FormRequest(h, body, "POST", "Application/X-WWW-Form-Urlencoded")),
           "GetSendQuota");
}

TEST(SesV1DispatchTest, MissingUnknownAndWrongVersionActions) {
  ApiHarness h;
  ExpectV1Error(h.api().Handle(FormRequest(h, "Version=2010-12-01")), 400, "MissingAction",
                "The request must contain the parameter Action.");
  ExpectV1Error(V1(h, "CreateReceiptRule"), 400, "InvalidAction",
                "Could not find operation CreateReceiptRule for version 2010-12-01.");
  ExpectV1Error(h.api().Handle(FormRequest(h, "Action=GetSendQuota&Version=2019-09-27")), 400,
                "InvalidAction", "Could not find operation GetSendQuota for version 2019-09-27.");
  // Version may be left out.
  ExpectOk(h.api().Handle(FormRequest(h, "Action=GetSendQuota")), "GetSendQuota");
  // Hostile action names come back escaped.
  HttpResponse r = V1(h, "<x>&");
  ExpectV1Error(r, 400, "InvalidAction", "Could not find operation <x>& for version 2010-12-01.");
  EXPECT_THAT(r.body, HasSubstr("&lt;x&gt;&amp;"));
}

TEST(SesV1DispatchTest, MalformedFormsAreInvalidQueryParameter) {
  ApiHarness h;
  for (const char* body : {"Action=GetSendQuota&Action=GetSendQuota", "Action=Get%ZZ",
                           "Action=SendEmail&Source=%FF"}) {
    ExpectV1Error(h.api().Handle(FormRequest(h, body)), 400, "InvalidQueryParameter");
  }
  EXPECT_THAT(h.sending.submissions, IsEmpty());
}

TEST(SesV1DispatchTest, AuthenticationFailuresAtRootAreXml) {
  ApiHarness h;
  const std::string body = Encode({{"Action", "GetSendQuota"}});
  ExpectV1Error(h.api().Handle(FormRequest(h, body, "POST", kFormType, /*sign=*/false)), 403,
                "MissingAuthenticationToken");
  HttpRequest changed = FormRequest(h, body);
  changed.body = Encode({{"Action", "GetSendStatistics"}});  // the body hash is signed
  ExpectV1Error(h.api().Handle(changed), 403, "SignatureDoesNotMatch");
  HttpRequest unknown = FormRequest(h, body, "POST", kFormType, /*sign=*/false);
  h.Sign(unknown, testing::Sdk::kBoto3, "AKIAUNKNOWNKEY000000");
  ExpectV1Error(h.api().Handle(unknown), 403, "InvalidClientTokenId");
  // Elsewhere the v2 JSON errors stay.
  HttpResponse v2 = h.api().Handle(h.Unsigned("GET", "/v2/email/account"));
  EXPECT_EQ(Header(v2, "Content-Type"), "application/json");
  EXPECT_EQ(Header(v2, "x-amzn-ErrorType"), "MissingAuthenticationTokenException");
}

TEST(SesV1DispatchTest, StoreFailureIsInternalFailure) {
  ApiHarness h;
  h.store.FailAllForTest(UnavailableError("db down"));
  for (const char* action : {"GetSendQuota", "GetSendStatistics", "ListIdentities"}) {
    ExpectV1Error(V1(h, action), 500, "InternalFailure", "Internal service error.");
  }
  ExpectV1Error(V1(h, "VerifyEmailIdentity", {{"EmailAddress", "a@example.com"}}), 500,
                "InternalFailure");
  ExpectV1Error(V1(h, "DeleteIdentity", {{"Identity", "a@example.com"}}), 500, "InternalFailure");
}

// ---------------------------------------------------------------- SendEmail

TEST(SesV1SendEmailTest, HappyPath) {
  ApiHarness h;
  Params p = SimpleSend();
  p.push_back({"Tags.member.1.Name", "campaign"});
  p.push_back({"Tags.member.1.Value", "spring"});
  p.push_back({"Tags.member.2.Name", "team"});
  p.push_back({"Tags.member.2.Value", "a-1"});
  p.push_back({"ConfigurationSetName", "my-set"});
  p.push_back({"ReturnPath", "feedback@example.com"});
  p.push_back({"SourceArn", "arn:aws:ses:us-east-1:123456789012:identity/example.com"});
  p.push_back({"ReturnPathArn", "arn:aws:ses:us-east-1:123456789012:identity/example.com"});
  HttpResponse r = V1(h, "SendEmail", p);
  ExpectOk(r, "SendEmail");
  EXPECT_EQ(XmlText(r.body, "MessageId"), "0100018c-test-message-id-000000");
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  const sending::Submission& s = h.sending.submissions[0];
  EXPECT_EQ(s.channel, sending::Channel::kApiV1);
  EXPECT_EQ(s.operation, "SendEmail");
  EXPECT_EQ(s.principal.account_id, h.account_id);
  EXPECT_EQ(s.principal.access_key_id, testing::kKeyId);
  EXPECT_EQ(s.source, "sender@example.com");
  EXPECT_THAT(s.recipients, ElementsAre("to@example.org", "to2@example.org", "cc@example.org",
                                        "hidden@example.net"));
  EXPECT_EQ(s.configuration_set, "my-set");
  EXPECT_THAT(s.tags, ElementsAre(std::pair<std::string, std::string>{"campaign", "spring"},
                                  std::pair<std::string, std::string>{"team", "a-1"}));
  EXPECT_TRUE(s.simple_content);
  EXPECT_THAT(s.message, HasSubstr("Subject: Hello v1\r\n"));
  EXPECT_THAT(s.message, HasSubstr("Reply-To: reply@example.com\r\n"));
  EXPECT_THAT(s.message, HasSubstr("plain body"));
  EXPECT_THAT(s.message, HasSubstr("html body"));
  EXPECT_THAT(s.message, Not(HasSubstr("hidden@example.net")));
}

TEST(SesV1SendEmailTest, TextOnlyAndUtf8Subject) {
  ApiHarness h;
  HttpResponse r = V1(h, "SendEmail",
                      {{"Source", "sender@example.com"},
                       {"Destination.ToAddresses.member.1", "to@example.org"},
                       {"Message.Subject.Data",
                        "Gr\xC3\xBC\xC3\x9F"
                        "e + 100%"},
                       {"Message.Body.Text.Data", "only text"}});
  ExpectOk(r, "SendEmail");
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  EXPECT_THAT(h.sending.submissions[0].message, HasSubstr("=?UTF-8?"));
  EXPECT_THAT(h.sending.submissions[0].message, Not(HasSubstr("text/html")));
}

TEST(SesV1SendEmailTest, MissingRequiredMembers) {
  ApiHarness h;
  Params p = SimpleSend();
  p.erase(p.begin());  // Source
  ExpectV1Error(V1(h, "SendEmail", p), 400, "MissingParameter",
                "The request must contain the parameter Source.");
  p = SimpleSend();
  std::erase_if(p, [](const auto& kv) { return kv.first == "Message.Subject.Data"; });
  ExpectV1Error(V1(h, "SendEmail", p), 400, "MissingParameter",
                "The request must contain the parameter Message.Subject.Data.");
  p = SimpleSend();
  p.push_back({"Tags.member.1.Value", "v"});
  ExpectV1Error(V1(h, "SendEmail", p), 400, "MissingParameter",
                "The request must contain the parameter Tags.member.1.Name.");
  EXPECT_THAT(h.sending.submissions, IsEmpty());
}

TEST(SesV1SendEmailTest, HeaderInjectionIsRefusedAndNothingSent) {
  ApiHarness h;
  struct Case {
    const char* name;
    const char* value;
    const char* text;
  };
  for (const Case& c :
       {Case{"Message.Subject.Data", "Hi\r\nBcc: victim@example.net", "Message.Subject"},
        Case{"Message.Subject.Data", "Hi\nX-Evil: 1", "Message.Subject"},
        Case{"Source", "sender@example.com\r\nBcc: victim@example.net", "Source"},
        Case{"ReplyToAddresses.member.1", "a@example.com\r\nBcc: v@example.net",
             "ReplyToAddresses.member.1"},
        Case{"Destination.ToAddresses.member.1", "x@example.org\nBcc: v@example.net",
             "Destination.ToAddresses.member.1"}}) {
    Params p = SimpleSend();
    for (auto& kv : p) {
      if (kv.first == c.name) {
        kv.second = c.value;
      }
    }
    HttpResponse r = V1(h, "SendEmail", p);
    ExpectV1Error(r, 400, "InvalidParameterValue");
    EXPECT_THAT(XmlText(r.body, "Message"), HasSubstr(c.text)) << c.name;
    EXPECT_THAT(r.body, Not(HasSubstr("Content.Simple")));
  }
  EXPECT_THAT(h.sending.submissions, IsEmpty());
}

TEST(SesV1SendEmailTest, V2ErrorsUseV1ParameterNames) {
  ApiHarness h;
  Params p = SimpleSend();
  p[2].second = "not an address";  // Destination.ToAddresses.member.2
  HttpResponse r = V1(h, "SendEmail", p);
  ExpectV1Error(r, 400, "InvalidParameterValue");
  EXPECT_THAT(XmlText(r.body, "Message"), HasSubstr("Destination.ToAddresses.member.2"));
  p = SimpleSend();
  p.push_back({"Tags.member.1.Name", "bad name!"});
  p.push_back({"Tags.member.1.Value", "v"});
  r = V1(h, "SendEmail", p);
  ExpectV1Error(r, 400, "InvalidParameterValue");
  EXPECT_THAT(XmlText(r.body, "Message"), HasSubstr("Tags.member.1.Name"));
  EXPECT_THAT(h.sending.submissions, IsEmpty());
}

TEST(SesV1SendEmailTest, RecipientAndListLimits) {
  ApiHarness h;
  Params p = {{"Source", "sender@example.com"},
              {"Message.Subject.Data", "s"},
              {"Message.Body.Text.Data", "b"}};
  for (int i = 1; i <= 30; ++i) {
    p.push_back({"Destination.ToAddresses.member." + std::to_string(i),
                 "to" + std::to_string(i) + "@example.org"});
  }
  for (int i = 1; i <= 21; ++i) {
    p.push_back({"Destination.CcAddresses.member." + std::to_string(i),
                 "cc" + std::to_string(i) + "@example.org"});
  }
  ExpectV1Error(V1(h, "SendEmail", p), 400, "InvalidParameterValue", "Recipient count exceeds 50.");
  p.pop_back();  // 50 recipients are fine
  ExpectOk(V1(h, "SendEmail", p), "SendEmail");
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  EXPECT_EQ(h.sending.submissions[0].recipients.size(), 50u);

  Params gap = SimpleSend();
  gap.push_back({"Destination.ToAddresses.member.4", "gap@example.org"});
  ExpectV1Error(V1(h, "SendEmail", gap), 400, "InvalidParameterValue");
  Params empty_dest = {{"Source", "sender@example.com"},
                       {"Destination.ToAddresses", ""},
                       {"Message.Subject.Data", "s"},
                       {"Message.Body.Text.Data", "b"}};
  ExpectV1Error(V1(h, "SendEmail", empty_dest), 400, "InvalidParameterValue",
                "Destination must contain at least one recipient address.");
  EXPECT_EQ(h.sending.submissions.size(), 1u);
}

TEST(SesV1SendEmailTest, RejectionsAreMappedToV1Errors) {
  using sending::RejectKind;
  struct Case {
    RejectKind kind;
    std::string message;
    int status;
    std::string code;
    std::string v1_message;
  };
  const std::vector<Case> cases = {
      {RejectKind::kNotVerified,
       "Email address is not verified. The following identities failed the check in region "
       "US-EAST-1: sender@example.com",
       400, "MessageRejected",
       "Email address is not verified. The following identities failed the check in region "
       "US-EAST-1: sender@example.com"},
      {RejectKind::kConfigSetNotFound, "Configuration set <nope> does not exist.", 400,
       "ConfigurationSetDoesNotExist", "Configuration set <nope> does not exist."},
      {RejectKind::kConfigSetPaused, "Sending is paused for configuration set s.", 400,
       "ConfigurationSetSendingPausedException", "Sending is paused for configuration set s."},
      {RejectKind::kSendingPaused, "Sending is paused for this account.", 400,
       "AccountSendingPausedException", "Sending is paused for this account."},
      {RejectKind::kAccountSuspended, "Your account is suspended.", 400,
       "AccountSendingPausedException", "Your account is suspended."},
      {RejectKind::kMaxSendRate, "", 400, "Throttling", "Maximum sending rate exceeded."},
      {RejectKind::kDailyQuota, "", 400, "Throttling", "Daily message quota exceeded."},
      {RejectKind::kTooLarge, "Message is too long.", 400, "MessageRejected",
       "Message is too long."},
      {RejectKind::kBadRequest, "Missing From header.", 400, "InvalidParameterValue",
       "Missing From header."},
      {RejectKind::kTemporary, "Temporary service failure", 500, "InternalFailure",
       "Temporary service failure"},
  };
  for (const Case& c : cases) {
    ApiHarness h;
    h.sending.next = sending::Rejection{c.kind, c.message};
    ExpectV1Error(V1(h, "SendEmail", SimpleSend()), c.status, c.code, c.v1_message);
    h.sending.next = sending::Rejection{c.kind, c.message};
    ExpectV1Error(V1(h, "SendRawEmail",
                     {{"RawMessage.Data",
                       Base64Encode("From: a@example.com\r\nTo: b@example.org\r\n\r\nx\r\n")}}),
                  c.status, c.code, c.v1_message);
  }
}

// ---------------------------------------------------------------- SendRawEmail

const char kRaw[] =
    "From: Sender <sender@example.com>\r\nTo: to@example.org\r\nCc: cc@example.org\r\n"
    "Subject: raw\r\n\r\nraw body\r\n";

TEST(SesV1SendRawEmailTest, PassesBytesThroughWithDestinations) {
  ApiHarness h;
  HttpResponse r = V1(h, "SendRawEmail",
                      {{"Source", "bounce-handler@example.com"},
                       {"Destinations.member.1", "one@example.org"},
                       {"Destinations.member.2", "two@example.org"},
                       {"RawMessage.Data", Base64Encode(kRaw)},
                       {"Tags.member.1.Name", "k"},
                       {"Tags.member.1.Value", "v"},
                       {"ConfigurationSetName", "set1"},
                       {"FromArn", "arn:aws:ses:us-east-1:123456789012:identity/example.com"}});
  ExpectOk(r, "SendRawEmail");
  EXPECT_EQ(XmlText(r.body, "MessageId"), "0100018c-test-message-id-000000");
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  const sending::Submission& s = h.sending.submissions[0];
  EXPECT_EQ(s.operation, "SendRawEmail");
  EXPECT_EQ(s.channel, sending::Channel::kApiV1);
  EXPECT_EQ(s.message, kRaw);
  EXPECT_EQ(s.source, "bounce-handler@example.com");
  EXPECT_THAT(s.recipients, ElementsAre("one@example.org", "two@example.org"));
  EXPECT_EQ(s.configuration_set, "set1");
  EXPECT_FALSE(s.simple_content);
}

TEST(SesV1SendRawEmailTest, WithoutDestinationsUsesTheHeaders) {
  ApiHarness h;
  ExpectOk(V1(h, "SendRawEmail", {{"RawMessage.Data", Base64Encode(kRaw)}}), "SendRawEmail");
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  EXPECT_THAT(h.sending.submissions[0].recipients, ElementsAre("to@example.org", "cc@example.org"));
  EXPECT_EQ(h.sending.submissions[0].source, "");
}

TEST(SesV1SendRawEmailTest, BadInput) {
  ApiHarness h;
  ExpectV1Error(V1(h, "SendRawEmail", {{"Source", "a@example.com"}}), 400, "MissingParameter",
                "The request must contain the parameter RawMessage.Data.");
  ExpectV1Error(V1(h, "SendRawEmail", {{"RawMessage.Data", "not*base64!"}}), 400,
                "InvalidParameterValue", "Invalid value for RawMessage.Data: not valid base64.");
  ExpectV1Error(V1(h, "SendRawEmail",
                   {{"RawMessage.Data", Base64Encode(kRaw)},
                    {"Source", "a@example.com\r\nBcc: x@example.net"}}),
                400, "InvalidParameterValue");
  ExpectV1Error(V1(h, "SendRawEmail",
                   {{"RawMessage.Data", Base64Encode(kRaw)},
                    {"Destinations.member.1", "ok@example.org"},
                    {"Destinations.member.2", "bad address"}}),
                400, "InvalidParameterValue");
  EXPECT_THAT(h.sending.submissions, IsEmpty());
}

TEST(SesV1SendRawEmailTest, TenMegabytesIsTheLimit) {
  ApiHarness h;
  const std::string head = "From: sender@example.com\r\nTo: to@example.org\r\nSubject: big\r\n\r\n";
  const size_t limit = 10 * 1024 * 1024;
  std::string at_limit = head;
  const std::string line = std::string(76, 'a') + "\r\n";
  while (at_limit.size() + line.size() <= limit) {
    at_limit += line;
  }
  at_limit += std::string(limit - at_limit.size(), 'b');
  ExpectOk(V1(h, "SendRawEmail", {{"RawMessage.Data", Base64Encode(at_limit)}}), "SendRawEmail");
  ASSERT_EQ(h.sending.submissions.size(), 1u);
  EXPECT_EQ(h.sending.submissions[0].message.size(), limit);

  at_limit += "a";
  HttpResponse r = V1(h, "SendRawEmail", {{"RawMessage.Data", Base64Encode(at_limit)}});
  ExpectV1Error(r, 400, "MessageRejected");
  EXPECT_THAT(XmlText(r.body, "Message"),
              HasSubstr("Message length is more than 10485760 bytes long"));
  EXPECT_EQ(h.sending.submissions.size(), 1u);
}

// ---------------------------------------------------------------- quota and statistics

TEST(SesV1QuotaTest, GetSendQuotaAsGetAccount) {
  ApiHarness h;
  h.config.sandbox = {200, 1};
  h.config.production = {50000, 14.5};
  h.sending.sent_last_24h = 7;
  HttpResponse r = V1(h, "GetSendQuota");
  ExpectOk(r, "GetSendQuota");
  EXPECT_EQ(XmlText(r.body, "Max24HourSend"), "200.0");
  EXPECT_EQ(XmlText(r.body, "MaxSendRate"), "1.0");
  EXPECT_EQ(XmlText(r.body, "SentLast24Hours"), "7.0");
  ASSERT_TRUE(h.store.SetProduction(h.account_id, true).ok());
  r = V1(h, "GetSendQuota");
  EXPECT_EQ(XmlText(r.body, "Max24HourSend"), "50000.0");
  EXPECT_EQ(XmlText(r.body, "MaxSendRate"), "14.5");
}

TEST(SesV1QuotaTest, GetSendStatistics) {
  ApiHarness h;
  HttpResponse r = V1(h, "GetSendStatistics");
  ExpectOk(r, "GetSendStatistics");
  EXPECT_THAT(r.body, HasSubstr("<SendDataPoints></SendDataPoints>"));

  // The clock reads 2026-11-18T11:06:40Z.
  const SysTime now = h.clock.Now();
  ASSERT_TRUE(h.store.RecordSends(h.account_id, now - std::chrono::minutes(5), 3).ok());
  ASSERT_TRUE(h.store.RecordSends(h.account_id, now - std::chrono::minutes(4), 1).ok());
  ASSERT_TRUE(h.store.RecordSends(h.account_id, now - std::chrono::hours(2), 2).ok());
  ASSERT_TRUE(h.store.RecordSends(h.account_id, now - std::chrono::hours(50), 9).ok());
  const int64_t hour = UnixMillis(now - std::chrono::hours(2)) / 3600000;
  store::RepBucketRow row;
  row.hour = hour;
  row.sends = 2;
  row.hard_bounces = 1;
  row.complaints = 1;
  store::RepBucketRow old = row;
  old.hour = hour - 60;
  ASSERT_TRUE(h.store.SaveRepBuckets(h.account_id, "", {row, old}, 0).ok());

  r = V1(h, "GetSendStatistics");
  ExpectOk(r, "GetSendStatistics");
  std::vector<std::string> members = XmlAll(r.body, "member");
  ASSERT_EQ(members.size(), 2u) << r.body;
  EXPECT_EQ(XmlText(members[0], "Timestamp"), "2026-11-18T09:00:00.000Z");
  EXPECT_EQ(XmlText(members[0], "DeliveryAttempts"), "2");
  EXPECT_EQ(XmlText(members[0], "Bounces"), "1");
  EXPECT_EQ(XmlText(members[0], "Complaints"), "1");
  EXPECT_EQ(XmlText(members[0], "Rejects"), "0");
  EXPECT_EQ(XmlText(members[1], "Timestamp"), "2026-11-18T11:00:00.000Z");
  EXPECT_EQ(XmlText(members[1], "DeliveryAttempts"), "4");
  EXPECT_EQ(XmlText(members[1], "Bounces"), "0");
}

// ---------------------------------------------------------------- identities

TEST(SesV1IdentityTest, VerifyEmailIdentityMailsTheLink) {
  ApiHarness h;
  ExpectOk(V1(h, "VerifyEmailIdentity", {{"EmailAddress", "Someone@Example.COM"}}),
           "VerifyEmailIdentity");
  ASSERT_EQ(h.verifier.mails.size(), 1u);
  EXPECT_EQ(h.verifier.mails[0].address, "someone@example.com");
  StatusOr<store::Identity> id = h.store.GetIdentity(h.account_id, "someone@example.com");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->type, store::IdentityType::kEmailAddress);
  EXPECT_EQ(id->status, store::VerificationStatus::kPending);
  EXPECT_EQ(h.verifier.mails[0].token, id->verification_token);

  // Again while pending: the same link is mailed again.
  ExpectOk(V1(h, "VerifyEmailAddress", {{"EmailAddress", "someone@example.com"}}),
           "VerifyEmailAddress", /*has_result=*/false);
  ASSERT_EQ(h.verifier.mails.size(), 2u);
  EXPECT_EQ(h.verifier.mails[1].token, id->verification_token);

  // After the deadline: a fresh link and deadline; the identity keeps its tags.
  h.clock.Advance(std::chrono::hours(25));
  ExpectOk(V1(h, "VerifyEmailIdentity", {{"EmailAddress", "someone@example.com"}}),
           "VerifyEmailIdentity");
  ASSERT_EQ(h.verifier.mails.size(), 3u);
  EXPECT_NE(h.verifier.mails[2].token, id->verification_token);
  StatusOr<store::Identity> again = h.store.GetIdentity(h.account_id, "someone@example.com");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, store::VerificationStatus::kPending);
  EXPECT_EQ(again->verification_token, h.verifier.mails[2].token);
  EXPECT_GT(again->token_expires, h.clock.Now());

  // Verified: nothing is mailed.
  ASSERT_TRUE(h.store
                  .SetIdentityStatus(h.account_id, "someone@example.com",
                                     store::VerificationStatus::kSuccess)
                  .ok());
  ExpectOk(V1(h, "VerifyEmailIdentity", {{"EmailAddress", "someone@example.com"}}),
           "VerifyEmailIdentity");
  EXPECT_EQ(h.verifier.mails.size(), 3u);
}

TEST(SesV1IdentityTest, VerifyBadNames) {
  ApiHarness h;
  ExpectV1Error(V1(h, "VerifyEmailIdentity"), 400, "MissingParameter",
                "The request must contain the parameter EmailAddress.");
  ExpectV1Error(V1(h, "VerifyEmailIdentity", {{"EmailAddress", "example.com"}}), 400,
                "InvalidParameterValue");
  ExpectV1Error(V1(h, "VerifyEmailIdentity", {{"EmailAddress", "a@b@c"}}), 400,
                "InvalidParameterValue");
  ExpectV1Error(V1(h, "VerifyDomainIdentity", {{"Domain", "a@example.com"}}), 400,
                "InvalidParameterValue");
  ExpectV1Error(V1(h, "VerifyDomainIdentity", {{"Domain", "localhost"}}), 400,
                "InvalidParameterValue");
  ExpectV1Error(V1(h, "VerifyDomainIdentity"), 400, "MissingParameter");
  EXPECT_THAT(h.verifier.mails, IsEmpty());
  StatusOr<std::vector<store::Identity>> all = h.store.ListIdentities(h.account_id, "", 10);
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(*all, IsEmpty());
}

TEST(SesV1IdentityTest, VerifyDomainIdentityReturnsItsToken) {
  ApiHarness h;
  HttpResponse r = V1(h, "VerifyDomainIdentity", {{"Domain", "Example.COM"}});
  ExpectOk(r, "VerifyDomainIdentity");
  StatusOr<store::Identity> id = h.store.GetIdentity(h.account_id, "example.com");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->type, store::IdentityType::kDomain);
  EXPECT_FALSE(id->dkim_selector.empty());  // the same record CreateEmailIdentity makes
  const std::string token = XmlText(r.body, "VerificationToken");
  EXPECT_EQ(token, id->verification_token);
  EXPECT_THAT(h.verifier.mails, IsEmpty());
  // Again: the same token; after the deadline too (a fresh deadline, same token and key).
  EXPECT_EQ(
      XmlText(V1(h, "VerifyDomainIdentity", {{"Domain", "example.com"}}).body, "VerificationToken"),
      token);
  h.clock.Advance(std::chrono::hours(73));
  EXPECT_EQ(
      XmlText(V1(h, "VerifyDomainIdentity", {{"Domain", "example.com"}}).body, "VerificationToken"),
      token);
  StatusOr<store::Identity> again = h.store.GetIdentity(h.account_id, "example.com");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, store::VerificationStatus::kPending);
  EXPECT_GT(again->token_expires, h.clock.Now());
  EXPECT_EQ(again->dkim_selector, id->dkim_selector);
}

TEST(SesV1IdentityTest, GetIdentityVerificationAttributes) {
  ApiHarness h;
  ExpectOk(V1(h, "VerifyDomainIdentity", {{"Domain", "example.com"}}), "VerifyDomainIdentity");
  ExpectOk(V1(h, "VerifyDomainIdentity", {{"Domain", "other.example"}}), "VerifyDomainIdentity");
  ExpectOk(V1(h, "VerifyEmailIdentity", {{"EmailAddress", "me@example.org"}}),
           "VerifyEmailIdentity");
  const std::string token = h.store.GetIdentity(h.account_id, "example.com")->verification_token;
  h.verifier.txt["_amazonses.example.com"] = token;  // published: verified on this look-up

  HttpResponse r = V1(h, "GetIdentityVerificationAttributes",
                      {{"Identities.member.1", "Example.com"},
                       {"Identities.member.2", "me@example.org"},
                       {"Identities.member.3", "unknown.example"},
                       {"Identities.member.4", "not an identity"},
                       {"Identities.member.5", "other.example"},
                       {"Identities.member.6", "Example.com"}});
  ExpectOk(r, "GetIdentityVerificationAttributes");
  std::vector<std::string> entries = XmlAll(r.body, "entry");
  ASSERT_EQ(entries.size(), 3u) << r.body;
  EXPECT_EQ(XmlText(entries[0], "key"), "Example.com");
  EXPECT_EQ(XmlText(entries[0], "VerificationStatus"), "Success");
  EXPECT_EQ(XmlText(entries[0], "VerificationToken"), token);
  EXPECT_EQ(XmlText(entries[1], "key"), "me@example.org");
  EXPECT_EQ(XmlText(entries[1], "VerificationStatus"), "Pending");
  EXPECT_EQ(XmlText(entries[1], "VerificationToken"), "<none>");
  EXPECT_EQ(XmlText(entries[2], "key"), "other.example");
  EXPECT_EQ(XmlText(entries[2], "VerificationStatus"), "Pending");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "example.com")->status,
            store::VerificationStatus::kSuccess);

  h.clock.Advance(std::chrono::hours(25));  // the address's link has expired
  r = V1(h, "GetIdentityVerificationAttributes", {{"Identities.member.1", "me@example.org"}});
  EXPECT_EQ(XmlText(r.body, "VerificationStatus"), "Failed");

  r = V1(h, "GetIdentityVerificationAttributes", {{"Identities", ""}});
  ExpectOk(r, "GetIdentityVerificationAttributes");
  EXPECT_THAT(r.body, HasSubstr("<VerificationAttributes></VerificationAttributes>"));
  ExpectV1Error(V1(h, "GetIdentityVerificationAttributes"), 400, "MissingParameter");
  Params many;
  for (int i = 1; i <= 101; ++i) {
    many.push_back(
        {"Identities.member." + std::to_string(i), "d" + std::to_string(i) + ".example"});
  }
  ExpectV1Error(V1(h, "GetIdentityVerificationAttributes", many), 400, "InvalidParameterValue");
}

TEST(SesV1IdentityTest, ListIdentitiesFiltersAndPages) {
  ApiHarness h;
  for (const char* name :
       {"a@example.com", "b.example", "c@example.com", "d.example", "e@example.com"}) {
    const bool domain = std::string(name).find('@') == std::string::npos;
    ExpectOk(V1(h, domain ? "VerifyDomainIdentity" : "VerifyEmailIdentity",
                {{domain ? "Domain" : "EmailAddress", name}}),
             domain ? "VerifyDomainIdentity" : "VerifyEmailIdentity");
  }
  HttpResponse r = V1(h, "ListIdentities");
  ExpectOk(r, "ListIdentities");
  EXPECT_THAT(XmlAll(r.body, "member"), ElementsAre("a@example.com", "b.example", "c@example.com",
                                                    "d.example", "e@example.com"));
  EXPECT_EQ(XmlText(r.body, "NextToken"), "<none>");

  r = V1(h, "ListIdentities", {{"IdentityType", "Domain"}});
  EXPECT_THAT(XmlAll(r.body, "member"), ElementsAre("b.example", "d.example"));

  // Pages of two addresses.
  std::vector<std::string> seen;
  Params p = {{"IdentityType", "EmailAddress"}, {"MaxItems", "2"}};
  for (int page = 0; page < 5; ++page) {
    r = V1(h, "ListIdentities", p);
    ExpectOk(r, "ListIdentities");
    for (const std::string& m : XmlAll(r.body, "member")) {
      seen.push_back(m);
    }
    const std::string next = XmlText(r.body, "NextToken");
    if (next == "<none>") {
      break;
    }
    p = {{"IdentityType", "EmailAddress"}, {"MaxItems", "2"}, {"NextToken", next}};
  }
  EXPECT_THAT(seen, ElementsAre("a@example.com", "c@example.com", "e@example.com"));

  ExpectV1Error(V1(h, "ListIdentities", {{"IdentityType", "DOMAIN"}}), 400,
                "InvalidParameterValue");
  for (const char* bad : {"0", "1001", "-1", "x", ""}) {
    ExpectV1Error(V1(h, "ListIdentities", {{"MaxItems", bad}}), 400, "InvalidParameterValue");
  }
  ExpectV1Error(V1(h, "ListIdentities", {{"NextToken", "!!"}}), 400, "InvalidParameterValue",
                "Invalid NextToken.");
}

TEST(SesV1IdentityTest, DeleteIdentity) {
  ApiHarness h;
  ExpectOk(V1(h, "VerifyEmailIdentity", {{"EmailAddress", "me@example.org"}}),
           "VerifyEmailIdentity");
  ExpectOk(V1(h, "DeleteIdentity", {{"Identity", "ME@example.org"}}), "DeleteIdentity");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "me@example.org").status().code(),
            StatusCode::kNotFound);
  // Not there (any more), or not an identity name at all: still a success, as at SES.
  ExpectOk(V1(h, "DeleteIdentity", {{"Identity", "me@example.org"}}), "DeleteIdentity");
  ExpectOk(V1(h, "DeleteIdentity", {{"Identity", "no such thing"}}), "DeleteIdentity");
  ExpectV1Error(V1(h, "DeleteIdentity"), 400, "MissingParameter",
                "The request must contain the parameter Identity.");
}

TEST(SesV1IdentityTest, SharesRecordsWithTheV2Api) {
  ApiHarness h;
  HttpResponse created =
      h.Call("POST", "/v2/email/identities", R"({"EmailIdentity":"shared@example.com"})");
  ASSERT_EQ(created.status, 200) << created.body;
  HttpResponse r = V1(h, "ListIdentities");
  EXPECT_THAT(XmlAll(r.body, "member"), ElementsAre("shared@example.com"));
  ExpectOk(V1(h, "DeleteIdentity", {{"Identity", "shared@example.com"}}), "DeleteIdentity");
  EXPECT_EQ(h.Call("GET", "/v2/email/identities/shared%40example.com").status, 404);
}

// ---------------------------------------------------------------- identity notifications

// A verified identity and a topic "bounces" of the harness's account; returns the topic ARN.
std::string NotificationSetUp(ApiHarness& h) {
  for (const char* name : {"example.com", "me@example.com", "pending.example"}) {
    store::Identity id;
    id.account_id = h.account_id;
    id.name = name;
    id.type = std::string_view(name).find('@') == std::string_view::npos
                  ? store::IdentityType::kDomain
                  : store::IdentityType::kEmailAddress;
    id.status = std::string_view(name) == "pending.example" ? store::VerificationStatus::kPending
                                                            : store::VerificationStatus::kSuccess;
    id.verification_token = std::string("tok-") + name;
    id.created = id.token_expires = h.clock.Now();
    EXPECT_TRUE(h.store.CreateIdentity(id).ok());
  }
  EXPECT_TRUE(h.store.CreateTopic(store::Topic{0, h.account_id, "bounces", h.clock.Now()}).ok());
  EXPECT_TRUE(h.store.CreateTopic(store::Topic{0, h.account_id, "complaints", h.clock.Now()}).ok());
  return "arn:aws:sns:us-east-1:" + store::AccountNumber(h.account_id) + ":bounces";
}

TEST(SesV1NotificationsTest, TopicsHeadersAndForwardingRoundTrip) {
  ApiHarness h;
  const std::string bounces = NotificationSetUp(h);
  const std::string complaints =
      "arn:aws:sns:us-east-1:" + store::AccountNumber(h.account_id) + ":complaints";
  ExpectOk(V1(h, "SetIdentityNotificationTopic",
              {{"Identity", "Example.COM"}, {"NotificationType", "Bounce"}, {"SnsTopic", bounces}}),
           "SetIdentityNotificationTopic");
  // By ARN, as SES allows.
  ExpectOk(V1(h, "SetIdentityNotificationTopic",
              {{"Identity", "arn:aws:ses:us-east-1:" + store::AccountNumber(h.account_id) +
                                ":identity/example.com"},
               {"NotificationType", "Complaint"},
               {"SnsTopic", complaints}}),
           "SetIdentityNotificationTopic");
  ExpectOk(V1(h, "SetIdentityHeadersInNotificationsEnabled",
              {{"Identity", "example.com"}, {"NotificationType", "Bounce"}, {"Enabled", "true"}}),
           "SetIdentityHeadersInNotificationsEnabled");
  ExpectOk(V1(h, "SetIdentityFeedbackForwardingEnabled",
              {{"Identity", "example.com"}, {"ForwardingEnabled", "false"}}),
           "SetIdentityFeedbackForwardingEnabled");
  StatusOr<store::Identity> id = h.store.GetIdentity(h.account_id, "example.com");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->bounce_topic, bounces);
  EXPECT_EQ(id->complaint_topic, complaints);
  EXPECT_TRUE(id->bounce_headers);
  EXPECT_FALSE(id->complaint_headers);
  EXPECT_FALSE(id->feedback_forwarding);

  HttpResponse r = V1(h, "GetIdentityNotificationAttributes",
                      {{"Identities.member.1", "example.com"},
                       {"Identities.member.2", "me@example.com"},
                       {"Identities.member.3", "nobody.example"}});
  ExpectOk(r, "GetIdentityNotificationAttributes");
  std::vector<std::string> entries = XmlAll(r.body, "entry");
  ASSERT_EQ(entries.size(), 2u) << r.body;
  EXPECT_EQ(XmlText(entries[0], "key"), "example.com");
  EXPECT_EQ(XmlText(entries[0], "BounceTopic"), bounces);
  EXPECT_EQ(XmlText(entries[0], "ComplaintTopic"), complaints);
  EXPECT_EQ(XmlText(entries[0], "DeliveryTopic"), "<none>");
  EXPECT_EQ(XmlText(entries[0], "ForwardingEnabled"), "false");
  EXPECT_EQ(XmlText(entries[0], "HeadersInBounceNotificationsEnabled"), "true");
  EXPECT_EQ(XmlText(entries[0], "HeadersInComplaintNotificationsEnabled"), "false");
  EXPECT_EQ(XmlText(entries[1], "key"), "me@example.com");
  EXPECT_EQ(XmlText(entries[1], "BounceTopic"), "<none>");
  EXPECT_EQ(XmlText(entries[1], "ForwardingEnabled"), "true");

  // While forwarding is off, neither feedback topic can go.
  ExpectV1Error(V1(h, "SetIdentityNotificationTopic",
                   {{"Identity", "example.com"}, {"NotificationType", "Bounce"}}),
                400, "InvalidParameterValue");
  EXPECT_EQ(h.store.GetIdentity(h.account_id, "example.com")->bounce_topic, bounces);
  // Forwarding back on: the bounce topic can go, and its headers go with it.
  ExpectOk(V1(h, "SetIdentityFeedbackForwardingEnabled",
              {{"Identity", "example.com"}, {"ForwardingEnabled", "true"}}),
           "SetIdentityFeedbackForwardingEnabled");
  ExpectOk(V1(h, "SetIdentityNotificationTopic",
              {{"Identity", "example.com"}, {"NotificationType", "Bounce"}, {"SnsTopic", ""}}),
           "SetIdentityNotificationTopic");
  id = h.store.GetIdentity(h.account_id, "example.com");
  EXPECT_EQ(id->bounce_topic, "");
  EXPECT_FALSE(id->bounce_headers);
  EXPECT_TRUE(id->feedback_forwarding);
}

TEST(SesV1NotificationsTest, RefusalsChangeNothing) {
  ApiHarness h;
  const std::string bounces = NotificationSetUp(h);
  const std::string other_account = "arn:aws:sns:us-east-1:100000009999:bounces";
  struct Case {
    std::string action;
    Params params;
    std::string code;
  };
  const std::vector<Case> cases = {
      {"SetIdentityNotificationTopic",
       {{"Identity", "nobody.example"}, {"NotificationType", "Bounce"}, {"SnsTopic", bounces}},
       "InvalidParameterValue"},
      {"SetIdentityNotificationTopic",  // not verified yet
       {{"Identity", "pending.example"}, {"NotificationType", "Bounce"}, {"SnsTopic", bounces}},
       "InvalidParameterValue"},
      {"SetIdentityNotificationTopic",
       {{"Identity", "example.com"}, {"NotificationType", "Open"}, {"SnsTopic", bounces}},
       "InvalidParameterValue"},
      {"SetIdentityNotificationTopic",
       {{"Identity", "example.com"}, {"NotificationType", "Bounce"}, {"SnsTopic", other_account}},
       "InvalidParameterValue"},
      {"SetIdentityNotificationTopic",
       {{"Identity", "example.com"}, {"NotificationType", "Bounce"}, {"SnsTopic", bounces + "x"}},
       "InvalidParameterValue"},
      {"SetIdentityNotificationTopic",
       {{"Identity", "example.com"},
        {"NotificationType", "Bounce"},
        {"SnsTopic", "arn:aws:sns:eu-west-1:" + store::AccountNumber(h.account_id) + ":bounces"}},
       "InvalidParameterValue"},
      {"SetIdentityNotificationTopic", {{"NotificationType", "Bounce"}}, "MissingParameter"},
      {"SetIdentityNotificationTopic", {{"Identity", "example.com"}}, "MissingParameter"},
      {"SetIdentityHeadersInNotificationsEnabled",  // no topic for Delivery
       {{"Identity", "example.com"}, {"NotificationType", "Delivery"}, {"Enabled", "true"}},
       "InvalidParameterValue"},
      {"SetIdentityHeadersInNotificationsEnabled",
       {{"Identity", "example.com"}, {"NotificationType", "Bounce"}, {"Enabled", "yes"}},
       "InvalidParameterValue"},
      {"SetIdentityFeedbackForwardingEnabled",  // no bounce or complaint topic
       {{"Identity", "example.com"}, {"ForwardingEnabled", "false"}},
       "InvalidParameterValue"},
      {"SetIdentityFeedbackForwardingEnabled", {{"Identity", "example.com"}}, "MissingParameter"},
      {"GetIdentityNotificationAttributes", {}, "MissingParameter"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.action + " " + Encode(c.params));
    ExpectV1Error(V1(h, c.action, c.params), 400, c.code);
  }
  for (const char* name : {"example.com", "pending.example"}) {
    StatusOr<store::Identity> id = h.store.GetIdentity(h.account_id, name);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(id->bounce_topic, "");
    EXPECT_EQ(id->delivery_topic, "");
    EXPECT_FALSE(id->delivery_headers);
    EXPECT_TRUE(id->feedback_forwarding);
  }
}

}  // namespace
}  // namespace herald::api
