#include "mail/verp.h"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/crypto.h"
#include "base/strings.h"

namespace herald::mail {
namespace {

constexpr std::string_view kSecret = "verp-test-secret";
constexpr std::string_view kId = "01000123456789ab-4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f-000000";

// An id in the shape NewMessageId produces, from a seeded generator.
std::string MakeId(std::mt19937_64& rng) {
  std::string bytes;
  for (int i = 0; i < 24; ++i) bytes.push_back(static_cast<char>(rng() & 0xFF));
  std::string h = HexEncode(bytes);
  return h.substr(0, 16) + "-" + h.substr(16, 8) + "-" + h.substr(24, 4) + "-" + h.substr(28, 4) +
         "-" + h.substr(32, 4) + "-" + h.substr(36, 12) + "-000000";
}

std::string Encode(const VerpTarget& t, std::string_view secret = kSecret) {
  auto local = EncodeVerpLocalPart(t, secret);
  EXPECT_TRUE(local.ok()) << local.status().ToString();
  return local.ok() ? *local : std::string();
}

TEST(VerpTest, RoundTripsManyIdsAndIndexes) {
  std::mt19937_64 rng(42);
  const std::vector<uint32_t> indexes = {
      0, 1, 127, 128, 16383, 16384, 999999, 2097151, 2097152, 268435455, 268435456, UINT32_MAX};
  for (int i = 0; i < 200; ++i) {
    VerpTarget t{MakeId(rng), indexes[i % indexes.size()]};
    if (i >= static_cast<int>(indexes.size())) t.recipient = static_cast<uint32_t>(rng());
    std::string local = Encode(t);
    auto back = DecodeVerpLocalPart(local, kSecret);
    ASSERT_TRUE(back.ok()) << local << ": " << back.status().ToString();
    EXPECT_EQ(*back, t) << local;
  }
}

TEST(VerpTest, ShapeOfTheLocalPart) {
  std::string small = Encode({std::string(kId), 0});
  std::string large = Encode({std::string(kId), UINT32_MAX});
  EXPECT_EQ(small.size(), 2u + 53u);  // 33 bytes of payload
  EXPECT_EQ(large.size(), 2u + 60u);  // 37 bytes of payload
  for (const std::string& local : {small, large}) {
    EXPECT_LE(local.size(), 64u);
    EXPECT_EQ(local.substr(0, 2), "b-");
    for (char c : local.substr(2)) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << local;
    }
  }
  // Deterministic: the same target and secret give the same token.
  EXPECT_EQ(small, Encode({std::string(kId), 0}));
  // The recipient and the secret both change the token.
  EXPECT_NE(small, Encode({std::string(kId), 1}));
  EXPECT_NE(small, Encode({std::string(kId), 0}, "another secret"));
}

TEST(VerpTest, AcceptsAnyLetterCase) {
  VerpTarget t{std::string(kId), 77};
  std::string local = Encode(t);
  std::string upper = AsciiUpper(local);
  std::string mixed = local;
  for (size_t i = 0; i < mixed.size(); i += 2) {
    mixed[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[i])));
  }
  for (const std::string& variant : {upper, mixed}) {
    auto back = DecodeVerpLocalPart(variant, kSecret);
    ASSERT_TRUE(back.ok()) << variant << ": " << back.status().ToString();
    EXPECT_EQ(*back, t);
  }
}

TEST(VerpTest, EverySingleCharacterChangeIsDetected) {
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567-0189=.+_";
  for (uint32_t recipient : {0u, 300u, UINT32_MAX}) {
    std::string local = Encode({std::string(kId), recipient});
    for (size_t i = 0; i < local.size(); ++i) {
      for (char c : alphabet) {
        if (c == AsciiLower(std::string(1, local[i]))[0]) continue;
        std::string changed = local;
        changed[i] = c;
        auto back = DecodeVerpLocalPart(changed, kSecret);
        EXPECT_FALSE(back.ok()) << "position " << i << " -> " << c << ": " << changed;
      }
    }
  }
}

TEST(VerpTest, TamperedMacIsPermissionDenied) {
  std::string local = Encode({std::string(kId), 5});
  // The last-but-one character lies wholly inside the MAC.
  std::string changed = local;
  size_t pos = changed.size() - 2;
  changed[pos] = changed[pos] == 'a' ? 'b' : 'a';
  auto back = DecodeVerpLocalPart(changed, kSecret);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kPermissionDenied);
  // A changed message id with the MAC left alone is a forgery as well.
  changed = local;
  changed[5] = changed[5] == 'a' ? 'b' : 'a';
  back = DecodeVerpLocalPart(changed, kSecret);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kPermissionDenied);
}

TEST(VerpTest, WrongSecretIsPermissionDenied) {
  std::string local = Encode({std::string(kId), 9});
  auto back = DecodeVerpLocalPart(local, "not the secret");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(DecodeVerpLocalPart(local, kSecret).ok());
}

