#include "api/send_email_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/crypto.h"

namespace herald::api {
namespace {

using ::testing::HasSubstr;

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

TEST(ParseSendEmailRequestTest, RenderingFailureIsBadRequest) {
  sending::Submission s;
  auto e = ParseSendEmailRequest(
      R"({"FromEmailAddress":"a@example.com","Destination":{"ToAddresses":["b@example.org"]},)"
      R"("Content":{"Template":{"TemplateContent":{"Subject":"Hi {{missing}}"},)"
      R"("TemplateData":"{}"}}})",
      {}, &s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "BadRequestException");
  EXPECT_THAT(e->message, HasSubstr("Rendering failure: "));
  EXPECT_THAT(e->message, HasSubstr("missing"));
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
