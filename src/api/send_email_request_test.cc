#include "api/send_email_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/crypto.h"

namespace herald::api {
namespace {

using ::testing::HasSubstr;

TEST(ParseSendEmailRequestTest, FeedbackForwardingAddressIsCheckedAndKept) {
  const std::string simple =
      R"("Destination":{"ToAddresses":["b@example.org"]},"Content":{"Simple":{"Subject":)"
      R"({"Data":"s"},"Body":{"Text":{"Data":"t"}}}}})";
  sending::Submission s;
  auto e = ParseSendEmailRequest(R"({"FromEmailAddress":"a@example.com",)"
                                 R"("FeedbackForwardingEmailAddress":"Bounces@Example.COM",)" +
                                     simple,
                                 {}, &s);
  ASSERT_FALSE(e) << e->message;
  EXPECT_EQ(s.feedback_address, "Bounces@example.com");  // the domain normalised
  for (const char* bad :
       {R"("x@example.com\r\nBcc: y@example.com")", R"("not an address")", R"(42)"}) {
    sending::Submission t;
    auto err = ParseSendEmailRequest(
        std::string(R"({"FromEmailAddress":"a@example.com","FeedbackForwardingEmailAddress":)") +
            bad + "," + simple,
        {}, &t);
    ASSERT_TRUE(err) << bad;
    EXPECT_EQ(err->code, "BadRequestException") << bad;
    EXPECT_TRUE(t.feedback_address.empty());
  }
}

TEST(ParseSendEmailRequestTest, RawWithoutAnyRecipient) {
  sending::Submission s;
  const std::string mime = "From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n";
  auto e = ParseSendEmailRequest(R"({"Content":{"Raw":{"Data":")" + Base64Encode(mime) + R"("}}})",
                                 {}, &s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "BadRequestException");
  EXPECT_EQ(e->message, "Destination must contain at least one recipient address.");
}

TEST(ParseSendEmailRequestTest, RawHeaderRecipientsAreCounted) {
  sending::Submission s;
  SendEmailLimits limits;
  limits.max_recipients = 2;
  const std::string mime =
      "From: a@example.com\r\nTo: b@example.org, c@example.org\r\nCc: d@example.org\r\n"
      "Subject: x\r\n\r\nbody\r\n";
  auto e = ParseSendEmailRequest(R"({"Content":{"Raw":{"Data":")" + Base64Encode(mime) + R"("}}})",
                                 limits, &s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "BadRequestException");
  EXPECT_EQ(e->message, "Recipient count exceeds 2.");
}

TEST(ParseSendEmailRequestTest, UnknownMembersAreIgnoredAndNullIsAbsent) {
  sending::Submission s;
  auto e = ParseSendEmailRequest(
      R"({"FromEmailAddress":"a@example.com","TenantName":"t1","EndpointId":null,)"
      R"("ReplyToAddresses":null,"Destination":{"ToAddresses":["b@example.org"]},)"
      R"("Content":{"Simple":{"Subject":{"Data":"s"},"Body":{"Text":{"Data":"t"}}}}})",
      {}, &s);
  ASSERT_FALSE(e) << e->message;
  EXPECT_EQ(s.recipients, std::vector<std::string>{"b@example.org"});
  EXPECT_EQ(s.source, "a@example.com");
}

TEST(ParseSendEmailRequestTest, HeadersAndAttachmentsReachTheMessage) {
  sending::Submission s;
  auto e = ParseSendEmailRequest(
      R"({"FromEmailAddress":"a@example.com","Destination":{"ToAddresses":["b@example.org"]},)"
      R"("Content":{"Simple":{"Subject":{"Data":"s"},"Body":{"Text":{"Data":"t"}},)"
      R"("Headers":[{"Name":"X-Campaign","Value":"spring"}],)"
      R"("Attachments":[{"RawContent":")" +
          Base64Encode("attachment bytes") +
          R"(","FileName":"notes.txt","ContentType":"text/plain"}]}}})",
      {}, &s);
  ASSERT_FALSE(e) << e->message;
  EXPECT_THAT(s.message, HasSubstr("X-Campaign: spring\r\n"));
  EXPECT_THAT(s.message, HasSubstr("notes.txt"));
  EXPECT_THAT(s.message, HasSubstr(Base64Encode("attachment bytes")));
  EXPECT_THAT(s.message, HasSubstr("multipart/mixed"));
}

