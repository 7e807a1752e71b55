#include "feedback/smtp_reply.h"

#include <array>
#include <cstdint>
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
        case 6:  // destination mailbox has moved, no forwarding address
          return Strong(Reason::kUserUnknown);
        case 2:  // bad destination system address
          return Strong(Reason::kHostUnknown);
        case 4:  // destination mailbox address ambiguous
          return Weak(Reason::kUserUnknown);
        case 7:  // bad sender's mailbox address syntax
        case 8:  // bad sender's system address
          return Weak(Reason::kPolicy);
        case 10:  // null MX (RFC 7505); Exchange Online also uses it for unknown recipients
          return Weak(Reason::kHostUnknown);
        default:
          return {};
      }
    case 2:  // mailbox status
      switch (detail) {
        case 1:
          return Weak(Reason::kMailboxDisabled);
        case 2:
          return Strong(Reason::kMailboxFull);
        case 3:  // message length exceeds administrative limit
          return Strong(Reason::kMessageTooLarge);
        default:
          return {};
      }
    case 3:  // mail system status
      switch (detail) {
        case 1:  // mail system full
          return Strong(Reason::kSystemError);
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
        case 6:  // routing loop detected
          return Weak(Reason::kSystemError);
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
      return Weak(Reason::kPolicy);
    case 7:  // security or policy status
      if (detail >= 500 && detail <= 699) return Weak(Reason::kBlocked);  // Microsoft
      switch (detail) {
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
          return Strong(Reason::kSpam);
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
    case 551:  // user not local
      return Reason::kUserUnknown;
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
    // Viruses and unsafe attachments.
    {"virus", Reason::kVirus},
    {"malware", Reason::kVirus},
    {"trojan", Reason::kVirus},
    {"infected", Reason::kVirus},
    {"malicious", Reason::kVirus},
    {"eicar", Reason::kVirus},
    {"potential security issue", Reason::kVirus},  // Gmail 552 5.7.0
    {"banned attachment", Reason::kVirus},
    {"prohibited attachment", Reason::kVirus},
    {"blocked attachment", Reason::kVirus},
    {"dangerous attachment", Reason::kVirus},
    {"unsafe attachment", Reason::kVirus},
    {"executable attachment", Reason::kVirus},
    {"attachment not allowed", Reason::kVirus},
    {"attachment is not allowed", Reason::kVirus},
    {"attachments are not allowed", Reason::kVirus},
    {"attachment type", Reason::kVirus},
    // Greylisting.
    {"greylist", Reason::kRateLimited},
    {"graylist", Reason::kRateLimited},
    {"grey-list", Reason::kRateLimited},
    {"gray-list", Reason::kRateLimited},
    {"grey list", Reason::kRateLimited},
    {"gray list", Reason::kRateLimited},
    // Sender authentication.
    {"spf", Reason::kAuthFailure, true},
    {"openspf", Reason::kAuthFailure},
    {"sender policy framework", Reason::kAuthFailure},
    {"dkim", Reason::kAuthFailure, true},
    {"domainkeys", Reason::kAuthFailure},
    {"dmarc", Reason::kAuthFailure, true},
    {"unauthenticated", Reason::kAuthFailure},
    {"arc validation", Reason::kAuthFailure},
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
    {"cannot find your hostname", Reason::kRequirePtr},  // Postfix reject_unknown_client
    {"can't find your hostname", Reason::kRequirePtr},
    {"cannot resolve your hostname", Reason::kRequirePtr},
    // Refusals about herald's own HELO, sender or relaying, before the phrases they
    // contain ("host not found", "domain not found", "user unknown").
    {"helo command rejected", Reason::kPolicy},
    {"helo rejected", Reason::kPolicy},
    {"invalid helo", Reason::kPolicy},
    {"bad helo", Reason::kPolicy},
    {"sender address rejected", Reason::kPolicy},
    {"relay access denied", Reason::kPolicy},
    {"relaying denied", Reason::kPolicy},
    {"relay denied", Reason::kPolicy},
    {"relay not permitted", Reason::kPolicy},
    {"relaying not permitted", Reason::kPolicy},
    {"not permitted to relay", Reason::kPolicy},
    {"relay not allowed", Reason::kPolicy},
    {"relaying not allowed", Reason::kPolicy},
    {"not allowed to relay", Reason::kPolicy},
    {"unable to relay", Reason::kPolicy},
    {"we do not relay", Reason::kPolicy},
    {"no relaying", Reason::kPolicy},
    {"rcpthosts", Reason::kPolicy},  // qmail: "isn't in my list of allowed rcpthosts"
    {"external forwarding", Reason::kPolicy},
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
    {"too many connections", Reason::kRateLimited},
    {"too many concurrent", Reason::kRateLimited},
    {"too many messages", Reason::kRateLimited},
    {"too many mails", Reason::kRateLimited},
    {"too many emails", Reason::kRateLimited},
    {"connection limit", Reason::kRateLimited},
    {"exceeded the rate", Reason::kRateLimited},
    {"unusual rate", Reason::kRateLimited},
    {"receiving mail at a rate", Reason::kRateLimited},  // Gmail 4.2.1
    {"receiving mail too quickly", Reason::kRateLimited},
    {"too fast", Reason::kRateLimited},
    {"slow down", Reason::kRateLimited},
    // Mailbox full.
    {"mailbox full", Reason::kMailboxFull},
    {"mailbox is full", Reason::kMailboxFull},
    {"mailbox for user is full", Reason::kMailboxFull},
    {"inbox is full", Reason::kMailboxFull},
    {"full mailbox", Reason::kMailboxFull},
    {"mailbox has exceeded", Reason::kMailboxFull},
    {"mailbox size limit", Reason::kMailboxFull},
    {"mailbox quota", Reason::kMailboxFull},
    {"storage quota", Reason::kMailboxFull},
    {"over quota", Reason::kMailboxFull},
    {"overquota", Reason::kMailboxFull},
    {"over the quota", Reason::kMailboxFull},
    {"quota exceeded", Reason::kMailboxFull},
    {"quotaexceeded", Reason::kMailboxFull},  // Exchange QuotaExceededException
    {"quota exceed", Reason::kMailboxFull},
    {"exceeded quota", Reason::kMailboxFull},
    {"exceeds quota", Reason::kMailboxFull},
    {"exceeded storage allocation", Reason::kMailboxFull},
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
    {"recipsizelimit", Reason::kMessageTooLarge},  // Exchange RESOLVER.RST.RecipSizeLimit
    {"sendsizelimit", Reason::kMessageTooLarge},
    {"too large", Reason::kMessageTooLarge},
    {"too big", Reason::kMessageTooLarge},
    // Destination domain or host does not exist.
    {"domain not found", Reason::kHostUnknown},
    {"domain does not exist", Reason::kHostUnknown},
    {"domain doesn't exist", Reason::kHostUnknown},
    {"domain name not found", Reason::kHostUnknown},
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
    {"null mx", Reason::kHostUnknown},
    {"no mx", Reason::kHostUnknown},
    {"no mail exchanger", Reason::kHostUnknown},
    {"bad destination system", Reason::kHostUnknown},
    // Mailbox disabled.
    {"disabled", Reason::kMailboxDisabled},
    {"deactivated", Reason::kMailboxDisabled},
    {"inactive", Reason::kMailboxDisabled},
    {"suspended", Reason::kMailboxDisabled},
    {"no longer active", Reason::kMailboxDisabled},
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
    {"user invalid", Reason::kUserUnknown},
    {"not a valid mailbox", Reason::kUserUnknown},
    {"not a valid user", Reason::kUserUnknown},
    {"bad destination mailbox", Reason::kUserUnknown},
    {"doesn't have a", Reason::kUserUnknown},  // Yahoo "This user doesn't have a ... account"
    {"does not have a", Reason::kUserUnknown},
    {"not listed in", Reason::kUserUnknown},  // Lotus "not listed in Domino Directory"
    {"not our customer", Reason::kUserUnknown},
    {"user not local", Reason::kUserUnknown},
    {"undeliverable address", Reason::kUserUnknown},
    {"as(201806281)", Reason::kUserUnknown},  // Exchange Online directory-based edge block
    // Sender IP or domain blocked for its reputation.
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
    {"reputation", Reason::kBlocked},
    {"user complaints", Reason::kBlocked},                        // Yahoo TSS04
    {"permanently deferred", Reason::kBlocked},                   // Yahoo TSS09
    {"banned sending ip", Reason::kBlocked},                      // Microsoft 5.7.606-649
    {"not authorized to send email directly", Reason::kBlocked},  // Gmail, dynamic IPs
    {"client host rejected", Reason::kBlocked},
    // Content judged spam.
    {"spam", Reason::kSpam},
    {"unsolicited", Reason::kSpam},
    {"junk", Reason::kSpam},
    {"bulk mail", Reason::kSpam},
    {"phishing", Reason::kSpam},
    {"mail flood", Reason::kSpam},
    {"uce", Reason::kSpam, true},
    {"content rejected", Reason::kSpam},
    {"content filter", Reason::kSpam},
    {"message content", Reason::kSpam},
    {"suspicious", Reason::kSpam},
    {"high probability", Reason::kSpam},
    // Remote server trouble.
    {"system failure", Reason::kSystemError},
    {"system error", Reason::kSystemError},
    {"internal error", Reason::kSystemError},
    {"server error", Reason::kSystemError},
    {"local error", Reason::kSystemError},
    {"processing error", Reason::kSystemError},
    {"error in processing", Reason::kSystemError},
    {"temporary local problem", Reason::kSystemError},  // Exim
    {"insufficient system storage", Reason::kSystemError},
    {"insufficient storage", Reason::kSystemError},
    {"disk full", Reason::kSystemError},
    {"disk is full", Reason::kSystemError},
    {"out of memory", Reason::kSystemError},
    {"resources temporarily unavailable", Reason::kSystemError},
    {"configuration error", Reason::kSystemError},
    {"misconfigured", Reason::kSystemError},
    {"mail loop", Reason::kSystemError},
    {"loop detected", Reason::kSystemError},
    {"routing loop", Reason::kSystemError},
    {"too many hops", Reason::kSystemError},
    {"storedrv", Reason::kSystemError},  // Exchange store driver
    {"service unavailable", Reason::kSystemError},
    {"service not available", Reason::kSystemError},
    // Generic deferrals.
    {"try again later", Reason::kRateLimited},
    {"try later", Reason::kRateLimited},
    {"retry later", Reason::kRateLimited},
    {"come back later", Reason::kRateLimited},
    {"at a later time", Reason::kRateLimited},
    {"temporarily deferred", Reason::kRateLimited},
    {"deferred", Reason::kRateLimited},
    {"too many", Reason::kRateLimited},
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
    {"connection refused", Reason::kNetworkError},
    {"connection timed out", Reason::kNetworkError},
    {"connection reset", Reason::kNetworkError},
    {"lost connection", Reason::kNetworkError},
    {"connection dropped", Reason::kNetworkError},
    {"no route to host", Reason::kNetworkError},
    {"network is unreachable", Reason::kNetworkError},
    {"timed out", Reason::kNetworkError},
    {"timeout", Reason::kNetworkError},
    {"starttls", Reason::kNetworkError},
    {"tls", Reason::kNetworkError, true},
    {"ssl", Reason::kNetworkError, true},
    {"handshake", Reason::kNetworkError},
    // Generic refusals.
    {"blocked", Reason::kBlocked},
    {"banned", Reason::kBlocked},
    {"policy", Reason::kPolicy},
    {"access denied", Reason::kPolicy},
    {"not permitted", Reason::kPolicy},
    {"not allowed", Reason::kPolicy},
    {"not authorized", Reason::kPolicy},
    {"prohibited", Reason::kPolicy},
};

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

// Finds `p` in `text` (both lower case), honouring its word flag.
bool Contains(std::string_view text, const Phrase& p) {
  size_t pos = text.find(p.text);
  while (pos != std::string_view::npos) {
    if (!p.word) return true;
    size_t end = pos + p.text.size();
    bool left_ok = pos == 0 || !IsLower(text[pos - 1]);
    bool right_ok = end == text.size() || !IsLower(text[end]);
    if (left_ok && right_ok) return true;
    pos = text.find(p.text, pos + 1);
  }
  return false;
}

Reason PhraseReason(std::string_view lower) {
  for (const Phrase& p : kPhrases) {
    if (Contains(lower, p)) return p.reason;
  }
  return Reason::kUnknown;
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
      out->push_back(static_cast<char>(c));
      ++i;
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

void FillSesFields(bool permanent, bool attachment, Verdict* v) {
  v->permanent = permanent;
  v->action = permanent ? "failed" : "delayed";
  std::string sub = "General";
  bool stays_permanent = permanent;
  switch (v->reason) {
    case Reason::kMailboxFull:
      sub = "MailboxFull";
      stays_permanent = false;
      break;
    case Reason::kMessageTooLarge:
      sub = "MessageTooLarge";
      stays_permanent = false;
      break;
    case Reason::kSpam:
    case Reason::kVirus:
      sub = attachment ? "AttachmentRejected" : "ContentRejected";
      stays_permanent = false;
      break;
    case Reason::kBlocked:
    case Reason::kRateLimited:
    case Reason::kExpired:
      stays_permanent = false;
      break;
    case Reason::kSuppressed:
      if (permanent) sub = "Suppressed";
      break;
    default:
      break;
  }
  v->bounce_type = stays_permanent ? "Permanent" : "Transient";
  v->bounce_sub_type = sub;
  v->hard = stays_permanent;
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
      case Reason::kRateLimited:
      case Reason::kRequirePtr:
        v->delay_type = "IPFailure";
        break;
      case Reason::kNetworkError:
        v->delay_type = "TransientCommunicationFailure";
        break;
      case Reason::kSystemError:
        v->delay_type = "RecipientServerError";
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
};

}  // namespace

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
  // Reason: a strong enhanced code, then the text, then a weak code, then the basic code.
  CodeMeaning meaning;
  if (enhanced && enhanced->klass != 2) meaning = MeaningOf(enhanced->subject, enhanced->detail);
  std::string lower = AsciiLower(std::string_view(line).substr(0, kMaxMatchedBytes));
  if (meaning.strong) {
    v.reason = meaning.reason;
  } else if (Reason r = PhraseReason(lower); r != Reason::kUnknown) {
    v.reason = r;
  } else if (meaning.reason != Reason::kUnknown) {
    v.reason = meaning.reason;
  } else {
    v.reason = BasicCodeReason(code);
  }
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
