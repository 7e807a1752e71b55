#include "feedback/smtp_reply.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "base/strings.h"

namespace herald::feedback {
namespace {

// ---------------------------------------------------------------------------------------
// Enhanced status codes (RFC 3463, RFC 5248's registry, RFC 7505, RFC 7293, RFC 8617).

// What an enhanced code says about the reason. A strong meaning decides alone; a weak one
// yields to any phrase of the text.
struct CodeMeaning {
  Reason reason = Reason::kUnknown;
  bool strong = false;
};

CodeMeaning Strong(Reason r) { return {r, true}; }
CodeMeaning Weak(Reason r) { return {r, false}; }

CodeMeaning MeaningOf(int subject, int detail) {
  switch (subject) {
    case 1:  // addressing
      switch (detail) {
        case 0:
          return Weak(Reason::kUserUnknown);
        case 1:  // bad destination mailbox address
        case 3:  // bad destination mailbox address syntax
          return Strong(Reason::kUserUnknown);
        case 6:  // destination mailbox has moved, no forwarding address
          return Strong(Reason::kMailboxMoved);
        case 2:  // bad destination system address
          return Strong(Reason::kHostUnknown);
        case 4:  // destination mailbox address ambiguous
          return Weak(Reason::kUserUnknown);
        case 7:  // bad sender's mailbox address syntax
        case 8:  // bad sender's system address
          return Strong(Reason::kSenderRejected);
        case 10:  // null MX (RFC 7505); Exchange Online also uses it for unknown recipients
          return Weak(Reason::kNotAccepting);
        default:
          return {};
      }
    case 2:  // mailbox status
      switch (detail) {
        case 1:
          return Weak(Reason::kMailboxDisabled);
        case 2:
          return Strong(Reason::kMailboxFull);
        case 3:  // message length exceeds administrative limit (the recipient's limit)
          return Strong(Reason::kExceedsLimit);
        default:
          return {};
      }
    case 3:  // mail system status
      switch (detail) {
        case 1:  // mail system full
          return Strong(Reason::kSystemFull);
        case 2:  // system not accepting network messages
          return Strong(Reason::kNotAccepting);
        case 4:  // message too big for system
          return Strong(Reason::kMessageTooLarge);
        case 6:  // requested priority was changed: not a failure reason
          return {};
        default:
          return Weak(Reason::kSystemError);
      }
    case 4:  // network and routing status
      switch (detail) {
        case 3:  // directory server failure
          return Weak(Reason::kSystemError);
        case 6:  // routing loop detected
          return Weak(Reason::kNetworkError);
        case 4:  // unable to route
          return Weak(Reason::kHostUnknown);
        case 5:  // mail system congestion
          return Weak(Reason::kRateLimited);
        case 7:  // delivery time expired
          return Strong(Reason::kExpired);
        default:
          return Weak(Reason::kNetworkError);
      }
    case 5:                                                // mail delivery protocol status
      if (detail == 3) return Weak(Reason::kRateLimited);  // too many recipients
      return Weak(Reason::kSyntaxError);
    case 6:  // message content or media status
      return Weak(Reason::kContentError);
    case 7:  // security or policy status
      if (detail >= 500 && detail <= 699) return Weak(Reason::kBlocked);  // Microsoft
      switch (detail) {
        case 8:   // authentication credentials invalid (RFC 4954)
        case 9:   // authentication mechanism is too weak
        case 10:  // encryption needed
        case 12:  // a password transition is needed
        case 14:  // trust relationship required
        case 15:  // priority level is too low
          return Weak(Reason::kSecurityError);
        case 11:  // encryption required for requested authentication mechanism
          return Weak(Reason::kTlsRequired);
        case 13:  // user account disabled
          return Weak(Reason::kMailboxDisabled);
        case 16:  // message too big for specified priority
          return Strong(Reason::kMessageTooLarge);
        case 17:  // mailbox owner has changed (RFC 7293)
        case 18:  // domain owner has changed
          return Strong(Reason::kUserUnknown);
        case 20:  // no passing DKIM signature
        case 21:  // no acceptable DKIM signature
        case 22:  // no valid author-matched DKIM signature
        case 23:  // SPF validation failed
        case 24:  // SPF validation error
        case 26:  // multiple authentication checks failed
        case 27:  // sender address has null MX (RFC 7505)
        case 29:  // ARC validation failure (RFC 8617)
          return Strong(Reason::kAuthFailure);
        case 25:  // reverse DNS validation failed
          return Strong(Reason::kRequirePtr);
        case 28:  // mail flood detected
          return Strong(Reason::kRateLimited);
        default:
          return Weak(Reason::kPolicy);
      }
    default:
      return {};
  }
}

// What the basic code alone suggests (RFC 5321 section 4.2), when nothing else does.
Reason BasicCodeReason(int code) {
  switch (code) {
    case 421:  // service not available, closing channel: mostly throttling
      return Reason::kRateLimited;
    case 451:  // local error in processing
    case 452:  // insufficient system storage
      return Reason::kSystemError;
    case 500:
    case 501:
    case 502:
    case 503:
    case 504:
      return Reason::kSyntaxError;
    case 551:  // user not local; please try <forward-path>
      return Reason::kMailboxMoved;
    case 521:  // the host does not accept mail (RFC 7504)
    case 556:  // the domain does not accept mail (RFC 7504)
      return Reason::kNotAccepting;
    case 552:  // exceeded storage allocation
      return Reason::kMailboxFull;
    default:
      return Reason::kUnknown;
  }
}

// ---------------------------------------------------------------------------------------
// The phrase table. Searched in order over the lower-cased, one-line text; the first phrase
// found decides. Specific phrases come before generic ones that they contain or that
// could appear beside them ("blocked using zen.spamhaus.org" must not read as spam,
// "Sender address rejected: Domain not found" must not read as an unknown destination).
// A `word` phrase must not touch a letter on either side ("spf" but not "spfx").

struct Phrase {
  std::string_view text;
  Reason reason;
  bool word = false;
};

constexpr Phrase kPhrases[] = {
    // A local delivery program failed (the report names the pipe or its output).
    {"pipe to |", Reason::kMailerError},
    {"command output", Reason::kMailerError},
    {"maildrop:", Reason::kMailerError},
    {"local delivery failed", Reason::kMailerError},
    {"local mailer", Reason::kMailerError},
    {"mailer error", Reason::kMailerError},
    {"unknown mailer error", Reason::kMailerError},
    // Viruses and unsafe attachments.
    {"virus", Reason::kVirus},
    {"malware", Reason::kVirus},
    {"trojan", Reason::kVirus},
    {"infected", Reason::kVirus},
    {"eicar", Reason::kVirus},
    {"potential security issue", Reason::kVirus},  // Gmail 552 5.7.0
    {"banned attachment", Reason::kSecurityError},
    {"prohibited attachment", Reason::kSecurityError},
    {"blocked attachment", Reason::kSecurityError},
    {"dangerous attachment", Reason::kSecurityError},
    {"unsafe attachment", Reason::kSecurityError},
    {"executable attachment", Reason::kSecurityError},
    {"attachment not allowed", Reason::kSecurityError},
    {"attachment is not allowed", Reason::kSecurityError},
    {"attachments are not allowed", Reason::kSecurityError},
    {"attachment type", Reason::kSecurityError},
    {"malicious", Reason::kVirus},
    // Content flagged by URL block lists is spam, not a listing of the sending IP.
    {"blacklisted url", Reason::kSpam},
    {"url blacklist", Reason::kSpam},
    {"uribl", Reason::kSpam},
    {"surbl", Reason::kSpam},
    // Greylisting.
    {"greylist", Reason::kRateLimited},
    {"graylist", Reason::kRateLimited},
    {"grey-list", Reason::kRateLimited},
    {"gray-list", Reason::kRateLimited},
    {"grey list", Reason::kRateLimited},
    {"gray list", Reason::kRateLimited},
    // Retries ran out.
    {"retry time exceeded", Reason::kExpired},
    {"could not deliver for the last", Reason::kExpired},
    {"envelope expired", Reason::kExpired},
    {"message expired", Reason::kExpired},
    {"delivery time expired", Reason::kExpired},
    {"delivery expired", Reason::kExpired},
    {"time limit exceeded", Reason::kExpired},
    {"did not accept our requests to connect", Reason::kExpired},  // Gmail
    {"maximum time", Reason::kExpired},
    {"message timed out", Reason::kExpired},
    {"still undelivered", Reason::kExpired},
    {"not delivered within", Reason::kExpired},
    {"failing for a long time", Reason::kExpired},  // Exim: retry time reached
    // The content was classified as spam; advice to set up SPF or DKIM that may follow
    // is not the cause.
    {"spam classification", Reason::kSpam},
    {"classified as spam", Reason::kSpam},
    // Sender authentication.
    {"spf", Reason::kAuthFailure, true},
    {"openspf", Reason::kAuthFailure},
    {"sender policy framework", Reason::kAuthFailure},
    {"dkim", Reason::kAuthFailure, true},
    {"domainkeys", Reason::kAuthFailure},
    {"dmarc", Reason::kAuthFailure, true},
    {"authentication checks failed", Reason::kAuthFailure},
    {"authentication information", Reason::kAuthFailure},
    {"arc validation", Reason::kAuthFailure},
    // SMTP authentication or encryption demanded of herald.
    {"unauthenticated senders", Reason::kSecurityError},
    {"authentication required", Reason::kSecurityError},
    {"authentication is required", Reason::kSecurityError},
    {"smtp auth", Reason::kSecurityError},
    {"must authenticate", Reason::kSecurityError},
    {"unauthenticated", Reason::kAuthFailure},
    {"starttls", Reason::kTlsRequired},
    {"tls", Reason::kTlsRequired, true},
    {"ssl", Reason::kTlsRequired, true},
    {"encryption required", Reason::kTlsRequired},
    // Reverse DNS.
    {"ptr", Reason::kRequirePtr, true},
    {"rdns", Reason::kRequirePtr, true},
    {"fcrdns", Reason::kRequirePtr, true},
    {"reverse dns", Reason::kRequirePtr},
    {"reverse-dns", Reason::kRequirePtr},
    {"reverse lookup", Reason::kRequirePtr},
    {"reverse hostname", Reason::kRequirePtr},
    {"reverse mapping", Reason::kRequirePtr},
    {"no reverse", Reason::kRequirePtr},
    {"ip name lookup failed", Reason::kRequirePtr},
    {"cannot find your hostname", Reason::kRequirePtr},  // Postfix reject_unknown_client
    {"can't find your hostname", Reason::kRequirePtr},
    {"cannot resolve your hostname", Reason::kRequirePtr},
    {"mismatches client ip", Reason::kRequirePtr},
    // Refusals about herald's own HELO, sender or relaying, before the phrases they
    // contain ("host not found", "domain not found", "user unknown").
    {"helo command rejected", Reason::kBlocked},
    {"helo rejected", Reason::kBlocked},
    {"invalid helo", Reason::kBlocked},
    {"bad helo", Reason::kBlocked},
    {"my name was rejected", Reason::kBlocked},   // qmail
    {"refused to talk to me", Reason::kBlocked},  // Postfix: the greeting was a refusal
    {"client host rejected", Reason::kBlocked},
    {"client host blocked", Reason::kBlocked},
    {"service refused", Reason::kBlocked},
    {"sender address rejected", Reason::kSenderRejected},
    {"sender was rejected", Reason::kSenderRejected},  // qmail
    {"sender rejected", Reason::kSenderRejected},
    {"sender denied", Reason::kSenderRejected},
    {"sender verify failed", Reason::kSenderRejected},
    {"sender verification failed", Reason::kSenderRejected},
    {"domain of sender address", Reason::kSenderRejected},  // Sendmail 553 5.1.8
    {"send mail as", Reason::kSenderRejected},              // Gmail: a "Send mail as" alias refused
    {"purported responsible address", Reason::kSenderRejected},
    {"sender domain", Reason::kSenderRejected},
    {"invalid sender", Reason::kSenderRejected},
    {"sender not allowed", Reason::kSenderRejected},
    {"sender is not allowed", Reason::kSenderRejected},
    {"not a member", Reason::kSenderRejected},  // closed mailing lists
    {"relay access denied", Reason::kRelayDenied},
    {"relaying denied", Reason::kRelayDenied},
    {"relay denied", Reason::kRelayDenied},
    {"relay not permitted", Reason::kRelayDenied},
    {"relaying not permitted", Reason::kRelayDenied},
    {"not permitted to relay", Reason::kRelayDenied},
    {"relay not allowed", Reason::kRelayDenied},
    {"relaying not allowed", Reason::kRelayDenied},
    {"not allowed to relay", Reason::kRelayDenied},
    {"unable to relay", Reason::kRelayDenied},
    {"we do not relay", Reason::kRelayDenied},
    {"no relaying", Reason::kRelayDenied},
    {"relaying to", Reason::kRelayDenied},
    {"rcpthosts", Reason::kRelayDenied},
    {"address is not verified",
     Reason::kRelayDenied},  // SES: unverified sender identity  // qmail: "isn't in my list of
                             // allowed rcpthosts"
    {"external forwarding", Reason::kPolicy},
    // Reputation, before the rate phrases ("rate limited due to IP reputation").
    {"reputation", Reason::kBadReputation},
    {"user complaints", Reason::kBadReputation},  // Yahoo TSS04
    // The sending IP is refused for the unwanted mail it sent (Outlook.com SC-004).
    {"unwanted messages", Reason::kBlocked},
    // Too many connections, before the rate phrases.
    {"frequency limited", Reason::kTooManyConnections},
    {"too many connections", Reason::kTooManyConnections},
    {"too many concurrent", Reason::kTooManyConnections},
    {"connection rate limit", Reason::kTooManyConnections},
    {"connection limit", Reason::kTooManyConnections},
    {"too many sessions", Reason::kTooManyConnections},
    // Throttling worded with "quota" or "limit", before the mailbox-full phrases.
    {"sending quota", Reason::kRateLimited},
    {"message quota", Reason::kRateLimited},
    {"sending limit", Reason::kRateLimited},
    {"sending rate", Reason::kRateLimited},
    {"too many recipients", Reason::kRateLimited},
    {"reciplimit", Reason::kRateLimited},  // Exchange RESOLVER.ADR.RecipLimit
    {"rate limit", Reason::kRateLimited},
    {"ratelimit", Reason::kRateLimited},
    {"rate-limit", Reason::kRateLimited},
    {"throttl", Reason::kRateLimited},
    {"too many messages", Reason::kRateLimited},
    {"too many mails", Reason::kRateLimited},
    {"too many emails", Reason::kRateLimited},
    {"exceeded the rate", Reason::kRateLimited},
    {"unusual rate", Reason::kRateLimited},
    {"receiving mail at a rate", Reason::kRateLimited},  // Gmail 4.2.1
    {"receiving mail too quickly", Reason::kRateLimited},
    {"too fast", Reason::kRateLimited},
    {"slow down", Reason::kRateLimited},
    // Recipient limits on size, before mailbox-full and message-size phrases.
    {"recipsizelimit", Reason::kExceedsLimit},  // Exchange RESOLVER.RST.RecipSizeLimit
    {"too large for this recipient", Reason::kExceedsLimit},
    {"limit set by recipient", Reason::kExceedsLimit},
    {"exceeds fixed maximum message size", Reason::kExceedsLimit},
    // Mailbox full.
    {"mailbox full", Reason::kMailboxFull},
    {"mailbox is full", Reason::kMailboxFull},
    {"mailbox for user is full", Reason::kMailboxFull},
    {"inbox is full", Reason::kMailboxFull},
    {"full mailbox", Reason::kMailboxFull},
    {"mailbox exceeds", Reason::kMailboxFull},
    {"mailbox has exceeded", Reason::kMailboxFull},
    {"mailbox size limit", Reason::kMailboxFull},
    {"mailbox quota", Reason::kMailboxFull},
    {"mailbox would exceed", Reason::kMailboxFull},
    {"storage quota", Reason::kMailboxFull},
    {"disk quota", Reason::kMailboxFull},
    {"over quota", Reason::kMailboxFull},
    {"overquota", Reason::kMailboxFull},
    {"over the quota", Reason::kMailboxFull},
    {"quota exceeded", Reason::kMailboxFull},
    {"quotaexceeded", Reason::kMailboxFull},  // Exchange QuotaExceededException
    {"quota exceed", Reason::kMailboxFull},
    {"exceeded quota", Reason::kMailboxFull},
    {"exceeds quota", Reason::kMailboxFull},
    {"exceeded storage allocation", Reason::kMailboxFull},
    {"not enough storage space", Reason::kMailboxFull},
    // Message too large.
    {"message size exceeds", Reason::kMessageTooLarge},
    {"message size limit", Reason::kMessageTooLarge},
    {"message length exceeds", Reason::kMessageTooLarge},
    {"message too large", Reason::kMessageTooLarge},
    {"message is too large", Reason::kMessageTooLarge},
    {"message too big", Reason::kMessageTooLarge},
    {"message is too big", Reason::kMessageTooLarge},
    {"message too long", Reason::kMessageTooLarge},
    {"message is too long", Reason::kMessageTooLarge},
    {"message size", Reason::kMessageTooLarge},
    {"size limit", Reason::kMessageTooLarge},
    {"size exceeds", Reason::kMessageTooLarge},
    {"exceeds size", Reason::kMessageTooLarge},
    {"exceeds the maximum", Reason::kMessageTooLarge},
    {"sendsizelimit", Reason::kMessageTooLarge},
    {"too large", Reason::kMessageTooLarge},
    {"too big", Reason::kMessageTooLarge},
    // Temporary DNS trouble is a network error, before "host not found".
    {"host not found, try again", Reason::kNetworkError},
    {"malformed or unexpected name server reply", Reason::kNetworkError},
    {"temporary failure in name resolution", Reason::kNetworkError},
    {"host name lookup failure", Reason::kNetworkError},
    // The destination takes no mail.
    {"null mx", Reason::kNotAccepting},
    {"no mx", Reason::kNotAccepting},
    {"mail exchanger", Reason::kNotAccepting},
    {"does not accept mail", Reason::kNotAccepting},
    {"doesn't accept mail", Reason::kNotAccepting},
    {"not accepting mail", Reason::kNotAccepting},
    {"accepts no mail", Reason::kNotAccepting},
    // Destination domain or host does not exist.
    {"domain not found", Reason::kHostUnknown},
    {"domain does not exist", Reason::kHostUnknown},
    {"domain doesn't exist", Reason::kHostUnknown},
    {"domain name not found", Reason::kHostUnknown},
    {"domain is not reachable", Reason::kHostUnknown},
    {"no such domain", Reason::kHostUnknown},
    {"unknown domain", Reason::kHostUnknown},
    {"invalid domain", Reason::kHostUnknown},
    {"domain does not accept", Reason::kHostUnknown},
    {"host not found", Reason::kHostUnknown},
    {"host unknown", Reason::kHostUnknown},
    {"unknown host", Reason::kHostUnknown},
    {"nxdomain", Reason::kHostUnknown},
    {"name service error", Reason::kHostUnknown},
    {"unrouteable", Reason::kHostUnknown},  // Exim "Unrouteable address"
    {"unroutable", Reason::kHostUnknown},
    {"no mail exchanger", Reason::kHostUnknown},
    {"bad destination system", Reason::kHostUnknown},
    // Mailbox moved.
    {"no longer on server", Reason::kMailboxMoved},
    {"has moved", Reason::kMailboxMoved},
    {"mailbox moved", Reason::kMailboxMoved},
    {"not our user", Reason::kMailboxMoved},
    // Mailbox disabled.
    {"inactive email address", Reason::kUserUnknown},  // iCloud, with 5.1.1
    {"disabled", Reason::kMailboxDisabled},
    {"deactivated", Reason::kMailboxDisabled},
    {"inactive", Reason::kMailboxDisabled},
    {"suspended", Reason::kMailboxDisabled},
    {"account is locked", Reason::kMailboxDisabled},
    {"account locked", Reason::kMailboxDisabled},
    {"no longer active", Reason::kMailboxDisabled},
    {"no longer in use", Reason::kMailboxDisabled},
    {"not active", Reason::kMailboxDisabled},
    {"account expired", Reason::kMailboxDisabled},
    {"account has expired", Reason::kMailboxDisabled},
    {"mailbox is frozen", Reason::kMailboxDisabled},
    // Mailbox does not exist.
    {"user unknown", Reason::kUserUnknown},
    {"unknown user", Reason::kUserUnknown},
    {"recipient unknown", Reason::kUserUnknown},
    {"unknown recipient", Reason::kUserUnknown},
    {"mailbox unknown", Reason::kUserUnknown},
    {"unknown mailbox", Reason::kUserUnknown},
    {"address unknown", Reason::kUserUnknown},
    {"unknown address", Reason::kUserUnknown},
    {"addressee unknown", Reason::kUserUnknown},
    {"unknown local part", Reason::kUserUnknown},  // Exim
    {"unknown or illegal alias", Reason::kUserUnknown},
    {"no such user", Reason::kUserUnknown},
    {"no such mailbox", Reason::kUserUnknown},
    {"no such recipient", Reason::kUserUnknown},
    {"no such person", Reason::kUserUnknown},
    {"no such address", Reason::kUserUnknown},
    {"no such account", Reason::kUserUnknown},
    {"no such local user", Reason::kUserUnknown},
    {"no mailbox", Reason::kUserUnknown},
    {"user not found", Reason::kUserUnknown},
    {"user not exist", Reason::kUserUnknown},
    {"user does not exist", Reason::kUserUnknown},
    {"recipient not found", Reason::kUserUnknown},
    {"recipientnotfound", Reason::kUserUnknown},  // Exchange RESOLVER.ADR.RecipientNotFound
    {"recipnotfound", Reason::kUserUnknown},      // Exchange RESOLVER.ADR.RecipNotFound
    {"mailbox not found", Reason::kUserUnknown},
    {"mailbox unavailable", Reason::kUserUnknown},
    {"does not exist", Reason::kUserUnknown},  // Gmail "The email account ... does not exist"
    {"doesn't exist", Reason::kUserUnknown},
    {"invalid recipient", Reason::kUserUnknown},
    {"invalid mailbox", Reason::kUserUnknown},
    {"invalid address", Reason::kUserUnknown},
    {"invalid user", Reason::kUserUnknown},
    {"invalid final delivery userid", Reason::kUserUnknown},
    {"user invalid", Reason::kUserUnknown},
    {"not a valid mailbox", Reason::kUserUnknown},
    {"not a valid user", Reason::kUserUnknown},
    {"bad destination mailbox", Reason::kUserUnknown},
    {"doesn't have a", Reason::kUserUnknown},  // Yahoo "This user doesn't have a ... account"
    {"does not have a", Reason::kUserUnknown},
    {"not listed in", Reason::kUserUnknown},  // Lotus "not listed in Domino Directory"
    {"user not local", Reason::kUserUnknown},
    {"undeliverable address", Reason::kUserUnknown},
    {"as(201806281)", Reason::kUserUnknown},  // Exchange Online directory-based edge block
    {"address couldn't be found", Reason::kUserUnknown},
    {"no valid recipients", Reason::kUserUnknown},
    {"check if address is correct", Reason::kUserUnknown},
    {"recipient address rejected: access denied", Reason::kUserUnknown},  // Exchange Online
    {"not a registered", Reason::kUserUnknown},
    {"recipient name is not recognized", Reason::kUserUnknown},  // Exchange 2003
    {"address could not be found", Reason::kUserUnknown},
    // Sender IP or domain refused for its reputation.
    // Sender IP or domain on a block list.
    {"blocked using", Reason::kBlocked},
    {"blocklist", Reason::kBlocked},
    {"block list", Reason::kBlocked},
    {"blacklist", Reason::kBlocked},
    {"black list", Reason::kBlocked},
    {"denylist", Reason::kBlocked},
    {"deny list", Reason::kBlocked},
    {"spamhaus", Reason::kBlocked},
    {"spamcop", Reason::kBlocked},
    {"barracuda", Reason::kBlocked},
    {"sorbs", Reason::kBlocked},
    {"uceprotect", Reason::kBlocked},
    {"dnsbl", Reason::kBlocked},
    {"rbl", Reason::kBlocked, true},
    {"listed at", Reason::kBlocked},
    {"listed on", Reason::kBlocked},
    {"listed in", Reason::kBlocked},
    {"listed by", Reason::kBlocked},
    {"permanently deferred", Reason::kBlocked},                   // Yahoo TSS09
    {"banned sending ip", Reason::kBlocked},                      // Microsoft 5.7.606-649
    {"not authorized to send email directly", Reason::kBlocked},  // Gmail, dynamic IPs
    {"dynamic ip", Reason::kBlocked},
    {"invalid ip", Reason::kBlocked},
    {"dial-up", Reason::kBlocked},
    {"use the smtp server of your isp", Reason::kBlocked},
    // Content breaking the mail standards.
    {"rfc 5322", Reason::kNotRfcCompliant},
    {"rfc5322", Reason::kNotRfcCompliant},
    {"rfc 2822", Reason::kNotRfcCompliant},
    {"rfc2822", Reason::kNotRfcCompliant},
    {"rfc 822", Reason::kNotRfcCompliant},
    {"not compliant", Reason::kNotRfcCompliant},
    {"non-compliant", Reason::kNotRfcCompliant},
    {"bare lf", Reason::kNotRfcCompliant},
    {"improper use of 8-bit", Reason::kContentError},
    {"8-bit data", Reason::kContentError},
    {"mime", Reason::kContentError, true},
    {"multiple addresses in from", Reason::kNotRfcCompliant},
    // Content judged spam.
    {"spam", Reason::kSpam},
    {"unsolicited", Reason::kSpam},
    {"junk", Reason::kSpam},
    {"bulk mail", Reason::kSpam},
    {"phishing", Reason::kSpam},
    {"uce", Reason::kSpam, true},
    {"content rejected", Reason::kSpam},
    {"content filter", Reason::kSpam},
    {"message content", Reason::kSpam},
    {"suspicious", Reason::kSpam},
    {"high probability", Reason::kSpam},
    // Remote server trouble.
    {"mail loop", Reason::kNetworkError},
    {"loop detected", Reason::kNetworkError},
    {"routing loop", Reason::kNetworkError},
    {"too many hops", Reason::kNetworkError},
    {"hop count exceeded", Reason::kNetworkError},
    {"system failure", Reason::kSystemError},
    {"system error", Reason::kSystemError},
    {"internal error", Reason::kSystemError},
    {"server error", Reason::kSystemError},
    {"local error", Reason::kSystemError},
    {"processing error", Reason::kSystemError},
    {"error in processing", Reason::kSystemError},
    {"temporary local problem", Reason::kSystemError},  // Exim
    {"insufficient system storage", Reason::kSystemFull},
    {"insufficient storage", Reason::kSystemFull},
    {"disk full", Reason::kSystemFull},
    {"insufficient disk space", Reason::kSystemFull},
    {"disk is full", Reason::kSystemFull},
    {"out of memory", Reason::kSystemError},
    {"resources temporarily unavailable", Reason::kSystemError},
    {"configuration error", Reason::kSystemError},
    {"misconfigured", Reason::kSystemError},
    {"storedrv", Reason::kSystemError},  // Exchange store driver
    {"service unavailable", Reason::kSystemError},
    {"service currently unavailable", Reason::kSystemError},
    {"service not available", Reason::kSystemError},
    // Protocol syntax.
    {"syntax", Reason::kSyntaxError},
    {"command not recognized", Reason::kSyntaxError},
    {"command unrecognized", Reason::kSyntaxError},
    {"unrecognized command", Reason::kSyntaxError},
    {"invalid command", Reason::kSyntaxError},
    {"bad sequence", Reason::kSyntaxError},
    {"line too long", Reason::kSyntaxError},
    {"not implemented", Reason::kSyntaxError},
    // Connection trouble.
    {"network error", Reason::kNetworkError},
    {"not responding", Reason::kNetworkError},
    {"not reachable", Reason::kNetworkError},
    {"could not find a gateway", Reason::kNetworkError},
    {"connection refused", Reason::kNetworkError},
    {"connection timed out", Reason::kNetworkError},
    {"connection reset", Reason::kNetworkError},
    {"lost connection", Reason::kNetworkError},
    {"connection dropped", Reason::kNetworkError},
    {"no route to host", Reason::kNetworkError},
    {"network is unreachable", Reason::kNetworkError},
    {"timed out", Reason::kNetworkError},
    {"timeout", Reason::kNetworkError},
    {"handshake", Reason::kNetworkError},
};

// Generic phrases: read after an enhanced code that has a meaning of its own, so that
// "550 5.3.2 ... Recipient address rejected: System not accepting network messages" is
// about the system, not the address.
constexpr Phrase kGenericPhrases[] = {
    // Generic refusals.
    {"blocked", Reason::kBlocked},
    {"banned", Reason::kBlocked},
    {"policy", Reason::kPolicy},
    {"policies", Reason::kPolicy},
    {"violation", Reason::kPolicy},
    {"access denied", Reason::kPolicy},
    {"not permitted", Reason::kPolicy},
    {"not allowed", Reason::kPolicy},
    {"not authorized", Reason::kPolicy},
    {"prohibited", Reason::kPolicy},
    {"filtered", Reason::kFiltered},
    // Generic deferrals.
    {"try again later", Reason::kRateLimited},
    {"try later", Reason::kRateLimited},
    {"retry later", Reason::kRateLimited},
    {"come back later", Reason::kRateLimited},
    {"at a later time", Reason::kRateLimited},
    {"temporarily deferred", Reason::kRateLimited},
    {"deferred", Reason::kRateLimited},
    {"too many", Reason::kRateLimited},
};

// A refusal of the recipient that gives no cause: most often an unknown mailbox, but read
// after any enhanced code ("550 5.6.0 <a@b>: Recipient address rejected: Media error" is
// about the content).
constexpr Phrase kRecipientRefusedPhrases[] = {
    {"recipient address rejected", Reason::kUserUnknown},
    {"address rejected", Reason::kUserUnknown},
};

// Phrases that say only that retries stopped: read after every code, so that the cause of
// the last attempt wins when the report gives one ("Unable to contact LDAP server (#4.4.3)
// ... this message has been in the queue too long").
constexpr Phrase kFallbackPhrases[] = {
    // Retries ran out, said only in general terms: last, so that the cause of the last
    // attempt, when the report gives one, wins.
    {"has been in the queue too long", Reason::kExpired},
    // Exim writes the last attempt's cause before it ("mailbox is full: retry timeout
    // exceeded"), so the cause, when given, wins.
    {"retry timeout exceeded", Reason::kExpired},
    {"queue too long", Reason::kExpired},
    {"undeliverable for too long", Reason::kExpired},
    {"giving up", Reason::kExpired},
    {"attempts:", Reason::kExpired},             // "Delivery failed 20 attempts: ..."
    {"google groups", Reason::kSenderRejected},  // the group refuses posts from the sender
    {"gave up", Reason::kExpired},
};

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

// Whether `p` occurs at `pos` of `text` (both lower case), honouring its word flag.
bool MatchesAt(std::string_view text, size_t pos, const Phrase& p) {
  const size_t n = p.text.size();
  if (text.size() - pos < n) return false;
  // The first byte matched already (PhraseIndex); most candidates fail on the second.
  if (n > 1 && text[pos + 1] != p.text[1]) return false;
  if (std::memcmp(text.data() + pos, p.text.data(), n) != 0) return false;
  if (!p.word) return true;
  size_t end = pos + p.text.size();
  bool left_ok = pos == 0 || !IsLower(text[pos - 1]);
  bool right_ok = end == text.size() || !IsLower(text[end]);
  return left_ok && right_ok;
}

// The phrases of a table grouped by their first byte, in table order, so that one pass
// over the text finds the earliest table entry present. Written for speed: searching
// each phrase of a ~300-entry table separately made classification several times slower
// (bench/classify_corpus.sh).
struct PhraseIndex {
  std::array<std::vector<uint16_t>, 256> by_first;
};

template <size_t N>
const PhraseIndex& IndexOf(const Phrase (&table)[N]) {
  static_assert(N < 65535);
  static const PhraseIndex index = [&table] {
    PhraseIndex ix;
    for (size_t i = 0; i < N; ++i) {
      ix.by_first[static_cast<unsigned char>(table[i].text[0])].push_back(static_cast<uint16_t>(i));
    }
    return ix;
  }();
  return index;
}

// The reason of the table's earliest phrase found anywhere in `lower`, or kUnknown.
template <size_t N>
Reason FirstPhrase(const Phrase (&table)[N], std::string_view lower) {
  const PhraseIndex& ix = IndexOf(table);
  size_t best = N;
  for (size_t pos = 0; pos < lower.size(); ++pos) {
    // Phrases start at the start of a word ("blocked" in "unblocked" is not a refusal).
    if (pos > 0 && IsLower(lower[pos - 1])) continue;
    for (uint16_t i : ix.by_first[static_cast<unsigned char>(lower[pos])]) {
      if (i >= best) break;
      if (MatchesAt(lower, pos, table[i])) {
        best = i;
        break;
      }
    }
    if (best == 0) break;
  }
  return best < N ? table[best].reason : Reason::kUnknown;
}

// Every tier in order, for text with no code to weigh against.
Reason PhraseReason(std::string_view lower) {
  if (Reason r = FirstPhrase(kPhrases, lower); r != Reason::kUnknown) return r;
  if (Reason r = FirstPhrase(kGenericPhrases, lower); r != Reason::kUnknown) return r;
  if (Reason r = FirstPhrase(kRecipientRefusedPhrases, lower); r != Reason::kUnknown) return r;
  return FirstPhrase(kFallbackPhrases, lower);
}

// ---------------------------------------------------------------------------------------
// Making the reply one safe line.

bool IsSpaceOrControl(unsigned char c) { return c <= 0x20 || c == 0x7F; }

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF), or 0 when there is none.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < len; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return len;
}

