#include "mail/mime_builder.h"

#include <array>

#include "base/crypto.h"
#include "base/strings.h"
#include "mail/address.h"
#include "mail/message.h"

namespace herald::mail {
namespace {

constexpr size_t kMaxLineLength = 998;
constexpr size_t kQpLine = 76;  // RFC 2045 section 6.7 rule 5
constexpr size_t kMaxFileName = 255;
constexpr int kBoundaryAttempts = 8;

constexpr std::array<std::string_view, 12> kReservedHeaders = {
    "From",     "To",         "Cc",           "Bcc",          "Subject",
    "Date",     "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
    "Reply-To", "Return-Path"};

struct Extension {
  std::string_view ext;
  std::string_view type;
};
constexpr Extension kExtensions[] = {
    {"pdf", "application/pdf"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"svg", "image/svg+xml"},
    {"bmp", "image/bmp"},
    {"tif", "image/tiff"},
    {"tiff", "image/tiff"},
    {"ico", "image/vnd.microsoft.icon"},
    {"txt", "text/plain"},
    {"htm", "text/html"},
    {"html", "text/html"},
    {"csv", "text/csv"},
    {"ics", "text/calendar"},
    {"vcf", "text/vcard"},
    {"md", "text/markdown"},
    {"xml", "application/xml"},
    {"json", "application/json"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"7z", "application/x-7z-compressed"},
    {"rtf", "application/rtf"},
    {"doc", "application/msword"},
    {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    {"xls", "application/vnd.ms-excel"},
    {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    {"ppt", "application/vnd.ms-powerpoint"},
    {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"mp4", "video/mp4"},
    {"mov", "video/quicktime"},
};

bool IsAscii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 32 || c >= 127 ||
        std::string_view("()<>@,;:\\\"/[]?=").find(ch) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// Refuses CR, LF and NUL in anything that ends up in a header, before any encoding could
// hide them.
Status CheckHeaderText(std::string_view what, std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n') return InvalidArgumentError("CR or LF in " + std::string(what));
    if (c == '\0') return InvalidArgumentError("NUL in " + std::string(what));
  }
  return Status::Ok();
}

Status AppendField(std::string* out, std::string_view name, std::string_view value) {
  ASSIGN_OR_RETURN(HeaderField f, MakeHeaderField(name, value));
  *out += f.raw;
  return Status::Ok();
}

// Bare CR and bare LF become CRLF.
std::string NormalizeLineEndings(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Quoted-printable: CRLF pairs are hard line breaks; every other byte outside printable
// ASCII (and '=') is escaped, as is whitespace before a line break. Encoded lines are at
// most 76 characters including the '=' of a soft break.
std::string QpEncode(std::string_view data) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(data.size() + data.size() / 8);
  size_t line_len = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    if (c == '\r' && i + 1 < data.size() && data[i + 1] == '\n') {
      out += "\r\n";
      line_len = 0;
      ++i;
      continue;
    }
    bool at_line_end =
        i + 1 == data.size() || (data[i + 1] == '\r' && i + 2 < data.size() && data[i + 2] == '\n');
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_line_end);
    size_t width = literal ? 1 : 3;
    if (line_len + width > kQpLine - 1) {
      out += "=\r\n";
      line_len = 0;
    }
    if (literal) {
      out += static_cast<char>(c);
    } else {
      out += '=';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
    line_len += width;
  }
  return out;
}

std::string Base64Folded(std::string_view data) {
  std::string b64 = Base64Encode(data);
  std::string out;
  out.reserve(b64.size() + b64.size() / 76 * 2);
  for (size_t i = 0; i < b64.size(); i += 76) {
    if (i > 0) out += "\r\n";
    out.append(b64, i, 76);
  }
  return out;
}

std::string DefaultContentType(std::string_view file_name) {
  size_t dot = file_name.rfind('.');
  if (dot != std::string_view::npos) {
    std::string ext = AsciiLower(file_name.substr(dot + 1));
    for (const Extension& e : kExtensions) {
      if (e.ext == ext) return std::string(e.type);
    }
  }
  return "application/octet-stream";
}

// RFC 2231 extended value: UTF-8''%XX for everything outside attr-char.
std::string Rfc2231Value(std::string_view utf8) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "UTF-8''";
  for (char ch : utf8) {
    unsigned char c = static_cast<unsigned char>(ch);
    bool attr_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     std::string_view("!#$&+-.^_`|~").find(ch) != std::string_view::npos;
    if (attr_char) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string QuotedString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// `param=value` for a file name: quoted when ASCII, RFC 2231 otherwise.
std::string FileNameParam(std::string_view param, std::string_view file_name) {
  if (IsAscii(file_name)) return std::string(param) + "=" + QuotedString(file_name);
  return std::string(param) + "*=" + Rfc2231Value(file_name);
}

struct Part {
  std::string headers;    // leaf: header lines, CRLF-terminated
  std::string body;       // leaf: encoded body
  std::string multipart;  // subtype when this is a multipart
  std::vector<Part> children;
};

Part TextPart(std::string_view subtype, std::string_view text) {
  Part p;
  p.headers = "Content-Type: text/" + std::string(subtype) +
              "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n";
  p.body = QpEncode(NormalizeLineEndings(text));
  return p;
}

Status CheckContentId(std::string_view id) {
  if (id.size() > 250) return InvalidArgumentError("attachment ContentId too long");
  for (char ch : id) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c <= 32 || c >= 127 || c == '<' || c == '>') {
      return InvalidArgumentError("invalid character in attachment ContentId");
    }
  }
  return Status::Ok();
}

StatusOr<Part> AttachmentPart(const Attachment& a, bool* is_inline) {
  if (a.file_name.empty()) return InvalidArgumentError("attachment FileName is required");
  if (a.file_name.size() > kMaxFileName) {
    return InvalidArgumentError("attachment FileName longer than 255 octets");
  }
  for (char ch : a.file_name) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgumentError("control character in attachment FileName");
    }
  }
  if (!IsValidUtf8(a.file_name)) {
    return InvalidArgumentError("attachment FileName is not valid UTF-8");
  }

  std::string content_type = a.content_type.empty() ? DefaultContentType(a.file_name)
                                                    : std::string(TrimWhitespace(a.content_type));
  RETURN_IF_ERROR(CheckHeaderText("attachment ContentType", content_type));
  if (!IsAscii(content_type)) return InvalidArgumentError("non-ASCII attachment ContentType");
  {
    std::string_view main = content_type;
    size_t semi = main.find(';');
    if (semi != std::string_view::npos) main = TrimWhitespace(main.substr(0, semi));
    size_t slash = main.find('/');
    if (slash == std::string_view::npos || !IsToken(main.substr(0, slash)) ||
        !IsToken(main.substr(slash + 1))) {
      return InvalidArgumentError("attachment ContentType is not type/subtype: " + content_type);
    }
    if (StartsWithIgnoreCase(main, "multipart/")) {
      return InvalidArgumentError("attachment ContentType cannot be multipart");
    }
  }

  std::string disposition = AsciiLower(a.disposition);
  if (disposition.empty()) disposition = "attachment";
  if (disposition != "attachment" && disposition != "inline") {
    return InvalidArgumentError("attachment ContentDisposition must be ATTACHMENT or INLINE");
  }
  *is_inline = disposition == "inline";

  Part p;
  RETURN_IF_ERROR(AppendField(&p.headers, "Content-Type",
                              content_type + "; " + FileNameParam("name", a.file_name)));
  RETURN_IF_ERROR(AppendField(&p.headers, "Content-Disposition",
                              disposition + "; " + FileNameParam("filename", a.file_name)));

  std::string encoding = AsciiUpper(a.transfer_encoding);
  if (encoding.empty() || encoding == "BASE64") {
    RETURN_IF_ERROR(AppendField(&p.headers, "Content-Transfer-Encoding", "base64"));
    p.body = Base64Folded(a.content);
  } else if (encoding == "QUOTED_PRINTABLE") {
    RETURN_IF_ERROR(AppendField(&p.headers, "Content-Transfer-Encoding", "quoted-printable"));
    p.body = QpEncode(a.content);
  } else if (encoding == "SEVEN_BIT") {
    std::string text = NormalizeLineEndings(a.content);
    size_t line_len = 0;
    for (char ch : text) {
      unsigned char c = static_cast<unsigned char>(ch);
      if (c >= 0x80 || c == 0) {
        return InvalidArgumentError("SEVEN_BIT attachment holds NUL or non-ASCII bytes");
      }
      if (c == '\n') {
        line_len = 0;
      } else if (c != '\r' && ++line_len > kMaxLineLength) {
        return InvalidArgumentError("SEVEN_BIT attachment has a line longer than 998 octets");
      }
    }
    RETURN_IF_ERROR(AppendField(&p.headers, "Content-Transfer-Encoding", "7bit"));
    p.body = std::move(text);
  } else {
    return InvalidArgumentError(
        "attachment ContentTransferEncoding must be BASE64, QUOTED_PRINTABLE or SEVEN_BIT");
  }
  if (!a.content_id.empty()) {
    RETURN_IF_ERROR(CheckContentId(a.content_id));
    RETURN_IF_ERROR(AppendField(&p.headers, "Content-ID", "<" + a.content_id + ">"));
  }
  if (!a.description.empty()) {
    RETURN_IF_ERROR(CheckHeaderText("attachment ContentDescription", a.description));
    RETURN_IF_ERROR(
        AppendField(&p.headers, "Content-Description", EncodeHeaderValue(a.description)));
  }
  return p;
}

