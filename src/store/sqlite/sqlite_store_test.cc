// SQLite-specific behaviour: files, modes, several connections, schema versions, damage.
// The Store contract itself is tested in store_conformance_test.cc.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/store_test_util.h"
#include "tests/fakes/fake_clock.h"

namespace herald::store {
namespace {

using std::chrono::seconds;

// Restores the process umask when it goes out of scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 07777;  // not a mode a test expects
  return st.st_mode & 0777;
}

// Runs `sql` on a separate raw connection (to inspect or damage the file from outside).
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err != nullptr ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

std::string RawQueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out = "<error>";
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* p = sqlite3_column_text(stmt, 0);
      out = p != nullptr ? reinterpret_cast<const char*>(p) : "";
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

std::unique_ptr<SqliteStore> MustOpen(const std::string& path) {
  auto s = SqliteStore::Open(path);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

// Undoes migration 7 -> 8 (identity notification settings).
#define HERALD_DROP_VERSION8                                 \
  "ALTER TABLE identities DROP COLUMN bounce_topic; "        \
  "ALTER TABLE identities DROP COLUMN complaint_topic; "     \
  "ALTER TABLE identities DROP COLUMN delivery_topic; "      \
  "ALTER TABLE identities DROP COLUMN bounce_headers; "      \
  "ALTER TABLE identities DROP COLUMN complaint_headers; "   \
  "ALTER TABLE identities DROP COLUMN delivery_headers; "    \
  "ALTER TABLE identities DROP COLUMN feedback_forwarding; " \
  "DROP TABLE notification_cursors; "

// Undoes migrations 6 -> 7 (contact lists, contacts and engagement) and 7 -> 8.
#define HERALD_DROP_VERSION7 \
  HERALD_DROP_VERSION8       \
  "DROP TABLE engagement; DROP TABLE contacts; DROP TABLE contact_lists; "

// Undoes migrations 5 -> 6 (event publishing and templates) and later ones.
#define HERALD_DROP_VERSION6                                                      \
  HERALD_DROP_VERSION7                                                            \
  "DROP TABLE topic_subscriptions; DROP TABLE topics; DROP TABLE event_cursors; " \
  "DROP TABLE event_destinations; DROP TABLE email_templates; "

// Undoes migrations 4 -> 5 (reputation) and later ones, to make a file look like an older
// binary's.
#define HERALD_DROP_VERSION5                                            \
  HERALD_DROP_VERSION6                                                  \
  "DROP TABLE rep_buckets; DROP TABLE reputation; DROP TABLE notices; " \
  "DROP TABLE review_cases; DROP TABLE guard_cases; "                   \
  "ALTER TABLE accounts DROP COLUMN enforcement_state; "
constexpr const char* kDropVersion5 = HERALD_DROP_VERSION5;

// Undoes migrations 3 -> 4 (suppression) and later ones.
constexpr const char* kDropVersion4 = HERALD_DROP_VERSION5
    "DROP TABLE suppressed_destinations; DROP TABLE global_suppressions; "
    "ALTER TABLE accounts DROP COLUMN suppressed_reasons; "
    "ALTER TABLE accounts DROP COLUMN suppression_validation_json; ";

// A file of schema version 6 (before contact lists) gains the contact list, contact and
// engagement tables and keeps its rows.
TEST(SqliteStoreTest, Version6FileIsMigrated) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  FakeClock clock;
  int64_t account_id = 0;
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    auto a = store->CreateAccount("acme", clock.Now());
    ASSERT_TRUE(a.ok());
    account_id = a->id;
    EmailTemplate t;
    t.account_id = account_id;
    t.name = "kept";
    t.subject = "Hello";
    ASSERT_TRUE(store->CreateTemplate(t).ok());
  }
  RawExec(path, std::string(HERALD_DROP_VERSION7) + "UPDATE schema_version SET version = 6");
  EXPECT_EQ(RawQueryText(path, "SELECT count(*) FROM sqlite_master WHERE name = 'contacts'"), "0");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQueryText(path, "SELECT version FROM schema_version"),
            std::to_string(SqliteStore::SchemaVersion()));
  auto kept = store->GetTemplate(account_id, "kept");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(kept->subject, "Hello");
  ContactListRow list;
  list.account_id = account_id;
  list.name = "customers";
  list.topics = {{"news", "News", "", true}};
  ASSERT_TRUE(store->CreateContactList(list).ok());
  ContactRow contact;
  contact.account_id = account_id;
  contact.list_name = "customers";
  contact.email = "a@example.com";
  ASSERT_TRUE(store->CreateContact(contact).ok());
  EngagementRow open;
  open.account_id = account_id;
  open.message_id = "m1";
  open.at = clock.Now();
  EXPECT_TRUE(*store->RecordEngagement(open));
  EXPECT_EQ(*store->CountEngagement(account_id, "", EngagementRow::kOpen, clock.Now(),
                                    clock.Now() + seconds(1)),
            1);
}

