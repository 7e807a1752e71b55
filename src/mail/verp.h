// mail/verp.h: the VERP return-path token that ties a bounce back to its delivery.
//
// Every delivery is sent with an envelope sender "<local>@<mail-from domain>" whose local
// part names the message and the recipient it carries, so that a bounce arriving at
// herald's feedback MX can be attributed without trusting anything else in the bounce.
//
// Format of the local part (at most 64 octets, the RFC 5321 limit; 55..62 in practice):
//   "b-" base32( id(24) | varint(recipient) | mac(8) )
//   id        the herald message id "<16 hex>-<UUID>-000000" packed into 24 bytes: the 16
//             hex digits as 8 bytes, then the UUID's 32 hex digits as 16 bytes; the
//             "-000000" suffix is implied
//   varint    the recipient index, unsigned LEB128, 1..5 bytes, shortest form only
//   mac       the first 8 bytes of HMAC-SHA256(secret, id | varint)
//   base32    RFC 4648 alphabet in lower case, no padding; unused trailing bits are zero
//
// Contract: pure functions. EncodeVerpLocalPart accepts only ids in herald's shape (lower-
// case hex, as NewMessageId makes them) and a non-empty secret, else kInvalidArgument.
// DecodeVerpLocalPart accepts the local part in any letter case (MTAs may fold it) and
// returns exactly the target that was encoded; anything malformed (prefix, alphabet, length,
// trailing bits, varint) is kInvalidArgument, and a well-formed token whose MAC does not
// match is kPermissionDenied. The MAC is compared in constant time.
// Thread-safety: safe from any thread.
// Trust: the local part is attacker-controlled (anyone can send mail to the feedback MX).
// A token is authenticated, not encrypted: its holder can read the message id and the
// recipient index, but cannot forge or alter one without the secret (64-bit MAC).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace herald::mail {

struct VerpTarget {
  std::string message_id;  // herald message id, "0100<12 hex>-<UUID>-000000"
  uint32_t recipient = 0;  // index of the recipient within the message's envelope

  bool operator==(const VerpTarget&) const = default;
};

// The local part prefix; tokens are recognised by it (case-insensitively).
inline constexpr std::string_view kVerpPrefix = "b-";

StatusOr<std::string> EncodeVerpLocalPart(const VerpTarget& t, std::string_view secret);

StatusOr<VerpTarget> DecodeVerpLocalPart(std::string_view local_part, std::string_view secret);

}  // namespace herald::mail
