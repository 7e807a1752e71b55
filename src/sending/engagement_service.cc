#include "sending/engagement_service.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "base/log.h"
#include "sending/sending_service_impl.h"
#include "sending/ses_events.h"
#include "store/publishing_store.h"

namespace herald::sending {
namespace {

using nlohmann::json;

Status Refused() { return PermissionDeniedError("invalid or expired link"); }

// SES's preferences object: every topic of the list with what the contact now gets.
json Preferences(const store::ContactListRow& list, const store::ContactRow& contact) {
  json topics = json::array();
  for (const auto& topic : list.topics) {
    bool in = topic.default_opt_in;
    for (const auto& [name, opted_in] : contact.topic_preferences) {
      if (name == topic.name) in = opted_in;
    }
    topics.push_back({{"topicName", topic.name}, {"subscriptionStatus", in ? "OptIn" : "OptOut"}});
  }
  return {{"unsubscribeAll", contact.unsubscribe_all}, {"topicSubscriptionStatus", topics}};
}

std::string TopicOf(const mail::TrackingToken& t) {
  for (const auto& [name, value] : t.link_tags) {
    if (name == "topic") return value;
  }
  return "";
}

UnsubscribeView ViewOf(const store::ContactListRow& list, const store::ContactRow& contact,
                       const std::string& topic) {
  UnsubscribeView v;
  v.email = contact.email;
  v.contact_list = list.name;
  v.topic = topic;
  v.topic_display_name = topic;
  for (const auto& t : list.topics) {
    if (t.name == topic && !t.display_name.empty()) v.topic_display_name = t.display_name;
  }
  v.unsubscribed_all = contact.unsubscribe_all;
  v.topic_opted_out = !store::ContactWantsTopic(list, contact, topic);
  return v;
}

}  // namespace

EngagementService::EngagementService(EngagementConfig config, Clock& clock,
                                     store::AudienceStore& store, SentMessageLookup* sent,
                                     events::EventSink& events)
    : config_(std::move(config)), clock_(clock), store_(store), sent_(sent), events_(events) {}

namespace {

// Opens `sealed` as a token of `kind` and finds its account: kPermissionDenied otherwise.
StatusOr<std::pair<mail::TrackingToken, int64_t>> OpenAs(std::string_view sealed,
                                                         mail::TrackingToken::Kind kind,
                                                         const EngagementConfig& config,
                                                         SysTime now) {
  StatusOr<mail::TrackingToken> t =
      mail::OpenToken(sealed, config.keys, UnixMillis(now) / 1000, config.max_token_age_seconds);
  if (!t.ok() || t->kind != kind) return Refused();
  std::optional<int64_t> account = store::AccountIdOfNumber(t->account_id);
  if (!account) return Refused();
  return std::make_pair(*std::move(t), *account);
}

}  // namespace

json EngagementService::MailFor(const mail::TrackingToken& t) {
  if (sent_ != nullptr) {
    if (SentMessagePtr m = sent_->Find(t.message_id)) {
      json mail = json::parse(m->mail_json, nullptr, /*allow_exceptions=*/false);
      if (mail.is_object()) return mail;
    }
  }
  json mail = {{"messageId", t.message_id},
               {"source", ""},
               {"sendingAccountId", t.account_id},
               {"destination", t.recipient.empty() ? json::array() : json::array({t.recipient})},
               {"tags", json::object()}};
  if (std::optional<SysTime> at = MessageIdTime(t.message_id)) {
    mail["timestamp"] = FormatIso8601Millis(*at);
  }
  if (!t.configuration_set.empty()) {
    mail["tags"]["ses:configuration-set"] = json::array({t.configuration_set});
  }
  return mail;
}

Status EngagementService::Open(std::string_view token, const Visit& visit) {
  const SysTime now = clock_.Now();
  ASSIGN_OR_RETURN(auto opened, OpenAs(token, mail::TrackingToken::kOpen, config_, now));
  const auto& [t, account_id] = opened;
  store::EngagementRow row{account_id,  t.configuration_set,         t.message_id,
                           t.recipient, store::EngagementRow::kOpen, now};
  ASSIGN_OR_RETURN(bool first, store_.RecordEngagement(row));
  (void)first;  // every open is an event; the store counts the unique ones
  json detail = {{"ipAddress", visit.ip},
                 {"timestamp", FormatIso8601Millis(now)},
                 {"userAgent", ToValidUtf8(visit.user_agent)}};
  return events_.Publish(EventLine("Open", MailFor(t), "open", detail));
}

StatusOr<std::string> EngagementService::Click(std::string_view token, const Visit& visit) {
  const SysTime now = clock_.Now();
  ASSIGN_OR_RETURN(auto opened, OpenAs(token, mail::TrackingToken::kClick, config_, now));
  const auto& [t, account_id] = opened;
  store::EngagementRow row{account_id,  t.configuration_set,          t.message_id,
                           t.recipient, store::EngagementRow::kClick, now};
  ASSIGN_OR_RETURN(bool first, store_.RecordEngagement(row));
  (void)first;
  json tags = json::object();
  for (const auto& [name, value] : t.link_tags) tags[name].push_back(value);
  json detail = {{"ipAddress", visit.ip},
                 {"timestamp", FormatIso8601Millis(now)},
                 {"userAgent", ToValidUtf8(visit.user_agent)},
                 {"link", ToValidUtf8(t.link)},
                 {"linkTags", tags}};
  RETURN_IF_ERROR(events_.Publish(EventLine("Click", MailFor(t), "click", detail)));
  return t.link;
}

StatusOr<UnsubscribeView> EngagementService::ShowUnsubscribe(std::string_view token) {
  const SysTime now = clock_.Now();
  ASSIGN_OR_RETURN(auto opened, OpenAs(token, mail::TrackingToken::kUnsubscribe, config_, now));
  const auto& [t, account_id] = opened;
  ASSIGN_OR_RETURN(store::ContactListRow list, store_.GetContactList(account_id, t.link));
  StatusOr<store::ContactRow> contact = store_.GetContact(account_id, t.link, t.recipient);
  if (!contact.ok() && contact.status().code() != StatusCode::kNotFound) return contact.status();
  store::ContactRow c;
  if (contact.ok()) {
    c = *std::move(contact);
  } else {
    c.email = t.recipient;
  }
  return ViewOf(list, c, TopicOf(t));
}

StatusOr<UnsubscribeView> EngagementService::Unsubscribe(std::string_view token, bool all,
                                                         bool one_click, const Visit& visit) {
  const SysTime now = clock_.Now();
  ASSIGN_OR_RETURN(auto opened, OpenAs(token, mail::TrackingToken::kUnsubscribe, config_, now));
  const auto& [t, account_id] = opened;
  const std::string topic = TopicOf(t);
  ASSIGN_OR_RETURN(store::ContactListRow list, store_.GetContactList(account_id, t.link));
  StatusOr<store::ContactRow> found = store_.GetContact(account_id, t.link, t.recipient);
  if (!found.ok() && found.status().code() != StatusCode::kNotFound) return found.status();
  const bool exists = found.ok();
  store::ContactRow contact;
  if (exists) {
    contact = *std::move(found);
  } else {
    contact.account_id = account_id;
    contact.list_name = t.link;
    contact.email = t.recipient;
    contact.created = now;
  }
  const store::ContactRow before = contact;
  const bool topic_known = std::any_of(list.topics.begin(), list.topics.end(),
                                       [&](const auto& lt) { return lt.name == topic; });
  if (all || topic.empty() || !topic_known) {
    contact.unsubscribe_all = true;
  } else {
    auto& prefs = contact.topic_preferences;
    auto it =
        std::find_if(prefs.begin(), prefs.end(), [&](const auto& p) { return p.first == topic; });
    if (it == prefs.end()) {
      prefs.emplace_back(topic, false);
    } else {
      it->second = false;
    }
  }
  const json old_prefs = Preferences(list, before);
  const json new_prefs = Preferences(list, contact);
  if (exists && old_prefs == new_prefs) return ViewOf(list, contact, topic);  // already so
  contact.updated = now;
  if (exists) {
    RETURN_IF_ERROR(store_.UpdateContact(contact));
  } else {
    Status st = store_.CreateContact(contact);
    // Created meanwhile by someone else: write over it.
    if (st.code() == StatusCode::kAlreadyExists) st = store_.UpdateContact(contact);
    RETURN_IF_ERROR(st);
  }
  json detail = {{"contactList", list.name},
                 {"timestamp", FormatIso8601Millis(now)},
                 {"source", one_click ? "UnsubscribeHeader" : "UnsubscribeLink"},
                 {"newTopicPreferences", new_prefs},
                 {"oldTopicPreferences", old_prefs}};
  Status es = events_.Publish(EventLine("Subscription", MailFor(t), "subscription", detail));
  if (!es.ok()) {
    // The choice is kept; only its event is lost. Said loudly, not hidden from the caller.
    LogError("subscription event not published",
             {{"message_id", t.message_id}, {"error", es.ToString()}, {"ip", visit.ip}});
  }
  return ViewOf(list, contact, topic);
}

}  // namespace herald::sending
