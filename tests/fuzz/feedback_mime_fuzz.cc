// Fuzzes the forgiving MIME reader of the feedback MX (feedback/mime_tree.h) and its
// helpers: no crash, no sanitizer report, and the limits hold: nesting at most
// kMaxMimeDepth levels below the top, at most kMaxMimeParts parts kept, content types
// lower case, NormalizeLineEnds leaves no CR, the lenient decoders never grow their input
// beyond what the encoding allows.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "feedback/mime_tree.h"

namespace {

using herald::feedback::MimePart;

void Walk(const MimePart& p, int depth, size_t* parts) {
  ++*parts;
  if (depth > herald::feedback::kMaxMimeDepth + 1) std::abort();
  if (p.type.empty()) std::abort();
  for (char c : p.type) {
    if (std::isupper(static_cast<unsigned char>(c))) std::abort();
  }
  for (char c : p.charset) {
    if (std::isupper(static_cast<unsigned char>(c))) std::abort();
  }
  for (const auto& h : p.headers) {
    if (h.name.find('\n') != std::string::npos) std::abort();
    (void)p.Header(h.name);  // lookups by every name present must work
    if (!p.HasHeader(h.name)) std::abort();
    if (p.Headers(h.name).empty()) std::abort();
  }
  for (const auto& child : p.children) Walk(child, depth + 1, parts);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace herald::feedback;
  std::string_view text(reinterpret_cast<const char*>(data), size);

  MimePart root = ParseMimeTree(text);
  size_t parts = 0;
  Walk(root, 0, &parts);
  if (parts > kMaxMimeParts + 1) std::abort();

  std::string lf = NormalizeLineEnds(text);
  if (lf.find('\r') != std::string::npos || lf.size() > size) std::abort();
  for (const auto& h : ParseHeaderFields(lf)) {
    if (h.name.find('\n') != std::string::npos) std::abort();
  }
  if (DecodeBase64Lenient(text).size() > size / 4 * 3 + 3) std::abort();
  if (DecodeQuotedPrintableLenient(text).size() > size) std::abort();
  return 0;
}
