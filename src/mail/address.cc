#include "mail/address.h"

#include <arpa/inet.h>
#include <idn2.h>

#include <cstring>

#include "base/strings.h"

namespace herald::mail {
namespace {

constexpr size_t kMaxLocalPart = 64;      // RFC 5321 section 4.5.3.1.1
constexpr size_t kMaxDomain = 255;        // RFC 5321 section 4.5.3.1.2
constexpr size_t kMaxLabel = 63;          // RFC 1035 section 2.3.4
constexpr size_t kMaxAddress = 320;       // SES's limit on a whole address
constexpr size_t kMaxDomainInput = 1024;  // before IDN conversion

bool IsAtext(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != '\0';
}
bool IsWsp(char c) { return c == ' ' || c == '\t'; }

std::string Quote(std::string_view s) {
  std::string out = "'";
  // Error messages quote hostile input: keep it short.
  if (s.size() > 80) {
    out.append(s.substr(0, 80));
    out += "...";
  } else {
    out.append(s);
  }
  out += "'";
  return out;
}

// CR, LF and other control characters are refused before any parsing, with a clear message.
Status CheckControlChars(std::string_view text) {
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == '\r' || c == '\n') return InvalidArgumentError("CR or LF in address");
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return InvalidArgumentError("control character in address");
    }
  }
  return Status::Ok();
}

Status ValidateHostName(std::string_view ascii) {
  if (ascii.empty()) return InvalidArgumentError("empty domain");
  if (ascii.size() > kMaxDomain) return InvalidArgumentError("domain longer than 255 octets");
  size_t label_start = 0;
  size_t labels = 0;
  bool last_all_digits = true;
  for (size_t i = 0; i <= ascii.size(); ++i) {
    if (i == ascii.size() || ascii[i] == '.') {
      size_t len = i - label_start;
      if (len == 0) return InvalidArgumentError("empty label in domain " + Quote(ascii));
      if (len > kMaxLabel) {
        return InvalidArgumentError("domain label longer than 63 octets in " + Quote(ascii));
      }
      if (ascii[label_start] == '-' || ascii[i - 1] == '-') {
        return InvalidArgumentError("domain label starts or ends with '-' in " + Quote(ascii));
      }
      last_all_digits = true;
      for (size_t k = label_start; k < i; ++k) {
        if (ascii[k] < '0' || ascii[k] > '9') last_all_digits = false;
      }
      ++labels;
      label_start = i + 1;
      continue;
    }
    char c = ascii[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) {
      return InvalidArgumentError("invalid character in domain " + Quote(ascii));
    }
  }
  if (labels < 2) {
    return InvalidArgumentError("domain " + Quote(ascii) + " has no dot (not a public host name)");
  }
  if (last_all_digits) {
    return InvalidArgumentError("top-level label of domain " + Quote(ascii) +
                                " is all digits (use a literal such as [192.0.2.1])");
  }
  return Status::Ok();
}

StatusOr<std::string> NormalizeLiteral(std::string_view literal) {
  if (literal.size() < 2 || literal.back() != ']') {
    return InvalidArgumentError("unterminated domain literal");
  }
  std::string inner(literal.substr(1, literal.size() - 2));
  unsigned char buf[16];
  if (StartsWithIgnoreCase(inner, "IPv6:")) {
    std::string addr = inner.substr(5);
    if (inet_pton(AF_INET6, addr.c_str(), buf) != 1) {
      return InvalidArgumentError("invalid IPv6 address literal " + Quote(literal));
    }
    return "[IPv6:" + AsciiLower(addr) + "]";
  }
  if (inet_pton(AF_INET, inner.c_str(), buf) != 1) {
    return InvalidArgumentError("invalid address literal " + Quote(literal));
  }
  return "[" + inner + "]";
}

// ---- RFC 5322 lexer -------------------------------------------------------------------

struct Token {
  enum Kind { kEnd, kAtom, kDot, kQuoted, kLiteral, kSpecial };
  Kind kind = kEnd;
  char special = 0;
  size_t begin = 0;  // raw extent in the input
  size_t end = 0;
  std::string text;  // quoted-string content with quoted-pairs resolved
  bool ws_before = false;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  size_t pos() const { return pos_; }
  void set_pos(size_t p) { pos_ = p; }
  std::string_view Raw(size_t b, size_t e) const { return s_.substr(b, e - b); }

