#include "sending/feedback_forward.h"

#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include "base/crypto.h"
#include "base/strings.h"
#include "feedback/report.h"
#include "feedback/smtp_reply.h"
#include "mail/address.h"
#include "mail/message.h"

namespace herald::sending {
namespace {

constexpr size_t kMaxLine = 998;                   // RFC 5322 section 2.1.1
constexpr size_t kMaxFieldName = 200;              // as mail::MakeHeaderField allows
constexpr size_t kMaxWord = 700;                   // longer runs get a folding point
constexpr size_t kMaxSubjectBytes = 250;           // of the original's subject, as quoted
constexpr size_t kMaxAddressInput = 1024;          // longer "addresses" are not parsed
constexpr size_t kMaxOriginalFieldBytes = 16384;   // one field of the original header
constexpr size_t kMaxOriginalHeaderBytes = 65536;  // the whole text/rfc822-headers part
constexpr size_t kMaxListedDestinations = 50;      // in the human-readable part
constexpr size_t kMaxShortValue = 255;             // user agent, dates, ids
constexpr int kBoundaryAttempts = 16;

constexpr std::array<std::string_view, 6> kFeedbackTypes = {"abuse",    "auth-failure", "fraud",
                                                            "not-spam", "other",        "virus"};
constexpr std::array<std::string_view, 5> kDsnActions = {"failed", "delayed", "delivered",
                                                         "relayed", "expanded"};

// ---------------------------------------------------------------------------------------
// Reading the event (never throws: wrong types read as absent).

std::string Str(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

const nlohmann::json* Obj(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_object()) return nullptr;
  return &*it;
}

const nlohmann::json* Arr(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return nullptr;
  return &*it;
}

// A string or an array of strings (commonHeaders' address lists), joined by ", ".
std::string Joined(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  std::string out;
  if (!it->is_array()) return out;
  for (const nlohmann::json& e : *it) {
    if (!e.is_string()) continue;
    if (!out.empty()) out += ", ";
    out += e.get<std::string>();
    if (out.size() > kMaxOriginalFieldBytes) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Making hostile text safe.

// One line: valid UTF-8, controls (CR, LF, NUL included) as single spaces, trimmed, at most
// `max_bytes` (cut at a character boundary, marked with "...").
std::string OneLine(std::string_view in, size_t max_bytes) {
  std::string s = feedback::SafeOneLine(in, max_bytes);
  std::string_view t = TrimWhitespace(s);
  return std::string(t);
}

// ASCII only: each non-ASCII character becomes '?'. `in` must be valid UTF-8.
std::string AsciiOnly(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else if ((c & 0xC0) != 0x80) {
      out.push_back('?');
    }
  }
  return out;
}

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// The longest prefix of `s` of at most `max` bytes that ends at a UTF-8 character boundary.
std::string_view CutUtf8(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

// Gives every run of more than kMaxWord non-space bytes a space to fold at (at character
// boundaries), so that a field can always be folded within 998 octets.
std::string BreakLongWords(std::string_view in) {
  std::string out;
  out.reserve(in.size() + in.size() / kMaxWord + 1);
  size_t run = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    bool boundary = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (c == ' ' || c == '\t') {
      run = 0;
    } else if (run >= kMaxWord && boundary) {
      out.push_back(' ');
      run = 0;
    }
    out.push_back(c);
    if (c != ' ' && c != '\t') ++run;
  }
  return out;
}

// Appends "name: value" CRLF, folded at whitespace within 998 octets (cut when it cannot
// be). `value` must already be one safe line.
Status AppendField(std::string* out, std::string_view name, std::string_view value) {
  const std::string broken = BreakLongWords(value);
  StatusOr<mail::HeaderField> f = mail::MakeHeaderField(name, broken);
  if (!f.ok()) {
    const size_t room = kMaxLine > name.size() + 2 ? kMaxLine - name.size() - 2 : 0;
    f = mail::MakeHeaderField(name, CutUtf8(broken, room));
  }
  if (!f.ok()) return f.status();
  *out += f->raw;
  return Status::Ok();
}

// RFC 5322 field name: printable ASCII without ':' (ftext), bounded.
bool IsFieldName(std::string_view name) {
  if (name.empty() || name.size() > kMaxFieldName) return false;
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126 || c == ':') return false;
  }
  return true;
}

// A DNS host name (LDH labels, '_' tolerated), lower-cased; nullopt when it is not one.
std::optional<std::string> HostName(std::string_view s) {
  if (s.empty() || s.size() > 253) return std::nullopt;
  if (s.back() == '.') s.remove_suffix(1);
  for (std::string_view label : Split(s, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return std::nullopt;
    }
    for (char c : label) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
      if (!ok) return std::nullopt;
    }
  }
  return AsciiLower(s);
}

