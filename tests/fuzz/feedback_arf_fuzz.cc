// Fuzzes the message/feedback-report reader (feedback/arf.h): no crash, no sanitizer
// report, Feedback-Type lower case, and a report with an Original-Rcpt-To that
// LooksRedacted is marked redacted.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "feedback/arf.h"
#include "feedback/mime_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::feedback;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string body = NormalizeLineEnds(text);

  ComplaintReport c = ParseFeedbackReportFields(body);
  for (char ch : c.feedback_type) {
    if (std::isupper(static_cast<unsigned char>(ch))) std::abort();
  }
  for (const auto& rcpt : c.original_rcpt_to) {
    if (LooksRedacted(rcpt) && !c.redacted) std::abort();
  }
  (void)LooksRedacted(text);
  return 0;
}
