#include "feedback/smtp_reply.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

namespace herald::feedback {
namespace {

// True when `s` is valid UTF-8 with no control characters at all.
bool IsSafeLine(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

// Checks what every verdict must satisfy, whatever the input.
void ExpectInvariants(const Verdict& v, int code) {
  EXPECT_EQ(v.action, v.permanent ? "failed" : "delayed");
  EXPECT_EQ(v.hard, v.bounce_type == "Permanent");
  EXPECT_EQ(v.delay_type.empty(), v.permanent);
  EXPECT_TRUE(v.diagnostic_code.rfind("smtp; " + std::to_string(code), 0) == 0)
      << v.diagnostic_code;
  EXPECT_LE(v.diagnostic_code.size(), kMaxDiagnosticBytes);
  EXPECT_TRUE(IsSafeLine(v.diagnostic_code)) << v.diagnostic_code;
  EXPECT_EQ(v.diagnostic_code.find('\r'), std::string::npos);
  EXPECT_EQ(v.diagnostic_code.find('\n'), std::string::npos);
  auto st = ParseEnhancedStatus(v.status);
  ASSERT_TRUE(st.has_value()) << v.status;
  EXPECT_EQ(st->klass, v.permanent ? 5 : 4) << v.status;
}

struct Case {
  const char* name;
  int code;
  std::string_view text;
  Reason reason;
  const char* bounce_type;
  const char* sub_type;
  const char* status;
  const char* delay_type;  // "" for permanent verdicts
};

const Case kCases[] = {
    // Postfix.
    {"postfix_local_user_unknown", 550,
     "5.1.1 <bob@example.com>: Recipient address rejected: User unknown in local recipient "
     "table",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.1.1", ""},
    {"postfix_virtual_user_unknown", 550,
     "5.1.1 <bob@example.com>: Recipient address rejected: User unknown in virtual mailbox "
     "table",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.1.1", ""},
    {"postfix_relay_denied", 554, "5.7.1 <bob@example.org>: Relay access denied",
     Reason::kRelayDenied, "Transient", "General", "5.7.1", ""},
    {"postfix_spamhaus", 554,
     "5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; "
     "https://www.spamhaus.org/query/ip/192.0.2.1",
     Reason::kBlocked, "Transient", "General", "5.7.1", ""},
    {"postfix_no_ptr", 450, "4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]",
     Reason::kRequirePtr, "Transient", "General", "4.7.1", "IPFailure"},
    {"postfix_helo_host_not_found", 450,
     "4.7.1 <mx.herald.example>: Helo command rejected: Host not found", Reason::kBlocked,
     "Transient", "General", "4.7.1", "IPFailure"},
    {"postfix_sender_domain_not_found", 450,
     "4.1.8 <bounce@herald.example>: Sender address rejected: Domain not found",
     Reason::kSenderRejected, "Transient", "General", "4.1.8", "General"},
    {"postfix_recipient_domain_not_found", 450,
     "4.1.2 <bob@nowhere.example>: Recipient address rejected: Domain not found",
     Reason::kNetworkError, "Transient", "General", "4.1.2", "TransientCommunicationFailure"},
    {"postfix_message_size", 552, "5.3.4 Message size exceeds fixed limit",
     Reason::kMessageTooLarge, "Transient", "MessageTooLarge", "5.3.4", ""},
    {"postfix_access_denied", 550,
     "5.7.1 <bob@example.com>: Recipient address rejected: Access denied", Reason::kFiltered,
     "Transient", "General", "5.7.1", ""},
    {"postfix_queue_write_error", 451, "4.3.0 Error: queue file write error", Reason::kSystemError,
     "Transient", "General", "4.3.0", "RecipientServerError"},
    {"postgrey", 450,
     "4.2.0 <bob@example.com>: Recipient address rejected: Greylisted, see "
     "http://postgrey.schweikert.ch/help/example.com.html",
     Reason::kRateLimited, "Transient", "General", "4.2.0", "IPFailure"},
    {"dovecot_quota", 552, "5.2.2 <bob@example.com> Quota exceeded (mailbox for user is full)",
     Reason::kMailboxFull, "Transient", "MailboxFull", "5.2.2", ""},
    // Exim and qmail.
    {"exim_unrouteable", 550, "Unrouteable address", Reason::kHostUnknown, "Permanent", "General",
     "5.0.0", ""},
    {"exim_no_such_user", 550, "No Such User Here", Reason::kUserUnknown, "Permanent", "NoEmail",
     "5.0.0", ""},
    {"exim_greylisting", 451, "4.7.1 Greylisting in action, please come back later",
     Reason::kRateLimited, "Transient", "General", "4.7.1", "IPFailure"},
    {"exim_local_problem", 451, "Temporary local problem - please try later", Reason::kSystemError,
     "Transient", "General", "4.0.0", "RecipientServerError"},
    {"qmail_rcpthosts", 553, "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
     Reason::kRelayDenied, "Transient", "General", "5.0.0", ""},
    // Gmail.
    {"gmail_no_such_user", 550,
     "5.1.1 The email account that you tried to reach does not exist. Please try\n"
     "5.1.1 double-checking the recipient's email address for typos or\n"
     "5.1.1 unnecessary spaces. Learn more at\n"
     "5.1.1  https://support.google.com/mail/?p=NoSuchUser d2si123456 - gsmtp",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.1.1", ""},
    {"gmail_disabled", 550,
     "5.2.1 The email account that you tried to reach is disabled. Learn more at\n"
     "5.2.1  https://support.google.com/mail/?p=DisabledUser x1si - gsmtp",
     Reason::kMailboxDisabled, "Transient", "General", "5.2.1", ""},
    {"gmail_over_quota_permanent", 552,
     "5.2.2 The email account that you tried to reach is over quota. Please direct\n"
     "5.2.2 the recipient to\n"
     "5.2.2  https://support.google.com/mail/?p=OverQuotaPerm x1si - gsmtp",
     Reason::kMailboxFull, "Transient", "MailboxFull", "5.2.2", ""},
    {"gmail_over_quota_temporary", 452,
     "4.2.2 The email account that you tried to reach is over quota. Please direct\n"
     "4.2.2 the recipient to\n"
     "4.2.2  https://support.google.com/mail/?p=OverQuotaTemp x1si - gsmtp",
     Reason::kMailboxFull, "Transient", "MailboxFull", "4.2.2", "MailboxFull"},
    {"gmail_too_large", 552,
     "5.3.4 Your message exceeded Google's message size limits. Please visit\n"
     "5.3.4  https://support.google.com/mail/?p=MaxSizeError to view our size\n"
     "5.3.4 guidelines. x1si - gsmtp",
     Reason::kMessageTooLarge, "Transient", "MessageTooLarge", "5.3.4", ""},
    {"gmail_spam", 550,
     "5.7.1 [192.0.2.1] Our system has detected that this message is\n"
     "5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n"
     "5.7.1 this message has been blocked. x1si - gsmtp",
     Reason::kSpam, "Transient", "ContentRejected", "5.7.1", ""},
    {"gmail_dmarc", 550,
     "5.7.26 Unauthenticated email from example.com is not accepted due to\n"
     "5.7.26 domain's DMARC policy. x1si - gsmtp",
     Reason::kAuthFailure, "Transient", "General", "5.7.26", ""},
    {"gmail_ptr", 550,
     "5.7.25 [192.0.2.1] The IP address sending this message does not have a\n"
     "5.7.25 PTR record setup, or the corresponding forward DNS entry does not\n"
     "5.7.25 point to the sending IP. x1si - gsmtp",
     Reason::kRequirePtr, "Transient", "General", "5.7.25", ""},
    {"gmail_try_again_later", 421, "4.7.0 Try again later, closing connection. (EHLO) x1si - gsmtp",
     Reason::kRateLimited, "Transient", "General", "4.7.0", "IPFailure"},
    {"gmail_unusual_rate_of_unsolicited", 421,
     "4.7.28 [192.0.2.1] Our system has detected an unusual rate of\n"
     "4.7.28 unsolicited mail originating from your IP address. x1si - gsmtp",
     Reason::kRateLimited, "Transient", "General", "4.7.28", "IPFailure"},
    {"gmail_low_reputation", 421,
     "4.7.0 [192.0.2.1] Our system has detected that this message is\n"
     "4.7.0 suspicious due to the very low reputation of the sending IP address. x1si - gsmtp",
     Reason::kBadReputation, "Transient", "General", "4.7.0", "IPFailure"},
    {"gmail_dynamic_ip", 550,
     "5.7.1 [192.0.2.1] The IP you're using to send mail is not authorized to\n"
     "5.7.1 send email directly to our servers. Please use the SMTP relay at your\n"
     "5.7.1 service provider instead. x1si - gsmtp",
     Reason::kBlocked, "Transient", "General", "5.7.1", ""},
    {"gmail_receiving_too_fast", 450,
     "4.2.1 The user you are trying to contact is receiving mail at a rate that\n"
     "4.2.1 prevents additional messages from being delivered. Please resend your\n"
     "4.2.1 message at a later time. x1si - gsmtp",
     Reason::kRateLimited, "Transient", "General", "4.2.1", "IPFailure"},
    {"gmail_unsafe_attachment", 552,
     "5.7.0 This message was blocked because its content presents a potential\n"
     "5.7.0 security issue. Please visit\n"
     "5.7.0  https://support.google.com/mail/?p=BlockedMessage to review our\n"
     "5.7.0 message content and attachment content guidelines. x1si - gsmtp",
     Reason::kVirus, "Transient", "AttachmentRejected", "5.7.0", ""},
    {"gmail_daily_limit", 550, "5.4.5 Daily user sending limit exceeded. x1si - gsmtp",
     Reason::kRateLimited, "Transient", "General", "5.4.5", ""},
    // Outlook / Exchange.
    {"exchange_recipient_not_found_5_1_10", 550,
     "5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.1.10", ""},
    {"exchange_recip_not_found", 550, "5.1.1 RESOLVER.ADR.RecipNotFound; not found",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.1.1", ""},
    {"exchange_quota", 554,
     "5.2.2 mailbox full; "
     "STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded; "
     "Failed to process message due to a permanent exception",
     Reason::kMailboxFull, "Transient", "MailboxFull", "5.2.2", ""},
    {"exchange_dbeb", 550,
     "5.4.1 Recipient address rejected: Access denied. AS(201806281) [x.prod.outlook.com]",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.4.1", ""},
    {"outlook_block_list", 550,
     "5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your "
     "Internet service provider since part of their network is on our block list (S3150). "
     "You can also refer your provider to "
     "http://mail.live.com/mail/troubleshooting.aspx#errors.",
     Reason::kBlocked, "Transient", "General", "5.7.1", ""},
    {"outlook_banned_ip", 550,
     "5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list "
     "please visit https://sender.office.com/ and follow the directions.",
     Reason::kBlocked, "Transient", "General", "5.7.606", ""},
    {"outlook_rate_limited", 451,
     "4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP "
     "reputation. For e-mail delivery information, see https://postmaster.live.com (S775)",
     Reason::kBadReputation, "Transient", "General", "4.7.650", "IPFailure"},
    {"hotmail_mailbox_unavailable", 550, "Requested action not taken: mailbox unavailable (-1702)",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.0.0", ""},
    {"exchange_server_error", 451, "4.7.0 Temporary server error. Please try again later. PRX4",
     Reason::kSystemError, "Transient", "General", "4.7.0", "RecipientServerError"},
    // Yahoo.
    {"yahoo_no_account", 554,
     "delivery error: dd This user doesn't have a yahoo.com account (bob@yahoo.com) [0] - "
     "mta1234.mail.ne1.yahoo.com",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.0.0", ""},
    {"yahoo_disabled", 554,
     "delivery error: dd Sorry your message to bob@yahoo.com cannot be delivered. This "
     "mailbox is disabled (554.30). - mta1234.mail.ne1.yahoo.com",
     Reason::kMailboxDisabled, "Transient", "General", "5.0.0", ""},
    {"yahoo_tss04", 421,
     "4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or "
     "user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
     Reason::kBadReputation, "Transient", "General", "4.7.0", "IPFailure"},
    {"yahoo_tss09", 553,
     "5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT "
     "succeed. See https://postmaster.yahooinc.com/error-codes",
     Reason::kBlocked, "Transient", "General", "5.7.2", ""},
    {"yahoo_policy", 554, "5.7.9 Message not accepted for policy reasons.", Reason::kPolicy,
     "Transient", "General", "5.7.9", ""},
    // Other common replies.
    {"greylist_451_try_again", 451, "4.7.1 Please try again later", Reason::kRateLimited,
     "Transient", "General", "4.7.1", "IPFailure"},
    {"too_many_connections", 421, "4.7.0 Too many connections from your IP",
     Reason::kTooManyConnections, "Transient", "General", "4.7.0", "IPFailure"},
    {"spam_content_filter", 554, "5.7.1 Message rejected as spam by Content Filtering.",
     Reason::kSpam, "Transient", "ContentRejected", "5.7.1", ""},
    {"virus_found", 554, "5.7.1 Message rejected: virus found (Eicar-Test-Signature)",
     Reason::kVirus, "Transient", "AttachmentRejected", "5.7.1", ""},
    {"spf_fail", 550,
     "5.7.1 SPF check failed: 192.0.2.1 is not allowed to send mail from herald.example",
     Reason::kAuthFailure, "Transient", "General", "5.7.1", ""},
    {"null_mx", 556, "5.1.10 Recipient address has null MX", Reason::kNotAccepting, "Permanent",
     "General", "5.1.10", ""},
    {"syntax_5_5_1", 500, "5.5.1 Invalid command", Reason::kSyntaxError, "Transient", "General",
     "5.5.1", ""},
    {"syntax_no_code", 501, "Syntax error in parameters or arguments", Reason::kSyntaxError,
     "Transient", "General", "5.0.0", ""},
    {"local_error_in_processing", 451, "Requested action aborted: local error in processing",
     Reason::kSystemError, "Transient", "General", "4.0.0", "RecipientServerError"},
    {"ses_throttling", 454, "Throttling failure: Maximum sending rate exceeded",
     Reason::kRateLimited, "Transient", "General", "4.0.0", "IPFailure"},
    {"storage_allocation", 552, "Requested mail action aborted: exceeded storage allocation",
     Reason::kMailboxFull, "Transient", "MailboxFull", "5.0.0", ""},
    {"expired_in_reply", 451, "4.4.7 Message expired", Reason::kExpired, "Transient", "General",
     "4.4.7", "General"},
    {"unknown_550", 550, "Message rejected", Reason::kUnknown, "Undetermined", "Undetermined",
     "5.0.0", ""},
    {"unknown_450", 450, "Requested mail action not taken", Reason::kUnknown, "Undetermined",
     "Undetermined", "4.0.0", "Undetermined"},
    {"user_not_local_551", 551, "User not local; please try <bob@elsewhere.example>",
     Reason::kUserUnknown, "Permanent", "NoEmail", "5.0.0", ""},
    {"upper_case_text", 550, "USER UNKNOWN", Reason::kUserUnknown, "Permanent", "NoEmail", "5.0.0",
     ""},
    {"word_boundary_reduced", 550, "Reduced service, message refused", Reason::kUnknown,
     "Undetermined", "Undetermined", "5.0.0", ""},
    {"timeout_4_4_2", 421, "4.4.2 mx.example.com Error: timeout exceeded", Reason::kNetworkError,
     "Transient", "General", "4.4.2", "TransientCommunicationFailure"},
};

TEST(ClassifySmtpReplyTest, RealReplies) {
  ASSERT_GE(std::size(kCases), 40u);
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    Verdict v = ClassifySmtpReply(c.code, c.text);
    EXPECT_EQ(ReasonName(v.reason), std::string(ReasonName(c.reason)));
    EXPECT_EQ(v.permanent, c.code >= 500);
    EXPECT_EQ(v.bounce_type, c.bounce_type);
    EXPECT_EQ(v.bounce_sub_type, c.sub_type);
    EXPECT_EQ(v.status, c.status);
    EXPECT_EQ(v.delay_type, c.delay_type);
    ExpectInvariants(v, c.code);
  }
}

TEST(ClassifySmtpReplyTest, MultiLineReplyBecomesOneLine) {
  Verdict v = ClassifySmtpReply(
      550,
      "5.1.1 The email account that you tried to reach does not exist. Please try\n"
      "5.1.1 double-checking the recipient's email address for typos or\n"
      "5.1.1 unnecessary spaces. Learn more at\n"
      "5.1.1  https://support.google.com/mail/?p=NoSuchUser d2si123456 - gsmtp");
  EXPECT_EQ(v.diagnostic_code,
            "smtp; 550 5.1.1 The email account that you tried to reach does not exist. Please "
            "try double-checking the recipient's email address for typos or unnecessary "
            "spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser d2si123456 - "
            "gsmtp");
  EXPECT_EQ(v.action, "failed");
}

TEST(ClassifySmtpReplyTest, ContinuationLinesWithoutTheCodeAreKept) {
  Verdict v = ClassifySmtpReply(451, "4.7.1 first line\r\nsecond 4.7.1 line\r\n\r\n  third  ");
  EXPECT_EQ(v.diagnostic_code, "smtp; 451 4.7.1 first line second 4.7.1 line third");
  // A different code on a continuation line is text, not a prefix.
  v = ClassifySmtpReply(550, "5.1.1 a\n5.2.2 b");
  EXPECT_EQ(v.diagnostic_code, "smtp; 550 5.1.1 a 5.2.2 b");
  EXPECT_EQ(v.reason, Reason::kUserUnknown);
}

TEST(ClassifySmtpReplyTest, InconsistentClassTrustsTheBasicCode) {
  Verdict v = ClassifySmtpReply(550, "4.2.2 Mailbox full");
  EXPECT_TRUE(v.permanent);
  EXPECT_EQ(v.action, "failed");
  EXPECT_EQ(v.status, "5.0.0");
  EXPECT_EQ(v.reason, Reason::kMailboxFull);
  EXPECT_EQ(v.bounce_sub_type, "MailboxFull");
  EXPECT_EQ(v.diagnostic_code, "smtp; 550 4.2.2 Mailbox full");

  // The subject and detail still give the reason when the text says nothing.
  // A 4xx user unknown is still about the address: hard, though retried.
  v = ClassifySmtpReply(450, "5.1.1 go away");
  EXPECT_FALSE(v.permanent);
  EXPECT_EQ(v.status, "4.0.0");
  EXPECT_EQ(v.reason, Reason::kUserUnknown);
  EXPECT_EQ(v.bounce_type, "Permanent");
  EXPECT_TRUE(v.hard);
  EXPECT_EQ(v.delay_type, "General");
  ExpectInvariants(v, 450);

  // A success-class enhanced code on a failure says nothing about the reason.
  v = ClassifySmtpReply(550, "2.1.5 recipient ok");
  EXPECT_EQ(v.status, "5.0.0");
  EXPECT_EQ(v.reason, Reason::kUnknown);
  ExpectInvariants(v, 550);
}

TEST(ClassifySmtpReplyTest, EmptyText) {
  Verdict v = ClassifySmtpReply(550, "");
  EXPECT_EQ(v.reason, Reason::kUnknown);
  EXPECT_EQ(v.bounce_type, "Undetermined");
  EXPECT_EQ(v.bounce_sub_type, "Undetermined");
  EXPECT_FALSE(v.hard);
  EXPECT_EQ(v.status, "5.0.0");
  EXPECT_EQ(v.diagnostic_code, "smtp; 550");
  ExpectInvariants(v, 550);

  v = ClassifySmtpReply(421, "");
  EXPECT_EQ(v.reason, Reason::kRateLimited);
  EXPECT_EQ(v.status, "4.0.0");
  EXPECT_EQ(v.delay_type, "IPFailure");
  ExpectInvariants(v, 421);

  v = ClassifySmtpReply(450, "\n\r\n \t ");
  EXPECT_EQ(v.diagnostic_code, "smtp; 450");
  ExpectInvariants(v, 450);
}

TEST(ClassifySmtpReplyTest, SpecificTextThenCodeThenGenericText) {
  // A specific phrase names the cause better than a code servers reuse loosely.
  EXPECT_EQ(ClassifySmtpReply(550, "5.1.1 mailbox full").reason, Reason::kMailboxFull);
  // A code with a meaning of its own beats a generic phrase.
  EXPECT_EQ(ClassifySmtpReply(550,
                              "5.3.2 <a@b.example>: Recipient address rejected: System not "
                              "accepting network messages")
                .reason,
            Reason::kNotAccepting);
  EXPECT_EQ(ClassifySmtpReply(550, "5.1.1 <a@b.example>: Recipient address rejected").reason,
            Reason::kUserUnknown);
  // A refusal of the recipient that names no cause yields even to an ambiguous code...
  EXPECT_EQ(
      ClassifySmtpReply(550, "5.6.0 <a@b.example>: Recipient address rejected: Media error").reason,
      Reason::kContentError);
  // ...and stands for an unknown mailbox when there is no code at all.
  EXPECT_EQ(ClassifySmtpReply(550, "<a@b.example>: Recipient address rejected.").reason,
            Reason::kUserUnknown);
  // Phrases match at the start of a word only: "unblocked" is not "blocked".
  EXPECT_EQ(ClassifySmtpReply(550, "5.7.1 go away, unblocked later").reason, Reason::kPolicy);
  // Codes that multi-line replies repeat inside the text do not break a phrase.
  FailureFacts facts;
  facts.status = "5.7.1";
  facts.reply_code = 550;
  facts.text =
      "550-5.7.1 Messages with multiple 550-5.7.1 addresses in From: header are not "
      "accepted.";
  EXPECT_EQ(ClassifyFailure(facts).reason, Reason::kNotRfcCompliant);
  // 5.7.1 is ambiguous, so the text decides, and with no text the code's usual meaning.
  EXPECT_EQ(ClassifySmtpReply(550, "5.7.1 mailbox full").reason, Reason::kMailboxFull);
  EXPECT_EQ(ClassifySmtpReply(550, "5.7.1 go away").reason, Reason::kPolicy);
  // Retries running out is the last resort: the cause of the last attempt wins.
  EXPECT_EQ(ClassifySmtpReply(451,
                              "4.4.3 Unable to contact LDAP server. I'm not going to try again; "
                              "this message has been in the queue too long.")
                .reason,
            Reason::kSystemError);
  EXPECT_EQ(ClassifySmtpReply(554, "this message has been in the queue too long").reason,
            Reason::kExpired);
}

TEST(ClassifyFailureTest, CauseBeforeRetriesStopped) {
  // Exim puts the last attempt's cause before "retry timeout exceeded": the cause wins...
  FailureFacts facts;
  facts.text = "mailbox is full: retry timeout exceeded";
  EXPECT_EQ(ClassifyFailure(facts).reason, Reason::kMailboxFull);
  // ...and the phrase alone still says that retries ran out.
  facts.text = "alice@example.org retry timeout exceeded";
  EXPECT_EQ(ClassifyFailure(facts).reason, Reason::kExpired);
}

TEST(ClassifyFailureTest, GreetingRefusedIsABlock) {
  // Postfix's words for a server whose greeting refused the connection.
  FailureFacts facts;
  facts.status = "4.0.0";
  facts.permanent = false;
  facts.text =
      "delivery temporarily suspended: connect to mx.example.org[192.0.2.9]: server refused to "
      "talk to me: 421 Service not available, closing transmission channel";
  EXPECT_EQ(ClassifyFailure(facts).reason, Reason::kBlocked);
}

TEST(ClassifySmtpReplyTest, SpamVerdictBeforeAuthenticationAdvice) {
  // The cause is the spam verdict; the SPF record is advice.
  EXPECT_EQ(ClassifySmtpReply(550,
                              "5.7.1 Your message was rejected due to spam classification. "
                              "Publishing an SPF record for your domain may help.")
                .reason,
            Reason::kSpam);
  EXPECT_EQ(ClassifySmtpReply(550, "Message classified as spam; see our SPF FAQ").reason,
            Reason::kSpam);
  // SPF alone is still an authentication failure.
  EXPECT_EQ(ClassifySmtpReply(550, "5.7.1 SPF check failed").reason, Reason::kAuthFailure);
}

TEST(ClassifySmtpReplyTest, UnwantedMailFromTheIpIsABlock) {
  EXPECT_EQ(ClassifySmtpReply(550,
                              "SC-004 Mail from 192.0.2.44 refused: too many unwanted messages "
                              "came from this IP address")
                .reason,
            Reason::kBlocked);
}

TEST(ClassifySmtpReplyTest, GarbageBytesGiveASafeLine) {
  static constexpr char kGarbage[] =
      "\xff\xfe\x00\x01\x80"
      "abc\r\n\x7f\xc3\x28\xe2\x82\xed\xa0\x80 ok";
  const std::string garbage(kGarbage, sizeof(kGarbage) - 1);
  for (int code : {421, 450, 550, 554}) {
    Verdict v = ClassifySmtpReply(code, garbage);
    ExpectInvariants(v, code);
  }
  Verdict v = ClassifySmtpReply(550, garbage);
  EXPECT_EQ(v.diagnostic_code, "smtp; 550 ?? ?abc ?(????? ok");
  // Valid UTF-8 is kept as it is.
  v = ClassifySmtpReply(550, "5.1.1 Benutzer unbekannt: j\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7");
  EXPECT_EQ(v.diagnostic_code,
            "smtp; 550 5.1.1 Benutzer unbekannt: j\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7");
}

TEST(ClassifySmtpReplyTest, LongRepliesAreCutAtACharacterBoundary) {
  std::string text = "5.1.1 ";
  for (int i = 0; i < 5000; ++i) text += "\xc3\xa9\n";
  Verdict v = ClassifySmtpReply(550, text);
  EXPECT_LE(v.diagnostic_code.size(), kMaxDiagnosticBytes);
  EXPECT_GT(v.diagnostic_code.size(), kMaxDiagnosticBytes - 8);
  EXPECT_EQ(v.diagnostic_code.substr(v.diagnostic_code.size() - 3), "...");
  ExpectInvariants(v, 550);
  // Phrases past the searched prefix are not seen.
  std::string padded = std::string(kMaxMatchedBytes + 10, 'x') + " user unknown";
  EXPECT_EQ(ClassifySmtpReply(550, padded).reason, Reason::kUnknown);
  EXPECT_EQ(ClassifySmtpReply(550, "user unknown " + padded).reason, Reason::kUserUnknown);
}

TEST(ClassifySmtpReplyTest, CodesOutsideTheFailureClassesAreUndetermined) {
  for (int code : {-1, 0, 99, 250, 354, 600, 999, 100000}) {
    Verdict v = ClassifySmtpReply(code, "5.1.1 user unknown");
    SCOPED_TRACE(code);
    EXPECT_FALSE(v.permanent);
    EXPECT_EQ(v.bounce_type, "Undetermined");
    EXPECT_EQ(v.bounce_sub_type, "Undetermined");
    EXPECT_EQ(v.delay_type, "Undetermined");
    EXPECT_EQ(v.action, "delayed");
    EXPECT_EQ(v.status, "4.0.0");
    EXPECT_FALSE(v.hard);
    EXPECT_TRUE(IsSafeLine(v.diagnostic_code));
  }
}

TEST(MakeVerdictTest, NonSmtpFailures) {
  Verdict v =
      MakeVerdict(Reason::kHostUnknown, true, "5.1.2", "DNS Error: NXDOMAIN for nowhere.example");
  EXPECT_TRUE(v.permanent);
  EXPECT_TRUE(v.hard);
  EXPECT_EQ(v.bounce_type, "Permanent");
  EXPECT_EQ(v.bounce_sub_type, "General");
  EXPECT_EQ(v.status, "5.1.2");
  EXPECT_EQ(v.action, "failed");
  EXPECT_EQ(v.delay_type, "");
  EXPECT_EQ(v.diagnostic_code, "DNS Error: NXDOMAIN for nowhere.example");

  v = MakeVerdict(Reason::kNetworkError, false, "4.4.1", "connection refused\r\nby 192.0.2.1");
  EXPECT_FALSE(v.permanent);
  EXPECT_EQ(v.action, "delayed");
  EXPECT_EQ(v.delay_type, "TransientCommunicationFailure");
  EXPECT_EQ(v.diagnostic_code, "connection refused by 192.0.2.1");

  v = MakeVerdict(Reason::kExpired, true, "4.4.7", "retries exhausted");
  EXPECT_TRUE(v.permanent);
  EXPECT_FALSE(v.hard);
  EXPECT_EQ(v.bounce_type, "Transient");
  EXPECT_EQ(v.bounce_sub_type, "General");
  EXPECT_EQ(v.action, "failed");
  EXPECT_EQ(v.status, "4.4.7");

  v = MakeVerdict(Reason::kSuppressed, true, "5.1.1", "on the suppression list");
  EXPECT_TRUE(v.hard);
  EXPECT_EQ(v.bounce_type, "Permanent");
  EXPECT_EQ(v.bounce_sub_type, "Suppressed");

  EXPECT_EQ(MakeVerdict(Reason::kNetworkError, true, "", "x").status, "5.0.0");
  EXPECT_EQ(MakeVerdict(Reason::kNetworkError, false, "", "x").status, "4.0.0");
  EXPECT_EQ(MakeVerdict(Reason::kSystemError, false, "", "x").delay_type, "RecipientServerError");
}

TEST(MakeVerdictTest, SesMappingOfEveryReason) {
  struct Row {
    Reason reason;
    const char* permanent_type;
    const char* permanent_sub;
    const char* delay_type;
  };
  // permanent_type/sub: a 5xx verdict; delay_type: a 4xx one.
  const Row rows[] = {
      {Reason::kUnknown, "Undetermined", "Undetermined", "Undetermined"},
      {Reason::kUserUnknown, "Permanent", "NoEmail", "General"},
      {Reason::kMailboxFull, "Transient", "MailboxFull", "MailboxFull"},
      {Reason::kMailboxDisabled, "Transient", "General", "General"},
      {Reason::kHostUnknown, "Permanent", "General", "General"},
      {Reason::kMessageTooLarge, "Transient", "MessageTooLarge", "General"},
      {Reason::kSpam, "Transient", "ContentRejected", "SpamDetected"},
      {Reason::kVirus, "Transient", "AttachmentRejected", "SpamDetected"},
      {Reason::kBlocked, "Transient", "General", "IPFailure"},
      {Reason::kRateLimited, "Transient", "General", "IPFailure"},
      {Reason::kPolicy, "Transient", "General", "General"},
      {Reason::kAuthFailure, "Transient", "General", "General"},
      {Reason::kRequirePtr, "Transient", "General", "IPFailure"},
      {Reason::kSyntaxError, "Transient", "General", "General"},
      {Reason::kNetworkError, "Transient", "General", "TransientCommunicationFailure"},
      {Reason::kSystemError, "Transient", "General", "RecipientServerError"},
      {Reason::kExpired, "Transient", "General", "General"},
      {Reason::kSuppressed, "Permanent", "Suppressed", "General"},
      {Reason::kFiltered, "Transient", "General", "General"},
      {Reason::kSenderRejected, "Transient", "General", "General"},
      {Reason::kRelayDenied, "Transient", "General", "General"},
      {Reason::kNotAccepting, "Permanent", "General", "General"},
      {Reason::kMailboxMoved, "Permanent", "General", "General"},
      {Reason::kContentError, "Transient", "ContentRejected", "General"},
      {Reason::kNotRfcCompliant, "Transient", "ContentRejected", "General"},
      {Reason::kBadReputation, "Transient", "General", "IPFailure"},
      {Reason::kTooManyConnections, "Transient", "General", "IPFailure"},
      {Reason::kExceedsLimit, "Transient", "MessageTooLarge", "General"},
      {Reason::kSystemFull, "Transient", "General", "RecipientServerError"},
      {Reason::kMailerError, "Transient", "General", "RecipientServerError"},
      {Reason::kSecurityError, "Transient", "General", "General"},
      {Reason::kTlsRequired, "Transient", "General", "TransientCommunicationFailure"},
  };
  ASSERT_EQ(std::size(rows), static_cast<size_t>(Reason::kTlsRequired) + 1);
  for (const Row& r : rows) {
    SCOPED_TRACE(ReasonName(r.reason));
    Verdict p = MakeVerdict(r.reason, true, "5.0.0", "d");
    EXPECT_EQ(p.bounce_type, r.permanent_type);
    EXPECT_EQ(p.bounce_sub_type, r.permanent_sub);
    EXPECT_EQ(p.hard, std::string(r.permanent_type) == "Permanent");
    EXPECT_EQ(p.delay_type, "");
    Verdict t = MakeVerdict(r.reason, false, "4.0.0", "d");
    // The address-level reasons stay hard from a 4xx.
    bool hard_4xx = r.reason == Reason::kUserUnknown || r.reason == Reason::kHostUnknown ||
                    r.reason == Reason::kMailboxMoved || r.reason == Reason::kSuppressed ||
                    r.reason == Reason::kNotAccepting;
    EXPECT_EQ(t.hard, hard_4xx);
    EXPECT_EQ(t.bounce_type, hard_4xx                       ? "Permanent"
                             : r.reason == Reason::kUnknown ? "Undetermined"
                                                            : "Transient");
    EXPECT_EQ(t.delay_type, r.delay_type);
  }
}

TEST(ReasonNameTest, NamesAreDistinctAndRoundTrip) {
  std::set<std::string> names;
  for (int i = 0; i <= static_cast<int>(Reason::kTlsRequired); ++i) {
    auto r = static_cast<Reason>(i);
    std::string name = ReasonName(r);
    EXPECT_TRUE(names.insert(name).second) << name;
    auto back = ReasonFromName(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, r);
  }
  EXPECT_EQ(names.size(), 32u);
  EXPECT_STREQ(ReasonName(Reason::kUserUnknown), "user_unknown");
  EXPECT_STREQ(ReasonName(Reason::kMessageTooLarge), "message_too_large");
  EXPECT_FALSE(ReasonFromName("User_Unknown").has_value());
  EXPECT_FALSE(ReasonFromName("").has_value());
}

TEST(ParseEnhancedStatusTest, AcceptsOnlyTheRfc3463Shape) {
  auto st = ParseEnhancedStatus("5.1.1");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->klass, 5);
  EXPECT_EQ(st->subject, 1);
  EXPECT_EQ(st->detail, 1);
  st = ParseEnhancedStatus("4.7.650");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->detail, 650);
  EXPECT_TRUE(ParseEnhancedStatus("2.0.0").has_value());
  EXPECT_TRUE(ParseEnhancedStatus("5.999.999").has_value());
  for (std::string_view bad :
       {"", "5", "5.1", "5.1.", "5.1.1.1", "6.1.1", "3.1.1", "55.1.1", "5.1234.1", "5.1.1234",
        "5.1.a", "5..1", ".5.1.1", "5.1.1 ", " 5.1.1", "5,1,1", "+5.1.1"}) {
    EXPECT_FALSE(ParseEnhancedStatus(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace herald::feedback
