// delivery/scheduler.h: the queue manager. It decides what is delivered when, over which
// destination, and what becomes of each recipient after an attempt. No I/O, no threads, no
// clock of its own: every call is given `now`, so a test drives hours of retries in
// microseconds.
//
// Model. A message enters with the recipients still to deliver. They are split into
// batches: one per recipient when VERP encodes the recipient in the envelope sender
// (`verp_per_recipient`), else one per recipient domain. A batch first waits for its
// domain's route (a ResolveJob, answered by OnResolved, cached for route_ttl), then sits in
// the ready queue of its destination (the key of delivery/route.h: domains that share MX
// hosts share a queue, a connection limit and a rate). A ConnectJob asks a worker to open
// one connection to a destination; the worker then takes batches for that connection one
// at a time (TakeBatch) and reports each transaction's per-recipient results
// (OnBatchResult). Temporary failures wait for their retry time (retry_schedule, the last
// step repeating) and go round again, re-routed; once the next attempt would fall after
// accepted + max_delivery they expire. Every final or deferring outcome comes back as a
// Decision, which the caller turns into events and spool marks.
// Shaping per destination: a connection limit that halves (down to one) when the
// destination answers with throttling replies and grows back by one per successful
// transaction; a throttled or unreachable destination is paused (`paused_until`); an
// optional message rate (token bucket). Operators can hold and release a destination,
// retry everything now, and bounce a message.
// Memory: a queued recipient costs one small batch (its address, index and a few words);
// message-wide data is shared, the body and the envelope stay on disk.
// Thread-safety: none. The delivery engine owns the scheduler and calls it under its mutex.
// Trust: addresses were validated at submission; diagnostics come from remote servers and
// are carried, never interpreted, here.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "delivery/route.h"
#include "feedback/smtp_reply.h"

namespace herald::delivery {

struct SchedulerConfig {
  // Delay before attempt n+1 after n failed attempts; the last value repeats.
  std::vector<std::chrono::seconds> retry_schedule = {
      std::chrono::seconds(60),   std::chrono::seconds(300),  std::chrono::seconds(600),
      std::chrono::seconds(1200), std::chrono::seconds(1800), std::chrono::seconds(3600)};
  int max_connections_per_destination = 16;
  int max_connections = 256;               // over all destinations
  int max_messages_per_connection = 1000;  // then the connection is closed and a new one opened
  double max_messages_per_second_per_destination = 0;  // 0: no limit
  std::chrono::seconds route_ttl{300};
  std::chrono::seconds throttle_pause{60};  // a destination that throttles us rests this long
  bool verp_per_recipient = true;
};

struct MessageRef {
  std::string id;
  int64_t account_id = 0;  // 0: herald's own mail (no events)
  SysTime accepted;
  std::chrono::seconds max_delivery{50400};
  bool require_tls = false;
  uint32_t unfinished = 0;  // recipients queued and not final
};
using MessageRefPtr = std::shared_ptr<MessageRef>;

struct QueuedRecipient {
  uint32_t index = 0;  // the recipient's index in the spool record
  std::string address;
};

struct Batch {
  MessageRefPtr message;
  std::string domain;  // ASCII, lower-case
  std::vector<QueuedRecipient> recipients;
  uint32_t attempts = 0;
  SysTime next_attempt;
  std::string destination;  // queue key of the last route (for listings)
  std::shared_ptr<const feedback::Verdict> last_failure;
};
using BatchPtr = std::shared_ptr<Batch>;

// What became of one recipient.
struct Decision {
  enum class Kind {
    kDelivered,  // accepted by the remote server
    kBounced,    // final failure (permanent reply, null MX, no such domain, expired, operator)
    kDeferred,   // temporary failure: retried at next_attempt
  };
  Kind kind = Kind::kDeferred;
  MessageRefPtr message;
  QueuedRecipient recipient;
  std::shared_ptr<const feedback::Verdict> verdict;  // bounce or delay; nullptr for kDelivered
  std::string smtp_response;                         // kDelivered: the server's reply line
  std::string remote_address;                        // IP of the server that answered, if any
  SysTime next_attempt;                              // kDeferred
  SysTime expiration;                                // kDeferred: when it will expire
};

// The per-recipient result of one attempt, from the worker.
struct RecipientResult {
  uint32_t index = 0;
  bool delivered = false;
  std::string smtp_response;                         // delivered: reply line
  std::shared_ptr<const feedback::Verdict> verdict;  // not delivered: why
};

struct ResolveJob {
  std::string domain;
};
struct ConnectJob {
  uint64_t connection = 0;
  std::string key;
  Destination destination;
};
using Job = std::variant<ResolveJob, ConnectJob>;

struct DestinationStats {
  std::string key;
  size_t ready = 0;     // recipients waiting for a connection
  size_t deferred = 0;  // recipients waiting for their retry time
  int connections = 0;
  int connection_limit = 0;
  bool held = false;
  SysTime oldest;  // accepted time of the oldest recipient (epoch when empty)
  SysTime paused_until;
  std::string last_reply;
  uint64_t delivered = 0, bounced = 0, deferrals = 0;
};

struct SchedulerCounters {
  uint64_t delivered = 0, bounced = 0, deferred = 0, expired = 0;
  uint64_t connections_opened = 0, connection_failures = 0, throttled = 0;
  uint64_t queued_recipients = 0;  // current
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerConfig config);

