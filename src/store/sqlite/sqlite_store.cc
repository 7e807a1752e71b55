#include "store/sqlite/sqlite_store.h"
#include "store/sqlite/sqlite_stmt.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <string_view>
#include <utility>

namespace herald::store {
namespace {

// Forward migrations: kMigrations[i] takes the schema from version i to i + 1. Append new
// entries; never edit a released one.
constexpr std::array<const char*, 8> kMigrations = {
    // 0 -> 1: the initial schema. Times are Unix milliseconds; enums are stored by their
    // SES/IAM names so that the file stays readable with the sqlite3 shell.
    R"sql(
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  production INTEGER NOT NULL DEFAULT 0 CHECK (production IN (0, 1)),
  sending_enabled INTEGER NOT NULL DEFAULT 1 CHECK (sending_enabled IN (0, 1)),
  enforcement_status TEXT NOT NULL DEFAULT 'HEALTHY',
  contact_email TEXT NOT NULL DEFAULT '',
  created_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE access_keys (
  access_key_id TEXT PRIMARY KEY NOT NULL,
  secret TEXT NOT NULL,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  status TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
  created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX access_keys_by_account ON access_keys(account_id, created_ms, access_key_id);
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
CREATE INDEX identities_by_token ON identities(verification_token)
  WHERE type = 'EMAIL_ADDRESS' AND verification_token <> '';
CREATE TABLE send_buckets (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  minute INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (account_id, minute)
) STRICT, WITHOUT ROWID;
)sql",
    // 1 -> 2: DKIM keys and custom MAIL FROM domains per identity. Existing identities get
    // no key (an empty selector) and the default MAIL FROM.
    R"sql(
ALTER TABLE identities ADD COLUMN dkim_signing_enabled INTEGER NOT NULL DEFAULT 1
  CHECK (dkim_signing_enabled IN (0, 1));
ALTER TABLE identities ADD COLUMN dkim_origin TEXT NOT NULL DEFAULT 'AWS_SES';
ALTER TABLE identities ADD COLUMN dkim_selector TEXT NOT NULL DEFAULT '';
ALTER TABLE identities ADD COLUMN dkim_private_key_pem TEXT NOT NULL DEFAULT '';
ALTER TABLE identities ADD COLUMN dkim_algorithm TEXT NOT NULL DEFAULT 'rsa-sha256';
ALTER TABLE identities ADD COLUMN dkim_key_length TEXT NOT NULL DEFAULT '';
ALTER TABLE identities ADD COLUMN dkim_next_key_length TEXT NOT NULL DEFAULT 'RSA_2048_BIT';
ALTER TABLE identities ADD COLUMN dkim_status TEXT NOT NULL DEFAULT 'NOT_STARTED';
ALTER TABLE identities ADD COLUMN dkim_generated_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE identities ADD COLUMN mail_from_domain TEXT NOT NULL DEFAULT '';
ALTER TABLE identities ADD COLUMN mail_from_behavior TEXT NOT NULL DEFAULT 'USE_DEFAULT_VALUE';
ALTER TABLE identities ADD COLUMN mail_from_status TEXT NOT NULL DEFAULT 'PENDING';
ALTER TABLE identities ADD COLUMN mail_from_set_ms INTEGER NOT NULL DEFAULT 0;
)sql",
    // 2 -> 3: configuration sets. Option groups herald does not act on yet are JSON text
    // ('' = never set).
    R"sql(
CREATE TABLE configuration_sets (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  tls_policy TEXT NOT NULL DEFAULT 'OPTIONAL' CHECK (tls_policy IN ('REQUIRE', 'OPTIONAL')),
  max_delivery_seconds INTEGER NOT NULL DEFAULT 0,
  sending_pool_name TEXT NOT NULL DEFAULT '',
  sending_enabled INTEGER NOT NULL DEFAULT 1 CHECK (sending_enabled IN (0, 1)),
  reputation_metrics_enabled INTEGER NOT NULL DEFAULT 0
    CHECK (reputation_metrics_enabled IN (0, 1)),
  last_fresh_start_ms INTEGER NOT NULL DEFAULT 0,
  tracking_options_json TEXT NOT NULL DEFAULT '',
  suppression_options_json TEXT NOT NULL DEFAULT '',
  vdm_options_json TEXT NOT NULL DEFAULT '',
  archive_arn TEXT NOT NULL DEFAULT '',
  tags_json TEXT NOT NULL DEFAULT '[]',
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
)sql",
    // 3 -> 4: suppression. Accounts get SuppressionAttributes (existing ones: both reasons,
    // SES's default); each account's suppression list is keyed by the lower-case address;
    // the global list is keyed by the address alone.
    R"sql(
ALTER TABLE accounts ADD COLUMN suppressed_reasons TEXT NOT NULL DEFAULT 'BOUNCE,COMPLAINT';
ALTER TABLE accounts ADD COLUMN suppression_validation_json TEXT NOT NULL DEFAULT '';
CREATE TABLE suppressed_destinations (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  address_key TEXT NOT NULL,
  address TEXT NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('BOUNCE', 'COMPLAINT')),
  last_update_ms INTEGER NOT NULL,
  message_id TEXT NOT NULL DEFAULT '',
  feedback_id TEXT NOT NULL DEFAULT '',
  diagnostic TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (account_id, address_key)
) STRICT, WITHOUT ROWID;
CREATE TABLE global_suppressions (
  address_key TEXT PRIMARY KEY NOT NULL,
  listed_until_ms INTEGER NOT NULL,
  bounce_count INTEGER NOT NULL,
  last_bounce_ms INTEGER NOT NULL,
  diagnostic TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;
)sql",
    // 4 -> 5: reputation. Hourly window buckets per account and scope ('' = the account,
    // else a configuration set), the enforcement state, notices, review cases and the
    // suppression guard's suspect bursts (details as JSON text written by herald).
    R"sql(
ALTER TABLE accounts ADD COLUMN enforcement_state TEXT NOT NULL DEFAULT 'healthy';
CREATE TABLE rep_buckets (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  scope TEXT NOT NULL,
  hour INTEGER NOT NULL,
  sends INTEGER NOT NULL,
  fbl_sends INTEGER NOT NULL,
  hard_bounces INTEGER NOT NULL,
  complaints INTEGER NOT NULL,
  first_sent_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, scope, hour)
) STRICT, WITHOUT ROWID;
CREATE TABLE reputation (
  account_id INTEGER PRIMARY KEY NOT NULL REFERENCES accounts(id),
  state_json TEXT NOT NULL,
  state_name TEXT NOT NULL,
  fresh_start_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE notices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  created_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  text TEXT NOT NULL,
  json TEXT NOT NULL
) STRICT;
CREATE INDEX notices_by_account ON notices(account_id, id);
CREATE TABLE review_cases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  opened_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  json TEXT NOT NULL
) STRICT;
CREATE INDEX review_cases_by_account ON review_cases(account_id, id);
CREATE TABLE guard_cases (
  id INTEGER PRIMARY KEY NOT NULL,
  json TEXT NOT NULL
) STRICT;
)sql",
    // 5 -> 6: event publishing and templates. E-mail templates per account; event
    // destinations per configuration set (settings as the API's JSON), each with cursors into
    // events.jsonl per delivery target; SNS-style topics and their HTTP(S) subscriptions.
    R"sql(
CREATE TABLE email_templates (
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  subject TEXT NOT NULL,
  text TEXT NOT NULL,
  html TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
CREATE TABLE event_destinations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL,
  configuration_set TEXT NOT NULL,
  name TEXT NOT NULL,
  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  matching_types TEXT NOT NULL,
  kind TEXT NOT NULL,
  spec_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  UNIQUE (account_id, configuration_set, name),
  FOREIGN KEY (account_id, configuration_set)
    REFERENCES configuration_sets(account_id, name) ON DELETE CASCADE
) STRICT;
CREATE TABLE event_cursors (
  destination_id INTEGER NOT NULL REFERENCES event_destinations(id) ON DELETE CASCADE,
  target TEXT NOT NULL,
  byte_offset INTEGER NOT NULL,
  PRIMARY KEY (destination_id, target)
) STRICT, WITHOUT ROWID;
CREATE TABLE topics (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id),
  name TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  UNIQUE (account_id, name)
) STRICT;
CREATE TABLE topic_subscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  topic_id INTEGER NOT NULL REFERENCES topics(id) ON DELETE CASCADE,
  endpoint TEXT NOT NULL,
  token TEXT NOT NULL UNIQUE,
  confirmed INTEGER NOT NULL CHECK (confirmed IN (0, 1)),
  raw INTEGER NOT NULL CHECK (raw IN (0, 1)),
  start_offset INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
) STRICT;
)sql",
    // 6 -> 7: subscription management and engagement. Contact lists per account (topics as
    // the JSON array of SES's Topic shape); contacts per list, keyed by the lower-case address
    // (topic preferences as the JSON array of SES's TopicPreference shape), deleted with their
    // list; the first open and first click of each message and recipient.
    R"sql(