// A file of schema version 7 (before identity notifications) gains the notification
// columns: its identities keep their fields and read back with SES's defaults (no topics,
// no headers, feedback forwarding on), which can then be changed.
TEST(SqliteStoreTest, Version7FileIsMigrated) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  FakeClock clock;
  int64_t account_id = 0;
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    auto a = store->CreateAccount("acme", clock.Now());
    ASSERT_TRUE(a.ok());
    account_id = a->id;
    Identity id;
    id.account_id = account_id;
    id.name = "acme.example";
    id.type = IdentityType::kDomain;
    id.status = VerificationStatus::kSuccess;
    id.dkim_selector = "sel";
    id.dkim_private_key_pem = "pem";
    id.mail_from_domain = "mail.acme.example";
    ASSERT_TRUE(store->CreateIdentity(id).ok());
  }
  RawExec(path, std::string(HERALD_DROP_VERSION8) + "UPDATE schema_version SET version = 7");
  EXPECT_EQ(RawQueryText(path,
                         "SELECT count(*) FROM pragma_table_info('identities') WHERE name = "
                         "'feedback_forwarding'"),
            "0");
  // A row as a version-7 binary wrote it, after the columns are gone.
  RawExec(path, "INSERT INTO identities (account_id, name, type, status, created_ms) VALUES (" +
                    std::to_string(account_id) +
                    ", 'old@acme.example', 'EMAIL_ADDRESS', 'PENDING', 0)");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQueryText(path, "SELECT version FROM schema_version"),
            std::to_string(SqliteStore::SchemaVersion()));
  EXPECT_EQ(SqliteStore::SchemaVersion(), 8);
  for (const char* name : {"acme.example", "old@acme.example"}) {
    auto id = store->GetIdentity(account_id, name);
    ASSERT_TRUE(id.ok()) << name << ": " << id.status().ToString();
    EXPECT_EQ(id->bounce_topic, "") << name;
    EXPECT_EQ(id->complaint_topic, "") << name;
    EXPECT_EQ(id->delivery_topic, "") << name;
    EXPECT_FALSE(id->bounce_headers) << name;
    EXPECT_FALSE(id->complaint_headers) << name;
    EXPECT_FALSE(id->delivery_headers) << name;
    EXPECT_TRUE(id->feedback_forwarding) << name;
  }
  auto kept = store->GetIdentity(account_id, "acme.example");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->status, VerificationStatus::kSuccess);
  EXPECT_EQ(kept->dkim_selector, "sel");
  EXPECT_EQ(kept->mail_from_domain, "mail.acme.example");
  // The new columns are writable.
  Identity change = *kept;
  change.complaint_topic = "arn:aws:sns:us-east-1:000000000001:complaints";
  change.feedback_forwarding = false;
  ASSERT_TRUE(store->SetIdentityNotifications(change).ok());
  auto back = store->GetIdentity(account_id, "acme.example");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->complaint_topic, change.complaint_topic);
  EXPECT_FALSE(back->feedback_forwarding);
}

