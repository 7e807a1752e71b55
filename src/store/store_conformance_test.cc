// The behavioural contract of store/store.h, run against every implementation: the SQLite
// store and the in-memory fake (tests/fakes/mem_store.h), so that the fake stays honest.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_util.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_store.h"

namespace herald::store {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct SqliteFactory {
  TempDir dir;
  StorePtr Make() {
    auto s = SqliteStore::Open(dir.File("herald.db"));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return nullptr;
    return std::move(s).value();
  }
  static int64_t Buckets(Store& s, int64_t account_id) {
    auto n = dynamic_cast<SqliteStore&>(s).SendBucketCountForTest(account_id);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }
};

struct MemFactory {
  StorePtr Make() { return std::make_unique<MemStore>(); }
  static int64_t Buckets(Store& s, int64_t account_id) {
    return dynamic_cast<MemStore&>(s).SendBucketCountForTest(account_id);
  }
};

template <typename F>
class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_NE(store_, nullptr);
  }

  int64_t NewAccount(const std::string& name) {
    auto a = store_->CreateAccount(name, clock_.Now());
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->id : -1;
  }

  AccessKey Key(const std::string& id, int64_t account_id, SysTime created) {
    AccessKey k;
    k.access_key_id = id;
    k.secret = "secret-for-" + id;
    k.account_id = account_id;
    k.created = created;
    return k;
  }

  Identity MakeIdentity(int64_t account_id, const std::string& name,
                        IdentityType type = IdentityType::kDomain) {
    Identity id;
    id.account_id = account_id;
    id.name = name;
    id.type = type;
    id.verification_token = "tok-" + name;
    id.created = clock_.Now();
    id.token_expires = clock_.Now() + hours(24);
    return id;
  }

  std::vector<std::string> Names(const std::vector<Identity>& ids) {
    std::vector<std::string> out;
    for (const auto& i : ids) out.push_back(i.name);
    return out;
  }

  F factory_;
  StorePtr store_;
  FakeClock clock_;
};

using Implementations = ::testing::Types<SqliteFactory, MemFactory>;
TYPED_TEST_SUITE(StoreConformanceTest, Implementations);

TYPED_TEST(StoreConformanceTest, CreateAccountHasDefaultsAndCanBeReadBack) {
  SysTime now = this->clock_.Now() + std::chrono::microseconds(1234);  // sub-ms is dropped
  auto created = this->store_->CreateAccount("acme", now);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_GT(created->id, 0);
  EXPECT_EQ(created->name, "acme");
  EXPECT_FALSE(created->production);
  EXPECT_TRUE(created->sending_enabled);
  EXPECT_EQ(created->enforcement_status, "HEALTHY");
  EXPECT_EQ(created->contact_email, "");
  EXPECT_EQ(UnixMillis(created->created), UnixMillis(now));
  EXPECT_EQ(created->created, FromUnixMillis(UnixMillis(now)));

  auto by_id = this->store_->GetAccount(created->id);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->name, "acme");
  EXPECT_EQ(by_id->created, created->created);
  auto by_name = this->store_->GetAccountByName("acme");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->id, created->id);
}

TYPED_TEST(StoreConformanceTest, MissingAccountIsNotFound) {
  EXPECT_EQ(this->store_->GetAccount(42).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->GetAccountByName("nobody").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->SetProduction(42, true).code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->SetSendingEnabled(42, false).code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->SetContactEmail(42, "a@b.c").code(), StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, DuplicateAccountIsAlreadyExists) {
  this->NewAccount("acme");
  auto again = this->store_->CreateAccount("acme", this->clock_.Now());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  // Names are compared exactly: a different case is a different account.
  EXPECT_TRUE(this->store_->CreateAccount("ACME", this->clock_.Now()).ok());
}

TYPED_TEST(StoreConformanceTest, InvalidAccountNameIsRejected) {
  EXPECT_EQ(this->store_->CreateAccount("", this->clock_.Now()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->CreateAccount(std::string(1000, 'a'), this->clock_.Now()).status().code(),
            StatusCode::kInvalidArgument);
  auto list = this->store_->ListAccounts();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TYPED_TEST(StoreConformanceTest, HostileLookingNamesAreJustData) {
  const std::string name = "o'brien\"; DROP TABLE accounts; --";
  int64_t id = this->NewAccount(name);
  auto a = this->store_->GetAccountByName(name);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->id, id);
  EXPECT_EQ(this->store_->GetAccountByName("o'brien").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, ListAccountsIsOrderedById) {
  int64_t c = this->NewAccount("charlie");
  int64_t a = this->NewAccount("alpha");
  int64_t b = this->NewAccount("bravo");
  EXPECT_LT(c, a);
  EXPECT_LT(a, b);
  auto list = this->store_->ListAccounts();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "charlie");
  EXPECT_EQ((*list)[1].name, "alpha");
  EXPECT_EQ((*list)[2].name, "bravo");
}

TYPED_TEST(StoreConformanceTest, AccountSettersChangeOnlyTheirField) {
  int64_t id = this->NewAccount("acme");
  int64_t other = this->NewAccount("other");
  ASSERT_TRUE(this->store_->SetProduction(id, true).ok());
  ASSERT_TRUE(this->store_->SetSendingEnabled(id, false).ok());
  ASSERT_TRUE(this->store_->SetContactEmail(id, "ops@acme.example").ok());
  auto a = this->store_->GetAccount(id);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->production);
  EXPECT_FALSE(a->sending_enabled);
  EXPECT_EQ(a->contact_email, "ops@acme.example");
  EXPECT_EQ(a->name, "acme");

  auto o = this->store_->GetAccount(other);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->production);
  EXPECT_TRUE(o->sending_enabled);
  EXPECT_EQ(o->contact_email, "");

  // Setting the same value again still succeeds (the row exists).
  EXPECT_TRUE(this->store_->SetProduction(id, true).ok());
  ASSERT_TRUE(this->store_->SetProduction(id, false).ok());
  EXPECT_FALSE(this->store_->GetAccount(id)->production);
  EXPECT_EQ(this->store_->SetContactEmail(id, std::string(400, 'x')).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->GetAccount(id)->contact_email, "ops@acme.example");
}

