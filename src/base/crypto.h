// base/crypto.h: hashing, HMAC and randomness, as thin wrappers over OpenSSL. The hex and
// base64 encodings are in base/encoding.h (included here), which does not need OpenSSL.
//
// Contract: pure functions of their inputs, except RandomBytes/RandomToken which read the
// OpenSSL CSPRNG.
// Thread-safety: all functions are safe from any thread.
// Trust: inputs may be hostile; nothing here allocates more than a small multiple of its input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/encoding.h"

namespace herald {

// Raw 32-byte digest.
std::string Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);

// Constant-time comparison of two byte strings (length leaks, contents do not).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

std::string RandomBytes(size_t n);
// n random characters from [A-Z0-9] (for access key ids) or base64url (secrets, tokens).
std::string RandomUpperAlnum(size_t n);
std::string RandomBase64Url(size_t n_bytes);

// CRC-32C (Castagnoli) for spool records.
uint32_t Crc32c(std::string_view data, uint32_t seed = 0);

}  // namespace herald
