// sending/feedback_service.h: what happens to mail that reaches herald's feedback MX:
// which recipients it is taken for, where it is kept, and how it becomes SES events.
//
// Contract:
//   FeedbackProcessor::Process(message) parses it (feedback::ParseFeedback, injectable),
//   correlates it (sending/feedback_correlator.h) and publishes its events in one
//   EventSink::Publish, each carrying the original message's "mail" object:
//     - a bounce (kBounce, kUndetermined): one Bounce event per correlated message and
//       (bounceType, bounceSubType) pair, with bouncedRecipients [{emailAddress, action,
//       status, diagnosticCode}], bounceType/bounceSubType exactly as the classifier's
//       Verdict says (Undetermined when the report has no entry for a recipient),
//       feedbackId (new), timestamp (when the report arrived), reportingMTA ("dns; host"
//       as the report gives it) and remoteMtaIp when the report names the remote MTA by IP.
//       Entries whose action is "delayed" (the remote side still tries) make no Bounce but
//       one DeliveryDelay event per correlated message and delayType (Verdict::delay_type,
//       "Undetermined" when empty): delayedRecipients [{emailAddress, status,
//       diagnosticCode}], reportingMTA as for a Bounce, timestamp (when the report
//       arrived), and no expirationTime: herald handed the message over, so its own queue
//       lifetime says nothing about how long the remote MTA keeps trying, and the report
//       does not carry the remote's limit. A report with failed and delayed entries makes
//       both kinds of event, each for its own recipients;
//     - a complaint: one Complaint event per message, complainedRecipients [{emailAddress}],
//       complaintFeedbackType, userAgent, arrivalDate (ISO 8601, when the report's date
//       parses) when the report has them, complaintSubType null, feedbackId, timestamp;
//     - an auto-reply: never a bounce; one "AutoReply" event (herald's own type, not an
//       SES one) {feedbackId, timestamp, recipients [{emailAddress}], from, subject};
//     - a DSN reporting delivery, or mail that is no feedback: no event.
//   Anything that should have been tied to a message and was not is an orphan, with the
//   correlator's reason. Process() fails only when publishing failed (the message stays
//   in the inbox and is processed again after a restart).
//   FeedbackService: CheckRecipient() is the MX's RCPT policy: mail is taken for the
//   return-path domains (static, plus the identities' MAIL FROM domains from a source
//   re-read at most every dynamic_ttl) and any local part in them, except a local part
//   that looks like a VERP token and fails its MAC (550 5.1.1); any other domain gets
//   550 5.7.1 (herald is never a relay). Receive() stores the message durably (the MX
//   replies 250 only after it returned OK) and queues it; a worker thread started by
//   Start() processes the queue, and Start() first queues what an earlier run left.
//   Processed messages are removed, orphans are kept in the inbox (bounded), and every
//   outcome is counted (Counters(), CountersJson() for GET /_herald/admin/feedback) and
//   logged (one "feedback processed" line per message).
// Thread-safety: CheckRecipient, Receive and the counters are safe from any thread (the
//   MX's session threads); Start/Stop from the owner; ProcessQueued from one thread at a
//   time (the worker, or a test that did not Start()).
// Trust: the messages come from anyone on the internet; see feedback/report.h and the
//   correlator for what is believed. Report strings reach events JSON-escaped, and logs
//   through the JSON logger.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "events/event_sink.h"
#include "feedback/report.h"
#include "sending/feedback_correlator.h"
#include "sending/feedback_inbox.h"
#include "sending/outcome_observer.h"

namespace herald::sending {

// The outcome of one message, as counted and logged.
enum class FeedbackOutcome {
  kBounce,       // Bounce event(s) published
  kComplaint,    // Complaint event(s) published
  kAutoReply,    // an auto-reply (recorded, never a bounce)
  kDelivered,    // a DSN reporting success: dropped
  kDelayed,      // a bounce whose matched entries are all "delayed": DeliveryDelay event(s)
  kNotFeedback,  // ordinary mail: dropped
  kOrphan,       // feedback that names no message or recipient of herald's: kept
};
// "bounce", "complaint", "auto_reply", "delivered", "delayed", "not_feedback", "orphan".
const char* FeedbackOutcomeName(FeedbackOutcome outcome);

struct ProcessResult {
  FeedbackOutcome outcome = FeedbackOutcome::kNotFeedback;
  feedback::FeedbackKind kind = feedback::FeedbackKind::kNotFeedback;
  CorrelationMethod method = CorrelationMethod::kNone;
  std::string orphan_reason;             // kOrphan only
  size_t events = 0;                     // event lines published, of every type
  size_t recipients = 0;                 // recipients named in them
  size_t delay_events = 0;               // of those: DeliveryDelay events
  size_t delayed_recipients = 0;         // and the recipients named in these
  std::vector<std::string> message_ids;  // correlated messages
  std::string format;                    // Report::format
};

class FeedbackProcessor {
 public:
  using Parser = std::function<feedback::Report(std::string_view)>;
  FeedbackProcessor(const FeedbackCorrelator& correlator, events::EventSink& events,
                    Parser parser = feedback::ParseFeedback)
      : correlator_(correlator), events_(events), parser_(std::move(parser)) {}

