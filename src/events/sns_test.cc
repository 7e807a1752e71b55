#include "events/sns.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/crypto.h"

namespace herald::events {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the test's temporary directory, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/sns_test.XXXXXX";
    const char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// 2024-03-05T06:07:08.009Z
SysTime TestTime() { return FromUnixMillis(1709618828009); }

SnsMessage Notification() {
  SnsMessage m;
  m.type = kSnsNotification;
  m.message_id = "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324";
  m.topic_arn = "arn:aws:sns:us-east-1:123456789012:ses-events";
  m.subject = "Amazon SES Email Event Notification";
  m.message = R"({"eventType":"Bounce","mail":{"messageId":"abc"},"note":"line1\nline2 é"})";
  m.timestamp = TestTime();
  m.unsubscribe_url = "https://herald.test/sns/unsubscribe?SubscriptionArn=x";
  m.signing_cert_url = "https://herald.test/sns/cert.pem";
  return m;
}

SnsMessage Confirmation(const char* type) {
  SnsMessage m;
  m.type = type;
  m.message_id = "165545c9-2a5c-472c-8df2-7ff2be2b3b1b";
  m.topic_arn = "arn:aws:sns:us-east-1:123456789012:ses-events";
  m.message =
      "You have chosen to subscribe to the topic arn:aws:sns:us-east-1:123456789012:ses-events."
      "\nTo confirm the subscription, visit the SubscribeURL included in this message.";
  m.timestamp = TestTime();
  m.token = "2336412f37fb687f5d51e6e2425c464de12884c1";
  m.subscribe_url =
      "https://herald.test/sns/confirm?Token=2336412f37fb687f5d51e6e2425c464de12884c1";
  m.signing_cert_url = "https://herald.test/sns/cert.pem";
  return m;
}

class SnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    other_dir_ = new TempDir();
    auto signer = SnsSigner::LoadOrCreate(dir_->path());
    ASSERT_TRUE(signer.ok()) << signer.status().ToString();
    signer_ = std::move(signer).value().release();
    auto other = SnsSigner::LoadOrCreate(other_dir_->path());
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    other_signer_ = std::move(other).value().release();
  }
  static void TearDownTestSuite() {
    delete signer_;
    delete other_signer_;
    delete dir_;
    delete other_dir_;
  }

  static std::string Envelope(const SnsMessage& m) {
    auto json = EnvelopeJson(m, *signer_);
    EXPECT_TRUE(json.ok()) << json.status().ToString();
    return json.ok() ? *json : "";
  }

  static TempDir* dir_;
  static TempDir* other_dir_;
  static SnsSigner* signer_;
  static SnsSigner* other_signer_;
};

TempDir* SnsTest::dir_ = nullptr;
TempDir* SnsTest::other_dir_ = nullptr;
SnsSigner* SnsTest::signer_ = nullptr;
SnsSigner* SnsTest::other_signer_ = nullptr;

TEST(SnsStringToSignTest, NotificationFollowsTheDocumentedForm) {
  const SnsMessage m = Notification();
  std::string expected;
  for (const auto& [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"Message", m.message},
                                                        {"MessageId", m.message_id},
                                                        {"Subject", *m.subject},
                                                        {"Timestamp", "2024-03-05T06:07:08.009Z"},
                                                        {"TopicArn", m.topic_arn},
                                                        {"Type", "Notification"}}) {
    expected += k + "\n" + v + "\n";
  }
  EXPECT_EQ(StringToSign(m), expected);
}

TEST(SnsStringToSignTest, NotificationWithoutSubjectOmitsTheKey) {
  SnsMessage m = Notification();
  m.subject.reset();
  const std::string expected = "Message\n" + m.message + "\nMessageId\n" + m.message_id +
                               "\nTimestamp\n2024-03-05T06:07:08.009Z\nTopicArn\n" + m.topic_arn +
                               "\nType\nNotification\n";
  EXPECT_EQ(StringToSign(m), expected);
  // An empty subject is still a present subject.
  m.subject = "";
  EXPECT_NE(StringToSign(m).find("\nSubject\n\nTimestamp\n"), std::string::npos);
}

