// Fuzzes the RFC 5321 / 5322 address parsers: no crash, no sanitizer report, and every
// accepted mailbox survives formatting and parsing again with the same address.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/address.h"

namespace {

void CheckRoundTrip(const herald::mail::Mailbox& mb) {
  if (mb.local.empty()) return;
  auto again = herald::mail::ParseMailbox(herald::mail::FormatMailbox(mb));
  if (!again.ok() || again->Address() != mb.Address()) std::abort();
  if (mb.local.size() > 64 || mb.Address().size() > 320) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto list = herald::mail::ParseAddressList(text);
  if (list.ok()) {
    for (const auto& mb : *list) CheckRoundTrip(mb);
  }
  auto mb = herald::mail::ParseMailbox(text);
  if (mb.ok()) CheckRoundTrip(*mb);
  auto path = herald::mail::ParseSmtpPath(text, true);
  if (path.ok() && !path->local.empty()) {
    auto again = herald::mail::ParseSmtpPath("<" + path->Address() + ">", false);
    if (!again.ok() || again->Address() != path->Address()) std::abort();
  }
  (void)herald::mail::ParseSmtpPath(text, false);
  (void)herald::mail::NormalizeDomain(text);
  return 0;
}