  StatusOr<ProcessResult> Process(const InboundFeedback& message) const;

  // Set once, before Process(): told about the Permanent bounces and the complaints of each
  // processed message once its events are published.
  void SetOutcomeObserver(OutcomeObserver* observer) { observer_ = observer; }

 private:
  const FeedbackCorrelator& correlator_;
  events::EventSink& events_;
  Parser parser_;
  OutcomeObserver* observer_ = nullptr;
};

struct FeedbackCounters {
  uint64_t received = 0;            // messages stored (250 sent)
  uint64_t refused_recipients = 0;  // RCPTs refused
  uint64_t store_failures = 0;      // messages not stored (451 sent)
  uint64_t bounce = 0;              // messages by outcome ...
  uint64_t complaint = 0;
  uint64_t auto_reply = 0;
  uint64_t delivered = 0;
  uint64_t delayed = 0;
  uint64_t not_feedback = 0;
  uint64_t orphan = 0;
  uint64_t failed = 0;         // processing failed (left for the next start)
  uint64_t bounce_events = 0;  // events published
  uint64_t bounced_recipients = 0;
  uint64_t delay_events = 0;  // DeliveryDelay, from reports that are all or partly "delayed"
  uint64_t delayed_recipients = 0;
  uint64_t complaint_events = 0;
  uint64_t complained_recipients = 0;
  uint64_t by_verp = 0;  // correlated messages by method
  uint64_t by_message_id = 0;
  uint64_t by_recipient_time = 0;
};

struct FeedbackServiceConfig {
  std::vector<std::string> domains;  // return-path and feedback domains (any case)
  std::string verp_secret;           // to refuse forged VERP local parts at RCPT
  std::chrono::seconds dynamic_ttl = std::chrono::seconds(60);
};

// Identities' custom MAIL FROM domains (or any other domains known only at run time).
using DomainSource = std::function<StatusOr<std::vector<std::string>>()>;

class FeedbackService {
 public:
  FeedbackService(FeedbackServiceConfig config, Clock& clock, FeedbackInbox& inbox,
                  const FeedbackProcessor& processor, DomainSource dynamic_domains = nullptr);
  ~FeedbackService();
  FeedbackService(const FeedbackService&) = delete;
  FeedbackService& operator=(const FeedbackService&) = delete;

  // "" to take mail for `address`, else the refusal reply.
  std::string CheckRecipient(const std::string& address);
  // Stores `message` durably (setting its id and arrival time) and queues it. OK: reply 250.
  Status Receive(InboundFeedback& message);
  // Queues the messages an earlier run left, then starts the worker.
  Status Start();
  // Stops the worker after the message in progress; the queue stays in the inbox.
  void Stop();
  // Queues what is in the inbox and not queued yet (Start() does this; for tests).
  Status QueuePending();
  // Processes every queued message on the calling thread; returns how many.
  size_t ProcessQueued();

  FeedbackCounters Counters() const;
  nlohmann::json CountersJson() const;

 private:
  bool OwnDomain(const std::string& domain);
  void ProcessOne(const std::string& id);
  void WorkerLoop();

  const FeedbackServiceConfig config_;
  Clock& clock_;
  FeedbackInbox& inbox_;
  const FeedbackProcessor& processor_;
  DomainSource dynamic_source_;
  std::set<std::string> static_domains_;

  std::mutex domains_mu_;
  std::set<std::string> dynamic_domains_;                  // guarded by domains_mu_
  std::chrono::steady_clock::time_point dynamic_expires_;  // guarded by domains_mu_
  bool dynamic_loaded_ = false;                            // guarded by domains_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  std::set<std::string> queued_;   // guarded by mu_: ids in queue_ or in progress
  bool stopping_ = false;          // guarded by mu_
  bool started_ = false;           // guarded by mu_: the worker runs
  FeedbackCounters counters_;      // guarded by mu_
  std::thread worker_;
};

}  // namespace herald::sending
