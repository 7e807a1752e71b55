#include "events/webhook.h"

#include <charconv>
#include <optional>
#include <vector>

#include "base/crypto.h"
#include "base/strings.h"

namespace herald::events {

namespace {

// A header longer than this is not one herald wrote (a few signatures at most).
constexpr size_t kMaxHeaderBytes = 1024;
constexpr size_t kHexSignatureBytes = 64;

std::string Expected(std::string_view secret, int64_t t, std::string_view body) {
  std::string signed_text = std::to_string(t);
  signed_text.push_back('.');
  signed_text.append(body);
  return HexEncode(HmacSha256(secret, signed_text));
}

std::optional<int64_t> ParseSeconds(std::string_view text) {
  if (text.empty() || text.size() > 18) {
    return std::nullopt;
  }
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string WebhookSignatureHeader(std::string_view secret, int64_t unix_seconds,
                                   std::string_view body) {
  return "t=" + std::to_string(unix_seconds) + ",v1=" + Expected(secret, unix_seconds, body);
}

Status VerifyWebhookSignature(std::string_view secret, std::string_view header_value,
                              std::string_view body, int64_t now, int64_t tolerance_seconds) {
  if (tolerance_seconds < 0) {
    return InvalidArgumentError("webhook signature tolerance must not be negative");
  }
  const Status malformed = PermissionDeniedError("malformed webhook signature header");
  if (header_value.size() > kMaxHeaderBytes) {
    return malformed;
  }
  std::optional<int64_t> t;
  std::vector<std::string> v1;
  for (std::string_view item : Split(header_value, ',')) {
    item = TrimWhitespace(item);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return malformed;
    }
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    if (key == "t") {
      if (t.has_value()) {
        return malformed;
      }
      t = ParseSeconds(value);
      if (!t.has_value()) {
        return malformed;
      }
    } else if (key == "v1") {
      if (value.size() != kHexSignatureBytes) {
        return malformed;
      }
      v1.push_back(AsciiLower(value));
    }
  }
  if (!t.has_value() || v1.empty()) {
    return malformed;
  }
  const int64_t age = now >= *t ? now - *t : *t - now;
  if (age > tolerance_seconds) {
    return PermissionDeniedError("webhook signature timestamp outside the tolerance");
  }
  const std::string expected = Expected(secret, *t, body);
  bool match = false;
  for (const std::string& candidate : v1) {
    // Every candidate is compared, so the time does not tell which one matched.
    match = ConstantTimeEquals(candidate, expected) || match;
  }
  if (!match) {
    return PermissionDeniedError("webhook signature does not match");
  }
  return Status::Ok();
}

}  // namespace herald::events
