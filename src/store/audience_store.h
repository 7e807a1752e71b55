// store/audience_store.h: what subscription management and engagement tracking keep:
// SES contact lists (with their topics), the contacts on them and their topic
// preferences, and the first open and first click of each tracked message and recipient
// (the unique counts the dashboard reports).
//
// Contract: plain rows. A contact list's name is case-sensitive and unique per account; an
// account has at most kMaxContactListsPerAccount lists (kResourceExhausted past it, SES's
// LimitExceededException; a taken name is kAlreadyExists first). A contact is keyed by (account,
// list, lower-cased address): the address keeps the case it was created with. Deleting a list
// deletes its contacts. Topic preferences name topics of the list; a preference for a topic the
// list no longer has is kept (SES ignores it) and dropped when the contact is next written. List*
// return rows in name (lists) or key (contacts) order. RecordEngagement is idempotent per (message
// id, recipient, kind): it says whether this was the first. Errors: kAlreadyExists for a taken name
// or address, kNotFound for a missing row or its missing account/list, kInvalidArgument beyond the
// bounds below (ValidateContactList, ValidateContact), kResourceExhausted as above; storage
// failures as the implementation maps them (sqlite: kUnavailable, kDataLoss...). Thread-safety:
// implementations are safe from any thread. Trust: rows are written by the API and the unsubscribe
// endpoints after validation; bounds are checked again here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace herald::store {

inline constexpr int kMaxContactListsPerAccount = 1;  // SES's quota
inline constexpr size_t kMaxContactListTopics = 20;   // SES's quota
inline constexpr size_t kMaxContactListNameLength = 64;
inline constexpr size_t kMaxTopicDisplayNameLength = 128;
inline constexpr size_t kMaxDescriptionLength = 500;
inline constexpr size_t kMaxContactAttributesLength = 1000;  // AttributesData, SES's bound
// A contact's preferences: one per topic of its list, plus those kept for topics the list
// has since dropped (a contact read back and written again may carry both).
inline constexpr size_t kMaxTopicPreferences = 2 * kMaxContactListTopics;

struct ContactListTopic {
  std::string name;             // 1..64 of [A-Za-z0-9_-], unique in its list
  std::string display_name;     // 1..128, shown on the unsubscribe page
  std::string description;      // 0..500
  bool default_opt_in = false;  // DefaultSubscriptionStatus OPT_IN (true) or OPT_OUT
  bool operator==(const ContactListTopic&) const = default;
};

struct ContactListRow {
  int64_t account_id = 0;
  std::string name;                      // 1..64 of [A-Za-z0-9_-] (IsContactListName)
  std::string description;               // 0..500
  std::vector<ContactListTopic> topics;  // at most kMaxContactListTopics
  std::string tags_json;                 // [{"Key":..,"Value":..}] as given, "" for none
  SysTime created;
  SysTime updated;
};

struct ContactRow {
  int64_t account_id = 0;
  std::string list_name;
  std::string email;  // a valid address (mail::ParseAddress), at most 320 octets
  bool unsubscribe_all = false;
  // Explicit choices: (topic name, opted in). Topics without one follow the topic's
  // default.
  std::vector<std::pair<std::string, bool>> topic_preferences;
  std::string attributes_json;  // AttributesData as given (a JSON object), "" for none
  SysTime created;
  SysTime updated;
};

// Open or click: the first one of a (message, recipient) pair.
struct EngagementRow {
  int64_t account_id = 0;
  std::string configuration_set;
  std::string message_id;
  std::string recipient;  // "" when the message had several recipients
  enum Kind { kOpen, kClick } kind = kOpen;
  SysTime at;
};

// 1..kMaxContactListNameLength ASCII letters, digits, '_' and '-' (topic names: the same
// rule, IsTopicName, with at most 64).
bool IsContactListName(std::string_view name);
bool IsContactTopicName(std::string_view name);
// A contact address as the store checks it (it cannot parse addresses: the API checks them
// with mail::ParseMailbox first): 3..320 octets, an '@' with text on both sides,
// no whitespace, control characters or DEL.
bool IsContactAddress(std::string_view address);
// The key a contact is stored under: its address in ASCII lower case.
std::string ContactKey(std::string_view address);
// Name as above; description at most kMaxDescriptionLength characters (UTF-8 code points),
// no NUL; at most kMaxContactListTopics topics, their names unique, display names 1..128
// characters, descriptions at most 500, no NUL; tags_json bounded (kMaxTagsJsonLength).
Status ValidateContactList(const ContactListRow& list);
// List name as above, IsContactAddress, at most kMaxTopicPreferences preferences with
// unique topic names (IsContactTopicName), attributes_json at most
// kMaxContactAttributesLength octets without NUL. Whether the preferences name topics of
// the list is the writer's business: the store drops those that do not.
Status ValidateContact(const ContactRow& contact);
// message_id 1..256 octets, recipient at most 320, configuration_set "" or a set name
// (IsConfigurationSetName; the set need not exist any more), a known kind, no NUL.
Status ValidateEngagement(const EngagementRow& row);
const char* EngagementKindName(EngagementRow::Kind kind);  // OPEN | CLICK
// Whether `contact` receives mail sent with ListManagementOptions naming `topic` ("" for
// none) on `list`: not when it unsubscribed from everything, nor when its preference for
// the topic (or, lacking one, the topic's default) is opt-out. A topic the list does not
// have: false.
bool ContactWantsTopic(const ContactListRow& list, const ContactRow& contact,
                       std::string_view topic);

class AudienceStore {
 public:
  virtual ~AudienceStore() = default;

  virtual Status CreateContactList(const ContactListRow& list) = 0;
  virtual StatusOr<ContactListRow> GetContactList(int64_t account_id, const std::string& name) = 0;
  // Replaces description, topics and updated (kNotFound when missing).
  virtual Status UpdateContactList(const ContactListRow& list) = 0;
  // Deletes its contacts too.
  virtual Status DeleteContactList(int64_t account_id, const std::string& name) = 0;
  virtual StatusOr<std::vector<ContactListRow>> ListContactLists(int64_t account_id) = 0;

  // kNotFound when the list is missing, kAlreadyExists when the address is on it.
  virtual Status CreateContact(const ContactRow& contact) = 0;
  // By address, compared case-insensitively.
  virtual StatusOr<ContactRow> GetContact(int64_t account_id, const std::string& list_name,
                                          const std::string& email) = 0;
  // Replaces unsubscribe_all, topic_preferences, attributes_json and updated.
  virtual Status UpdateContact(const ContactRow& contact) = 0;
  virtual Status DeleteContact(int64_t account_id, const std::string& list_name,
                               const std::string& email) = 0;
  // Contacts whose lower-cased address sorts after `after` (lower-cased; "" for the
  // first page), at most `limit` (clamped to 1..1000). kNotFound when the list is missing.
  virtual StatusOr<std::vector<ContactRow>> ListContacts(int64_t account_id,
                                                         const std::string& list_name,
                                                         const std::string& after, int limit) = 0;

  // Returns true when this is the first (message id, recipient, kind); the row is kept
  // only then.
  virtual StatusOr<bool> RecordEngagement(const EngagementRow& row) = 0;
  // Unique opens or clicks recorded for an account in [since, until), optionally for one
  // configuration set ("" for all).
  virtual StatusOr<int64_t> CountEngagement(int64_t account_id, const std::string& set,
                                            EngagementRow::Kind kind, SysTime since,
                                            SysTime until) = 0;
};

}  // namespace herald::store
