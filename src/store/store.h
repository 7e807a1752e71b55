// store/store.h: herald's durable state other than message bodies: accounts, access keys,
// identities (with their DKIM keys, custom MAIL FROM domains and notification settings),
// configuration sets, send counters, the account suppression lists and the global
// suppression list.
//
// Contract: every method is a single atomic transaction; a method that returns OK has
// committed. Not-found lookups return kNotFound, duplicate creates kAlreadyExists, a
// database failure kUnavailable. Names are compared exactly as given: callers normalise
// (identities are lower-cased by the caller before they reach the store). Creating a key
// or identity for, or recording sends against, an account that does not exist returns
// kNotFound (so does creating a configuration set or a suppressed destination for one).
// Out-of-bounds arguments (see the Validate* functions and limits below) return kInvalidArgument.
// Times are stored with millisecond precision (sub-millisecond parts are truncated). Every
// implementation runs the same checks (Validate*) so that the in-memory fake
// (tests/fakes/mem_store.h) and the SQLite store agree. Thread-safety: implementations are safe
// from any thread; several processes (the daemon and the CLI) may open the same store at once.
// Trust: values come from authenticated callers and operators; SQL stays inside store/
// and uses bound parameters only. DKIM private keys are stored as they are signed with
// (like access-key secrets: the store must stay readable by herald only). Suppression
// diagnostics come from remote mail servers: stored as text, never interpreted.
//
// Suppression lists. An account's list holds one entry per address, keyed by the address
// in lower case (SuppressionKey: SES matches suppressed addresses case-insensitively when
// sending); the entry keeps the address as last given. Puts are upserts (the latest reason,
// time, message id, feedback id and diagnostic win). The global list is keyed by the
// lower-case address alone (all accounts); each hard bounce lists the address for a period
// that grows with repeats (NextGlobalListing, shared by every implementation).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "store/audience_store.h"
#include "store/publishing_store.h"
#include "store/reputation_store.h"

namespace herald::store {

// Why an address is on an account's suppression list (SES's SuppressionListReason).
enum class SuppressionReason { kBounce, kComplaint };
const char* SuppressionReasonName(SuppressionReason r);  // BOUNCE | COMPLAINT
std::optional<SuppressionReason> ParseSuppressionReason(std::string_view name);

// A set of suppression reasons (SES's SuppressedReasons list).
struct SuppressionReasons {
  bool bounce = true;
  bool complaint = true;
  bool Has(SuppressionReason r) const {
    return r == SuppressionReason::kBounce ? bounce : complaint;
  }
  bool empty() const { return !bounce && !complaint; }
  bool operator==(const SuppressionReasons&) const = default;
};
// "BOUNCE,COMPLAINT", "BOUNCE", "COMPLAINT" or "" (the stored and printed form).
std::string FormatSuppressionReasons(SuppressionReasons reasons);
// The inverse (also accepts "COMPLAINT,BOUNCE"); nullopt for anything else.
std::optional<SuppressionReasons> ParseSuppressionReasons(std::string_view text);

struct Account {
  int64_t id = 0;
  std::string name;
  bool production = false;                     // false: sandbox (recipients must be verified)
  bool sending_enabled = true;                 // PutAccountSendingAttributes / operator pause
  std::string enforcement_status = "HEALTHY";  // HEALTHY | PROBATION | SHUTDOWN
  // The enforcement state behind it (reputation/enforcement.h StateName): "healthy",
  // "under_review", ..., "paused", "suspended". Set with EnforcementStatus by
  // ReputationStore::PutReputation.
  std::string enforcement_state = "healthy";
  std::string contact_email;  // where notices go; may be empty
  SysTime created;
  // SuppressionAttributes: the reasons for which hard bounces and complaints add addresses
  // to the account's suppression list, and for which its entries stop a send (SES's default
  // for new accounts: both), and ValidationAttributes as the API accepted them (JSON text;
  // "" = never set).
  SuppressionReasons suppressed_reasons;
  std::string suppression_validation_json;
};

enum class KeyStatus { kActive, kInactive };

struct AccessKey {
  std::string access_key_id;  // 20 chars, "AKIA" + 16 upper alnum
  std::string secret;         // 40 chars; never logged
  int64_t account_id = 0;
  KeyStatus status = KeyStatus::kActive;
  SysTime created;
};

enum class IdentityType { kEmailAddress, kDomain };
// SES's VerificationStatus values.
enum class VerificationStatus { kPending, kSuccess, kFailed, kTemporaryFailure, kNotStarted };

const char* IdentityTypeName(IdentityType t);              // EMAIL_ADDRESS | DOMAIN
const char* VerificationStatusName(VerificationStatus s);  // PENDING | SUCCESS | ...
const char* KeyStatusName(KeyStatus s);                    // Active | Inactive (IAM's words)
// Inverses of the above; nullopt for an unknown name.
std::optional<IdentityType> ParseIdentityType(std::string_view name);
std::optional<VerificationStatus> ParseVerificationStatus(std::string_view name);
std::optional<KeyStatus> ParseKeyStatus(std::string_view name);

struct Identity {
  int64_t account_id = 0;
  std::string name;  // lower-cased email address or domain (Punycode)
  IdentityType type = IdentityType::kEmailAddress;
  VerificationStatus status = VerificationStatus::kPending;
  std::string verification_token;  // domain: TXT value; email: the link token
  SysTime token_expires;           // email links expire after 24 h
  SysTime created;
  std::string tags_json = "[]";  // SES Tags as given at creation

