#include "sending/egress_identity.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_store.h"

namespace herald::sending {
namespace {

using store::Identity;
using store::IdentityType;
using store::VerificationStatus;
using ::testing::HasSubstr;

class EgressIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    account_ = store_.CreateAccount("acme", clock_.Now()).value().id;
    other_account_ = store_.CreateAccount("other", clock_.Now()).value().id;
    auto key = mail::GenerateDkimKey(mail::DkimAlgorithm::kEd25519Sha256);
    ASSERT_TRUE(key.ok());
    key_ = *key;
  }

  Identity Domain(const std::string& name, VerificationStatus dkim_status, int64_t account = -1) {
    Identity id;
    id.account_id = account < 0 ? account_ : account;
    id.name = name;
    id.type = IdentityType::kDomain;
    id.status = VerificationStatus::kSuccess;
    id.created = clock_.Now();
    id.dkim_selector = "sel" + std::to_string(name.size());
    id.dkim_private_key_pem = key_.private_key_pem;
    id.dkim_algorithm = "ed25519-sha256";
    id.dkim_status = dkim_status;
    return id;
  }

  std::unique_ptr<EgressIdentityLookup> Lookup(bool sign_pending = false) {
    return NewStoreEgressIdentityLookup(store_, clock_, std::chrono::seconds(60), sign_pending);
  }

  FakeClock clock_;
  store::MemStore store_;
  int64_t account_ = 0;
  int64_t other_account_ = 0;
  mail::DkimKeyPair key_;
};

