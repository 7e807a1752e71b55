// smtp/smtp_path.h: RFC 5321 reverse-path and forward-path syntax ("<user@example.com>",
// "<>"), as written in MAIL FROM and RCPT TO.
//
// Contract: pure functions. ParseSmtpPath accepts exactly the bracketed path (without the
// command or the ESMTP parameters after it). It is mail::ParseSmtpPath (herald's one path
// parser) plus SMTP's own refusals. It follows RFC 5321 section 4.1.2 for 7-bit
// ASCII only (herald does not offer SMTPUTF8): dot-string or quoted-string local part of at
// most 64 octets, a host name of LDH labels (at most 63 octets each, 255 in all), whole
// address at most 320 octets (SES's limit). Source routes ("<@a,@b:user@c>") are accepted
// and dropped. Address literals ("user@[192.0.2.1]") are refused: SES does not send to them.
// The domain is returned in lower case; the local part as written.
// Errors: kInvalidArgument naming the problem; the caller words the SMTP reply.
// Thread-safety: pure. Trust: input is hostile (an SMTP command argument).
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace herald::smtp {

inline constexpr size_t kMaxAddressLength = 320;
inline constexpr size_t kMaxLocalPartLength = 64;
inline constexpr size_t kMaxDomainLength = 255;

// `text` must start with '<' and end with '>'. Returns "" for "<>" when allow_empty.
StatusOr<std::string> ParseSmtpPath(std::string_view text, bool allow_empty);

// True when `domain` is an RFC 5321 host name (LDH labels, no trailing dot).
bool IsValidHostName(std::string_view domain);

}  // namespace herald::smtp
