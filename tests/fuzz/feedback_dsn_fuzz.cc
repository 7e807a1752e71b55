// Fuzzes the message/delivery-status reader (feedback/dsn.h): no crash, no sanitizer
// report, at most kMaxReportRecipients recipients, actions and diagnostic types lower case,
// and StripTypePrefix never grows its input nor leaves surrounding blanks.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "feedback/dsn.h"
#include "feedback/mime_tree.h"
#include "feedback/report.h"

namespace {

void LowerCase(std::string_view s) {
  for (char c : s) {
    if (std::isupper(static_cast<unsigned char>(c))) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::feedback;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string body = NormalizeLineEnds(text);

  DeliveryStatus ds = ParseDeliveryStatus(body);
  if (ds.recipients.size() > kMaxReportRecipients) std::abort();
  for (const auto& r : ds.recipients) {
    LowerCase(r.action);
    LowerCase(r.diagnostic_type);
  }

  std::string stripped = StripTypePrefix(text);
  if (stripped.size() > size) std::abort();
  if (!stripped.empty()) {
    auto first = static_cast<unsigned char>(stripped.front());
    auto last = static_cast<unsigned char>(stripped.back());
    if (first == ' ' || first == '\t' || last == ' ' || last == '\t') std::abort();
  }
  return 0;
}