TYPED_TEST(StoreConformanceTest, AccessKeyRoundTrip) {
  int64_t id = this->NewAccount("acme");
  AccessKey key = this->Key("AKIAAAAAAAAAAAAAAAA1", id, this->clock_.Now());
  key.secret = std::string(40, 'S');
  ASSERT_TRUE(this->store_->CreateAccessKey(key).ok());
  auto got = this->store_->GetAccessKey("AKIAAAAAAAAAAAAAAAA1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->access_key_id, key.access_key_id);
  EXPECT_EQ(got->secret, key.secret);
  EXPECT_EQ(got->account_id, id);
  EXPECT_EQ(got->status, KeyStatus::kActive);
  EXPECT_EQ(got->created, key.created);
  EXPECT_EQ(this->store_->GetAccessKey("AKIAAAAAAAAAAAAAAAA2").status().code(),
            StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, AccessKeyDuplicatesAndMissingAccount) {
  int64_t id = this->NewAccount("acme");
  int64_t other = this->NewAccount("other");
  ASSERT_TRUE(this->store_->CreateAccessKey(this->Key("AKIA1", id, this->clock_.Now())).ok());
  // The same key id is refused even for another account; the first key is untouched.
  EXPECT_EQ(this->store_->CreateAccessKey(this->Key("AKIA1", other, this->clock_.Now())).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(this->store_->GetAccessKey("AKIA1")->account_id, id);
  EXPECT_EQ(this->store_->CreateAccessKey(this->Key("AKIA2", 999, this->clock_.Now())).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(this->store_->GetAccessKey("AKIA2").status().code(), StatusCode::kNotFound);
  AccessKey bad = this->Key("AKIA3", id, this->clock_.Now());
  bad.secret.clear();
  EXPECT_EQ(this->store_->CreateAccessKey(bad).code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, ListAccessKeysOrderedByCreationThenId) {
  int64_t id = this->NewAccount("acme");
  int64_t other = this->NewAccount("other");
  SysTime t = this->clock_.Now();
  // Creation order differs from id order; the two created at `t` tie and go by id.
  ASSERT_TRUE(this->store_->CreateAccessKey(this->Key("AKIAA", id, t + seconds(2))).ok());
  ASSERT_TRUE(this->store_->CreateAccessKey(this->Key("AKIAZ", id, t)).ok());
  ASSERT_TRUE(this->store_->CreateAccessKey(this->Key("AKIAM", id, t)).ok());
  ASSERT_TRUE(this->store_->CreateAccessKey(this->Key("AKIAO", other, t)).ok());
  auto keys = this->store_->ListAccessKeys(id);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 3u);
  EXPECT_EQ((*keys)[0].access_key_id, "AKIAM");
  EXPECT_EQ((*keys)[1].access_key_id, "AKIAZ");
  EXPECT_EQ((*keys)[2].access_key_id, "AKIAA");
  auto none = this->store_->ListAccessKeys(12345);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TYPED_TEST(StoreConformanceTest, AccessKeyStatusChangesAndDelete) {
  int64_t id = this->NewAccount("acme");
  ASSERT_TRUE(this->store_->CreateAccessKey(this->Key("AKIA1", id, this->clock_.Now())).ok());
  ASSERT_TRUE(this->store_->CreateAccessKey(this->Key("AKIA2", id, this->clock_.Now())).ok());
  ASSERT_TRUE(this->store_->SetAccessKeyStatus("AKIA1", KeyStatus::kInactive).ok());
  EXPECT_EQ(this->store_->GetAccessKey("AKIA1")->status, KeyStatus::kInactive);
  EXPECT_EQ(this->store_->GetAccessKey("AKIA2")->status, KeyStatus::kActive);
  ASSERT_TRUE(this->store_->SetAccessKeyStatus("AKIA1", KeyStatus::kActive).ok());
  EXPECT_EQ(this->store_->GetAccessKey("AKIA1")->status, KeyStatus::kActive);
  EXPECT_EQ(this->store_->SetAccessKeyStatus("AKIA9", KeyStatus::kInactive).code(),
            StatusCode::kNotFound);

  ASSERT_TRUE(this->store_->DeleteAccessKey("AKIA1").ok());
  EXPECT_EQ(this->store_->GetAccessKey("AKIA1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->DeleteAccessKey("AKIA1").code(), StatusCode::kNotFound);
  auto keys = this->store_->ListAccessKeys(id);
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_EQ((*keys)[0].access_key_id, "AKIA2");
}

TYPED_TEST(StoreConformanceTest, IdentityRoundTripKeepsEveryField) {
  int64_t id = this->NewAccount("acme");
  Identity in = this->MakeIdentity(id, "user@acme.example", IdentityType::kEmailAddress);
  in.status = VerificationStatus::kTemporaryFailure;
  in.tags_json = R"([{"Key":"team","Value":"ops"}])";
  in.token_expires = this->clock_.Now() + hours(24) + std::chrono::microseconds(999);
  ASSERT_TRUE(this->store_->CreateIdentity(in).ok());
  auto out = this->store_->GetIdentity(id, "user@acme.example");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->account_id, id);
  EXPECT_EQ(out->name, in.name);
  EXPECT_EQ(out->type, IdentityType::kEmailAddress);
  EXPECT_EQ(out->status, VerificationStatus::kTemporaryFailure);
  EXPECT_EQ(out->verification_token, in.verification_token);
  EXPECT_EQ(out->token_expires, FromUnixMillis(UnixMillis(in.token_expires)));
  EXPECT_EQ(out->created, in.created);
  EXPECT_EQ(out->tags_json, in.tags_json);
}

TYPED_TEST(StoreConformanceTest, IdentityDuplicatesAndMissing) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, "example.com")).ok());
  EXPECT_EQ(this->store_->CreateIdentity(this->MakeIdentity(a, "example.com")).code(),
            StatusCode::kAlreadyExists);
  // Identities are per account: another account may claim the same name.
  EXPECT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(b, "example.com")).ok());
  EXPECT_EQ(this->store_->CreateIdentity(this->MakeIdentity(77, "example.org")).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(this->store_->GetIdentity(a, "example.org").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->GetIdentity(77, "example.com").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->CreateIdentity(this->MakeIdentity(a, "")).code(),
            StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, ListIdentitiesPaginatesInNameOrder) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  for (const char* n : {"delta.example", "alpha.example", "\xc3\xa9t\xc3\xa9.example",
                        "charlie.example", "bravo.example", "zulu.example"}) {
    ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, n)).ok());
  }
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(b, "bravo2.example")).ok());

  auto p1 = this->store_->ListIdentities(a, "", 2);
  ASSERT_TRUE(p1.ok());
  EXPECT_EQ(this->Names(*p1), (std::vector<std::string>{"alpha.example", "bravo.example"}));
  auto p2 = this->store_->ListIdentities(a, p1->back().name, 2);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(this->Names(*p2), (std::vector<std::string>{"charlie.example", "delta.example"}));
  auto p3 = this->store_->ListIdentities(a, p2->back().name, 2);
  ASSERT_TRUE(p3.ok());
  // Byte order: the UTF-8 lead byte 0xC3 sorts after every ASCII letter.
  EXPECT_EQ(this->Names(*p3),
            (std::vector<std::string>{"zulu.example", "\xc3\xa9t\xc3\xa9.example"}));
  auto p4 = this->store_->ListIdentities(a, p3->back().name, 2);
  ASSERT_TRUE(p4.ok());
  EXPECT_TRUE(p4->empty());

  // `after` need not be an existing name, and is exclusive.
  auto mid = this->store_->ListIdentities(a, "bravo.example", 100);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->size(), 4u);
  EXPECT_EQ(mid->front().name, "charlie.example");
  auto from_c = this->store_->ListIdentities(a, "c", 1);
  ASSERT_TRUE(from_c.ok());
  EXPECT_EQ(this->Names(*from_c), (std::vector<std::string>{"charlie.example"}));

  auto other = this->store_->ListIdentities(b, "", 100);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(this->Names(*other), (std::vector<std::string>{"bravo2.example"}));

  EXPECT_EQ(this->store_->ListIdentities(a, "", 0).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, IdentityStatusAndDelete) {
  int64_t a = this->NewAccount("a");
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, "example.com")).ok());
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, "example.net")).ok());
  ASSERT_TRUE(this->store_->SetIdentityStatus(a, "example.com", VerificationStatus::kSuccess).ok());
  EXPECT_EQ(this->store_->GetIdentity(a, "example.com")->status, VerificationStatus::kSuccess);
  EXPECT_EQ(this->store_->GetIdentity(a, "example.net")->status, VerificationStatus::kPending);
  EXPECT_EQ(this->store_->SetIdentityStatus(a, "example.org", VerificationStatus::kFailed).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(
      this->store_->SetIdentityStatus(a + 1, "example.com", VerificationStatus::kFailed).code(),
      StatusCode::kNotFound);

  ASSERT_TRUE(this->store_->DeleteIdentity(a, "example.com").ok());
  EXPECT_EQ(this->store_->GetIdentity(a, "example.com").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->DeleteIdentity(a, "example.com").code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->store_->GetIdentity(a, "example.net").ok());
  // A deleted identity can be created again.
  EXPECT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, "example.com")).ok());
}

TYPED_TEST(StoreConformanceTest, FindIdentityByTokenMatchesEmailIdentitiesOnly) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  Identity email = this->MakeIdentity(b, "user@b.example", IdentityType::kEmailAddress);
  email.verification_token = "secret-link-token";
  ASSERT_TRUE(this->store_->CreateIdentity(email).ok());
  Identity domain = this->MakeIdentity(a, "a.example", IdentityType::kDomain);
  domain.verification_token = "public-txt-value";
  ASSERT_TRUE(this->store_->CreateIdentity(domain).ok());
  Identity no_token = this->MakeIdentity(a, "x@a.example", IdentityType::kEmailAddress);
  no_token.verification_token = "";
  ASSERT_TRUE(this->store_->CreateIdentity(no_token).ok());

  auto found = this->store_->FindIdentityByToken("secret-link-token");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->account_id, b);
  EXPECT_EQ(found->name, "user@b.example");
  EXPECT_EQ(this->store_->FindIdentityByToken("public-txt-value").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(this->store_->FindIdentityByToken("").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->FindIdentityByToken("secret-link").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(this->store_->FindIdentityByToken("secret-link-token%").status().code(),
            StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, NewIdentityHasDkimAndMailFromDefaults) {
  int64_t a = this->NewAccount("a");
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, "example.com")).ok());
  auto id = this->store_->GetIdentity(a, "example.com");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_TRUE(id->dkim_signing_enabled);
  EXPECT_EQ(id->dkim_origin, "AWS_SES");
  EXPECT_EQ(id->dkim_selector, "");
  EXPECT_EQ(id->dkim_private_key_pem, "");
  EXPECT_EQ(id->dkim_algorithm, "rsa-sha256");
  EXPECT_EQ(id->dkim_key_length, "");
  EXPECT_EQ(id->dkim_next_key_length, "RSA_2048_BIT");
  EXPECT_EQ(id->dkim_status, VerificationStatus::kNotStarted);
  EXPECT_EQ(UnixMillis(id->dkim_generated_at), 0);
  EXPECT_EQ(id->mail_from_domain, "");
  EXPECT_EQ(id->mail_from_behavior, "USE_DEFAULT_VALUE");
  EXPECT_EQ(id->mail_from_status, VerificationStatus::kPending);
  EXPECT_EQ(UnixMillis(id->mail_from_set_at), 0);
}

Identity WithDkim(Identity id, const std::string& selector, SysTime at) {
  id.dkim_signing_enabled = false;
  id.dkim_origin = "EXTERNAL";
  id.dkim_selector = selector;
  id.dkim_private_key_pem = "-----BEGIN PRIVATE KEY-----\nkey-of-" + selector + "\n";
  id.dkim_algorithm = "ed25519-sha256";
  id.dkim_key_length = "RSA_1024_BIT";
  id.dkim_next_key_length = "RSA_1024_BIT";
  id.dkim_status = VerificationStatus::kTemporaryFailure;
  id.dkim_generated_at = at;
  return id;
}

Identity WithMailFrom(Identity id, const std::string& domain, SysTime at) {
  id.mail_from_domain = domain;
  id.mail_from_behavior = "REJECT_MESSAGE";
  id.mail_from_status = VerificationStatus::kFailed;
  id.mail_from_set_at = at;
  return id;
}

