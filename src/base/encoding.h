// base/encoding.h: hex, base64 and base64url (RFC 4648), written out here rather
// than taken from OpenSSL so that code which only needs the encodings (the `herald
// classify` front end, through mail/) does not load libcrypto.
//
// Contract: pure functions. Base64Decode returns nullopt for anything that is not strict
// standard-alphabet base64 (whitespace is skipped when allow_whitespace is set).
// Thread-safety: all functions are safe from any thread.
// Trust: inputs may be hostile; output is at most a small multiple of the input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace herald {

std::string HexEncode(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text, bool allow_whitespace = false);

// base64url (RFC 4648 section 5) without padding. Base64UrlDecode is strict: only the
// URL-safe alphabet, no padding, and the unused low bits of the last character must be
// zero, so every byte string has exactly one encoding (tokens cannot be varied).
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace herald