// Contact list and contact rows that do not read back are kDataLoss, not a crash.
TEST(SqliteStoreTest, DamagedContactRowsAreDataLoss) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  FakeClock clock;
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  auto a = store->CreateAccount("acme", clock.Now());
  ASSERT_TRUE(a.ok());
  ContactListRow list;
  list.account_id = a->id;
  list.name = "customers";
  list.topics = {{"news", "News", "", true}};
  ASSERT_TRUE(store->CreateContactList(list).ok());
  ContactRow contact;
  contact.account_id = a->id;
  contact.list_name = "customers";
  contact.email = "a@example.com";
  contact.topic_preferences = {{"news", false}};
  ASSERT_TRUE(store->CreateContact(contact).ok());
  // The stored forms are SES's shapes.
  EXPECT_EQ(RawQueryText(path, "SELECT preferences_json FROM contacts"),
            R"([{"SubscriptionStatus":"OPT_OUT","TopicName":"news"}])");
  RawExec(path, "UPDATE contacts SET preferences_json = '[{\"TopicName\":\"news\"}]'");
  EXPECT_EQ(store->GetContact(a->id, "customers", "a@example.com").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(store->ListContacts(a->id, "customers", "", 10).status().code(), StatusCode::kDataLoss);
  RawExec(path, "UPDATE contact_lists SET topics_json = 'not json'");
  EXPECT_EQ(store->GetContactList(a->id, "customers").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(store->ListContactLists(a->id).status().code(), StatusCode::kDataLoss);
}

// A file of schema version 5 (before event publishing) gains the template, destination and
// topic tables and keeps its configuration sets.
TEST(SqliteStoreTest, Version5FileIsMigrated) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  FakeClock clock;
  int64_t account_id = 0;
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    auto a = store->CreateAccount("acme", clock.Now());
    ASSERT_TRUE(a.ok());
    account_id = a->id;
    ConfigurationSet set;
    set.account_id = account_id;
    set.name = "kept";
    set.created = clock.Now();
    ASSERT_TRUE(store->CreateConfigurationSet(set).ok());
  }
  RawExec(path, std::string(HERALD_DROP_VERSION6) + "UPDATE schema_version SET version = 5");
  EXPECT_EQ(RawQueryText(path, "SELECT count(*) FROM sqlite_master WHERE name = 'topics'"), "0");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQueryText(path, "SELECT version FROM schema_version"),
            std::to_string(SqliteStore::SchemaVersion()));
  EventDestinationRow d;
  d.account_id = account_id;
  d.configuration_set = "kept";
  d.name = "hook";
  d.kind = "webhook";
  EXPECT_TRUE(store->CreateEventDestination(d, 0).ok());
  EmailTemplate t;
  t.account_id = account_id;
  t.name = "welcome";
  EXPECT_TRUE(store->CreateTemplate(t).ok());
}

// A file of schema version 4 (before reputation) gains the reputation tables; its accounts
// read as healthy and keep their enforcement status.
TEST(SqliteStoreTest, Version4FileIsMigrated) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  FakeClock clock;
  int64_t account_id = 0;
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    auto a = store->CreateAccount("acme", clock.Now());
    ASSERT_TRUE(a.ok());
    account_id = a->id;
  }
  RawExec(path, std::string(kDropVersion5) + "UPDATE schema_version SET version = 4");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQueryText(path, "SELECT version FROM schema_version"),
            std::to_string(SqliteStore::SchemaVersion()));
  auto account = store->GetAccount(account_id);
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(account->enforcement_state, "healthy");
  EXPECT_EQ(account->enforcement_status, "HEALTHY");
  ASSERT_TRUE(store->SaveRepBuckets(account_id, "", {{1, 2, 0, 1, 0, 0}}, 0).ok());
  EXPECT_EQ(store->LoadRepBuckets(account_id, "")->size(), 1u);
}

TEST(SqliteStoreTest, FilesAreOwnerOnlyEvenWithAPermissiveUmask) {
  TempDir dir;
  ScopedUmask umask(0);
  const std::string path = dir.File("herald.db");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  FakeClock clock;
  ASSERT_TRUE(store->CreateAccount("acme", clock.Now()).ok());
  EXPECT_EQ(ModeOf(path), 0600);
  // WAL mode: while the store is open the -wal and -shm files exist.
  EXPECT_EQ(ModeOf(path + "-wal"), 0600);
  EXPECT_EQ(ModeOf(path + "-shm"), 0600);
}

TEST(SqliteStoreTest, LooseModeOfAnExistingFileIsTightened) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  { std::ofstream(path).flush(); }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ModeOf(path), 0600);
}