  // DKIM (domain identities; an address is signed with its domain identity's key).
  bool dkim_signing_enabled = true;           // PutEmailIdentityDkimAttributes
  std::string dkim_origin = "AWS_SES";        // DkimSigningAttributesOrigin: AWS_SES | EXTERNAL
  std::string dkim_selector;                  // s= and the DKIM token; empty: no key
  std::string dkim_private_key_pem;           // PKCS#8 PEM; a secret, never returned by the API
  std::string dkim_algorithm = "rsa-sha256";  // a=: rsa-sha256 | ed25519-sha256
  // DkimSigningKeyLength of the current key (RSA_1024_BIT | RSA_2048_BIT; empty when none
  // or not RSA) and of the next generated one.
  std::string dkim_key_length;
  std::string dkim_next_key_length = "RSA_2048_BIT";
  VerificationStatus dkim_status = VerificationStatus::kNotStarted;
  SysTime dkim_generated_at;  // key generated or imported; starts the 72 h DNS search

  // Custom MAIL FROM domain (MailFromAttributes); empty: the default.
  std::string mail_from_domain;
  std::string mail_from_behavior = "USE_DEFAULT_VALUE";  // | REJECT_MESSAGE
  VerificationStatus mail_from_status = VerificationStatus::kPending;
  SysTime mail_from_set_at;  // starts the 72 h DNS search

  // Identity notifications (SES v1 SetIdentityNotificationTopic,
  // SetIdentityHeadersInNotificationsEnabled, SetIdentityFeedbackForwardingEnabled; SESv2
  // PutEmailIdentityFeedbackAttributes): the SNS topic ARN per notification type ("" = none),
  // whether the original headers go with that type, and email feedback forwarding.
  std::string bounce_topic;
  std::string complaint_topic;
  std::string delivery_topic;
  bool bounce_headers = false;
  bool complaint_headers = false;
  bool delivery_headers = false;
  bool feedback_forwarding = true;
};

// A configuration set (SESv2): the rules applied to every message that names it
// (ConfigurationSetName, or the X-SES-CONFIGURATION-SET header). herald acts on the
// delivery and sending options; the other option groups are kept, as the JSON objects the
// API accepted, for the issues that will act on them ("" = the group was never set).
struct ConfigurationSet {
  int64_t account_id = 0;
  std::string name;  // 1..64 of [A-Za-z0-9_-] (IsConfigurationSetName); case-sensitive

  // DeliveryOptions.
  std::string tls_policy = "OPTIONAL";  // REQUIRE: deliver only over TLS | OPTIONAL
  int64_t max_delivery_seconds = 0;     // 0: unset (kDefaultMaxDeliverySeconds); else 300..50400
  std::string sending_pool_name;        // stored and returned; herald has no dedicated IP pools