Part Multipart(std::string subtype, std::vector<Part> children) {
  Part p;
  p.multipart = std::move(subtype);
  p.children = std::move(children);
  return p;
}

// Renders a part into its header lines and its body.
Status Render(const Part& part, std::string* headers, std::string* body) {
  if (part.multipart.empty()) {
    *headers = part.headers;
    *body = part.body;
    return Status::Ok();
  }
  std::vector<std::string> rendered;
  rendered.reserve(part.children.size());
  for (const Part& child : part.children) {
    std::string h, b;
    RETURN_IF_ERROR(Render(child, &h, &b));
    rendered.push_back(h + "\r\n" + b);
  }
  std::string boundary;
  for (int attempt = 0; attempt < kBoundaryAttempts && boundary.empty(); ++attempt) {
    // "=_" cannot occur in quoted-printable or base64 output; 7bit content is checked.
    std::string candidate = "=_herald_" + RandomBase64Url(24);
    bool clash = false;
    for (const std::string& r : rendered) {
      if (r.find(candidate) != std::string::npos) clash = true;
    }
    if (!clash) boundary = std::move(candidate);
  }
  if (boundary.empty()) return InternalError("could not choose a MIME boundary");
  headers->clear();
  RETURN_IF_ERROR(AppendField(headers, "Content-Type",
                              "multipart/" + part.multipart + "; boundary=\"" + boundary + "\""));
  body->clear();
  for (const std::string& r : rendered) {
    *body += "--" + boundary + "\r\n";
    *body += r;
    *body += "\r\n";
  }
  *body += "--" + boundary + "--\r\n";
  return Status::Ok();
}