CREATE TABLE contact_lists (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  topics_json TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
) STRICT, WITHOUT ROWID;
CREATE TABLE contacts (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  list_name TEXT NOT NULL,
  email_key TEXT NOT NULL,
  email TEXT NOT NULL,
  unsubscribe_all INTEGER NOT NULL CHECK (unsubscribe_all IN (0, 1)),
  preferences_json TEXT NOT NULL,
  attributes_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, list_name, email_key),
  FOREIGN KEY (account_id, list_name)
    REFERENCES contact_lists(account_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE TABLE engagement (
  message_id TEXT NOT NULL,
  recipient TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('OPEN', 'CLICK')),
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  configuration_set TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY (message_id, recipient, kind)
) STRICT, WITHOUT ROWID;
CREATE INDEX engagement_by_account ON engagement(account_id, kind, at_ms);
)sql",
    // 7 -> 8: identity notification settings (SES v1 identity notifications). Existing
    // identities get no topics, no headers and feedback forwarding on (SES's defaults).
    // Each topic subscription keeps its cursor into the event log for the notifications.
    R"sql(
CREATE TABLE notification_cursors (
  subscription_id INTEGER PRIMARY KEY REFERENCES topic_subscriptions(id) ON DELETE CASCADE,
  byte_offset INTEGER NOT NULL
) STRICT;
ALTER TABLE identities ADD COLUMN bounce_topic TEXT NOT NULL DEFAULT '';
ALTER TABLE identities ADD COLUMN complaint_topic TEXT NOT NULL DEFAULT '';
ALTER TABLE identities ADD COLUMN delivery_topic TEXT NOT NULL DEFAULT '';
ALTER TABLE identities ADD COLUMN bounce_headers INTEGER NOT NULL DEFAULT 0
  CHECK (bounce_headers IN (0, 1));
ALTER TABLE identities ADD COLUMN complaint_headers INTEGER NOT NULL DEFAULT 0
  CHECK (complaint_headers IN (0, 1));
ALTER TABLE identities ADD COLUMN delivery_headers INTEGER NOT NULL DEFAULT 0
  CHECK (delivery_headers IN (0, 1));
ALTER TABLE identities ADD COLUMN feedback_forwarding INTEGER NOT NULL DEFAULT 1
  CHECK (feedback_forwarding IN (0, 1));
)sql",
};

// Prune an account's old send buckets at most once an hour (of send time).
constexpr int64_t kPruneEveryMinutes = 60;

constexpr const char* kAccountColumns =
    "id, name, production, sending_enabled, enforcement_status, contact_email, created_ms, "
    "suppressed_reasons, suppression_validation_json, enforcement_state";

StatusOr<Account> ReadAccount(sqlite3_stmt* s) {
  Account a;
  a.id = sqlite3_column_int64(s, 0);
  a.name = ColumnText(s, 1);
  a.production = sqlite3_column_int64(s, 2) != 0;
  a.sending_enabled = sqlite3_column_int64(s, 3) != 0;
  a.enforcement_status = ColumnText(s, 4);
  a.contact_email = ColumnText(s, 5);
  a.created = FromUnixMillis(sqlite3_column_int64(s, 6));
  std::optional<SuppressionReasons> reasons = ParseSuppressionReasons(ColumnText(s, 7));
  if (!reasons) return DataLossError("store: account with unknown suppressed reasons");
  a.suppressed_reasons = *reasons;
  a.suppression_validation_json = ColumnText(s, 8);
  a.enforcement_state = ColumnText(s, 9);
  return a;
}

StatusOr<AccessKey> ReadAccessKey(sqlite3_stmt* s) {
  AccessKey k;
  k.access_key_id = ColumnText(s, 0);
  k.secret = ColumnText(s, 1);
  k.account_id = sqlite3_column_int64(s, 2);
  std::optional<KeyStatus> status = ParseKeyStatus(ColumnText(s, 3));
  if (!status) return DataLossError("store: access key with an unknown status");
  k.status = *status;
  k.created = FromUnixMillis(sqlite3_column_int64(s, 4));
  return k;
}

constexpr const char* kIdentityColumns =
    "account_id, name, type, status, verification_token, token_expires_ms, created_ms, "
    "tags_json, dkim_signing_enabled, dkim_origin, dkim_selector, dkim_private_key_pem, "
    "dkim_algorithm, dkim_key_length, dkim_next_key_length, dkim_status, dkim_generated_ms, "
    "mail_from_domain, mail_from_behavior, mail_from_status, mail_from_set_ms, bounce_topic, "
    "complaint_topic, delivery_topic, bounce_headers, complaint_headers, delivery_headers, "
    "feedback_forwarding";

StatusOr<Identity> ReadIdentity(sqlite3_stmt* s) {
  Identity id;
  id.account_id = sqlite3_column_int64(s, 0);
  id.name = ColumnText(s, 1);
  std::optional<IdentityType> type = ParseIdentityType(ColumnText(s, 2));
  if (!type) return DataLossError("store: identity with an unknown type");
  id.type = *type;
  std::optional<VerificationStatus> status = ParseVerificationStatus(ColumnText(s, 3));
  if (!status) return DataLossError("store: identity with an unknown verification status");
  id.status = *status;
  id.verification_token = ColumnText(s, 4);
  id.token_expires = FromUnixMillis(sqlite3_column_int64(s, 5));
  id.created = FromUnixMillis(sqlite3_column_int64(s, 6));
  id.tags_json = ColumnText(s, 7);
  id.dkim_signing_enabled = sqlite3_column_int64(s, 8) != 0;
  id.dkim_origin = ColumnText(s, 9);
  id.dkim_selector = ColumnText(s, 10);
  id.dkim_private_key_pem = ColumnText(s, 11);
  id.dkim_algorithm = ColumnText(s, 12);
  id.dkim_key_length = ColumnText(s, 13);
  id.dkim_next_key_length = ColumnText(s, 14);
  std::optional<VerificationStatus> dkim_status = ParseVerificationStatus(ColumnText(s, 15));
  if (!dkim_status) return DataLossError("store: identity with an unknown DKIM status");
  id.dkim_status = *dkim_status;
  id.dkim_generated_at = FromUnixMillis(sqlite3_column_int64(s, 16));
  id.mail_from_domain = ColumnText(s, 17);
  id.mail_from_behavior = ColumnText(s, 18);
  std::optional<VerificationStatus> mf_status = ParseVerificationStatus(ColumnText(s, 19));
  if (!mf_status) return DataLossError("store: identity with an unknown MAIL FROM status");
  id.mail_from_status = *mf_status;
  id.mail_from_set_at = FromUnixMillis(sqlite3_column_int64(s, 20));
  id.bounce_topic = ColumnText(s, 21);
  id.complaint_topic = ColumnText(s, 22);
  id.delivery_topic = ColumnText(s, 23);
  id.bounce_headers = sqlite3_column_int64(s, 24) != 0;
  id.complaint_headers = sqlite3_column_int64(s, 25) != 0;
  id.delivery_headers = sqlite3_column_int64(s, 26) != 0;
  id.feedback_forwarding = sqlite3_column_int64(s, 27) != 0;
  if (!ValidateIdentityDkim(id).ok() || !ValidateIdentityMailFrom(id).ok() ||
      !ValidateIdentityNotifications(id).ok()) {
    return DataLossError("store: identity with invalid DKIM, MAIL FROM or notification settings");
  }
  return id;
}

constexpr const char* kConfigurationSetColumns =
    "account_id, name, tls_policy, max_delivery_seconds, sending_pool_name, sending_enabled, "
    "reputation_metrics_enabled, last_fresh_start_ms, tracking_options_json, "
    "suppression_options_json, vdm_options_json, archive_arn, tags_json, created_ms";

StatusOr<ConfigurationSet> ReadConfigurationSet(sqlite3_stmt* s) {
  ConfigurationSet set;
  set.account_id = sqlite3_column_int64(s, 0);
  set.name = ColumnText(s, 1);
  set.tls_policy = ColumnText(s, 2);
  set.max_delivery_seconds = sqlite3_column_int64(s, 3);
  set.sending_pool_name = ColumnText(s, 4);
  set.sending_enabled = sqlite3_column_int64(s, 5) != 0;
  set.reputation_metrics_enabled = sqlite3_column_int64(s, 6) != 0;
  set.last_fresh_start = FromUnixMillis(sqlite3_column_int64(s, 7));
  set.tracking_options_json = ColumnText(s, 8);
  set.suppression_options_json = ColumnText(s, 9);
  set.vdm_options_json = ColumnText(s, 10);
  set.archive_arn = ColumnText(s, 11);
  set.tags_json = ColumnText(s, 12);
  set.created = FromUnixMillis(sqlite3_column_int64(s, 13));
  if (!ValidateConfigurationSet(set).ok()) {
    return DataLossError("store: configuration set with invalid settings");
  }
  return set;
}

