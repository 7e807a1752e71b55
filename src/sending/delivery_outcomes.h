// sending/delivery_outcomes.h: turns the delivery engine's decisions into SES events
// (Delivery, Bounce, DeliveryDelay) and spool marks.
//
// Contract: Record() groups the decisions by message, reads each message's envelope back
// from the spool (its mail object goes into every event), publishes all the events of the
// call in one EventSink::Publish, and only then marks the final recipients done in one
// Spool::MarkDoneMany. A failure to publish leaves the recipients unmarked: they are
// delivered again after a restart (at-least-once, never lost). herald's own mail (account
// 0: identity verification) produces no events, only marks. After publishing, the
// Permanent bounces are reported to the OutcomeObserver, if one is set.
// Events: one per recipient. Delivery {timestamp, processingTimeMillis, recipients,
// smtpResponse, reportingMTA, remoteMtaIp}; Bounce {feedbackId, bounceType,
// bounceSubType, bouncedRecipients[{emailAddress, action, status, diagnosticCode}],
// timestamp, reportingMTA "dsn; HOST", remoteMtaIp}; DeliveryDelay {delayType,
// delayedRecipients[{emailAddress, status, diagnosticCode}], expirationTime, reportingMTA,
// timestamp} (ses-reference.md section 4).
// Thread-safety: Record() is safe from any thread (the sink and the spool are).
// Trust: diagnostics come from remote servers; they are JSON-escaped, never interpreted.
#pragma once

#include <string>
#include <vector>

#include "base/clock.h"
#include "delivery/engine.h"
#include "events/event_sink.h"
#include "sending/outcome_observer.h"
#include "spool/spool.h"

namespace herald::sending {

class DeliveryOutcomeRecorder final : public delivery::OutcomeSink {
 public:
  DeliveryOutcomeRecorder(std::string hostname, Clock& clock, spool::Spool& spool,
                          events::EventSink& events)
      : hostname_(std::move(hostname)), clock_(clock), spool_(spool), events_(events) {}

  void Record(const std::vector<delivery::Decision>& decisions) override;

  // Set once, before Record(): told about the hard bounces of each Record() call once their
  // events are published.
  void SetOutcomeObserver(OutcomeObserver* observer) { observer_ = observer; }

 private:
  const std::string hostname_;
  Clock& clock_;
  spool::Spool& spool_;
  events::EventSink& events_;
  OutcomeObserver* observer_ = nullptr;
};

}  // namespace herald::sending