TEST(SqliteStoreTest, PragmasAndSchemaVersionAreSet) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQueryText(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*store->PragmaForTest("journal_mode"), "wal");
  EXPECT_EQ(*store->PragmaForTest("synchronous"), "2");  // FULL
  EXPECT_EQ(*store->PragmaForTest("foreign_keys"), "1");
  EXPECT_EQ(*store->PragmaForTest("secure_delete"), "1");
  EXPECT_EQ(*store->PragmaForTest("busy_timeout"),
            std::to_string(SqliteStore::kBusyTimeout.count()));
  EXPECT_EQ(store->PragmaForTest("synchronous = OFF").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RawQueryText(path, "SELECT version FROM schema_version"),
            std::to_string(SqliteStore::SchemaVersion()));
  EXPECT_EQ(RawQueryText(path, "SELECT COUNT(*) FROM schema_version"), "1");
}

TEST(SqliteStoreTest, DataSurvivesReopenAndReopenDoesNotRemigrate) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  FakeClock clock;
  int64_t id = 0;
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    auto a = store->CreateAccount("acme", clock.Now());
    ASSERT_TRUE(a.ok());
    id = a->id;
    ASSERT_TRUE(store->RecordSends(id, clock.Now(), 7).ok());
  }
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  auto a = store->GetAccountByName("acme");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->id, id);
  EXPECT_EQ(*store->CountSendsSince(id, clock.Now() - std::chrono::hours(24)), 7);
  EXPECT_EQ(RawQueryText(path, "SELECT COUNT(*) FROM schema_version"), "1");
}

// A file written by a binary of schema version 1 (before DKIM and MAIL FROM) is migrated
// in place: its identities keep their fields and get the defaults for the new ones.
TEST(SqliteStoreTest, Version1FileIsMigrated) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  RawExec(path, R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  production INTEGER NOT NULL DEFAULT 0 CHECK (production IN (0, 1)),
  sending_enabled INTEGER NOT NULL DEFAULT 1 CHECK (sending_enabled IN (0, 1)),
  enforcement_status TEXT NOT NULL DEFAULT 'HEALTHY',
  contact_email TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE identities (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('EMAIL_ADDRESS', 'DOMAIN')),
  status TEXT NOT NULL,
  verification_token TEXT NOT NULL DEFAULT '',
  token_expires_ms INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  tags_json TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
INSERT INTO accounts (name, created_ms) VALUES ('acme', 1000);
INSERT INTO identities (account_id, name, type, status, verification_token, created_ms)
  VALUES (1, 'example.com', 'DOMAIN', 'SUCCESS', 'tok', 2000);
)sql");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQueryText(path, "SELECT version FROM schema_version"),
            std::to_string(SqliteStore::SchemaVersion()));
  auto id = store->GetIdentity(1, "example.com");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(id->status, VerificationStatus::kSuccess);
  EXPECT_EQ(id->verification_token, "tok");
  EXPECT_TRUE(id->dkim_signing_enabled);
  EXPECT_EQ(id->dkim_origin, "AWS_SES");
  EXPECT_EQ(id->dkim_selector, "");
  EXPECT_EQ(id->dkim_status, VerificationStatus::kNotStarted);
  EXPECT_EQ(id->mail_from_domain, "");
  EXPECT_EQ(id->mail_from_behavior, "USE_DEFAULT_VALUE");
  // The new columns are writable.
  Identity change = *id;
  change.dkim_selector = "sel";
  change.dkim_private_key_pem = "pem";
  change.dkim_status = VerificationStatus::kPending;
  ASSERT_TRUE(store->SetIdentityDkim(change).ok());
  EXPECT_EQ(store->GetIdentity(1, "example.com")->dkim_selector, "sel");
}

