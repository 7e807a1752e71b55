#include "api/query_form.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

QueryForm MustParse(std::string_view body) {
  QueryForm form;
  std::optional<ApiError> e = ParseQueryForm(body, QueryFormLimits{}, &form);
  EXPECT_FALSE(e.has_value()) << (e ? e->message : "");
  return form;
}

ApiError MustFail(std::string_view body, const QueryFormLimits& limits = QueryFormLimits{}) {
  QueryForm form;
  std::optional<ApiError> e = ParseQueryForm(body, limits, &form);
  EXPECT_TRUE(e.has_value()) << body;
  return e.value_or(ApiError{});
}

// ---------------------------------------------------------------- parsing

TEST(QueryFormTest, DecodesPlusPercentAndEmptyValues) {
  QueryForm f = MustParse(
      "Action=SendEmail&Version=2010-12-01&Message.Subject.Data=Hello+there%21%20%C3%A9"
      "&Empty=&Bare&&Source=a%40b.example");
  EXPECT_EQ(f.size(), 6u);
  ASSERT_NE(f.Get("Action"), nullptr);
  EXPECT_EQ(*f.Get("Action"), "SendEmail");
  EXPECT_EQ(*f.Get("Message.Subject.Data"), "Hello there! \xC3\xA9");
  EXPECT_EQ(*f.Get("Empty"), "");
  EXPECT_EQ(*f.Get("Bare"), "");
  EXPECT_EQ(*f.Get("Source"), "a@b.example");
  EXPECT_EQ(f.Get("Missing"), nullptr);
  EXPECT_EQ(f.Get("action"), nullptr);  // names are case-sensitive
}

TEST(QueryFormTest, EncodedNamesAndEqualsInValues) {
  QueryForm f = MustParse("Tags.member.1.Name=a%3Db&X%2EY=1=2");
  EXPECT_EQ(*f.Get("Tags.member.1.Name"), "a=b");
  EXPECT_EQ(*f.Get("X.Y"), "1=2");  // only the first '=' separates
}

TEST(QueryFormTest, EmptyBodyIsEmptyForm) {
  EXPECT_EQ(MustParse("").size(), 0u);
  EXPECT_EQ(MustParse("&&&").size(), 0u);
}

TEST(QueryFormTest, MalformedBodiesAreInvalidQueryParameter) {
  for (const char* body :
       {"Action=%", "Action=%4", "Action=%zz", "A%G1=x", "=value", "Action=a&Action=b", "Na%0Ame=x",
        "Na me=x", "N%7Fx=1", "Subject=%C3%28", "Subject=%ED%A0%80", "%00=1"}) {
    ApiError e = MustFail(body);
    EXPECT_EQ(e.status, 400) << body;
    EXPECT_EQ(e.code, "InvalidQueryParameter") << body;
  }
  EXPECT_THAT(MustFail("Action=a&Action=b").message, HasSubstr("Action appears more than once"));
  EXPECT_THAT(MustFail("Subject=%C3%28").message, HasSubstr("not valid UTF-8"));
}

TEST(QueryFormTest, LimitsAreEnforced) {
  QueryFormLimits limits;
  limits.max_body_bytes = 16;
  EXPECT_THAT(MustFail("Action=0123456789", limits).message, HasSubstr("larger than 16 bytes"));
  QueryForm ok;
  EXPECT_FALSE(ParseQueryForm("Action=012345678", limits, &ok));

  limits = QueryFormLimits{};
  limits.max_params = 3;
  EXPECT_THAT(MustFail("a=1&b=2&c=3&d=4", limits).message, HasSubstr("more than 3 parameters"));
  EXPECT_FALSE(ParseQueryForm("a=1&b=2&c=3", limits, &ok));

  limits = QueryFormLimits{};
  limits.max_name_bytes = 4;
  EXPECT_EQ(MustFail("abcde=1", limits).code, "InvalidQueryParameter");
  EXPECT_FALSE(ParseQueryForm("abcd=1", limits, &ok));
}

