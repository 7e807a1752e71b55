#include "feedback/report.h"

#include <gtest/gtest.h>

#include <string>

#include "feedback/arf.h"
#include "feedback/dsn.h"
#include "feedback/mime_tree.h"

namespace herald::feedback {
namespace {

// LF line ends in the literals below; a few tests convert them to CRLF.
std::string Crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

// Whether `r` is a bounce read as `format` with one failed recipient, `address`, for
// `reason`; says what differs when it is not.
::testing::AssertionResult IsOneBounce(const Report& r, std::string_view format,
                                       std::string_view address, Reason reason) {
  if (r.kind != FeedbackKind::kBounce) {
    return ::testing::AssertionFailure() << "kind " << FeedbackKindName(r.kind);
  }
  if (r.format != format) return ::testing::AssertionFailure() << "format " << r.format;
  if (r.recipients.size() != 1) {
    return ::testing::AssertionFailure() << r.recipients.size() << " recipients";
  }
  const ReportedRecipient& rr = r.recipients[0];
  if (rr.address != address) return ::testing::AssertionFailure() << "address " << rr.address;
  if (rr.verdict.reason != reason) {
    return ::testing::AssertionFailure() << "reason " << ReasonName(rr.verdict.reason);
  }
  return ::testing::AssertionSuccess();
}

constexpr std::string_view kPostfixDsn = R"(Return-Path: <>
From: MAILER-DAEMON@relay.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: b-abc@bounces.sender.example
Date: Mon, 23 Nov 2026 04:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B1"

--B1
Content-Type: text/plain; charset=us-ascii

This is the mail system at host relay.example.net.

<gone@dest.example>: host mx.dest.example[192.0.2.7] said: 550 5.1.1
    <gone@dest.example>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net
Arrival-Date: Mon, 23 Nov 2026 03:59:58 +0000

Final-Recipient: rfc822; gone@dest.example
Original-Recipient: rfc822;gone@dest.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.dest.example
Diagnostic-Code: smtp; 550 5.1.1 <gone@dest.example>: Recipient address
    rejected: User unknown in local recipient table

Final-Recipient: rfc822; full@dest.example
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 <full@dest.example>: Mailbox full

--B1
Content-Type: text/rfc822-headers

From: Sender <app@sender.example>
To: gone@dest.example, full@dest.example
Subject: Your receipt
Message-ID: <0100019a1b2c3d4e-5f6a7b8c-9d0e-1f2a-3b4c-5d6e7f8a9b0c-000000@sender.example>

--B1--
)";

TEST(ParseFeedbackTest, Rfc3464ReportWithTwoRecipients) {
  for (const std::string& input : {std::string(kPostfixDsn), Crlf(kPostfixDsn)}) {
    Report r = ParseFeedback(input);
    EXPECT_EQ(r.kind, FeedbackKind::kBounce);
    EXPECT_EQ(r.format, "rfc3464");
    EXPECT_EQ(r.reporting_mta, "relay.example.net");
    ASSERT_EQ(r.recipients.size(), 2u);
    const ReportedRecipient& gone = r.recipients[0];
    EXPECT_EQ(gone.address, "gone@dest.example");
    EXPECT_EQ(gone.verdict.reason, Reason::kUserUnknown);
    EXPECT_TRUE(gone.verdict.hard);
    EXPECT_EQ(gone.verdict.bounce_type, "Permanent");
    EXPECT_EQ(gone.verdict.bounce_sub_type, "NoEmail");
    EXPECT_EQ(gone.verdict.status, "5.1.1");
    EXPECT_EQ(gone.verdict.action, "failed");
    EXPECT_EQ(gone.reply_code, 550);
    EXPECT_EQ(gone.remote_mta, "mx.dest.example");
    EXPECT_EQ(gone.verdict.diagnostic_code,
              "smtp; 550 5.1.1 <gone@dest.example>: Recipient address rejected: User unknown in "
              "local recipient table");
    const ReportedRecipient& full = r.recipients[1];
    EXPECT_EQ(full.verdict.reason, Reason::kMailboxFull);
    EXPECT_FALSE(full.verdict.hard);
    EXPECT_EQ(full.verdict.action, "delayed");
    EXPECT_EQ(full.verdict.bounce_sub_type, "MailboxFull");
    EXPECT_EQ(r.original.message_id,
              "0100019a1b2c3d4e-5f6a7b8c-9d0e-1f2a-3b4c-5d6e7f8a9b0c-000000@sender.example");
    EXPECT_EQ(r.original.subject, "Your receipt");
  }
}

TEST(ParseFeedbackTest, DeliveredReportIsNotABounce) {
  std::string dsn(kPostfixDsn);
  size_t p;
  while ((p = dsn.find("Action: failed")) != std::string::npos)
    dsn.replace(p, 14, "Action: relayed");
  while ((p = dsn.find("Action: delayed")) != std::string::npos) {
    dsn.replace(p, 15, "Action: delivered");
  }
  Report r = ParseFeedback(dsn);
  EXPECT_EQ(r.kind, FeedbackKind::kDelivered);
  EXPECT_TRUE(r.recipients.empty());
}

constexpr std::string_view kArf = R"(From: <abuse@isp.example>
To: <fbl@sender.example>
Subject: FW: Your receipt
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="part"

--part
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.1.

--part
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <b-xyz@bounces.sender.example>
Original-Rcpt-To: <xxxxxxxx@isp.example>
Arrival-Date: Thu, 8 Mar 2026 14:00:00 EDT
Source-IP: 192.0.2.1
Reported-Domain: sender.example

--part
Content-Type: message/rfc822

From: <app@sender.example>
To: <someone@isp.example>
Subject: Your receipt
Message-ID: <abc-123@sender.example>

Hello.
--part--
)";

