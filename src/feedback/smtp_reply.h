// feedback/smtp_reply.h: classifies a failed SMTP reply (or a non-SMTP delivery failure)
// into herald's reason vocabulary and the fields of an SES Bounce / DeliveryDelay event.
//
// Contract: pure functions that never fail. One rule gives the reason for synchronous
// replies (ClassifySmtpReply) and for bounce reports (ClassifyFailure, used by report.h):
//   1. a specific phrase of the text (a fixed table of what mail servers write, matched
//      case-insensitively as substrings, most specific first: "mailbox full", "blocked
//      using", "relay access denied", ...);
//   2. an enhanced status code (RFC 3463, the IANA registry of RFC 5248, RFC 7505's
//      null-MX codes) whose meaning is unambiguous (5.1.1, 5.2.2, 5.3.2, 5.7.26, ...);
//   3. a generic phrase ("policy", "access denied", "recipient address rejected", "try
//      again later");
//   4. an ambiguous enhanced code's usual meaning (5.7.1 -> kPolicy), then the basic code
//      (500-504 -> kSyntaxError, 551 -> kMailboxMoved, 521/556 -> kNotAccepting, ...);
//   5. phrases that only say retries stopped ("in the queue too long", Exim's "retry
//      timeout exceeded" after the last attempt's cause) -> kExpired;
//   6. for reports, the same tiers over the report's wider wording; else Reason::kUnknown.
// Then the command the server refused narrows it (reports only, where the report says
// which): a refusal of MAIL FROM is kSenderRejected, one at connection or HELO time is
// kBlocked, and "user unknown" after DATA (the recipient had been accepted at RCPT) is
// kFiltered unless the server said 5.1.1. A temporary (4xx) "host unknown" is a network
// error, and a final report of a connection that timed out is kExpired.
// Permanence (Verdict::permanent, whether to retry) comes from the basic code's class for
// replies (5xx permanent, 4xx not) and from the report's Action for reports; an enhanced
// code of another class ("550 4.2.2") still lends its subject and detail to the reason,
// but the status reported is then derived ("5.0.0"). Codes outside 400..599 are not
// failures the classifier understands: they give an Undetermined, non-permanent verdict.
//
// Hard or soft. Only a failure that shows the address itself to be bad is hard and gets
// bounce_type Permanent: kUserUnknown (Permanent/NoEmail), kHostUnknown, kMailboxMoved and
// kNotAccepting (Permanent/General, even from a 4xx reply) and kSuppressed
// (Permanent/Suppressed). Everything else is soft
// (Transient) even when the reply was 5xx: a refusal for content, reputation, policy or a
// remote fault says nothing about the address, and SES keeps such bounces out of the
// hard-bounce rate. Verdict::permanent (stop retrying) still follows the reply's class.
// Transient sub-types: kMailboxFull -> MailboxFull; kMessageTooLarge, kExceedsLimit ->
// MessageTooLarge; kSpam, kContentError, kNotRfcCompliant -> ContentRejected (or
// AttachmentRejected when the text speaks of an attachment); kVirus -> AttachmentRejected;
// every other reason -> General. kUnknown is Undetermined/Undetermined.
// Non-permanent verdicts also carry a delay_type from SES's DeliveryDelay list:
//   kMailboxFull -> MailboxFull; kSpam, kVirus -> SpamDetected; kBlocked,
//   kBadReputation, kRateLimited, kTooManyConnections, kRequirePtr -> IPFailure (the
//   provider blocks, throttles or greylists the sending IP); kNetworkError, kTlsRequired ->
//   TransientCommunicationFailure; kSystemError, kSystemFull, kMailerError ->
//   RecipientServerError; kUnknown -> Undetermined; every other reason -> General.
//
// Thread-safety: safe from any thread; no shared mutable state.
// Trust: the reply text comes from an arbitrary remote server and may hold any bytes.
// diagnostic_code is one line of at most kMaxDiagnosticBytes: control characters (CR and
// LF included) become spaces, bytes that are not valid UTF-8 become '?', so it can go into
// JSON events and logs as is. Only the first kMaxMatchedBytes of the text are searched.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace herald::feedback {

