// events/webhook.h: the X-Herald-Signature header of webhook deliveries, and its check.
//
// Contract: WebhookSignatureHeader(secret, t, body) is "t=<t>,v1=<hex>", where <hex> is the
// lower-case hex HMAC-SHA256 keyed with `secret` over "<t>.<body>" (<t> in decimal Unix
// seconds). VerifyWebhookSignature accepts a header with exactly one t= item and one or
// more v1= items (a sender rotating secrets may sign twice; other schemes such as v0= are
// ignored) when some v1 matches, compared in constant time, and |now - t| <= tolerance.
// Anything else (malformed, unsigned, wrong secret, tampered body, stale or future
// timestamp) is kPermissionDenied; a negative tolerance is kInvalidArgument.
// Thread-safety: pure functions.
// Trust: the header and body given to the check are hostile; parsing is bounded by their
// length and never allocates more than a small multiple of the header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace herald::events {

inline constexpr char kWebhookSignatureHeaderName[] = "X-Herald-Signature";

std::string WebhookSignatureHeader(std::string_view secret, int64_t unix_seconds,
                                   std::string_view body);

Status VerifyWebhookSignature(std::string_view secret, std::string_view header_value,
                              std::string_view body, int64_t now, int64_t tolerance_seconds);

}  // namespace herald::events