TEST(SnsStringToSignTest, ConfirmationsFollowTheDocumentedForm) {
  for (const char* type : {kSnsSubscriptionConfirmation, kSnsUnsubscribeConfirmation}) {
    SnsMessage m = Confirmation(type);
    m.subject = "ignored for confirmations";
    m.unsubscribe_url = "https://ignored.test/";
    const std::string expected = "Message\n" + m.message + "\nMessageId\n" + m.message_id +
                                 "\nSubscribeURL\n" + m.subscribe_url +
                                 "\nTimestamp\n2024-03-05T06:07:08.009Z\nToken\n" + m.token +
                                 "\nTopicArn\n" + m.topic_arn + "\nType\n" + type + "\n";
    EXPECT_EQ(StringToSign(m), expected) << type;
  }
}

TEST_F(SnsTest, NotificationEnvelopeHasSnsLayout) {
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(Envelope(Notification()));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) {
    keys.push_back(k);
    EXPECT_TRUE(v.is_string()) << k;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"Type", "MessageId", "TopicArn", "Subject", "Message",
                                            "Timestamp", "SignatureVersion", "Signature",
                                            "SigningCertURL", "UnsubscribeURL"}));
  const SnsMessage m = Notification();
  EXPECT_EQ(j["Type"], "Notification");
  EXPECT_EQ(j["Message"], m.message);
  EXPECT_EQ(j["Timestamp"], "2024-03-05T06:07:08.009Z");
  EXPECT_EQ(j["SignatureVersion"], "1");
  EXPECT_EQ(j["SigningCertURL"], m.signing_cert_url);
  EXPECT_EQ(j["UnsubscribeURL"], m.unsubscribe_url);
  EXPECT_TRUE(Base64Decode(j["Signature"].get<std::string>()).has_value());

  SnsMessage no_subject = Notification();
  no_subject.subject.reset();
  no_subject.signature_version = 2;
  const nlohmann::json j2 = nlohmann::json::parse(Envelope(no_subject));
  EXPECT_FALSE(j2.contains("Subject"));
  EXPECT_EQ(j2["SignatureVersion"], "2");
}

TEST_F(SnsTest, ConfirmationEnvelopeHasSnsLayout) {
  SnsMessage m = Confirmation(kSnsSubscriptionConfirmation);
  m.subject = "not sent";
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(Envelope(m));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) {
    keys.push_back(k);
    EXPECT_TRUE(v.is_string()) << k;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"Type", "MessageId", "Token", "TopicArn", "Message",
                                            "SubscribeURL", "Timestamp", "SignatureVersion",
                                            "Signature", "SigningCertURL"}));
  EXPECT_EQ(j["Token"], m.token);
  EXPECT_EQ(j["SubscribeURL"], m.subscribe_url);
}

TEST_F(SnsTest, SignAndVerifyRoundTripBothVersions) {
  for (int version : {1, 2}) {
    for (SnsMessage m : {Notification(), Confirmation(kSnsSubscriptionConfirmation),
                         Confirmation(kSnsUnsubscribeConfirmation)}) {
      m.signature_version = version;
      const std::string json = Envelope(m);
      const Status s = VerifyEnvelope(json, signer_->CertPem());
      EXPECT_TRUE(s.ok()) << m.type << " v" << version << ": " << s.ToString();
    }
  }
}

// Checks a signature with raw OpenSSL calls, independently of VerifyEnvelope.
bool RawVerify(const std::string& cert_pem, const EVP_MD* md, const std::string& data,
               const std::string& signature_b64) {
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return false;
  const std::string sig = Base64Decode(signature_b64).value_or("");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, X509_get0_pubkey(cert)) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                       reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  X509_free(cert);
  return ok;
}

