// Fuzzes the SMTP server session: arbitrary bytes in arbitrary chunkings. The first bytes
// choose the options and the chunk sizes; the session must never crash, must never hand
// over a transaction whose message contains a bare CR or LF, and must stop producing output
// once closed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/server_session.h"

namespace {

class FuzzHandler : public herald::smtp::SessionHandler {
 public:
  bool Authenticate(std::string_view user, std::string_view password) override {
    return user == "u" && password == "p";
  }
  std::string Deliver(herald::smtp::Transaction& t) override {
    const std::string& m = t.message;
    for (size_t i = 0; i < m.size(); ++i) {
      const bool cr_ok = m[i] != '\r' || (i + 1 < m.size() && m[i + 1] == '\n');
      const bool lf_ok = m[i] != '\n' || (i > 0 && m[i - 1] == '\r');
      if (!cr_ok || !lf_ok) __builtin_trap();
    }
    if (t.recipients.empty()) __builtin_trap();
    return (m.size() & 1) ? "250 Ok id" : "554 Message rejected: x";
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  herald::smtp::SessionOptions options;
  options.tls_available = data[0] & 1;
  options.tls_active = data[0] & 2;
  options.allow_insecure_auth = data[0] & 4;
  options.limits.max_message_bytes = 64 + (data[0] >> 3) * 64;
  options.limits.max_data_line = 32 + data[1];
  options.limits.max_recipients = 1 + (data[1] & 3);
  FuzzHandler handler;
  herald::smtp::ServerSession session(options, handler);
  session.Greeting();
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t step = 1 + (data[1] % 13);
  while (!in.empty()) {
    const size_t n = std::min(step, in.size());
    herald::smtp::SessionOutput out = session.Feed(in.substr(0, n));
    if (out.start_tls) session.TlsStarted();
    if (session.closed() && !session.Feed("NOOP\r\n").bytes.empty()) __builtin_trap();
    in.remove_prefix(n);
    step = step * 7 % 31 + 1;
  }
  return 0;
}