void ExpectSameDkim(const Identity& got, const Identity& want) {
  EXPECT_EQ(got.dkim_signing_enabled, want.dkim_signing_enabled);
  EXPECT_EQ(got.dkim_origin, want.dkim_origin);
  EXPECT_EQ(got.dkim_selector, want.dkim_selector);
  EXPECT_EQ(got.dkim_private_key_pem, want.dkim_private_key_pem);
  EXPECT_EQ(got.dkim_algorithm, want.dkim_algorithm);
  EXPECT_EQ(got.dkim_key_length, want.dkim_key_length);
  EXPECT_EQ(got.dkim_next_key_length, want.dkim_next_key_length);
  EXPECT_EQ(got.dkim_status, want.dkim_status);
  EXPECT_EQ(got.dkim_generated_at, FromUnixMillis(UnixMillis(want.dkim_generated_at)));
}

void ExpectSameMailFrom(const Identity& got, const Identity& want) {
  EXPECT_EQ(got.mail_from_domain, want.mail_from_domain);
  EXPECT_EQ(got.mail_from_behavior, want.mail_from_behavior);
  EXPECT_EQ(got.mail_from_status, want.mail_from_status);
  EXPECT_EQ(got.mail_from_set_at, FromUnixMillis(UnixMillis(want.mail_from_set_at)));
}

TYPED_TEST(StoreConformanceTest, DkimAndMailFromRoundTripThroughCreate) {
  int64_t a = this->NewAccount("a");
  const SysTime at = this->clock_.Now() + std::chrono::microseconds(1500);
  Identity in = WithMailFrom(WithDkim(this->MakeIdentity(a, "example.com"), "sel1", at),
                             "bounce.example.com", at + hours(1));
  ASSERT_TRUE(this->store_->CreateIdentity(in).ok());
  auto out = this->store_->GetIdentity(a, "example.com");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectSameDkim(*out, in);
  ExpectSameMailFrom(*out, in);
  auto listed = this->store_->ListIdentities(a, "", 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  ExpectSameDkim((*listed)[0], in);
}

TYPED_TEST(StoreConformanceTest, SetIdentityDkimReplacesOnlyDkimFields) {
  int64_t a = this->NewAccount("a");
  Identity base = this->MakeIdentity(a, "example.com");
  base.tags_json = R"([{"Key":"k","Value":"v"}])";
  ASSERT_TRUE(this->store_->CreateIdentity(base).ok());
  ASSERT_TRUE(this->store_->SetIdentityStatus(a, "example.com", VerificationStatus::kSuccess).ok());

  Identity change = WithDkim(base, "sel2", this->clock_.Now());
  change.status = VerificationStatus::kFailed;  // not a DKIM field: ignored
  change.tags_json = "[]";
  change.mail_from_domain = "ignored.example.com";
  ASSERT_TRUE(this->store_->SetIdentityDkim(change).ok());
  auto out = this->store_->GetIdentity(a, "example.com");
  ASSERT_TRUE(out.ok());
  ExpectSameDkim(*out, change);
  EXPECT_EQ(out->status, VerificationStatus::kSuccess);
  EXPECT_EQ(out->tags_json, base.tags_json);
  EXPECT_EQ(out->mail_from_domain, "");

  Identity missing = change;
  missing.name = "example.org";
  EXPECT_EQ(this->store_->SetIdentityDkim(missing).code(), StatusCode::kNotFound);
  Identity bad = change;
  bad.dkim_origin = "AWS_SES_US_EAST_1";
  EXPECT_EQ(this->store_->SetIdentityDkim(bad).code(), StatusCode::kInvalidArgument);
  bad = change;
  bad.dkim_private_key_pem = "";  // a selector without a key
  EXPECT_EQ(this->store_->SetIdentityDkim(bad).code(), StatusCode::kInvalidArgument);
  bad = change;
  bad.dkim_key_length = "RSA_4096_BIT";
  EXPECT_EQ(this->store_->SetIdentityDkim(bad).code(), StatusCode::kInvalidArgument);
  bad = change;
  bad.dkim_selector = std::string(64, 's');
  EXPECT_EQ(this->store_->SetIdentityDkim(bad).code(), StatusCode::kInvalidArgument);
  bad = change;
  bad.dkim_algorithm = "rsa-sha1";
  EXPECT_EQ(this->store_->CreateIdentity(this->MakeIdentity(a, "x.example")).code(),
            StatusCode::kOk);
  bad.name = "x.example";
  EXPECT_EQ(this->store_->SetIdentityDkim(bad).code(), StatusCode::kInvalidArgument);
  // Nothing changed by the refused calls.
  ExpectSameDkim(*this->store_->GetIdentity(a, "example.com"), change);
}

TYPED_TEST(StoreConformanceTest, SetIdentityDkimStatusOnlyForTheSameKey) {
  int64_t a = this->NewAccount("a");
  Identity id = WithDkim(this->MakeIdentity(a, "example.com"), "old", this->clock_.Now());
  ASSERT_TRUE(this->store_->CreateIdentity(id).ok());
  ASSERT_TRUE(
      this->store_->SetIdentityDkimStatus(a, "example.com", "old", VerificationStatus::kSuccess)
          .ok());
  EXPECT_EQ(this->store_->GetIdentity(a, "example.com")->dkim_status, VerificationStatus::kSuccess);
  // A new key arrives; a check of the old key finishing late does not mark it verified.
  Identity rotated = WithDkim(id, "new", this->clock_.Now());
  rotated.dkim_status = VerificationStatus::kPending;
  ASSERT_TRUE(this->store_->SetIdentityDkim(rotated).ok());
  EXPECT_EQ(
      this->store_->SetIdentityDkimStatus(a, "example.com", "old", VerificationStatus::kSuccess)
          .code(),
      StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->store_->GetIdentity(a, "example.com")->dkim_status, VerificationStatus::kPending);
  EXPECT_EQ(
      this->store_->SetIdentityDkimStatus(a, "example.org", "new", VerificationStatus::kSuccess)
          .code(),
      StatusCode::kNotFound);
  EXPECT_EQ(
      this->store_->SetIdentityDkimStatus(a + 1, "example.com", "new", VerificationStatus::kFailed)
          .code(),
      StatusCode::kNotFound);
  ASSERT_TRUE(
      this->store_->SetIdentityDkimStatus(a, "example.com", "new", VerificationStatus::kFailed)
          .ok());
  EXPECT_EQ(this->store_->GetIdentity(a, "example.com")->dkim_status, VerificationStatus::kFailed);
}

TYPED_TEST(StoreConformanceTest, SetIdentityMailFromAndItsStatus) {
  int64_t a = this->NewAccount("a");
  Identity base = WithDkim(this->MakeIdentity(a, "example.com"), "sel", this->clock_.Now());
  ASSERT_TRUE(this->store_->CreateIdentity(base).ok());
  Identity change = WithMailFrom(base, "mail.example.com", this->clock_.Now() + hours(2));
  change.dkim_selector = "ignored";
  ASSERT_TRUE(this->store_->SetIdentityMailFrom(change).ok());
  auto out = this->store_->GetIdentity(a, "example.com");
  ASSERT_TRUE(out.ok());
  ExpectSameMailFrom(*out, change);
  ExpectSameDkim(*out, base);

  ASSERT_TRUE(this->store_
                  ->SetIdentityMailFromStatus(a, "example.com", "mail.example.com",
                                              VerificationStatus::kSuccess)
                  .ok());
  EXPECT_EQ(this->store_->GetIdentity(a, "example.com")->mail_from_status,
            VerificationStatus::kSuccess);
  EXPECT_EQ(this->store_
                ->SetIdentityMailFromStatus(a, "example.com", "other.example.com",
                                            VerificationStatus::kFailed)
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(this->store_
                ->SetIdentityMailFromStatus(a, "nope.example", "mail.example.com",
                                            VerificationStatus::kFailed)
                .code(),
            StatusCode::kNotFound);

  Identity bad = change;
  bad.mail_from_behavior = "BOUNCE";
  EXPECT_EQ(this->store_->SetIdentityMailFrom(bad).code(), StatusCode::kInvalidArgument);
  bad = change;
  bad.mail_from_domain = std::string(254, 'm');
  EXPECT_EQ(this->store_->SetIdentityMailFrom(bad).code(), StatusCode::kInvalidArgument);
  bad = change;
  bad.name = "example.net";
  EXPECT_EQ(this->store_->SetIdentityMailFrom(bad).code(), StatusCode::kNotFound);

  // Clearing the custom domain.
  Identity cleared = base;
  ASSERT_TRUE(this->store_->SetIdentityMailFrom(cleared).ok());
  EXPECT_EQ(this->store_->GetIdentity(a, "example.com")->mail_from_domain, "");
}

Identity WithNotifications(Identity id, const std::string& prefix) {
  id.bounce_topic = prefix + ":bounces";
  id.complaint_topic = prefix + ":complaints";
  id.delivery_topic = prefix + ":deliveries";
  id.bounce_headers = true;
  id.complaint_headers = false;
  id.delivery_headers = true;
  id.feedback_forwarding = false;
  return id;
}

void ExpectSameNotifications(const Identity& got, const Identity& want) {
  EXPECT_EQ(got.bounce_topic, want.bounce_topic);
  EXPECT_EQ(got.complaint_topic, want.complaint_topic);
  EXPECT_EQ(got.delivery_topic, want.delivery_topic);
  EXPECT_EQ(got.bounce_headers, want.bounce_headers);
  EXPECT_EQ(got.complaint_headers, want.complaint_headers);
  EXPECT_EQ(got.delivery_headers, want.delivery_headers);
  EXPECT_EQ(got.feedback_forwarding, want.feedback_forwarding);
}

TYPED_TEST(StoreConformanceTest, NewIdentityHasNotificationDefaults) {
  int64_t a = this->NewAccount("a");
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, "example.com")).ok());
  auto id = this->store_->GetIdentity(a, "example.com");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->bounce_topic, "");
  EXPECT_EQ(id->complaint_topic, "");
  EXPECT_EQ(id->delivery_topic, "");
  EXPECT_FALSE(id->bounce_headers);
  EXPECT_FALSE(id->complaint_headers);
  EXPECT_FALSE(id->delivery_headers);
  EXPECT_TRUE(id->feedback_forwarding);
}