// A file of schema version 2 (identities with DKIM, no configuration sets) gains the
// configuration_sets table and keeps its rows.
TEST(SqliteStoreTest, Version2FileIsMigrated) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  FakeClock clock;
  int64_t account_id = 0;
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    auto a = store->CreateAccount("acme", clock.Now());
    ASSERT_TRUE(a.ok());
    account_id = a->id;
    Identity id;
    id.account_id = a->id;
    id.name = "acme.example";
    id.type = IdentityType::kDomain;
    id.dkim_selector = "sel";
    id.dkim_private_key_pem = "pem";
    ASSERT_TRUE(store->CreateIdentity(id).ok());
  }
  // What a version-2 binary left behind: the same schema without the newer tables and
  // columns.
  RawExec(path, std::string(kDropVersion4) +
                    "DROP TABLE configuration_sets; UPDATE schema_version SET version = 2");
  EXPECT_EQ(RawQueryText(path,
                         "SELECT COUNT(*) FROM sqlite_master WHERE name = "
                         "'configuration_sets'"),
            "0");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQueryText(path, "SELECT version FROM schema_version"),
            std::to_string(SqliteStore::SchemaVersion()));
  EXPECT_EQ(store->GetIdentity(account_id, "acme.example")->dkim_selector, "sel");
  ConfigurationSet set;
  set.account_id = account_id;
  set.name = "tx";
  set.tls_policy = "REQUIRE";
  set.created = clock.Now();
  ASSERT_TRUE(store->CreateConfigurationSet(set).ok());
  EXPECT_EQ(store->GetConfigurationSet(account_id, "tx")->tls_policy, "REQUIRE");
}

// A file of schema version 3 (before suppression) gains the suppression tables; its
// accounts get SES's default SuppressedReasons (both) and keep their rows.
TEST(SqliteStoreTest, Version3FileIsMigrated) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  FakeClock clock;
  int64_t account_id = 0;
  {
    auto store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    auto a = store->CreateAccount("acme", clock.Now());
    ASSERT_TRUE(a.ok());
    account_id = a->id;
    ASSERT_TRUE(store->SetContactEmail(a->id, "ops@acme.example").ok());
  }
  RawExec(path, std::string(kDropVersion4) + "UPDATE schema_version SET version = 3");
  EXPECT_EQ(RawQueryText(path,
                         "SELECT COUNT(*) FROM sqlite_master WHERE name = "
                         "'suppressed_destinations'"),
            "0");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQueryText(path, "SELECT version FROM schema_version"),
            std::to_string(SqliteStore::SchemaVersion()));
  auto account = store->GetAccount(account_id);
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_EQ(account->contact_email, "ops@acme.example");
  EXPECT_EQ(account->suppressed_reasons, (SuppressionReasons{true, true}));
  EXPECT_EQ(account->suppression_validation_json, "");
  SuppressedDestination e;
  e.account_id = account_id;
  e.address = "Gone@Example.com";
  e.last_update = clock.Now();
  ASSERT_TRUE(store->PutSuppressedDestination(e).ok());
  EXPECT_EQ(store->GetSuppressedDestination(account_id, "gone@example.com")->address,
            "Gone@Example.com");
  ASSERT_TRUE(store->RecordGlobalHardBounces({{"gone@example.com", clock.Now(), "550"}}, {}).ok());
  EXPECT_EQ(store->GetGlobalSuppression("GONE@example.com")->bounce_count, 1);
}

// Values only another writer could have left (the API and the CLI never write them) are
// reported, not guessed at.
TEST(SqliteStoreTest, UnknownSuppressionValuesInTheFileAreDataLoss) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  FakeClock clock;
  auto a = store->CreateAccount("acme", clock.Now());
  ASSERT_TRUE(a.ok());
  RawExec(path, "UPDATE accounts SET suppressed_reasons = 'SPAM'");
  EXPECT_EQ(store->GetAccount(a->id).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(store->ListAccounts().status().code(), StatusCode::kDataLoss);
  RawExec(path, "UPDATE accounts SET suppressed_reasons = 'COMPLAINT'");
  auto back = store->GetAccount(a->id);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->suppressed_reasons, (SuppressionReasons{false, true}));
}