// A Message-ID without brackets: "left@right", printable ASCII without specials.
bool IsPlainMessageId(std::string_view id) {
  if (id.size() < 3 || id.size() > kMaxShortValue) return false;
  size_t at = id.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == id.size() ||
      id.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char ch : id) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126) return false;
    if (std::string_view("<>()\\\",;:").find(ch) != std::string_view::npos) return false;
  }
  return true;
}

// The address of a hostile mailbox ("a@b" or "Name <a@b>"), IDN domains in Punycode;
// nullopt when it does not parse.
std::optional<std::string> AddressOf(std::string_view text) {
  if (text.empty() || text.size() > kMaxAddressInput) return std::nullopt;
  StatusOr<mail::Mailbox> mb = mail::ParseMailbox(text);
  if (!mb.ok()) return std::nullopt;
  std::string address = mb->Address();
  for (char ch : address) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) return std::nullopt;  // never expected after ParseMailbox
  }
  return address;
}

// An event timestamp (ISO 8601) in RFC 5322 form; empty when it does not parse.
std::string Rfc5322DateOf(std::string_view iso) {
  if (iso.empty() || iso.size() > kMaxShortValue) return {};
  std::optional<SysTime> t = ParseTimestamp(iso);
  return t ? FormatRfc5322Date(*t) : std::string();
}

