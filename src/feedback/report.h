// feedback/report.h: reads one email that arrived at the feedback MX (a bounce report, a
// complaint, an auto-reply or anything else) and says what it reports, recipient by
// recipient, in the same vocabulary as ClassifySmtpReply.
//
// Contract: ParseFeedback is pure (bytes in, values out, no I/O) and never fails: mail it
// cannot make sense of is kNotFeedback, a bounce whose cause it cannot tell has recipients
// with Reason::kUnknown (kind kUndetermined when no recipient has a known reason). It
// understands
//   - RFC 3464 delivery status notifications (multipart/report; report-type=
//     delivery-status, also message/delivery-status parts found elsewhere, and the
//     message/feedback-report's cousin Exchange and Domino send);
//   - the plain-text bounces of common MTAs and providers that carry no DSN part (qmail,
//     Exim, Sendmail, Postfix, Exchange, Domino, Courier, Gmail, Yahoo, ...), read from
//     what the text says: the failed addresses and the remote server's reply;
//   - RFC 5965 ARF complaints (redacted ones included) and RFC 6591 authentication
//     failure reports;
//   - a delivery status report forwarded inline in another mail's text (read as the report
//     it forwards);
//   - a mailing list manager's refusal of a post from a non-member (a soft bounce for the
//     list's address);
//   - RFC 3834 auto-replies (Auto-Submitted, vacation and out-of-office wording).
// Line ends may be CRLF or LF (files on disk are usually LF); any bytes are accepted.
// Every failed recipient's Verdict is made by the same rules as ClassifySmtpReply (reason
// from the enhanced status, the reply text and the report's wording; hard only for an
// address that is shown not to exist or to take no mail); a refusal that names the
// envelope sender (the returned message's Return-Path, or the address the report is sent
// to) right after its codes is read as a refusal of MAIL FROM.
// Thread-safety: pure; safe from any thread.
// Trust: the input is an arbitrary email from anyone on the internet. Sizes are bounded:
// at most kMaxFeedbackBytes are read, MIME nesting is followed kMaxMimeDepth levels, a
// report forwarded inline is followed one level deep, at most kMaxReportRecipients
// recipients are reported, and every string in the result is valid UTF-8 without control
// characters (safe for JSON and logs).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "feedback/mime_tree.h"
#include "feedback/smtp_reply.h"

namespace herald::feedback {

inline constexpr size_t kMaxFeedbackBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxReportRecipients = 1000;

enum class FeedbackKind {
  kNotFeedback,   // ordinary mail, or nothing recognisable as a report
  kBounce,        // at least one recipient failed or was delayed, with a known reason
  kUndetermined,  // a bounce, but no recipient's cause could be told
  kComplaint,     // an ARF report (or a provider's complaint in another form)
  kAutoReply,     // RFC 3834 auto-reply, vacation or out-of-office notice
  kDelivered,     // a DSN that reports success (Action: delivered, relayed, expanded)
};
// "not_feedback", "bounce", "undetermined", "complaint", "auto_reply", "delivered".
const char* FeedbackKindName(FeedbackKind kind);

// One recipient a bounce report is about.
struct ReportedRecipient {
  std::string address;             // the failed address (Final-Recipient or from the text)
  std::string original_recipient;  // Original-Recipient when given, else empty
  Verdict verdict;                 // reason, SES type and sub-type, hard, status, action
                                   // ("failed" or "delayed"), diagnostic_code
  int reply_code = 0;              // the remote server's basic reply code, 0 when none
  std::string remote_mta;          // Remote-MTA (or the host named in the text), may be empty
  std::string smtp_command;        // the command the remote refused ("RCPT", "DATA", ...),
                                   // when the report says so, upper case
  std::string last_attempt_date;   // as written, may be empty
};

// What an ARF report says (RFC 5965 section 3.1, RFC 6591).
struct ComplaintReport {
  std::string feedback_type;  // lower case: "abuse", "fraud", "virus", "other", "not-spam",
                              // "auth-failure", "opt-out", ...
  std::string user_agent;
  std::string version;
  std::string arrival_date;  // Arrival-Date / Received-Date as written
  std::string source_ip;
  std::string original_mail_from;
  std::vector<std::string> original_rcpt_to;
  std::string reported_domain;
  // The original's recipients were removed or replaced (RFC 6590 redaction): the
  // complaint then stands for the original's recipients at the reporting domain.
  bool redacted = false;
};

// What the report carries of the message it is about (the returned message or its
// headers), for correlation with what herald sent.
struct OriginalMessage {
  std::string message_id;  // Message-ID without angle brackets, may be empty
  std::string from;        // From as written (encoded-words decoded), may be empty
  std::string to;
  std::string subject;
  std::string return_path;  // Return-Path without angle brackets
  std::string date;
  // Every message id found in the returned header (Message-ID, In-Reply-To, References)
  // and, for text bounces with no returned header, ids of the shape <...@...> found in
  // the report's own In-Reply-To / References.
  std::vector<std::string> referenced_ids;
};

struct Report {
  FeedbackKind kind = FeedbackKind::kNotFeedback;
  // Which reading recognised the mail, for diagnostics: "rfc3464", "arf", "rfc3834", "list",
  // or the name of a text format ("qmail", "exim", "sendmail", "postfix", "exchange", ...).
  std::string format;
  std::string reporting_mta;                  // Reporting-MTA (or the reporting host), may be empty
  std::string arrival_date;                   // the report's Arrival-Date or Date
  std::string subject;                        // the report's own Subject (decoded)
  std::string from;                           // the report's own From
  std::vector<ReportedRecipient> recipients;  // bounces: one per failed or delayed address
  ComplaintReport complaint;                  // complaints only
  OriginalMessage original;
};

Report ParseFeedback(std::string_view message);

}  // namespace herald::feedback