TEST(ParseFeedbackTest, ArfComplaintWithRedactedRecipient) {
  Report r = ParseFeedback(kArf);
  EXPECT_EQ(r.kind, FeedbackKind::kComplaint);
  EXPECT_EQ(r.complaint.feedback_type, "abuse");
  EXPECT_EQ(r.complaint.user_agent, "SomeGenerator/1.0");
  EXPECT_EQ(r.complaint.arrival_date, "Thu, 8 Mar 2026 14:00:00 EDT");
  EXPECT_EQ(r.complaint.source_ip, "192.0.2.1");
  EXPECT_EQ(r.complaint.original_mail_from, "b-xyz@bounces.sender.example");
  ASSERT_EQ(r.complaint.original_rcpt_to.size(), 1u);
  EXPECT_TRUE(r.complaint.redacted);
  EXPECT_EQ(r.original.message_id, "abc-123@sender.example");
  EXPECT_TRUE(r.recipients.empty());
}

TEST(ParseFeedbackTest, ArfFieldsAlone) {
  ComplaintReport c = ParseFeedbackReportFields(
      "Feedback-Type: Opt-Out\nOriginal-Rcpt-To: a@b.example\nOriginal-Rcpt-To: c@d.example\n");
  EXPECT_EQ(c.feedback_type, "opt-out");
  ASSERT_EQ(c.original_rcpt_to.size(), 2u);
  EXPECT_EQ(c.original_rcpt_to[1], "c@d.example");
  EXPECT_FALSE(c.redacted);
  EXPECT_TRUE(LooksRedacted("xxxx@isp.example"));
  EXPECT_TRUE(LooksRedacted("redacted"));
  EXPECT_FALSE(LooksRedacted("max@isp.example"));
}

TEST(ParseFeedbackTest, QmailTextBounce) {
  constexpr std::string_view kQmail = R"(From: MAILER-DAEMON@mx.sender.example
To: app@sender.example
Subject: failure notice

Hi. This is the qmail-send program at mx.sender.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<ghost@dest.example>:
192.0.2.9 does not like recipient.
Remote host said: 550 5.1.1 No such user here
Giving up on 192.0.2.9.

--- Below this line is a copy of the message.

Return-Path: <app@sender.example>
Message-ID: <m1@sender.example>
From: app@sender.example
To: ghost@dest.example

body
)";
  Report r = ParseFeedback(kQmail);
  ASSERT_TRUE(IsOneBounce(r, "text", "ghost@dest.example", Reason::kUserUnknown));
  EXPECT_EQ(r.recipients[0].reply_code, 550);
  EXPECT_TRUE(r.recipients[0].verdict.hard);
  ASSERT_FALSE(r.original.referenced_ids.empty());
  EXPECT_EQ(r.original.referenced_ids[0], "m1@sender.example");
}

