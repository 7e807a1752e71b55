#include "feedback/report.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>

#include "base/strings.h"
#include "feedback/arf.h"
#include "feedback/dsn.h"
#include "feedback/mime_tree.h"
#include "mail/message.h"
#include "nlohmann/json.hpp"

namespace herald::feedback {
namespace {

// ---------------------------------------------------------------------------------------
// Walking the tree.

struct Leaf {
  const MimePart* part;
  bool in_original;  // inside a returned message (message/rfc822 and the like)
};

bool IsEmbeddedMessageType(std::string_view type) {
  return type == "message/rfc822" || type == "message/global" || type == "text/rfc822-headers" ||
         type == "message/rfc822-headers" || type == "message/partial";
}

void Flatten(const MimePart& p, bool in_original, std::vector<Leaf>* out) {
  out->push_back({&p, in_original});
  bool child_original = in_original || IsEmbeddedMessageType(p.type);
  for (const MimePart& c : p.children) Flatten(c, child_original, out);
}

// The returned message (or its header), if the report carries one as a MIME part.
const MimePart* FindOriginal(const std::vector<Leaf>& leaves) {
  for (const Leaf& l : leaves) {
    if (!l.in_original && IsEmbeddedMessageType(l.part->type) && !l.part->children.empty()) {
      return &l.part->children.front();
    }
  }
  return nullptr;
}

std::string Lower(std::string_view s) { return AsciiLower(s); }

char LowerChar(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool EqualsLowerNeedle(std::string_view hay_part, std::string_view lower_needle) {
  for (size_t k = 0; k < lower_needle.size(); ++k) {
    if (LowerChar(hay_part[k]) != lower_needle[k]) return false;
  }
  return true;
}

// The first position of `lower_needle` (lower case) in `hay` in any letter case, from
// `from`; npos when absent. Saves lower-casing whole messages to search them. Written for
// speed (it scans whole reports): it looks for the needle's first byte that has no case
// ('-', ':', '\n', ...) with memchr and compares the rest around each hit.
size_t FindNoCase(std::string_view hay, std::string_view lower_needle, size_t from = 0) {
  const size_t n = lower_needle.size();
  if (n == 0 || hay.size() < n || from > hay.size() - n) return std::string_view::npos;
  size_t anchor = 0;
  while (anchor < n && lower_needle[anchor] >= 'a' && lower_needle[anchor] <= 'z') ++anchor;
  if (anchor == n) {  // letters only: try both cases of the first byte at each position
    const char first = lower_needle[0];
    const char first_upper = static_cast<char>(first - 32);
    for (size_t i = from; i + n <= hay.size(); ++i) {
      if (hay[i] != first && hay[i] != first_upper) continue;
      if (EqualsLowerNeedle(hay.substr(i, n), lower_needle)) return i;
    }
    return std::string_view::npos;
  }
  const char a = lower_needle[anchor];
  size_t pos = from + anchor;
  const size_t last = hay.size() - n + anchor;  // the anchor's last possible position
  while (pos <= last) {
    const void* hit = std::memchr(hay.data() + pos, a, last - pos + 1);
    if (hit == nullptr) break;
    size_t at = static_cast<size_t>(static_cast<const char*>(hit) - hay.data());
    if (EqualsLowerNeedle(hay.substr(at - anchor, n), lower_needle)) return at - anchor;
    pos = at + 1;
  }
  return std::string_view::npos;
}

bool Has(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// ---------------------------------------------------------------------------------------
// Addresses in free text.

bool IsAddrChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '+' || c == '=' || c == '/' || c == '!' || c == '%' ||
         c == '#' || c == '$' || c == '&' || c == '\'' || c == '*' || c == '?' || c == '^' ||
         c == '`' || c == '{' || c == '|' || c == '}' || c == '~';
}

bool IsDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '[' || c == ']' || c == ':' || c == '_';
}

struct FoundAddress {
  std::string address;  // lower-cased
  size_t pos;           // offset of its first character in the searched text
};

// Addresses written in `text`, in order of appearance, with their offsets.
std::vector<FoundAddress> FindAddresses(std::string_view text, size_t limit = 64) {
  std::vector<FoundAddress> out;
  size_t at = text.find('@');
  while (at != std::string_view::npos && out.size() < limit) {
    size_t b = at;
    while (b > 0 && IsAddrChar(text[b - 1])) --b;
    size_t e = at + 1;
    while (e < text.size() && IsDomainChar(text[e])) ++e;
    std::string_view local = text.substr(b, at - b);
    std::string_view domain = text.substr(at + 1, e - at - 1);
    while (!domain.empty() && (domain.back() == '.' || domain.back() == '-' ||
                               domain.back() == ':' || domain.back() == ']')) {
      domain.remove_suffix(1);
    }
    while (!local.empty() && local.front() == '.') {
      local.remove_prefix(1);
      ++b;
    }
    if (!local.empty() && local.size() <= 64 && domain.find('.') != std::string_view::npos &&
        domain.size() <= 255 && domain.front() != '.') {
      out.push_back({Lower(std::string(local) + "@" + std::string(domain)), b});
    }
    at = text.find('@', e > at ? e : at + 1);
  }
  return out;
}

bool IsSystemAddress(std::string_view lower_address) {
  std::string_view local = lower_address.substr(0, lower_address.find('@'));
  return local == "postmaster" || local == "mailer-daemon" || local == "mail-daemon" ||
         local == "maildaemon" || local == "abuse" || local == "no-reply" || local == "noreply";
}

// ---------------------------------------------------------------------------------------
// Reply codes and commands in text.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The first basic SMTP reply code written as a token ("550 ", "550-", "<<< 550") in `text`.
int FindReplyCode(std::string_view text) {
  for (size_t i = 0; i + 3 <= text.size(); ++i) {
    char c = text[i];
    if (c != '4' && c != '5') continue;
    if (i > 0 && (IsDigit(text[i - 1]) || text[i - 1] == '.' || text[i - 1] == '-' ||
                  std::isalpha(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '#' ||
                  text[i - 1] == ':')) {
      continue;
    }
    if (!IsDigit(text[i + 1]) || !IsDigit(text[i + 2])) continue;
    if (text[i + 1] > '5') continue;
    if (i + 3 < text.size()) {
      char n = text[i + 3];
      if (n != ' ' && n != '-' && n != '\n' && n != '\t') continue;
      if (n == '-' && i + 4 < text.size() &&
          !std::isalpha(static_cast<unsigned char>(text[i + 4])) && text[i + 4] != ' ' &&
          !(text[i + 4] >= '4' && text[i + 4] <= '5')) {
        continue;
      }
    }
    return (c - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
  }
  return 0;
}

// The SMTP command a refusal answered, when the text says it.
std::string FindCommand(std::string_view lower) {
  struct Cue {
    std::string_view text;
    std::string_view command;
  };
  static constexpr Cue kCues[] = {
      {"after rcpt to", "RCPT"},      {"rcpt to:", "RCPT"},
      {"rcpt to command", "RCPT"},    {">>> rcpt", "RCPT"},
      {"[rcpt_to]", "RCPT"},          {"after rcpt", "RCPT"},
      {"rcpt to response", "RCPT"},   {"in rcpt", "RCPT"},
      {"after end of data", "DATA"},  {"after data", "DATA"},
      {"end of data", "DATA"},        {"command\ndata", "DATA"},
      {">>> data\n<<< 5", "DATA"},    {"in reply to data command", "DATA"},
      {"after mail from", "MAIL"},    {"mail from:", "MAIL"},
      {">>> mail from", "MAIL"},      {"after helo", "HELO"},
      {"after ehlo", "EHLO"},         {"after initial connection", "CONN"},
      {"after starttls", "STARTTLS"},
  };
  // One pass, cues grouped by their first byte: the earliest cue in the text wins (this
  // runs for every recipient of every report, so it avoids a search per cue).
  static const auto kByFirst = [] {
    std::array<std::vector<uint8_t>, 256> by_first;
    for (size_t i = 0; i < std::size(kCues); ++i) {
      by_first[static_cast<unsigned char>(kCues[i].text[0])].push_back(static_cast<uint8_t>(i));
    }
    return by_first;
  }();
  for (size_t pos = 0; pos < lower.size(); ++pos) {
    // Every cue starts a word (or is punctuation), so the inside of a word is skipped.
    if (pos > 0 && lower[pos - 1] >= 'a' && lower[pos - 1] <= 'z') continue;
    for (uint8_t i : kByFirst[static_cast<unsigned char>(lower[pos])]) {
      if (lower.substr(pos, kCues[i].text.size()) == kCues[i].text) {
        return std::string(kCues[i].command);
      }
    }
  }
  return {};
}

// ---------------------------------------------------------------------------------------
// The human-readable part of a bounce.

// Lines that start the returned message (or its header) inside a plain-text bounce.
bool StartsReturnedMessage(std::string_view lower_line) {
  static constexpr std::string_view kHeaders[] = {
      "received: ", "return-path: ", "message-id: ", "x-original-to: "};
  for (std::string_view h : kHeaders) {
    if (lower_line.substr(0, h.size()) == h) return true;
  }
  // Every marker below holds one of these words; most lines hold none.
  if (!Has(lower_line, "messag") && !Has(lower_line, "copy") && !Has(lower_line, "rfc822") &&
      !Has(lower_line, "below")) {
    return false;
  }
  static constexpr std::string_view kMarkers[] = {
      "below this line is a copy of the message",
      "original message follows",
      "this is a copy of the message",
      "copy of the original message",
      "----- original message",
      "-----original message",
      "--- original message",
      "original message header",
      "------ this is a copy of",
      "message headers follow",
      "returned message follows",
      "----- message header follows",
      "unsent message below",
      "the header of the original message",
      "headers of the original message",
      "------ original message",
      "content-type: message/rfc822",
      "content-type: text/rfc822-headers",
      "--- below this line",
      "----- the following is a copy",
      "original message headers",
  };
  for (std::string_view m : kMarkers) {
    if (Has(lower_line, m)) return true;
  }
  return false;
}

// `body` up to the start of the returned message.
std::string_view CutAtReturnedMessage(std::string_view body) {
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    char buf[200];
    size_t n = std::min<size_t>(end - pos, sizeof buf);
    for (size_t k = 0; k < n; ++k) buf[k] = LowerChar(body[pos + k]);
    if (pos > 0 && StartsReturnedMessage(std::string_view(buf, n))) return body.substr(0, pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return body;
}

bool IsTextType(std::string_view type) { return type.rfind("text/", 0) == 0; }

// Turns HTML into text, crudely: tags become spaces, a few entities are decoded.
std::string StripHtml(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  bool in_tag = false;
  for (size_t i = 0; i < html.size(); ++i) {
    char c = html[i];
    if (in_tag) {
      if (c == '>') {
        in_tag = false;
        out.push_back(' ');
      }
      continue;
    }
    if (c == '<' && i + 1 < html.size() &&
        (std::isalpha(static_cast<unsigned char>(html[i + 1])) || html[i + 1] == '/' ||
         html[i + 1] == '!')) {
      in_tag = true;
      continue;
    }
    if (c == '&') {
      static constexpr std::pair<std::string_view, char> kEntities[] = {
          {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&nbsp;", ' '}};
      bool done = false;
      for (auto [e, ch] : kEntities) {
        if (html.substr(i, e.size()) == e) {
          out.push_back(ch);
          i += e.size() - 1;
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    out.push_back(c);
  }
  return out;
}

// The report's own wording: text parts outside the returned message, before it starts.
std::string BounceText(const std::vector<Leaf>& leaves) {
  std::string text;
  for (const Leaf& l : leaves) {
    if (l.in_original || !l.part->children.empty()) continue;
    // A multipart body that could not be split is read as text.
    if (!IsTextType(l.part->type) && l.part->type.rfind("multipart/", 0) != 0) continue;
    if (l.part->type == "text/rfc822-headers") continue;
    std::string html;
    std::string_view body = l.part->body;
    if (l.part->type == "text/html") {
      html = StripHtml(body);
      body = html;
    }
    std::string_view cut = CutAtReturnedMessage(body);
    if (!text.empty()) text.push_back('\n');
    text.append(cut);
    if (text.size() > 256 * 1024) break;
  }
  return text;
}

// ---------------------------------------------------------------------------------------
// Recognising what the mail is.

bool LooksLikeBounceSender(std::string_view lower_from) {
  static constexpr std::string_view kSenders[] = {
      "mailer-daemon",      "postmaster",         "mail delivery", "mail-daemon",   "maildaemon",
      "mail administrator", "delivery subsystem", "mail system",   "mailer_daemon", "mdaemon",
      "postoffice",         "mail.delivery",      "post_master"};
  for (std::string_view s : kSenders) {
    if (Has(lower_from, s)) return true;
  }
  return false;
}

bool LooksLikeBounceSubject(std::string_view lower_subject) {
  static constexpr std::string_view kSubjects[] = {
      "undeliver",
      "undelivered",
      "delivery status notification",
      "delivery failure",
      "failure notice",
      "returned mail",
      "mail delivery failed",
      "delivery failed",
      "delivery has failed",
      "could not be delivered",
      "non-delivery",
      "nondeliverable",
      "non remis",
      "not delivered",
      "delivery notification",
      "delivery problem",
      "mail system error",
      "warning: could not send",
      "delivery report",
      "rejected",
      "returned to sender",
      "delivery error",
      "mail error",
      "delivery status",
      "failed delivery",
      "permanent error",
      "unable to deliver",
      "message not delivered",
      "message delivery",
      "mail failure",
      "bounce",
      "error sending",
      "delayed mail",
      "delivery delayed",
      "delivery notice",
      "notification d'état",
  };
  for (std::string_view s : kSubjects) {
    if (Has(lower_subject, s)) return true;
  }
  return false;
}

// Wording that only a delivery failure notice uses, for bounces whose sender and subject
// say nothing (localised subjects, no-reply senders).
bool LooksLikeBounceText(std::string_view lower_text) {
  static constexpr std::string_view kPhrases[] = {"could not be delivered",
                                                  "couldn't be delivered",
                                                  "was not delivered",
                                                  "wasn't delivered",
                                                  "could not deliver",
                                                  "unable to deliver",
                                                  "undeliverable",
                                                  "delivery failed",
                                                  "delivery has failed",
                                                  "permanent error",
                                                  "failed to deliver",
                                                  "returned to sender",
                                                  "delivery to the following",
                                                  "following addresses had",
                                                  "error delivering"};
  for (std::string_view p : kPhrases) {
    if (Has(lower_text, p)) return true;
  }
  return false;
}

// Microsoft's complaint feedback loop (JMRP) sends the complained-of message as a
// message/rfc822 attachment with a fixed subject instead of an ARF report.
bool LooksLikeJmrp(std::string_view lower_subject, const MimePart* original) {
  return Has(lower_subject, "complaint about message from") && original != nullptr;
}

bool LooksLikeAutoReply(const MimePart& root, std::string_view lower_subject) {
  std::string auto_submitted = Lower(root.Header("Auto-Submitted"));
  if (Has(auto_submitted, "auto-replied")) return true;
  if (root.HasHeader("X-Autoreply") || root.HasHeader("X-Autorespond") ||
      (root.HasHeader("X-Auto-Response-Suppress") && Has(lower_subject, "reply"))) {
    return true;
  }
  std::string precedence = Lower(root.Header("Precedence"));
  if (precedence == "auto_reply") return true;
  static constexpr std::string_view kSubjects[] = {"automatic reply",
                                                   "auto reply",
                                                   "autoreply",
                                                   "auto-reply",
                                                   "auto response",
                                                   "autoresponse",
                                                   "out of office",
                                                   "out of the office",
                                                   "vacation",
                                                   "away from",
                                                   "abwesenheitsnotiz",
                                                   "absence",
                                                   "auto:"};
  for (std::string_view s : kSubjects) {
    if (Has(lower_subject, s)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Building the result.

void FillOriginal(const MimePart* orig, Report* r) {
  if (orig == nullptr) return;
  auto strip = [](std::string_view v) {
    v = TrimWhitespace(v);
    if (!v.empty() && v.front() == '<') v.remove_prefix(1);
    if (!v.empty() && v.back() == '>') v.remove_suffix(1);
    return SafeOneLine(v, 998);
  };
  r->original.message_id = strip(orig->Header("Message-ID"));
  r->original.from = SafeOneLine(mail::DecodeEncodedWords(orig->Header("From")), 998);
  r->original.to = SafeOneLine(mail::DecodeEncodedWords(orig->Header("To")), 998);
  r->original.subject = SafeOneLine(mail::DecodeEncodedWords(orig->Header("Subject")), 998);
  r->original.return_path = strip(orig->Header("Return-Path"));
  r->original.date = SafeOneLine(orig->Header("Date"), 200);
  auto add_ids = [&](std::string_view v) {
    size_t p = 0;
    while ((p = v.find('<', p)) != std::string_view::npos &&
           r->original.referenced_ids.size() < 64) {
      size_t e = v.find('>', p);
      if (e == std::string_view::npos) break;
      std::string id = SafeOneLine(v.substr(p + 1, e - p - 1), 998);
      if (id.find('@') != std::string::npos &&
          std::find(r->original.referenced_ids.begin(), r->original.referenced_ids.end(), id) ==
              r->original.referenced_ids.end()) {
        r->original.referenced_ids.push_back(std::move(id));
      }
      p = e;
    }
  };
  add_ids(orig->Header("Message-ID"));
  add_ids(orig->Header("In-Reply-To"));
  add_ids(orig->Header("References"));
}

// Message ids named anywhere in the report's own text (a returned header written inline).
void AddIdsFromText(std::string_view text, Report* r) {
  std::string_view lower = text.substr(0, 1 << 20);  // searched without regard to case
  size_t p = 0;
  while ((p = FindNoCase(lower, "message-id:", p)) != std::string::npos &&
         r->original.referenced_ids.size() < 64) {
    size_t lt = lower.find('<', p);
    size_t nl = lower.find('\n', p);
    if (lt == std::string::npos || (nl != std::string::npos && lt > nl + 200)) break;
    size_t gt = lower.find('>', lt);
    if (gt == std::string::npos) break;
    std::string id = SafeOneLine(std::string_view(text).substr(lt + 1, gt - lt - 1), 998);
    if (id.find('@') != std::string::npos &&
        std::find(r->original.referenced_ids.begin(), r->original.referenced_ids.end(), id) ==
            r->original.referenced_ids.end()) {
      if (r->original.message_id.empty()) r->original.message_id = id;
      r->original.referenced_ids.push_back(std::move(id));
    }
    p = gt;
  }
}

// The recipient's part of a text: from its first mention to the next recipient's.
std::string_view Segment(std::string_view text, const std::vector<FoundAddress>& recipients,
                         size_t index) {
  size_t start = recipients[index].pos;
  size_t stop = text.size();
  for (size_t j = 0; j < recipients.size(); ++j) {
    if (recipients[j].address != recipients[index].address && recipients[j].pos > start &&
        recipients[j].pos < stop) {
      stop = recipients[j].pos;
    }
  }
  // From the beginning of the line that mentions the address to the beginning of the line
  // that mentions the next one (when that is a later line).
  size_t line_start = text.rfind('\n', start);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  if (stop < text.size()) {
    size_t stop_line = text.rfind('\n', stop);
    if (stop_line != std::string_view::npos && stop_line > start) stop = stop_line;
  }
  return text.substr(line_start, stop - line_start);
}

// A report's wider wording, shared by its recipients, and the SMTP command it names (found
// on first use, once per report rather than once per recipient).
class ReportContext {
 public:
  // `own_command`: whether the command the wider text names may stand for a recipient
  // whose own diagnostic names none (not when several recipients share the text).
  explicit ReportContext(std::string_view text, bool own_command = true)
      : text_(text), use_command_(own_command) {}
  std::string_view text() const { return text_; }
  // The envelope sender of the message the report is about, lower case (see
  // EnvelopeSenders).
  void set_senders(std::vector<std::string> senders) { senders_ = std::move(senders); }
  const std::vector<std::string>& senders() const { return senders_; }
  const std::string& command() {
    if (!command_) {
      command_ = text_.empty() || !use_command_ ? std::string()
                                                : FindCommand(Lower(text_.substr(0, 8192)));
    }
    return *command_;
  }

 private:
  std::string_view text_;
  bool use_command_;
  std::vector<std::string> senders_;
  std::optional<std::string> command_;
};

// The addresses that stand for the envelope sender of the message a report is about: the
// returned message's Return-Path and the address the report itself is sent to (a bounce
// goes to the original's reverse-path, RFC 5321 section 6.1). Lower case, at most three.
std::vector<std::string> EnvelopeSenders(const MimePart& root, const Report& r) {
  std::vector<std::string> out;
  if (r.original.return_path.find('@') != std::string::npos) {
    out.push_back(Lower(r.original.return_path));
  }
  for (const FoundAddress& a : FindAddresses(root.Header("To"), 2)) {
    if (std::find(out.begin(), out.end(), a.address) == out.end()) out.push_back(a.address);
  }
  return out;
}

// Whether a reply names one of `senders` right after its codes ("550 5.7.1 <sender>...
// Access denied", "550 5.2.0 <sender> From: Domain is invalid"). A server names the
// address a refusal is about right after the codes, so such a reply refuses the envelope
// sender, not the recipient (whose own address never counts as the sender's).
bool RefusesSender(std::string_view lower_diag, const std::vector<std::string>& senders,
                   std::string_view recipient) {
  auto skippable = [](char c) {
    return c == '<' || c == ' ' || c == '\'' || c == '"' || c == '\t' || c == '\n' || c == '\r';
  };
  for (const std::string& sender : senders) {
    if (EqualsIgnoreCase(sender, recipient)) continue;
    for (size_t p = lower_diag.find(sender); p != std::string_view::npos;
         p = lower_diag.find(sender, p + 1)) {
      if (p > 0 && IsAddrChar(lower_diag[p - 1])) continue;  // part of a longer address
      size_t end = p;
      while (end > 0 && skippable(lower_diag[end - 1])) --end;
      size_t start = end;
      while (start > 0 && (IsDigit(lower_diag[start - 1]) || lower_diag[start - 1] == '.')) {
        --start;
      }
      std::string_view token = lower_diag.substr(start, end - start);
      // A failure's code: a success ("250 2.1.0 <sender>... Sender ok") refuses nothing.
      if (token.empty() || (token[0] != '4' && token[0] != '5')) continue;
      if (token.size() == 3 || ParseEnhancedStatus(token)) return true;
    }
  }
  return false;
}

ReportedRecipient MakeRecipient(std::string address, std::string_view status, int code,
                                std::string_view diag, ReportContext& context,
                                std::string_view dtype, bool permanent) {
  ReportedRecipient rr;
  rr.address = SafeOneLine(address, 320);
  std::string lower = Lower(diag.substr(0, kMaxMatchedBytes));
  if (code == 0) code = FindReplyCode(diag);
  rr.reply_code = code;
  rr.smtp_command = FindCommand(lower);
  if (rr.smtp_command.empty()) rr.smtp_command = context.command();
  FailureFacts f;
  f.status = status;
  f.reply_code = code;
  f.text = diag;
  f.context = context.text();
  f.command = rr.smtp_command;
  // A refusal that names herald's envelope sender is about the sender, as if MAIL FROM
  // had been refused, whatever command it answered.
  if (RefusesSender(lower, context.senders(), address)) f.command = "MAIL";
  f.diagnostic_type = dtype;
  f.permanent = permanent;
  rr.verdict = ClassifyFailure(f);
  return rr;
}

// A mail client's unsubscribe request: the message a client sends to a List-Unsubscribe
// mailto: address (RFC 2369) when its user asks to leave, recognised by Apple Mail's
// marker header or by a subject that is only the word.
bool LooksLikeUnsubscribeRequest(const MimePart& root, std::string_view lower_subject) {
  if (Lower(TrimWhitespace(root.Header("X-Apple-Unsubscribe"))) == "true") return true;
  return TrimWhitespace(lower_subject) == "unsubscribe";
}

// An unsubscribe request is the recipient's own opt-out: a complaint of type "opt-out"
// (RFC 5965's name for it) by the address that sent it.
void ReadUnsubscribeRequest(std::string_view from, Report* r) {
  r->kind = FeedbackKind::kComplaint;
  r->format = "unsubscribe";
  r->complaint.feedback_type = "opt-out";
  for (const FoundAddress& a : FindAddresses(from, 1)) {
    r->complaint.original_rcpt_to.push_back(SafeOneLine(a.address, 320));
  }
}

// The sentence of `text` (`lower` is its lower-case copy) around offset `at`: from the
// previous full stop (". ") or blank line to the next (a '.' inside an address does not
// end it), as one safe line.
std::string SentenceAt(std::string_view text, std::string_view lower, size_t at) {
  auto sentence_end = [&lower](size_t pos) {
    size_t stop = std::min(lower.find(". ", pos), lower.find(".\n", pos));
    return std::min(stop, lower.find("\n\n", pos));
  };
  size_t from = 0;
  for (size_t p = 0; (p = sentence_end(p)) < at; ++p) from = p + 1;
  size_t to = std::min(sentence_end(at), lower.size());
  return SafeOneLine(text.substr(from, to - from), kMaxMatchedBytes);
}

// A mailing list manager's refusal of a post: a notice from the list's software (its From
// is the list's -owner, -admin, -request or -bounces address, or a Mailman, Majordomo,
// LISTSERV or ezmlm one, or it carries fml's X-MLServer or ezmlm's Mailing-List header)
// that carries list headers (RFC 2369 List-*, RFC 2919 List-Id) and tells the poster they
// are not a member. A soft bounce (the list refuses the sender) for the list's address:
// the first address the text names other than the notice's own From and To, else its
// List-Post address. False for any other mail, list posts included.
bool ReadListRefusal(std::string_view text, const MimePart& root, Report* r) {
  static constexpr std::string_view kListHeaders[] = {"List-Id",     "List-Post", "List-Subscribe",
                                                      "List-Help",   "X-ML-Name", "X-MLServer",
                                                      "Mailing-List"};
  bool from_list = false;
  for (std::string_view h : kListHeaders) from_list = from_list || root.HasHeader(h);
  if (!from_list) return false;
  const std::string from = Lower(root.Header("From"));
  bool from_manager = root.HasHeader("X-MLServer") || root.HasHeader("Mailing-List");
  static constexpr std::string_view kManagers[] = {"-owner@", "-admin@",   "-request@", "-bounces@",
                                                   "mailman", "majordomo", "listserv",  "ezmlm"};
  for (std::string_view m : kManagers) from_manager = from_manager || Has(from, m);
  if (!from_manager) return false;
  std::string_view head = text.substr(0, 2048);
  std::string lower = Lower(head);
  static constexpr std::string_view kRefusals[] = {"not a member of", "are not member",
                                                   "not a list member"};
  size_t at = std::string::npos;
  for (std::string_view k : kRefusals) at = std::min(at, lower.find(k));
  if (at == std::string::npos) return false;
  const std::string to = Lower(root.Header("To"));
  std::string address;
  for (const FoundAddress& a : FindAddresses(head, 8)) {
    if (!Has(from, a.address) && !Has(to, a.address)) {
      address = a.address;
      break;
    }
  }
  if (address.empty()) {
    std::vector<FoundAddress> post = FindAddresses(root.Header("List-Post"), 1);
    if (post.empty()) return false;
    address = post.front().address;
  }
  ReportContext context(std::string_view{}, false);
  r->recipients.push_back(
      MakeRecipient(address, "", 0, SentenceAt(head, lower, at), context, "", true));
  r->format = "list";
  r->kind = FeedbackKind::kBounce;
  return true;
}

// An auto-reply that says the address it answers for is retired ("this inbox is no longer
// in use"): a soft bounce for that address, not an absence notice. The address is the
// first one the text names, else Reply-To, else From. False for any other auto-reply.
bool ReadRetiredAddressReply(std::string_view text, const MimePart& root, Report* r) {
  std::string_view head = text.substr(0, 2048);
  static constexpr std::string_view kRetired[] = {"no longer in use",   "no longer active",
                                                  "is no longer valid", "has been deactivated",
                                                  "has been closed",    "has been disabled"};
  std::string lower = Lower(head);
  size_t at = std::string::npos;
  for (std::string_view k : kRetired) at = std::min(at, lower.find(k));
  if (at == std::string::npos) return false;
  std::string sentence = SentenceAt(head, lower, at);
  std::vector<FoundAddress> found = FindAddresses(head, 1);
  if (found.empty()) found = FindAddresses(root.Header("Reply-To"), 1);
  if (found.empty()) found = FindAddresses(root.Header("From"), 1);
  if (found.empty()) return false;
  ReportContext context(std::string_view{}, false);
  r->recipients.push_back(MakeRecipient(found.front().address, "", 0, sentence, context, "",
                                        /*permanent=*/true));
  r->format = "rfc3834";
  r->kind = FeedbackKind::kBounce;
  return true;
}

bool ActionFailedOrDelayed(std::string_view action) {
  return action == "failed" || action == "delayed" || action.empty() || action == "failure" ||
         action == "delay";
}

// An RFC 3464 report. False when the DSN names no recipient.
bool ReadDsn(const std::vector<Leaf>& leaves, std::string_view bounce_text, Report* r) {
  const MimePart* dsn_part = nullptr;
  for (const Leaf& l : leaves) {
    if (l.in_original) continue;
    if (l.part->type == "message/delivery-status" ||
        l.part->type == "message/global-delivery-status") {
      dsn_part = l.part;
      break;
    }
  }
  std::string body;
  if (dsn_part != nullptr) {
    body = NormalizeLineEnds(dsn_part->body);
  } else {
    // Delivery status fields written inline in the text ("Technical report:", flattened
    // multipart/report): read them from the first per-message or recipient field on.
    size_t p = std::string::npos;
    for (std::string_view f : {"\nreporting-mta:", "\nfinal-recipient:", "\noriginal-recipient:"}) {
      p = std::min(p, FindNoCase(bounce_text, f));
    }
    if (p == std::string::npos) return false;
    body = std::string(bounce_text.substr(p + 1));
    // Inline fields may be indented.
    std::string unindented;
    for (std::string_view line : Split(body, '\n')) {
      std::string_view t = line;
      while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
      bool field = t.find(':') != std::string_view::npos && t.find(':') < 40 &&
                   t.substr(0, t.find(':')).find(' ') == std::string_view::npos;
      unindented.append(field ? t : line);
      unindented.push_back('\n');
    }
    body = std::move(unindented);
  }
  DeliveryStatus ds = ParseDeliveryStatus(body);
  if (ds.recipients.empty()) return false;
  r->format = "rfc3464";
  r->reporting_mta = SafeOneLine(ds.reporting_mta, 255);
  if (!ds.arrival_date.empty()) r->arrival_date = SafeOneLine(ds.arrival_date, 200);
  ReportContext ctx(bounce_text);
  ctx.set_senders(EnvelopeSenders(*leaves.front().part, *r));
  bool any_success = false;
  for (DsnRecipient& d : ds.recipients) {
    if (d.action == "delivered" || d.action == "relayed" || d.action == "expanded") {
      any_success = true;
      continue;
    }
    if (!ActionFailedOrDelayed(d.action)) continue;
    std::string address = d.final_recipient.empty() ? d.original_recipient : d.final_recipient;
    if (address.empty()) continue;
    bool permanent = d.action != "delayed" && d.action != "delay";
    if (!d.status.empty() && d.status[0] == '4' && d.action.empty()) permanent = false;
    std::string diag = d.diagnostic_text;
    if (diag.empty()) {
      // The text part says more: the segment about this recipient.
      std::vector<FoundAddress> found = FindAddresses(bounce_text);
      std::string la = Lower(address);
      for (size_t i = 0; i < found.size(); ++i) {
        if (found[i].address == la) {
          diag = std::string(Segment(bounce_text, found, i).substr(0, 2048));
          break;
        }
      }
    }
    ReportedRecipient rr =
        MakeRecipient(address, d.status, 0, diag, ctx, d.diagnostic_type, permanent);
    rr.original_recipient = SafeOneLine(d.original_recipient, 320);
    rr.remote_mta = SafeOneLine(d.remote_mta, 255);
    rr.last_attempt_date = SafeOneLine(d.last_attempt_date, 200);
    r->recipients.push_back(std::move(rr));
  }
  if (r->recipients.empty() && any_success) {
    r->kind = FeedbackKind::kDelivered;
    return true;
  }
  return !r->recipients.empty();
}

// Whether the address at `pos` in `text` is written where a failed recipient would be,
// rather than as the sender, a contact or a header of the returned message.
bool AtRecipientPosition(std::string_view text, size_t pos) {
  size_t ls = text.rfind('\n', pos);
  ls = ls == std::string_view::npos ? 0 : ls + 1;
  std::string head = Lower(text.substr(ls, std::min<size_t>(pos - ls, 80)));
  size_t k = 0;
  while (k < head.size() && (head[k] == '>' || head[k] == ' ' || head[k] == '\t')) ++k;
  std::string_view h = std::string_view(head).substr(k);
  static constexpr std::string_view kHeaderPrefixes[] = {
      "from:",     "reply-to:",    "sender:",     "message-id:", "return-path:",
      "received:", "in-reply-to:", "references:", "x-",          "by ",
      "date:",     "subject:",     "errors-to:"};
  for (std::string_view p : kHeaderPrefixes) {
    if (h.substr(0, p.size()) == p) return false;
  }
  // The words just before the address.
  std::string before = Lower(text.substr(pos >= 24 ? pos - 24 : 0, pos >= 24 ? 24 : pos));
  static constexpr std::string_view kNotRecipient[] = {
      "from:<",        "from: <",        "from <",        "mail from",
      "expanded from", "contact",        "envelope-from", "sender:",
      "sender <",      "sender address", "generated by",  "generated from",
      "sent by",       "send mail to",   "helo=",         "id <"};
  for (std::string_view p : kNotRecipient) {
    if (Has(before, p)) return false;
  }
  return true;
}

// Exim and others list failed addresses under a heading, sometimes without a domain.
void AddListedAddresses(std::string_view text, std::vector<FoundAddress>* out) {
  std::string lower = Lower(text.substr(0, 1 << 16));
  static constexpr std::string_view kHeadings[] = {
      "address(es) failed:", "following address failed:", "following addresses failed:"};
  for (std::string_view h : kHeadings) {
    size_t p = lower.find(h);
    if (p == std::string::npos) continue;
    size_t pos = lower.find('\n', p);
    while (pos != std::string::npos && pos + 1 < lower.size() && lower[pos + 1] == '\n') ++pos;
    if (pos == std::string::npos) return;
    size_t start = pos + 1;
    while (start < text.size() && (text[start] == ' ' || text[start] == '\t')) ++start;
    size_t end = start;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n' && text[end] != '\t') {
      ++end;
    }
    std::string_view token = text.substr(start, end - start);
    while (!token.empty() && (token.front() == '<')) token.remove_prefix(1);
    while (!token.empty() && (token.back() == '>' || token.back() == ':')) token.remove_suffix(1);
    if (token.empty() || token.find('@') != std::string_view::npos || token.size() > 64) return;
    for (char c : token) {
      if (!IsAddrChar(c)) return;
    }
    out->push_back({Lower(token), start});
    return;
  }
}

// A bounce with no DSN part: addresses and wording from its text. `original` (may be
// null) is the returned message, whose To is the last resort.
bool ReadTextBounce(std::string_view text, const MimePart& root, const MimePart* original,
                    Report* r) {
  std::vector<FoundAddress> all = FindAddresses(text);
  std::string from = Lower(root.Header("From"));
  std::string to = Lower(root.Header("To"));
  std::vector<FoundAddress> recipients, to_matches;
  for (const FoundAddress& a : all) {
    if (IsSystemAddress(a.address)) continue;
    if (Has(from, a.address)) continue;
    if (!AtRecipientPosition(text, a.pos)) continue;
    std::vector<FoundAddress>& into = !to.empty() && Has(to, a.address) ? to_matches : recipients;
    bool dup = false;
    for (const FoundAddress& b : into) dup = dup || b.address == a.address;
    if (dup) continue;
    into.push_back(a);
    if (into.size() >= kMaxReportRecipients) break;
  }
  if (recipients.empty()) AddListedAddresses(text, &recipients);
  if (recipients.empty() && original != nullptr) {
    std::string orig_to = std::string(original->Header("To"));
    for (const FoundAddress& a : FindAddresses(orig_to, 8)) {
      recipients.push_back({a.address, std::string_view::npos});
    }
  }
  if (recipients.empty()) recipients = std::move(to_matches);
  if (recipients.empty()) return false;
  r->format = "text";
  ReportContext ctx(text, recipients.size() == 1);
  ctx.set_senders(EnvelopeSenders(root, *r));
  for (size_t i = 0; i < recipients.size(); ++i) {
    std::string_view seg =
        recipients[i].pos == std::string_view::npos ? text : Segment(text, recipients, i);
    std::string lower_seg = Lower(seg.substr(0, 4096));
    bool permanent = !(Has(lower_seg, "temporary") || Has(lower_seg, "will be retried") ||
                       Has(lower_seg, "still trying") || Has(lower_seg, "delayed"));
    r->recipients.push_back(
        MakeRecipient(recipients[i].address, {}, 0, seg.substr(0, 4096), ctx, {}, permanent));
  }
  return true;
}

void ReadComplaint(const std::vector<Leaf>& leaves, Report* r) {
  for (const Leaf& l : leaves) {
    if (l.in_original) continue;
    if (l.part->type == "message/feedback-report") {
      r->complaint = ParseFeedbackReportFields(NormalizeLineEnds(l.part->body));
      break;
    }
  }
  r->kind = FeedbackKind::kComplaint;
  r->format = "arf";
  ComplaintReport& c = r->complaint;
  if (c.feedback_type.empty()) c.feedback_type = "abuse";
  c.feedback_type = SafeOneLine(c.feedback_type, 64);
  c.user_agent = SafeOneLine(c.user_agent, 255);
  c.version = SafeOneLine(c.version, 32);
  c.arrival_date = SafeOneLine(c.arrival_date, 200);
  c.source_ip = SafeOneLine(c.source_ip, 64);
  c.original_mail_from = SafeOneLine(c.original_mail_from, 320);
  c.reported_domain = SafeOneLine(c.reported_domain, 255);
  for (std::string& a : c.original_rcpt_to) a = SafeOneLine(a, 320);
  if (!c.arrival_date.empty()) r->arrival_date = c.arrival_date;
}

bool IsArf(const MimePart& root, const std::vector<Leaf>& leaves) {
  if (root.type == "multipart/report" &&
      Lower(mail::HeaderParameter(root.Header("Content-Type"), "report-type")) ==
          "feedback-report") {
    return true;
  }
  for (const Leaf& l : leaves) {
    if (!l.in_original && l.part->type == "message/feedback-report") return true;
  }
  return false;
}

// An Amazon SES notification (Bounce, Complaint or Delivery JSON) delivered by mail, as
// an SNS email subscription sends it. SNS folds long lines with "!" + LF + space.
bool ReadSesNotification(std::string_view text, Report* r) {
  size_t key = text.find("notificationType");
  if (key == std::string_view::npos) return false;
  // An SNS envelope carries the notification as a JSON string in "Message".
  if (size_t type = text.find("\"Type\""); type != std::string_view::npos && type < key) {
    key = type;
  }
  size_t open = text.rfind('{', key);
  size_t close = text.rfind('}');
  if (open == std::string_view::npos || close == std::string_view::npos || close < key) {
    return false;
  }
  // SES and SNS send the notification as the whole body. JSON that starts further on is
  // something quoted in another mail (a bounce that returns a message about notifications
  // inline, say) and is not read as a notification.
  for (char c : text.substr(0, open)) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  std::string json;
  std::string_view raw = text.substr(open, close - open + 1);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '!' && i + 2 < raw.size() && raw[i + 1] == '\n' && raw[i + 2] == ' ') {
      i += 2;
      continue;
    }
    if (raw[i] == '\n') continue;
    json.push_back(raw[i]);
  }
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return false;
  if (auto m = j.find("Message"); m != j.end() && m->is_string()) {
    j = nlohmann::json::parse(m->get<std::string>(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return false;
  }
  auto str = [](const nlohmann::json& o, const char* k) -> std::string {
    auto it = o.find(k);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string type = str(j, "notificationType");
  r->format = "ses-notification";
  auto mail = j.find("mail");
  if (mail != j.end() && mail->is_object()) {
    r->original.message_id = SafeOneLine(str(*mail, "messageId"), 998);
  }
  if (type == "Bounce") {
    auto b = j.find("bounce");
    if (b == j.end() || !b->is_object()) return false;
    r->reporting_mta = SafeOneLine(StripTypePrefix(str(*b, "reportingMTA")), 255);
    bool permanent = str(*b, "bounceType") != "Transient";
    const std::string sub_type = str(*b, "bounceSubType");
    auto list = b->find("bouncedRecipients");
    if (list == b->end() || !list->is_array()) return false;
    for (const auto& rc : *list) {
      if (!rc.is_object() || r->recipients.size() >= kMaxReportRecipients) continue;
      std::string address = str(rc, "emailAddress");
      if (address.empty()) continue;
      std::string diag = str(rc, "diagnosticCode");
      std::string dtype;
      if (size_t semi = diag.find(';'); semi != std::string::npos && semi < 16) {
        dtype = Lower(TrimWhitespace(std::string_view(diag).substr(0, semi)));
        diag = std::string(TrimWhitespace(std::string_view(diag).substr(semi + 1)));
      }
      ReportContext ctx(sub_type);
      r->recipients.push_back(MakeRecipient(address, str(rc, "status"), 0, diag, ctx,
                                            dtype == "smtp" ? "" : dtype, permanent));
    }
    return !r->recipients.empty();
  }
  if (type == "Complaint") {
    auto c = j.find("complaint");
    if (c == j.end() || !c->is_object()) return false;
    r->kind = FeedbackKind::kComplaint;
    ComplaintReport& cr = r->complaint;
    cr.feedback_type = SafeOneLine(Lower(str(*c, "complaintFeedbackType")), 64);
    if (cr.feedback_type.empty()) cr.feedback_type = "abuse";
    cr.user_agent = SafeOneLine(str(*c, "userAgent"), 255);
    cr.arrival_date = SafeOneLine(str(*c, "arrivalDate"), 200);
    auto list = c->find("complainedRecipients");
    if (list != c->end() && list->is_array()) {
      for (const auto& rc : *list) {
        if (rc.is_object() && cr.original_rcpt_to.size() < kMaxReportRecipients) {
          cr.original_rcpt_to.push_back(SafeOneLine(str(rc, "emailAddress"), 320));
        }
      }
    }
    return true;
  }
  if (type == "Delivery") {
    r->kind = FeedbackKind::kDelivered;
    return true;
  }
  return false;
}

}  // namespace

const char* FeedbackKindName(FeedbackKind kind) {
  switch (kind) {
    case FeedbackKind::kNotFeedback:
      return "not_feedback";
    case FeedbackKind::kBounce:
      return "bounce";
    case FeedbackKind::kUndetermined:
      return "undetermined";
    case FeedbackKind::kComplaint:
      return "complaint";
    case FeedbackKind::kAutoReply:
      return "auto_reply";
    case FeedbackKind::kDelivered:
      return "delivered";
  }
  return "not_feedback";
}

namespace {

// A report forwarded inline: the offset in `body` of the header block of another delivery
// status report written in the text (an operator's or a provider's relay of a bounce, the
// forwarded report's own "Content-Type: multipart/report; report-type=delivery-status"
// among its header lines), or npos.
size_t FindInlineReport(std::string_view body) {
  size_t p = FindNoCase(body, "report-type=delivery-status");
  if (p == std::string_view::npos) return p;
  size_t line = body.rfind('\n', p);
  line = line == std::string_view::npos ? 0 : line + 1;  // the line holding the field
  // Back over the lines of the header block: fields ("Name: value"), their folded
  // continuations and an mbox "From " line; anything else ends the block.
  auto header_line = [](std::string_view l) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) return false;
    if (l.front() == ' ' || l.front() == '\t' || l.substr(0, 5) == "From ") return true;
    size_t colon = l.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon > 76) return false;
    for (char c : l.substr(0, colon)) {
      if (c <= ' ' || c > '~') return false;
    }
    return true;
  };
  while (line > 0) {
    // The previous line spans [prev, line - 1).
    size_t prev_nl = line >= 2 ? body.rfind('\n', line - 2) : std::string_view::npos;
    size_t prev = prev_nl == std::string_view::npos ? 0 : prev_nl + 1;
    if (!header_line(body.substr(prev, line - 1 - prev))) break;
    line = prev;
  }
  return line;
}

Report ParseFeedbackAt(std::string_view message, int depth);

// The report a mail forwards inline in its text, when it forwards one that names failed
// recipients; nullopt otherwise. Followed one level deep.
std::optional<Report> ReadForwardedReport(const std::vector<Leaf>& leaves, int depth) {
  if (depth > 0) return std::nullopt;
  for (const Leaf& l : leaves) {
    if (l.in_original || !l.part->children.empty() || !IsTextType(l.part->type)) continue;
    size_t at = FindInlineReport(l.part->body);
    if (at == std::string_view::npos) continue;
    Report inner = ParseFeedbackAt(std::string_view(l.part->body).substr(at), depth + 1);
    if ((inner.kind == FeedbackKind::kBounce || inner.kind == FeedbackKind::kUndetermined) &&
        !inner.recipients.empty()) {
      return inner;
    }
  }
  return std::nullopt;
}

Report ParseFeedbackAt(std::string_view message, int depth) {
  Report r;
  if (message.size() > kMaxFeedbackBytes) message = message.substr(0, kMaxFeedbackBytes);
  MimePart root = ParseMimeTree(message);
  std::vector<Leaf> leaves;
  Flatten(root, false, &leaves);

  r.subject = SafeOneLine(mail::DecodeEncodedWords(root.Header("Subject")), 998);
  r.from = SafeOneLine(mail::DecodeEncodedWords(root.Header("From")), 998);
  r.arrival_date = SafeOneLine(root.Header("Date"), 200);
  const std::string lower_subject = Lower(r.subject);
  const std::string lower_from = Lower(r.from);
  const MimePart* original = FindOriginal(leaves);
  FillOriginal(original, &r);

  if (IsArf(root, leaves) || LooksLikeJmrp(lower_subject, original)) {
    ReadComplaint(leaves, &r);
    if (r.complaint.original_rcpt_to.empty() && original != nullptr) {
      std::string_view rcpt = original->Header("X-HmXmrOriginalRecipient");
      if (rcpt.empty()) rcpt = original->Header("To");
      for (const FoundAddress& a : FindAddresses(rcpt, 8)) {
        r.complaint.original_rcpt_to.push_back(SafeOneLine(a.address, 320));
      }
    }
    return r;
  }

  const std::string text = BounceText(leaves);
  // Ids written in the body (a returned header quoted inline), not the report's own.
  size_t body_start = message.find("\n\n");
  if (size_t crlf = message.find("\r\n\r\n"); crlf < body_start) body_start = crlf;
  if (body_start != std::string_view::npos) {
    AddIdsFromText(message.substr(body_start, 1 << 20), &r);
  }
  if (ReadSesNotification(text, &r)) {
    if (r.kind == FeedbackKind::kComplaint || r.kind == FeedbackKind::kDelivered) return r;
  } else if (ReadDsn(leaves, text, &r)) {
    if (r.kind == FeedbackKind::kDelivered) return r;
  } else if (std::optional<Report> forwarded = ReadForwardedReport(leaves, depth)) {
    return *std::move(forwarded);
  } else {
    const bool auto_reply = LooksLikeAutoReply(root, lower_subject);
    const bool bounce_like =
        LooksLikeBounceSender(lower_from) || LooksLikeBounceSubject(lower_subject) ||
        root.type == "multipart/report" ||
        (!auto_reply && LooksLikeBounceText(Lower(std::string_view(text).substr(0, 16384))));
    if (!bounce_like) {
      if (LooksLikeUnsubscribeRequest(root, lower_subject)) {
        ReadUnsubscribeRequest(r.from, &r);
        return r;
      }
      if (ReadListRefusal(text, root, &r)) return r;
      if (!auto_reply) return r;
      if (!ReadRetiredAddressReply(text, root, &r)) {
        r.kind = FeedbackKind::kAutoReply;
        r.format = "rfc3834";
        return r;
      }
    } else if (!ReadTextBounce(text, root, original, &r)) {
      return r;
    }
  }
  bool any_known = false;
  for (const ReportedRecipient& rr : r.recipients) {
    any_known = any_known || rr.verdict.reason != Reason::kUnknown;
  }
  r.kind = any_known ? FeedbackKind::kBounce : FeedbackKind::kUndetermined;
  return r;
}

}  // namespace

Report ParseFeedback(std::string_view message) { return ParseFeedbackAt(message, 0); }

}  // namespace herald::feedback