TEST(QueryFormTest, ParseResetsTheOutput) {
  QueryForm f = MustParse("a=1");
  EXPECT_FALSE(ParseQueryForm("b=2", QueryFormLimits{}, &f));
  EXPECT_EQ(f.Get("a"), nullptr);
  EXPECT_EQ(*f.Get("b"), "2");
}

// ---------------------------------------------------------------- lists

TEST(QueryFormTest, ListReadsMembersInIndexOrder) {
  // Given out of order, and with two-digit indices that sort before single digits as text.
  std::string body;
  for (int i = 12; i >= 1; --i) {
    body += "L.member." + std::to_string(i) + "=v" + std::to_string(i) + "&";
  }
  QueryForm f = MustParse(body + "Other.member.1=x&LX.member.1=y");
  std::vector<std::string> out;
  ASSERT_FALSE(f.List("L", 50, &out));
  ASSERT_EQ(out.size(), 12u);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(out[i], "v" + std::to_string(i + 1));
  }
}

TEST(QueryFormTest, AbsentAndEmptyLists) {
  QueryForm f = MustParse("Empty=&Full=x");
  std::vector<std::string> out = {"stale"};
  ASSERT_FALSE(f.List("Absent", 50, &out));
  EXPECT_THAT(out, IsEmpty());
  ASSERT_FALSE(f.List("Empty", 50, &out));  // botocore's encoding of []
  EXPECT_THAT(out, IsEmpty());
  std::optional<ApiError> e = f.List("Full", 50, &out);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "InvalidParameterValue");
}

TEST(QueryFormTest, BadListsAreInvalidParameterValue) {
  struct Case {
    const char* body;
    const char* text;
  };
  for (const Case& c :
       {Case{"L.member.1=a&L.member.3=c", "without a gap"}, Case{"L.member.2=b", "without a gap"},
        Case{"L.member.0=a", "numbered from 1"}, Case{"L.member.01=a", "numbered from 1"},
        Case{"L.member.x=a", "numbered from 1"}, Case{"L.member.=a", "numbered from 1"},
        Case{"L.member.-1=a", "numbered from 1"},
        Case{"L.member.1=a&L.member.2=b&L.member.3=c&L.member.4=d", "at most 3"},
        Case{"L.member.99999999999=a", "numbered from 1"},
        Case{"L.member.1.Name=a", "expected strings"},
        Case{"L=&L.member.1=a", "expected a list"}}) {
    QueryForm f = MustParse(c.body);
    std::vector<std::string> out;
    std::optional<ApiError> e = f.List("L", 3, &out);
    ASSERT_TRUE(e) << c.body;
    EXPECT_EQ(e->status, 400) << c.body;
    EXPECT_EQ(e->code, "InvalidParameterValue") << c.body;
    EXPECT_THAT(e->message, HasSubstr(c.text)) << c.body;
  }
}

TEST(QueryFormTest, CountMembersOfStructureLists) {
  QueryForm f = MustParse(
      "Tags.member.2.Name=b&Tags.member.1.Name=a&Tags.member.1.Value=1&Tags.member.2.Value=2");
  size_t n = 99;
  ASSERT_FALSE(f.CountMembers("Tags", 50, &n));
  EXPECT_EQ(n, 2u);
  ASSERT_FALSE(f.CountMembers("Nothing", 50, &n));
  EXPECT_EQ(n, 0u);
  QueryForm gap = MustParse("Tags.member.1.Name=a&Tags.member.3.Name=c");
  EXPECT_TRUE(gap.CountMembers("Tags", 50, &n));
  EXPECT_TRUE(f.CountMembers("Tags", 1, &n));
}

// ---------------------------------------------------------------- XML