  // SendingOptions: false refuses every message that names the set.
  bool sending_enabled = true;

  // ReputationOptions.
  bool reputation_metrics_enabled = false;
  SysTime last_fresh_start;  // LastFreshStart; the epoch (UnixMillis 0) = never

  std::string tracking_options_json;     // TrackingOptions {CustomRedirectDomain, HttpsPolicy}
  std::string suppression_options_json;  // SuppressionOptions {SuppressedReasons, ...}
  std::string vdm_options_json;          // VdmOptions {DashboardOptions, GuardianOptions}
  std::string archive_arn;               // ArchivingOptions.ArchiveArn; empty: none
  std::string tags_json = "[]";          // SES Tags as given at creation
  SysTime created;
};

// One entry of an account's suppression list (SES's SuppressedDestination).
struct SuppressedDestination {
  int64_t account_id = 0;
  std::string address;  // as last given; the key is SuppressionKey(address)
  SuppressionReason reason = SuppressionReason::kBounce;
  SysTime last_update;
  std::string message_id;   // the message that caused it; empty when added by hand
  std::string feedback_id;  // the bounce's or complaint's feedbackId; may be empty
  std::string diagnostic;   // the bounce's diagnostic code; may be empty
};

// Which entries ListSuppressedDestinations returns.
struct SuppressionListFilter {
  SuppressionReasons reasons;    // entries with one of these reasons (default: both)
  std::optional<SysTime> start;  // last_update >= start (inclusive)
  std::optional<SysTime> end;    // last_update <= end (inclusive)
};

// An address on the global suppression list.
struct GlobalSuppression {
  std::string address;       // lower case (the key)
  SysTime listed_until;      // listed while now < listed_until
  int64_t bounce_count = 0;  // hard bounces counted toward the listing period
  SysTime last_bounce;
  std::string diagnostic;  // of the last hard bounce
};

// A hard bounce reported for the global list.
struct GlobalBounce {
  std::string address;  // any case
  SysTime at;
  std::string diagnostic;
};

// How long a hard bounce lists an address globally: `first_listing` for the first one,
// doubling with each repeat, never more than `max_listing`.
struct GlobalListingPolicy {
  std::chrono::seconds first_listing = std::chrono::hours(24);
  std::chrono::seconds max_listing = std::chrono::hours(14 * 24);
};

// Everything herald keeps, including what the reputation machinery, event publishing and
// subscription management keep (their own interfaces, reputation_store.h,
// publishing_store.h and audience_store.h, so that code needing only one can take only it).
class Store : public ReputationStore, public PublishingStore, public AudienceStore {
 public:
  ~Store() override = default;

  // Accounts.
  virtual StatusOr<Account> CreateAccount(const std::string& name, SysTime now) = 0;
  virtual StatusOr<Account> GetAccount(int64_t id) = 0;
  virtual StatusOr<Account> GetAccountByName(const std::string& name) = 0;
  // All accounts ordered by id.
  virtual StatusOr<std::vector<Account>> ListAccounts() = 0;
  virtual Status SetProduction(int64_t account_id, bool production) = 0;
  virtual Status SetSendingEnabled(int64_t account_id, bool enabled) = 0;
  virtual Status SetContactEmail(int64_t account_id, const std::string& email) = 0;
  // PutAccountSuppressionAttributes: replaces both attributes.
  virtual Status SetSuppressionAttributes(int64_t account_id, SuppressionReasons reasons,
                                          const std::string& validation_json) = 0;

  // Access keys.
  virtual Status CreateAccessKey(const AccessKey& key) = 0;
  virtual StatusOr<AccessKey> GetAccessKey(const std::string& access_key_id) = 0;
  // Keys of an account ordered by (created, access_key_id); empty if it has none.
  virtual StatusOr<std::vector<AccessKey>> ListAccessKeys(int64_t account_id) = 0;
  virtual Status SetAccessKeyStatus(const std::string& access_key_id, KeyStatus status) = 0;
  virtual Status DeleteAccessKey(const std::string& access_key_id) = 0;