// Appends `in` to `out` as one line: runs of whitespace and control characters become one
// space (none at either end of `out`), invalid UTF-8 bytes become '?'.
void AppendOneLine(std::string_view in, std::string* out) {
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (IsSpaceOrControl(c)) {
      if (!out->empty() && out->back() != ' ') out->push_back(' ');
      ++i;
    } else if (c < 0x80) {
      size_t j = i + 1;  // the printable ASCII run, appended at once
      while (j < in.size() && static_cast<unsigned char>(in[j]) < 0x80 &&
             !IsSpaceOrControl(static_cast<unsigned char>(in[j]))) {
        ++j;
      }
      out->append(in.substr(i, j - i));
      i = j;
    } else if (size_t len = Utf8SequenceLength(in, i); len > 0) {
      out->append(in.substr(i, len));
      i += len;
    } else {
      out->push_back('?');
      ++i;
    }
  }
}

void TrimTrailingSpace(std::string* s) {
  while (!s->empty() && s->back() == ' ') s->pop_back();
}

// Cuts `s` to at most kMaxDiagnosticBytes, at a UTF-8 boundary, marking the cut with "...".
void Truncate(std::string* s) {
  if (s->size() <= kMaxDiagnosticBytes) return;
  size_t cut = kMaxDiagnosticBytes - 3;
  while (cut > 0 && (static_cast<unsigned char>((*s)[cut]) & 0xC0) == 0x80) --cut;
  s->resize(cut);
  s->append("...");
}