TYPED_TEST(StoreConformanceTest, NotificationTopicsAreListedOnceAcrossAccounts) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  EXPECT_TRUE(this->store_->ListIdentityNotificationTopics()->empty());
  Identity x = this->MakeIdentity(a, "example.com", IdentityType::kDomain);
  x.bounce_topic = "arn:aws:sns:us-east-1:000000000001:t2";
  x.delivery_topic = "arn:aws:sns:us-east-1:000000000001:t1";
  ASSERT_TRUE(this->store_->CreateIdentity(x).ok());
  Identity y = this->MakeIdentity(b, "example.org", IdentityType::kDomain);
  y.complaint_topic = "arn:aws:sns:us-east-1:000000000001:t2";
  ASSERT_TRUE(this->store_->CreateIdentity(y).ok());
  ASSERT_TRUE(
      this->store_
          ->CreateIdentity(this->MakeIdentity(b, "z@example.org", IdentityType::kEmailAddress))
          .ok());
  auto topics = this->store_->ListIdentityNotificationTopics();
  ASSERT_TRUE(topics.ok()) << topics.status().ToString();
  EXPECT_EQ(*topics, (std::vector<std::string>{"arn:aws:sns:us-east-1:000000000001:t1",
                                               "arn:aws:sns:us-east-1:000000000001:t2"}));
}

TYPED_TEST(StoreConformanceTest, NotificationsRoundTripThroughCreate) {
  int64_t a = this->NewAccount("a");
  Identity in =
      WithNotifications(this->MakeIdentity(a, "user@example.com", IdentityType::kEmailAddress),
                        "arn:aws:sns:us-east-1:000000000001:created");
  ASSERT_TRUE(this->store_->CreateIdentity(in).ok());
  auto out = this->store_->GetIdentity(a, "user@example.com");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectSameNotifications(*out, in);
  auto listed = this->store_->ListIdentities(a, "", 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  ExpectSameNotifications((*listed)[0], in);
  auto by_token = this->store_->FindIdentityByToken(in.verification_token);
  ASSERT_TRUE(by_token.ok()) << by_token.status().ToString();
  ExpectSameNotifications(*by_token, in);

  Identity bad = this->MakeIdentity(a, "other.example");
  bad.delivery_topic = "arn:aws:sns:us-east-1:000000000001:with space";
  EXPECT_EQ(this->store_->CreateIdentity(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->GetIdentity(a, "other.example").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, SetIdentityNotificationsReplacesOnlyNotificationFields) {
  int64_t a = this->NewAccount("a");
  Identity base =
      WithMailFrom(WithDkim(this->MakeIdentity(a, "example.com"), "sel", this->clock_.Now()),
                   "mail.example.com", this->clock_.Now() + hours(1));
  base.tags_json = R"([{"Key":"k","Value":"v"}])";
  ASSERT_TRUE(this->store_->CreateIdentity(base).ok());
  ASSERT_TRUE(this->store_->SetIdentityStatus(a, "example.com", VerificationStatus::kSuccess).ok());

  // Set: only the notification fields of the argument are taken.
  Identity change = WithNotifications(this->MakeIdentity(a, "example.com"),
                                      "arn:aws:sns:us-east-1:000000000001:first");
  change.status = VerificationStatus::kFailed;
  change.tags_json = "[]";
  change.dkim_selector = "ignored";
  change.dkim_private_key_pem = "ignored";
  change.mail_from_domain = "ignored.example.com";
  ASSERT_TRUE(this->store_->SetIdentityNotifications(change).ok());
  auto out = this->store_->GetIdentity(a, "example.com");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectSameNotifications(*out, change);
  ExpectSameDkim(*out, base);
  ExpectSameMailFrom(*out, base);
  EXPECT_EQ(out->status, VerificationStatus::kSuccess);
  EXPECT_EQ(out->tags_json, base.tags_json);

  // Replace: a topic cleared, another changed, flags flipped.
  Identity replaced = change;
  replaced.bounce_topic = "";
  replaced.complaint_topic = "arn:aws:sns:eu-west-1:000000000001:second";
  replaced.bounce_headers = false;
  replaced.complaint_headers = true;
  replaced.delivery_headers = false;
  replaced.feedback_forwarding = true;
  ASSERT_TRUE(this->store_->SetIdentityNotifications(replaced).ok());
  out = this->store_->GetIdentity(a, "example.com");
  ASSERT_TRUE(out.ok());
  ExpectSameNotifications(*out, replaced);
  ExpectSameDkim(*out, base);
  ExpectSameMailFrom(*out, base);

  // A missing identity (name or account).
  Identity missing = change;
  missing.name = "example.org";
  EXPECT_EQ(this->store_->SetIdentityNotifications(missing).code(), StatusCode::kNotFound);
  missing = change;
  missing.account_id = a + 1;
  EXPECT_EQ(this->store_->SetIdentityNotifications(missing).code(), StatusCode::kNotFound);

  // Bad topics: too long, a space, a control byte, a non-ASCII byte.
  const std::string longest = "arn:" + std::string(kMaxNotificationTopicLength - 4, 't');
  for (const std::string& topic :
       {longest + "t", std::string("arn:aws:sns:x:1:a b"), std::string("arn:\t"),
        std::string("arn:aws:sns:x:1:\x7f"), std::string("arn:aws:sns:x:1:caf\xc3\xa9"),
        std::string("arn\0x", 5)}) {
    for (std::string Identity::*field :
         {&Identity::bounce_topic, &Identity::complaint_topic, &Identity::delivery_topic}) {
      Identity bad = change;
      bad.*field = topic;
      EXPECT_EQ(this->store_->SetIdentityNotifications(bad).code(), StatusCode::kInvalidArgument)
          << topic;
    }
  }
  // Nothing changed by the refused calls.
  ExpectSameNotifications(*this->store_->GetIdentity(a, "example.com"), replaced);
  // The bounds themselves are accepted.
  Identity edge = replaced;
  edge.bounce_topic = longest;
  edge.delivery_topic = "!~";
  ASSERT_TRUE(this->store_->SetIdentityNotifications(edge).ok());
  ExpectSameNotifications(*this->store_->GetIdentity(a, "example.com"), edge);
}

TYPED_TEST(StoreConformanceTest, FindDomainIdentityWalksUpToTheNearestParent) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, "example.com")).ok());
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(a, "mail.example.com")).ok());
  ASSERT_TRUE(
      this->store_
          ->CreateIdentity(this->MakeIdentity(a, "user@other.example", IdentityType::kEmailAddress))
          .ok());
  ASSERT_TRUE(this->store_->CreateIdentity(this->MakeIdentity(b, "other.example")).ok());

  auto name_of = [&](int64_t account, const std::string& domain) -> std::string {
    auto found = FindDomainIdentity(*this->store_, account, domain);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    if (!found.ok()) return "<error>";
    return found->has_value() ? (*found)->name : "<none>";
  };
  EXPECT_EQ(name_of(a, "example.com"), "example.com");
  EXPECT_EQ(name_of(a, "mail.example.com"), "mail.example.com");
  EXPECT_EQ(name_of(a, "a.b.mail.example.com"), "mail.example.com");
  EXPECT_EQ(name_of(a, "news.example.com"), "example.com");
  EXPECT_EQ(name_of(a, "example.org"), "<none>");
  EXPECT_EQ(name_of(a, "other.example"), "<none>");  // only b has it
  EXPECT_EQ(name_of(b, "x.other.example"), "other.example");
  EXPECT_EQ(name_of(a, "com"), "<none>");
}

// ---- Configuration sets ----------------------------------------------------------------

ConfigurationSet MakeSet(int64_t account_id, const std::string& name, SysTime created) {
  ConfigurationSet set;
  set.account_id = account_id;
  set.name = name;
  set.created = created;
  return set;
}

std::vector<std::string> SetNames(const std::vector<ConfigurationSet>& sets) {
  std::vector<std::string> out;
  for (const auto& s : sets) out.push_back(s.name);
  return out;
}