  Status Next(Token* t) {
    *t = Token();
    bool ws = false;
    RETURN_IF_ERROR(SkipCfws(&ws));
    t->ws_before = ws;
    t->begin = pos_;
    if (pos_ >= s_.size()) {
      t->end = pos_;
      return Status::Ok();
    }
    unsigned char c = static_cast<unsigned char>(s_[pos_]);
    if (IsAtext(c) || c >= 0x80) {
      while (pos_ < s_.size() && (IsAtext(static_cast<unsigned char>(s_[pos_])) ||
                                  static_cast<unsigned char>(s_[pos_]) >= 0x80)) {
        ++pos_;
      }
      t->kind = Token::kAtom;
    } else if (c == '.') {
      ++pos_;
      t->kind = Token::kDot;
    } else if (c == '"') {
      RETURN_IF_ERROR(QuotedString(t));
    } else if (c == '[') {
      ++pos_;
      while (pos_ < s_.size() && s_[pos_] != ']') {
        unsigned char d = static_cast<unsigned char>(s_[pos_]);
        if (d < 33 || d > 126 || d == '[' || d == '\\') {
          return InvalidArgumentError("invalid character in domain literal");
        }
        ++pos_;
      }
      if (pos_ >= s_.size()) return InvalidArgumentError("unterminated domain literal");
      ++pos_;
      t->kind = Token::kLiteral;
    } else if (std::strchr("<>@,;:", c) != nullptr) {
      ++pos_;
      t->kind = Token::kSpecial;
      t->special = static_cast<char>(c);
    } else {
      return InvalidArgumentError(std::string("unexpected character '") + static_cast<char>(c) +
                                  "' in address");
    }
    t->end = pos_;
    return Status::Ok();
  }

  Status Peek(Token* t) {
    size_t save = pos_;
    Status st = Next(t);
    pos_ = save;
    return st;
  }

 private:
  Status SkipCfws(bool* ws) {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (IsWsp(c)) {
        *ws = true;
        ++pos_;
      } else if (c == '(') {
        // Comments nest (RFC 5322 section 3.2.2); a counter, not recursion.
        *ws = true;
        size_t depth = 0;
        while (true) {
          if (pos_ >= s_.size()) return InvalidArgumentError("unterminated comment in address");
          char d = s_[pos_++];
          if (d == '\\') {
            if (pos_ >= s_.size()) return InvalidArgumentError("unterminated comment in address");
            ++pos_;
          } else if (d == '(') {
            ++depth;
          } else if (d == ')') {
            if (--depth == 0) break;
          }
        }
      } else {
        break;
      }
    }
    return Status::Ok();
  }

  Status QuotedString(Token* t) {
    ++pos_;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) return InvalidArgumentError("unterminated quoted string in address");
      char c = s_[pos_++];
      if (c == '"') break;
      if (c == '\\') {
        if (pos_ >= s_.size()) {
          return InvalidArgumentError("unterminated quoted string in address");
        }
        t->text += s_[pos_++];
      } else {
        t->text += c;
      }
    }
    t->kind = Token::kQuoted;
    return Status::Ok();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

bool IsSpecial(const Token& t, char c) { return t.kind == Token::kSpecial && t.special == c; }

std::string DescribeToken(const Token& t) {
  if (t.kind == Token::kEnd) return "end of input";
  if (t.kind == Token::kSpecial) return std::string("'") + t.special + "'";
  return "text";
}

// A dot-atom (no CFWS inside). `first` is its first token, already consumed.
Status DotAtom(Lexer& lex, const Token& first, const char* what, size_t* end) {
  if (first.kind != Token::kAtom) {
    return InvalidArgumentError(std::string(what) + " starts with a dot");
  }
  *end = first.end;
  while (true) {
    Token dot;
    RETURN_IF_ERROR(lex.Peek(&dot));
    if (dot.kind != Token::kDot) return Status::Ok();
    if (dot.ws_before) return InvalidArgumentError(std::string("space before '.' in ") + what);
    RETURN_IF_ERROR(lex.Next(&dot));
    Token atom;
    RETURN_IF_ERROR(lex.Next(&atom));
    if (atom.kind != Token::kAtom || atom.ws_before) {
      return InvalidArgumentError(std::string("empty part between dots or trailing dot in ") +
                                  what);
    }
    *end = atom.end;
  }
}

Status ValidateLocal(std::string_view local, bool quoted, std::string_view quoted_content) {
  if (local.empty() || (quoted && quoted_content.empty())) {
    return InvalidArgumentError("empty local part");
  }
  if (local.size() > kMaxLocalPart) {
    return InvalidArgumentError("local part longer than 64 octets");
  }
  for (char c : local) {
    if (static_cast<unsigned char>(c) >= 0x80) {
      return InvalidArgumentError("non-ASCII local part " + Quote(local) +
                                  " (SMTPUTF8 is not supported)");
    }
  }
  return Status::Ok();
}

