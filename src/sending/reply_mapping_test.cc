#include "sending/reply_mapping.h"

#include <gtest/gtest.h>

namespace herald::sending {
namespace {

TEST(ReplyMappingTest, SmtpTextsFollowSes) {
  EXPECT_EQ(SmtpReplyFor({RejectKind::kNotVerified, "Email address is not verified. x"}),
            "554 Message rejected: Email address is not verified. x");
  EXPECT_EQ(SmtpReplyFor({RejectKind::kTooLarge, ""}), "552 Message is too long.");
  EXPECT_EQ(SmtpReplyFor({RejectKind::kMaxSendRate, ""}),
            "454 Throttling failure: Maximum sending rate exceeded.");
  EXPECT_EQ(SmtpReplyFor({RejectKind::kDailyQuota, ""}),
            "454 Throttling failure: Daily message quota exceeded.");
  EXPECT_EQ(SmtpReplyFor({RejectKind::kTemporary, "x"}), "451 Temporary service failure");
  // Client text can never split the reply into two lines.
  EXPECT_EQ(SmtpReplyFor({RejectKind::kMessageRejected, "a\r\n250 ok"}),
            "554 Message rejected: a  250 ok");
}

TEST(ReplyMappingTest, HttpErrorsFollowSes) {
  auto e = HttpErrorFor({RejectKind::kMaxSendRate, ""});
  EXPECT_EQ(e.status, 429);
  EXPECT_EQ(e.code, "TooManyRequestsException");
  EXPECT_EQ(e.message, "Maximum sending rate exceeded.");
  EXPECT_EQ(HttpErrorFor({RejectKind::kSendingPaused, "p"}).code, "SendingPausedException");
  EXPECT_EQ(HttpErrorFor({RejectKind::kConfigSetNotFound, "c"}).status, 404);
  EXPECT_EQ(HttpErrorFor({RejectKind::kNotVerified, "v"}).code, "MessageRejected");
}

TEST(ReplyMappingTest, PausedConfigurationSet) {
  const Rejection r{RejectKind::kConfigSetPaused, "Sending is paused for configuration set tx."};
  const HttpError e = HttpErrorFor(r);
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "SendingPausedException");
  EXPECT_EQ(e.message, r.message);
  EXPECT_EQ(SmtpReplyFor(r), "554 Message rejected: Sending is paused for configuration set tx.");
}

}  // namespace
}  // namespace herald::sending