TYPED_TEST(StoreConformanceTest, NewConfigurationSetHasDefaults) {
  int64_t a = this->NewAccount("a");
  ASSERT_TRUE(this->store_->CreateConfigurationSet(MakeSet(a, "plain", this->clock_.Now())).ok());
  auto out = this->store_->GetConfigurationSet(a, "plain");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->account_id, a);
  EXPECT_EQ(out->name, "plain");
  EXPECT_EQ(out->tls_policy, "OPTIONAL");
  EXPECT_EQ(out->max_delivery_seconds, 0);
  EXPECT_EQ(EffectiveMaxDelivery(*out), seconds(kDefaultMaxDeliverySeconds));
  EXPECT_EQ(out->sending_pool_name, "");
  EXPECT_TRUE(out->sending_enabled);
  EXPECT_FALSE(out->reputation_metrics_enabled);
  EXPECT_EQ(UnixMillis(out->last_fresh_start), 0);
  EXPECT_EQ(out->tracking_options_json, "");
  EXPECT_EQ(out->suppression_options_json, "");
  EXPECT_EQ(out->vdm_options_json, "");
  EXPECT_EQ(out->archive_arn, "");
  EXPECT_EQ(out->tags_json, "[]");
  EXPECT_EQ(out->created, this->clock_.Now());
}

TYPED_TEST(StoreConformanceTest, ConfigurationSetRoundTripKeepsEveryField) {
  int64_t a = this->NewAccount("a");
  ConfigurationSet in = MakeSet(a, "Marketing_2024-eu", this->clock_.Now() + microseconds(1500));
  in.tls_policy = "REQUIRE";
  in.max_delivery_seconds = 600;
  in.sending_pool_name = "pool-1";
  in.sending_enabled = false;
  in.reputation_metrics_enabled = true;
  in.last_fresh_start = this->clock_.Now() - hours(5) + microseconds(42);
  in.tracking_options_json = R"({"CustomRedirectDomain":"t.example.com","HttpsPolicy":"REQUIRE"})";
  in.suppression_options_json = R"({"SuppressedReasons":["BOUNCE"]})";
  in.vdm_options_json = R"({"DashboardOptions":{"EngagementMetrics":"ENABLED"}})";
  in.archive_arn =
      "arn:aws:ses:us-east-1:123456789012:mailmanager-archive/a-abcdefghijklmnopqrstuvwxyz";
  in.tags_json = R"([{"Key":"team","Value":"growth"}])";
  ASSERT_TRUE(this->store_->CreateConfigurationSet(in).ok());
  auto out = this->store_->GetConfigurationSet(a, "Marketing_2024-eu");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->tls_policy, "REQUIRE");
  EXPECT_EQ(out->max_delivery_seconds, 600);
  EXPECT_EQ(EffectiveMaxDelivery(*out), seconds(600));
  EXPECT_EQ(out->sending_pool_name, "pool-1");
  EXPECT_FALSE(out->sending_enabled);
  EXPECT_TRUE(out->reputation_metrics_enabled);
  EXPECT_EQ(out->last_fresh_start, FromUnixMillis(UnixMillis(in.last_fresh_start)));
  EXPECT_EQ(out->tracking_options_json, in.tracking_options_json);
  EXPECT_EQ(out->suppression_options_json, in.suppression_options_json);
  EXPECT_EQ(out->vdm_options_json, in.vdm_options_json);
  EXPECT_EQ(out->archive_arn, in.archive_arn);
  EXPECT_EQ(out->tags_json, in.tags_json);
  EXPECT_EQ(out->created, FromUnixMillis(UnixMillis(in.created)));
  // Names are case-sensitive.
  EXPECT_EQ(this->store_->GetConfigurationSet(a, "marketing_2024-eu").status().code(),
            StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, ConfigurationSetDuplicatesAndMissing) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  const SysTime now = this->clock_.Now();
  ASSERT_TRUE(this->store_->CreateConfigurationSet(MakeSet(a, "tx", now)).ok());
  EXPECT_EQ(this->store_->CreateConfigurationSet(MakeSet(a, "tx", now)).code(),
            StatusCode::kAlreadyExists);
  // Sets are per account.
  EXPECT_TRUE(this->store_->CreateConfigurationSet(MakeSet(b, "tx", now)).ok());
  EXPECT_EQ(this->store_->CreateConfigurationSet(MakeSet(77, "tx", now)).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(this->store_->GetConfigurationSet(a, "nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->GetConfigurationSet(77, "tx").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_->UpdateConfigurationSet(MakeSet(a, "nope", now)).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(this->store_->DeleteConfigurationSet(a, "nope").code(), StatusCode::kNotFound);

  // Deleting one account's set leaves the other's; the name can be created again.
  ASSERT_TRUE(this->store_->DeleteConfigurationSet(a, "tx").ok());
  EXPECT_EQ(this->store_->GetConfigurationSet(a, "tx").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->store_->GetConfigurationSet(b, "tx").ok());
  EXPECT_EQ(this->store_->DeleteConfigurationSet(a, "tx").code(), StatusCode::kNotFound);
  EXPECT_TRUE(this->store_->CreateConfigurationSet(MakeSet(a, "tx", now)).ok());
}

TYPED_TEST(StoreConformanceTest, InvalidConfigurationSetsAreRejected) {
  int64_t a = this->NewAccount("a");
  const SysTime now = this->clock_.Now();
  auto code = [&](ConfigurationSet set) {
    return this->store_->CreateConfigurationSet(set).code();
  };
  const StatusCode bad = StatusCode::kInvalidArgument;
  EXPECT_EQ(code(MakeSet(a, "", now)), bad);
  EXPECT_EQ(code(MakeSet(a, std::string(65, 'x'), now)), bad);
  EXPECT_EQ(code(MakeSet(a, "has space", now)), bad);
  EXPECT_EQ(code(MakeSet(a, "dot.ted", now)), bad);
  EXPECT_EQ(code(MakeSet(a, std::string("nul\0x", 5), now)), bad);
  EXPECT_EQ(code(MakeSet(a, "caf\xc3\xa9", now)), bad);
  EXPECT_EQ(code(MakeSet(a, std::string(64, 'x'), now)), StatusCode::kOk);
  ConfigurationSet set = MakeSet(a, "opts", now);
  set.tls_policy = "Require";
  EXPECT_EQ(code(set), bad);
  set = MakeSet(a, "opts", now);
  set.max_delivery_seconds = kMinMaxDeliverySeconds - 1;
  EXPECT_EQ(code(set), bad);
  set.max_delivery_seconds = kMaxMaxDeliverySeconds + 1;
  EXPECT_EQ(code(set), bad);
  set.max_delivery_seconds = -1;
  EXPECT_EQ(code(set), bad);
  set = MakeSet(a, "opts", now);
  set.tags_json = "";
  EXPECT_EQ(code(set), bad);
  set = MakeSet(a, "opts", now);
  set.tracking_options_json = std::string(kMaxOptionsJsonLength + 1, ' ');
  EXPECT_EQ(code(set), bad);
  set = MakeSet(a, "opts", now);
  set.sending_pool_name = std::string(kMaxSendingPoolNameLength + 1, 'p');
  EXPECT_EQ(code(set), bad);
  EXPECT_EQ(this->store_->GetConfigurationSet(a, "opts").status().code(), StatusCode::kNotFound);
  // Updates are checked the same way.
  ASSERT_TRUE(this->store_->CreateConfigurationSet(MakeSet(a, "opts", now)).ok());
  set = MakeSet(a, "opts", now);
  set.max_delivery_seconds = 1;
  EXPECT_EQ(this->store_->UpdateConfigurationSet(set).code(), bad);
  EXPECT_EQ(this->store_->GetConfigurationSet(a, "opts")->max_delivery_seconds, 0);
}

TYPED_TEST(StoreConformanceTest, UpdateConfigurationSetReplacesAllButCreated) {
  int64_t a = this->NewAccount("a");
  const SysTime created = this->clock_.Now();
  ConfigurationSet in = MakeSet(a, "tx", created);
  in.tls_policy = "REQUIRE";
  in.sending_pool_name = "pool";
  in.tracking_options_json = R"({"CustomRedirectDomain":"t.example.com"})";
  ASSERT_TRUE(this->store_->CreateConfigurationSet(in).ok());

  ConfigurationSet change = MakeSet(a, "tx", created + hours(3));  // `created` is ignored
  change.max_delivery_seconds = kMaxMaxDeliverySeconds;
  change.sending_enabled = false;
  change.reputation_metrics_enabled = true;
  change.last_fresh_start = created + hours(1);
  change.suppression_options_json = R"({"SuppressedReasons":[]})";
  change.tags_json = R"([{"Key":"k","Value":""}])";
  ASSERT_TRUE(this->store_->UpdateConfigurationSet(change).ok());
  auto out = this->store_->GetConfigurationSet(a, "tx");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->tls_policy, "OPTIONAL");
  EXPECT_EQ(out->sending_pool_name, "");
  EXPECT_EQ(out->tracking_options_json, "");
  EXPECT_EQ(out->max_delivery_seconds, kMaxMaxDeliverySeconds);
  EXPECT_FALSE(out->sending_enabled);
  EXPECT_TRUE(out->reputation_metrics_enabled);
  EXPECT_EQ(out->last_fresh_start, created + hours(1));
  EXPECT_EQ(out->suppression_options_json, R"({"SuppressedReasons":[]})");
  EXPECT_EQ(out->tags_json, R"([{"Key":"k","Value":""}])");
  EXPECT_EQ(out->created, created);
}

TYPED_TEST(StoreConformanceTest, ListConfigurationSetsPaginatesInNameOrder) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  const SysTime now = this->clock_.Now();
  for (const char* n : {"delta", "alpha", "Zulu", "charlie", "_under", "bravo", "9nine"}) {
    ASSERT_TRUE(this->store_->CreateConfigurationSet(MakeSet(a, n, now)).ok());
  }
  ASSERT_TRUE(this->store_->CreateConfigurationSet(MakeSet(b, "bravo2", now)).ok());

  // Byte order: digits, then upper case, then '_', then lower case.
  std::vector<std::string> all;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    auto p = this->store_->ListConfigurationSets(a, after, 3);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_LE(p->size(), 3u);
    if (p->empty()) break;
    for (const auto& s : *p) all.push_back(s.name);
    after = p->back().name;
  }
  EXPECT_EQ(all, (std::vector<std::string>{"9nine", "Zulu", "_under", "alpha", "bravo", "charlie",
                                           "delta"}));
  auto from_b = this->store_->ListConfigurationSets(a, "b", 2);
  ASSERT_TRUE(from_b.ok());
  EXPECT_EQ(SetNames(*from_b), (std::vector<std::string>{"bravo", "charlie"}));
  auto other = this->store_->ListConfigurationSets(b, "", 100);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(SetNames(*other), (std::vector<std::string>{"bravo2"}));
  auto none = this->store_->ListConfigurationSets(77, "", 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(this->store_->ListConfigurationSets(a, "", 0).status().code(),
            StatusCode::kInvalidArgument);
  auto clamped = this->store_->ListConfigurationSets(a, "", 1 << 30);
  ASSERT_TRUE(clamped.ok());
  EXPECT_EQ(clamped->size(), 7u);
}