  // Identities.
  virtual Status CreateIdentity(const Identity& identity) = 0;
  virtual StatusOr<Identity> GetIdentity(int64_t account_id, const std::string& name) = 0;
  // Identities of an account ordered by name, starting after `after` (exclusive; empty for
  // the first page), at most `limit`.
  virtual StatusOr<std::vector<Identity>> ListIdentities(int64_t account_id,
                                                         const std::string& after, int limit) = 0;
  virtual Status DeleteIdentity(int64_t account_id, const std::string& name) = 0;
  virtual Status SetIdentityStatus(int64_t account_id, const std::string& name,
                                   VerificationStatus status) = 0;
  // Replaces every dkim_* field of the identity (account_id, name) with those of
  // `identity`; other fields are not touched.
  virtual Status SetIdentityDkim(const Identity& identity) = 0;
  // Sets dkim_status, but only while the identity's dkim_selector is still `selector`:
  // kFailedPrecondition when the key changed meanwhile (the newer key's status stands).
  virtual Status SetIdentityDkimStatus(int64_t account_id, const std::string& name,
                                       const std::string& selector, VerificationStatus status) = 0;
  // Replaces every mail_from_* field of the identity with those of `identity`.
  virtual Status SetIdentityMailFrom(const Identity& identity) = 0;
  // Sets mail_from_status while mail_from_domain is still `domain` (else
  // kFailedPrecondition, as above).
  virtual Status SetIdentityMailFromStatus(int64_t account_id, const std::string& name,
                                           const std::string& domain,
                                           VerificationStatus status) = 0;
  // Replaces the seven notification fields of the identity (account_id, name) with those
  // of `identity`; other fields are not touched. NotFound when there is no such identity.
  virtual Status SetIdentityNotifications(const Identity& identity) = 0;
  // Every distinct non-empty notification topic any identity names (any account).
  virtual StatusOr<std::vector<std::string>> ListIdentityNotificationTopics() = 0;
  // Finds the identity whose email-verification token is `token` (any account). Only
  // EMAIL_ADDRESS identities match (a domain's token is public in DNS); an empty token
  // never matches. Expiry is the caller's to check (token_expires).
  virtual StatusOr<Identity> FindIdentityByToken(const std::string& token) = 0;

  // Configuration sets (per account, keyed by name).
  virtual Status CreateConfigurationSet(const ConfigurationSet& set) = 0;
  virtual StatusOr<ConfigurationSet> GetConfigurationSet(int64_t account_id,
                                                         const std::string& name) = 0;
  // Sets of an account ordered by name (byte order), starting after `after` (exclusive;
  // empty for the first page), at most `limit`.
  virtual StatusOr<std::vector<ConfigurationSet>> ListConfigurationSets(int64_t account_id,
                                                                        const std::string& after,
                                                                        int limit) = 0;
  // Replaces every field of the set (set.account_id, set.name) except `created`; the
  // whole struct is written, so callers read, change and write back (last writer wins).
  virtual Status UpdateConfigurationSet(const ConfigurationSet& set) = 0;
  virtual Status DeleteConfigurationSet(int64_t account_id, const std::string& name) = 0;

  // Send counting for the rolling 24-hour quota: `count` recipients sent at `at`. Sends
  // are kept in per-minute buckets (SendBucketMinute) for kSendBucketRetention.
  virtual Status RecordSends(int64_t account_id, SysTime at, int64_t count) = 0;
  // Recipients recorded at or after `since`, at minute granularity: the whole bucket of
  // the minute containing `since` counts (errs towards over-counting by < 1 minute).
  virtual StatusOr<int64_t> CountSendsSince(int64_t account_id, SysTime since) = 0;

