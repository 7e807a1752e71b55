// store/publishing_store.h: what event publishing and templates keep: e-mail templates,
// configuration set event destinations, the delivery cursors of the event outbox, and
// herald's SNS-style topics with their HTTP(S) subscriptions.
//
// Contract: plain rows. Template and destination names are case-sensitive and unique per
// account (templates) or per configuration set (destinations). A destination belongs to a
// configuration set: deleting the set deletes its destinations and their cursors. The
// destination's own settings are kept as the JSON the API validated (`spec_json`), not
// parsed here. A cursor is a byte offset into herald's event log (events.jsonl) up to which
// one target of one destination has received every matching event; ("" is the target of
// single-target destinations, "sub:<id>" one SNS subscription). Topic names are unique per
// account; a subscription's token is unique. List* return rows in name order (templates,
// topics), id order (destinations, subscriptions).
// Errors: kAlreadyExists for a taken name, kNotFound for a missing row or its missing
// account/configuration set/topic, kInvalidArgument beyond the bounds below; storage
// failures as the implementation maps them (sqlite: kUnavailable, kDataLoss...).
// Thread-safety: implementations are safe from any thread.
// Trust: rows are written by the API after validation; bounds are checked again here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace herald::store {

struct EmailTemplate {
  int64_t account_id = 0;
  std::string name;  // 1..64 of [A-Za-z0-9_-] (IsTemplateName)
  std::string subject;
  std::string text;
  std::string html;
  std::string tags_json;  // [{"Key":..,"Value":..}] as given, "" for none
  SysTime created;
  SysTime updated;
};

struct EventDestinationRow {
  int64_t id = 0;  // assigned by CreateEventDestination
  int64_t account_id = 0;
  std::string configuration_set;
  std::string name;  // 1..64 of [A-Za-z0-9_-]
  bool enabled = false;
  // SES enum names, e.g. {"SEND", "BOUNCE"}.
  std::vector<std::string> matching_types;
  // "sns", "webhook", "kafka", "metrics", "firehose", "eventbridge" or "pinpoint".
  std::string kind;
  std::string spec_json;  // the destination's settings as the API accepted them
  SysTime created;
  SysTime updated;
};

struct Topic {
  int64_t id = 0;  // assigned by CreateTopic
  int64_t account_id = 0;
  std::string name;  // 1..256 of [A-Za-z0-9_-] (SNS's rule)
  SysTime created;
};

struct TopicSubscription {
  int64_t id = 0;  // assigned by CreateSubscription
  int64_t topic_id = 0;
  std::string endpoint;  // http:// or https:// URL
  std::string token;     // confirmation token (random, unique)
  bool confirmed = false;
  // Notifications carry the raw event instead of the SNS envelope (SNS's
  // RawMessageDelivery attribute).
  bool raw = false;
  // The size of the event log when it was confirmed: it receives the events published
  // after that (and after its destination was created), never older ones.
  uint64_t start_offset = 0;
  SysTime created;
};

inline constexpr size_t kMaxTemplateNameLength = 64;
inline constexpr size_t kMaxTemplatePartLength = 500 * 1024;  // SES: 500 KB per template
inline constexpr size_t kMaxTopicNameLength = 256;
inline constexpr size_t kMaxEndpointLength = 2048;
inline constexpr size_t kMaxDestinationSpecLength = 16 * 1024;

// arn:aws:sns:<region>:<account number>:<topic>.
std::string TopicArn(const std::string& region, int64_t account_id, const std::string& topic);
// A subscription's ARN: <topic ARN>:<UUID-shaped id derived from its token> (stable, and
// revealing nothing of the token).
std::string SubscriptionArn(const std::string& topic_arn, const std::string& token);
// The account id of an SES-style 12-digit account number (store::AccountNumber), or
// nullopt when `number` is not one.
std::optional<int64_t> AccountIdOfNumber(std::string_view number);