constexpr const char* kSuppressedColumns =
    "account_id, address, reason, last_update_ms, message_id, feedback_id, diagnostic";

StatusOr<SuppressedDestination> ReadSuppressed(sqlite3_stmt* s) {
  SuppressedDestination e;
  e.account_id = sqlite3_column_int64(s, 0);
  e.address = ColumnText(s, 1);
  std::optional<SuppressionReason> reason = ParseSuppressionReason(ColumnText(s, 2));
  if (!reason) return DataLossError("store: suppressed destination with an unknown reason");
  e.reason = *reason;
  e.last_update = FromUnixMillis(sqlite3_column_int64(s, 3));
  e.message_id = ColumnText(s, 4);
  e.feedback_id = ColumnText(s, 5);
  e.diagnostic = ColumnText(s, 6);
  return e;
}

constexpr const char* kGlobalColumns =
    "address_key, listed_until_ms, bounce_count, last_bounce_ms, diagnostic";

GlobalSuppression ReadGlobal(sqlite3_stmt* s) {
  GlobalSuppression g;
  g.address = ColumnText(s, 0);
  g.listed_until = FromUnixMillis(sqlite3_column_int64(s, 1));
  g.bounce_count = sqlite3_column_int64(s, 2);
  g.last_bounce = FromUnixMillis(sqlite3_column_int64(s, 3));
  g.diagnostic = ColumnText(s, 4);
  return g;
}

// Batch lookups bind this many keys per statement (?2 .. ?N+1); a shorter chunk repeats its
// first key, so one cached statement serves every size.
constexpr size_t kLookupChunk = 16;

std::string KeyPlaceholders() {
  std::string out;
  for (size_t i = 0; i < kLookupChunk; ++i) {
    if (i > 0) out += ", ";
    out += "?" + std::to_string(i + 2);
  }
  return out;
}

// The distinct keys of `addresses`, sorted (so that chunked results come out in key order).
std::vector<std::string> SortedKeys(const std::vector<std::string>& addresses) {
  std::vector<std::string> keys;
  keys.reserve(addresses.size());
  for (const auto& a : addresses) keys.push_back(SuppressionKey(a));
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

Status ErrnoError(const std::string& what, int err) {
  return UnavailableError("store: " + what + ": " + std::strerror(err));
}

// Creates the database file 0600 before SQLite opens it (SQLite would honour the umask,
// and gives -wal/-shm the main file's mode), and tightens the mode of an existing file
// and of any leftover -wal/-shm/-journal files.
Status PrepareFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot open " + path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError("cannot stat " + path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPreconditionError("store: " + path + " is not a regular file");
  }
  if ((st.st_mode & 0777) != 0600 && ::fchmod(fd, 0600) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError("cannot chmod " + path, err);
  }
  ::close(fd);
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    std::string side = path + suffix;
    if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT) {
      return ErrnoError("cannot chmod " + side, errno);
    }
  }
  return Status::Ok();
}

}  // namespace

// A cached prepared statement in use: binds parameters, steps, and on destruction resets
// it (ending any read transaction it holds) and clears its bindings.

int SqliteStore::SchemaVersion() { return static_cast<int>(kMigrations.size()); }

SqliteStore::SqliteStore(sqlite3* db) : db_(db) {}

SqliteStore::~SqliteStore() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  stmts_.clear();
  sqlite3_close(db_);
}

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  if (path.empty() || path.find('\0') != std::string::npos || path == ":memory:") {
    return InvalidArgumentError("store: invalid database path");
  }
  RETURN_IF_ERROR(PrepareFile(path));
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return UnavailableError("store: cannot open " + path + ": " + msg);
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  {
    std::lock_guard<std::mutex> lock(store->mu_);
    RETURN_IF_ERROR(store->Configure());
    RETURN_IF_ERROR(store->Migrate());
  }
  return store;
}

Status SqliteStore::Error(int rc, const std::string& what) {
  std::string msg = "store: " + what + ": " + sqlite3_errstr(rc);
  if (sqlite3_errcode(db_) == rc) msg += std::string(" (") + sqlite3_errmsg(db_) + ")";
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return AlreadyExistsError(msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return NotFoundError("store: " + what + ": account not found");
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
    case SQLITE_NOMEM:
      return UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(msg);
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return InvalidArgumentError(msg);
    default:
      return InternalError(msg);
  }
}

Status SqliteStore::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);  // the message is also available through sqlite3_errmsg
  if (rc != SQLITE_OK) return Error(rc, "exec");
  return Status::Ok();
}

Status SqliteStore::Configure() {
  sqlite3_extended_result_codes(db_, 1);
  int rc = sqlite3_busy_timeout(db_, static_cast<int>(kBusyTimeout.count()));
  if (rc != SQLITE_OK) return Error(rc, "busy_timeout");
  // Deleted rows (revoked secrets) are overwritten rather than left in free pages; the
  // schema is herald's own, so SQL functions in it need no trust.
  RETURN_IF_ERROR(
      Exec("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA trusted_schema = OFF;"));
  {
    ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare("PRAGMA journal_mode = WAL"));
    Stmt stmt(raw);
    rc = stmt.Step();
    if (rc != SQLITE_ROW) return Error(rc, "journal_mode");
    std::string mode = ColumnText(raw, 0);
    if (mode != "wal") {
      return UnavailableError("store: cannot switch to WAL mode (got '" + mode + "')");
    }
  }
  RETURN_IF_ERROR(Exec("PRAGMA synchronous = FULL;"));
  // These statements are not needed again.
  for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  stmts_.clear();
  return Status::Ok();
}

Status SqliteStore::Migrate() {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    RETURN_IF_ERROR(
        Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL) STRICT"));
    int64_t version = 0;
    bool have_row = false;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare("SELECT version FROM schema_version"));
      Stmt stmt(raw);
      int rc = stmt.Step();
      if (rc == SQLITE_ROW) {
        version = sqlite3_column_int64(raw, 0);
        have_row = true;
      } else if (rc != SQLITE_DONE) {
        return Error(rc, "read schema version");
      }
    }
    const int64_t target = static_cast<int64_t>(kMigrations.size());
    if (version < 0 || version > target) {
      return FailedPreconditionError("store: database schema version " + std::to_string(version) +
                                     " is not one this binary knows (" + std::to_string(target) +
                                     ")");
    }
    if (version == target) return Status::Ok();
    for (int64_t v = version; v < target; ++v) {
      RETURN_IF_ERROR(Exec(kMigrations[static_cast<size_t>(v)]));
    }
    ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                     Prepare(have_row ? "UPDATE schema_version SET version = ?"
                                      : "INSERT INTO schema_version (version) VALUES (?)"));
    Stmt stmt(raw);
    int rc = stmt.Bind(1, target).Step();
    if (rc != SQLITE_DONE) return Error(rc, "write schema version");
    return Status::Ok();
  };
  Status st = body();
  if (!st.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return Exec("COMMIT");
}

StatusOr<sqlite3_stmt*> SqliteStore::Prepare(const char* sql) {
  auto it = stmts_.find(sql);
  if (it != stmts_.end()) return it->second;
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Error(rc, "prepare");
  }
  stmts_.emplace(sql, stmt);
  return stmt;
}

// ---- Accounts ------------------------------------------------------------------------

namespace {
// The full SQL of the statements built from the column lists above.
const std::string kInsertAccount = std::string("INSERT INTO accounts (name, created_ms) ") +
                                   "VALUES (?, ?) RETURNING " + kAccountColumns;
const std::string kSelectAccountById =
    std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE id = ?";
const std::string kSelectAccountByName =
    std::string("SELECT ") + kAccountColumns + " FROM accounts WHERE name = ?";
const std::string kSelectAccounts =
    std::string("SELECT ") + kAccountColumns + " FROM accounts ORDER BY id";
const std::string kSelectIdentity = std::string("SELECT ") + kIdentityColumns +
                                    " FROM identities WHERE account_id = ? AND name = ?";
const std::string kSelectIdentities =
    std::string("SELECT ") + kIdentityColumns +
    " FROM identities WHERE account_id = ? AND name > ? ORDER BY name LIMIT ?";
const std::string kSelectIdentityByToken =
    std::string("SELECT ") + kIdentityColumns +
    " FROM identities WHERE verification_token = ? AND type = 'EMAIL_ADDRESS' AND "
    "verification_token <> '' ORDER BY account_id, name LIMIT 1";
const std::string kSelectConfigurationSet =
    std::string("SELECT ") + kConfigurationSetColumns +
    " FROM configuration_sets WHERE account_id = ? AND name = ?";
const std::string kSelectConfigurationSets =
    std::string("SELECT ") + kConfigurationSetColumns +
    " FROM configuration_sets WHERE account_id = ? AND name > ? ORDER BY name LIMIT ?";
}  // namespace