std::string SafeLine(std::string_view in) {
  std::string out;
  out.reserve(in.size() < kMaxDiagnosticBytes ? in.size() : kMaxDiagnosticBytes);
  AppendOneLine(in, &out);
  TrimTrailingSpace(&out);
  Truncate(&out);
  return out;
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool IsDigitOrDot(char c) { return (c >= '0' && c <= '9') || c == '.'; }

std::string_view TrimBlank(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

// The first whitespace-delimited token of `line`.
std::string_view FirstToken(std::string_view line) {
  size_t end = 0;
  while (end < line.size() && !IsBlank(line[end])) ++end;
  return line.substr(0, end);
}

// ---------------------------------------------------------------------------------------
// Verdict assembly.

std::string DerivedStatus(bool permanent) { return permanent ? "5.0.0" : "4.0.0"; }

// Whether a failure shows the address itself to be bad: the only reasons that count as
// hard bounces (bounce_type Permanent). A refusal for content, reputation or policy says
// nothing about the address, so it stays Transient even when the reply was 5xx; the
// delivery engine still stops retrying it (Verdict::permanent).
bool IsHard(Reason r) {
  switch (r) {
    case Reason::kUserUnknown:
    case Reason::kHostUnknown:
    case Reason::kMailboxMoved:
    case Reason::kSuppressed:
    case Reason::kNotAccepting:  // a null MX is the domain's own final word
      return true;
    default:
      return false;
  }
}

void FillSesFields(bool permanent, bool attachment, Verdict* v) {
  v->permanent = permanent;
  v->action = permanent ? "failed" : "delayed";
  v->hard = IsHard(v->reason);
  std::string sub = "General";
  switch (v->reason) {
    case Reason::kUnknown:
      sub = "Undetermined";
      break;
    case Reason::kUserUnknown:
      sub = "NoEmail";
      break;
    case Reason::kMailboxFull:
      sub = "MailboxFull";
      break;
    case Reason::kMessageTooLarge:
    case Reason::kExceedsLimit:
      sub = "MessageTooLarge";
      break;
    case Reason::kVirus:
      sub = "AttachmentRejected";
      break;
    case Reason::kSpam:
    case Reason::kContentError:
    case Reason::kNotRfcCompliant:
      sub = attachment ? "AttachmentRejected" : "ContentRejected";
      break;
    case Reason::kSuppressed:
      sub = "Suppressed";
      break;
    default:
      break;
  }
  if (v->hard) {
    v->bounce_type = "Permanent";
  } else if (v->reason == Reason::kUnknown) {
    v->bounce_type = "Undetermined";
  } else {
    v->bounce_type = "Transient";
  }
  v->bounce_sub_type = sub;
  v->delay_type.clear();
  if (!permanent) {
    switch (v->reason) {
      case Reason::kMailboxFull:
        v->delay_type = "MailboxFull";
        break;
      case Reason::kSpam:
      case Reason::kVirus:
        v->delay_type = "SpamDetected";
        break;
      case Reason::kBlocked:
      case Reason::kBadReputation:
      case Reason::kRateLimited:
      case Reason::kTooManyConnections:
      case Reason::kRequirePtr:
        v->delay_type = "IPFailure";
        break;
      case Reason::kNetworkError:
      case Reason::kTlsRequired:
        v->delay_type = "TransientCommunicationFailure";
        break;
      case Reason::kSystemError:
      case Reason::kSystemFull:
      case Reason::kMailerError:
        v->delay_type = "RecipientServerError";
        break;
      case Reason::kUnknown:
        v->delay_type = "Undetermined";
        break;
      default:
        v->delay_type = "General";
        break;
    }
  }
}

struct ReasonNameEntry {
  Reason reason;
  const char* name;
};

constexpr ReasonNameEntry kReasonNames[] = {
    {Reason::kUnknown, "unknown"},
    {Reason::kUserUnknown, "user_unknown"},
    {Reason::kMailboxFull, "mailbox_full"},
    {Reason::kMailboxDisabled, "mailbox_disabled"},
    {Reason::kHostUnknown, "host_unknown"},
    {Reason::kMessageTooLarge, "message_too_large"},
    {Reason::kSpam, "spam"},
    {Reason::kVirus, "virus"},
    {Reason::kBlocked, "blocked"},
    {Reason::kRateLimited, "rate_limited"},
    {Reason::kPolicy, "policy"},
    {Reason::kAuthFailure, "auth_failure"},
    {Reason::kRequirePtr, "require_ptr"},
    {Reason::kSyntaxError, "syntax_error"},
    {Reason::kNetworkError, "network_error"},
    {Reason::kSystemError, "system_error"},
    {Reason::kExpired, "expired"},
    {Reason::kSuppressed, "suppressed"},
    {Reason::kFiltered, "filtered"},
    {Reason::kSenderRejected, "sender_rejected"},
    {Reason::kRelayDenied, "relay_denied"},
    {Reason::kNotAccepting, "not_accepting"},
    {Reason::kMailboxMoved, "mailbox_moved"},
    {Reason::kContentError, "content_error"},
    {Reason::kNotRfcCompliant, "not_rfc_compliant"},
    {Reason::kBadReputation, "bad_reputation"},
    {Reason::kTooManyConnections, "too_many_connections"},
    {Reason::kExceedsLimit, "exceeds_limit"},
    {Reason::kSystemFull, "system_full"},
    {Reason::kMailerError, "mailer_error"},
    {Reason::kSecurityError, "security_error"},
    {Reason::kTlsRequired, "tls_required"},
};

Reason ReasonFromEvidence(std::optional<EnhancedStatus> enhanced, int code,
                          std::string_view lower_text, std::string_view context) {
  CodeMeaning meaning;
  if (enhanced && enhanced->klass != 2) meaning = MeaningOf(enhanced->subject, enhanced->detail);
  if (Reason r = FirstPhrase(kPhrases, lower_text); r != Reason::kUnknown) return r;
  if (meaning.strong) return meaning.reason;
  if (Reason r = FirstPhrase(kGenericPhrases, lower_text); r != Reason::kUnknown) return r;
  if (meaning.reason != Reason::kUnknown) return meaning.reason;
  if (Reason r = FirstPhrase(kRecipientRefusedPhrases, lower_text); r != Reason::kUnknown) {
    return r;
  }
  if (Reason r = BasicCodeReason(code); r != Reason::kUnknown) return r;
  if (Reason r = FirstPhrase(kFallbackPhrases, lower_text); r != Reason::kUnknown) return r;
  if (context.empty()) return Reason::kUnknown;
  return PhraseReason(AsciiLower(SafeOneLine(context, kMaxMatchedBytes)));
}

// The one rule for a reason, shared by replies and reports: a strong enhanced code, then
// the text, then the wider context, then a weak code, then the basic code.
Reason ReasonFor(std::optional<EnhancedStatus> enhanced, int code, std::string_view lower_text,
                 std::string_view context, std::string_view command,
                 std::string_view diagnostic_type) {
  Reason r = ReasonFromEvidence(enhanced, code, lower_text, context);
  // A local program's output (Diagnostic-Code: x-unix) that names no other cause.
  if (diagnostic_type == "x-unix" && r != Reason::kMailboxFull && r != Reason::kSystemFull) {
    return Reason::kMailerError;
  }
  // The command that was refused narrows a generic reading: a refusal of MAIL FROM is
  // about herald's sender, one before any command is about herald's IP or name, and a
  // "user unknown" after DATA (the recipient was accepted at RCPT) is a filter.
  if (command == "MAIL" &&
      (r == Reason::kUnknown || r == Reason::kPolicy || r == Reason::kUserUnknown ||
       r == Reason::kHostUnknown || r == Reason::kSyntaxError)) {
    return Reason::kSenderRejected;
  }
  if ((command == "CONN" || command == "HELO" || command == "EHLO") &&
      (r == Reason::kUnknown || r == Reason::kPolicy || r == Reason::kSyntaxError)) {
    return Reason::kBlocked;
  }
  // ... unless the server said 5.1.1 (bad destination mailbox) itself.
  const bool says_no_mailbox = enhanced && enhanced->subject == 1 && enhanced->detail == 1;
  if (command == "DATA" && r == Reason::kUserUnknown && !says_no_mailbox) {
    return Reason::kFiltered;
  }
  // "User unknown" under a mailbox-status or policy code (5.2.x, 5.7.x), not at RCPT: the
  // server's filter speaking, not its directory.
  if (r == Reason::kUserUnknown && command != "RCPT" && enhanced &&
      (enhanced->subject == 2 || enhanced->subject == 7)) {
    return Reason::kFiltered;
  }
  return r;
}

// The first enhanced status code in `text` ("5.1.1" as a token of its own), if any.
std::optional<EnhancedStatus> FindEnhancedStatus(std::string_view text) {
  for (size_t i = 0; i + 5 <= text.size(); ++i) {
    char c = text[i];
    if ((c != '4' && c != '5' && c != '2') || text[i + 1] != '.') continue;
    if (i > 0 && (IsDigitOrDot(text[i - 1]))) continue;
    size_t end = i;
    while (end < text.size() && IsDigitOrDot(text[end])) ++end;
    std::string_view token = text.substr(i, end - i);
    while (!token.empty() && token.back() == '.') token.remove_suffix(1);
    if (auto st = ParseEnhancedStatus(token)) return st;
  }
  return std::nullopt;
}

// `line` without the reply codes that multi-line replies repeat on every line ("550-5.7.1
// ", "550 5.7.1 ") after its start, so that phrases broken across lines match again:
// "Messages with multiple 550-5.7.1 addresses in From:" -> "... multiple addresses in From:".
std::string WithoutContinuationCodes(std::string_view line) {
  std::string out;
  out.reserve(line.size());
  size_t i = 0;
  while (i < line.size()) {
    // A candidate starts after a space: "ddd" then '-' or ' ', then an enhanced code.
    if (i > 0 && line[i - 1] == ' ' && i + 4 < line.size() && (line[i] == '4' || line[i] == '5') &&
        std::isdigit(static_cast<unsigned char>(line[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(line[i + 2])) &&
        (line[i + 3] == '-' || line[i + 3] == ' ')) {
      size_t j = i + 4;
      size_t end = j;
      while (end < line.size() && IsDigitOrDot(line[end])) ++end;
      if (end > j && ParseEnhancedStatus(line.substr(j, end - j)) && out.size() > 12) {
        i = end;
        while (i < line.size() && line[i] == ' ') ++i;
        continue;
      }
    }
    out.push_back(line[i]);
    ++i;
  }
  return out;
}

std::string FormatStatus(const EnhancedStatus& st) {
  return std::to_string(st.klass) + "." + std::to_string(st.subject) + "." +
         std::to_string(st.detail);
}

}  // namespace

std::string SafeOneLine(std::string_view in, size_t max_bytes) {
  std::string out;
  out.reserve(in.size() < max_bytes ? in.size() : max_bytes);
  AppendOneLine(in.substr(0, max_bytes * 4), &out);
  TrimTrailingSpace(&out);
  if (out.size() > max_bytes) {
    size_t cut = max_bytes > 3 ? max_bytes - 3 : 0;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out.append("...");
  }
  return out;
}

Verdict ClassifyFailure(const FailureFacts& f) {
  std::optional<EnhancedStatus> enhanced = ParseEnhancedStatus(TrimBlank(f.status));
  // A missing or generic status ("5.0.0") yields to a specific code in the text.
  if (!enhanced || enhanced->klass == 2 || (enhanced->subject == 0 && enhanced->detail == 0)) {
    if (auto in_text = FindEnhancedStatus(f.text);
        in_text && in_text->klass != 2 &&
        (!enhanced || enhanced->klass == 2 || in_text->subject != 0 || in_text->detail != 0)) {
      enhanced = in_text;
    }
  }
  const std::string line = SafeOneLine(f.text);
  const std::string lower =
      AsciiLower(WithoutContinuationCodes(std::string_view(line).substr(0, kMaxMatchedBytes)));
  Verdict v;
  v.reason = ReasonFor(enhanced, f.reply_code, lower, f.context, f.command, f.diagnostic_type);
  bool permanent = f.permanent;
  // A temporary failure that the report nevertheless calls final: retries ran out.
  const bool temporary_code =
      (enhanced && enhanced->klass == 4) || (f.reply_code >= 400 && f.reply_code < 500);
  if (permanent && v.reason == Reason::kNetworkError &&
      (lower.find("timed out") != std::string::npos ||
       lower.find("timeout") != std::string::npos)) {
    v.reason = Reason::kExpired;
  }
  // A temporary DNS failure does not show that the domain does not exist.
  if (temporary_code && v.reason == Reason::kHostUnknown) v.reason = Reason::kNetworkError;
  const bool attachment = lower.find("attach") != std::string::npos;
  FillSesFields(permanent, attachment, &v);
  if (enhanced && enhanced->klass != 2) {
    v.status = FormatStatus(*enhanced);
  } else {
    v.status = DerivedStatus(permanent);
  }
  std::string type = f.diagnostic_type.empty() ? "smtp" : SafeOneLine(f.diagnostic_type, 32);
  v.diagnostic_code = type + "; " + line;
  Truncate(&v.diagnostic_code);
  return v;
}

const char* ReasonName(Reason r) {
  for (const auto& e : kReasonNames) {
    if (e.reason == r) return e.name;
  }
  return "unknown";
}

std::optional<Reason> ReasonFromName(std::string_view name) {
  for (const auto& e : kReasonNames) {
    if (name == e.name) return e.reason;
  }
  return std::nullopt;
}

std::optional<EnhancedStatus> ParseEnhancedStatus(std::string_view s) {
  EnhancedStatus st;
  int* fields[] = {&st.klass, &st.subject, &st.detail};
  size_t i = 0;
  for (int f = 0; f < 3; ++f) {
    if (f > 0) {
      if (i >= s.size() || s[i] != '.') return std::nullopt;
      ++i;
    }
    size_t start = i;
    int value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) {
      value = value * 10 + (s[i] - '0');
      ++i;
    }
    size_t digits = i - start;
    if (digits == 0 || (f == 0 && digits != 1)) return std::nullopt;
    *fields[f] = value;
  }
  if (i != s.size()) return std::nullopt;
  if (st.klass != 2 && st.klass != 4 && st.klass != 5) return std::nullopt;
  return st;
}

Verdict ClassifySmtpReply(int code, std::string_view text) {
  const int klass = code / 100;
  const bool in_range = code >= 400 && code <= 599;
  const bool permanent = klass == 5 && in_range;

  // The enhanced code, when the first line starts with one.
  std::vector<std::string_view> lines = Split(text, '\n');
  std::string_view first = lines.empty() ? std::string_view() : TrimBlank(lines[0]);
  std::string_view enhanced_token = FirstToken(first);
  std::optional<EnhancedStatus> enhanced = ParseEnhancedStatus(enhanced_token);
  if (!enhanced) enhanced_token = {};

  // The reply as one line; continuation lines lose a repeat of the first line's code.
  std::string line;
  line.reserve(text.size() < kMaxDiagnosticBytes ? text.size() : kMaxDiagnosticBytes);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = TrimBlank(lines[i]);
    if (i > 0 && !enhanced_token.empty() && FirstToken(l) == enhanced_token) {
      l = TrimBlank(l.substr(enhanced_token.size()));
    }
    if (l.empty()) continue;
    if (!line.empty() && line.back() != ' ') line.push_back(' ');
    AppendOneLine(l, &line);
  }
  TrimTrailingSpace(&line);

  Verdict v;
  std::string lower = AsciiLower(std::string_view(line).substr(0, kMaxMatchedBytes));
  v.reason = ReasonFor(enhanced, code, lower, {}, {}, {});
  // A temporary DNS failure does not show that the domain does not exist.
  if (klass == 4 && v.reason == Reason::kHostUnknown) v.reason = Reason::kNetworkError;
  const bool attachment = lower.find("attach") != std::string::npos;

  if (in_range) {
    FillSesFields(permanent, attachment, &v);
  } else {
    v.permanent = false;
    v.action = "delayed";
    v.bounce_type = "Undetermined";
    v.bounce_sub_type = "Undetermined";
    v.delay_type = "Undetermined";
    v.hard = false;
  }

  if (in_range && enhanced && enhanced->klass == klass) {
    v.status = std::to_string(enhanced->klass) + "." + std::to_string(enhanced->subject) + "." +
               std::to_string(enhanced->detail);
  } else {
    v.status = DerivedStatus(permanent);
  }

  v.diagnostic_code = "smtp; " + std::to_string(code);
  if (!line.empty()) {
    v.diagnostic_code += ' ';
    v.diagnostic_code += line;
  }
  Truncate(&v.diagnostic_code);
  return v;
}

Verdict MakeVerdict(Reason reason, bool permanent, std::string status, std::string diagnostic) {
  Verdict v;
  v.reason = reason;
  FillSesFields(permanent, /*attachment=*/false, &v);
  v.status = status.empty() ? DerivedStatus(permanent) : std::move(status);
  v.diagnostic_code = SafeLine(diagnostic);
  return v;
}

}  // namespace herald::feedback
