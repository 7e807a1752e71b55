// tests/fuzz/send_email_request_fuzz.cc: SendEmail request bodies through the API parser
// (JSON validation, address parsing, base64, template rendering, MIME building).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/send_email_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  herald::api::SendEmailLimits limits;
  limits.max_message_bytes = 1 << 20;
  herald::sending::Submission submission;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto error = herald::api::ParseSendEmailRequest(body, limits, &submission);
  if (!error) {
    // A successful parse always yields recipients within the limit and a message.
    if (submission.recipients.empty() ||
        submission.recipients.size() > static_cast<size_t>(limits.max_recipients) ||
        submission.message.empty()) {
      __builtin_trap();
    }
  } else if (error->code.empty() || error->message.empty()) {
    __builtin_trap();
  }
  return 0;
}