StatusOr<Account> SqliteStore::CreateAccount(const std::string& name, SysTime now) {
  RETURN_IF_ERROR(ValidateAccountName(name));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kInsertAccount.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, name).Bind(2, UnixMillis(now)).Step();
  if (rc != SQLITE_ROW) return Error(rc, "create account");
  ASSIGN_OR_RETURN(Account account, ReadAccount(raw));
  rc = stmt.Step();  // completes the statement, which commits
  if (rc != SQLITE_DONE) return Error(rc, "create account");
  return account;
}

StatusOr<Account> SqliteStore::GetAccount(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectAccountById.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, id).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: account " + std::to_string(id));
  if (rc != SQLITE_ROW) return Error(rc, "get account");
  return ReadAccount(raw);
}

StatusOr<Account> SqliteStore::GetAccountByName(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectAccountByName.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, name).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no account with that name");
  if (rc != SQLITE_ROW) return Error(rc, "get account");
  return ReadAccount(raw);
}

StatusOr<std::vector<Account>> SqliteStore::ListAccounts() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectAccounts.c_str()));
  Stmt stmt(raw);
  std::vector<Account> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(Account a, ReadAccount(raw));
    out.push_back(std::move(a));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list accounts");
  return out;
}

Status SqliteStore::UpdateAccountColumn(const char* sql, int64_t account_id, int64_t value) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(sql));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, value).Bind(2, account_id).Step();
  if (rc != SQLITE_DONE) return Error(rc, "update account");
  if (sqlite3_changes(db_) == 0) {
    return NotFoundError("store: account " + std::to_string(account_id));
  }
  return Status::Ok();
}

Status SqliteStore::SetProduction(int64_t account_id, bool production) {
  return UpdateAccountColumn("UPDATE accounts SET production = ? WHERE id = ?", account_id,
                             production ? 1 : 0);
}

Status SqliteStore::SetSendingEnabled(int64_t account_id, bool enabled) {
  return UpdateAccountColumn("UPDATE accounts SET sending_enabled = ? WHERE id = ?", account_id,
                             enabled ? 1 : 0);
}

Status SqliteStore::SetContactEmail(int64_t account_id, const std::string& email) {
  RETURN_IF_ERROR(ValidateContactEmail(email));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE accounts SET contact_email = ? WHERE id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, email).Bind(2, account_id).Step();
  if (rc != SQLITE_DONE) return Error(rc, "set contact email");
  if (sqlite3_changes(db_) == 0) {
    return NotFoundError("store: account " + std::to_string(account_id));
  }
  return Status::Ok();
}

// ---- Access keys -----------------------------------------------------------------------

Status SqliteStore::CreateAccessKey(const AccessKey& key) {
  RETURN_IF_ERROR(ValidateAccessKey(key));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO access_keys (access_key_id, secret, account_id, status, "
                           "created_ms) VALUES (?, ?, ?, ?, ?)"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, key.access_key_id)
               .Bind(2, key.secret)
               .Bind(3, key.account_id)
               .Bind(4, KeyStatusName(key.status))
               .Bind(5, UnixMillis(key.created))
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "create access key");
  return Status::Ok();
}

StatusOr<AccessKey> SqliteStore::GetAccessKey(const std::string& access_key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT access_key_id, secret, account_id, status, created_ms FROM "
                           "access_keys WHERE access_key_id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, access_key_id).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such access key");
  if (rc != SQLITE_ROW) return Error(rc, "get access key");
  return ReadAccessKey(raw);
}

StatusOr<std::vector<AccessKey>> SqliteStore::ListAccessKeys(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT access_key_id, secret, account_id, status, created_ms FROM "
                           "access_keys WHERE account_id = ? ORDER BY created_ms, access_key_id"));
  Stmt stmt(raw);
  std::vector<AccessKey> out;
  int rc;
  stmt.Bind(1, account_id);
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(AccessKey key, ReadAccessKey(raw));
    out.push_back(std::move(key));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list access keys");
  return out;
}

Status SqliteStore::SetAccessKeyStatus(const std::string& access_key_id, KeyStatus status) {
  if (!ParseKeyStatus(KeyStatusName(status))) {
    return InvalidArgumentError("unknown access key status");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE access_keys SET status = ? WHERE access_key_id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, KeyStatusName(status)).Bind(2, access_key_id).Step();
  if (rc != SQLITE_DONE) return Error(rc, "set access key status");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such access key");
  return Status::Ok();
}

Status SqliteStore::DeleteAccessKey(const std::string& access_key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare("DELETE FROM access_keys WHERE access_key_id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, access_key_id).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete access key");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such access key");
  return Status::Ok();
}

// ---- Identities --------------------------------------------------------------------------

Status SqliteStore::CreateIdentity(const Identity& identity) {
  RETURN_IF_ERROR(ValidateIdentity(identity));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO identities (account_id, name, type, status, "
                           "verification_token, token_expires_ms, created_ms, tags_json, "
                           "dkim_signing_enabled, dkim_origin, dkim_selector, "
                           "dkim_private_key_pem, dkim_algorithm, dkim_key_length, "
                           "dkim_next_key_length, dkim_status, dkim_generated_ms, "
                           "mail_from_domain, mail_from_behavior, mail_from_status, "
                           "mail_from_set_ms, bounce_topic, complaint_topic, delivery_topic, "
                           "bounce_headers, complaint_headers, delivery_headers, "
                           "feedback_forwarding) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                           "?, ?, ?, ?, ?, ?, ?, ?)"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, identity.account_id)
               .Bind(2, identity.name)
               .Bind(3, IdentityTypeName(identity.type))
               .Bind(4, VerificationStatusName(identity.status))
               .Bind(5, identity.verification_token)
               .Bind(6, UnixMillis(identity.token_expires))
               .Bind(7, UnixMillis(identity.created))
               .Bind(8, identity.tags_json)
               .Bind(9, static_cast<int64_t>(identity.dkim_signing_enabled ? 1 : 0))
               .Bind(10, identity.dkim_origin)
               .Bind(11, identity.dkim_selector)
               .Bind(12, identity.dkim_private_key_pem)
               .Bind(13, identity.dkim_algorithm)
               .Bind(14, identity.dkim_key_length)
               .Bind(15, identity.dkim_next_key_length)
               .Bind(16, VerificationStatusName(identity.dkim_status))
               .Bind(17, UnixMillis(identity.dkim_generated_at))
               .Bind(18, identity.mail_from_domain)
               .Bind(19, identity.mail_from_behavior)
               .Bind(20, VerificationStatusName(identity.mail_from_status))
               .Bind(21, UnixMillis(identity.mail_from_set_at))
               .Bind(22, identity.bounce_topic)
               .Bind(23, identity.complaint_topic)
               .Bind(24, identity.delivery_topic)
               .Bind(25, static_cast<int64_t>(identity.bounce_headers ? 1 : 0))
               .Bind(26, static_cast<int64_t>(identity.complaint_headers ? 1 : 0))
               .Bind(27, static_cast<int64_t>(identity.delivery_headers ? 1 : 0))
               .Bind(28, static_cast<int64_t>(identity.feedback_forwarding ? 1 : 0))
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "create identity");
  return Status::Ok();
}

StatusOr<Identity> SqliteStore::GetIdentity(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectIdentity.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such identity");
  if (rc != SQLITE_ROW) return Error(rc, "get identity");
  return ReadIdentity(raw);
}

StatusOr<std::vector<Identity>> SqliteStore::ListIdentities(int64_t account_id,
                                                            const std::string& after, int limit) {
  ASSIGN_OR_RETURN(int bounded, ValidateListLimit(limit));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectIdentities.c_str()));
  Stmt stmt(raw);
  stmt.Bind(1, account_id).Bind(2, after).Bind(3, static_cast<int64_t>(bounded));
  std::vector<Identity> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(Identity identity, ReadIdentity(raw));
    out.push_back(std::move(identity));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list identities");
  return out;
}

Status SqliteStore::DeleteIdentity(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM identities WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete identity");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such identity");
  return Status::Ok();
}

Status SqliteStore::SetIdentityStatus(int64_t account_id, const std::string& name,
                                      VerificationStatus status) {
  if (!ParseVerificationStatus(VerificationStatusName(status))) {
    return InvalidArgumentError("unknown verification status");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE identities SET status = ? WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, VerificationStatusName(status)).Bind(2, account_id).Bind(3, name).Step();
  if (rc != SQLITE_DONE) return Error(rc, "set identity status");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such identity");
  return Status::Ok();
}

