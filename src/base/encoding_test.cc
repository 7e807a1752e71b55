#include "base/encoding.h"

#include <gtest/gtest.h>

namespace herald {
namespace {

TEST(EncodingTest, HexIsLowerCase) {
  EXPECT_EQ(HexEncode(std::string("\x00\x9f\xff", 3)), "009fff");
}

TEST(EncodingTest, Base64RoundTripsAllLengths) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    auto decoded = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, data);
    data += static_cast<char>(i * 37);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
}

TEST(EncodingTest, Base64RejectsGarbage) {
  EXPECT_FALSE(Base64Decode("Zm9v!mFy").has_value());
  EXPECT_FALSE(Base64Decode("Zm8").has_value());
  EXPECT_FALSE(Base64Decode("Zm8=Zg==").has_value());
  EXPECT_FALSE(Base64Decode("Zm9v\r\nYmFy").has_value());
  EXPECT_EQ(Base64Decode("Zm9v\r\nYmFy", true).value(), "foobar");
}

// RFC 4648 section 10's vectors, without the padding base64url leaves off here.
TEST(EncodingTest, Base64UrlVectors) {
  const std::pair<std::string, std::string> kVectors[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : kVectors) {
    EXPECT_EQ(Base64UrlEncode(plain), encoded);
    EXPECT_EQ(Base64UrlDecode(encoded).value(), plain);
  }
  // The two characters that differ from base64.
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64UrlDecode("-_8").value(), "\xfb\xff");
}

TEST(EncodingTest, Base64UrlRoundTripsAllLengths) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    std::optional<std::string> decoded = Base64UrlDecode(Base64UrlEncode(data));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_EQ(*decoded, data);
    data += static_cast<char>(i * 37);
  }
}

TEST(EncodingTest, Base64UrlIsStrict) {
  EXPECT_FALSE(Base64UrlDecode("+_8").has_value());  // base64's alphabet
  EXPECT_FALSE(Base64UrlDecode("-/8").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm8=").has_value());   // padding
  EXPECT_FALSE(Base64UrlDecode("Zm9vY").has_value());  // a lone sixth of a byte group
  // "Zh" would decode to "f" too; only "Zg" is the encoding of "f".
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm 8").has_value());
}

}  // namespace
}  // namespace herald
