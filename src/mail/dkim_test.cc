#include "mail/dkim.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <set>

#include "base/crypto.h"
#include "base/strings.h"

namespace herald::mail {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// ---- RFC 8463 appendix A: keys, records and the signed example message ----

// A.1: the Ed25519 secret key of RFC 8032 7.1 test 1, wrapped in PKCS#8 here.
constexpr char kRfcEd25519Pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
constexpr char kRfcEd25519Public[] = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

// A.2: the RSA key (PKCS#1) and its published p= value.
constexpr char kRfcRsaPem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";
constexpr char kRfcRsaPublic[] =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pzox"
    "ZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";

constexpr char kRfcEdField[] =
    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
    " subject : date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n";
constexpr char kRfcEdSignature[] =
    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
constexpr char kRfcRsaField[] =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
    " d=football.example.com; i=@football.example.com;\r\n"
    " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
    " date : message-id : from : subject : date;\r\n"
    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
    " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3\r\n"
    " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz\r\n"
    " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=\r\n";
constexpr char kRfcRsaSignature[] =
    "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS"
    "9mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";
constexpr char kRfcHeader[] =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n";
constexpr char kRfcBody[] = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";
constexpr char kRfcBodyHash[] = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";

std::string RfcMessage() {
  return std::string(kRfcEdField) + kRfcRsaField + kRfcHeader + "\r\n" + kRfcBody;
}

// A lookup over a fixed table of "<selector>._domainkey.<domain>" -> TXT strings.
DkimKeyLookup TableLookup(std::map<std::string, std::string> table) {
  return [table = std::move(table)](const std::string& d,
                                    const std::string& s) -> StatusOr<std::vector<std::string>> {
    auto it = table.find(s + "._domainkey." + d);
    if (it == table.end()) return std::vector<std::string>{};
    return std::vector<std::string>{it->second};
  };
}

DkimKeyLookup RfcLookup() {
  return TableLookup({{"brisbane._domainkey.football.example.com",
                       DkimDnsRecord(DkimAlgorithm::kEd25519Sha256, kRfcEd25519Public)},
                      {"test._domainkey.football.example.com",
                       DkimDnsRecord(DkimAlgorithm::kRsaSha256, kRfcRsaPublic)}});
}

TEST(DkimCanonicalTest, RelaxedBody) {
  EXPECT_EQ(CanonicalBodyRelaxed(""), "");
  EXPECT_EQ(CanonicalBodyRelaxed("\r\n"), "");
  EXPECT_EQ(CanonicalBodyRelaxed("\r\n \t\r\n"), "");
  EXPECT_EQ(CanonicalBodyRelaxed("a  b \t\r\n\r\n\r\n"), "a b\r\n");
  EXPECT_EQ(CanonicalBodyRelaxed(" x\t y"), " x y\r\n");  // missing final CRLF is added
  EXPECT_EQ(CanonicalBodyRelaxed("one\r\n\r\ntwo\r\n  \r\n"), "one\r\n\r\ntwo\r\n");
}

TEST(DkimCanonicalTest, RelaxedHeader) {
  EXPECT_EQ(CanonicalHeaderRelaxed("SubJect :  Hello \r\n\t  World  \r\n"),
            "subject:Hello World\r\n");
  EXPECT_EQ(CanonicalHeaderRelaxed("To:a@b.example"), "to:a@b.example\r\n");
  EXPECT_EQ(CanonicalHeaderRelaxed("X-Empty:   \r\n"), "x-empty:\r\n");
}

TEST(DkimKnownAnswerTest, Rfc8463BodyHash) {
  EXPECT_EQ(Base64Encode(Sha256(CanonicalBodyRelaxed(kRfcBody))), kRfcBodyHash);
}

TEST(DkimKnownAnswerTest, Rfc8463KeysMatchTheirRecords) {
  EXPECT_EQ(DkimPublicKeyBase64(kRfcRsaPem).value(), kRfcRsaPublic);
  EXPECT_EQ(DkimPublicKeyBase64(kRfcEd25519Pem).value(), kRfcEd25519Public);
}

// Both algorithms are deterministic (Ed25519; RSASSA-PKCS1-v1_5), so signing the RFC's
// own fields over the RFC's message must reproduce the published b= values exactly.
TEST(DkimKnownAnswerTest, Rfc8463SignaturesAreReproduced) {
  const std::string message = RfcMessage();
  auto ed_input = DkimSigningInput(message, kRfcEdField);
  ASSERT_TRUE(ed_input.ok()) << ed_input.status().ToString();
  EXPECT_THAT(*ed_input, StartsWith("from:Joe SixPack <joe@football.example.com>\r\n"
                                    "to:Suzie Q <suzie@shopping.example.net>\r\n"));
  EXPECT_THAT(*ed_input, HasSubstr("dkim-signature:v=1; a=ed25519-sha256; c=relaxed/relaxed; "
                                   "d=football.example.com;"));
  EXPECT_FALSE(ed_input->ends_with("\r\n"));
  EXPECT_TRUE(ed_input->ends_with("b="));
  EXPECT_EQ(DkimSignBytes(DkimAlgorithm::kEd25519Sha256, kRfcEd25519Pem, *ed_input).value(),
            kRfcEdSignature);

  auto rsa_input = DkimSigningInput(message, kRfcRsaField);
  ASSERT_TRUE(rsa_input.ok()) << rsa_input.status().ToString();
  EXPECT_EQ(DkimSignBytes(DkimAlgorithm::kRsaSha256, kRfcRsaPem, *rsa_input).value(),
            kRfcRsaSignature);
}

TEST(DkimVerifyTest, Rfc8463MessageVerifies) {
  EXPECT_TRUE(VerifyDkim(RfcMessage(), RfcLookup()).ok());
}

TEST(DkimVerifyTest, TamperingIsDetected) {
  const std::string message = RfcMessage();
  std::string subject = message;
  subject.replace(subject.find("dinner"), 6, "supper");
  EXPECT_EQ(VerifyDkim(subject, RfcLookup()).code(), StatusCode::kPermissionDenied);

  std::string body = message;
  body.replace(body.find("lost"), 4, "won!");
  Status st = VerifyDkim(body, RfcLookup());
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(st.message(), HasSubstr("body hash"));

  // h= lists From twice while one is present: a second From breaks the signature.
  std::string extra_from = message;
  extra_from.insert(extra_from.find("From:"), "From: Mallory <m@evil.example>\r\n");
  EXPECT_EQ(VerifyDkim(extra_from, RfcLookup()).code(), StatusCode::kPermissionDenied);

  // A wrong key in DNS.
  auto other = GenerateDkimKey(DkimAlgorithm::kEd25519Sha256);
  ASSERT_TRUE(other.ok());
  auto wrong =
      TableLookup({{"brisbane._domainkey.football.example.com",
                    DkimDnsRecord(DkimAlgorithm::kEd25519Sha256, other->public_key_base64)},
                   {"test._domainkey.football.example.com",
                    DkimDnsRecord(DkimAlgorithm::kRsaSha256, kRfcRsaPublic)}});
  EXPECT_EQ(VerifyDkim(message, wrong).code(), StatusCode::kPermissionDenied);
  // No record at all.
  EXPECT_EQ(VerifyDkim(message, TableLookup({})).code(), StatusCode::kInvalidArgument);
  // No signature.
  EXPECT_EQ(VerifyDkim(std::string(kRfcHeader) + "\r\n" + kRfcBody, RfcLookup()).code(),
            StatusCode::kNotFound);
}

// ---- Signing ----

std::string TestMessage() {
  return "Received: from client.example by herald; Tue, 1 Dec 2026 10:00:00 +0000\r\n"
         "From: Alice <alice@example.com>\r\n"
         "To: bob@example.org,\r\n carol@example.net\r\n"
         "To: dave@example.org\r\n"
         "Subject: Quarterly   report\r\n"
         "Date: Tue, 1 Dec 2026 10:00:00 +0000\r\n"
         "Message-ID: <0100018c-1234@email.example.com>\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: text/plain; charset=UTF-8\r\n"
         "X-Mailer: test\r\n"
         "\r\n"
         "Hello Bob,  \r\n"
         "\r\n"
         "the numbers are in.\r\n";
}

std::string Unfold(const std::string& field) {
  std::string out;
  for (char c : field) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

SysTime At(int64_t unix_seconds) { return FromUnixMillis(unix_seconds * 1000); }

struct Signed {
  DkimSigner signer;
  std::string record;
  std::string field;
};

Signed SignWithNewKey(DkimAlgorithm algorithm, const std::string& message) {
  Signed s;
  auto key = GenerateDkimKey(algorithm, 2048);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  if (!key.ok()) return s;
  s.signer = DkimSigner{"example.com", RandomDkimSelector(), algorithm, key->private_key_pem};
  s.record = DkimDnsRecord(algorithm, key->public_key_base64);
  auto field = SignDkim(s.signer, message, At(1796000000));
  EXPECT_TRUE(field.ok()) << field.status().ToString();
  if (field.ok()) s.field = *field;
  return s;
}

DkimKeyLookup LookupFor(const Signed& s) {
  return TableLookup({{s.signer.selector + "._domainkey.example.com", s.record}});
}

TEST(DkimSignTest, RsaRoundTripAndFieldShape) {
  const std::string message = TestMessage();
  Signed s = SignWithNewKey(DkimAlgorithm::kRsaSha256, message);
  ASSERT_FALSE(s.field.empty());
  EXPECT_THAT(s.field, StartsWith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;"));
  const std::string unfolded = Unfold(s.field);
  EXPECT_THAT(unfolded, HasSubstr(" d=example.com; s=" + s.signer.selector + "; t=1796000000;"));
  EXPECT_TRUE(s.field.ends_with("\r\n"));
  EXPECT_FALSE(s.field.ends_with("\r\n\r\n"));
  // Every line is at most 78 characters; continuation lines start with a space.
  size_t pos = 0;
  int lines = 0;
  while (pos < s.field.size()) {
    size_t eol = s.field.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - pos, 78u) << s.field.substr(pos, eol - pos);
    if (lines > 0) {
      EXPECT_EQ(s.field[pos], ' ');
    }
    ++lines;
    pos = eol + 2;
  }
  EXPECT_GT(lines, 3);

  // h=: fields in the fixed order, both To fields, From oversigned, nothing unlisted.
  std::string h = unfolded.substr(unfolded.find("h=") + 2);
  h = h.substr(0, h.find(';'));
  std::string compact;
  for (char c : h) {
    if (c != ' ') compact.push_back(c);
  }
  EXPECT_EQ(compact, "From:From:Subject:Date:Message-ID:To:To:MIME-Version:Content-Type");

  const std::string signed_message = s.field + message;
  EXPECT_TRUE(VerifyDkim(signed_message, LookupFor(s)).ok());
}

TEST(DkimSignTest, Ed25519RoundTrip) {
  const std::string message = TestMessage();
  Signed s = SignWithNewKey(DkimAlgorithm::kEd25519Sha256, message);
  ASSERT_FALSE(s.field.empty());
  EXPECT_THAT(s.field, StartsWith("DKIM-Signature: v=1; a=ed25519-sha256;"));
  EXPECT_THAT(s.record, StartsWith("v=DKIM1; k=ed25519; p="));
  EXPECT_TRUE(VerifyDkim(s.field + message, LookupFor(s)).ok());
}

TEST(DkimSignTest, RelaxedCanonicalisationToleratesTransitChanges) {
  const std::string message = TestMessage();
  Signed s = SignWithNewKey(DkimAlgorithm::kRsaSha256, message);
  ASSERT_FALSE(s.field.empty());
  const DkimKeyLookup lookup = LookupFor(s);

  // Refolded and re-spaced header fields, re-cased names, trailing blank lines and
  // trailing white space in the body, an unsigned field changed, a trace field added.
  std::string changed = message;
  changed.replace(changed.find("Subject: Quarterly   report"), 27,
                  "subject:Quarterly\r\n\treport  ");
  changed.replace(changed.find("X-Mailer: test"), 14, "X-Mailer: other");
  changed.replace(changed.find("Hello Bob,  "), 12, "Hello   Bob,");
  changed += "\r\n\r\n";
  changed = "Received: by relay.example; Tue, 1 Dec 2026 10:00:01 +0000\r\n" + changed;
  EXPECT_TRUE(VerifyDkim(s.field + changed, lookup).ok());

  // What must not change: a signed value, the order of two signed To fields, the body.
  std::string to_swapped = message;
  to_swapped.replace(to_swapped.find("dave@"), 4, "erin");
  EXPECT_EQ(VerifyDkim(s.field + to_swapped, lookup).code(), StatusCode::kPermissionDenied);
  std::string body = message + "P.S.\r\n";
  EXPECT_EQ(VerifyDkim(s.field + body, lookup).code(), StatusCode::kPermissionDenied);
  std::string added_cc = message;
  added_cc.insert(added_cc.find("MIME-Version"), "Cc: spy@example.net\r\n");
  // Cc was absent and is not oversigned: adding one is allowed by the signature...
  EXPECT_TRUE(VerifyDkim(s.field + added_cc, lookup).ok());
  // ...but a second From is not.
  std::string added_from = message;
  added_from.insert(0, "From: Mallory <m@evil.example>\r\n");
  EXPECT_EQ(VerifyDkim(s.field + added_from, lookup).code(), StatusCode::kPermissionDenied);
}

TEST(DkimSignTest, EmptyBodyAndLongHeaders) {
  std::string message =
      "From: a@example.com\r\nSubject: " + std::string(200, 'x') + "\r\nReferences:";
  for (int i = 0; i < 20; ++i) message += " <ref" + std::to_string(i) + "@example.com>\r\n";
  message += "\r\n";
  Signed s = SignWithNewKey(DkimAlgorithm::kRsaSha256, message);
  ASSERT_FALSE(s.field.empty());
  EXPECT_THAT(s.field,
              HasSubstr("bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));  // SHA-256("")
  EXPECT_TRUE(VerifyDkim(s.field + message, LookupFor(s)).ok());
}

TEST(DkimSignTest, Errors) {
  auto key = GenerateDkimKey(DkimAlgorithm::kRsaSha256, 1024);
  ASSERT_TRUE(key.ok());
  DkimSigner signer{"example.com", "sel", DkimAlgorithm::kRsaSha256, key->private_key_pem};
  const SysTime now = At(1796000000);
  EXPECT_EQ(SignDkim(signer, "From: a@example.com\r\nSubject: x\r\n", now).status().code(),
            StatusCode::kInvalidArgument);  // no empty line
  EXPECT_EQ(SignDkim(signer, "Subject: x\r\n\r\nbody\r\n", now).status().code(),
            StatusCode::kInvalidArgument);  // no From
  const std::string ok_message = "From: a@example.com\r\n\r\nbody\r\n";
  EXPECT_TRUE(SignDkim(signer, ok_message, now).ok());

  DkimSigner wrong_algorithm = signer;
  wrong_algorithm.algorithm = DkimAlgorithm::kEd25519Sha256;
  EXPECT_EQ(SignDkim(wrong_algorithm, ok_message, now).status().code(),
            StatusCode::kInvalidArgument);
  DkimSigner garbage = signer;
  garbage.private_key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  Status st = SignDkim(garbage, ok_message, now).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  DkimSigner no_selector = signer;
  no_selector.selector = "a;b";
  EXPECT_EQ(SignDkim(no_selector, ok_message, now).status().code(), StatusCode::kInvalidArgument);

  // RSA keys below 1024 bits are refused (RFC 8301).
  EVP_PKEY* small = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(768));
  ASSERT_NE(small, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, small, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  DkimSigner weak = signer;
  weak.private_key_pem.assign(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(small);
  st = SignDkim(weak, ok_message, now).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("768 bits"));
  EXPECT_EQ(GenerateDkimKey(DkimAlgorithm::kRsaSha256, 512).status().code(),
            StatusCode::kInvalidArgument);
}

// ---- Keys and records ----

// The base64 DER inside a PEM (what SES's DomainSigningPrivateKey carries).
std::string PemBody(const std::string& pem) {
  std::string out;
  for (std::string_view line : Split(pem, '\n')) {
    if (!line.empty() && !line.starts_with("-----")) out.append(line);
  }
  return out;
}

TEST(DkimKeyTest, ParsePrivateKeyAcceptsPemAndBase64Der) {
  // PKCS#1 DER in base64 (the body of an "RSA PRIVATE KEY" PEM).
  auto rsa = ParseDkimPrivateKey(PemBody(kRfcRsaPem));
  ASSERT_TRUE(rsa.ok()) << rsa.status().ToString();
  EXPECT_EQ(rsa->algorithm, DkimAlgorithm::kRsaSha256);
  EXPECT_EQ(rsa->bits, 1024);
  EXPECT_EQ(rsa->public_key_base64, kRfcRsaPublic);
  EXPECT_THAT(rsa->private_key_pem, StartsWith("-----BEGIN PRIVATE KEY-----"));
  // The re-encoded key signs exactly as the original.
  EXPECT_EQ(DkimSignBytes(DkimAlgorithm::kRsaSha256, rsa->private_key_pem, "x").value(),
            DkimSignBytes(DkimAlgorithm::kRsaSha256, kRfcRsaPem, "x").value());

  // PKCS#8 DER in base64, with line breaks left in.
  auto ed =
      ParseDkimPrivateKey("MC4CAQAwBQYDK2VwBCIE\nIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g");
  ASSERT_TRUE(ed.ok()) << ed.status().ToString();
  EXPECT_EQ(ed->algorithm, DkimAlgorithm::kEd25519Sha256);
  EXPECT_EQ(ed->public_key_base64, kRfcEd25519Public);

  auto pem = ParseDkimPrivateKey(kRfcEd25519Pem);
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(pem->public_key_base64, kRfcEd25519Public);

  EXPECT_EQ(ParseDkimPrivateKey("not a key").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDkimPrivateKey(Base64Encode("not DER at all")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDkimPrivateKey("").status().code(), StatusCode::kInvalidArgument);
  // A public key is not a private key.
  EXPECT_EQ(ParseDkimPrivateKey(kRfcRsaPublic).status().code(), StatusCode::kInvalidArgument);
}

TEST(DkimKeyTest, GeneratedKeysHaveTheirSizeAndMatchingRecords) {
  auto rsa = GenerateDkimKey(DkimAlgorithm::kRsaSha256, 2048);
  ASSERT_TRUE(rsa.ok());
  auto info = ParseDkimPrivateKey(rsa->private_key_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->bits, 2048);
  EXPECT_EQ(info->public_key_base64, rsa->public_key_base64);
  EXPECT_EQ(DkimPublicKeyBase64(rsa->private_key_pem).value(), rsa->public_key_base64);
  EXPECT_EQ(DkimDnsRecord(DkimAlgorithm::kRsaSha256, rsa->public_key_base64),
            "v=DKIM1; k=rsa; p=" + rsa->public_key_base64);
  auto again = GenerateDkimKey(DkimAlgorithm::kRsaSha256, 2048);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->public_key_base64, rsa->public_key_base64);
}

TEST(DkimKeyTest, ParseKeyRecord) {
  auto r = ParseDkimKeyRecord("v=DKIM1; k=rsa; p=MIGf MA0G\tCSq");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->key_type, "rsa");
  EXPECT_EQ(r->public_key, "MIGfMA0GCSq");
  r = ParseDkimKeyRecord("k=ED25519;p=abc;");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->key_type, "ed25519");
  r = ParseDkimKeyRecord("p=");  // revoked
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->key_type, "rsa");
  EXPECT_TRUE(r->public_key.empty());
  EXPECT_FALSE(ParseDkimKeyRecord("v=spf1 -all").ok());
  EXPECT_FALSE(ParseDkimKeyRecord("p=abc; v=DKIM1").ok());
  EXPECT_FALSE(ParseDkimKeyRecord("v=DKIM2; p=abc").ok());
  EXPECT_FALSE(ParseDkimKeyRecord("p=a; p=b").ok());
  EXPECT_FALSE(ParseDkimKeyRecord("").ok());
}

TEST(DkimKeyTest, RandomSelector) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    std::string s = RandomDkimSelector();
    EXPECT_EQ(s.size(), 32u);
    for (char c : s) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')) << s;
    }
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(DkimKeyTest, AlgorithmNames) {
  DkimAlgorithm a;
  ASSERT_TRUE(ParseDkimAlgorithm("ed25519-sha256", &a));
  EXPECT_EQ(a, DkimAlgorithm::kEd25519Sha256);
  ASSERT_TRUE(ParseDkimAlgorithm(DkimAlgorithmName(DkimAlgorithm::kRsaSha256), &a));
  EXPECT_EQ(a, DkimAlgorithm::kRsaSha256);
  EXPECT_FALSE(ParseDkimAlgorithm("rsa-sha1", &a));
}

}  // namespace
}  // namespace herald::mail