TEST(ParseFeedbackTest, EximRefusalsByCommand) {
  auto exim = [](std::string_view detail) {
    std::string m =
        "From: Mail Delivery System <Mailer-Daemon@mx.sender.example>\n"
        "Subject: Mail delivery failed: returning message to sender\n\n"
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  someone@dest.example\n";
    m += detail;
    m += "\n------ This is a copy of the message, including all the headers. ------\n";
    return ParseFeedback(m);
  };
  Report data = exim(
      "    host mx.dest.example [192.0.2.3]\n"
      "    SMTP error from remote mail server after end of data:\n"
      "    550 Unknown user someone@dest.example\n");
  ASSERT_TRUE(IsOneBounce(data, "text", "someone@dest.example", Reason::kFiltered));
  EXPECT_EQ(data.recipients[0].smtp_command, "DATA");
  EXPECT_FALSE(data.recipients[0].verdict.hard);

  Report mail = exim(
      "    SMTP error from remote mail server after MAIL FROM:<app@sender.example>:\n"
      "    host mx.dest.example [192.0.2.3]: 553 Go away\n");
  ASSERT_TRUE(IsOneBounce(mail, "text", "someone@dest.example", Reason::kSenderRejected));

  Report conn = exim(
      "    SMTP error from remote mail server after initial connection:\n"
      "    host mx.dest.example [192.0.2.3]: 554 No thanks\n");
  ASSERT_TRUE(IsOneBounce(conn, "text", "someone@dest.example", Reason::kBlocked));
}

// A refusal that names herald's envelope sender right after its codes is about the sender
// (as if MAIL FROM had been refused), whatever command it answered; one that names the
// recipient there is about the recipient.
TEST(ParseFeedbackTest, RefusalNamingTheEnvelopeSenderIsASenderRefusal) {
  auto dsn = [](std::string_view diagnostic) {
    std::string m =
        "From: MAILER-DAEMON@relay.example.net\n"
        "To: b-0100abc@bounces.sender.example\n"
        "Subject: Delivery Status Notification (Failure)\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"S\"\n\n"
        "--S\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--S\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relay.example.net\n\n"
        "Final-Recipient: rfc822; kim@dest.example\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: smtp; ";
    m += diagnostic;
    m += "\n\n--S\nContent-Type: text/rfc822-headers\n\n"
         "Return-Path: <b-0100abc@bounces.sender.example>\n"
         "From: app@sender.example\nTo: kim@dest.example\nSubject: Hi\n\n--S--\n";
    return ParseFeedback(m);
  };
  Report sender = dsn("550 5.7.1 <b-0100abc@bounces.sender.example>... Access denied");
  ASSERT_TRUE(IsOneBounce(sender, "rfc3464", "kim@dest.example", Reason::kSenderRejected));
  EXPECT_FALSE(sender.recipients[0].verdict.hard);
  // A generic "unknown address" about the sender is no sign that the recipient is gone.
  Report unknown = dsn("550 5.1.0 <b-0100abc@bounces.sender.example>: unknown address");
  ASSERT_TRUE(IsOneBounce(unknown, "rfc3464", "kim@dest.example", Reason::kSenderRejected));
  EXPECT_FALSE(unknown.recipients[0].verdict.hard);
  // The recipient named after the codes: about the recipient, as before.
  Report rcpt = dsn("550 5.7.1 <kim@dest.example>... Access denied");
  ASSERT_TRUE(IsOneBounce(rcpt, "rfc3464", "kim@dest.example", Reason::kPolicy));
  // The sender merely quoted elsewhere in the text does not count.
  Report quoted =
      dsn("550 5.1.1 <kim@dest.example> unknown user (mail from b-0100abc@bounces.sender.example)");
  ASSERT_TRUE(IsOneBounce(quoted, "rfc3464", "kim@dest.example", Reason::kUserUnknown));

  // A transcript in which the sender was accepted before the recipient was refused.
  Report transcript =
      dsn("250 2.1.0 <b-0100abc@bounces.sender.example>... Sender ok 550 5.1.1 "
          "<kim@dest.example>... User unknown");
  ASSERT_TRUE(IsOneBounce(transcript, "rfc3464", "kim@dest.example", Reason::kUserUnknown));

  // A text bounce: the address the bounce is sent to is the envelope sender.
  Report text = ParseFeedback(
      "From: Mail Delivery System <Mailer-Daemon@mx.sender.example>\n"
      "To: app@sender.example\n"
      "Subject: Mail delivery failed: returning message to sender\n\n"
      "A message that you sent could not be delivered to one or more of its\n"
      "recipients. This is a permanent error. The following address(es) failed:\n\n"
      "  kim@dest.example\n"
      "    SMTP error from remote mail server after end of data:\n"
      "    550 5.2.0 <app@sender.example> From: domain is not acceptable\n");
  ASSERT_TRUE(IsOneBounce(text, "text", "kim@dest.example", Reason::kSenderRejected));
}