TEST(VerpTest, EmptySecretIsRefused) {
  auto enc = EncodeVerpLocalPart({std::string(kId), 0}, "");
  ASSERT_FALSE(enc.ok());
  EXPECT_EQ(enc.status().code(), StatusCode::kInvalidArgument);
  auto dec = DecodeVerpLocalPart(Encode({std::string(kId), 0}), "");
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), StatusCode::kInvalidArgument);
}

TEST(VerpTest, TooShortOrTooLongIsInvalid) {
  std::string local = Encode({std::string(kId), 1});
  std::vector<std::string> bad = {"",
                                  "b",
                                  "b-",
                                  local.substr(0, local.size() - 1),
                                  local.substr(0, local.size() - 2),
                                  local.substr(0, 20),
                                  local + "a",
                                  local + "aaaaaaaa",
                                  "b-" + std::string(70, 'a'),
                                  std::string(200, 'b')};
  for (const std::string& s : bad) {
    auto back = DecodeVerpLocalPart(s, kSecret);
    ASSERT_FALSE(back.ok()) << s;
    EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument) << s;
  }
}

TEST(VerpTest, NonBase32AndWrongPrefixAreInvalid) {
  std::string local = Encode({std::string(kId), 1});
  for (char c : std::string("0189=!@ \t\r\n\x80\xff", 14)) {
    std::string changed = local;
    changed[10] = c;
    auto back = DecodeVerpLocalPart(changed, kSecret);
    ASSERT_FALSE(back.ok());
    EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument) << static_cast<int>(c);
  }
  for (std::string prefix : {"c-", "b_", "bb", "-b"}) {
    std::string changed = prefix + local.substr(2);
    auto back = DecodeVerpLocalPart(changed, kSecret);
    ASSERT_FALSE(back.ok()) << changed;
    EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument);
  }
  // An embedded NUL is not an alphabet character either.
  std::string with_nul = local;
  with_nul[20] = '\0';
  EXPECT_EQ(DecodeVerpLocalPart(with_nul, kSecret).status().code(), StatusCode::kInvalidArgument);
}

TEST(VerpTest, NonZeroTrailingBitsAreInvalid) {
  // A 33-byte payload is 53 characters with one unused bit in the last one: setting it
  // must not give a second spelling of the same token.
  std::string local = Encode({std::string(kId), 0});
  ASSERT_EQ(local.size(), 55u);
  std::string changed = local;
  char last = changed.back();
  int v = (last >= 'a') ? last - 'a' : last - '2' + 26;
  ASSERT_EQ(v & 1, 0);
  v |= 1;
  changed.back() = v < 26 ? static_cast<char>('a' + v) : static_cast<char>('2' + v - 26);
  auto back = DecodeVerpLocalPart(changed, kSecret);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument);
}

TEST(VerpTest, EncodeRejectsIdsNotInHeraldsShape) {
  std::string good(kId);
  std::vector<std::string> bad = {
      "",
      "hello",
      good.substr(0, good.size() - 1),
      good + "0",
      "01000123456789AB-4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f-000000",  // upper-case hex
      "01000123456789ab-4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f-000001",  // other suffix
      "01000123456789ab_4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f-000000",
      "01000123456789ab-4f1c2d3e5-a6b-4c7d-8e9f-0a1b2c3d4e5f-000000",
      "01000123456789ag-4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f-000000",
      "<01000123456789ab-4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f-000000@x>",
  };
  for (const std::string& id : bad) {
    auto local = EncodeVerpLocalPart({id, 0}, kSecret);
    ASSERT_FALSE(local.ok()) << id;
    EXPECT_EQ(local.status().code(), StatusCode::kInvalidArgument) << id;
  }
}

TEST(VerpTest, NonCanonicalVarintIsRejectedEvenWithAValidMac) {
  // Build by hand a token whose index is 0 written in two bytes (0x80 0x00) and whose MAC is
  // correct: only the secret's holder could make one, and it is still refused.
  std::string local = Encode({std::string(kId), 0});
  // Decode the payload with the module's own format (24 id bytes, varint, 8 MAC bytes).
  std::string id_bytes;
  std::string h;
  for (char c : std::string(kId)) {
    if (c != '-') h.push_back(c);
  }
  h = h.substr(0, 48);
  for (size_t i = 0; i < h.size(); i += 2) {
    id_bytes.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
  }
  std::string body = id_bytes + std::string("\x80\x00", 2);
  std::string payload = body + HmacSha256(kSecret, body).substr(0, 8);
  // Base32 by hand.
  const char* alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  std::string text = "b-";
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : payload) {
    buffer = (buffer << 8) | static_cast<uint8_t>(c);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      text.push_back(alphabet[(buffer >> bits) & 0x1F]);
    }
  }
  if (bits > 0) text.push_back(alphabet[(buffer << (5 - bits)) & 0x1F]);
  // Sanity check of the hand encoder: the canonical token starts the same way.
  ASSERT_EQ(text.substr(0, 40), local.substr(0, 40));
  auto back = DecodeVerpLocalPart(text, kSecret);
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace herald::mail
