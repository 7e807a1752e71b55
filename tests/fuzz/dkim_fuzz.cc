// Fuzzes the DKIM verifier's parsing of hostile messages and key records: no crash, no
// sanitizer report; relaxed body canonicalisation is idempotent and ends with CRLF; a key
// record that parses has no white space left in p=.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mail/dkim.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::mail;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  const std::string body = CanonicalBodyRelaxed(text);
  if (!body.empty() && !body.ends_with("\r\n")) std::abort();
  if (CanonicalBodyRelaxed(body) != body) std::abort();
  (void)CanonicalHeaderRelaxed(text);

  auto record = ParseDkimKeyRecord(text);
  if (record.ok() && record->public_key.find_first_of(" \t\r\n") != std::string::npos) {
    std::abort();
  }

  // The input as a message verified against its own text as the key record, and as a
  // signature field over a fixed message.
  const std::string txt(text.substr(0, 512));
  (void)VerifyDkim(
      text,
      [&](const std::string&, const std::string&) -> herald::StatusOr<std::vector<std::string>> {
        return std::vector<std::string>{txt};
      });
  (void)DkimSigningInput("From: a@example.com\r\nTo: b@example.org\r\n\r\nbody\r\n", text);
  return 0;
}
