// tests/fuzz/query_form_fuzz.cc: SES v1 Query API form bodies through the form parser and
// the list readers, and every decoded value back out through the XML writer.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/query_form.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  herald::api::QueryFormLimits limits;
  limits.max_body_bytes = 1 << 16;
  limits.max_params = 64;
  herald::api::QueryForm form;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto error = herald::api::ParseQueryForm(body, limits, &form);
  if (error) {
    if (error->code.empty() || error->message.empty()) __builtin_trap();
    return 0;
  }
  if (form.size() > limits.max_params) __builtin_trap();
  std::vector<std::string> members;
  if (!form.List("Destination.ToAddresses", 50, &members)) {
    if (members.size() > 50) __builtin_trap();
    for (const std::string& m : members) {
      // Escaped text never carries markup.
      const std::string xml = herald::api::XmlEscape(m);
      if (xml.find('<') != std::string::npos || xml.find('>') != std::string::npos) {
        __builtin_trap();
      }
    }
  }
  size_t n = 0;
  if (!form.CountMembers("Tags", 50, &n) && n > 50) __builtin_trap();
  return 0;
}