Status Finish(Mailbox* mb) {
  if (mb->local.size() + 1 + mb->domain.size() > kMaxAddress) {
    return InvalidArgumentError("address longer than 320 octets");
  }
  return Status::Ok();
}

Status AddrSpec(Lexer& lex, Mailbox* mb) {
  Token t;
  RETURN_IF_ERROR(lex.Next(&t));
  if (IsSpecial(t, '@')) return InvalidArgumentError("empty local part");
  if (t.kind == Token::kQuoted) {
    mb->local = std::string(lex.Raw(t.begin, t.end));
    RETURN_IF_ERROR(ValidateLocal(mb->local, true, t.text));
  } else if (t.kind == Token::kAtom || t.kind == Token::kDot) {
    size_t end;
    RETURN_IF_ERROR(DotAtom(lex, t, "local part", &end));
    mb->local = std::string(lex.Raw(t.begin, end));
    RETURN_IF_ERROR(ValidateLocal(mb->local, false, {}));
  } else {
    return InvalidArgumentError("expected an address, found " + DescribeToken(t));
  }
  Token at;
  RETURN_IF_ERROR(lex.Next(&at));
  if (!IsSpecial(at, '@')) {
    return InvalidArgumentError("missing '@' in address after " + Quote(mb->local));
  }
  Token d;
  RETURN_IF_ERROR(lex.Next(&d));
  std::string_view raw_domain;
  if (d.kind == Token::kLiteral) {
    raw_domain = lex.Raw(d.begin, d.end);
  } else if (d.kind == Token::kAtom || d.kind == Token::kDot) {
    size_t end;
    RETURN_IF_ERROR(DotAtom(lex, d, "domain", &end));
    raw_domain = lex.Raw(d.begin, end);
  } else {
    return InvalidArgumentError("missing domain after '@'");
  }
  ASSIGN_OR_RETURN(mb->domain, NormalizeDomain(raw_domain));
  return Finish(mb);
}

std::string PhraseText(Lexer& lex, const std::vector<Token>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    const Token& w = words[i];
    if (i > 0 && w.ws_before) out += ' ';
    if (w.kind == Token::kQuoted) {
      out += w.text;
    } else {
      out += lex.Raw(w.begin, w.end);
    }
  }
  return DecodeEncodedWords(out);
}

// angle-addr after '<': [obs-route] addr-spec '>'.
Status AngleAddr(Lexer& lex, Mailbox* mb) {
  Token t;
  RETURN_IF_ERROR(lex.Peek(&t));
  if (IsSpecial(t, '>')) return InvalidArgumentError("empty address '<>'");
  if (IsSpecial(t, '@')) {
    // obs-route ("@a.example,@b.example:"): accepted and dropped.
    while (true) {
      RETURN_IF_ERROR(lex.Next(&t));
      if (IsSpecial(t, ':')) break;
      if (t.kind == Token::kEnd || IsSpecial(t, '>') || IsSpecial(t, '<') || IsSpecial(t, ';') ||
          t.kind == Token::kQuoted) {
        return InvalidArgumentError("malformed source route in address");
      }
    }
  }
  RETURN_IF_ERROR(AddrSpec(lex, mb));
  RETURN_IF_ERROR(lex.Next(&t));
  if (!IsSpecial(t, '>')) return InvalidArgumentError("missing '>' after address");
  return Status::Ok();
}