Status SqliteStore::SetIdentityDkim(const Identity& identity) {
  RETURN_IF_ERROR(ValidateIdentityDkim(identity));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE identities SET dkim_signing_enabled = ?, dkim_origin = ?, "
                           "dkim_selector = ?, dkim_private_key_pem = ?, dkim_algorithm = ?, "
                           "dkim_key_length = ?, dkim_next_key_length = ?, dkim_status = ?, "
                           "dkim_generated_ms = ? WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, static_cast<int64_t>(identity.dkim_signing_enabled ? 1 : 0))
               .Bind(2, identity.dkim_origin)
               .Bind(3, identity.dkim_selector)
               .Bind(4, identity.dkim_private_key_pem)
               .Bind(5, identity.dkim_algorithm)
               .Bind(6, identity.dkim_key_length)
               .Bind(7, identity.dkim_next_key_length)
               .Bind(8, VerificationStatusName(identity.dkim_status))
               .Bind(9, UnixMillis(identity.dkim_generated_at))
               .Bind(10, identity.account_id)
               .Bind(11, identity.name)
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "set identity DKIM");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such identity");
  return Status::Ok();
}

Status SqliteStore::SetIdentityMailFrom(const Identity& identity) {
  RETURN_IF_ERROR(ValidateIdentityMailFrom(identity));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE identities SET mail_from_domain = ?, mail_from_behavior = ?, "
                           "mail_from_status = ?, mail_from_set_ms = ? "
                           "WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, identity.mail_from_domain)
               .Bind(2, identity.mail_from_behavior)
               .Bind(3, VerificationStatusName(identity.mail_from_status))
               .Bind(4, UnixMillis(identity.mail_from_set_at))
               .Bind(5, identity.account_id)
               .Bind(6, identity.name)
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "set identity MAIL FROM");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such identity");
  return Status::Ok();
}

StatusOr<std::vector<std::string>> SqliteStore::ListIdentityNotificationTopics() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT bounce_topic FROM identities WHERE bounce_topic != '' UNION "
                           "SELECT complaint_topic FROM identities WHERE complaint_topic != '' "
                           "UNION SELECT delivery_topic FROM identities WHERE delivery_topic != '' "
                           "ORDER BY 1"));
  Stmt stmt(raw);
  std::vector<std::string> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) out.push_back(ColumnText(raw, 0));
  if (rc != SQLITE_DONE) return Error(rc, "list notification topics");
  return out;
}

Status SqliteStore::SetIdentityNotifications(const Identity& identity) {
  RETURN_IF_ERROR(ValidateIdentityNotifications(identity));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE identities SET bounce_topic = ?, complaint_topic = ?, "
                           "delivery_topic = ?, bounce_headers = ?, complaint_headers = ?, "
                           "delivery_headers = ?, feedback_forwarding = ? "
                           "WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, identity.bounce_topic)
               .Bind(2, identity.complaint_topic)
               .Bind(3, identity.delivery_topic)
               .Bind(4, static_cast<int64_t>(identity.bounce_headers ? 1 : 0))
               .Bind(5, static_cast<int64_t>(identity.complaint_headers ? 1 : 0))
               .Bind(6, static_cast<int64_t>(identity.delivery_headers ? 1 : 0))
               .Bind(7, static_cast<int64_t>(identity.feedback_forwarding ? 1 : 0))
               .Bind(8, identity.account_id)
               .Bind(9, identity.name)
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "set identity notifications");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such identity");
  return Status::Ok();
}

Status SqliteStore::SetConditionalStatus(const char* sql, int64_t account_id,
                                         const std::string& name, const std::string& expected,
                                         VerificationStatus status) {
  if (!ParseVerificationStatus(VerificationStatusName(status))) {
    return InvalidArgumentError("unknown verification status");
  }
  std::lock_guard<std::mutex> lock(mu_);
  // One statement decides both cases: the row's current value comes back when it exists.
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(sql));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, VerificationStatusName(status))
               .Bind(2, account_id)
               .Bind(3, name)
               .Bind(4, expected)
               .Step();
  if (rc == SQLITE_ROW) {
    rc = stmt.Step();  // completes the statement, which commits
    if (rc != SQLITE_DONE) return Error(rc, "set identity status");
    return Status::Ok();
  }
  if (rc != SQLITE_DONE) return Error(rc, "set identity status");
  // Nothing updated: tell a missing identity from a changed one.
  ASSIGN_OR_RETURN(sqlite3_stmt * check,
                   Prepare("SELECT 1 FROM identities WHERE account_id = ? AND name = ?"));
  Stmt exists(check);
  rc = exists.Bind(1, account_id).Bind(2, name).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such identity");
  if (rc != SQLITE_ROW) return Error(rc, "set identity status");
  return FailedPreconditionError("store: the identity changed meanwhile");
}

Status SqliteStore::SetIdentityDkimStatus(int64_t account_id, const std::string& name,
                                          const std::string& selector, VerificationStatus status) {
  return SetConditionalStatus(
      "UPDATE identities SET dkim_status = ? WHERE account_id = ? AND name = ? AND "
      "dkim_selector = ? RETURNING 1",
      account_id, name, selector, status);
}

Status SqliteStore::SetIdentityMailFromStatus(int64_t account_id, const std::string& name,
                                              const std::string& domain,
                                              VerificationStatus status) {
  return SetConditionalStatus(
      "UPDATE identities SET mail_from_status = ? WHERE account_id = ? AND name = ? AND "
      "mail_from_domain = ? RETURNING 1",
      account_id, name, domain, status);
}

StatusOr<Identity> SqliteStore::FindIdentityByToken(const std::string& token) {
  if (token.empty()) return NotFoundError("store: no identity with that token");
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectIdentityByToken.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, token).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no identity with that token");
  if (rc != SQLITE_ROW) return Error(rc, "find identity by token");
  return ReadIdentity(raw);
}

// ---- Configuration sets ----------------------------------------------------------------

Status SqliteStore::CreateConfigurationSet(const ConfigurationSet& set) {
  RETURN_IF_ERROR(ValidateConfigurationSet(set));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO configuration_sets (account_id, name, tls_policy, "
                           "max_delivery_seconds, sending_pool_name, sending_enabled, "
                           "reputation_metrics_enabled, last_fresh_start_ms, "
                           "tracking_options_json, suppression_options_json, vdm_options_json, "
                           "archive_arn, tags_json, created_ms) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, set.account_id)
               .Bind(2, set.name)
               .Bind(3, set.tls_policy)
               .Bind(4, set.max_delivery_seconds)
               .Bind(5, set.sending_pool_name)
               .Bind(6, static_cast<int64_t>(set.sending_enabled ? 1 : 0))
               .Bind(7, static_cast<int64_t>(set.reputation_metrics_enabled ? 1 : 0))
               .Bind(8, UnixMillis(set.last_fresh_start))
               .Bind(9, set.tracking_options_json)
               .Bind(10, set.suppression_options_json)
               .Bind(11, set.vdm_options_json)
               .Bind(12, set.archive_arn)
               .Bind(13, set.tags_json)
               .Bind(14, UnixMillis(set.created))
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "create configuration set");
  return Status::Ok();
}

StatusOr<ConfigurationSet> SqliteStore::GetConfigurationSet(int64_t account_id,
                                                            const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectConfigurationSet.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: no such configuration set");
  if (rc != SQLITE_ROW) return Error(rc, "get configuration set");
  return ReadConfigurationSet(raw);
}

StatusOr<std::vector<ConfigurationSet>> SqliteStore::ListConfigurationSets(int64_t account_id,
                                                                           const std::string& after,
                                                                           int limit) {
  ASSIGN_OR_RETURN(int bounded, ValidateListLimit(limit));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectConfigurationSets.c_str()));
  Stmt stmt(raw);
  stmt.Bind(1, account_id).Bind(2, after).Bind(3, static_cast<int64_t>(bounded));
  std::vector<ConfigurationSet> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(ConfigurationSet set, ReadConfigurationSet(raw));
    out.push_back(std::move(set));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list configuration sets");
  return out;
}

Status SqliteStore::UpdateConfigurationSet(const ConfigurationSet& set) {
  RETURN_IF_ERROR(ValidateConfigurationSet(set));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      Prepare("UPDATE configuration_sets SET tls_policy = ?, max_delivery_seconds = ?, "
              "sending_pool_name = ?, sending_enabled = ?, reputation_metrics_enabled = ?, "
              "last_fresh_start_ms = ?, tracking_options_json = ?, suppression_options_json = ?, "
              "vdm_options_json = ?, archive_arn = ?, tags_json = ? "
              "WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, set.tls_policy)
               .Bind(2, set.max_delivery_seconds)
               .Bind(3, set.sending_pool_name)
               .Bind(4, static_cast<int64_t>(set.sending_enabled ? 1 : 0))
               .Bind(5, static_cast<int64_t>(set.reputation_metrics_enabled ? 1 : 0))
               .Bind(6, UnixMillis(set.last_fresh_start))
               .Bind(7, set.tracking_options_json)
               .Bind(8, set.suppression_options_json)
               .Bind(9, set.vdm_options_json)
               .Bind(10, set.archive_arn)
               .Bind(11, set.tags_json)
               .Bind(12, set.account_id)
               .Bind(13, set.name)
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "update configuration set");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such configuration set");
  return Status::Ok();
}