TEST_F(SnsTest, VersionOneIsSha1WithRsaAndVersionTwoSha256WithRsa) {
  const std::string text = StringToSign(Notification());
  auto v1 = signer_->Sign(text, 1);
  auto v2 = signer_->Sign(text, 2);
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(v2.ok());
  EXPECT_TRUE(RawVerify(signer_->CertPem(), EVP_sha1(), text, *v1));
  EXPECT_FALSE(RawVerify(signer_->CertPem(), EVP_sha256(), text, *v1));
  EXPECT_TRUE(RawVerify(signer_->CertPem(), EVP_sha256(), text, *v2));
  EXPECT_FALSE(RawVerify(signer_->CertPem(), EVP_sha1(), text, *v2));
  EXPECT_EQ(Base64Decode(*v1)->size(), 256u);  // RSA-2048
  EXPECT_EQ(signer_->Sign(text, 3).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(signer_->Sign(text, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SnsTest, AnyChangedFieldFailsVerification) {
  struct Case {
    SnsMessage message;
    const char* key;
    std::string value;  // empty: remove the key
  };
  const std::vector<Case> cases = {
      {Notification(), "Message", "{\"eventType\":\"Delivery\"}"},
      {Notification(), "MessageId", "00000000-0000-0000-0000-000000000000"},
      {Notification(), "TopicArn", "arn:aws:sns:us-east-1:123456789012:other"},
      {Notification(), "Timestamp", "2024-03-05T06:07:08.010Z"},
      {Notification(), "Subject", "Another subject"},
      {Notification(), "Subject", ""},
      {Notification(), "SignatureVersion", "2"},
      {Confirmation(kSnsSubscriptionConfirmation), "Type", kSnsUnsubscribeConfirmation},
      {Confirmation(kSnsSubscriptionConfirmation), "Token", "forged"},
      {Confirmation(kSnsSubscriptionConfirmation), "SubscribeURL", "https://evil.test/"},
      {Confirmation(kSnsSubscriptionConfirmation), "Message", "Please visit evil.test"},
      {Confirmation(kSnsUnsubscribeConfirmation), "Timestamp", "2030-01-01T00:00:00.000Z"},
  };
  for (const Case& c : cases) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(Envelope(c.message));
    ASSERT_TRUE(VerifyEnvelope(j.dump(), signer_->CertPem()).ok());
    if (c.value.empty()) {
      j.erase(c.key);
    } else {
      j[c.key] = c.value;
    }
    const Status s = VerifyEnvelope(j.dump(), signer_->CertPem());
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << c.key << " := " << c.value;
  }
  // Adding a Subject to a notification that had none.
  SnsMessage m = Notification();
  m.subject.reset();
  nlohmann::json j = nlohmann::json::parse(Envelope(m));
  j["Subject"] = "added";
  EXPECT_EQ(VerifyEnvelope(j.dump(), signer_->CertPem()).code(), StatusCode::kPermissionDenied);
  // A flipped bit in the signature itself.
  j = nlohmann::json::parse(Envelope(Notification()));
  std::string sig = *Base64Decode(j["Signature"].get<std::string>());
  sig[10] = static_cast<char>(sig[10] ^ 1);
  j["Signature"] = Base64Encode(sig);
  EXPECT_EQ(VerifyEnvelope(j.dump(), signer_->CertPem()).code(), StatusCode::kPermissionDenied);
}

TEST_F(SnsTest, DifferentCertificateFails) {
  ASSERT_NE(signer_->CertPem(), other_signer_->CertPem());
  const std::string json = Envelope(Notification());
  EXPECT_EQ(VerifyEnvelope(json, other_signer_->CertPem()).code(), StatusCode::kPermissionDenied);
}

TEST_F(SnsTest, MalformedInputIsInvalidArgument) {
  const std::string json = Envelope(Notification());
  EXPECT_EQ(VerifyEnvelope("not json", signer_->CertPem()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyEnvelope("[1,2]", signer_->CertPem()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyEnvelope(json, "not a certificate").code(), StatusCode::kInvalidArgument);
  for (const char* key :
       {"Type", "MessageId", "Timestamp", "TopicArn", "Message", "Signature", "SignatureVersion"}) {
    nlohmann::json j = nlohmann::json::parse(json);
    j.erase(key);
    EXPECT_EQ(VerifyEnvelope(j.dump(), signer_->CertPem()).code(), StatusCode::kInvalidArgument)
        << "without " << key;
    j = nlohmann::json::parse(json);
    j[key] = 7;
    EXPECT_EQ(VerifyEnvelope(j.dump(), signer_->CertPem()).code(), StatusCode::kInvalidArgument)
        << key << " as a number";
  }
  nlohmann::json j = nlohmann::json::parse(json);
  j["Signature"] = "***";
  EXPECT_EQ(VerifyEnvelope(j.dump(), signer_->CertPem()).code(), StatusCode::kInvalidArgument);
  j = nlohmann::json::parse(json);
  j["Type"] = "Bogus";
  EXPECT_EQ(VerifyEnvelope(j.dump(), signer_->CertPem()).code(), StatusCode::kInvalidArgument);
}

TEST_F(SnsTest, EnvelopeRejectsWhatSnsCannotSend) {
  SnsMessage m = Notification();
  m.type = "Bogus";
  EXPECT_EQ(EnvelopeJson(m, *signer_).status().code(), StatusCode::kInvalidArgument);
  m = Notification();
  m.signature_version = 3;
  EXPECT_EQ(EnvelopeJson(m, *signer_).status().code(), StatusCode::kInvalidArgument);
  m = Notification();
  m.message = "bad \xff utf-8";
  EXPECT_EQ(EnvelopeJson(m, *signer_).status().code(), StatusCode::kInvalidArgument);
}

TEST(SnsHeadersTest, NotificationAndConfirmationHeaders) {
  const SnsMessage n = Notification();
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(SnsHeaders(n, "arn:aws:sns:us-east-1:123456789012:ses-events:sub-1"),
            (Headers{{"x-amz-sns-message-type", "Notification"},
                     {"x-amz-sns-message-id", n.message_id},
                     {"x-amz-sns-topic-arn", n.topic_arn},
                     {"x-amz-sns-subscription-arn",
                      "arn:aws:sns:us-east-1:123456789012:ses-events:sub-1"},
                     {"Content-Type", "text/plain; charset=UTF-8"}}));
  const SnsMessage c = Confirmation(kSnsSubscriptionConfirmation);
  EXPECT_EQ(SnsHeaders(c, "ignored"),
            (Headers{{"x-amz-sns-message-type", "SubscriptionConfirmation"},
                     {"x-amz-sns-message-id", c.message_id},
                     {"x-amz-sns-topic-arn", c.topic_arn},
                     {"Content-Type", "text/plain; charset=UTF-8"}}));
}

TEST(SnsSignerTest, KeyAndCertificateSurviveAReload) {
  TempDir dir;
  auto first = SnsSigner::LoadOrCreate(dir.path() + "/sns");  // created when missing
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string key_path = dir.path() + "/sns/" + kSnsKeyFile;
  const std::string cert_path = dir.path() + "/sns/" + kSnsCertFile;
  struct stat st;
  ASSERT_EQ(::stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(cert_path.c_str(), &st), 0);
  EXPECT_FALSE(fs::exists(key_path + ".tmp"));
  EXPECT_EQ(ReadAll(cert_path), (*first)->CertPem());
  const std::string key_before = ReadAll(key_path);

  auto second = SnsSigner::LoadOrCreate(dir.path() + "/sns");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ((*second)->CertPem(), (*first)->CertPem());
  EXPECT_EQ(ReadAll(key_path), key_before);
  // The reloaded key signs what the first certificate verifies.
  SnsMessage m = Notification();
  auto json = EnvelopeJson(m, **second);
  ASSERT_TRUE(json.ok());
  EXPECT_TRUE(VerifyEnvelope(*json, (*first)->CertPem()).ok());
}

TEST(SnsSignerTest, CertificateIsSelfSignedForTenYears) {
  TempDir dir;
  auto signer = SnsSigner::LoadOrCreate(dir.path());
  ASSERT_TRUE(signer.ok());
  const std::string& pem = (*signer)->CertPem();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  char cn[128] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "herald SNS signing");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)), 0);
  EXPECT_EQ(X509_verify(cert, X509_get0_pubkey(cert)), 1);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(cert)), 2048);
  int days = 0;
  int secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert), X509_get0_notAfter(cert)), 1);
  EXPECT_GE(days, 3649);
  EXPECT_LE(days, 3655);
  X509_free(cert);
}

