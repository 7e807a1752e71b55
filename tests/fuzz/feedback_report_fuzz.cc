// Fuzzes the whole feedback reader: ParseFeedback on any bytes, then ReportToJson and a
// strict JSON dump (which throws, and so crashes the fuzzer, on a string that is not valid
// UTF-8). Beyond "no crash, no sanitizer report", every report keeps the promises of
// feedback/report.h: strings are valid UTF-8 without control characters, at most
// kMaxReportRecipients recipients, hard exactly for Permanent verdicts, a "bounce" has a
// recipient with a known reason and an "undetermined" has none, and the same input gives
// the same report.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "feedback/report.h"
#include "feedback/report_json.h"

namespace {

using herald::feedback::FeedbackKind;
using herald::feedback::Reason;
using herald::feedback::Report;

bool IsSafeLine(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

void Safe(std::string_view s) {
  if (!IsSafeLine(s)) std::abort();
}

void Check(const Report& r) {
  for (std::string_view s :
       {std::string_view(r.format), std::string_view(r.reporting_mta),
        std::string_view(r.arrival_date), std::string_view(r.subject), std::string_view(r.from)}) {
    Safe(s);
  }
  if (r.recipients.size() > herald::feedback::kMaxReportRecipients) std::abort();
  bool any_known = false;
  for (const auto& rc : r.recipients) {
    const auto& v = rc.verdict;
    for (std::string_view s :
         {std::string_view(rc.address), std::string_view(rc.original_recipient),
          std::string_view(rc.remote_mta), std::string_view(rc.smtp_command),
          std::string_view(rc.last_attempt_date), std::string_view(v.bounce_type),
          std::string_view(v.bounce_sub_type), std::string_view(v.delay_type),
          std::string_view(v.status), std::string_view(v.action),
          std::string_view(v.diagnostic_code)}) {
      Safe(s);
    }
    if (v.hard != (v.bounce_type == "Permanent")) std::abort();
    if (rc.reply_code != 0 && (rc.reply_code < 100 || rc.reply_code > 999)) std::abort();
    if (v.reason != Reason::kUnknown) any_known = true;
  }
  if (r.kind == FeedbackKind::kBounce && !any_known) std::abort();
  if (r.kind == FeedbackKind::kUndetermined && any_known) std::abort();
  const auto& c = r.complaint;
  for (std::string_view s : {std::string_view(c.feedback_type), std::string_view(c.user_agent),
                             std::string_view(c.version), std::string_view(c.arrival_date),
                             std::string_view(c.source_ip), std::string_view(c.original_mail_from),
                             std::string_view(c.reported_domain)}) {
    Safe(s);
  }
  for (const auto& s : c.original_rcpt_to) Safe(s);
  const auto& o = r.original;
  for (std::string_view s :
       {std::string_view(o.message_id), std::string_view(o.from), std::string_view(o.to),
        std::string_view(o.subject), std::string_view(o.return_path), std::string_view(o.date)}) {
    Safe(s);
  }
  for (const auto& s : o.referenced_ids) Safe(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  Report r = herald::feedback::ParseFeedback(text);
  Check(r);
  std::string json = herald::feedback::ReportToJson(r).dump();  // throws on bad UTF-8
  if (json.find('\n') != std::string::npos) std::abort();
  if (herald::feedback::ReportToJson(herald::feedback::ParseFeedback(text)).dump() != json) {
    std::abort();  // not deterministic: uninitialised state somewhere
  }
  return 0;
}