Status SqliteStore::DeleteConfigurationSet(int64_t account_id, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM configuration_sets WHERE account_id = ? AND name = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, name).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete configuration set");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: no such configuration set");
  return Status::Ok();
}

// ---- Send counting -------------------------------------------------------------------------

Status SqliteStore::RecordSends(int64_t account_id, SysTime at, int64_t count) {
  RETURN_IF_ERROR(ValidateSendCount(count));
  if (count == 0) return Status::Ok();
  const int64_t minute = SendBucketMinute(at);
  std::lock_guard<std::mutex> lock(mu_);
  auto last = last_prune_minute_.find(account_id);
  const bool prune =
      last == last_prune_minute_.end() || minute - last->second >= kPruneEveryMinutes;

  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                       Prepare("INSERT INTO send_buckets (account_id, minute, count) "
                               "VALUES (?, ?, ?) ON CONFLICT (account_id, minute) "
                               "DO UPDATE SET count = count + excluded.count"));
      Stmt stmt(raw);
      int rc = stmt.Bind(1, account_id).Bind(2, minute).Bind(3, count).Step();
      if (rc != SQLITE_DONE) return Error(rc, "record sends");
    }
    if (prune) {
      const int64_t keep_from =
          minute - std::chrono::duration_cast<std::chrono::minutes>(kSendBucketRetention).count();
      ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                       Prepare("DELETE FROM send_buckets WHERE account_id = ? AND minute < ?"));
      Stmt stmt(raw);
      int rc = stmt.Bind(1, account_id).Bind(2, keep_from).Step();
      if (rc != SQLITE_DONE) return Error(rc, "prune send buckets");
    }
    return Status::Ok();
  };
  Status st = body();
  if (!st.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return st;
  }
  RETURN_IF_ERROR(Exec("COMMIT"));
  if (prune) last_prune_minute_[account_id] = minute;
  return Status::Ok();
}

StatusOr<int64_t> SqliteStore::CountSendsSince(int64_t account_id, SysTime since) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare("SELECT COALESCE(SUM(count), 0) FROM send_buckets "
                                               "WHERE account_id = ? AND minute >= ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, SendBucketMinute(since)).Step();
  if (rc != SQLITE_ROW) return Error(rc, "count sends");
  return static_cast<int64_t>(sqlite3_column_int64(raw, 0));
}

// ---- Suppression ---------------------------------------------------------------------------

namespace {
const std::string kUpsertSuppressed =
    "INSERT INTO suppressed_destinations (account_id, address_key, address, reason, "
    "last_update_ms, message_id, feedback_id, diagnostic) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (account_id, address_key) DO UPDATE SET address = excluded.address, "
    "reason = excluded.reason, last_update_ms = excluded.last_update_ms, "
    "message_id = excluded.message_id, feedback_id = excluded.feedback_id, "
    "diagnostic = excluded.diagnostic";
const std::string kSelectSuppressed = std::string("SELECT ") + kSuppressedColumns +
                                      " FROM suppressed_destinations "
                                      "WHERE account_id = ? AND address_key = ?";
// ?2/?3: BOUNCE/COMPLAINT wanted (0 or 1); ?4..?5: last_update_ms bounds; ?6: after; ?7: limit.
const std::string kListSuppressed =
    std::string("SELECT ") + kSuppressedColumns +
    " FROM suppressed_destinations WHERE account_id = ?1 AND address_key > ?6 AND "
    "((?2 = 1 AND reason = 'BOUNCE') OR (?3 = 1 AND reason = 'COMPLAINT')) AND "
    "last_update_ms >= ?4 AND last_update_ms <= ?5 ORDER BY address_key LIMIT ?7";
const std::string kFindSuppressed = std::string("SELECT ") + kSuppressedColumns +
                                    " FROM suppressed_destinations WHERE account_id = ?1 AND "
                                    "address_key IN (" +
                                    KeyPlaceholders() + ") ORDER BY address_key";
const std::string kSelectGlobal =
    std::string("SELECT ") + kGlobalColumns + " FROM global_suppressions WHERE address_key = ?";
const std::string kFindGlobal = std::string("SELECT ") + kGlobalColumns +
                                " FROM global_suppressions WHERE listed_until_ms > ?1 AND "
                                "address_key IN (" +
                                KeyPlaceholders() + ") ORDER BY address_key";
}  // namespace

Status SqliteStore::InTransaction(const std::function<Status()>& body) {
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Status st = body();
  if (!st.ok()) {
    Exec("ROLLBACK").IgnoreError();
    return st;
  }
  return Exec("COMMIT");
}

Status SqliteStore::SetSuppressionAttributes(int64_t account_id, SuppressionReasons reasons,
                                             const std::string& validation_json) {
  RETURN_IF_ERROR(ValidateSuppressionValidationJson(validation_json));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare("UPDATE accounts SET suppressed_reasons = ?, "
                                               "suppression_validation_json = ? WHERE id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, FormatSuppressionReasons(reasons))
               .Bind(2, validation_json)
               .Bind(3, account_id)
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "set suppression attributes");
  if (sqlite3_changes(db_) == 0) {
    return NotFoundError("store: account " + std::to_string(account_id));
  }
  return Status::Ok();
}

Status SqliteStore::UpsertSuppressed(const SuppressedDestination& e) {
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kUpsertSuppressed.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, e.account_id)
               .Bind(2, SuppressionKey(e.address))
               .Bind(3, e.address)
               .Bind(4, SuppressionReasonName(e.reason))
               .Bind(5, UnixMillis(e.last_update))
               .Bind(6, e.message_id)
               .Bind(7, e.feedback_id)
               .Bind(8, e.diagnostic)
               .Step();
  if (rc != SQLITE_DONE) return Error(rc, "put suppressed destination");
  return Status::Ok();
}

Status SqliteStore::PutSuppressedDestination(const SuppressedDestination& entry) {
  RETURN_IF_ERROR(ValidateSuppressedDestination(entry));
  std::lock_guard<std::mutex> lock(mu_);
  return UpsertSuppressed(entry);
}

Status SqliteStore::PutSuppressedDestinations(const std::vector<SuppressedDestination>& entries) {
  RETURN_IF_ERROR(ValidateBatchSize(entries.size(), kMaxSuppressionBatch, "suppression batch"));
  for (const auto& e : entries) RETURN_IF_ERROR(ValidateSuppressedDestination(e));
  if (entries.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction([&]() -> Status {
    for (const auto& e : entries) RETURN_IF_ERROR(UpsertSuppressed(e));
    return Status::Ok();
  });
}

StatusOr<SuppressedDestination> SqliteStore::GetSuppressedDestination(int64_t account_id,
                                                                      const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectSuppressed.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, SuppressionKey(address)).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: address not on the suppression list");
  if (rc != SQLITE_ROW) return Error(rc, "get suppressed destination");
  return ReadSuppressed(raw);
}

Status SqliteStore::DeleteSuppressedDestination(int64_t account_id, const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      Prepare("DELETE FROM suppressed_destinations WHERE account_id = ? AND address_key = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Bind(2, SuppressionKey(address)).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete suppressed destination");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: address not on the suppression list");
  return Status::Ok();
}

StatusOr<std::vector<SuppressedDestination>> SqliteStore::ListSuppressedDestinations(
    int64_t account_id, const SuppressionListFilter& filter, const std::string& after, int limit) {
  ASSIGN_OR_RETURN(int bounded, ValidateListLimit(limit));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kListSuppressed.c_str()));
  Stmt stmt(raw);
  stmt.Bind(1, account_id)
      .Bind(2, static_cast<int64_t>(filter.reasons.bounce ? 1 : 0))
      .Bind(3, static_cast<int64_t>(filter.reasons.complaint ? 1 : 0))
      .Bind(4, filter.start ? UnixMillis(*filter.start) : std::numeric_limits<int64_t>::min())
      .Bind(5, filter.end ? UnixMillis(*filter.end) : std::numeric_limits<int64_t>::max())
      .Bind(6, after)
      .Bind(7, static_cast<int64_t>(bounded));
  std::vector<SuppressedDestination> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    ASSIGN_OR_RETURN(SuppressedDestination e, ReadSuppressed(raw));
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list suppressed destinations");
  return out;
}

