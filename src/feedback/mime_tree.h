// feedback/mime_tree.h: a forgiving MIME reader for mail that arrives at the feedback MX.
//
// Bounce reports come from every kind of mail software, old and broken ones included, so
// unlike mail/message.h (which guards what herald accepts for sending and refuses anything
// irregular) this reader never refuses: it takes what it can and drops the rest.
//
// Contract: ParseMimeTree is pure and never fails. Line ends are normalised to LF (CRLF and
// lone CR both become LF). A leading mbox "From " line is skipped. Header fields are
// unfolded; a header line without a colon ends the header. Bodies are decoded from base64
// and quoted-printable (leniently: stray characters skipped); charsets are not converted.
// Multipart bodies are split on their boundary (a missing close delimiter is tolerated);
// message/rfc822, message/global and text/rfc822-headers parts get the embedded message as
// their only child, read for its header only (the child's body stays empty and is not
// split: a returned message's attachments say nothing about the report, and skipping
// them keeps a report with a large attachment cheap); the part's own body keeps the
// embedded message's bytes. Nesting is followed kMaxMimeDepth levels and at most kMaxMimeParts
// parts are kept in the whole tree; deeper or further parts are left as plain bodies.
// Thread-safety: pure; safe from any thread.
// Trust: input is hostile; every size is bounded by the input's size and the limits above.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::feedback {

inline constexpr int kMaxMimeDepth = 8;
inline constexpr size_t kMaxMimeParts = 256;

struct MimeHeader {
  std::string name;   // as written
  std::string value;  // unfolded, trimmed, raw bytes (encoded-words not decoded)
};

struct MimePart {
  std::vector<MimeHeader> headers;
  std::string type;       // lower-case "type/subtype" from Content-Type ("text/plain" if none)
  std::string charset;    // lower-case charset parameter, may be empty
  std::string_view body;  // transfer-decoded bytes, LF line ends: a view into the parsed
                          // message or into `decoded` (see ParseMimeTree)
  std::vector<MimePart> children;
  // Owns the bytes `body` views when they differ from the input's (a decoded base64 or
  // quoted-printable body; at the root, the message with its line ends normalised).
  std::shared_ptr<const std::string> decoded;

  // The first header with this name (case-insensitive), or an empty view.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
  // Every value of this header, in order.
  std::vector<std::string_view> Headers(std::string_view name) const;
};

// `message` must outlive the result: bodies are views into it where no decoding or line-end
// normalisation was needed (so a report is not copied part by part).
MimePart ParseMimeTree(std::string_view message);

// Parses a header block ("Name: value" lines, folded lines joined) that is not followed by
// a body: for message/delivery-status field groups and text/rfc822-headers. `text` must
// use LF line ends. Lines that are neither fields nor continuations are skipped.
std::vector<MimeHeader> ParseHeaderFields(std::string_view text);

// Normalises CRLF and CR to LF.
std::string NormalizeLineEnds(std::string_view in);

// Lenient transfer decoders (RFC 2045 sections 6.7, 6.8): characters outside the alphabet
// are skipped, malformed escapes kept as written.
std::string DecodeBase64Lenient(std::string_view in);
std::string DecodeQuotedPrintableLenient(std::string_view in);

}  // namespace herald::feedback
