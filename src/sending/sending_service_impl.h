// sending/sending_service_impl.h: the SendingService over the store, the spool and the
// event sink; also the CredentialLookup over the store.
//
// Contract: see sending_service.h. A message that names a configuration set (the
// ConfigurationSetName field, else its X-SES-CONFIGURATION-SET header) is refused when the
// account has no set of that name (kConfigSetNotFound) or the set's sending is disabled
// (kConfigSetPaused); otherwise its mail object gets the ses:configuration-set tag and its
// envelope the set's delivery options, which reach QueuedDelivery at submission and at
// Recover(). Suppression: after validation, one store lookup finds the non-simulator
// recipients on the account's suppression list (matched case-insensitively; an entry stops
// the send only when the account's SuppressedReasons name its reason), and one more finds
// the others on the global list (when enabled). They are accepted and counted against the
// rate and the daily quota, but not delivered: each gets its event (SuppressionEvent) in
// the message's event job and is marked done like a simulator recipient; OnSend() flags
// the account-list ones `suppressed` (not eligible), and the global-list ones are reported
// as hard bounces of subtype Suppressed through OnOutcomes() once their events are
// published. What acceptance decided is kept in the envelope.
// Recover() is called once at start, before any Submit(): it replays the simulator and
// suppression outcomes of recipients a crash left unfinished (their events may then appear
// twice; consumers de-duplicate on the recipient and type; global-list bounces are reported
// to the observer again) and returns how many messages stay queued for delivery.
// Thread-safety: Submit() is safe from any thread; the rate buckets are behind one mutex
// held only for arithmetic.
// Trust: as sending_service.h.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "events/event_sink.h"
#include "mail/virus_scan.h"
#include "sending/outcome_observer.h"
#include "sending/sending_service.h"
#include "sending/simulator.h"
#include "sending/suppression.h"
#include "spool/spool.h"
#include "store/store.h"

namespace herald::sending {

struct SendingConfig {
  std::string region = "us-east-1";
  std::string hostname = "localhost";
  int64_t sandbox_max_24h_send = 200;
  double sandbox_max_send_rate = 1;
  int64_t production_max_24h_send = 50000;
  double production_max_send_rate = 14;
  int64_t max_recipients = 50;
  int64_t max_message_bytes = 40 * 1024 * 1024;
  // Stop recipients on the global suppression list ([suppression] global_enabled).
  bool global_suppression_enabled = true;
};

// Engagement tracking and subscription management on the send path.
struct EngagementSettings {
  // Where herald's /t/ and /u/ endpoints are reached when a configuration set names no
  // CustomRedirectDomain, e.g. "http://127.0.0.1:8080" (no trailing '/'). A function: the
  // HTTP listener's address may be known only once it is bound. Safe from any thread.
  std::function<std::string()> base_url;
  // The current token key (mail/tracking.h). Empty: no tracking and no unsubscribe links
  // (ListManagementOptions is then refused as a temporary failure).
  std::string key;
};

// SES-style 12-digit account number for an account id.
std::string SendingAccountId(int64_t account_id);

// A new SES-shaped message id: 16 hex digits (0100 + milliseconds), a UUID, "-000000".
std::string NewMessageId(SysTime now);

// A message for the delivery engine: the recipients that leave by SMTP (not the simulator).
struct QueuedDelivery {
  std::string message_id;
  int64_t account_id = 0;
  SysTime accepted;
  std::vector<std::pair<uint32_t, std::string>> recipients;  // spool index, address
  std::string configuration_set;                             // empty: none
  // The configuration set's DeliveryOptions, as they were when the message was accepted
  // (kept in the spooled envelope, so a set changed or deleted later does not matter):
  // TlsPolicy REQUIRE (a host that offers no TLS is a temporary failure, retried) and
  // MaxDeliverySeconds counted from `accepted` (0: the engine's default, SES's 50,400).
  bool require_tls = false;
  std::chrono::seconds max_delivery{0};
};
using DeliveryHook = std::function<void(QueuedDelivery)>;

// The acceptance time encoded in a herald message id (NewMessageId); nullopt otherwise.
std::optional<SysTime> MessageIdTime(std::string_view message_id);

class SendingServiceImpl final : public SendingService {
 public:
  SendingServiceImpl(const SendingConfig& config, Clock& clock, store::Store& store,
                     spool::Spool& spool, events::EventSink& events);

  ~SendingServiceImpl() override;  // flushes the send counts

  SubmitResult Submit(const Submission& submission) override;
  StatusOr<int64_t> SentLast24Hours(int64_t account_id) override;

  // Writes the send counts not yet in the store (at most a second's worth is held back;
  // a crash can lose that second, making the 24-hour count err low by it).
  Status FlushSendCounts();

  // Set once, before Recover() and Submit(): where accepted messages go for delivery. The
  // hook must not block (it is called before the reply).
  void SetDeliveryHook(DeliveryHook hook) { delivery_hook_ = std::move(hook); }

  // Set once, before Submit(): told about every accepted message (OnSend), after it is
  // durable and before the reply; it must not block. Recover() does not tell it again.
  void SetOutcomeObserver(OutcomeObserver* observer) { observer_ = observer; }

