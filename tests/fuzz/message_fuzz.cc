// Fuzzes the message parser and the header codecs: no crash, no sanitizer report,
// Serialize reproduces an accepted message, folding and RFC 2047 encoding round-trip.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mail/message.h"

namespace {

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::mail;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  auto entity = ParseEntity(text);
  if (entity.ok()) {
    std::string out = Serialize(entity->headers, entity->body);
    // Byte for byte, except that a message without the empty line gains one (and a
    // final unterminated header line gains its CRLF).
    if (out != text && out != std::string(text) + "\r\n" && out != std::string(text) + "\r\n\r\n") {
      std::abort();
    }
    for (const HeaderField& f : entity->headers) {
      std::string decoded = DecodeEncodedWords(f.value);
      if (IsValidUtf8(f.value) && !IsValidUtf8(decoded)) std::abort();
      (void)HeaderParameter(f.value, "boundary");
      if (f.name == "Content-Type") {
        (void)SplitMultipart(entity->body, HeaderParameter(f.value, "boundary"));
      }
    }
    (void)DecodeQuotedPrintable(entity->body);
  }
  (void)ParseMessage(text);

  std::string decoded = DecodeEncodedWords(text);
  if (IsValidUtf8(text) && !IsValidUtf8(decoded)) std::abort();

  if (!HasLineBreakOrNul(text) && IsValidUtf8(text)) {
    std::string encoded = EncodeHeaderValue(text);
    bool ascii = encoded == text;
    if (!ascii && DecodeEncodedWords(encoded) != text) std::abort();
    auto field = MakeHeaderField("X-Fuzz", encoded);
    if (field.ok()) {
      auto parsed = ParseEntity(field->raw + "\r\n");
      if (!parsed.ok() || parsed->headers.size() != 1 || parsed->headers[0].value != field->value) {
        std::abort();
      }
    }
  }
  return 0;
}