// As at SES, a template that does not render is accepted; the submission carries the
// Rendering Failure for the sending service to publish.
TEST(ParseSendEmailRequestTest, RenderingFailureIsCarriedNotRefused) {
  sending::Submission s;
  auto e = ParseSendEmailRequest(
      R"({"FromEmailAddress":"a@example.com","Destination":{"ToAddresses":["b@example.org"]},)"
      R"("Content":{"Template":{"TemplateContent":{"Subject":"Hi {{missing}}","Text":"ok"},)"
      R"("TemplateData":"{}"}}})",
      {}, &s);
  ASSERT_FALSE(e) << e->message;
  ASSERT_TRUE(s.rendering_failure.has_value());
  EXPECT_EQ(s.rendering_failure->error_message,
            "Attribute 'missing' is not present in the rendering data.");
  EXPECT_THAT(s.message, HasSubstr("ok"));
}

TEST(ParseSendEmailRequestTest, StoredTemplatesComeFromTheLookup) {
  TemplateLookup lookup = [](const std::string& name) -> StatusOr<TemplateParts> {
    if (name != "welcome") return NotFoundError("no");
    return TemplateParts{"Welcome {{name}}", "Hello {{name}}, {{#if vip}}VIP{{else}}guest{{/if}}",
                         ""};
  };
  const std::string head =
      R"({"FromEmailAddress":"a@example.com","Destination":{"ToAddresses":["b@example.org"]},)";
  sending::Submission s;
  auto e = ParseSendEmailRequest(head + R"("Content":{"Template":{"TemplateName":"welcome",)"
                                        R"("TemplateData":"{\"name\":\"Ana\",\"vip\":true}"}}})",
                                 {}, &s, &lookup);
  ASSERT_FALSE(e) << e->message;
  EXPECT_FALSE(s.rendering_failure.has_value());
  EXPECT_THAT(s.message, HasSubstr("Subject: Welcome Ana\r\n"));
  EXPECT_THAT(s.message, HasSubstr("Hello Ana, VIP"));
  // By ARN: the name after the last '/'.
  sending::Submission by_arn;
  e = ParseSendEmailRequest(
      head + R"("Content":{"Template":{"TemplateArn":"arn:aws:ses:us-east-1:1:template/welcome",)"
             R"("TemplateData":"{}"}}})",
      {}, &by_arn, &lookup);
  ASSERT_FALSE(e) << e->message;
  ASSERT_TRUE(by_arn.rendering_failure.has_value());
  EXPECT_EQ(by_arn.rendering_failure->template_name, "welcome");
  // Unknown: NotFoundException with SES's text.
  sending::Submission missing;
  e = ParseSendEmailRequest(head + R"("Content":{"Template":{"TemplateName":"promo"}}})", {},
                            &missing, &lookup);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "NotFoundException");
  EXPECT_EQ(e->message, "Template promo does not exist.");
}

TEST(ParseSendEmailRequestTest, OversizedRawIsRefusedBeforeDecoding) {
  sending::Submission s;
  SendEmailLimits limits;
  limits.max_message_bytes = 10;
  auto e = ParseSendEmailRequest(
      R"({"Destination":{"ToAddresses":["b@example.org"]},"Content":{"Raw":{"Data":")" +
          std::string(400, 'A') + R"("}}})",
      limits, &s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "MessageRejected");
}

}  // namespace
}  // namespace herald::api
