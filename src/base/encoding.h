// base/encoding.h: hex and base64 (RFC 4648 standard alphabet), written out here rather
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

}  // namespace herald