// A bounce forwarded inline (an operator relays it as plain text, header and all) is read
// as the report it forwards.
TEST(ParseFeedbackTest, InlineForwardedReportIsRead) {
  constexpr std::string_view kForwarded = R"(From: MAILER-DAEMON@gw.example.net
To: app@sender.example
Subject: Undelivered Mail Returned to Sender
Content-Type: text/plain; charset=us-ascii

The report below could not be handled here; please contact <help@gw.example.net>.
------------------------------------------
From MAILER-DAEMON  Mon Nov 23 04:00:00 2026
Return-Path: <>
From: MAILER-DAEMON@relay.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="F1"

--F1
Content-Type: text/plain

<kim@dest.example>: mailbox is full

--F1
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net

Final-Recipient: rfc822; kim@dest.example
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 <kim@dest.example>: mailbox is full

--F1--
)";
  Report r = ParseFeedback(kForwarded);
  ASSERT_TRUE(IsOneBounce(r, "rfc3464", "kim@dest.example", Reason::kMailboxFull));
}

// A mailing list manager telling a poster that the list refused the post is a soft
// bounce for the list; the same words without list headers are ordinary mail.
TEST(ParseFeedbackTest, ListRefusalOfANonMember) {
  constexpr std::string_view kBody =
      "Subject: Your post to team-talk was not accepted\n"
      "From: team-talk-owner@lists.dest.example\n"
      "To: app@sender.example\n\n"
      "Sorry, you are not a member of the list <team-talk@lists.dest.example>, so your\n"
      "message was not distributed.\n";
  Report r =
      ParseFeedback(std::string("List-Id: <team-talk.lists.dest.example>\n") + std::string(kBody));
  ASSERT_TRUE(IsOneBounce(r, "list", "team-talk@lists.dest.example", Reason::kSenderRejected));
  EXPECT_FALSE(r.recipients[0].verdict.hard);

  EXPECT_EQ(ParseFeedback(kBody).kind, FeedbackKind::kNotFeedback);
  // A post distributed by a list, from its author, is no refusal whatever it says.
  Report post = ParseFeedback(
      "List-Id: <club.lists.dest.example>\nFrom: Ann <ann@dest.example>\n"
      "To: club@lists.dest.example\nSubject: Meeting\n\n"
      "If you are not a member of the club yet, write to join@dest.example.\n");
  EXPECT_EQ(post.kind, FeedbackKind::kNotFeedback);
}

TEST(ParseFeedbackTest, AutoRepliesAndOrdinaryMail) {
  Report a = ParseFeedback(
      "From: someone@dest.example\nTo: app@sender.example\nSubject: Out of Office: receipt\n"
      "Auto-Submitted: auto-replied\n\nI am away until Monday.\n");
  EXPECT_EQ(a.kind, FeedbackKind::kAutoReply);
  EXPECT_TRUE(a.recipients.empty());

  Report b = ParseFeedback(
      "From: someone@dest.example\nTo: app@sender.example\nSubject: Re: receipt\n\n"
      "Thanks, got it.\n");
  EXPECT_EQ(b.kind, FeedbackKind::kNotFeedback);

  // A bounce of an auto-reply is still a bounce: the mailer-daemon sender decides.
  Report c = ParseFeedback(
      "From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail Returned to Sender\n"
      "Auto-Submitted: auto-replied\n\n<a@dest.example>: 550 5.1.1 user unknown\n");
  EXPECT_EQ(c.kind, FeedbackKind::kBounce);
}

