// sending/engagement_service.h: the Engagement (sending/engagement.h) over the tracking
// keys, the store, the sent-message index and the event sink.
//
// Contract: as engagement.h. Tokens are opened with every configured key (the current
// one first, then older ones kept for rotation) and refused once older than
// max_token_age (negative: never). An Open or Click event carries the message's "mail"
// object as its Send event had it, found in the SentMessageLookup; when the index has
// forgotten the message (it is bounded, and memory only), a smaller mail object is built
// from the token (messageId, timestamp from the id, sendingAccountId, the recipient, the
// ses:configuration-set tag), which still routes the event to its destinations. The
// event's detail is SES's: open {ipAddress, timestamp, userAgent}; click adds link and
// linkTags {name: [value]}; subscription {contactList, timestamp, source,
// newTopicPreferences, oldTopicPreferences}. An unsubscribe from a contact that no longer
// exists (deleted after the mail went out) recreates it, opted out, so that the choice
// holds.
// Thread-safety: safe from any thread; it keeps no mutable state of its own.
// Trust: see engagement.h. Keys are secrets and never logged.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "events/event_sink.h"
#include "mail/tracking.h"
#include "sending/engagement.h"
#include "sending/sent_index.h"
#include "store/audience_store.h"

namespace herald::sending {

struct EngagementConfig {
  std::vector<std::string> keys;  // current first; empty keys never match
  int64_t max_token_age_seconds = -1;
  std::string region = "us-east-1";
};

class EngagementService final : public Engagement {
 public:
  // `sent` may be null (every event then gets the smaller mail object).
  EngagementService(EngagementConfig config, Clock& clock, store::AudienceStore& store,
                    SentMessageLookup* sent, events::EventSink& events);

  Status Open(std::string_view token, const Visit& visit) override;
  StatusOr<std::string> Click(std::string_view token, const Visit& visit) override;
  StatusOr<UnsubscribeView> ShowUnsubscribe(std::string_view token) override;
  StatusOr<UnsubscribeView> Unsubscribe(std::string_view token, bool all, bool one_click,
                                        const Visit& visit) override;

 private:
  // The mail object of the token's message (see the contract).
  nlohmann::json MailFor(const mail::TrackingToken& t);

  const EngagementConfig config_;
  Clock& clock_;
  store::AudienceStore& store_;
  SentMessageLookup* sent_;
  events::EventSink& events_;
};

}  // namespace herald::sending