bool IsTemplateName(std::string_view name);
bool IsTopicName(std::string_view name);
Status ValidateTemplate(const EmailTemplate& t);
Status ValidateEventDestination(const EventDestinationRow& d);

class PublishingStore {
 public:
  virtual ~PublishingStore() = default;

  virtual Status CreateTemplate(const EmailTemplate& t) = 0;
  virtual StatusOr<EmailTemplate> GetTemplate(int64_t account_id, const std::string& name) = 0;
  // Replaces subject, text, html and updated (kNotFound when missing).
  virtual Status UpdateTemplate(const EmailTemplate& t) = 0;
  virtual Status DeleteTemplate(int64_t account_id, const std::string& name) = 0;
  // Names after `after`, at most `limit` (clamped to kMaxListLimit).
  virtual StatusOr<std::vector<EmailTemplate>> ListTemplates(int64_t account_id,
                                                             const std::string& after,
                                                             int limit) = 0;

  // Creates the destination with every cursor at `start_offset` (events published before the
  // destination existed are not sent to it). Returns the new id.
  virtual StatusOr<int64_t> CreateEventDestination(const EventDestinationRow& d,
                                                   uint64_t start_offset) = 0;
  // Replaces enabled, matching_types, kind, spec_json and updated, found by
  // (account, set, name); cursors are kept.
  virtual Status UpdateEventDestination(const EventDestinationRow& d) = 0;
  virtual Status DeleteEventDestination(int64_t account_id, const std::string& set,
                                        const std::string& name) = 0;
  // One configuration set's destinations (kNotFound when the set is missing).
  virtual StatusOr<std::vector<EventDestinationRow>> ListEventDestinations(
      int64_t account_id, const std::string& set) = 0;
  // Every destination of every account (the dispatcher's view).
  virtual StatusOr<std::vector<EventDestinationRow>> ListAllEventDestinations() = 0;

  // The cursor of one target; `fallback` when the target has none yet (it is not stored).
  virtual StatusOr<uint64_t> GetCursor(int64_t destination_id, const std::string& target,
                                       uint64_t fallback) = 0;
  // kNotFound when the destination is gone.
  virtual Status SetCursor(int64_t destination_id, const std::string& target, uint64_t offset) = 0;
  // A topic subscription's own cursor for identity notifications: the byte offset up to
  // which it has received the notification lines for its topic; `fallback` before the
  // first SetSubscriptionCursor. kNotFound when the subscription is gone (its cursor goes
  // with it).
  virtual StatusOr<uint64_t> GetSubscriptionCursor(int64_t subscription_id, uint64_t fallback) = 0;
  virtual Status SetSubscriptionCursor(int64_t subscription_id, uint64_t offset) = 0;

  virtual StatusOr<int64_t> CreateTopic(const Topic& t) = 0;
  virtual StatusOr<Topic> GetTopic(int64_t account_id, const std::string& name) = 0;
  virtual StatusOr<std::vector<Topic>> ListTopics(int64_t account_id) = 0;
  // Deletes its subscriptions too.
  virtual Status DeleteTopic(int64_t account_id, const std::string& name) = 0;

  virtual StatusOr<int64_t> CreateSubscription(const TopicSubscription& s) = 0;
  virtual StatusOr<TopicSubscription> GetSubscription(int64_t id) = 0;
  virtual StatusOr<TopicSubscription> FindSubscriptionByToken(const std::string& token) = 0;
  // Marks it confirmed, receiving the events after `start_offset` (kept when it already
  // was confirmed).
  virtual Status ConfirmSubscription(int64_t id, uint64_t start_offset) = 0;
  virtual Status DeleteSubscription(int64_t id) = 0;
  virtual StatusOr<std::vector<TopicSubscription>> ListSubscriptions(int64_t topic_id) = 0;
  // Every unconfirmed subscription of every account, with its topic, in id order.
  virtual StatusOr<std::vector<std::pair<Topic, TopicSubscription>>> ListPendingSubscriptions() = 0;
};

}  // namespace herald::store