TYPED_TEST(StoreConformanceTest, RollingSendWindow) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  FakeClock& clock = this->clock_;
  clock.SetWallForTest(1795000020000 + 10000);  // 10 s into a minute
  ASSERT_EQ(SendBucketMinute(clock.Now() + seconds(49)), SendBucketMinute(clock.Now()));
  const SysTime start = clock.Now();
  ASSERT_TRUE(this->store_->RecordSends(a, clock.Now(), 10).ok());
  ASSERT_TRUE(this->store_->RecordSends(a, clock.Now() + seconds(5), 5).ok());  // same minute
  ASSERT_TRUE(this->store_->RecordSends(b, clock.Now(), 1000).ok());
  clock.Advance(hours(1));
  ASSERT_TRUE(this->store_->RecordSends(a, clock.Now(), 20).ok());
  clock.Advance(hours(22));
  ASSERT_TRUE(this->store_->RecordSends(a, clock.Now(), 40).ok());
  EXPECT_TRUE(this->store_->RecordSends(a, clock.Now(), 0).ok());

  // 23 h after the start: everything is inside the last 24 h.
  EXPECT_EQ(*this->store_->CountSendsSince(a, clock.Now() - hours(24)), 75);
  EXPECT_EQ(*this->store_->CountSendsSince(b, clock.Now() - hours(24)), 1000);
  // 24 h + 2 min after the start: the first minute's 15 have left the window.
  clock.Advance(hours(1) + minutes(2));
  EXPECT_EQ(*this->store_->CountSendsSince(a, clock.Now() - hours(24)), 60);
  // 25 h + 2 min: the second batch has left too.
  clock.Advance(hours(1));
  EXPECT_EQ(*this->store_->CountSendsSince(a, clock.Now() - hours(24)), 40);
  // Since the very start everything still counts (nothing old enough to prune).
  EXPECT_EQ(*this->store_->CountSendsSince(a, start), 75);
  // Granularity is a minute: a `since` inside the first minute counts that whole bucket.
  EXPECT_EQ(*this->store_->CountSendsSince(a, start + seconds(30)), 75);
  EXPECT_EQ(*this->store_->CountSendsSince(a, start + seconds(60)), 60);
  EXPECT_EQ(*this->store_->CountSendsSince(12345, start), 0);
}

TYPED_TEST(StoreConformanceTest, RecordSendsRejectsBadInput) {
  int64_t a = this->NewAccount("a");
  EXPECT_EQ(this->store_->RecordSends(a, this->clock_.Now(), -1).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->RecordSends(a, this->clock_.Now(), kMaxSendsPerRecord + 1).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->RecordSends(a + 100, this->clock_.Now(), 1).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(*this->store_->CountSendsSince(a, this->clock_.Now() - hours(24)), 0);
}

TYPED_TEST(StoreConformanceTest, OldSendBucketsArePruned) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  ASSERT_TRUE(this->store_->RecordSends(a, this->clock_.Now(), 1).ok());
  ASSERT_TRUE(this->store_->RecordSends(b, this->clock_.Now(), 1).ok());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(this->store_->RecordSends(a, this->clock_.Now() + minutes(i), 1).ok());
  }
  EXPECT_EQ(TypeParam::Buckets(*this->store_, a), 6);
  this->clock_.Advance(hours(49));
  ASSERT_TRUE(this->store_->RecordSends(a, this->clock_.Now(), 2).ok());
  EXPECT_EQ(TypeParam::Buckets(*this->store_, a), 1);
  EXPECT_EQ(*this->store_->CountSendsSince(a, this->clock_.Now() - hours(24)), 2);
  // Another account's buckets are pruned only on its own writes.
  EXPECT_EQ(TypeParam::Buckets(*this->store_, b), 1);
}

TYPED_TEST(StoreConformanceTest, ConcurrentRecordSendsAreAllCounted) {
  int64_t a = this->NewAccount("a");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::vector<std::thread> threads;
  std::vector<Status> results(kThreads * kPerThread);
  const SysTime at = this->clock_.Now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        results[t * kPerThread + i] = this->store_->RecordSends(a, at + seconds(i), t + 1);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const Status& st : results) EXPECT_TRUE(st.ok()) << st.ToString();
  // Sum over threads of (t + 1) * kPerThread.
  EXPECT_EQ(*this->store_->CountSendsSince(a, at), (1 + 2 + 3 + 4) * kPerThread);
}

// ---- Suppression ---------------------------------------------------------------------------

template <typename T>
std::vector<std::string> Addresses(const std::vector<T>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.address);
  return out;
}

SuppressedDestination Entry(int64_t account_id, const std::string& address,
                            SuppressionReason reason, SysTime at) {
  SuppressedDestination e;
  e.account_id = account_id;
  e.address = address;
  e.reason = reason;
  e.last_update = at;
  return e;
}

