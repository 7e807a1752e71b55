// mail/mime_builder.h: builds an RFC 5322 / MIME message from SES "Simple" content.
//
// Contract: the result has CRLF line endings, lines of at most 998 octets, Date,
// Message-ID, MIME-Version: 1.0, From, To/Cc (never Bcc), Reply-To, Subject (RFC 2047
// encoded when not ASCII) and the caller's extra headers. Bodies are quoted-printable
// (text) and attachments base64, folded at 76 characters. Structure:
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
  std::string content;                  // raw bytes (already base64-decoded by the API)
  std::string file_name;                // required
  std::string content_type;             // default from the extension, else application/octet-stream
  std::string disposition = "attachment";  // "attachment" | "inline"
  std::string content_id;               // optional, without <>
  std::string description;              // optional
  std::string transfer_encoding = "BASE64";  // BASE64 | QUOTED_PRINTABLE | SEVEN_BIT
};

struct SimpleMessage {
  std::string from;  // as given (may carry a display name)
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::vector<std::string> reply_to;
  std::string subject;
  std::string text;  // empty = no text part
  std::string html;  // empty = no html part
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, in order
  std::vector<Attachment> attachments;
  std::string message_id;  // without <>, e.g. "0100...-000000@herald.example"
  std::string date;        // RFC 5322 date value
};

StatusOr<std::string> BuildMime(const SimpleMessage& msg);

}  // namespace herald::mail
