#include "mail/verp.h"

#include <array>
#include <cstddef>

#include "base/crypto.h"

namespace herald::mail {
namespace {

constexpr char kBase32Alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr size_t kIdBytes = 24;
constexpr size_t kMacBytes = 8;
constexpr size_t kMaxVarintBytes = 5;
constexpr size_t kMinPayload = kIdBytes + 1 + kMacBytes;
constexpr size_t kMaxPayload = kIdBytes + kMaxVarintBytes + kMacBytes;
// "<16 hex>-<8>-<4>-<4>-<4>-<12>-000000"
constexpr size_t kIdLength = 16 + 1 + 36 + 7;
constexpr std::string_view kIdSuffix = "-000000";
// Offsets of the dashes inside the UUID part of the id.
constexpr std::array<size_t, 4> kUuidDashes = {17 + 8, 17 + 13, 17 + 18, 17 + 23};

constexpr size_t Base32Length(size_t bytes) { return (bytes * 8 + 4) / 5; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not herald's shape
}

// Appends the bytes of `hex` (an even number of lower-case hex digits) to `out`.
bool AppendHex(std::string_view hex, std::string* out) {
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

bool PackMessageId(std::string_view id, std::string* out) {
  if (id.size() != kIdLength || id[16] != '-' || id.substr(53) != kIdSuffix) return false;
  for (size_t d : kUuidDashes) {
    if (id[d] != '-') return false;
  }
  if (!AppendHex(id.substr(0, 16), out)) return false;
  size_t start = 17;
  for (size_t d : kUuidDashes) {
    if (!AppendHex(id.substr(start, d - start), out)) return false;
    start = d + 1;
  }
  return AppendHex(id.substr(start, 53 - start), out);
}

std::string UnpackMessageId(std::string_view packed) {
  std::string hex = HexEncode(packed.substr(0, kIdBytes));  // 48 lower-case digits
  std::string id = hex.substr(0, 16);
  id += '-';
  id += hex.substr(16, 8);
  id += '-';
  id += hex.substr(24, 4);
  id += '-';
  id += hex.substr(28, 4);
  id += '-';
  id += hex.substr(32, 4);
  id += '-';
  id += hex.substr(36, 12);
  id += kIdSuffix;
  return id;
}

void AppendVarint(uint32_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Parses a varint that must span all of `in`, in its shortest form.
bool ParseVarint(std::string_view in, uint32_t* value) {
  if (in.empty() || in.size() > kMaxVarintBytes) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    auto b = static_cast<uint8_t>(in[i]);
    bool last = i + 1 == in.size();
    if (((b & 0x80) == 0) != last) return false;  // continuation bit only on non-last bytes
    v |= static_cast<uint64_t>(b & 0x7F) << (7 * i);
  }
  // Shortest form: a multi-byte varint never ends in a zero byte.
  if (in.size() > 1 && in.back() == 0) return false;
  if (v > UINT32_MAX) return false;
  *value = static_cast<uint32_t>(v);
  return true;
}

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve(Base32Length(bytes.size()));
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : bytes) {
    buffer = (buffer << 8) | static_cast<uint8_t>(c);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(buffer >> bits) & 0x1F]);
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1F]);
  return out;
}

int Base32Value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// Strict decoding: every character in the alphabet (either case), a length that some byte
// count produces, and zero bits after the last whole byte, so each byte string has exactly
// one accepted spelling (up to letter case).
bool Base32Decode(std::string_view text, std::string* out) {
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base32Value(c);
    if (v < 0) return false;
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  if (bits >= 5) return false;                           // a character too many
  if ((buffer & ((1u << bits) - 1)) != 0) return false;  // non-zero trailing bits
  return Base32Length(out->size()) == text.size();
}

std::string Mac(std::string_view secret, std::string_view body) {
  return HmacSha256(secret, body).substr(0, kMacBytes);
}

}  // namespace

StatusOr<std::string> EncodeVerpLocalPart(const VerpTarget& t, std::string_view secret) {
  if (secret.empty()) return InvalidArgumentError("VERP secret is empty");
  std::string payload;
  payload.reserve(kMaxPayload);
  if (!PackMessageId(t.message_id, &payload)) {
    return InvalidArgumentError("message id is not in herald's shape");
  }
  AppendVarint(t.recipient, &payload);
  payload += Mac(secret, payload);
  std::string local(kVerpPrefix);
  local += Base32Encode(payload);
  HERALD_CHECK(local.size() <= 64);
  return local;
}

StatusOr<VerpTarget> DecodeVerpLocalPart(std::string_view local_part, std::string_view secret) {
  if (secret.empty()) return InvalidArgumentError("VERP secret is empty");
  if (local_part.size() < kVerpPrefix.size() + Base32Length(kMinPayload) ||
      local_part.size() > kVerpPrefix.size() + Base32Length(kMaxPayload)) {
    return InvalidArgumentError("not a VERP token: wrong length");
  }
  if ((local_part[0] != 'b' && local_part[0] != 'B') || local_part[1] != '-') {
    return InvalidArgumentError("not a VERP token: wrong prefix");
  }
  std::string payload;
  payload.reserve(kMaxPayload);
  if (!Base32Decode(local_part.substr(kVerpPrefix.size()), &payload)) {
    return InvalidArgumentError("not a VERP token: bad base32");
  }
  if (payload.size() < kMinPayload || payload.size() > kMaxPayload) {
    return InvalidArgumentError("not a VERP token: wrong length");
  }
  std::string_view view(payload);
  std::string_view body = view.substr(0, view.size() - kMacBytes);
  VerpTarget target;
  if (!ParseVarint(body.substr(kIdBytes), &target.recipient)) {
    return InvalidArgumentError("not a VERP token: bad recipient index");
  }
  if (!ConstantTimeEquals(Mac(secret, body), view.substr(body.size()))) {
    return PermissionDeniedError("VERP token does not verify");
  }
  target.message_id = UnpackMessageId(body);
  return target;
}

}  // namespace herald::mail
