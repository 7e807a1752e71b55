// sending/identity_notifier.h: IdentityNotifier, the EventSink decorator that turns Bounce,
// Complaint and Delivery events into SES identity notifications (ses-reference.md section
// 4): SNS-style notifications in the `notificationType` shape for the identity's topics,
// and email feedback forwarding of bounces and complaints to the sender.
//
// Contract: Publish(lines) looks at each event line of the batch. For a Bounce, Complaint
// or Delivery event it finds the identity that governs the message: the e-mail address
// identity of mail.source when the account has one, else the account's domain identity for
// its domain or nearest parent (SES: address settings override domain settings). When that
// identity has a topic for the type, a notification line is added to the batch:
//   {"notificationType": T, "mail": M, "<bounce|complaint|delivery>": detail,
//    "eventId": <derived from the event's eventId, so stable across a retried batch>,
//    "heraldTopicArn": <the topic>}
// where M is the event's mail object without tags, with sourceIp and callerIdentity (from
// the ses:source-ip and ses:caller-identity tags), and without headers, headersTruncated
// and commonHeaders unless the identity includes headers for that type. The dispatcher
// delivers these lines to the topic's subscribers (without heraldTopicArn and eventId).
// When feedback forwarding applies to a Bounce or Complaint (the identity's
// feedback_forwarding, which is on for an identity that does not exist any more), the
// FeedbackForwarder is called first, with the event and the mail object's
// feedbackForwardingEmailAddress (SESv2 FeedbackForwardingEmailAddress, v1 ReturnPath),
// else mail.source. Then the whole batch
// (original lines first) goes to the inner sink in one Publish. A forwarder or store
// failure that may pass (kUnavailable, kResourceExhausted, kInternal) fails the Publish,
// so that the caller retries the batch later (at-least-once); an event that cannot be
// forwarded at all (kInvalidArgument) is logged and published anyway.
// Thread-safety: as the inner sink, the store and the forwarder (all must be thread-safe).
// Trust: the lines are herald's own events, read defensively (malformed lines are passed
// through untouched); the values inside came from clients and peers and stay JSON-escaped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "events/event_sink.h"
#include "store/store.h"

namespace herald::sending {

// Sends one Bounce or Complaint event to `to` as mail (a DSN or an ARF report).
class FeedbackForwarder {
 public:
  virtual ~FeedbackForwarder() = default;
  virtual Status Forward(const nlohmann::json& event, const std::string& to) = 0;
};

// The notification JSON (without herald's routing members) for one event, or null when the
// event is not a Bounce, Complaint or Delivery. Exposed for tests.
nlohmann::json NotificationFor(const nlohmann::json& event, bool include_headers);

class IdentityNotifier final : public events::EventSink {
 public:
  // `forwarder` may be null (no forwarding). References must outlive the notifier.
  IdentityNotifier(events::EventSink& inner, store::Store& store, FeedbackForwarder* forwarder)
      : inner_(inner), store_(store), forwarder_(forwarder) {}

  Status Publish(const std::string& json_lines) override;

 private:
  events::EventSink& inner_;
  store::Store& store_;
  FeedbackForwarder* forwarder_;
};

}  // namespace herald::sending
