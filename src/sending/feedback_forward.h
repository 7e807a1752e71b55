// sending/feedback_forward.h: builds the email that forwards one Bounce or Complaint event
// to the sender ("email feedback forwarding", on by default per identity in SES).
//
// Contract: BuildFeedbackForward is a pure function of its arguments (the same event and
// options give the same bytes; no clock, no randomness, no I/O). It returns a complete
// RFC 5322 message with CRLF line ends and no line longer than 998 octets:
//   - a Bounce becomes an RFC 3464 multipart/report; report-type=delivery-status with a
//     text/plain part (the original's subject and destination, each failed recipient and
//     its diagnostic), a message/delivery-status part (Reporting-MTA, Arrival-Date, and per
//     recipient Final-Recipient, Action, Status, Diagnostic-Code, Last-Attempt-Date) and a
//     text/rfc822-headers part;
//   - a Complaint becomes an RFC 5965 multipart/report; report-type=feedback-report with a
//     text/plain part, a message/feedback-report part (Feedback-Type, User-Agent, Version,
//     Original-Mail-From, Original-Rcpt-To per complained recipient, Arrival-Date,
//     Reporting-MTA) and a text/rfc822-headers part.
// The text/rfc822-headers part holds mail.headers (minus Bcc and fields whose names are
// not RFC 5322 field names), else fields rebuilt from mail.commonHeaders, and in either
// case at least From (mail.source) and Message-ID (mail.messageId, completed with
// "@<hostname>" as herald's own ids are when it has no '@') when the list lacks them and
// they are known. Raw UTF-8 is kept there (RFC 6532); the text part is 7bit when ASCII,
// else 8bit UTF-8; the report fields are ASCII (other bytes become '?').
// Field choices: Reporting-MTA is the event's reportingMTA when it reads "dns; <host>"
// (SES's own spelling "dsn; <host>" is accepted and written as "dns;"), else
// "dns; <hostname>"; Action is the event's when it is an RFC 3464 action, else "failed";
// Status is the event's x.y.z, else 5.0.0 (Permanent) or 4.0.0; a Diagnostic-Code with no
// "type;" prefix gets "smtp; "; Feedback-Type is the event's complaintFeedbackType when it
// is a registered type (abuse, auth-failure, fraud, not-spam, other, virus), else "abuse";
// User-Agent is the event's userAgent, else "herald". Dates from the event are rewritten in
// RFC 5322 form, and left out when they do not parse. Recipients whose address does not
// parse (mail/address.h) are left out; at most feedback::kMaxReportRecipients are reported.
// Errors: kInvalidArgument when the event is not an object with eventType (or SES's
// notificationType) Bounce or Complaint, a "mail" object and the detail object with at
// least one usable recipient; when `to` is not a mailbox; when hostname is not a host
// name; when message_id is not a plain "left@right" id.
// Thread-safety: pure; safe from any thread.
// Trust: every string in the event came from hostile clients or peers. Values are made
// valid UTF-8, CR, LF, NUL and other control characters become spaces, header lines are
// folded or cut to 998 octets, the subject is RFC 2047 encoded when not ASCII, and the
// MIME boundary is checked not to occur anywhere in the parts, so no value can add a
// header line or a MIME part. `options` are trusted configuration but still checked.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/clock.h"
#include "base/status.h"

namespace herald::sending {

struct ForwardOptions {
  std::string hostname;    // herald's host name: Reporting-MTA, From's domain
  std::string to;          // where the report goes (the caller decides): a mailbox
  std::string message_id;  // without <>, e.g. "<id>@<hostname>" minus the brackets; empty:
                           // one is derived from the event and `now`
  SysTime now;             // the report's Date
};

StatusOr<std::string> BuildFeedbackForward(const nlohmann::json& event, const ForwardOptions& o);

}  // namespace herald::sending
