// store/sqlite/sqlite_store.h: the embedded Store, one SQLite database file.
//
// Contract: implements store/store.h. Open() creates the file (mode 0600; SQLite gives the
// -wal and -shm files the same mode) and its schema, or migrates an older schema forward
// (a schema newer than this binary is kFailedPrecondition). The database runs in WAL mode
// with synchronous=FULL, so a method that returned OK survives a crash or power loss, and
// with foreign keys on. Several processes (the daemon and the CLI) may open the same file:
// writers take the lock up front (BEGIN IMMEDIATE) and wait up to kBusyTimeout for one
// another before giving up with kUnavailable. Error mapping: busy/locked/I/O/full/cannot
// open -> kUnavailable, unique violation -> kAlreadyExists, missing account (foreign key)
// -> kNotFound, corrupt file -> kDataLoss, anything else -> kInternal.
// Thread-safety: safe from any thread. One connection per SqliteStore, serialised by a
// mutex; calls block the calling thread for the duration of the SQLite work (an fsync on
// every write), so keep them off latency-critical event loops.
// Trust: the file is written only by herald (it holds access-key secrets: keep the data dir
// 0700). Arguments are bounded by the Validate* checks of store.h; all SQL uses bound
// parameters. Row values read back are checked (unknown enum names are kDataLoss).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace herald::store {

class SqliteStore final : public Store {
 public:
  // How long a call waits for another connection's write lock.
  static constexpr std::chrono::milliseconds kBusyTimeout{5000};
  // The schema version this binary writes.
  static int SchemaVersion();

  // Opens (creating if needed) the database at `path`. The parent directory must exist.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  StatusOr<Account> CreateAccount(const std::string& name, SysTime now) override;
  StatusOr<Account> GetAccount(int64_t id) override;
  StatusOr<Account> GetAccountByName(const std::string& name) override;
  StatusOr<std::vector<Account>> ListAccounts() override;
  Status SetProduction(int64_t account_id, bool production) override;
  Status SetSendingEnabled(int64_t account_id, bool enabled) override;
  Status SetContactEmail(int64_t account_id, const std::string& email) override;

  Status CreateAccessKey(const AccessKey& key) override;
  StatusOr<AccessKey> GetAccessKey(const std::string& access_key_id) override;
  StatusOr<std::vector<AccessKey>> ListAccessKeys(int64_t account_id) override;
  Status SetAccessKeyStatus(const std::string& access_key_id, KeyStatus status) override;
  Status DeleteAccessKey(const std::string& access_key_id) override;

  Status CreateIdentity(const Identity& identity) override;
  StatusOr<Identity> GetIdentity(int64_t account_id, const std::string& name) override;
  StatusOr<std::vector<Identity>> ListIdentities(int64_t account_id, const std::string& after,
                                                 int limit) override;
  Status DeleteIdentity(int64_t account_id, const std::string& name) override;
  Status SetIdentityStatus(int64_t account_id, const std::string& name,
                           VerificationStatus status) override;
  Status SetIdentityDkim(const Identity& identity) override;
  Status SetIdentityDkimStatus(int64_t account_id, const std::string& name,
                               const std::string& selector, VerificationStatus status) override;
  Status SetIdentityMailFrom(const Identity& identity) override;
  Status SetIdentityMailFromStatus(int64_t account_id, const std::string& name,
                                   const std::string& domain, VerificationStatus status) override;
  Status SetIdentityNotifications(const Identity& identity) override;
  StatusOr<std::vector<std::string>> ListIdentityNotificationTopics() override;
  StatusOr<Identity> FindIdentityByToken(const std::string& token) override;

  Status CreateConfigurationSet(const ConfigurationSet& set) override;
  StatusOr<ConfigurationSet> GetConfigurationSet(int64_t account_id,
                                                 const std::string& name) override;
  StatusOr<std::vector<ConfigurationSet>> ListConfigurationSets(int64_t account_id,
                                                                const std::string& after,
                                                                int limit) override;
  Status UpdateConfigurationSet(const ConfigurationSet& set) override;
  Status DeleteConfigurationSet(int64_t account_id, const std::string& name) override;

  Status RecordSends(int64_t account_id, SysTime at, int64_t count) override;
  StatusOr<int64_t> CountSendsSince(int64_t account_id, SysTime since) override;