StatusOr<std::string> AddressListValue(std::string_view field,
                                       const std::vector<std::string>& addresses) {
  std::string value;
  for (const std::string& a : addresses) {
    StatusOr<Mailbox> mb = ParseMailbox(a);
    if (!mb.ok()) {
      return InvalidArgumentError("invalid " + std::string(field) +
                                  " address: " + mb.status().message());
    }
    if (!value.empty()) value += ", ";
    value += FormatMailbox(*mb);
  }
  return value;
}

}  // namespace

StatusOr<std::string> BuildMime(const SimpleMessage& msg) {
  std::string head;
  {
    StatusOr<Mailbox> from = ParseMailbox(msg.from);
    if (!from.ok()) return InvalidArgumentError("invalid From address: " + from.status().message());
    RETURN_IF_ERROR(AppendField(&head, "From", FormatMailbox(*from)));
  }
  if (!msg.to.empty()) {
    ASSIGN_OR_RETURN(std::string to, AddressListValue("To", msg.to));
    RETURN_IF_ERROR(AppendField(&head, "To", to));
  }
  if (!msg.cc.empty()) {
    ASSIGN_OR_RETURN(std::string cc, AddressListValue("Cc", msg.cc));
    RETURN_IF_ERROR(AppendField(&head, "Cc", cc));
  }
  if (!msg.reply_to.empty()) {
    ASSIGN_OR_RETURN(std::string reply_to, AddressListValue("Reply-To", msg.reply_to));
    RETURN_IF_ERROR(AppendField(&head, "Reply-To", reply_to));
  }
  RETURN_IF_ERROR(CheckHeaderText("Subject", msg.subject));
  if (!IsValidUtf8(msg.subject)) return InvalidArgumentError("Subject is not valid UTF-8");
  RETURN_IF_ERROR(AppendField(&head, "Subject", EncodeHeaderValue(msg.subject)));
  if (!msg.date.empty()) {
    RETURN_IF_ERROR(CheckHeaderText("Date", msg.date));
    if (!IsAscii(msg.date)) return InvalidArgumentError("non-ASCII Date");
    RETURN_IF_ERROR(AppendField(&head, "Date", msg.date));
  }
  if (!msg.message_id.empty()) {
    RETURN_IF_ERROR(CheckContentId(msg.message_id));
    RETURN_IF_ERROR(AppendField(&head, "Message-ID", "<" + msg.message_id + ">"));
  }
  RETURN_IF_ERROR(AppendField(&head, "MIME-Version", "1.0"));
  for (const auto& [name, value] : msg.headers) {
    for (std::string_view reserved : kReservedHeaders) {
      if (EqualsIgnoreCase(name, reserved)) {
        return InvalidArgumentError("header " + name + " is set by herald and cannot be given");
      }
    }
    RETURN_IF_ERROR(CheckHeaderText("header " + name, value));
    if (!IsValidUtf8(value)) return InvalidArgumentError("header " + name + " is not valid UTF-8");
    RETURN_IF_ERROR(AppendField(&head, name, EncodeHeaderValue(value)));
  }
  if (!IsValidUtf8(msg.text) || !IsValidUtf8(msg.html)) {
    return InvalidArgumentError("message body is not valid UTF-8");
  }

  std::vector<Part> related_inline;
  std::vector<Part> mixed_attachments;
  for (const Attachment& a : msg.attachments) {
    bool is_inline = false;
    ASSIGN_OR_RETURN(Part p, AttachmentPart(a, &is_inline));
    if (is_inline && !a.content_id.empty() && !msg.html.empty()) {
      related_inline.push_back(std::move(p));
    } else {
      mixed_attachments.push_back(std::move(p));
    }
  }

  std::vector<Part> alternatives;
  if (!msg.text.empty()) alternatives.push_back(TextPart("plain", msg.text));
  if (!msg.html.empty()) {
    Part html = TextPart("html", msg.html);
    if (!related_inline.empty()) {
      std::vector<Part> children;
      children.push_back(std::move(html));
      for (Part& p : related_inline) children.push_back(std::move(p));
      html = Multipart("related", std::move(children));
    }
    alternatives.push_back(std::move(html));
  }
  if (alternatives.empty() && mixed_attachments.empty()) {
    alternatives.push_back(TextPart("plain", ""));
  }
  std::vector<Part> top_children;
  if (alternatives.size() == 2) {
    top_children.push_back(Multipart("alternative", std::move(alternatives)));
  } else if (alternatives.size() == 1) {
    top_children.push_back(std::move(alternatives.front()));
  }
  Part top;
  if (mixed_attachments.empty()) {
    top = std::move(top_children.front());
  } else {
    for (Part& p : mixed_attachments) top_children.push_back(std::move(p));
    top = Multipart("mixed", std::move(top_children));
  }

  std::string part_headers, body;
  RETURN_IF_ERROR(Render(top, &part_headers, &body));
  std::string out;
  out.reserve(head.size() + part_headers.size() + 2 + body.size());
  out += head;
  out += part_headers;
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace herald::mail
