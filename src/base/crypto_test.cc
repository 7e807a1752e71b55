#include "base/crypto.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(CryptoTest, Sha256OfEmptyString) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoTest, HmacSha256Rfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoTest, Crc32cKnownValue) {
  // RFC 3720 B.4: CRC-32C of 32 zero bytes.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

TEST(CryptoTest, RandomTokensHaveRequestedShape) {
  std::string a = RandomUpperAlnum(16);
  EXPECT_EQ(a.size(), 16u);
  for (char c : a) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'));
  EXPECT_NE(RandomBase64Url(30), RandomBase64Url(30));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
}

}  // namespace
}  // namespace herald