  // The account suppression list. Addresses are matched by SuppressionKey().
  // Adds the entry of (entry.account_id, key) or replaces every field of it.
  virtual Status PutSuppressedDestination(const SuppressedDestination& entry) = 0;
  // At most kMaxSuppressionBatch entries (any accounts) in one transaction: all are written
  // or none (kNotFound when one names a missing account). Of two entries with the same key
  // the later wins.
  virtual Status PutSuppressedDestinations(const std::vector<SuppressedDestination>& entries) = 0;
  virtual StatusOr<SuppressedDestination> GetSuppressedDestination(int64_t account_id,
                                                                   const std::string& address) = 0;
  virtual Status DeleteSuppressedDestination(int64_t account_id, const std::string& address) = 0;
  // Entries of the account that pass `filter`, ordered by key (byte order), starting after
  // the key `after` (exclusive; empty for the first page), at most `limit`.
  virtual StatusOr<std::vector<SuppressedDestination>> ListSuppressedDestinations(
      int64_t account_id, const SuppressionListFilter& filter, const std::string& after,
      int limit) = 0;
  // The entries of those of `addresses` (any case, at most kMaxSuppressionLookup; duplicates
  // allowed) that are on the account's list, ordered by key: one query per send.
  virtual StatusOr<std::vector<SuppressedDestination>> FindSuppressedDestinations(
      int64_t account_id, const std::vector<std::string>& addresses) = 0;
  // Deletes every entry of the account (an account paused for 90 days); returns how many.
  virtual StatusOr<int64_t> DeleteAllSuppressedDestinations(int64_t account_id) = 0;

