// mail/message.h: RFC 5322 header parsing and editing of whole messages, byte for byte.
//
// Contract: ParseMessage splits a message into its header fields and its body without
// copying the body. Line endings must be CRLF (a bare CR or LF anywhere is an error:
// SMTP smuggling and header injection both start there); lines are at most 998 octets
// plus CRLF (RFC 5322 section 2.1.1); field names are printable ASCII without ':' and
// the header must contain exactly one From field; at most 5000 header fields. A message
// without the empty line has an empty body; a last header line that ends the input
// without CRLF is given one in `raw`. Raw header bytes are kept, so rewriting a
// message (removing X-SES-* fields, adding Message-ID and Date) leaves every other byte
// as it was.
// Thread-safety: pure functions and value types.
// Trust: input is hostile (SMTP DATA, Raw API content); every length is bounded by the
// input's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace herald::mail {

struct HeaderField {
  std::string name;  // as written
  std::string raw;   // the whole field as written, folded lines and final CRLF included
  // The value unfolded (CRLF before WSP removed), surrounding whitespace trimmed, raw bytes
  // (RFC 2047 encoded-words are not decoded here).
  std::string value;
};

struct ParsedMessage {
  std::vector<HeaderField> headers;
  std::string_view body;  // after the blank line; points into the parsed input

  // First field with this name (case-insensitive), or nullptr.
  const HeaderField* Find(std::string_view name) const;
  std::vector<const HeaderField*> FindAll(std::string_view name) const;
};

// `input` must outlive the result (body is a view into it).
StatusOr<ParsedMessage> ParseMessage(std::string_view input);

// As ParseMessage but without the From requirement: for MIME body parts (RFC 2045
// entities) such as the parts of a multipart message, a DSN or an ARF report.
StatusOr<ParsedMessage> ParseEntity(std::string_view input);

// The value of parameter `name` (case-insensitive) in a structured value such as
// `multipart/mixed; boundary="x"`, quotes and quoted-pairs removed; empty when absent.
// RFC 2231 continuations are not joined.
std::string HeaderParameter(std::string_view value, std::string_view name);

// The body parts of a multipart body (RFC 2046 section 5.1.1): the bytes between
// "--boundary" delimiter lines, without the CRLF that belongs to the next delimiter;
// preamble and epilogue dropped. Views into `body`. kInvalidArgument when the boundary
// is empty or longer than 70, or there is no part or no close delimiter.
StatusOr<std::vector<std::string_view>> SplitMultipart(std::string_view body,
                                                       std::string_view boundary);

// Decodes quoted-printable (RFC 2045 section 6.7); soft line breaks removed, hard line
// breaks kept as CRLF. kInvalidArgument on a malformed "=" escape.
StatusOr<std::string> DecodeQuotedPrintable(std::string_view encoded);

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or values > U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Serialises headers then "\r\n" then body.
std::string Serialize(const std::vector<HeaderField>& headers, std::string_view body);

// A header field ready to append: folds long values at whitespace so no line exceeds 78
// characters where possible, and never 998. The value must contain no CR or LF
// (kInvalidArgument otherwise: header injection).
StatusOr<HeaderField> MakeHeaderField(std::string_view name, std::string_view value);

// Decodes RFC 2047 encoded-words (B and Q, UTF-8/US-ASCII/ISO-8859-1 charsets) in a header
// value into UTF-8; undecodable words are left as written.
std::string DecodeEncodedWords(std::string_view value);

// RFC 2047 B-encoding of a UTF-8 value when it holds non-ASCII bytes; ASCII stays as is.
std::string EncodeHeaderValue(std::string_view utf8_value);

}  // namespace herald::mail