TYPED_TEST(StoreConformanceTest, AccountsStartWithBothSuppressionReasons) {
  int64_t a = this->NewAccount("a");
  auto account = this->store_->GetAccount(a);
  ASSERT_TRUE(account.ok());
  EXPECT_TRUE(account->suppressed_reasons.bounce);
  EXPECT_TRUE(account->suppressed_reasons.complaint);
  EXPECT_EQ(account->suppression_validation_json, "");

  const std::string validation =
      R"({"ConditionThreshold":{"ConditionThresholdEnabled":"ENABLED"}})";
  ASSERT_TRUE(this->store_->SetSuppressionAttributes(a, {false, true}, validation).ok());
  account = this->store_->GetAccount(a);
  ASSERT_TRUE(account.ok());
  EXPECT_EQ(account->suppressed_reasons, (SuppressionReasons{false, true}));
  EXPECT_EQ(account->suppression_validation_json, validation);
  ASSERT_TRUE(this->store_->SetSuppressionAttributes(a, {false, false}, "").ok());
  auto listed = this->store_->ListAccounts();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].suppressed_reasons.empty());
  EXPECT_EQ((*listed)[0].suppression_validation_json, "");

  EXPECT_EQ(this->store_->SetSuppressionAttributes(a + 1, {}, "").code(), StatusCode::kNotFound);
  EXPECT_EQ(
      this->store_->SetSuppressionAttributes(a, {}, std::string(kMaxOptionsJsonLength + 1, 'x'))
          .code(),
      StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, SuppressedDestinationsMatchCaseInsensitivelyAndUpsert) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  const SysTime t0 = this->clock_.Now() + microseconds(1500);  // sub-ms is dropped
  SuppressedDestination e = Entry(a, "Some.One@Example.COM", SuppressionReason::kBounce, t0);
  e.message_id = "0100018c-msg";
  e.feedback_id = "fb-1";
  e.diagnostic = "smtp; 550 5.1.1 no such user";
  ASSERT_TRUE(this->store_->PutSuppressedDestination(e).ok());

  auto got = this->store_->GetSuppressedDestination(a, "some.one@example.com");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->account_id, a);
  EXPECT_EQ(got->address, "Some.One@Example.COM");  // as given
  EXPECT_EQ(got->reason, SuppressionReason::kBounce);
  EXPECT_EQ(got->last_update, FromUnixMillis(UnixMillis(t0)));
  EXPECT_EQ(got->message_id, "0100018c-msg");
  EXPECT_EQ(got->feedback_id, "fb-1");
  EXPECT_EQ(got->diagnostic, "smtp; 550 5.1.1 no such user");
  // Another account's list is its own.
  EXPECT_EQ(this->store_->GetSuppressedDestination(b, "some.one@example.com").status().code(),
            StatusCode::kNotFound);

  // A second put of the same address (other case) replaces every field of the one entry.
  SuppressedDestination again =
      Entry(a, "SOME.ONE@example.com", SuppressionReason::kComplaint, t0 + minutes(5));
  ASSERT_TRUE(this->store_->PutSuppressedDestination(again).ok());
  got = this->store_->GetSuppressedDestination(a, "Some.One@Example.Com");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->address, "SOME.ONE@example.com");
  EXPECT_EQ(got->reason, SuppressionReason::kComplaint);
  EXPECT_EQ(got->last_update, FromUnixMillis(UnixMillis(t0 + minutes(5))));
  EXPECT_EQ(got->message_id, "");
  EXPECT_EQ(got->diagnostic, "");
  auto all = this->store_->ListSuppressedDestinations(a, {}, "", 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);

  EXPECT_EQ(this->store_->DeleteSuppressedDestination(b, "some.one@example.com").code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(this->store_->DeleteSuppressedDestination(a, "some.ONE@example.com").ok());
  EXPECT_EQ(this->store_->GetSuppressedDestination(a, "some.one@example.com").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(this->store_->DeleteSuppressedDestination(a, "some.one@example.com").code(),
            StatusCode::kNotFound);
  // An entry needs its account.
  EXPECT_EQ(
      this->store_
          ->PutSuppressedDestination(Entry(b + 1, "x@example.com", SuppressionReason::kBounce, t0))
          .code(),
      StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, SuppressedDestinationsAreValidated) {
  int64_t a = this->NewAccount("a");
  const SysTime t = this->clock_.Now();
  auto code = [&](SuppressedDestination e) {
    return this->store_->PutSuppressedDestination(e).code();
  };
  EXPECT_EQ(code(Entry(a, "", SuppressionReason::kBounce, t)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Entry(a, std::string(kMaxEmailLength + 1, 'a'), SuppressionReason::kBounce, t)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Entry(a, std::string("a\0b@example.com", 15), SuppressionReason::kBounce, t)),
            StatusCode::kInvalidArgument);
  SuppressedDestination e = Entry(a, "ok@example.com", SuppressionReason::kBounce, t);
  e.diagnostic = std::string(kMaxSuppressionDiagnosticLength + 1, 'd');
  EXPECT_EQ(code(e), StatusCode::kInvalidArgument);
  e.diagnostic = std::string(kMaxSuppressionDiagnosticLength, 'd');
  EXPECT_EQ(code(e), StatusCode::kOk);
  e.message_id = std::string(kMaxSuppressionIdLength + 1, 'm');
  EXPECT_EQ(code(e), StatusCode::kInvalidArgument);
  e.message_id.clear();
  e.feedback_id = std::string(kMaxSuppressionIdLength + 1, 'f');
  EXPECT_EQ(code(e), StatusCode::kInvalidArgument);
  e.feedback_id.clear();
  e.reason = static_cast<SuppressionReason>(7);
  EXPECT_EQ(code(e), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->ListSuppressedDestinations(a, {}, "", 0).status().code(),
            StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, ListSuppressedDestinationsFiltersAndPagesByKey) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  const SysTime t0 = this->clock_.Now();
  // Keys in order: a@, B@ (b@), c@, d@, e@.
  ASSERT_TRUE(this->store_
                  ->PutSuppressedDestinations(
                      {Entry(a, "e@x.test", SuppressionReason::kComplaint, t0 + hours(4)),
                       Entry(a, "c@x.test", SuppressionReason::kBounce, t0 + hours(2)),
                       Entry(a, "B@x.test", SuppressionReason::kComplaint, t0 + hours(1)),
                       Entry(a, "a@x.test", SuppressionReason::kBounce, t0),
                       Entry(a, "d@x.test", SuppressionReason::kBounce, t0 + hours(3)),
                       Entry(b, "0@x.test", SuppressionReason::kBounce, t0)})
                  .ok());
  auto list = [&](SuppressionListFilter f, const std::string& after, int limit) {
    auto r = this->store_->ListSuppressedDestinations(a, f, after, limit);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? Addresses(*r) : std::vector<std::string>{"<error>"};
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list({}, "", 100), (V{"a@x.test", "B@x.test", "c@x.test", "d@x.test", "e@x.test"}));
  // Pages continue after the last key of the previous one.
  EXPECT_EQ(list({}, "", 2), (V{"a@x.test", "B@x.test"}));
  EXPECT_EQ(list({}, "b@x.test", 2), (V{"c@x.test", "d@x.test"}));
  EXPECT_EQ(list({}, "d@x.test", 2), (V{"e@x.test"}));
  EXPECT_EQ(list({}, "e@x.test", 2), V{});

  SuppressionListFilter bounces;
  bounces.reasons = {true, false};
  EXPECT_EQ(list(bounces, "", 100), (V{"a@x.test", "c@x.test", "d@x.test"}));
  // The limit counts matching entries only.
  EXPECT_EQ(list(bounces, "", 2), (V{"a@x.test", "c@x.test"}));
  SuppressionListFilter complaints;
  complaints.reasons = {false, true};
  EXPECT_EQ(list(complaints, "", 100), (V{"B@x.test", "e@x.test"}));

  SuppressionListFilter window;  // inclusive bounds on last_update
  window.start = t0 + hours(1);
  window.end = t0 + hours(3);
  EXPECT_EQ(list(window, "", 100), (V{"B@x.test", "c@x.test", "d@x.test"}));
  window.start = t0 + hours(1) + milliseconds(1);
  window.end = t0 + hours(3) - milliseconds(1);
  EXPECT_EQ(list(window, "", 100), (V{"c@x.test"}));
  SuppressionListFilter since;
  since.start = t0 + hours(3);
  EXPECT_EQ(list(since, "", 100), (V{"d@x.test", "e@x.test"}));
  SuppressionListFilter until;
  until.end = t0;
  until.reasons = {true, false};
  EXPECT_EQ(list(until, "", 100), (V{"a@x.test"}));
}

TYPED_TEST(StoreConformanceTest, FindSuppressedDestinationsLooksUpABatch) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  const SysTime t = this->clock_.Now();
  std::vector<SuppressedDestination> entries;
  for (int i = 0; i < 40; i += 2) {  // every even user, more than one lookup chunk
    entries.push_back(
        Entry(a, "User" + std::to_string(i) + "@Example.com", SuppressionReason::kBounce, t));
  }
  entries.push_back(Entry(b, "user1@example.com", SuppressionReason::kBounce, t));
  ASSERT_TRUE(this->store_->PutSuppressedDestinations(entries).ok());

  std::vector<std::string> wanted;
  for (int i = 0; i < 40; ++i) wanted.push_back("USER" + std::to_string(i) + "@EXAMPLE.COM");
  wanted.push_back("user4@example.com");  // a duplicate in another case
  wanted.push_back("nobody@example.com");
  auto found = this->store_->FindSuppressedDestinations(a, wanted);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  std::vector<std::string> expect;
  for (int i = 0; i < 40; i += 2) expect.push_back("User" + std::to_string(i) + "@Example.com");
  std::sort(expect.begin(), expect.end(), [](const std::string& x, const std::string& y) {
    return SuppressionKey(x) < SuppressionKey(y);
  });
  EXPECT_EQ(Addresses(*found), expect);
  for (const auto& e : *found) EXPECT_EQ(e.account_id, a);

  auto few =
      this->store_->FindSuppressedDestinations(a, {"user1@example.com", "user2@example.com"});
  ASSERT_TRUE(few.ok());
  EXPECT_EQ(Addresses(*few), (std::vector<std::string>{"User2@Example.com"}));
  auto none = this->store_->FindSuppressedDestinations(a, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(this->store_
                ->FindSuppressedDestinations(
                    a, std::vector<std::string>(kMaxSuppressionLookup + 1, "x@example.com"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, PutSuppressedDestinationsIsAllOrNothing) {
  int64_t a = this->NewAccount("a");
  const SysTime t = this->clock_.Now();
  EXPECT_EQ(
      this->store_
          ->PutSuppressedDestinations({Entry(a, "one@x.test", SuppressionReason::kBounce, t),
                                       Entry(a + 7, "two@x.test", SuppressionReason::kBounce, t)})
          .code(),
      StatusCode::kNotFound);
  EXPECT_EQ(this->store_->GetSuppressedDestination(a, "one@x.test").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(this->store_
                ->PutSuppressedDestinations({Entry(a, "one@x.test", SuppressionReason::kBounce, t),
                                             Entry(a, "", SuppressionReason::kBounce, t)})
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->GetSuppressedDestination(a, "one@x.test").status().code(),
            StatusCode::kNotFound);
  // Of two entries for one key, the later wins.
  ASSERT_TRUE(this->store_
                  ->PutSuppressedDestinations(
                      {Entry(a, "one@x.test", SuppressionReason::kBounce, t),
                       Entry(a, "ONE@x.test", SuppressionReason::kComplaint, t + seconds(1))})
                  .ok());
  auto got = this->store_->GetSuppressedDestination(a, "one@x.test");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->address, "ONE@x.test");
  EXPECT_EQ(got->reason, SuppressionReason::kComplaint);
  EXPECT_TRUE(this->store_->PutSuppressedDestinations({}).ok());
  EXPECT_EQ(this->store_
                ->PutSuppressedDestinations(std::vector<SuppressedDestination>(
                    kMaxSuppressionBatch + 1, Entry(a, "x@x.test", SuppressionReason::kBounce, t)))
                .code(),
            StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreConformanceTest, DeleteAllSuppressedDestinationsEmptiesOneAccount) {
  int64_t a = this->NewAccount("a");
  int64_t b = this->NewAccount("b");
  const SysTime t = this->clock_.Now();
  ASSERT_TRUE(
      this->store_
          ->PutSuppressedDestinations({Entry(a, "1@x.test", SuppressionReason::kBounce, t),
                                       Entry(a, "2@x.test", SuppressionReason::kComplaint, t),
                                       Entry(b, "1@x.test", SuppressionReason::kBounce, t)})
          .ok());
  auto n = this->store_->DeleteAllSuppressedDestinations(a);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_TRUE(this->store_->ListSuppressedDestinations(a, {}, "", 10)->empty());
  EXPECT_EQ(this->store_->ListSuppressedDestinations(b, {}, "", 10)->size(), 1u);
  EXPECT_EQ(*this->store_->DeleteAllSuppressedDestinations(a), 0);
}

TYPED_TEST(StoreConformanceTest, GlobalListingGrowsWithRepeatsUpToTheCap) {
  GlobalListingPolicy policy;  // 24 h, doubling, at most 14 days
  SysTime t = this->clock_.Now();
  auto bounce = [&](const std::string& address, SysTime at) {
    Status st =
        this->store_->RecordGlobalHardBounces({{address, at, "smtp; 550 5.1.1 gone"}}, policy);
    EXPECT_TRUE(st.ok()) << st.ToString();
  };
  auto listed_at = [&](SysTime now) {
    auto r = this->store_->FindGloballySuppressed({"gone@x.test", "other@x.test"}, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->size() == 1 && (*r)[0].address == "gone@x.test";
  };
  EXPECT_EQ(this->store_->GetGlobalSuppression("gone@x.test").status().code(),
            StatusCode::kNotFound);
  bounce("Gone@X.test", t);
  auto g = this->store_->GetGlobalSuppression("GONE@x.test");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->address, "gone@x.test");
  EXPECT_EQ(g->bounce_count, 1);
  EXPECT_EQ(g->listed_until, t + hours(24));
  EXPECT_EQ(g->diagnostic, "smtp; 550 5.1.1 gone");
  EXPECT_TRUE(listed_at(t));
  EXPECT_TRUE(listed_at(t + hours(24) - milliseconds(1)));
  EXPECT_FALSE(listed_at(t + hours(24)));

  // Periods double with each repeat after the listing ended: 48 h, 96 h, 192 h, then 14 days.
  const hours expected[] = {hours(48), hours(96), hours(192), hours(336), hours(336)};
  for (hours period : expected) {
    t = g->listed_until + hours(1);
    bounce("gone@x.test", t);
    g = this->store_->GetGlobalSuppression("gone@x.test");
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->listed_until, t + period) << g->bounce_count;
    EXPECT_TRUE(listed_at(t + period - seconds(1)));
    EXPECT_FALSE(listed_at(t + period));
  }
  EXPECT_EQ(g->bounce_count, 6);
  ASSERT_TRUE(this->store_->DeleteGlobalSuppression("GONE@x.test").ok());
  EXPECT_FALSE(listed_at(t));
  EXPECT_EQ(this->store_->DeleteGlobalSuppression("gone@x.test").code(), StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, GlobalBouncesWhileListedOrLongAfterDoNotCompound) {
  GlobalListingPolicy policy;
  policy.first_listing = hours(2);
  policy.max_listing = hours(10);
  const SysTime t = this->clock_.Now();
  // Two bounces in one batch: the second arrives while the address is listed (mail sent
  // before the listing) and changes neither the count nor the end.
  ASSERT_TRUE(this->store_
                  ->RecordGlobalHardBounces({{"x@x.test", t, "first"},
                                             {"X@x.test", t + minutes(30), "second"},
                                             {"y@x.test", t, "other"}},
                                            policy)
                  .ok());
  auto g = this->store_->GetGlobalSuppression("x@x.test");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->bounce_count, 1);
  EXPECT_EQ(g->listed_until, t + hours(2));
  EXPECT_EQ(g->diagnostic, "second");
  EXPECT_EQ(g->last_bounce, t + minutes(30));
  auto both = this->store_->FindGloballySuppressed({"Y@X.TEST", "x@x.test"}, t + hours(1));
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(Addresses(*both), (std::vector<std::string>{"x@x.test", "y@x.test"}));

  // A repeat soon after the listing ends doubles the period...
  ASSERT_TRUE(
      this->store_->RecordGlobalHardBounces({{"x@x.test", t + hours(3), "again"}}, policy).ok());
  g = this->store_->GetGlobalSuppression("x@x.test");
  EXPECT_EQ(g->bounce_count, 2);
  EXPECT_EQ(g->listed_until, t + hours(7));
  // ...one more than max_listing after it ended starts again at the first period.
  const SysTime late = t + hours(7) + hours(10) + minutes(1);
  ASSERT_TRUE(this->store_->RecordGlobalHardBounces({{"x@x.test", late, "late"}}, policy).ok());
  g = this->store_->GetGlobalSuppression("x@x.test");
  EXPECT_EQ(g->bounce_count, 1);
  EXPECT_EQ(g->listed_until, late + hours(2));

  EXPECT_EQ(this->store_->RecordGlobalHardBounces({{"", t, ""}}, policy).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      this->store_
          ->RecordGlobalHardBounces(
              {{"z@x.test", t, std::string(kMaxSuppressionDiagnosticLength + 1, 'd')}}, policy)
          .code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(this->store_->GetGlobalSuppression("z@x.test").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(this->store_
                ->FindGloballySuppressed(
                    std::vector<std::string>(kMaxSuppressionLookup + 1, "x@x.test"), t)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(SuppressionReasonsTest, FormatAndParseAreInverses) {
  for (bool bounce : {false, true}) {
    for (bool complaint : {false, true}) {
      SuppressionReasons r{bounce, complaint};
      auto back = ParseSuppressionReasons(FormatSuppressionReasons(r));
      ASSERT_TRUE(back.has_value());
      EXPECT_EQ(*back, r);
    }
  }
  EXPECT_EQ(FormatSuppressionReasons({true, true}), "BOUNCE,COMPLAINT");
  EXPECT_EQ(ParseSuppressionReasons("COMPLAINT,BOUNCE"), (SuppressionReasons{true, true}));
  EXPECT_FALSE(ParseSuppressionReasons("BOUNCE,BOUNCE").has_value());
  EXPECT_FALSE(ParseSuppressionReasons("bounce").has_value());
  EXPECT_FALSE(ParseSuppressionReasons("BOUNCE,").has_value());
  EXPECT_EQ(ParseSuppressionReason("COMPLAINT"), SuppressionReason::kComplaint);
  EXPECT_FALSE(ParseSuppressionReason("Complaint").has_value());
}

// The limit clamp needs more than kMaxListLimit rows: one call per row is cheap only in
// memory (the SQLite variant, which bulk-loads its rows, is in sqlite_store_test.cc).
TEST(MemStoreTest, ListIdentitiesClampsTheLimit) {
  MemStore store;
  FakeClock clock;
  auto a = store.CreateAccount("a", clock.Now());
  ASSERT_TRUE(a.ok());
  for (int i = 0; i < kMaxListLimit + 3; ++i) {
    Identity id;
    id.account_id = a->id;
    id.name = "d" + std::to_string(i);
    ASSERT_TRUE(store.CreateIdentity(id).ok());
  }
  auto all = store.ListIdentities(a->id, "", 1 << 30);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(static_cast<int>(all->size()), kMaxListLimit);
}

TEST(MemStoreTest, FailAllForTestFailsEveryCallUntilCleared) {
  MemStore store;
  FakeClock clock;
  auto a = store.CreateAccount("a", clock.Now());
  ASSERT_TRUE(a.ok());
  store.FailAllForTest(UnavailableError("disk on fire"));
  EXPECT_EQ(store.GetAccount(a->id).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.RecordSends(a->id, clock.Now(), 1).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.CountSendsSince(a->id, clock.Now()).status().code(), StatusCode::kUnavailable);
  Identity id;
  id.account_id = a->id;
  id.name = "example.com";
  EXPECT_EQ(store.SetIdentityDkim(id).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.SetIdentityMailFrom(id).code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      store.SetIdentityDkimStatus(a->id, "example.com", "", VerificationStatus::kSuccess).code(),
      StatusCode::kUnavailable);
  EXPECT_EQ(FindDomainIdentity(store, a->id, "example.com").status().code(),
            StatusCode::kUnavailable);
  ConfigurationSet set;
  set.account_id = a->id;
  set.name = "tx";
  EXPECT_EQ(store.CreateConfigurationSet(set).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.GetConfigurationSet(a->id, "tx").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.ListConfigurationSets(a->id, "", 10).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.UpdateConfigurationSet(set).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.DeleteConfigurationSet(a->id, "tx").code(), StatusCode::kUnavailable);
  SuppressedDestination e;
  e.account_id = a->id;
  e.address = "x@example.com";
  EXPECT_EQ(store.PutSuppressedDestination(e).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.FindSuppressedDestinations(a->id, {"x@example.com"}).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(store.FindGloballySuppressed({"x@example.com"}, clock.Now()).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(store.RecordGlobalHardBounces({{"x@example.com", clock.Now(), ""}}, {}).code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(store.SetSuppressionAttributes(a->id, {}, "").code(), StatusCode::kUnavailable);
  store.FailAllForTest(Status::Ok());
  EXPECT_TRUE(store.PutSuppressedDestination(e).ok());
  EXPECT_TRUE(store.CreateConfigurationSet(set).ok());
  EXPECT_TRUE(store.GetAccount(a->id).ok());
  EXPECT_EQ(*store.CountSendsSince(a->id, clock.Now()), 0);
}

}  // namespace
}  // namespace herald::store
