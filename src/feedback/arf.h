// feedback/arf.h: the fields of an RFC 5965 message/feedback-report body (ARF), including
// the RFC 6591 authentication-failure extension and RFC 6590 redaction.
//
// Contract: ParseFeedbackReportFields is pure and never fails; absent fields stay empty.
// Feedback-Type is lower-cased; Original-Rcpt-To may repeat and every value is kept
// (addresses without angle brackets). `redacted` is set when a Redacted-Address field is
// present or an Original-Rcpt-To looks redacted (no '@', or a local part made only of
// "x", "*" or "#" characters, as ISPs write it).
// Thread-safety: pure.
// Trust: hostile input; values bounded by the input.
#pragma once

#include <string_view>

#include "feedback/report.h"

namespace herald::feedback {

// `body` uses LF line ends.
ComplaintReport ParseFeedbackReportFields(std::string_view body);

// Whether an address in a report looks redacted (see above).
bool LooksRedacted(std::string_view address);

}  // namespace herald::feedback
