// Fuzzes the EICAR scanner (mail/virus_scan.h) on arbitrary bytes: no crash, no sanitizer
// report, and its answers stay consistent: an infected verdict names the EICAR signature, a
// clean verdict has no signature, the only error is kResourceExhausted (a message beyond
// the walker's limits), and input that is itself the test file is always found.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/virus_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::mail;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  const bool is_file = IsEicarTestFile(text);
  if (is_file && (size < 68 || size > 128)) std::abort();

  EicarScanner scanner;
  auto verdict = scanner.Scan(text);
  if (!verdict.ok()) {
    if (verdict.status().code() != herald::StatusCode::kResourceExhausted) std::abort();
    return 0;
  }
  if (verdict->infected && verdict->signature != kEicarSignature) std::abort();
  if (!verdict->infected && !verdict->signature.empty()) std::abort();
  if (is_file && !verdict->infected) std::abort();
  return 0;
}
