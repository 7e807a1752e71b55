// feedback/dsn.h: the fields of an RFC 3464 message/delivery-status body.
//
// Contract: ParseDeliveryStatus is pure and never fails. The body is a sequence of field
// groups separated by empty lines: the first is about the message (Reporting-MTA,
// Arrival-Date, ...), each further group about one recipient. Generators that put
// everything in one group, repeat per-message fields, or leave out the empty line between
// recipients are tolerated: a new group starts at any Final-Recipient or
// Original-Recipient field that follows a recipient field already seen. Address-type
// prefixes ("rfc822;") are removed from addresses, and the diagnostic type ("smtp;") is
// kept separately. At most kMaxReportRecipients recipients are returned.
// Thread-safety: pure.
// Trust: the body is hostile; every value is bounded by the input.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herald::feedback {

struct DsnRecipient {
  std::string final_recipient;     // address only
  std::string original_recipient;  // address only
  std::string action;              // lower case: failed, delayed, delivered, relayed, expanded
  std::string status;              // as written, e.g. "5.1.1"
  std::string remote_mta;          // name only ("dns;" removed)
  std::string diagnostic_type;     // lower case: "smtp", "x-unix", ... (may be empty)
  std::string diagnostic_text;     // the Diagnostic-Code value after "type;"
  std::string last_attempt_date;
  std::string will_retry_until;
};

struct DeliveryStatus {
  std::string reporting_mta;  // name only
  std::string arrival_date;
  std::string received_from_mta;
  std::vector<DsnRecipient> recipients;
};

// `body` uses LF line ends (see mime_tree.h NormalizeLineEnds).
DeliveryStatus ParseDeliveryStatus(std::string_view body);

// "rfc822; <a@b>" -> "a@b"; "dns; mx.example" -> "mx.example". Removes one leading
// "type;" and surrounding angle brackets and whitespace.
std::string StripTypePrefix(std::string_view value);

}  // namespace herald::feedback
