#include "feedback/arf.h"

#include "base/strings.h"
#include "feedback/dsn.h"
#include "feedback/mime_tree.h"

namespace herald::feedback {

bool LooksRedacted(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return true;
  std::string_view local = address.substr(0, at);
  if (local.empty()) return true;
  for (char c : local) {
    if (c != 'x' && c != 'X' && c != '*' && c != '#' && c != '.') return false;
  }
  return true;
}

ComplaintReport ParseFeedbackReportFields(std::string_view body) {
  ComplaintReport r;
  for (const MimeHeader& f : ParseHeaderFields(body)) {
    const std::string& n = f.name;
    if (EqualsIgnoreCase(n, "Feedback-Type")) {
      r.feedback_type = AsciiLower(TrimWhitespace(f.value));
    } else if (EqualsIgnoreCase(n, "User-Agent")) {
      r.user_agent = f.value;
    } else if (EqualsIgnoreCase(n, "Version")) {
      r.version = f.value;
    } else if (EqualsIgnoreCase(n, "Arrival-Date") || EqualsIgnoreCase(n, "Received-Date")) {
      if (r.arrival_date.empty()) r.arrival_date = f.value;
    } else if (EqualsIgnoreCase(n, "Source-IP")) {
      r.source_ip = f.value;
    } else if (EqualsIgnoreCase(n, "Original-Mail-From")) {
      r.original_mail_from = StripTypePrefix(f.value);
    } else if (EqualsIgnoreCase(n, "Original-Rcpt-To") ||
               EqualsIgnoreCase(n, "Removal-Recipient")) {
      if (r.original_rcpt_to.size() < kMaxReportRecipients) {
        std::string a = StripTypePrefix(f.value);
        if (LooksRedacted(a)) r.redacted = true;
        r.original_rcpt_to.push_back(std::move(a));
      }
    } else if (EqualsIgnoreCase(n, "Reported-Domain")) {
      if (r.reported_domain.empty()) r.reported_domain = f.value;
    } else if (EqualsIgnoreCase(n, "Redacted-Address")) {
      r.redacted = true;
    }
  }
  return r;
}

}  // namespace herald::feedback