  // The global suppression list. Records hard bounces (at most kMaxSuppressionBatch, one
  // transaction, in order): each address's listing becomes NextGlobalListing(previous).
  virtual Status RecordGlobalHardBounces(const std::vector<GlobalBounce>& bounces,
                                         const GlobalListingPolicy& policy) = 0;
  // Those of `addresses` (any case, at most kMaxSuppressionLookup) listed at `now`
  // (now < listed_until), ordered by address.
  virtual StatusOr<std::vector<GlobalSuppression>> FindGloballySuppressed(
      const std::vector<std::string>& addresses, SysTime now) = 0;
  // The record of an address, listed or not (kNotFound when it never bounced).
  virtual StatusOr<GlobalSuppression> GetGlobalSuppression(const std::string& address) = 0;
  // Forgets an address (an operator lifts a listing); kNotFound when there is none.
  virtual Status DeleteGlobalSuppression(const std::string& address) = 0;
};

using StorePtr = std::unique_ptr<Store>;

// Bounds every implementation enforces (kInvalidArgument beyond them).
inline constexpr size_t kMaxAccountNameLength = 128;
inline constexpr size_t kMaxEmailLength = 320;  // contact e-mail and e-mail identities
inline constexpr size_t kMaxIdentityNameLength = 320;
inline constexpr size_t kMaxAccessKeyIdLength = 128;
inline constexpr size_t kMaxSecretLength = 128;
inline constexpr size_t kMaxTokenLength = 256;
inline constexpr size_t kMaxTagsJsonLength = 64 * 1024;
inline constexpr size_t kMaxDkimSelectorLength = 63;  // SES's Selector shape
inline constexpr size_t kMaxDkimKeyPemLength = 16 * 1024;
inline constexpr size_t kMaxDomainLength = 253;
inline constexpr size_t kMaxNotificationTopicLength = 256;  // each Identity *_topic
inline constexpr int kMaxListLimit = 1000;  // the List* methods clamp `limit` to this
inline constexpr int64_t kMaxSendsPerRecord = 1000000000;
inline constexpr size_t kMaxConfigurationSetNameLength = 64;  // SES's limit
inline constexpr size_t kMaxSendingPoolNameLength = 64;
inline constexpr size_t kMaxOptionsJsonLength = 16 * 1024;  // each *_options_json
inline constexpr size_t kMaxArchiveArnLength = 1011;        // SES's ArchiveArn shape
inline constexpr size_t kMaxSuppressionIdLength = 256;      // message and feedback ids
inline constexpr size_t kMaxSuppressionDiagnosticLength = 2048;
inline constexpr size_t kMaxSuppressionBatch = 100000;  // SES's bulk import limit per job
inline constexpr size_t kMaxSuppressionLookup = 1000;   // addresses per Find* call
// MaxDeliverySeconds bounds (SES's DeliveryOptions); the upper bound is also the default.
inline constexpr int64_t kMinMaxDeliverySeconds = 300;
inline constexpr int64_t kMaxMaxDeliverySeconds = 50400;
inline constexpr int64_t kDefaultMaxDeliverySeconds = 50400;

// Shared argument checks (non-empty, bounded, no NUL bytes).
Status ValidateAccountName(const std::string& name);
Status ValidateContactEmail(const std::string& email);  // may be empty
Status ValidateAccessKey(const AccessKey& key);
// Includes the DKIM, MAIL FROM and notification fields: known origin, algorithm, key
// lengths, behaviour and statuses, bounded selector, key, domain and topics.
Status ValidateIdentity(const Identity& identity);
Status ValidateIdentityDkim(const Identity& identity);
Status ValidateIdentityMailFrom(const Identity& identity);
// Each notification topic is "" or 1..kMaxNotificationTopicLength printable ASCII bytes
// other than space (0x21..0x7e).
Status ValidateIdentityNotifications(const Identity& identity);
// `limit` must be positive; returns it clamped to kMaxListLimit.
StatusOr<int> ValidateListLimit(int limit);
Status ValidateSendCount(int64_t count);  // 0..kMaxSendsPerRecord
// 1..max_length ASCII letters, digits, '_' and '-' (SES's rule for most resource names).
bool IsPlainName(std::string_view name, size_t max_length);
// IsPlainName with kMaxConfigurationSetNameLength.
bool IsConfigurationSetName(std::string_view name);
// Name as above, known TLS policy, max_delivery_seconds 0 or within bounds, bounded texts
// (JSON fields are not parsed here: the API writes them).
Status ValidateConfigurationSet(const ConfigurationSet& set);
// How long the set lets herald try to deliver: max_delivery_seconds, or the default.
std::chrono::seconds EffectiveMaxDelivery(const ConfigurationSet& set);

// The key of an address on a suppression list: the address in ASCII lower case.
std::string SuppressionKey(std::string_view address);
// Address bounded (kMaxEmailLength) and non-empty, known reason, bounded ids and
// diagnostic (kMaxSuppressionIdLength, kMaxSuppressionDiagnosticLength), no NUL bytes.
Status ValidateSuppressedDestination(const SuppressedDestination& entry);
Status ValidateSuppressionValidationJson(const std::string& json);  // bounded, may be empty
Status ValidateGlobalBounce(const GlobalBounce& bounce);
// Checks the batch size against `max` (kInvalidArgument beyond it).
Status ValidateBatchSize(size_t n, size_t max, std::string_view what);
// The listing after `bounce` given the address's previous record (nullptr: none). A bounce
// while the address is still listed (bounce.at < listed_until: mail sent before the listing)
// keeps the listing and the count, updating only the diagnostic and last_bounce. Otherwise
// the count grows by one, or starts again at 1 when the previous listing ended more than
// max_listing before the bounce, and the address is listed from bounce.at for
// min(first_listing * 2^(count - 1), max_listing). Times are truncated to milliseconds.
GlobalSuppression NextGlobalListing(const GlobalSuppression* previous, const GlobalBounce& bounce,
                                    const GlobalListingPolicy& policy);

// The DOMAIN identity of `account_id` that covers `domain` (lower-case A-labels): the
// domain itself or its nearest parent ("a.b.example.com", then "b.example.com", then
// "example.com"). nullopt when there is none; errors other than kNotFound are returned.
StatusOr<std::optional<Identity>> FindDomainIdentity(Store& store, int64_t account_id,
                                                     const std::string& domain);

// The SES-style 12-digit account number of an account id (sendingAccountId, the account
// part of ARNs).
std::string AccountNumber(int64_t account_id);

// The per-minute bucket a send at `t` is counted in (floor of Unix minutes).
int64_t SendBucketMinute(SysTime t);
// How long send buckets are kept before implementations may prune them.
inline constexpr std::chrono::hours kSendBucketRetention{48};

}  // namespace herald::store
