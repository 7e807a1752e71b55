// base/strings.h: small string helpers shared by the parsers.
//
// Contract: pure functions; ASCII-only case rules (no locale).
// Thread-safety: all functions are safe from any thread.
// Trust: inputs may be hostile.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace herald {

std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
std::string_view TrimWhitespace(std::string_view s);
std::vector<std::string_view> Split(std::string_view s, char sep);
// Percent-decoding of a URI component; nullopt-like empty result is signalled by ok=false.
bool PercentDecode(std::string_view in, std::string* out, bool plus_is_space = false);
// RFC 3986 unreserved characters stay, everything else becomes %XX (upper-case hex).
std::string PercentEncode(std::string_view in, bool keep_slash = false);

}  // namespace herald
