// Fuzzes the SMTP reply classifier: the first two bytes pick the basic code, the rest is the
// reply text. No crash, no sanitizer report, and every verdict keeps its invariants: a
// one-line, control-free, valid UTF-8 diagnostic of bounded size, an action that matches
// the permanence, and a status of the right class.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "feedback/smtp_reply.h"

namespace {

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

void Check(const herald::feedback::Verdict& v, bool in_range) {
  if (!IsSafeLine(v.diagnostic_code)) std::abort();
  if (v.diagnostic_code.size() > herald::feedback::kMaxDiagnosticBytes) std::abort();
  if (v.action != (v.permanent ? "failed" : "delayed")) std::abort();
  if (v.hard != (v.bounce_type == "Permanent")) std::abort();
  if (v.delay_type.empty() != v.permanent) std::abort();
  auto st = herald::feedback::ParseEnhancedStatus(v.status);
  if (!st || st->klass != (v.permanent ? 5 : 4)) std::abort();
  if (!in_range && v.bounce_type != "Undetermined") std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  // Mostly 400..599, sometimes anything else.
  int raw = data[0] | (data[1] << 8);
  int code = (raw & 0x8000) ? raw - 0x8000 - 100 : 400 + raw % 200;
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  auto v = herald::feedback::ClassifySmtpReply(code, text);
  Check(v, code >= 400 && code <= 599);
  if (v.diagnostic_code.rfind("smtp; " + std::to_string(code), 0) != 0) std::abort();
  auto made = herald::feedback::MakeVerdict(v.reason, v.permanent, "", std::string(text));
  Check(made, true);
  return 0;
}