  Status SetSuppressionAttributes(int64_t account_id, SuppressionReasons reasons,
                                  const std::string& validation_json) override;
  Status PutSuppressedDestination(const SuppressedDestination& entry) override;
  Status PutSuppressedDestinations(const std::vector<SuppressedDestination>& entries) override;
  StatusOr<SuppressedDestination> GetSuppressedDestination(int64_t account_id,
                                                           const std::string& address) override;
  Status DeleteSuppressedDestination(int64_t account_id, const std::string& address) override;
  StatusOr<std::vector<SuppressedDestination>> ListSuppressedDestinations(
      int64_t account_id, const SuppressionListFilter& filter, const std::string& after,
      int limit) override;
  StatusOr<std::vector<SuppressedDestination>> FindSuppressedDestinations(
      int64_t account_id, const std::vector<std::string>& addresses) override;
  StatusOr<int64_t> DeleteAllSuppressedDestinations(int64_t account_id) override;
  Status RecordGlobalHardBounces(const std::vector<GlobalBounce>& bounces,
                                 const GlobalListingPolicy& policy) override;
  StatusOr<std::vector<GlobalSuppression>> FindGloballySuppressed(
      const std::vector<std::string>& addresses, SysTime now) override;
  StatusOr<GlobalSuppression> GetGlobalSuppression(const std::string& address) override;
  Status DeleteGlobalSuppression(const std::string& address) override;

  // Number of send buckets stored for an account (tests check that pruning happens).
  StatusOr<int64_t> SendBucketCountForTest(int64_t account_id);
  // This connection's value of one of the pragmas Open() sets ("journal_mode",
  // "synchronous", "foreign_keys", "secure_delete", "busy_timeout"), as text.
  StatusOr<std::string> PragmaForTest(const std::string& name);

  // ReputationStore (sqlite_reputation.cc).
  StatusOr<std::vector<RepBucketRow>> LoadRepBuckets(int64_t account_id,
                                                     const std::string& scope) override;
  Status SaveRepBuckets(int64_t account_id, const std::string& scope,
                        const std::vector<RepBucketRow>& rows, int64_t delete_before_hour) override;
  Status SaveRepBucketsMany(const std::vector<RepBucketBatch>& batches) override;
  StatusOr<std::optional<ReputationRow>> GetReputation(int64_t account_id) override;
  Status PutReputation(int64_t account_id, const ReputationRow& row,
                       const std::string& api_status) override;
  StatusOr<int64_t> AddNotice(const NoticeRow& notice) override;
  StatusOr<std::vector<NoticeRow>> ListNotices(int64_t account_id, int limit) override;
  StatusOr<int64_t> CreateReviewCase(const ReviewCaseRow& c) override;
  Status UpdateReviewCase(const ReviewCaseRow& c) override;
  StatusOr<std::vector<ReviewCaseRow>> ListReviewCases(int64_t account_id, int limit) override;
  Status PutGuardCase(uint64_t id, const std::string& json) override;
  Status DeleteGuardCase(uint64_t id) override;
  StatusOr<std::vector<std::pair<uint64_t, std::string>>> ListGuardCases() override;