  // A message and the recipients still to deliver (a recovered message passes only the
  // ones not done). Duplicate ids are the caller's bug: not checked. Returns the bounces of
  // recipients whose domain is already known not to take mail (cached null MX, NXDOMAIN).
  std::vector<Decision> Enqueue(const MessageRef& message, std::vector<QueuedRecipient> recipients,
                                SysTime now);

  // Moves the retries that are due back to routing. Call before NextJob; returns the
  // decisions for batches whose (cached) route turned out final meanwhile.
  std::vector<Decision> Tick(SysTime now);
  // The next job due at `now`, if any: routes to look up first, then connections to open.
  std::optional<Job> NextJob(SysTime now);
  // The next time after `now` at which Tick/NextJob may have something without any other
  // call (retries coming due, paused destinations resuming, rate tokens refilling);
  // nullopt when nothing waits on time.
  std::optional<SysTime> NextWakeup(SysTime now) const;

  // The answer to a ResolveJob. Final routes (null MX, no such domain, no hosts) bounce the
  // waiting batches; a temporary failure defers them. Returns those decisions.
  std::vector<Decision> OnResolved(const std::string& domain, const Destination& destination,
                                   SysTime now);

  // The next batch for an open connection (nullptr: close it). Counts against the rate.
  BatchPtr TakeBatch(uint64_t connection, SysTime now);
  // Gives back a batch taken but not attempted (the connection broke between transactions):
  // it goes to the front of its queue, no attempt counted.
  void ReturnBatch(uint64_t connection, BatchPtr batch);
  // Results of one transaction for every recipient of `batch`. `throttled` when the server
  // answered with a throttling reply (421, 4.7.x rate limits): the destination slows down.
  std::vector<Decision> OnBatchResult(uint64_t connection, const BatchPtr& batch,
                                      const std::vector<RecipientResult>& results, bool throttled,
                                      const std::string& remote_address, SysTime now);
  // The connection could not be opened or was lost before a transaction completed. The
  // batch in hand (if any) and, when `destination_down`, every ready batch of the
  // destination are deferred with `verdict`; the destination pauses.
  std::vector<Decision> OnConnectionFailed(uint64_t connection, const BatchPtr& in_hand,
                                           std::shared_ptr<const feedback::Verdict> verdict,
                                           bool destination_down, SysTime now);
  // The worker is done with the connection (after the last TakeBatch or a failure).
  void OnConnectionClosed(uint64_t connection);

  // Operator controls.
  void Hold(const std::string& key);
  void Release(const std::string& key);
  // Retry every deferred recipient (of one destination, or all when key is empty) now.
  size_t RetryNow(const std::string& key, SysTime now);
  // Bounces every queued recipient of the message not in a connection right now.
  std::vector<Decision> BounceMessage(const std::string& message_id,
                                      std::shared_ptr<const feedback::Verdict> verdict,
                                      SysTime now);

  // True when Tick or NextJob would find something at `now` (due retries, lookups to start).
  bool HasDueWork(SysTime now) const {
    return !to_resolve_.empty() || (!deferred_.empty() && deferred_.begin()->first <= now);
  }

  std::vector<DestinationStats> Stats() const;
  const SchedulerCounters& counters() const { return counters_; }
  size_t QueuedRecipients() const { return counters_.queued_recipients; }

 private:
  struct RouteEntry {
    std::optional<Destination> destination;
    SysTime expires;
    bool resolving = false;
    std::vector<BatchPtr> waiting;
  };
  struct Queue {
    Destination destination;
    std::deque<BatchPtr> ready;
    size_t ready_recipients = 0;
    int connections = 0;
    int limit = 1;
    bool held = false;
    SysTime paused_until;
    double tokens = 0;
    SysTime tokens_at;
    std::string last_reply;
    uint64_t delivered = 0, bounced = 0, deferrals = 0;
  };
  struct Connection {
    std::string key;
    int messages = 0;
  };

  void Route(BatchPtr batch, SysTime now, std::vector<Decision>* out);
  void MakeReady(const std::string& key, const Destination& d, BatchPtr batch);
  // Final or deferring outcome for one recipient of `batch`; deferred ones are appended to
  // `retry` (the caller reschedules them as one batch).
  void Fail(const BatchPtr& batch, const QueuedRecipient& r,
            std::shared_ptr<const feedback::Verdict> verdict, const std::string& remote,
            SysTime now, std::vector<QueuedRecipient>* retry, std::vector<Decision>* out);
  void Reschedule(const BatchPtr& batch, std::vector<QueuedRecipient> retry,
                  std::shared_ptr<const feedback::Verdict> verdict, SysTime now);
  void Finish(const BatchPtr& batch, size_t n);
  SysTime RetryTime(uint32_t attempts, SysTime now) const;
  Queue& QueueFor(const std::string& key, const Destination& d);

  const SchedulerConfig config_;
  std::unordered_map<std::string, RouteEntry> routes_;
  std::deque<std::string> to_resolve_;  // domains with waiting batches and no lookup running
  std::map<std::string, Queue> queues_;
  std::multimap<SysTime, BatchPtr> deferred_;
  std::unordered_map<uint64_t, Connection> connections_;
  uint64_t next_connection_ = 1;
  int open_connections_ = 0;
  SchedulerCounters counters_;
};

}  // namespace herald::delivery
