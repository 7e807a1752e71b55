// Fuzzes the template renderer: input is "template \0 json-data". No crash, no sanitizer
// report, and the output cap holds.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "mail/template.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view tmpl = in.substr(0, nul);
  nlohmann::json json_data = nlohmann::json::object();
  if (nul != std::string_view::npos) {
    json_data = nlohmann::json::parse(in.substr(nul + 1), nullptr, /*allow_exceptions=*/false);
  }
  constexpr size_t kCap = 64 * 1024;
  auto out = herald::mail::RenderTemplate(tmpl, json_data, kCap);
  if (out.ok() && out->size() > kCap) std::abort();
  return 0;
}
