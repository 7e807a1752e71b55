#include "smtp/smtp_path.h"

#include "base/strings.h"

namespace herald::smtp {
namespace {

bool IsAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsLetDig(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ValidDotString(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!IsAtext(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

// A quoted string including its quotes; qtextSMTP or quoted-pairSMTP inside.
bool ValidQuotedString(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      if (i + 2 >= s.size()) return false;  // the backslash would escape the closing quote
      const unsigned char n = static_cast<unsigned char>(s[i + 1]);
      if (n < 32 || n > 126) return false;
      ++i;
      continue;
    }
    if (c < 32 || c > 126 || c == '"') return false;
  }
  return true;
}

// Finds the '@' that separates local part and domain: the last one outside quotes.
size_t FindSeparator(std::string_view mailbox) {
  if (!mailbox.empty() && mailbox.front() == '"') {
    bool escaped = false;
    for (size_t i = 1; i < mailbox.size(); ++i) {
      const char c = mailbox[i];
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        return (i + 1 < mailbox.size() && mailbox[i + 1] == '@') ? i + 1 : std::string_view::npos;
      }
    }
    return std::string_view::npos;
  }
  return mailbox.find('@');
}

}  // namespace

bool IsValidHostName(std::string_view domain) {
  if (domain.empty() || domain.size() > kMaxDomainLength) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    const std::string_view label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (!IsLetDig(label.front()) || !IsLetDig(label.back())) return false;
    for (char c : label) {
      if (!IsLetDig(c) && c != '-') return false;
    }
    start = dot + 1;
    if (dot == domain.size()) break;
  }
  return true;
}

StatusOr<std::string> ParseSmtpPath(std::string_view text, bool allow_empty) {
  if (text.size() < 2 || text.front() != '<' || text.back() != '>') {
    return InvalidArgumentError("path must be enclosed in <>");
  }
  std::string_view inner = text.substr(1, text.size() - 2);
  if (inner.empty()) {
    if (allow_empty) return std::string();
    return InvalidArgumentError("empty path");
  }
  if (inner.size() > kMaxAddressLength + kMaxDomainLength) {
    return InvalidArgumentError("path too long");
  }
  // Source route: "@a.example,@b.example:" before the mailbox.
  if (inner.front() == '@') {
    const size_t colon = inner.find(':');
    if (colon == std::string_view::npos) return InvalidArgumentError("bad source route");
    for (std::string_view hop : Split(inner.substr(0, colon), ',')) {
      if (hop.size() < 2 || hop.front() != '@' || !IsValidHostName(hop.substr(1))) {
        return InvalidArgumentError("bad source route");
      }
    }
    inner = inner.substr(colon + 1);
  }
  if (inner.size() > kMaxAddressLength) return InvalidArgumentError("address too long");
  const size_t at = FindSeparator(inner);
  if (at == std::string_view::npos || at == 0 || at + 1 >= inner.size()) {
    return InvalidArgumentError("address must be local-part@domain");
  }
  const std::string_view local = inner.substr(0, at);
  const std::string_view domain = inner.substr(at + 1);
  if (local.size() > kMaxLocalPartLength) return InvalidArgumentError("local part too long");
  if (local.front() == '"' ? !ValidQuotedString(local) : !ValidDotString(local)) {
    return InvalidArgumentError("invalid local part");
  }
  if (domain.front() == '[') return InvalidArgumentError("address literals are not accepted");
  if (!IsValidHostName(domain)) return InvalidArgumentError("invalid domain");
  std::string out;
  out.reserve(inner.size());
  out.append(local);
  out.push_back('@');
  out.append(AsciiLower(domain));
  return out;
}

}  // namespace herald::smtp