TEST(SnsSignerTest, KeyWithoutCertificateGetsANewCertificate) {
  TempDir dir;
  auto first = SnsSigner::LoadOrCreate(dir.path());
  ASSERT_TRUE(first.ok());
  const std::string cert_path = dir.path() + "/" + kSnsCertFile;
  fs::remove(cert_path);
  auto second = SnsSigner::LoadOrCreate(dir.path());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE(fs::exists(cert_path));
  // Same key: the old certificate still verifies new signatures.
  auto json = EnvelopeJson(Notification(), **second);
  ASSERT_TRUE(json.ok());
  EXPECT_TRUE(VerifyEnvelope(*json, (*first)->CertPem()).ok());
  EXPECT_TRUE(VerifyEnvelope(*json, (*second)->CertPem()).ok());
}

TEST(SnsSignerTest, BrokenStateIsAnErrorNotReplaced) {
  TempDir a;
  TempDir b;
  ASSERT_TRUE(SnsSigner::LoadOrCreate(a.path()).ok());
  ASSERT_TRUE(SnsSigner::LoadOrCreate(b.path()).ok());
  const std::string a_key = a.path() + "/" + kSnsKeyFile;
  const std::string a_cert = a.path() + "/" + kSnsCertFile;
  const std::string b_cert = b.path() + "/" + kSnsCertFile;

  // Another key pair's certificate.
  const std::string own_cert = ReadAll(a_cert);
  WriteAll(a_cert, ReadAll(b_cert));
  EXPECT_EQ(SnsSigner::LoadOrCreate(a.path()).status().code(), StatusCode::kFailedPrecondition);
  // A corrupt certificate.
  WriteAll(a_cert, "garbage");
  EXPECT_EQ(SnsSigner::LoadOrCreate(a.path()).status().code(), StatusCode::kDataLoss);
  WriteAll(a_cert, own_cert);
  ASSERT_TRUE(SnsSigner::LoadOrCreate(a.path()).ok());
  // A corrupt key.
  const std::string own_key = ReadAll(a_key);
  WriteAll(a_key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  EXPECT_EQ(SnsSigner::LoadOrCreate(a.path()).status().code(), StatusCode::kDataLoss);
  // A certificate without its key.
  fs::remove(a_key);
  EXPECT_EQ(SnsSigner::LoadOrCreate(a.path()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAll(a_cert), own_cert);
}

TEST(SnsSignerTest, LooseKeyPermissionsAreTightened) {
  TempDir dir;
  ASSERT_TRUE(SnsSigner::LoadOrCreate(dir.path()).ok());
  const std::string key_path = dir.path() + "/" + kSnsKeyFile;
  ASSERT_EQ(::chmod(key_path.c_str(), 0644), 0);
  ASSERT_TRUE(SnsSigner::LoadOrCreate(dir.path()).ok());
  struct stat st;
  ASSERT_EQ(::stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace herald::events