  // Set once, before Submit(): every message is scanned before it is stored. An infected
  // one (or one too intricate to scan completely) is accepted and not sent: a Reject event
  // {"reason": "Bad content"} is published instead, as SES does. When the scanner is
  // unavailable the message is accepted unscanned with `fail_open`, else refused with a
  // temporary failure. nullptr: no scanning.
  void SetVirusScanner(mail::VirusScanner* scanner, bool fail_open) {
    scanner_ = scanner;
    scan_fail_open_ = fail_open;
  }

  // Set once, before Submit(). A message whose configuration set has an enabled event
  // destination matching OPEN gets the open pixel, CLICK its links rewritten (SES tracks
  // only then); the set's TrackingOptions choose the host (CustomRedirectDomain, with
  // https when HttpsPolicy is REQUIRE, https for the pixel only with REQUIRE_OPEN_ONLY,
  // http with OPTIONAL), else settings.base_url. Tracking happens before the message is
  // spooled, so the spooled bytes (and the DKIM signature made at delivery) cover it.
  void SetEngagement(EngagementSettings settings) { engagement_ = std::move(settings); }

  // Replays unfinished simulator recipients and hands the other unfinished recipients to
  // the delivery hook; returns the number of messages queued for delivery.
  StatusOr<int64_t> Recover();

  // Blocks until every accepted message's events are published (or failed). For tests and
  // for an orderly stop.
  void WaitForEvents();

 private:
  // Whether `address` (canonical) is covered by a verified identity of the account.
  bool IsVerified(int64_t account_id, const std::string& address);
  // Marks in `hits` the recipients the suppression lists stop (one store lookup per list);
  // a Rejection when the store cannot answer.
  std::optional<Rejection> CheckSuppression(const store::Account& account,
                                            const std::vector<std::string>& recipients,
                                            const std::vector<SimOutcome>& outcomes, SysTime now,
                                            std::vector<std::optional<SuppressionHit>>* hits);
  // List management: whether the single recipient receives the list's (topic's) mail,
  // creating the contact when it is not on the list; a Rejection for a missing list or
  // topic or a store failure.
  std::variant<bool, Rejection> CheckListManagement(const store::Account& account,
                                                    const Submission::ListManagement& lm,
                                                    const std::string& recipient, SysTime now);
  // The tracking and unsubscribe rewrite of `message` (unchanged when there is none to do).
  StatusOr<std::string> AddEngagement(std::string message, const store::Account& account,
                                      const store::ConfigurationSet* set,
                                      const std::string& message_id,
                                      const std::vector<std::string>& recipients,
                                      const std::string& unsubscribe_url, SysTime now);
  // Token bucket with debt (SES lets a burst through, then refuses until it is paid back).
  bool TakeRateTokens(int64_t account_id, double rate, int64_t n);
  // Counts `n` recipients against the rolling daily quota if they fit: false when not.
  StatusOr<bool> ReserveQuota(int64_t account_id, SysTime now, int64_t daily, int64_t n);
  void ReleaseQuota(int64_t account_id, int64_t n);

  // Events are published off the reply path: Submit() replies once the message is in the
  // spool, and one publisher thread appends the events of many messages with one fsync,
  // then marks them done in the spool. Each spooled message has one extra "recipient"
  // (index = recipient count) that stands for "events published": a crash before it is
  // marked makes Recover() publish them again (at least once, never lost).
  struct EventJob {
    std::string message_id;
    std::string lines;
    std::vector<uint32_t> done;
    std::vector<OutcomeFacts> outcomes;  // reported to the observer once published
  };
  void PublisherLoop();
  void PublishJobs(std::vector<EventJob>& jobs);

  const SendingConfig config_;
  DeliveryHook delivery_hook_;
  OutcomeObserver* observer_ = nullptr;
  mail::VirusScanner* scanner_ = nullptr;
  EngagementSettings engagement_;
  bool scan_fail_open_ = false;
  Clock& clock_;
  store::Store& store_;
  spool::Spool& spool_;
  events::EventSink& events_;

  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last;
  };
  struct QuotaCount {
    bool loaded = false;
    int64_t store_count = 0;  // 24-hour sum in the store at `refreshed`
    int64_t unflushed = 0;    // counted here, not yet written
    SysTime unflushed_at;     // when the first of them was counted
    SysTime refreshed;
  };
  std::mutex count_mu_;
  std::map<int64_t, QuotaCount> counts_;  // guarded by count_mu_

  std::mutex rate_mu_;
  std::map<int64_t, Bucket> buckets_;  // guarded by rate_mu_

  std::mutex pub_mu_;
  std::condition_variable pub_cv_;   // jobs arrived or stopping
  std::condition_variable idle_cv_;  // the publisher finished a round
  std::deque<EventJob> jobs_;        // guarded by pub_mu_
  size_t in_flight_ = 0;             // guarded by pub_mu_
  bool stopping_ = false;            // guarded by pub_mu_
  std::thread publisher_;
};

class StoreCredentialLookup final : public CredentialLookup {
 public:
  StoreCredentialLookup(store::Store& store, std::string region)
      : store_(store), region_(std::move(region)) {}
  std::optional<Key> LookupAccessKey(const std::string& access_key_id) override;
  std::optional<Principal> AuthenticateSmtp(const std::string& user,
                                            const std::string& password) override;

 private:
  store::Store& store_;
  const std::string region_;
};

}  // namespace herald::sending