StatusOr<std::vector<SuppressedDestination>> SqliteStore::FindSuppressedDestinations(
    int64_t account_id, const std::vector<std::string>& addresses) {
  RETURN_IF_ERROR(ValidateBatchSize(addresses.size(), kMaxSuppressionLookup, "suppression lookup"));
  const std::vector<std::string> keys = SortedKeys(addresses);
  std::vector<SuppressedDestination> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t start = 0; start < keys.size(); start += kLookupChunk) {
    ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kFindSuppressed.c_str()));
    Stmt stmt(raw);
    stmt.Bind(1, account_id);
    for (size_t i = 0; i < kLookupChunk; ++i) {
      const size_t k = start + i < keys.size() ? start + i : start;
      stmt.Bind(static_cast<int>(i + 2), keys[k]);
    }
    int rc;
    while ((rc = stmt.Step()) == SQLITE_ROW) {
      ASSIGN_OR_RETURN(SuppressedDestination e, ReadSuppressed(raw));
      out.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) return Error(rc, "find suppressed destinations");
  }
  return out;
}

StatusOr<int64_t> SqliteStore::DeleteAllSuppressedDestinations(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM suppressed_destinations WHERE account_id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete suppressed destinations");
  return static_cast<int64_t>(sqlite3_changes(db_));
}

Status SqliteStore::RecordGlobalHardBounces(const std::vector<GlobalBounce>& bounces,
                                            const GlobalListingPolicy& policy) {
  RETURN_IF_ERROR(ValidateBatchSize(bounces.size(), kMaxSuppressionBatch, "global bounces"));
  for (const auto& b : bounces) RETURN_IF_ERROR(ValidateGlobalBounce(b));
  if (bounces.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction([&]() -> Status {
    for (const auto& b : bounces) {
      std::optional<GlobalSuppression> previous;
      {
        ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectGlobal.c_str()));
        Stmt stmt(raw);
        int rc = stmt.Bind(1, SuppressionKey(b.address)).Step();
        if (rc == SQLITE_ROW) {
          previous = ReadGlobal(raw);
        } else if (rc != SQLITE_DONE) {
          return Error(rc, "read global suppression");
        }
      }
      const GlobalSuppression next = NextGlobalListing(previous ? &*previous : nullptr, b, policy);
      ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          Prepare("INSERT INTO global_suppressions (address_key, listed_until_ms, bounce_count, "
                  "last_bounce_ms, diagnostic) VALUES (?, ?, ?, ?, ?) "
                  "ON CONFLICT (address_key) DO UPDATE SET "
                  "listed_until_ms = excluded.listed_until_ms, "
                  "bounce_count = excluded.bounce_count, "
                  "last_bounce_ms = excluded.last_bounce_ms, diagnostic = excluded.diagnostic"));
      Stmt stmt(raw);
      int rc = stmt.Bind(1, next.address)
                   .Bind(2, UnixMillis(next.listed_until))
                   .Bind(3, next.bounce_count)
                   .Bind(4, UnixMillis(next.last_bounce))
                   .Bind(5, next.diagnostic)
                   .Step();
      if (rc != SQLITE_DONE) return Error(rc, "record global hard bounce");
    }
    return Status::Ok();
  });
}

StatusOr<std::vector<GlobalSuppression>> SqliteStore::FindGloballySuppressed(
    const std::vector<std::string>& addresses, SysTime now) {
  RETURN_IF_ERROR(
      ValidateBatchSize(addresses.size(), kMaxSuppressionLookup, "global suppression lookup"));
  const std::vector<std::string> keys = SortedKeys(addresses);
  std::vector<GlobalSuppression> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t start = 0; start < keys.size(); start += kLookupChunk) {
    ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kFindGlobal.c_str()));
    Stmt stmt(raw);
    stmt.Bind(1, UnixMillis(now));
    for (size_t i = 0; i < kLookupChunk; ++i) {
      const size_t k = start + i < keys.size() ? start + i : start;
      stmt.Bind(static_cast<int>(i + 2), keys[k]);
    }
    int rc;
    while ((rc = stmt.Step()) == SQLITE_ROW) out.push_back(ReadGlobal(raw));
    if (rc != SQLITE_DONE) return Error(rc, "find globally suppressed");
  }
  return out;
}

StatusOr<GlobalSuppression> SqliteStore::GetGlobalSuppression(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(kSelectGlobal.c_str()));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, SuppressionKey(address)).Step();
  if (rc == SQLITE_DONE) return NotFoundError("store: address not on the global list");
  if (rc != SQLITE_ROW) return Error(rc, "get global suppression");
  return ReadGlobal(raw);
}

Status SqliteStore::DeleteGlobalSuppression(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM global_suppressions WHERE address_key = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, SuppressionKey(address)).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete global suppression");
  if (sqlite3_changes(db_) == 0) return NotFoundError("store: address not on the global list");
  return Status::Ok();
}

StatusOr<int64_t> SqliteStore::SendBucketCountForTest(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT COUNT(*) FROM send_buckets WHERE account_id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Step();
  if (rc != SQLITE_ROW) return Error(rc, "count buckets");
  return static_cast<int64_t>(sqlite3_column_int64(raw, 0));
}

StatusOr<std::string> SqliteStore::PragmaForTest(const std::string& name) {
  static constexpr const char* kPragmas[] = {"PRAGMA journal_mode", "PRAGMA synchronous",
                                             "PRAGMA foreign_keys", "PRAGMA secure_delete",
                                             "PRAGMA busy_timeout"};
  for (const char* sql : kPragmas) {
    if ("PRAGMA " + name != sql) continue;
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare(sql));
    Stmt stmt(raw);
    int rc = stmt.Step();
    if (rc != SQLITE_ROW) return Error(rc, "read pragma");
    return ColumnText(raw, 0);
  }
  return InvalidArgumentError("store: not a pragma this store sets: " + name);
}

// ---- Reputation ------------------------------------------------------------------------

namespace {

Status ValidateScope(const std::string& scope) {
  if (scope.size() > kMaxConfigurationSetNameLength) {
    return InvalidArgumentError("store: reputation scope too long");
  }
  return Status::Ok();
}

Status ValidateReviewCase(const ReviewCaseRow& c) {
  if (c.json.size() > kMaxReputationJsonLength || c.status.empty() || c.status.size() > 32) {
    return InvalidArgumentError("store: bad review case");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::vector<RepBucketRow>> SqliteStore::LoadRepBuckets(int64_t account_id,
                                                                const std::string& scope) {
  RETURN_IF_ERROR(ValidateScope(scope));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT hour, sends, fbl_sends, hard_bounces, complaints, "
                           "first_sent_ms FROM rep_buckets WHERE account_id = ? AND scope = ? "
                           "ORDER BY hour"));
  Stmt stmt(raw);
  stmt.Bind(1, account_id).Bind(2, scope);
  std::vector<RepBucketRow> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    RepBucketRow r;
    r.hour = sqlite3_column_int64(raw, 0);
    r.sends = sqlite3_column_int64(raw, 1);
    r.fbl_sends = sqlite3_column_int64(raw, 2);
    r.hard_bounces = sqlite3_column_int64(raw, 3);
    r.complaints = sqlite3_column_int64(raw, 4);
    r.first_sent_ms = sqlite3_column_int64(raw, 5);
    out.push_back(r);
  }
  if (rc != SQLITE_DONE) return Error(rc, "load reputation buckets");
  return out;
}

Status SqliteStore::WriteRepBuckets(const RepBucketBatch& b) {
  RETURN_IF_ERROR(ValidateScope(b.scope));
  for (const RepBucketRow& r : b.rows) {
    ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        Prepare("INSERT INTO rep_buckets (account_id, scope, hour, sends, fbl_sends, "
                "hard_bounces, complaints, first_sent_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (account_id, scope, hour) DO UPDATE SET sends = excluded.sends, "
                "fbl_sends = excluded.fbl_sends, hard_bounces = excluded.hard_bounces, "
                "complaints = excluded.complaints, first_sent_ms = excluded.first_sent_ms"));
    Stmt stmt(raw);
    int rc = stmt.Bind(1, b.account_id)
                 .Bind(2, b.scope)
                 .Bind(3, r.hour)
                 .Bind(4, r.sends)
                 .Bind(5, r.fbl_sends)
                 .Bind(6, r.hard_bounces)
                 .Bind(7, r.complaints)
                 .Bind(8, r.first_sent_ms)
                 .Step();
    if (rc != SQLITE_DONE) return Error(rc, "save reputation bucket");
  }
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("DELETE FROM rep_buckets WHERE account_id = ? AND scope = ? AND "
                           "hour < ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, b.account_id).Bind(2, b.scope).Bind(3, b.delete_before_hour).Step();
  if (rc != SQLITE_DONE) return Error(rc, "drop reputation buckets");
  return Status::Ok();
}