  // PublishingStore (sqlite_publishing.cc).
  Status CreateTemplate(const EmailTemplate& t) override;
  StatusOr<EmailTemplate> GetTemplate(int64_t account_id, const std::string& name) override;
  Status UpdateTemplate(const EmailTemplate& t) override;
  Status DeleteTemplate(int64_t account_id, const std::string& name) override;
  StatusOr<std::vector<EmailTemplate>> ListTemplates(int64_t account_id, const std::string& after,
                                                     int limit) override;
  StatusOr<int64_t> CreateEventDestination(const EventDestinationRow& d,
                                           uint64_t start_offset) override;
  Status UpdateEventDestination(const EventDestinationRow& d) override;
  Status DeleteEventDestination(int64_t account_id, const std::string& set,
                                const std::string& name) override;
  StatusOr<std::vector<EventDestinationRow>> ListEventDestinations(int64_t account_id,
                                                                   const std::string& set) override;
  StatusOr<std::vector<EventDestinationRow>> ListAllEventDestinations() override;
  StatusOr<uint64_t> GetCursor(int64_t destination_id, const std::string& target,
                               uint64_t fallback) override;
  Status SetCursor(int64_t destination_id, const std::string& target, uint64_t offset) override;
  StatusOr<uint64_t> GetSubscriptionCursor(int64_t subscription_id, uint64_t fallback) override;
  Status SetSubscriptionCursor(int64_t subscription_id, uint64_t offset) override;
  StatusOr<int64_t> CreateTopic(const Topic& t) override;
  StatusOr<Topic> GetTopic(int64_t account_id, const std::string& name) override;
  StatusOr<std::vector<Topic>> ListTopics(int64_t account_id) override;
  Status DeleteTopic(int64_t account_id, const std::string& name) override;
  StatusOr<int64_t> CreateSubscription(const TopicSubscription& s) override;
  StatusOr<TopicSubscription> GetSubscription(int64_t id) override;
  StatusOr<TopicSubscription> FindSubscriptionByToken(const std::string& token) override;
  Status ConfirmSubscription(int64_t id, uint64_t start_offset) override;
  Status DeleteSubscription(int64_t id) override;
  StatusOr<std::vector<TopicSubscription>> ListSubscriptions(int64_t topic_id) override;
  StatusOr<std::vector<std::pair<Topic, TopicSubscription>>> ListPendingSubscriptions() override;

  // AudienceStore (sqlite_audience.cc).
  Status CreateContactList(const ContactListRow& list) override;
  StatusOr<ContactListRow> GetContactList(int64_t account_id, const std::string& name) override;
  Status UpdateContactList(const ContactListRow& list) override;
  Status DeleteContactList(int64_t account_id, const std::string& name) override;
  StatusOr<std::vector<ContactListRow>> ListContactLists(int64_t account_id) override;
  Status CreateContact(const ContactRow& contact) override;
  StatusOr<ContactRow> GetContact(int64_t account_id, const std::string& list_name,
                                  const std::string& email) override;
  Status UpdateContact(const ContactRow& contact) override;
  Status DeleteContact(int64_t account_id, const std::string& list_name,
                       const std::string& email) override;
  StatusOr<std::vector<ContactRow>> ListContacts(int64_t account_id, const std::string& list_name,
                                                 const std::string& after, int limit) override;
  StatusOr<bool> RecordEngagement(const EngagementRow& row) override;
  StatusOr<int64_t> CountEngagement(int64_t account_id, const std::string& set,
                                    EngagementRow::Kind kind, SysTime since,
                                    SysTime until) override;

 private:
  class Stmt;
  explicit SqliteStore(sqlite3* db);

  Status Configure();  // pragmas
  Status Migrate();    // schema_version and forward migrations
  // Returns the cached prepared statement for `sql` (a string literal), reset and unbound.
  StatusOr<sqlite3_stmt*> Prepare(const char* sql);
  Status Exec(const char* sql);
  Status Error(int rc, const std::string& what);
  Status UpdateAccountColumn(const char* sql, int64_t account_id, int64_t value);
  // BEGIN IMMEDIATE, `body`, then COMMIT (ROLLBACK when it fails). Call with mu_ held.
  Status InTransaction(const std::function<Status()>& body);
  // One scope's bucket upserts and deletion (mu_ held; no transaction of its own).
  Status WriteRepBuckets(const RepBucketBatch& batch);
  // One suppression-list upsert (mu_ held; no transaction of its own).
  Status UpsertSuppressed(const SuppressedDestination& entry);
  // Runs `sql` (UPDATE ... SET x = ?1 WHERE account_id = ?2 AND name = ?3 AND y = ?4
  // RETURNING 1): kNotFound without the identity, kFailedPrecondition when y differs.
  Status SetConditionalStatus(const char* sql, int64_t account_id, const std::string& name,
                              const std::string& expected, VerificationStatus status);
  // The topics of a contact list (mu_ held): kNotFound when the list is missing.
  StatusOr<std::vector<ContactListTopic>> ContactListTopics(int64_t account_id,
                                                            const std::string& name);

  std::mutex mu_;
  sqlite3* db_;                                           // guarded by mu_
  std::unordered_map<const char*, sqlite3_stmt*> stmts_;  // guarded by mu_; key: literal
  // Per account, the bucket minute of the last prune of old send buckets (guarded by mu_).
  std::map<int64_t, int64_t> last_prune_minute_;
};

}  // namespace herald::store