// An auto-reply that says its address is retired is a soft bounce for that address; an
// ordinary absence notice that mentions being away is not.
TEST(ParseFeedbackTest, RetiredAddressAutoReplyIsABounce) {
  Report r = ParseFeedback(
      "From: <noreply@dest.example>\nReply-To: <desk@dest.example>\nSubject: Auto: hello\n"
      "Auto-Submitted: auto-replied\n\nThe mailbox old.name@dest.example is no longer in "
      "use. Please write to desk@dest.example instead.\n");
  ASSERT_TRUE(IsOneBounce(r, "rfc3834", "old.name@dest.example", Reason::kMailboxDisabled));
  EXPECT_FALSE(r.recipients[0].verdict.hard);
  EXPECT_EQ(r.recipients[0].verdict.diagnostic_code,
            "smtp; The mailbox old.name@dest.example is no longer in use");

  Report away = ParseFeedback(
      "From: <ann@dest.example>\nSubject: Out of office\nAuto-Submitted: auto-replied\n\n"
      "I am away until Monday and will answer then.\n");
  EXPECT_EQ(away.kind, FeedbackKind::kAutoReply);
  EXPECT_TRUE(away.recipients.empty());
}

// What a mail client sends to a List-Unsubscribe mailto: address is the recipient opting
// out: a complaint of type opt-out by its sender.
TEST(ParseFeedbackTest, UnsubscribeRequestIsAnOptOut) {
  for (const char* marker :
       {"Subject: unsubscribe\n", "Subject: Bye\nX-Apple-Unsubscribe: true\n"}) {
    Report r = ParseFeedback(std::string("From: Reader <reader@dest.example>\n") + marker +
                             "To: unsub-123@bounces.sender.example\n\nPlease remove me.\n");
    EXPECT_EQ(r.kind, FeedbackKind::kComplaint) << marker;
    EXPECT_EQ(r.format, "unsubscribe");
    EXPECT_EQ(r.complaint.feedback_type, "opt-out");
    EXPECT_EQ(r.complaint.original_rcpt_to, std::vector<std::string>{"reader@dest.example"});
  }
  // A subject that merely contains the word is ordinary mail.
  Report other =
      ParseFeedback("From: reader@dest.example\nSubject: how do I unsubscribe?\n\nHelp.\n");
  EXPECT_EQ(other.kind, FeedbackKind::kNotFeedback);
}

TEST(ParseFeedbackTest, SesNotificationByMail) {
  Report r = ParseFeedback(
      "From: AWS Notifications <no-reply@sns.amazonaws.com>\nSubject: AWS Notification "
      "Message\n\n{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\","
      "\"bouncedRecipients\":[{\"emailAddress\":\"gone@dest.example\",\"status\":\"5.1.1\","
      "\"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"}],\"reportingMTA\":\"dsn; "
      "a1.example\"},\"mail\":{\"messageId\":\"0100-abc\"}}\n");
  ASSERT_TRUE(IsOneBounce(r, "ses-notification", "gone@dest.example", Reason::kUserUnknown));
  EXPECT_EQ(r.reporting_mta, "a1.example");
  EXPECT_EQ(r.original.message_id, "0100-abc");
}

// A bounce whose text quotes JSON in the notification shape (the returned message was
// about SES notifications) stays a bounce: a notification is the whole body, never a quote.
TEST(ParseFeedbackTest, QuotedNotificationJsonIsNotANotification) {
  Report r = ParseFeedback(
      "From: MAILER-DAEMON@mx.dest.example\nSubject: failure notice\n\n"
      "Sorry, I could not deliver your message to the following address.\n\n"
      "<gone@dest.example>:\n550 5.1.1 mailbox does not exist\n\n"
      "Your message said:\n{\"notificationType\":\"Delivery\",\"delivery\":"
      "{\"recipients\":[\"someone@else.example\"]},\"mail\":{\"messageId\":\"x\"}}\n");
  EXPECT_EQ(r.kind, FeedbackKind::kBounce);
  EXPECT_NE(r.format, "ses-notification");
  ASSERT_GE(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].address, "gone@dest.example");
  EXPECT_TRUE(r.recipients[0].verdict.hard);
}

TEST(ParseFeedbackTest, WrongBoundaryIsGuessed) {
  std::string dsn(kPostfixDsn);
  dsn.replace(dsn.find("boundary=\"B1\""), 13, "boundary=\"NOPE\"");
  Report r = ParseFeedback(dsn);
  EXPECT_EQ(r.format, "rfc3464");
  EXPECT_EQ(r.recipients.size(), 2u);
}

