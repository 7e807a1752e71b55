// feedback/smtp_reply.h: classifies a failed SMTP reply (or a non-SMTP delivery failure)
// into herald's reason vocabulary and the fields of an SES Bounce / DeliveryDelay event.
//
// Contract: pure functions that never fail. ClassifySmtpReply reads the enhanced status code
// first (RFC 3463, the IANA registry of RFC 5248, RFC 7505's null-MX codes), then the text
// (a fixed table of phrases mail servers use, matched case-insensitively as substrings),
// then the basic reply code:
//   1. an enhanced code whose meaning is unambiguous (5.1.1, 5.2.2, 5.3.4, 5.7.26, ...)
//      decides the reason on its own;
//   2. otherwise the first phrase of the table found in the text decides it (the table is
//      ordered from the most specific phrases to the most generic);
//   3. otherwise an ambiguous enhanced code gives its usual meaning (5.7.1 -> kPolicy),
//      then the basic code (500-504 -> kSyntaxError, 551 -> kUserUnknown, ...);
//   4. otherwise Reason::kUnknown.
// Permanence comes from the basic code's class only (5xx permanent, 4xx not); an enhanced
// code of another class ("550 4.2.2") still lends its subject and detail to the reason, but
// the status reported is then derived ("5.0.0"). Codes outside 400..599 are not failures
// the classifier understands: they give an Undetermined, non-permanent verdict.
//
// SES mapping (bounce_type / bounce_sub_type), for permanent verdicts:
//   kUserUnknown, kHostUnknown, kMailboxDisabled, kPolicy, kAuthFailure, kRequirePtr,
//   kSyntaxError, kNetworkError, kSystemError, kUnknown    Permanent / General (hard)
//   kSuppressed                                             Permanent / Suppressed (hard)
//   kMailboxFull                                            Transient / MailboxFull
//   kMessageTooLarge                                        Transient / MessageTooLarge
//   kSpam, kVirus                                           Transient / ContentRejected, or
//                                                           AttachmentRejected when the text
//                                                           speaks of an attachment
//   kBlocked, kRateLimited, kExpired                        Transient / General
// kBlocked and kRateLimited are transient even for 5xx: they are about herald's IP or
// volume, not the recipient, and SES keeps blocked-IP bounces out of the hard-bounce rate.
// Non-permanent verdicts are Transient with the same sub-types (General where the table
// says Permanent), hard=false, and a delay_type from SES's DeliveryDelay list:
//   kMailboxFull -> MailboxFull; kSpam, kVirus -> SpamDetected;
//   kBlocked, kRateLimited, kRequirePtr -> IPFailure (the provider blocks, throttles or
//   greylists the sending IP); kNetworkError -> TransientCommunicationFailure;
//   kSystemError -> RecipientServerError; every other reason -> General.
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
  // The mailbox does not exist: 5.1.1, 5.1.3, 5.1.6, 5.7.17, 551; "user unknown", "no such
  // user", Gmail "does not exist", Exchange "RESOLVER.ADR.RecipNotFound", Yahoo "user
  // doesn't have a yahoo.com account".
  kUserUnknown,
  // Over quota: 5.2.2 / 4.2.2; "mailbox full", "quota exceeded", "over quota".
  kMailboxFull,
  // The account exists but is disabled, suspended or inactive: 5.2.1; "disabled",
  // "inactive", "suspended".
  kMailboxDisabled,
  // The destination domain or host does not exist or takes no mail: 5.1.2, 5.1.10 (null MX,
  // RFC 7505), 5.4.4; NXDOMAIN, "domain not found", "host unknown".
  kHostUnknown,
  // The message is larger than the server accepts: 5.3.4, 5.2.3; 552 "message size exceeds".
  kMessageTooLarge,
  // The content was judged spam or phishing: 5.7.1 / 5.7.28 with "spam", "unsolicited".
  kSpam,
  // A virus, malware or an unsafe attachment was found: "virus", "malware", Gmail's
  // "content presents a potential security issue".
  kVirus,
  // The sending IP or domain is refused for its reputation: DNSBL/RBL listings
  // ("blocked using zen.spamhaus.org", "block list"), "reputation", Microsoft 5.7.5xx/6xx.
  kBlocked,
  // Throttling: 421, 4.7.0 "rate", "try again later", "too many connections/messages",
  // 4.5.3 too many recipients, and greylisting (450/451 4.7.1 "greylisted").
  kRateLimited,
  // Any other policy refusal: 5.7.x not covered above, relaying denied ("relay access
  // denied"), HELO or sender address rejected.
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
};

// "unknown", "user_unknown", "mailbox_full", "mailbox_disabled", "host_unknown",
// "message_too_large", "spam", "virus", "blocked", "rate_limited", "policy",
// "auth_failure", "require_ptr", "syntax_error", "network_error", "system_error",
// "expired", "suppressed". Stable: stored and published.
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
