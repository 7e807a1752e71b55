// publishing/event_dispatcher.h: EventDispatcher, the durable outbox that carries the
// events in herald's event log (events.jsonl) to configuration set event destinations.
//
// Contract: the event log is the outbox. Every delivery target keeps a cursor (a byte
// offset into the log, in the store) up to which it has received every matching event; a
// pass reads the complete lines after the cursor, sends the ones that match, and moves the
// cursor past what was sent, so nothing is lost across a restart or while a receiver is
// down, and an event may arrive twice only when herald stopped between sending it and
// saving the cursor (at-least-once; each event carries its stable "eventId"). A line
// matches a destination when the destination is enabled, its mail.sendingAccountId is the
// destination's account, its ses:configuration-set tag is the destination's set and its
// eventType is one of the destination's MatchingEventTypes.
// Targets:
//  - SnsDestination: each confirmed subscription of the named herald topic is a target of
//    its own ("sub:<id>"), starting at the log's end when it is first seen. An SNS
//    subscription receives the signed SNS envelope (MessageId = the eventId); a webhook
//    subscription the raw event JSON with an X-Herald-Signature HMAC keyed by its token.
//    A 2xx reply is a delivery; anything else, or no reply, is a failure.
//  - KinesisFirehoseDestination / EventBridgeDestination: the Kafka topic named by the
//    ARN's stream or bus, one ProduceBatch per pass (key: the eventId).
//  - CloudWatchDestination: Prometheus counters (EventMetrics), fed every new line once
//    (from the log's end at start: counters restart with the process).
//  - Identity notifications (sending/identity_notifier.h): each confirmed subscription of
//    a topic in config.notification_topics() is a target of its own ("notify:<id>", its
//    cursor kept with the subscription, starting where it was confirmed) that receives the
//    notification lines naming that topic, without herald's routing members: the SNS
//    envelope around the notification JSON, or the raw JSON for a webhook subscription.
// A target that fails waits (min_backoff, doubling up to max_backoff) before it is tried
// again; other targets go on. Unconfirmed SNS subscriptions are sent a
// SubscriptionConfirmation when first seen and again on the same back-off.
// Thread-safety: RunOnce() from one thread at a time (the dispatcher's own thread after
// Start()); Stats() from any thread.
// Trust: the log is herald's own but read defensively (bounded lines, JSON parsed with
// errors caught); receivers are hostile peers, bounded by the HttpPoster.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "events/event_metrics.h"
#include "events/http_poster.h"
#include "events/kafka_producer.h"
#include "events/sns.h"
#include "store/publishing_store.h"

namespace herald::publishing {

struct DispatcherConfig {
  std::string events_path;  // <data_dir>/events.jsonl
  std::string region = "us-east-1";
  // The base of the URLs herald puts in SNS messages (SubscribeURL, UnsubscribeURL,
  // SigningCertURL): herald's HTTP listener as subscribers reach it, no trailing slash.
  std::string public_url = "http://127.0.0.1:8080";
  int signature_version = 1;  // SNS SignatureVersion: 1 (SHA1) or 2 (SHA256)
  std::chrono::milliseconds poll{200};
  std::chrono::milliseconds min_backoff{1000};
  std::chrono::milliseconds max_backoff{300000};
  size_t max_batch_events = 256;     // per target per pass
  size_t max_read_bytes = 4u << 20;  // of the log per target per pass
  size_t max_line_bytes = 1u << 20;  // longer lines are skipped
  // The topic ARNs that identities name for their notifications (nullptr: none). Each
  // confirmed subscription of such a topic receives the notification lines for it.
  std::function<StatusOr<std::vector<std::string>>()> notification_topics;
};

struct DispatcherStats {
  uint64_t delivered = 0;  // events handed to a receiver that accepted them
  uint64_t failures = 0;   // failed attempts (each stops its target until its back-off ends)
  uint64_t confirmations_sent = 0;
};

using store::SubscriptionArn;
using store::TopicArn;

class EventDispatcher {
 public:
  // `kafka` and `metrics` may be null (no Kafka cluster; no metrics). References must
  // outlive the dispatcher.
  EventDispatcher(const DispatcherConfig& config, store::PublishingStore& store, Clock& clock,
                  events::HttpPoster& http, const events::SnsSigner& signer,
                  events::KafkaProducer* kafka, events::EventMetrics* metrics);
  ~EventDispatcher();

  // One pass over every destination and pending subscription. Returns the events
  // delivered in this pass.
  StatusOr<size_t> RunOnce();

  void Start();
  void Stop();
  DispatcherStats Stats() const;

 private:
  struct Backoff {
    SysTime next_attempt;
    std::chrono::milliseconds delay{0};
  };
  struct Target;
  StatusOr<uint64_t> LogSize();
  bool Due(const std::string& key, SysTime now) const;
  void Failed(const std::string& key, SysTime now);
  void Succeeded(const std::string& key);
  StatusOr<uint64_t> TargetCursor(const Target& target, uint64_t log_size);
  Status SetTargetCursor(const Target& target, uint64_t offset);
  StatusOr<size_t> Drain(const Target& target, uint64_t log_size);
  StatusOr<size_t> DrainNotifications(SysTime now, uint64_t log_size);
  void SendConfirmations(SysTime now);
  void SyncMetrics(const std::vector<store::EventDestinationRow>& dests);
  Status FeedMetrics(uint64_t log_size);

  const DispatcherConfig config_;
  store::PublishingStore& store_;
  Clock& clock_;
  events::HttpPoster& http_;
  const events::SnsSigner& signer_;
  events::KafkaProducer* kafka_;
  events::EventMetrics* metrics_;

  std::map<std::string, Backoff> backoff_;           // by target key; RunOnce's thread only
  std::map<std::string, std::string> metric_dests_;  // key -> spec, RunOnce's thread only
  bool metrics_started_ = false;
  uint64_t metrics_offset_ = 0;

  mutable std::mutex stats_mu_;
  DispatcherStats stats_;

  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace herald::publishing