// One batch of 100,000 entries (the import limit) is written in one transaction: a bad
// account anywhere in it leaves nothing behind.
TEST(SqliteStoreTest, LargeSuppressionBatchIsAllOrNothing) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  FakeClock clock;
  auto a = store->CreateAccount("acme", clock.Now());
  ASSERT_TRUE(a.ok());
  std::vector<SuppressedDestination> batch(kMaxSuppressionBatch);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].account_id = a->id;
    batch[i].address = "user" + std::to_string(i) + "@example.com";
    batch[i].last_update = clock.Now();
  }
  batch.back().account_id = a->id + 1;  // no such account
  EXPECT_EQ(store->PutSuppressedDestinations(batch).code(), StatusCode::kNotFound);
  EXPECT_EQ(RawQueryText(path, "SELECT COUNT(*) FROM suppressed_destinations"), "0");
  batch.back().account_id = a->id;
  ASSERT_TRUE(store->PutSuppressedDestinations(batch).ok());
  EXPECT_EQ(RawQueryText(path, "SELECT COUNT(*) FROM suppressed_destinations"),
            std::to_string(kMaxSuppressionBatch));
  EXPECT_EQ(*store->DeleteAllSuppressedDestinations(a->id),
            static_cast<int64_t>(kMaxSuppressionBatch));
}

TEST(SqliteStoreTest, InvalidConfigurationSetInTheFileIsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  FakeClock clock;
  auto a = store->CreateAccount("acme", clock.Now());
  ASSERT_TRUE(a.ok());
  ConfigurationSet set;
  set.account_id = a->id;
  set.name = "tx";
  ASSERT_TRUE(store->CreateConfigurationSet(set).ok());
  // The table's CHECK keeps unknown TLS policies out; other bounds are checked on read.
  RawExec(path, "UPDATE configuration_sets SET max_delivery_seconds = 5");
  EXPECT_EQ(store->GetConfigurationSet(a->id, "tx").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(store->ListConfigurationSets(a->id, "", 10).status().code(), StatusCode::kDataLoss);
  RawExec(path, "UPDATE configuration_sets SET max_delivery_seconds = 300");
  EXPECT_TRUE(store->GetConfigurationSet(a->id, "tx").ok());
}

TEST(SqliteStoreTest, NewerSchemaIsRefused) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  { ASSERT_NE(MustOpen(path), nullptr); }
  RawExec(path, "UPDATE schema_version SET version = 999");
  auto store = SqliteStore::Open(path);
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
}

TEST(SqliteStoreTest, NotADatabaseIsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  {
    std::ofstream out(path);
    out << std::string(4096, 'x');
  }
  auto store = SqliteStore::Open(path);
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status().ToString();
}

TEST(SqliteStoreTest, MissingDirectoryIsUnavailable) {
  TempDir dir;
  auto store = SqliteStore::Open(dir.File("no/such/dir/herald.db"));
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(SqliteStore::Open("").status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteStoreTest, UnknownEnumInTheFileIsDataLoss) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  FakeClock clock;
  auto a = store->CreateAccount("acme", clock.Now());
  ASSERT_TRUE(a.ok());
  Identity id;
  id.account_id = a->id;
  id.name = "acme.example";
  id.type = IdentityType::kDomain;
  ASSERT_TRUE(store->CreateIdentity(id).ok());
  RawExec(path, "UPDATE identities SET status = 'BOGUS'");
  EXPECT_EQ(store->GetIdentity(a->id, "acme.example").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(store->ListIdentities(a->id, "", 10).status().code(), StatusCode::kDataLoss);
  for (const char* sql : {"UPDATE identities SET status = 'PENDING', dkim_status = 'BOGUS'",
                          "UPDATE identities SET dkim_status = 'PENDING', dkim_origin = 'X'",
                          "UPDATE identities SET dkim_origin = 'AWS_SES', "
                          "mail_from_status = 'BOGUS'",
                          "UPDATE identities SET mail_from_status = 'PENDING', "
                          "bounce_topic = 'arn with spaces'"}) {
    RawExec(path, sql);
    EXPECT_EQ(store->GetIdentity(a->id, "acme.example").status().code(), StatusCode::kDataLoss)
        << sql;
  }
  RawExec(path, "UPDATE identities SET bounce_topic = ''");
  EXPECT_TRUE(store->GetIdentity(a->id, "acme.example").ok());
  // The table's CHECK keeps notification flags other than 0 and 1 out.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  EXPECT_EQ(
      sqlite3_exec(db, "UPDATE identities SET feedback_forwarding = 2", nullptr, nullptr, nullptr),
      SQLITE_CONSTRAINT);
  sqlite3_close(db);
}