TEST_F(EgressIdentityTest, VerifiedDomainSignsAndTheSignerWorks) {
  ASSERT_TRUE(store_.CreateIdentity(Domain("example.com", VerificationStatus::kSuccess)).ok());
  EgressIdentity e = Lookup()->For(account_, "example.com");
  ASSERT_TRUE(e.dkim.has_value()) << e.unsigned_reason;
  EXPECT_EQ(e.unsigned_reason, "");
  EXPECT_EQ(e.dkim->domain, "example.com");
  EXPECT_EQ(e.dkim->selector, "sel11");
  EXPECT_EQ(e.dkim->algorithm, mail::DkimAlgorithm::kEd25519Sha256);
  EXPECT_EQ(e.mail_from_domain, "");

  const std::string message = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
  auto field = mail::SignDkim(*e.dkim, message, clock_.Now());
  ASSERT_TRUE(field.ok()) << field.status().ToString();
  const std::string record =
      mail::DkimDnsRecord(mail::DkimAlgorithm::kEd25519Sha256, key_.public_key_base64);
  Status st = mail::VerifyDkim(
      *field + message,
      [&](const std::string& d, const std::string& s) -> StatusOr<std::vector<std::string>> {
        EXPECT_EQ(d, "example.com");
        EXPECT_EQ(s, "sel11");
        return std::vector<std::string>{record};
      });
  EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST_F(EgressIdentityTest, SubdomainUsesTheNearestParentIdentity) {
  ASSERT_TRUE(store_.CreateIdentity(Domain("example.com", VerificationStatus::kSuccess)).ok());
  ASSERT_TRUE(store_.CreateIdentity(Domain("eu.example.com", VerificationStatus::kSuccess)).ok());
  auto lookup = Lookup();
  EXPECT_EQ(lookup->For(account_, "news.example.com").dkim->domain, "example.com");
  EXPECT_EQ(lookup->For(account_, "a.eu.example.com").dkim->domain, "eu.example.com");
  EgressIdentity none = lookup->For(account_, "example.org");
  EXPECT_FALSE(none.dkim.has_value());
  EXPECT_EQ(none.unsigned_reason, "no domain identity");
  // Another account's identity is not used.
  EXPECT_EQ(lookup->For(other_account_, "example.com").unsigned_reason, "no domain identity");
}

TEST_F(EgressIdentityTest, ReasonsForSendingUnsigned) {
  Identity pending = Domain("pending.example", VerificationStatus::kPending);
  Identity failed = Domain("failed.example", VerificationStatus::kFailed);
  Identity disabled = Domain("disabled.example", VerificationStatus::kSuccess);
  disabled.dkim_signing_enabled = false;
  Identity keyless = Domain("keyless.example", VerificationStatus::kNotStarted);
  keyless.dkim_selector.clear();
  keyless.dkim_private_key_pem.clear();
  for (const Identity& id : {pending, failed, disabled, keyless}) {
    ASSERT_TRUE(store_.CreateIdentity(id).ok()) << id.name;
  }
  auto strict = Lookup(false);
  EgressIdentity e = strict->For(account_, "pending.example");
  EXPECT_FALSE(e.dkim.has_value());
  EXPECT_EQ(e.unsigned_reason, "DKIM record for pending.example not verified (PENDING)");
  EXPECT_THAT(strict->For(account_, "failed.example").unsigned_reason, HasSubstr("FAILED"));
  EXPECT_EQ(strict->For(account_, "disabled.example").unsigned_reason,
            "DKIM signing disabled for disabled.example");
  EXPECT_EQ(strict->For(account_, "keyless.example").unsigned_reason,
            "no DKIM key for keyless.example");

  // sign_pending signs a key whose record is not verified yet, never a FAILED one.
  auto lenient = Lookup(true);
  EXPECT_TRUE(lenient->For(account_, "pending.example").dkim.has_value());
  EXPECT_FALSE(lenient->For(account_, "failed.example").dkim.has_value());
  EXPECT_FALSE(lenient->For(account_, "disabled.example").dkim.has_value());
  EXPECT_FALSE(lenient->For(account_, "keyless.example").dkim.has_value());
}

TEST_F(EgressIdentityTest, MailFromDomainOnlyWhenVerified) {
  Identity id = Domain("example.com", VerificationStatus::kSuccess);
  id.mail_from_domain = "bounce.example.com";
  id.mail_from_status = VerificationStatus::kPending;
  ASSERT_TRUE(store_.CreateIdentity(id).ok());
  EXPECT_EQ(EgressIdentityFor(id, false).mail_from_domain, "");
  id.mail_from_status = VerificationStatus::kSuccess;
  EXPECT_EQ(EgressIdentityFor(id, false).mail_from_domain, "bounce.example.com");
  // Independent of DKIM: an unsigned identity still has its MAIL FROM domain.
  id.dkim_signing_enabled = false;
  EgressIdentity e = EgressIdentityFor(id, false);
  EXPECT_FALSE(e.dkim.has_value());
  EXPECT_EQ(e.mail_from_domain, "bounce.example.com");
}

TEST_F(EgressIdentityTest, AnswersAreCachedForTheTtl) {
  ASSERT_TRUE(store_.CreateIdentity(Domain("example.com", VerificationStatus::kPending)).ok());
  auto lookup = Lookup();
  EXPECT_FALSE(lookup->For(account_, "example.com").dkim.has_value());
  ASSERT_TRUE(
      store_.SetIdentityDkimStatus(account_, "example.com", "sel11", VerificationStatus::kSuccess)
          .ok());
  clock_.Advance(std::chrono::seconds(59));
  EXPECT_FALSE(lookup->For(account_, "example.com").dkim.has_value());  // still cached
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_TRUE(lookup->For(account_, "example.com").dkim.has_value());
  // "no identity" is cached too, per (account, domain).
  EXPECT_FALSE(lookup->For(account_, "example.org").dkim.has_value());
  ASSERT_TRUE(store_.CreateIdentity(Domain("example.org", VerificationStatus::kSuccess)).ok());
  EXPECT_FALSE(lookup->For(account_, "example.org").dkim.has_value());
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_TRUE(lookup->For(account_, "example.org").dkim.has_value());
}

TEST_F(EgressIdentityTest, StoreFailuresAreNotCached) {
  ASSERT_TRUE(store_.CreateIdentity(Domain("example.com", VerificationStatus::kSuccess)).ok());
  auto lookup = Lookup();
  store_.FailAllForTest(UnavailableError("database is locked"));
  EgressIdentity e = lookup->For(account_, "example.com");
  EXPECT_FALSE(e.dkim.has_value());
  EXPECT_THAT(e.unsigned_reason, HasSubstr("identity lookup failed"));
  EXPECT_THAT(e.unsigned_reason, HasSubstr("database is locked"));
  store_.FailAllForTest(Status::Ok());
  EXPECT_TRUE(lookup->For(account_, "example.com").dkim.has_value());
}

}  // namespace
}  // namespace herald::sending