// herald's reason vocabulary; ReasonName gives each a stable snake_case name that events,
// the store and metrics use.
enum class Reason {
  // Nothing recognisable: an unfamiliar text with no enhanced code, or "5.0.0"/"4.0.0".
  kUnknown,
  // The mailbox does not exist: 5.1.1, 5.1.3, 5.7.17; "user unknown", "no such
  // user", Gmail "does not exist", Exchange "RESOLVER.ADR.RecipNotFound", Yahoo "user
  // doesn't have a yahoo.com account".
  kUserUnknown,
  // Over quota: 5.2.2 / 4.2.2; "mailbox full", "quota exceeded", "over quota".
  kMailboxFull,
  // The account exists but is disabled, suspended or inactive: 5.2.1; "disabled",
  // "inactive", "suspended".
  kMailboxDisabled,
  // The destination domain or host does not exist: 5.1.2, 5.4.4; NXDOMAIN, "domain not
  // found", "host unknown" (from a 5xx; a 4xx DNS failure is kNetworkError).
  kHostUnknown,
  // The message is larger than the server accepts: 5.3.4; 552 "message size exceeds".
  kMessageTooLarge,
  // The content was judged spam or phishing: 5.7.1 / 5.7.28 with "spam", "unsolicited".
  kSpam,
  // A virus, malware or an unsafe attachment was found: "virus", "malware", Gmail's
  // "content presents a potential security issue".
  kVirus,
  // The sending IP or domain is refused for its reputation: DNSBL/RBL listings
  // ("blocked using zen.spamhaus.org", "block list"), "reputation", Microsoft 5.7.5xx/6xx.
  kBlocked,
  // Throttling: 421, 4.7.0 "rate", "try again later", "too many messages", 4.5.3 too many
  // recipients, 5.7.28 mail flood, and greylisting (450/451 4.7.1 "greylisted").
  kRateLimited,
  // Any other policy refusal: 5.7.x not covered by a more specific reason.
  kPolicy,
  // SPF, DKIM, DMARC or ARC failed: 5.7.20-5.7.24, 5.7.26, 5.7.27, 5.7.29; "SPF", "DMARC",
  // "unauthenticated".
  kAuthFailure,
  // Reverse DNS is required: 5.7.25; "PTR", "reverse DNS", "rDNS", "cannot find your
  // hostname".
  kRequirePtr,
  // Command or parameter syntax: 500-504, 5.5.x.
  kSyntaxError,
  // The connection failed: refused, timed out, TLS failed (4.4.1, 4.4.2). Made by the
  // delivery engine with MakeVerdict rather than read from a reply.
  kNetworkError,
  // The remote server failed internally: 4.3.x, 5.3.0, 451 "local error in processing".
  kSystemError,
  // Retries ran out (the delivery engine's MaxDeliverySeconds; 4.4.7).
  kExpired,
  // Refused because the address is on a suppression list.
  kSuppressed,
  // The recipient exists (RCPT was accepted) but a filter refused the message afterwards,
  // or the recipient only accepts mail from chosen senders.
  kFiltered,
  // herald's envelope sender (MAIL FROM) or its domain was refused.
  kSenderRejected,
  // The server does not relay for herald: "relay access denied", qmail rcpthosts.
  kRelayDenied,
  // The destination takes no mail at all: null MX (RFC 7505), "does not accept mail".
  kNotAccepting,
  // The mailbox moved and mail is not forwarded (5.1.6).
  kMailboxMoved,
  // The content is malformed or not acceptable in form (MIME, encoding, headers).
  kContentError,
  // The message breaks RFC 5322 / 5321 rules the receiver enforces (bare LF, missing or
  // duplicated headers, line length).
  kNotRfcCompliant,
  // The sending IP or domain has a poor reputation with the receiver (as opposed to a
  // listing on a block list, kBlocked).
  kBadReputation,
  // Too many connections from herald's IP at once (as opposed to too many messages).
  kTooManyConnections,
  // The recipient's limit for a message or per period was exceeded (5.2.3 size of a
  // mailbox's message, too many messages to one recipient).
  kExceedsLimit,
  // The receiving system as a whole is out of space (5.3.1).
  kSystemFull,
  // A local delivery program or pipe on the receiving side failed.
  kMailerError,
  // A security rule other than authentication refused the message (SMTP AUTH required,
  // encrypted or executable content refused by policy).
  kSecurityError,
  // TLS was required but STARTTLS was not offered or failed.
  kTlsRequired,
};

