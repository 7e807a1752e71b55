// Fuzzes auth::VerifySigV4 and the canonicaliser with hostile requests.
//
// Input layout (lines split on '\n'): line 0 = request target, line 1 = Authorization
// header value, the rest "name:value" headers up to an empty line, then the body.
// Besides "no crash, no sanitizer report", it checks one property: a request signed
// by SignRequestForTest always verifies when its target canonicalises and its header
// names are plain lower-case tokens.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/sigv4.h"

namespace {

using herald::SysTime;
using herald::auth::HttpRequestView;
using herald::auth::KeyInfo;
using herald::auth::SigV4Expectation;

std::optional<KeyInfo> Lookup(const std::string& id) {
  if (id == "AKIAFUZZ") return KeyInfo{"fuzz-secret", true};
  if (id == "AKIAOFF") return KeyInfo{"fuzz-secret", false};
  return std::nullopt;
}

bool PlainName(std::string_view n) {
  if (n.empty() || n == "authorization" || n == "x-amz-date" || n == "x-amz-security-token" ||
      n == "x-amz-content-sha256" || n == "date") {
    return false;
  }
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto next_line = [&in]() {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
  };
  std::string_view target = next_line();
  std::string_view authorization = next_line();
  HttpRequestView req{"POST", target, {}, {}};
  bool plain = true;
  while (!in.empty()) {
    std::string_view line = next_line();
    if (line.empty()) break;
    size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    plain = plain && PlainName(name) && req.headers.size() < 32;
    req.headers.emplace_back(std::string(name), std::string(value));
  }
  req.body = in;

  const SysTime now = SysTime(std::chrono::seconds(1795000000));
  const SigV4Expectation expect{"us-east-1", "ses"};

  // 1. Arbitrary Authorization header plus a date near "now".
  HttpRequestView hostile = req;
  hostile.headers.emplace_back("authorization", std::string(authorization));
  hostile.headers.emplace_back("x-amz-date", "20261118T110640Z");
  herald::auth::SigV4Result r = herald::auth::VerifySigV4(hostile, expect, now, Lookup);
  if (!r.ok && r.failure.code.empty()) std::abort();

  // 2. The canonicaliser alone, with the header names as the signed list.
  std::vector<std::string> names;
  for (const auto& h : req.headers) names.push_back(h.first);
  std::string canonical = herald::auth::CanonicalRequest(req, names, "hash");

  // 3. Round trip: what the signer signs, the verifier accepts.
  if (plain && !canonical.empty()) {
    HttpRequestView signed_req = req;
    signed_req.headers.emplace_back("host", "email.us-east-1.amazonaws.com");
    for (auto& h : herald::auth::SignRequestForTest(signed_req, "AKIAFUZZ", "fuzz-secret",
                                                    "us-east-1", "ses", now, size % 2 == 0)) {
      signed_req.headers.push_back(std::move(h));
    }
    herald::auth::SigV4Result ok = herald::auth::VerifySigV4(signed_req, expect, now, Lookup);
    if (!ok.ok) std::abort();
  }
  return 0;
}
