// mail/mime_builder.h: builds an RFC 5322 / MIME message from SES "Simple" content.
//
// Contract: the result has CRLF line endings, lines of at most 998 octets, Date and
// Message-ID (each only when the field is set: the sending service adds them later, with
// the final message id, when they are empty), MIME-Version: 1.0, From, To/Cc (never Bcc),
// Reply-To, Subject (RFC 2047 encoded when not ASCII) and the caller's extra headers
// (values RFC 2047 encoded when not ASCII). Addresses are parsed with ParseMailbox;
// non-ASCII display names are RFC 2047 encoded and IDN domains become Punycode. Text and
// html bodies are UTF-8 quoted-printable with soft line breaks at 76 characters; bare LF
// or CR in body text is normalised to CRLF (herald builds this message). Attachments are
// base64 folded at 76 (or quoted-printable / 7bit when asked; 7bit content must be ASCII
// without NUL and is line-normalised like text); file names go in quoted form, or RFC 2231
// (filename*=UTF-8''...) when not ASCII, at most 255 octets. Content-Type defaults from
// the file extension. Boundaries are random and checked not to occur in the content.
// A message with neither text nor html nor attachments gets an empty text part.
// Structure:
//   text only or html only  -> a single part;
//   text and html           -> multipart/alternative;
//   attachments             -> multipart/mixed around the above (inline attachments with
//                              a Content-ID go into multipart/related with the html).
// Any CR or LF in a field that ends up in a header is kInvalidArgument (header
// injection); so is a header name that is not an RFC 5322 field name, or one that herald
// sets itself (From, To, Cc, Bcc, Subject, Date, Message-ID, MIME-Version,
// Content-Type, Content-Transfer-Encoding, Reply-To, Return-Path).
// Thread-safety: pure function.
// Trust: every field is hostile API input.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace herald::mail {

struct Attachment {
  std::string content;       // raw bytes (already base64-decoded by the API)
  std::string file_name;     // required
  std::string content_type;  // default from the extension, else application/octet-stream
  std::string disposition = "attachment";    // "attachment" | "inline"
  std::string content_id;                    // optional, without <>
  std::string description;                   // optional
  std::string transfer_encoding = "BASE64";  // BASE64 | QUOTED_PRINTABLE | SEVEN_BIT
};

struct SimpleMessage {
  std::string from;  // as given (may carry a display name)
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::vector<std::string> reply_to;
  std::string subject;
  std::string text;                                          // empty = no text part
  std::string html;                                          // empty = no html part
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, in order
  std::vector<Attachment> attachments;
  std::string message_id;  // without <>, e.g. "0100...-000000@herald.example"
  std::string date;        // RFC 5322 date value
};

StatusOr<std::string> BuildMime(const SimpleMessage& msg);

}  // namespace herald::mail