TEST(QueryXmlTest, EscapesMarkupAndReplacesWhatXmlCannotCarry) {
  EXPECT_EQ(XmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(XmlEscape("tab\tnl\ncr\r"), "tab\tnl\ncr&#13;");
  EXPECT_EQ(XmlEscape(std::string("nul\0x", 5)), "nul\xEF\xBF\xBDx");
  EXPECT_EQ(XmlEscape("\x01\x1b"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  // Invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong form, a
  // surrogate, U+FFFF.
  EXPECT_EQ(XmlEscape("\x80"), "\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("a\xC3"), "a\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBF"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(XmlElement("Code", "<x>"), "<Code>&lt;x&gt;</Code>");
}

TEST(QueryXmlTest, Doubles) {
  EXPECT_EQ(XmlDouble(200), "200.0");
  EXPECT_EQ(XmlDouble(0), "0.0");
  EXPECT_EQ(XmlDouble(-1), "-1.0");
  EXPECT_EQ(XmlDouble(0.5), "0.5");
  EXPECT_EQ(XmlDouble(14), "14.0");
  EXPECT_EQ(XmlDouble(1e300), "1e+300");
}

TEST(QueryXmlTest, ResultEnvelope) {
  EXPECT_EQ(QueryResultXml("SendEmail", std::string("<MessageId>m-1</MessageId>"), "req-1"),
            "<SendEmailResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"
            "<SendEmailResult><MessageId>m-1</MessageId></SendEmailResult>"
            "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
            "</SendEmailResponse>\n");
  EXPECT_EQ(QueryResultXml("VerifyEmailAddress", std::nullopt, "r"),
            "<VerifyEmailAddressResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\">"
            "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
            "</VerifyEmailAddressResponse>\n");
}

TEST(QueryXmlTest, ErrorEnvelope) {
  EXPECT_EQ(QueryErrorXml(ApiError{400, "MessageRejected", "Bad <thing> & more"}, "id-9"),
            "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><Error>"
            "<Type>Sender</Type><Code>MessageRejected</Code>"
            "<Message>Bad &lt;thing&gt; &amp; more</Message></Error>"
            "<RequestId>id-9</RequestId></ErrorResponse>\n");
  EXPECT_THAT(QueryErrorXml(ApiError{500, "InternalFailure", "x"}, "i"),
              HasSubstr("<Type>Receiver</Type>"));
  HttpResponse r = QueryErrorResponse(ApiError{400, "Throttling", "slow"});
  EXPECT_EQ(r.status, 400);
  ASSERT_NE(r.FindHeader("Content-Type"), nullptr);
  EXPECT_EQ(*r.FindHeader("Content-Type"), "text/xml");
  ASSERT_NE(r.FindHeader("x-amzn-RequestId"), nullptr);
  EXPECT_THAT(r.body,
              HasSubstr("<RequestId>" + *r.FindHeader("x-amzn-RequestId") + "</RequestId>"));
}

// ---------------------------------------------------------------- error mapping

TEST(V1ErrorTest, FromV2) {
  struct Case {
    ApiError v2;
    int status;
    const char* code;
    const char* message;  // nullptr: unchanged
  };
  const Case cases[] = {
      {{400, "BadRequestException", "bad"}, 400, "InvalidParameterValue", nullptr},
      {{404, "NotFoundException", "Configuration set <x> does not exist."},
       400,
       "ConfigurationSetDoesNotExist",
       nullptr},
      {{404, "NotFoundException", "List with name x does not exist."},
       400,
       "InvalidParameterValue",
       nullptr},
      {{400, "SendingPausedException", "Sending is paused for configuration set s."},
       400,
       "ConfigurationSetSendingPausedException",
       nullptr},
      {{400, "SendingPausedException", "Sending is paused for this account."},
       400,
       "AccountSendingPausedException",
       nullptr},
      {{400, "AccountSuspendedException", "suspended"},
       400,
       "AccountSendingPausedException",
       nullptr},
      {{400, "MessageRejected", "Email address is not verified."}, 400, "MessageRejected", nullptr},
      {{400, "MailFromDomainNotVerifiedException", "m"},
       400,
       "MailFromDomainNotVerifiedException",
       nullptr},
      {{429, "TooManyRequestsException", "Maximum sending rate exceeded."},
       400,
       "Throttling",
       "Maximum sending rate exceeded."},
      {{429, "TooManyRequestsException", "Daily message quota exceeded."},
       400,
       "Throttling",
       "Daily message quota exceeded."},
      {{400, "LimitExceededException", "Daily sending quota"},
       400,
       "Throttling",
       "Daily message quota exceeded."},
      {{400, "LimitExceededException", "too fast"},
       400,
       "Throttling",
       "Maximum sending rate exceeded."},
      {{500, "InternalServiceErrorException", "Internal service error."},
       500,
       "InternalFailure",
       nullptr},
      {{503, "ServiceUnavailable", "later"}, 500, "InternalFailure", nullptr},
      {{400, "AlreadyExistsException", "a"}, 400, "AlreadyExists", nullptr},
      {{403, "InvalidSignatureException", "sig"}, 403, "SignatureDoesNotMatch", nullptr},
      {{403, "IncompleteSignatureException", "sig"}, 403, "IncompleteSignature", nullptr},
      {{403, "MissingAuthenticationTokenException", "m"},
       403,
       "MissingAuthenticationToken",
       nullptr},
      {{403, "UnrecognizedClientException", "u"}, 403, "InvalidClientTokenId", nullptr},
  };
  for (const Case& c : cases) {
    ApiError v1 = V1ErrorFromV2(c.v2);
    EXPECT_EQ(v1.status, c.status) << c.v2.code << ": " << c.v2.message;
    EXPECT_EQ(v1.code, c.code) << c.v2.code << ": " << c.v2.message;
    EXPECT_EQ(v1.message, c.message ? c.message : c.v2.message) << c.v2.code;
  }
}

TEST(V1ErrorTest, ForRejection) {
  using sending::RejectKind;
  struct Case {
    RejectKind kind;
    const char* message;
    int status;
    const char* code;
    const char* v1_message;
  };
  const Case cases[] = {
      {RejectKind::kMessageRejected, "m", 400, "MessageRejected", "m"},
      {RejectKind::kNotVerified, "nv", 400, "MessageRejected", "nv"},
      {RejectKind::kTooLarge, "big", 400, "MessageRejected", "big"},
      {RejectKind::kBadRequest, "b", 400, "InvalidParameterValue", "b"},
      // The kind decides, whatever the words.
      {RejectKind::kSendingPaused, "paused", 400, "AccountSendingPausedException", "paused"},
      {RejectKind::kConfigSetPaused, "paused", 400, "ConfigurationSetSendingPausedException",
       "paused"},
      {RejectKind::kAccountSuspended, "susp", 400, "AccountSendingPausedException", "susp"},
      {RejectKind::kConfigSetNotFound, "Configuration set <x> does not exist.", 400,
       "ConfigurationSetDoesNotExist", "Configuration set <x> does not exist."},
      {RejectKind::kMaxSendRate, "", 400, "Throttling", "Maximum sending rate exceeded."},
      {RejectKind::kDailyQuota, "", 400, "Throttling", "Daily message quota exceeded."},
      {RejectKind::kTemporary, "Temporary service failure", 500, "InternalFailure",
       "Temporary service failure"},
  };
  for (const Case& c : cases) {
    ApiError v1 = V1ErrorForRejection(sending::Rejection{c.kind, c.message});
    EXPECT_EQ(v1.status, c.status) << c.code;
    EXPECT_EQ(v1.code, c.code) << c.message;
    EXPECT_EQ(v1.message, c.v1_message) << c.code;
  }
}

TEST(V1ErrorTest, HelperErrors) {
  ApiError missing = MissingQueryParameter("Source");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.code, "MissingParameter");
  EXPECT_EQ(missing.message, "The request must contain the parameter Source.");
  EXPECT_EQ(InvalidParameterValue("x").code, "InvalidParameterValue");
}

}  // namespace
}  // namespace herald::api