TEST(SqliteStoreTest, ListIdentitiesClampsTheLimit) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  auto store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  FakeClock clock;
  auto a = store->CreateAccount("acme", clock.Now());
  ASSERT_TRUE(a.ok());
  // One transaction for all rows (one fsync instead of a thousand).
  RawExec(path, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                    std::to_string(kMaxListLimit + 2) +
                    ") INSERT INTO identities (account_id, name, type, status, created_ms) "
                    "SELECT " +
                    std::to_string(a->id) + ", 'd' || i, 'DOMAIN', 'PENDING', 0 FROM n");
  auto all = store->ListIdentities(a->id, "", 1 << 30);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(static_cast<int>(all->size()), kMaxListLimit);
  auto rest = store->ListIdentities(a->id, all->back().name, kMaxListLimit);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->size(), 3u);
}

// The daemon and the CLI open the same file: each sees the other's committed writes.
TEST(SqliteStoreTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  auto daemon = MustOpen(path);
  auto cli = MustOpen(path);
  ASSERT_NE(daemon, nullptr);
  ASSERT_NE(cli, nullptr);
  FakeClock clock;

  auto a = cli->CreateAccount("acme", clock.Now());
  ASSERT_TRUE(a.ok());
  AccessKey key;
  key.access_key_id = "AKIAAAAAAAAAAAAAAAA1";
  key.secret = std::string(40, 's');
  key.account_id = a->id;
  key.created = clock.Now();
  ASSERT_TRUE(cli->CreateAccessKey(key).ok());

  // The daemon reads (and caches its prepared statement), then the CLI revokes the key.
  auto seen = daemon->GetAccessKey(key.access_key_id);
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->status, KeyStatus::kActive);
  ASSERT_TRUE(cli->SetAccessKeyStatus(key.access_key_id, KeyStatus::kInactive).ok());
  EXPECT_EQ(daemon->GetAccessKey(key.access_key_id)->status, KeyStatus::kInactive);

  // Uniqueness holds across connections.
  EXPECT_EQ(daemon->CreateAccount("acme", clock.Now()).status().code(), StatusCode::kAlreadyExists);

  // Sends recorded by the daemon are visible to the CLI.
  ASSERT_TRUE(daemon->RecordSends(a->id, clock.Now(), 3).ok());
  EXPECT_EQ(*cli->CountSendsSince(a->id, clock.Now() - std::chrono::hours(24)), 3);

  ASSERT_TRUE(cli->DeleteAccessKey(key.access_key_id).ok());
  EXPECT_EQ(daemon->GetAccessKey(key.access_key_id).status().code(), StatusCode::kNotFound);
}

TEST(SqliteStoreTest, ConcurrentWritersOnTwoConnectionsWaitForEachOther) {
  TempDir dir;
  const std::string path = dir.File("herald.db");
  auto first = MustOpen(path);
  auto second = MustOpen(path);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  FakeClock clock;
  auto a = first->CreateAccount("acme", clock.Now());
  ASSERT_TRUE(a.ok());
  constexpr int kPerThread = 15;
  std::vector<Status> results(2 * kPerThread);
  auto work = [&](SqliteStore* s, int base) {
    for (int i = 0; i < kPerThread; ++i) {
      results[base + i] = s->RecordSends(a->id, clock.Now() + seconds(i), 1);
    }
  };
  std::thread t1(work, first.get(), 0);
  std::thread t2(work, second.get(), kPerThread);
  // A reader on a third connection runs alongside the writers (WAL: readers never block).
  auto reader = MustOpen(path);
  ASSERT_NE(reader, nullptr);
  for (int i = 0; i < 10; ++i) {
    auto n = reader->CountSendsSince(a->id, clock.Now());
    EXPECT_TRUE(n.ok()) << n.status().ToString();
  }
  t1.join();
  t2.join();
  for (const Status& st : results) EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(*reader->CountSendsSince(a->id, clock.Now()), 2 * kPerThread);
}

}  // namespace
}  // namespace herald::store
