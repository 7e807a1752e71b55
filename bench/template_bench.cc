// bench/template_bench.cc: template renders per second with herald's renderer
// (mail::RenderTemplate), for bench/events.sh, which runs handlebars.js on the same input.
//   template_bench CASE.json ITERATIONS
// CASE.json: {"subject": "...", "text": "...", "html": "...", "data": {...}}. Each
// iteration renders the three parts, as SendEmail does. Prints one JSON line:
// {"renders_per_second": R, "bytes": B} (B: the output size of one iteration, to check
// that both renderers produced the same text).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "mail/template.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: template_bench CASE.json ITERATIONS\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream buf;
  buf << in.rdbuf();
  const nlohmann::json c = nlohmann::json::parse(buf.str(), nullptr, false);
  if (c.is_discarded()) {
    std::cerr << "not JSON: " << argv[1] << "\n";
    return 2;
  }
  const long n = std::stol(argv[2]);
  const std::string parts[] = {c.value("subject", ""), c.value("text", ""), c.value("html", "")};
  const nlohmann::json& data = c["data"];
  size_t bytes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    size_t this_bytes = 0;
    for (const std::string& p : parts) {
      auto r = herald::mail::RenderTemplate(p, data);
      if (!r.ok()) {
        std::cerr << "render failed: " << r.status().ToString() << "\n";
        return 1;
      }
      this_bytes += r->size();
    }
    bytes = this_bytes;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("{\"renders_per_second\": %.0f, \"bytes\": %zu}\n", n / secs, bytes);
  return 0;
}
