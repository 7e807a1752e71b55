// mail/address.h: e-mail address parsing by RFC 5321 (SMTP paths) and RFC 5322 (header
// address lists), with IDN domains converted to Punycode (RFC 5890) through libidn2.
//
// Contract: pure functions. A successful parse yields an address whose domain is
// lower-cased ASCII (Punycode for IDNs) and whose local part is kept as written (local
// parts are case-sensitive by RFC 5321, though herald compares identities
// case-insensitively). Local parts must be 7-bit (SES does not support SMTPUTF8), at most
// 64 octets; domains at most 255 octets with labels of at most 63; whole address at most
// 320 (SES's limit). Quoted local parts are accepted and kept quoted. Anything else is
// kInvalidArgument with a message that names the problem.
// Thread-safety: safe from any thread.
// Trust: input is hostile (API fields, SMTP commands, message headers).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "mail/message.h"

namespace herald::mail {

struct Mailbox {
  std::string display_name;  // decoded display name, may be empty
  std::string local;         // local part as written (quoted if it was quoted)
  std::string domain;        // lower-case ASCII (Punycode)

  std::string Address() const { return local + "@" + domain; }
  // The address in lower case: the key for identity, suppression and simulator checks.
  std::string Canonical() const;
};

// addr-spec only ("user@example.com"), as in API fields such as ToAddresses and
// FromEmailAddress. Also accepts a name-addr ("Name <user@example.com>") because SES does.
StatusOr<Mailbox> ParseMailbox(std::string_view text);

// An RFC 5322 address-list (From:, To:, Cc:, Reply-To: header values), including groups
// ("undisclosed-recipients:;") and RFC 2047-encoded display names. `text` is an unfolded
// value (HeaderField::value): CR and LF are rejected. Comments are skipped; empty list
// elements (", ,") are skipped; an empty or blank text is an empty list.
StatusOr<std::vector<Mailbox>> ParseAddressList(std::string_view text);

// An SMTP reverse-path or forward-path without the command: "<user@example.com>" or "<>"
// (empty reverse-path: returns an empty Mailbox). Source routes are accepted and dropped
// (RFC 5321 section 4.1.1.3). Parameters after the path are not part of `text`.
StatusOr<Mailbox> ParseSmtpPath(std::string_view text, bool allow_empty);

// Domain to lower-case ASCII; IDN to Punycode. kInvalidArgument when not a valid host name.
// Host names need at least one dot ("localhost" is rejected) and a top-level label that
// is not all digits; domain literals ("[192.0.2.1]", "[IPv6:2001:db8::1]") are accepted.
StatusOr<std::string> NormalizeDomain(std::string_view domain);

// Every address in every field named `field_name` (case-insensitive) of a parsed message,
// in order, display names decoded (RFC 2047). No such field: an empty list. A field that
// does not parse as an address-list: kInvalidArgument naming the field.
StatusOr<std::vector<Mailbox>> HeaderAddresses(const ParsedMessage& msg,
                                               std::string_view field_name);

// The mailbox as it goes into a header field: "local@domain", or "Name <local@domain>"
// with the display name quoted when it needs to be, or RFC 2047-encoded when it is not
// ASCII. The display name must hold no CR, LF or NUL (ParseMailbox guarantees this).
std::string FormatMailbox(const Mailbox& mailbox);

}  // namespace herald::mail