// mailbox, or (when allow_group) group; appends to *out.
Status Address(Lexer& lex, bool allow_group, std::vector<Mailbox>* out) {
  size_t start = lex.pos();
  std::vector<Token> words;
  Token t;
  while (true) {
    RETURN_IF_ERROR(lex.Peek(&t));
    if (t.kind != Token::kAtom && t.kind != Token::kQuoted && t.kind != Token::kDot) break;
    RETURN_IF_ERROR(lex.Next(&t));
    words.push_back(std::move(t));
  }
  RETURN_IF_ERROR(lex.Peek(&t));
  if (IsSpecial(t, '<')) {
    RETURN_IF_ERROR(lex.Next(&t));
    Mailbox mb;
    RETURN_IF_ERROR(AngleAddr(lex, &mb));
    mb.display_name = PhraseText(lex, words);
    out->push_back(std::move(mb));
    return Status::Ok();
  }
  if (IsSpecial(t, '@')) {
    lex.set_pos(start);
    Mailbox mb;
    RETURN_IF_ERROR(AddrSpec(lex, &mb));
    out->push_back(std::move(mb));
    return Status::Ok();
  }
  if (IsSpecial(t, ':') && allow_group && !words.empty()) {
    RETURN_IF_ERROR(lex.Next(&t));
    while (true) {
      RETURN_IF_ERROR(lex.Peek(&t));
      if (IsSpecial(t, ';')) {
        RETURN_IF_ERROR(lex.Next(&t));
        return Status::Ok();
      }
      if (IsSpecial(t, ',')) {
        RETURN_IF_ERROR(lex.Next(&t));
        continue;
      }
      if (t.kind == Token::kEnd) return InvalidArgumentError("group not terminated by ';'");
      RETURN_IF_ERROR(Address(lex, false, out));
      RETURN_IF_ERROR(lex.Peek(&t));
      if (!IsSpecial(t, ',') && !IsSpecial(t, ';')) {
        return InvalidArgumentError("expected ',' or ';' in group, found " + DescribeToken(t));
      }
    }
  }
  if (words.empty()) {
    return InvalidArgumentError("expected an address, found " + DescribeToken(t));
  }
  if (t.kind == Token::kEnd || IsSpecial(t, ',') || IsSpecial(t, ';')) {
    return InvalidArgumentError("missing '@' in address " +
                                Quote(lex.Raw(words.front().begin, words.back().end)));
  }
  return InvalidArgumentError("unexpected " + DescribeToken(t) + " in address");
}

}  // namespace

std::string Mailbox::Canonical() const { return AsciiLower(Address()); }

StatusOr<std::string> NormalizeDomain(std::string_view domain) {
  if (domain.empty()) return InvalidArgumentError("empty domain");
  if (domain.size() > kMaxDomainInput) return InvalidArgumentError("domain too long");
  for (char ch : domain) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return InvalidArgumentError("control character in domain");
  }
  if (domain.front() == '[') return NormalizeLiteral(domain);
  bool ascii = true;
  for (char c : domain) {
    if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
  }
  std::string out;
  if (ascii) {
    out = AsciiLower(domain);
  } else {
    std::string input(domain);
    char* converted = nullptr;
    int rc = idn2_to_ascii_8z(input.c_str(), &converted, IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      idn2_free(converted);
      converted = nullptr;
      rc = idn2_to_ascii_8z(input.c_str(), &converted, IDN2_TRANSITIONAL);
    }
    if (rc != IDN2_OK) {
      idn2_free(converted);
      return InvalidArgumentError(std::string("invalid internationalized domain: ") +
                                  idn2_strerror(rc));
    }
    out = AsciiLower(converted);
    idn2_free(converted);
  }
  RETURN_IF_ERROR(ValidateHostName(out));
  return out;
}

StatusOr<Mailbox> ParseMailbox(std::string_view text) {
  RETURN_IF_ERROR(CheckControlChars(text));
  if (TrimWhitespace(text).empty()) return InvalidArgumentError("empty address");
  Lexer lex(text);
  std::vector<Mailbox> out;
  RETURN_IF_ERROR(Address(lex, false, &out));
  Token t;
  RETURN_IF_ERROR(lex.Next(&t));
  if (t.kind != Token::kEnd) {
    return InvalidArgumentError("unexpected " + DescribeToken(t) +
                                " after the address (only one address is allowed)");
  }
  HERALD_CHECK(out.size() == 1);
  return std::move(out.front());
}

StatusOr<std::vector<Mailbox>> ParseAddressList(std::string_view text) {
  RETURN_IF_ERROR(CheckControlChars(text));
  Lexer lex(text);
  std::vector<Mailbox> out;
  Token t;
  while (true) {
    RETURN_IF_ERROR(lex.Peek(&t));
    if (IsSpecial(t, ',')) {
      RETURN_IF_ERROR(lex.Next(&t));
      continue;
    }
    if (t.kind == Token::kEnd) break;
    RETURN_IF_ERROR(Address(lex, true, &out));
    RETURN_IF_ERROR(lex.Peek(&t));
    if (t.kind == Token::kEnd) break;
    if (!IsSpecial(t, ',')) {
      return InvalidArgumentError("expected ',' between addresses, found " + DescribeToken(t));
    }
  }
  return out;
}

