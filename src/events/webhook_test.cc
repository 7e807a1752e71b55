#include "events/webhook.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace herald::events {
namespace {

constexpr int64_t kNow = 1700000000;
constexpr char kSecret[] = "whsec_test";
constexpr char kBody[] = R"({"hello":"world"})";

TEST(WebhookSignatureTest, HeaderMatchesAnIndependentlyComputedHmac) {
  // Computed with Python: hmac.new(b"whsec_test", b'1700000000.{"hello":"world"}', sha256).
  EXPECT_EQ(WebhookSignatureHeader(kSecret, kNow, kBody),
            "t=1700000000,v1=f592bbf3951cfc94e560eecfb5d9dd4da6b0fff2e626235f8ab4b54860925d0b");
}

TEST(WebhookSignatureTest, RoundTrip) {
  const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, header, kBody, kNow, 300).ok());
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, header, kBody, kNow + 300, 300).ok());
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, header, kBody, kNow - 300, 300).ok());
  // Whitespace after commas and upper-case hex are tolerated.
  std::string spaced = header;
  spaced.insert(header.find(',') + 1, " ");
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, spaced, kBody, kNow, 300).ok());
  std::string upper = header;
  for (size_t i = header.find("v1=") + 3; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
  }
  ASSERT_NE(upper, header);
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, upper, kBody, kNow, 300).ok());
}

TEST(WebhookSignatureTest, TamperedBodyIsDenied) {
  const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
  const Status s = VerifyWebhookSignature(kSecret, header, R"({"hello":"World"})", kNow, 300);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
}

TEST(WebhookSignatureTest, WrongSecretIsDenied) {
  const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
  EXPECT_EQ(VerifyWebhookSignature("whsec_other", header, kBody, kNow, 300).code(),
            StatusCode::kPermissionDenied);
}

TEST(WebhookSignatureTest, TimestampIsPartOfTheSignature) {
  const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
  std::string moved = header;
  moved.replace(0, std::string("t=1700000000").size(), "t=1700000001");
  EXPECT_EQ(VerifyWebhookSignature(kSecret, moved, kBody, kNow, 300).code(),
            StatusCode::kPermissionDenied);
}

TEST(WebhookSignatureTest, StaleOrFutureTimestampIsDenied) {
  const std::string header = WebhookSignatureHeader(kSecret, kNow, kBody);
  EXPECT_EQ(VerifyWebhookSignature(kSecret, header, kBody, kNow + 301, 300).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyWebhookSignature(kSecret, header, kBody, kNow - 301, 300).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyWebhookSignature(kSecret, header, kBody, kNow, -1).code(),
            StatusCode::kInvalidArgument);
}

TEST(WebhookSignatureTest, SeveralSignaturesOneMatching) {
  const std::string good = WebhookSignatureHeader(kSecret, kNow, kBody);
  const std::string other = WebhookSignatureHeader("old-secret", kNow, kBody);
  const std::string both = other + "," + good.substr(good.find("v1=")) + ",v0=ignored";
  EXPECT_TRUE(VerifyWebhookSignature(kSecret, both, kBody, kNow, 300).ok());
  EXPECT_TRUE(VerifyWebhookSignature("old-secret", both, kBody, kNow, 300).ok());
  EXPECT_EQ(VerifyWebhookSignature("third", both, kBody, kNow, 300).code(),
            StatusCode::kPermissionDenied);
}

TEST(WebhookSignatureTest, GarbageHeadersAreDenied) {
  const std::string good = WebhookSignatureHeader(kSecret, kNow, kBody);
  const std::string sig = good.substr(good.find("v1=") + 3);
  for (const std::string& header : {
           std::string(""), std::string("garbage"),
           std::string("t=1700000000"),                              // no signature
           "v1=" + sig,                                              // no timestamp
           "t=,v1=" + sig,                                           // empty timestamp
           "t=abc,v1=" + sig,                                        // not a number
           "t=-5,v1=" + sig,                                         // negative
           "t=1700000000,t=1700000000,v1=" + sig,                    // two timestamps
           "t=1700000000,v1=" + sig.substr(1),                       // short signature
           "t=1700000000,v1=" + sig + "00",                          // long signature
           "t=1700000000,=x,v1=" + sig,                              // empty key
           "t=1700000000,v1=" + sig + "," + std::string(2000, 'x'),  // oversized
       }) {
    EXPECT_EQ(VerifyWebhookSignature(kSecret, header, kBody, kNow, 300).code(),
              StatusCode::kPermissionDenied)
        << header;
  }
}

}  // namespace
}  // namespace herald::events