TEST(ParseFeedbackTest, HostileBytesStaySafeAndBounded) {
  std::string m =
      "From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail\nContent-Type: "
      "multipart/report; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n";
  for (int i = 0; i < 3000; ++i) {
    m += "Final-Recipient: rfc822; u" + std::to_string(i) + "@d.example\nAction: failed\n";
    m += "Diagnostic-Code: smtp; 550 \x01\x7f\xff\xfe bad\n\n";
  }
  m += "--b--\n";
  Report r = ParseFeedback(m);
  EXPECT_EQ(r.recipients.size(), kMaxReportRecipients);
  for (const ReportedRecipient& rr : r.recipients) {
    for (char c : rr.verdict.diagnostic_code) {
      ASSERT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << rr.verdict.diagnostic_code;
    }
  }
  // Deep nesting stops at the limit rather than recursing without end.
  std::string deep = "From: a@b.example\n";
  for (int i = 0; i < 200; ++i) {
    deep += "Content-Type: multipart/mixed; boundary=x" + std::to_string(i) + "\n\n--x" +
            std::to_string(i) + "\n";
  }
  Report d = ParseFeedback(deep);
  EXPECT_EQ(d.kind, FeedbackKind::kNotFeedback);
  EXPECT_EQ(ParseFeedback("").kind, FeedbackKind::kNotFeedback);
}

TEST(DeliveryStatusTest, GroupsFieldsAndStripsTypes) {
  DeliveryStatus ds = ParseDeliveryStatus(
      "Reporting-MTA: dns; mta.example\n\n"
      "Final-Recipient: rfc822; <a@x.example>\nOriginal-Recipient: rfc822; A@X.example\n"
      "Action: failed (bad)\nStatus: 5.1.1 (unknown)\n"
      "Diagnostic-Code: smtp; 550 no\n  such user\n\n"
      "Original-Recipient: rfc822; b@x.example\nFinal-Recipient: rfc822; b@x.example\n"
      "Action: delayed\nStatus: 4.4.1\n");
  EXPECT_EQ(ds.reporting_mta, "mta.example");
  ASSERT_EQ(ds.recipients.size(), 2u);
  EXPECT_EQ(ds.recipients[0].final_recipient, "a@x.example");
  EXPECT_EQ(ds.recipients[0].original_recipient, "A@X.example");
  EXPECT_EQ(ds.recipients[0].action, "failed");
  EXPECT_EQ(ds.recipients[0].status, "5.1.1");
  EXPECT_EQ(ds.recipients[0].diagnostic_type, "smtp");
  EXPECT_EQ(ds.recipients[0].diagnostic_text, "550 no such user");
  EXPECT_EQ(ds.recipients[1].final_recipient, "b@x.example");
  EXPECT_EQ(ds.recipients[1].original_recipient, "b@x.example");
  EXPECT_EQ(ds.recipients[1].action, "delayed");
}

TEST(MimeTreeTest, DecodesAndNests) {
  MimePart p = ParseMimeTree(
      "Content-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n--o\r\n"
      "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
      "caf=C3=A9 =\r\nau lait\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n"
      "Subject: inner\r\n\r\nbody\r\n--o--\r\n");
  ASSERT_EQ(p.children.size(), 3u);
  EXPECT_EQ(p.children[0].body, "hello world");
  EXPECT_EQ(p.children[1].body, "caf\xC3\xA9 au lait");
  ASSERT_EQ(p.children[2].children.size(), 1u);
  EXPECT_EQ(p.children[2].children[0].Header("subject"), "inner");
  // With CRLF input the tree owns the normalised copy its bodies view (ASan checks this).
  MimePart owned;
  {
    std::string crlf = Crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b--\n");
    owned = ParseMimeTree(crlf);
  }
  ASSERT_EQ(owned.children.size(), 1u);
  EXPECT_EQ(owned.children[0].body, "first");
  EXPECT_EQ(DecodeQuotedPrintableLenient("a=ZZb="), "a=ZZb");
  EXPECT_EQ(DecodeBase64Lenient("!!aGk=junk"), "hi");
}

}  // namespace
}  // namespace herald::feedback