// A message id from the event, for showing: no brackets, spaces or controls.
std::string IdOf(std::string_view raw) {
  std::string out;
  for (char c : OneLine(raw, kMaxShortValue)) {
    if (c != ' ' && c != '<' && c != '>') out.push_back(c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Text bodies.

// Lines joined with CRLF; a line longer than 998 octets is wrapped, its continuation lines
// indented, so no content can start a line only by being long.
std::string TextBody(const std::vector<std::string>& lines) {
  constexpr std::string_view kIndent = "    ";
  std::string out;
  for (const std::string& line : lines) {
    std::string_view rest = line;
    bool first = true;
    do {
      const size_t room = first ? kMaxLine : kMaxLine - kIndent.size();
      std::string_view piece = CutUtf8(rest, room);
      if (piece.empty() && !rest.empty()) piece = rest.substr(0, 1);  // never loops
      if (!first) out += kIndent;
      out += piece;
      out += "\r\n";
      rest.remove_prefix(piece.size());
      first = false;
    } while (!rest.empty());
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// What both reports share.

struct Original {
  std::string subject;                   // one safe line, may be empty
  std::string sent;                      // RFC 5322 date of mail.timestamp, may be empty
  std::string message_id;                // mail.messageId, made safe
  std::string source;                    // mail.source's address, may be empty
  std::vector<std::string> destination;  // one safe line each
  std::string headers;                   // the text/rfc822-headers body
  bool headers_truncated = false;
};

std::string OriginalSubject(const nlohmann::json& mail) {
  if (const nlohmann::json* common = Obj(mail, "commonHeaders")) {
    auto it = common->find("subject");
    if (it != common->end() && it->is_string()) {
      return OneLine(it->get<std::string>(), kMaxSubjectBytes);
    }
  }
  if (const nlohmann::json* headers = Arr(mail, "headers")) {
    for (const nlohmann::json& h : *headers) {
      if (EqualsIgnoreCase(Str(h, "name"), "Subject")) {
        return OneLine(mail::DecodeEncodedWords(Str(h, "value").substr(0, 4 * kMaxSubjectBytes)),
                       kMaxSubjectBytes);
      }
    }
  }
  return {};
}

// The text/rfc822-headers body: mail.headers, else fields rebuilt from commonHeaders, and
// From / Message-ID from the mail object when neither gives them.
Status BuildOriginalHeaders(const nlohmann::json& mail, const std::string& hostname,
                            Original* orig) {
  std::string& out = orig->headers;
  bool has_from = false;
  bool has_id = false;
  auto add = [&](std::string_view name, std::string_view raw_value) -> Status {
    if (out.size() >= kMaxOriginalHeaderBytes) {
      orig->headers_truncated = true;
      return Status::Ok();
    }
    std::string value = OneLine(raw_value, kMaxOriginalFieldBytes);
    RETURN_IF_ERROR(AppendField(&out, name, value));
    has_from = has_from || EqualsIgnoreCase(name, "From");
    has_id = has_id || EqualsIgnoreCase(name, "Message-ID");
    return Status::Ok();
  };
  const nlohmann::json* headers = Arr(mail, "headers");
  if (headers != nullptr && !headers->empty()) {
    for (const nlohmann::json& h : *headers) {
      const std::string name = Str(h, "name");
      // Names that are not field names are dropped, not repaired; so is Bcc, which a
      // returned header must never show.
      if (!IsFieldName(name) || EqualsIgnoreCase(name, "Bcc") ||
          EqualsIgnoreCase(name, "Resent-Bcc")) {
        continue;
      }
      RETURN_IF_ERROR(add(name, Str(h, "value")));
    }
    auto truncated = mail.find("headersTruncated");
    if (truncated != mail.end() && truncated->is_boolean() && truncated->get<bool>()) {
      orig->headers_truncated = true;
    }
  } else if (const nlohmann::json* common = Obj(mail, "commonHeaders")) {
    static constexpr std::pair<const char*, const char*> kCommon[] = {
        {"from", "From"},        {"to", "To"},     {"cc", "Cc"},
        {"replyTo", "Reply-To"}, {"date", "Date"}, {"subject", "Subject"}};
    for (const auto& [key, name] : kCommon) {
      std::string value = Joined(*common, key);
      if (!value.empty()) RETURN_IF_ERROR(add(name, value));
    }
    if (std::string id = IdOf(Str(*common, "messageId")); !id.empty()) {
      RETURN_IF_ERROR(add("Message-ID", "<" + id + ">"));
    }
  }
  if (!has_from && !orig->source.empty()) RETURN_IF_ERROR(add("From", orig->source));
  if (!has_id && !orig->message_id.empty()) {
    std::string id = orig->message_id;
    if (id.find('@') == std::string::npos) id += "@" + hostname;  // herald's own default
    RETURN_IF_ERROR(add("Message-ID", "<" + id + ">"));
  }
  return Status::Ok();
}

StatusOr<Original> ReadOriginal(const nlohmann::json& mail, const std::string& hostname) {
  Original o;
  o.subject = OriginalSubject(mail);
  o.sent = Rfc5322DateOf(Str(mail, "timestamp"));
  o.message_id = IdOf(Str(mail, "messageId"));
  if (std::optional<std::string> a = AddressOf(Str(mail, "source"))) o.source = *a;
  if (const nlohmann::json* dest = Arr(mail, "destination")) {
    for (const nlohmann::json& d : *dest) {
      if (!d.is_string()) continue;
      if (o.destination.size() >= kMaxListedDestinations + 1) break;
      std::string line = OneLine(d.get<std::string>(), kMaxShortValue);
      if (!line.empty()) o.destination.push_back(std::move(line));
    }
  }
  RETURN_IF_ERROR(BuildOriginalHeaders(mail, hostname, &o));
  return o;
}

// The lines that describe the original message in the human-readable part.
void DescribeOriginal(const Original& orig, std::vector<std::string>* lines) {
  lines->push_back("  Subject:    " + (orig.subject.empty() ? "(none)" : orig.subject));
  if (!orig.sent.empty()) lines->push_back("  Sent:       " + orig.sent);
  if (!orig.message_id.empty()) lines->push_back("  Message ID: " + orig.message_id);
  if (!orig.source.empty()) lines->push_back("  Sender:     " + orig.source);
  if (!orig.destination.empty()) {
    std::string to;
    for (size_t i = 0; i < orig.destination.size() && i < kMaxListedDestinations; ++i) {
      if (!to.empty()) to += ", ";
      to += orig.destination[i];
    }
    if (orig.destination.size() > kMaxListedDestinations) to += ", ...";
    lines->push_back("  Recipients: " + to);
  }
}

struct Part {
  std::string content_type;
  std::string body;  // CRLF line ends, ends with CRLF (or is empty)
};

// The transfer encoding a body needs: 7bit when ASCII, else 8bit (raw UTF-8).
std::string_view EncodingOf(std::string_view body) { return IsAscii(body) ? "7bit" : "8bit"; }

// Renders the whole message: `head` (the top-level fields), MIME-Version, the
// multipart/report Content-Type, and the parts. The boundary is derived from `seed` (the
// output stays a function of the input) and checked not to occur in any part.
StatusOr<std::string> Assemble(std::string head, std::string_view report_type,
                               const std::vector<Part>& parts, std::string_view seed) {
  std::vector<std::string> rendered;
  rendered.reserve(parts.size());
  for (const Part& p : parts) {
    std::string r;
    RETURN_IF_ERROR(AppendField(&r, "Content-Type", p.content_type));
    RETURN_IF_ERROR(AppendField(&r, "Content-Transfer-Encoding", EncodingOf(p.body)));
    r += "\r\n";
    r += p.body;
    rendered.push_back(std::move(r));
  }
  std::string boundary;
  for (int attempt = 0; attempt < kBoundaryAttempts && boundary.empty(); ++attempt) {
    std::string candidate =
        "=_herald_report_" +
        Sha256Hex(std::string(seed) + "/" + std::to_string(attempt)).substr(0, 32);
    bool clash = false;
    for (const std::string& r : rendered) clash = clash || r.find(candidate) != std::string::npos;
    if (!clash) boundary = std::move(candidate);
  }
  if (boundary.empty()) return InternalError("could not choose a MIME boundary");
  RETURN_IF_ERROR(AppendField(&head, "MIME-Version", "1.0"));
  RETURN_IF_ERROR(AppendField(&head, "Content-Type",
                              "multipart/report; report-type=" + std::string(report_type) +
                                  "; boundary=\"" + boundary + "\""));
  std::string out = std::move(head);
  out += "\r\n";
  out += "This is a MIME-formatted report (RFC 6522).\r\n";
  for (const std::string& r : rendered) {
    out += "\r\n--" + boundary + "\r\n";
    out += r;
  }
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

// The top-level fields every report carries.
StatusOr<std::string> TopFields(std::string_view from, std::string_view to,
                                std::string_view subject, const ForwardOptions& o,
                                std::string_view message_id) {
  std::string head;
  RETURN_IF_ERROR(AppendField(&head, "From", from));
  RETURN_IF_ERROR(AppendField(&head, "To", to));
  RETURN_IF_ERROR(AppendField(&head, "Subject", mail::EncodeHeaderValue(subject)));
  RETURN_IF_ERROR(AppendField(&head, "Date", FormatRfc5322Date(o.now)));
  RETURN_IF_ERROR(AppendField(&head, "Message-ID", "<" + std::string(message_id) + ">"));
  RETURN_IF_ERROR(AppendField(&head, "Auto-Submitted", "auto-replied"));
  return head;
}

// ---------------------------------------------------------------------------------------
// Bounce: RFC 3464.

struct FailedRecipient {
  std::string address;
  std::string action;
  std::string status;
  std::string diagnostic;  // "type; text", one safe line (UTF-8), may be empty
};

// "smtp; " in front of a diagnostic that has no "type;" of its own.
std::string WithDiagnosticType(std::string diag) {
  if (diag.empty()) return diag;
  size_t semi = diag.find(';');
  if (semi != std::string::npos && semi > 0 && semi < 16) {
    bool token = true;
    for (size_t i = 0; i < semi; ++i) {
      char c = diag[i];
      token = token && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-');
    }
    if (token) return diag;
  }
  return "smtp; " + diag;
}

StatusOr<std::string> BuildBounce(const nlohmann::json& event, const nlohmann::json& mail,
                                  const ForwardOptions& o, const std::string& hostname,
                                  const std::string& to, const std::string& message_id) {
  const nlohmann::json* bounce = Obj(event, "bounce");
  if (bounce == nullptr) return InvalidArgumentError("Bounce event without a bounce object");
  const nlohmann::json* list = Arr(*bounce, "bouncedRecipients");
  if (list == nullptr) return InvalidArgumentError("Bounce event without bouncedRecipients");
  const bool permanent = Str(*bounce, "bounceType") == "Permanent";
  std::vector<FailedRecipient> recipients;
  for (const nlohmann::json& r : *list) {
    if (recipients.size() >= feedback::kMaxReportRecipients) break;
    std::optional<std::string> address = AddressOf(Str(r, "emailAddress"));
    if (!address) continue;
    FailedRecipient f;
    f.address = *address;
    f.action = AsciiLower(TrimWhitespace(Str(r, "action")));
    bool known_action = false;
    for (std::string_view a : kDsnActions) known_action = known_action || f.action == a;
    if (!known_action) f.action = "failed";
    std::string status(TrimWhitespace(Str(r, "status")));
    f.status = feedback::ParseEnhancedStatus(status) ? status : (permanent ? "5.0.0" : "4.0.0");
    f.diagnostic =
        WithDiagnosticType(OneLine(Str(r, "diagnosticCode"), feedback::kMaxDiagnosticBytes));
    recipients.push_back(std::move(f));
  }
  if (recipients.empty()) return InvalidArgumentError("Bounce event names no usable recipient");

  ASSIGN_OR_RETURN(Original orig, ReadOriginal(mail, hostname));

  // The human-readable part.
  bool all_delayed = true;
  for (const FailedRecipient& f : recipients) all_delayed = all_delayed && f.action == "delayed";
  std::vector<std::string> text = {"This is the mail system at " + hostname + ".", ""};
  text.push_back(all_delayed
                     ? "Your message has not yet been delivered to one or more of its recipients."
                     : "Your message could not be delivered to one or more of its recipients.");
  text.push_back("");
  text.push_back("The message:");
  DescribeOriginal(orig, &text);
  text.push_back("");
  text.push_back("The recipients it failed for:");
  for (const FailedRecipient& f : recipients) {
    text.push_back("");
    text.push_back("  " + f.address);
    text.push_back("    Action: " + f.action + ", status " + f.status);
    if (!f.diagnostic.empty()) text.push_back("    " + f.diagnostic);
  }
  text.push_back("");
  text.push_back("The delivery status report and the message's header fields are attached.");
  if (orig.headers_truncated) text.push_back("The header fields shown are incomplete.");

  // The message/delivery-status part.
  std::string status;
  const std::string reporting = [&] {
    const std::string v = Str(*bounce, "reportingMTA");
    size_t semi = v.find(';');
    if (semi != std::string::npos && semi < 16) {
      std::string type = AsciiLower(TrimWhitespace(std::string_view(v).substr(0, semi)));
      std::optional<std::string> host =
          HostName(TrimWhitespace(std::string_view(v).substr(semi + 1)));
      if ((type == "dns" || type == "dsn") && host) return "dns; " + *host;
    }
    return "dns; " + hostname;
  }();
  RETURN_IF_ERROR(AppendField(&status, "Reporting-MTA", reporting));
  if (!orig.sent.empty()) RETURN_IF_ERROR(AppendField(&status, "Arrival-Date", orig.sent));
  const std::string attempted = Rfc5322DateOf(Str(*bounce, "timestamp"));
  for (const FailedRecipient& f : recipients) {
    status += "\r\n";
    RETURN_IF_ERROR(AppendField(&status, "Final-Recipient", "rfc822; " + f.address));
    RETURN_IF_ERROR(AppendField(&status, "Action", f.action));
    RETURN_IF_ERROR(AppendField(&status, "Status", f.status));
    if (!f.diagnostic.empty()) {
      RETURN_IF_ERROR(AppendField(&status, "Diagnostic-Code", AsciiOnly(f.diagnostic)));
    }
    if (!attempted.empty()) RETURN_IF_ERROR(AppendField(&status, "Last-Attempt-Date", attempted));
  }

  ASSIGN_OR_RETURN(std::string head,
                   TopFields("MAILER-DAEMON@" + hostname, to,
                             "Delivery Status Notification (Failure)", o, message_id));
  std::vector<Part> parts;
  std::string body = TextBody(text);
  parts.push_back(
      {IsAscii(body) ? "text/plain; charset=us-ascii" : "text/plain; charset=utf-8", body});
  parts.push_back({"message/delivery-status", std::move(status)});
  parts.push_back({"text/rfc822-headers", std::move(orig.headers)});
  return Assemble(std::move(head), "delivery-status", parts, message_id);
}

// ---------------------------------------------------------------------------------------
// Complaint: RFC 5965.

StatusOr<std::string> BuildComplaint(const nlohmann::json& event, const nlohmann::json& mail,
                                     const ForwardOptions& o, const std::string& hostname,
                                     const std::string& to, const std::string& message_id) {
  const nlohmann::json* complaint = Obj(event, "complaint");
  if (complaint == nullptr) {
    return InvalidArgumentError("Complaint event without a complaint object");
  }
  const nlohmann::json* list = Arr(*complaint, "complainedRecipients");
  if (list == nullptr) {
    return InvalidArgumentError("Complaint event without complainedRecipients");
  }
  std::vector<std::string> recipients;
  for (const nlohmann::json& r : *list) {
    if (recipients.size() >= feedback::kMaxReportRecipients) break;
    if (std::optional<std::string> a = AddressOf(Str(r, "emailAddress"))) {
      recipients.push_back(*a);
    }
  }
  if (recipients.empty()) {
    return InvalidArgumentError("Complaint event names no usable recipient");
  }
  std::string type = AsciiLower(TrimWhitespace(Str(*complaint, "complaintFeedbackType")));
  bool registered = false;
  for (std::string_view t : kFeedbackTypes) registered = registered || type == t;
  if (!registered) type = "abuse";
  std::string agent = AsciiOnly(OneLine(Str(*complaint, "userAgent"), kMaxShortValue));
  if (agent.empty()) agent = "herald";
  const std::string arrival = Rfc5322DateOf(Str(*complaint, "arrivalDate"));

  ASSIGN_OR_RETURN(Original orig, ReadOriginal(mail, hostname));

  std::vector<std::string> text = {
      "This is an email feedback report (feedback type \"" + type + "\") from " + hostname + ".",
      ""};
  text.push_back(recipients.size() == 1 ? "A recipient of your message complained about it."
                                        : "Recipients of your message complained about it.");
  text.push_back("");
  text.push_back("The message:");
  DescribeOriginal(orig, &text);
  text.push_back("");
  text.push_back("Complaining recipients:");
  for (const std::string& r : recipients) text.push_back("  " + r);
  text.push_back("");
  text.push_back("The feedback report and the message's header fields are attached.");
  if (orig.headers_truncated) text.push_back("The header fields shown are incomplete.");

  std::string report;
  RETURN_IF_ERROR(AppendField(&report, "Feedback-Type", type));
  RETURN_IF_ERROR(AppendField(&report, "User-Agent", agent));
  RETURN_IF_ERROR(AppendField(&report, "Version", "1"));
  if (!orig.source.empty()) {
    RETURN_IF_ERROR(AppendField(&report, "Original-Mail-From", "<" + orig.source + ">"));
  }
  for (const std::string& r : recipients) {
    RETURN_IF_ERROR(AppendField(&report, "Original-Rcpt-To", "<" + r + ">"));
  }
  if (!arrival.empty()) RETURN_IF_ERROR(AppendField(&report, "Arrival-Date", arrival));
  RETURN_IF_ERROR(AppendField(&report, "Reporting-MTA", "dns; " + hostname));

  ASSIGN_OR_RETURN(std::string head,
                   TopFields("complaints@" + hostname, to,
                             "Complaint about message: " +
                                 (orig.subject.empty() ? "(no subject)" : orig.subject),
                             o, message_id));
  std::vector<Part> parts;
  std::string body = TextBody(text);
  parts.push_back(
      {IsAscii(body) ? "text/plain; charset=us-ascii" : "text/plain; charset=utf-8", body});
  parts.push_back({"message/feedback-report", std::move(report)});
  parts.push_back({"text/rfc822-headers", std::move(orig.headers)});
  return Assemble(std::move(head), "feedback-report", parts, message_id);
}

}  // namespace

StatusOr<std::string> BuildFeedbackForward(const nlohmann::json& event, const ForwardOptions& o) {
  std::optional<std::string> hostname = HostName(o.hostname);
  if (!hostname) return InvalidArgumentError("hostname is not a host name");
  if (o.to.size() > kMaxAddressInput) return InvalidArgumentError("unusable To address");
  StatusOr<mail::Mailbox> to = mail::ParseMailbox(o.to);
  if (!to.ok()) return InvalidArgumentError("unusable To address: " + to.status().message());
  const std::string to_field = mail::FormatMailbox(*to);
  for (char c : to_field) {
    if (c == '\r' || c == '\n' || c == '\0') return InvalidArgumentError("unusable To address");
  }

  if (!event.is_object()) return InvalidArgumentError("event is not a JSON object");
  std::string type = Str(event, "eventType");
  if (type.empty()) type = Str(event, "notificationType");  // SES identity notifications
  if (type != "Bounce" && type != "Complaint") {
    return InvalidArgumentError("only Bounce and Complaint events are forwarded");
  }
  const nlohmann::json* mail = Obj(event, "mail");
  if (mail == nullptr) return InvalidArgumentError("event without a mail object");

  std::string message_id = o.message_id;
  if (message_id.empty()) {
    const nlohmann::json* detail = Obj(event, type == "Bounce" ? "bounce" : "complaint");
    std::string seed = type + "/" + Str(*mail, "messageId") + "/" +
                       (detail != nullptr ? Str(*detail, "feedbackId") : std::string()) + "/" +
                       FormatIso8601Millis(o.now);
    message_id = Sha256Hex(seed).substr(0, 40) + "@" + *hostname;
  }
  if (!IsPlainMessageId(message_id)) return InvalidArgumentError("message_id is not usable");

  if (type == "Bounce") return BuildBounce(event, *mail, o, *hostname, to_field, message_id);
  return BuildComplaint(event, *mail, o, *hostname, to_field, message_id);
}

}  // namespace herald::sending