// "unknown", "user_unknown", "mailbox_full", "mailbox_disabled", "host_unknown",
// "message_too_large", "spam", "virus", "blocked", "rate_limited", "policy",
// "auth_failure", "require_ptr", "syntax_error", "network_error", "system_error",
// "expired", "suppressed", "filtered", "sender_rejected", "relay_denied", "not_accepting",
// "mailbox_moved", "content_error", "not_rfc_compliant", "bad_reputation",
// "too_many_connections", "exceeds_limit", "system_full", "mailer_error",
// "security_error", "tls_required". Stable: stored and published. docs/feedback.md maps
// them onto Sisimai's reason names.
const char* ReasonName(Reason r);
// The inverse of ReasonName; nullopt for any other string.
std::optional<Reason> ReasonFromName(std::string_view name);

struct Verdict {
  bool permanent = false;       // true: do not retry (5xx); false: retry (4xx)
  std::string bounce_type;      // "Permanent" | "Transient" | "Undetermined"
  std::string bounce_sub_type;  // SES subtypes: General, NoEmail, Suppressed, MailboxFull,
                                // MessageTooLarge, ContentRejected, AttachmentRejected,
                                // Undetermined
  std::string delay_type;       // for non-permanent verdicts only (else empty): the SES
                                // DeliveryDelay delayType, see the mapping above
  Reason reason = Reason::kUnknown;
  bool hard = false;            // counts as a hard bounce for reputation (bounce_type
                                // Permanent)
  std::string status;           // enhanced status "5.1.1": from the reply when present and
                                // consistent with the basic code's class, else derived
                                // ("5.0.0"/"4.0.0")
  std::string action;           // "failed" (permanent) | "delayed" (temporary)
  std::string diagnostic_code;  // "smtp; " + the reply as one line (multi-line replies
                                // joined by a space, continuation lines' repeated enhanced
                                // code removed; CR/LF never kept)
};

// The longest diagnostic_code produced (longer ones are cut at a UTF-8 boundary and end in
// "...").
inline constexpr size_t kMaxDiagnosticBytes = 1024;
// How much of a reply's text is searched for phrases.
inline constexpr size_t kMaxMatchedBytes = 4096;

// `code` is the three-digit basic reply code (200..599); `text` is the reply text as the
// server sent it: one or more lines WITHOUT their "250-" / "550 " prefixes, joined by '\n'
// (the enhanced code, when present, starts the first line: "5.1.1 <a@b>: Recipient ...").
// Pure. Never fails: unknown input gives Reason::kUnknown with bounce_type from the class.
Verdict ClassifySmtpReply(int code, std::string_view text);

// For failures that are not SMTP replies (DNS NXDOMAIN, null MX, connection refused, TLS
// required but not offered, retries expired): builds a Verdict with that reason, the given
// status ("5.1.2", "4.4.1", "5.4.7"...; "5.0.0"/"4.0.0" when empty) and the diagnostic as
// given (made one safe line like any diagnostic_code; no "smtp; " is added).
Verdict MakeVerdict(Reason reason, bool permanent, std::string status, std::string diagnostic);

// What a bounce report says about one failed recipient, for ClassifyFailure: the same
// reading as ClassifySmtpReply, with the report's own wording as further evidence.
struct FailureFacts {
  std::string_view status;           // the reported enhanced status ("5.1.1"), may be empty
  int reply_code = 0;                // the remote server's basic code, 0 when unknown
  std::string_view text;             // the remote server's reply or the report's diagnostic
  std::string_view context;          // more of the report's wording about this recipient,
                                     // read only when `text` names no reason
  std::string_view command;          // the SMTP command refused ("RCPT", "DATA"), may be empty
  std::string_view diagnostic_type;  // "smtp", "x-unix", ... (lower case), may be empty
  bool permanent = true;             // the report gave up (Action: failed, 5xx)
};

// Classifies one failed recipient of a report. diagnostic_code becomes
// "<diagnostic_type>; <text>" ("smtp; " when no type is given) made one safe line.
Verdict ClassifyFailure(const FailureFacts& facts);

// `in` as one line that is safe for JSON and logs (see the trust note above), at most
// `max_bytes` long.
std::string SafeOneLine(std::string_view in, size_t max_bytes = kMaxDiagnosticBytes);

// An RFC 3463 enhanced status code: class.subject.detail.
struct EnhancedStatus {
  int klass = 0;    // 2, 4 or 5
  int subject = 0;  // 0..999
  int detail = 0;   // 0..999
};
// Parses "5.1.1" exactly (1..3 digits for subject and detail); nullopt for anything else.
// Used for reply texts here and, later, for the Status field of delivery status reports.
std::optional<EnhancedStatus> ParseEnhancedStatus(std::string_view s);

}  // namespace herald::feedback