StatusOr<Mailbox> ParseSmtpPath(std::string_view text, bool allow_empty) {
  RETURN_IF_ERROR(CheckControlChars(text));
  std::string_view s = TrimWhitespace(text);
  if (s.size() < 2 || s.front() != '<' || s.back() != '>') {
    return InvalidArgumentError("path must be enclosed in '<' and '>'");
  }
  s = s.substr(1, s.size() - 2);
  if (s.empty()) {
    if (allow_empty) return Mailbox{};
    return InvalidArgumentError("empty path '<>' is not allowed here");
  }
  size_t i = 0;
  if (s[0] == '@') {
    // A-d-l ":" (source route): each hop is checked, then dropped.
    while (true) {
      if (i >= s.size() || s[i] != '@') return InvalidArgumentError("malformed source route");
      size_t j = i + 1;
      while (j < s.size() && s[j] != ',' && s[j] != ':') ++j;
      if (j >= s.size()) return InvalidArgumentError("malformed source route");
      StatusOr<std::string> hop = NormalizeDomain(s.substr(i + 1, j - i - 1));
      if (!hop.ok())
        return InvalidArgumentError("malformed source route: " + hop.status().message());
      i = j + 1;
      if (s[j] == ':') break;
    }
  }
  Mailbox mb;
  size_t local_start = i;
  if (i < s.size() && s[i] == '"') {
    ++i;
    bool closed = false;
    size_t content = 0;
    while (i < s.size()) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (c == '\\') {
        if (i + 1 >= s.size()) break;
        unsigned char n = static_cast<unsigned char>(s[i + 1]);
        if (n < 32 || n > 126) return InvalidArgumentError("invalid quoted pair in local part");
        i += 2;
      } else if (c >= 32 && c <= 126) {
        ++i;
      } else if (c >= 0x80) {
        return InvalidArgumentError("non-ASCII local part (SMTPUTF8 is not supported)");
      } else {
        return InvalidArgumentError("invalid character in quoted local part");
      }
      ++content;
    }
    if (!closed) return InvalidArgumentError("unterminated quoted local part");
    if (content == 0) return InvalidArgumentError("empty local part");
  } else {
    bool need_atom = true;
    while (i < s.size() && s[i] != '@') {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '.') {
        if (need_atom) return InvalidArgumentError("empty part between dots in local part");
        need_atom = true;
      } else if (IsAtext(c)) {
        need_atom = false;
      } else if (c >= 0x80) {
        return InvalidArgumentError("non-ASCII local part (SMTPUTF8 is not supported)");
      } else {
        return InvalidArgumentError(std::string("invalid character '") + static_cast<char>(c) +
                                    "' in local part");
      }
      ++i;
    }
    if (i == local_start) {
      return InvalidArgumentError(i < s.size() ? "empty local part" : "missing '@' in address");
    }
    if (need_atom) return InvalidArgumentError("local part ends with a dot");
  }
  mb.local = std::string(s.substr(local_start, i - local_start));
  if (mb.local.size() > kMaxLocalPart)
    return InvalidArgumentError("local part longer than 64 octets");
  if (i >= s.size() || s[i] != '@') return InvalidArgumentError("missing '@' in address");
  ASSIGN_OR_RETURN(mb.domain, NormalizeDomain(s.substr(i + 1)));
  RETURN_IF_ERROR(Finish(&mb));
  return mb;
}

StatusOr<std::vector<Mailbox>> HeaderAddresses(const ParsedMessage& msg,
                                               std::string_view field_name) {
  std::vector<Mailbox> out;
  for (const HeaderField* f : msg.FindAll(field_name)) {
    StatusOr<std::vector<Mailbox>> list = ParseAddressList(f->value);
    if (!list.ok()) {
      return InvalidArgumentError("invalid " + f->name +
                                  " header field: " + list.status().message());
    }
    for (Mailbox& m : *list) out.push_back(std::move(m));
  }
  return out;
}

std::string FormatMailbox(const Mailbox& mailbox) {
  if (mailbox.display_name.empty()) return mailbox.Address();
  bool ascii = true;
  bool plain = true;  // only atext and single inner spaces: no quoting needed
  const std::string& name = mailbox.display_name;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c >= 0x80) ascii = false;
    if (!IsAtext(c) && c != ' ') plain = false;
  }
  if (name.front() == ' ' || name.back() == ' ' || name.find("  ") != std::string::npos ||
      name.find("=?") != std::string::npos) {
    plain = false;
  }
  std::string out;
  if (!ascii) {
    out = EncodeHeaderValue(name);
  } else if (plain) {
    out = name;
  } else {
    out = "\"";
    for (char c : name) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  out += " <";
  out += mailbox.Address();
  out += ">";
  return out;
}

}  // namespace herald::mail