Status SqliteStore::SaveRepBuckets(int64_t account_id, const std::string& scope,
                                   const std::vector<RepBucketRow>& rows,
                                   int64_t delete_before_hour) {
  return SaveRepBucketsMany({RepBucketBatch{account_id, scope, rows, delete_before_hour}});
}

Status SqliteStore::SaveRepBucketsMany(const std::vector<RepBucketBatch>& batches) {
  if (batches.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction([&]() -> Status {
    for (const RepBucketBatch& b : batches) RETURN_IF_ERROR(WriteRepBuckets(b));
    return Status::Ok();
  });
}

StatusOr<std::optional<ReputationRow>> SqliteStore::GetReputation(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT state_json, state_name, fresh_start_ms FROM reputation "
                           "WHERE account_id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, account_id).Step();
  if (rc == SQLITE_DONE) return std::optional<ReputationRow>();
  if (rc != SQLITE_ROW) return Error(rc, "get reputation");
  ReputationRow r;
  r.state_json = ColumnText(raw, 0);
  r.state_name = ColumnText(raw, 1);
  r.fresh_start = FromUnixMillis(sqlite3_column_int64(raw, 2));
  return std::optional<ReputationRow>(std::move(r));
}

Status SqliteStore::PutReputation(int64_t account_id, const ReputationRow& row,
                                  const std::string& api_status) {
  if (row.state_json.size() > kMaxReputationJsonLength || row.state_name.empty() ||
      row.state_name.size() > 64) {
    return InvalidArgumentError("store: bad reputation state");
  }
  if (api_status != "HEALTHY" && api_status != "PROBATION" && api_status != "SHUTDOWN") {
    return InvalidArgumentError("store: unknown enforcement status " + api_status);
  }
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction([&]() -> Status {
    ASSIGN_OR_RETURN(sqlite3_stmt * up,
                     Prepare("UPDATE accounts SET enforcement_status = ?, enforcement_state = ? "
                             "WHERE id = ?"));
    {
      Stmt stmt(up);
      int rc = stmt.Bind(1, api_status).Bind(2, row.state_name).Bind(3, account_id).Step();
      if (rc != SQLITE_DONE) return Error(rc, "set enforcement status");
      if (sqlite3_changes(db_) == 0) {
        return NotFoundError("store: account " + std::to_string(account_id));
      }
    }
    ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                     Prepare("INSERT INTO reputation (account_id, state_json, state_name, "
                             "fresh_start_ms) VALUES (?, ?, ?, ?) ON CONFLICT (account_id) DO "
                             "UPDATE SET state_json = excluded.state_json, state_name = "
                             "excluded.state_name, fresh_start_ms = excluded.fresh_start_ms"));
    Stmt stmt(raw);
    int rc = stmt.Bind(1, account_id)
                 .Bind(2, row.state_json)
                 .Bind(3, row.state_name)
                 .Bind(4, UnixMillis(row.fresh_start))
                 .Step();
    if (rc != SQLITE_DONE) return Error(rc, "put reputation");
    return Status::Ok();
  });
}

StatusOr<int64_t> SqliteStore::AddNotice(const NoticeRow& n) {
  if (n.text.size() > kMaxNoticeTextLength || n.json.size() > kMaxReputationJsonLength ||
      n.subject.size() > 998 || n.kind.empty() || n.kind.size() > 64) {
    return InvalidArgumentError("store: bad notice");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO notices (account_id, created_ms, kind, subject, text, "
                           "json) VALUES (?, ?, ?, ?, ?, ?) RETURNING id"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, n.account_id)
               .Bind(2, UnixMillis(n.created))
               .Bind(3, n.kind)
               .Bind(4, n.subject)
               .Bind(5, n.text)
               .Bind(6, n.json)
               .Step();
  if (rc != SQLITE_ROW) return Error(rc, "add notice");
  return sqlite3_column_int64(raw, 0);
}

StatusOr<std::vector<NoticeRow>> SqliteStore::ListNotices(int64_t account_id, int limit) {
  ASSIGN_OR_RETURN(limit, ValidateListLimit(limit));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, account_id, created_ms, kind, subject, text, json FROM "
                           "notices WHERE account_id = ? ORDER BY id DESC LIMIT ?"));
  Stmt stmt(raw);
  stmt.Bind(1, account_id).Bind(2, static_cast<int64_t>(limit));
  std::vector<NoticeRow> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    NoticeRow n;
    n.id = sqlite3_column_int64(raw, 0);
    n.account_id = sqlite3_column_int64(raw, 1);
    n.created = FromUnixMillis(sqlite3_column_int64(raw, 2));
    n.kind = ColumnText(raw, 3);
    n.subject = ColumnText(raw, 4);
    n.text = ColumnText(raw, 5);
    n.json = ColumnText(raw, 6);
    out.push_back(std::move(n));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list notices");
  return out;
}

StatusOr<int64_t> SqliteStore::CreateReviewCase(const ReviewCaseRow& c) {
  RETURN_IF_ERROR(ValidateReviewCase(c));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO review_cases (account_id, opened_ms, updated_ms, status, "
                           "json) VALUES (?, ?, ?, ?, ?) RETURNING id"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, c.account_id)
               .Bind(2, UnixMillis(c.opened))
               .Bind(3, UnixMillis(c.updated))
               .Bind(4, c.status)
               .Bind(5, c.json)
               .Step();
  if (rc != SQLITE_ROW) return Error(rc, "create review case");
  return sqlite3_column_int64(raw, 0);
}

Status SqliteStore::UpdateReviewCase(const ReviewCaseRow& c) {
  RETURN_IF_ERROR(ValidateReviewCase(c));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("UPDATE review_cases SET status = ?, updated_ms = ?, json = ? WHERE "
                           "id = ?"));
  Stmt stmt(raw);
  int rc =
      stmt.Bind(1, c.status).Bind(2, UnixMillis(c.updated)).Bind(3, c.json).Bind(4, c.id).Step();
  if (rc != SQLITE_DONE) return Error(rc, "update review case");
  if (sqlite3_changes(db_) == 0)
    return NotFoundError("store: no review case " + std::to_string(c.id));
  return Status::Ok();
}

StatusOr<std::vector<ReviewCaseRow>> SqliteStore::ListReviewCases(int64_t account_id, int limit) {
  ASSIGN_OR_RETURN(limit, ValidateListLimit(limit));
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("SELECT id, account_id, opened_ms, updated_ms, status, json FROM "
                           "review_cases WHERE account_id = ? ORDER BY id DESC LIMIT ?"));
  Stmt stmt(raw);
  stmt.Bind(1, account_id).Bind(2, static_cast<int64_t>(limit));
  std::vector<ReviewCaseRow> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    ReviewCaseRow c;
    c.id = sqlite3_column_int64(raw, 0);
    c.account_id = sqlite3_column_int64(raw, 1);
    c.opened = FromUnixMillis(sqlite3_column_int64(raw, 2));
    c.updated = FromUnixMillis(sqlite3_column_int64(raw, 3));
    c.status = ColumnText(raw, 4);
    c.json = ColumnText(raw, 5);
    out.push_back(std::move(c));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list review cases");
  return out;
}

Status SqliteStore::PutGuardCase(uint64_t id, const std::string& json) {
  if (json.size() > kMaxReputationJsonLength * 64) {
    return InvalidArgumentError("store: suspect burst too large");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                   Prepare("INSERT INTO guard_cases (id, json) VALUES (?, ?) ON CONFLICT (id) "
                           "DO UPDATE SET json = excluded.json"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, static_cast<int64_t>(id)).Bind(2, json).Step();
  if (rc != SQLITE_DONE) return Error(rc, "put suspect burst");
  return Status::Ok();
}

Status SqliteStore::DeleteGuardCase(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare("DELETE FROM guard_cases WHERE id = ?"));
  Stmt stmt(raw);
  int rc = stmt.Bind(1, static_cast<int64_t>(id)).Step();
  if (rc != SQLITE_DONE) return Error(rc, "delete suspect burst");
  return Status::Ok();
}

StatusOr<std::vector<std::pair<uint64_t, std::string>>> SqliteStore::ListGuardCases() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(sqlite3_stmt * raw, Prepare("SELECT id, json FROM guard_cases ORDER BY id"));
  Stmt stmt(raw);
  std::vector<std::pair<uint64_t, std::string>> out;
  int rc;
  while ((rc = stmt.Step()) == SQLITE_ROW) {
    out.emplace_back(static_cast<uint64_t>(sqlite3_column_int64(raw, 0)), ColumnText(raw, 1));
  }
  if (rc != SQLITE_DONE) return Error(rc, "list suspect bursts");
  return out;
}

}  // namespace herald::store
