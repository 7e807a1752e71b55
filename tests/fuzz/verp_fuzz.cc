// Fuzzes the VERP token: the decoder with arbitrary local parts (no crash, no sanitizer
// report, only the documented error codes, and every accepted token re-encodes to the same
// local part modulo letter case, so no two spellings decode to one target), and the encoder
// with targets built from the input bytes (every token decodes back to its target).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "mail/verp.h"

namespace {

constexpr std::string_view kSecret = "fuzz-secret";

// Builds a herald-shaped message id and an index from 28 input bytes and round-trips them.
void CheckEncode(const uint8_t* data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < 24; ++i) {
    hex.push_back(kHex[data[i] >> 4]);
    hex.push_back(kHex[data[i] & 0xF]);
  }
  herald::mail::VerpTarget t;
  t.message_id = hex.substr(0, 16) + "-" + hex.substr(16, 8) + "-" + hex.substr(24, 4) + "-" +
                 hex.substr(28, 4) + "-" + hex.substr(32, 4) + "-" + hex.substr(36, 12) + "-000000";
  t.recipient = static_cast<uint32_t>(data[24]) | static_cast<uint32_t>(data[25]) << 8 |
                static_cast<uint32_t>(data[26]) << 16 | static_cast<uint32_t>(data[27]) << 24;
  auto local = herald::mail::EncodeVerpLocalPart(t, kSecret);
  if (!local.ok() || local->size() > 64) std::abort();
  auto back = herald::mail::DecodeVerpLocalPart(*local, kSecret);
  if (!back.ok() || !(*back == t)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size >= 28) CheckEncode(data);
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto target = herald::mail::DecodeVerpLocalPart(text, kSecret);
  if (!target.ok()) {
    auto code = target.status().code();
    if (code != herald::StatusCode::kInvalidArgument &&
        code != herald::StatusCode::kPermissionDenied) {
      std::abort();
    }
    return 0;
  }
  auto again = herald::mail::EncodeVerpLocalPart(*target, kSecret);
  if (!again.ok() || *again != herald::AsciiLower(text) || again->size() > 64) std::abort();
  return 0;
}
