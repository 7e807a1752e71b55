#include "smtp/smtp_path.h"

#include "mail/address.h"

#include "base/strings.h"

namespace herald::smtp {
namespace {

bool IsLetDig(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
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

// The syntax is mail::ParseSmtpPath's (one parser for paths in herald); SMTP adds only
// its refusal of address literals.
StatusOr<std::string> ParseSmtpPath(std::string_view text, bool allow_empty) {
  if (text.size() > kMaxAddressLength + kMaxDomainLength + 2) {
    return InvalidArgumentError("path too long");
  }
  StatusOr<mail::Mailbox> m = mail::ParseSmtpPath(text, allow_empty);
  if (!m.ok()) return m.status();
  const std::string& domain = m->domain;
  if (m->local.empty() && domain.empty()) return std::string();
  if (!domain.empty() && domain[0] == '[') {
    return InvalidArgumentError("address literals are not accepted");
  }
  return m->Address();
}

}  // namespace herald::smtp
