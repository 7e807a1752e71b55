// Fuzzes the SMTP server session: arbitrary bytes in arbitrary chunkings. The first bytes
// choose the options and the chunk sizes; the session must never crash, must never hand
// over a transaction whose message contains a bare CR or LF, must answer only with
// well-formed reply lines, and must stop producing output once closed.
//
// Input: byte 0 = flags (bit 0 tls_available, bit 1 tls_active, bit 2 allow_insecure_auth,
// bits 3..7 the message size limit) and, in bit 7, the mode: set selects the inbound MX
// mode of the feedback MX (SessionOptions::inbound_mx with an accept_recipient callback),
// clear the submission mode (so inputs written before the MX mode keep their meaning when
// bit 7 is clear). Byte 1 = data line limit, recipient limit and chunk size. The rest is
// the client's bytes.
//
// In MX mode the callback takes mail for the domain "bounces.test" only; a local part
// that starts with a digit is returned as the refusal reply itself (so the fuzzer
// controls what the session must sanitise), one that starts with 'n' gets a reply with a
// smuggled second line, anything else is refused as a relay attempt. The session must
// then never authenticate anyone, never advertise AUTH, answer 250 to RCPT
// exactly as often as the callback accepted, and hand over only accepted recipients.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "smtp/server_session.h"

namespace {

constexpr std::string_view kMxDomain = "bounces.test";
constexpr std::string_view kRcptAccepted = "250 2.1.5 Ok";

bool EqualsLower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

class FuzzHandler : public herald::smtp::SessionHandler {
 public:
  explicit FuzzHandler(bool inbound_mx) : inbound_mx_(inbound_mx) {}

  bool Authenticate(std::string_view user, std::string_view password) override {
    if (inbound_mx_) __builtin_trap();  // an MX has no AUTH
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
    if (inbound_mx_) {
      for (const auto& r : t.recipients) {
        if (accepted_.count(r) == 0) __builtin_trap();  // never taken at RCPT
      }
    }
    return (m.size() & 1) ? "250 Ok id" : "554 Message rejected: x";
  }

  // SessionOptions::accept_recipient in MX mode.
  std::string AcceptRecipient(const std::string& address) {
    const size_t at = address.rfind('@');
    if (at != std::string::npos &&
        EqualsLower(std::string_view(address).substr(at + 1), kMxDomain)) {
      accepted_.insert(address);
      ++accepts_;
      return "";
    }
    if (!address.empty() && address[0] >= '0' && address[0] <= '9') {
      return address.substr(0, at);  // any text: the session must make a reply line of it
    }
    if (!address.empty() && address[0] == 'n') {
      return "550 5.1.1 unknown\r\n250 2.1.5 Ok";
    }
    return "550 5.7.1 <" + address + ">: Relay access denied";
  }

  size_t accepts() const { return accepts_; }

 private:
  const bool inbound_mx_;
  std::set<std::string> accepted_;
  size_t accepts_ = 0;
};

// Every reply line is "DDD", "DDD " or "DDD-" followed by text, CRLF-terminated, with no
// other CR or LF. Counts the RCPT acceptances and checks the MX mode's rules on the way.
void CheckReplies(std::string_view bytes, bool inbound_mx, size_t* rcpt_accepted) {
  while (!bytes.empty()) {
    const size_t crlf = bytes.find("\r\n");
    if (crlf == std::string_view::npos) __builtin_trap();  // a reply not ended by CRLF
    const std::string_view line = bytes.substr(0, crlf);
    bytes.remove_prefix(crlf + 2);
    if (line.size() < 3 || line.find_first_of("\r\n") != std::string_view::npos) __builtin_trap();
    for (size_t i = 0; i < 3; ++i) {
      if (line[i] < '0' || line[i] > '9') __builtin_trap();
    }
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') __builtin_trap();
    if (line == kRcptAccepted) ++*rcpt_accepted;
    // An MX never offers AUTH. (Other codes prove nothing: the callback's refusal text is
    // the fuzzer's, so "530" or "334" may legitimately appear as a refused RCPT's reply.)
    if (inbound_mx && line.size() >= 8 && line.substr(0, 3) == "250" &&
        EqualsLower(line.substr(4, 4), "auth")) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool inbound_mx = data[0] & 0x80;
  FuzzHandler handler(inbound_mx);
  herald::smtp::SessionOptions options;
  options.tls_available = data[0] & 1;
  options.tls_active = data[0] & 2;
  options.allow_insecure_auth = data[0] & 4;
  options.limits.max_message_bytes = 64 + (data[0] >> 3) * 64;
  options.limits.max_data_line = 32 + data[1];
  options.limits.max_recipients = 1 + (data[1] & 3);
  if (inbound_mx) {
    options.inbound_mx = true;
    options.accept_recipient = [&handler](const std::string& address) {
      return handler.AcceptRecipient(address);
    };
  }
  herald::smtp::ServerSession session(options, handler);
  size_t rcpt_accepted = 0;
  CheckReplies(session.Greeting().bytes, inbound_mx, &rcpt_accepted);
  std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t step = 1 + (data[1] % 13);
  while (!in.empty()) {
    const size_t n = std::min(step, in.size());
    herald::smtp::SessionOutput out = session.Feed(in.substr(0, n));
    CheckReplies(out.bytes, inbound_mx, &rcpt_accepted);
    if (out.start_tls) session.TlsStarted();
    if (session.closed() && !session.Feed("NOOP\r\n").bytes.empty()) __builtin_trap();
    in.remove_prefix(n);
    step = step * 7 % 31 + 1;
  }
  if (inbound_mx) {
    if (session.authenticated()) __builtin_trap();
    if (rcpt_accepted != handler.accepts()) __builtin_trap();  // a 250 the callback never gave
  }
  return 0;
}
