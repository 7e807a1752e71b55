// delivery/engine.h: the delivery engine. It takes accepted messages, routes them (static
// routes, MX, implicit MX), opens connections to the destinations, runs the SMTP
// transactions (STARTTLS, DKIM signing, VERP return paths) and hands every outcome to an
// OutcomeSink, which publishes the events and marks the spool.
//
// Contract: Enqueue() after the message is in the spool; the engine never loses a
// recipient: every one ends in exactly one final Decision (delivered or bounced) passed to
// the sink, possibly after deferrals, unless the process stops first, in which case the
// spool still holds it and the next start enqueues it again (at-least-once).
// Threads: one scheduler thread owns the Scheduler (behind mu_ so that operator calls and
// workers can reach it); route lookups run on a small resolver pool; each open connection
// runs on its own thread with blocking, deadline-bounded I/O (net::Transport). The sink is
// called from those threads, never under mu_.
// Time: all scheduling uses the injected Clock. Poke() wakes the scheduler (tests advance
// a FakeClock and poke; nothing sleeps).
// Thread-safety: every public method is safe from any thread.
// Trust: remote servers are hostile: replies are bounded and parsed by the SMTP client,
// diagnostics are carried as data. Message bodies come from the spool (CRC-checked).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "delivery/route.h"
#include "delivery/scheduler.h"
#include "delivery/smtp_client.h"
#include "dns/resolver.h"
#include "mail/dkim.h"
#include "net/transport.h"
#include "spool/spool.h"

namespace herald::delivery {

// Receives outcomes. Record() returns once they are durable (events published, spool
// marked); it is called from engine threads, concurrently.
class OutcomeSink {
 public:
  virtual ~OutcomeSink() = default;
  virtual void Record(const std::vector<Decision>& decisions) = 0;
};

// How a message leaves: its DKIM key and its MAIL FROM domain (empty: the default).
struct EgressPolicy {
  std::optional<mail::DkimSigner> dkim;
  std::string mail_from_domain;
};
// account id and the From header's domain → policy. Called from connection threads.
using EgressLookup = std::function<EgressPolicy(int64_t account_id, const std::string& domain)>;

struct EngineConfig {
  SchedulerConfig scheduler;
  std::string hostname = "localhost";  // EHLO name
  std::string return_path_domain;      // VERP domain; empty: hostname
  std::string verp_secret;             // HMAC key of the VERP tokens (required)
  std::vector<StaticRoute> routes;
  uint16_t mx_port = 25;                  // port for MX and implicit-MX hosts
  TlsMode tls = TlsMode::kOpportunistic;  // for MX hosts (static routes may require TLS)
  std::chrono::milliseconds connect_timeout{30000};
  std::chrono::milliseconds command_timeout{60000};
  std::chrono::milliseconds data_timeout{300000};
  int resolver_threads = 4;
  bool allow_auth_without_tls = false;  // static-route AUTH over plain text (tests only)
};

struct NewMessage {
  std::string id;
  int64_t account_id = 0;
  SysTime accepted;
  std::chrono::seconds max_delivery{50400};
  bool require_tls = false;
  std::vector<QueuedRecipient> recipients;  // the ones to deliver
};

class DeliveryEngine {
 public:
  DeliveryEngine(EngineConfig config, Clock& clock, spool::Spool& spool, OutcomeSink& sink,
                 dns::Resolver& resolver, net::Dialer& dialer, EgressLookup egress);
  ~DeliveryEngine();  // Stop()

  void Start();
  // Stops taking jobs, lets open transactions finish within `grace` (then aborts their
  // connections: those recipients stay queued in the spool), joins every thread.
  // Queued recipients stay in the spool for the next start.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  void Enqueue(NewMessage message);
  void Poke();  // re-evaluate now (after a clock change in tests)

  // Operator controls (herald queue).
  std::vector<DestinationStats> Queues();
  SchedulerCounters Counters();
  void Hold(const std::string& key);
  void Release(const std::string& key);
  size_t RetryNow(const std::string& key);
  // Bounces the message's queued recipients (those in a transaction right now finish it).
  size_t BounceMessage(const std::string& message_id);

  // For tests: blocks until nothing is queued or in flight except recipients deferred to a
  // later time, or until `timeout` (real time) passes. True when idle.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  void SchedulerLoop();
  void ResolverLoop();
  void ReapConnectionThreads();  // joins connection threads that have finished
  void RunConnection(ConnectJob job);
  SysTime Now() { return clock_.Now(); }

  const EngineConfig config_;
  Clock& clock_;
  spool::Spool& spool_;
  OutcomeSink& sink_;
  dns::Resolver& resolver_;
  net::Dialer& dialer_;
  EgressLookup egress_;

  std::mutex mu_;
  std::condition_variable wake_;  // scheduler: something changed
  std::condition_variable resolve_cv_;
  std::condition_variable idle_cv_;
  Scheduler scheduler_;                  // guarded by mu_
  std::deque<ResolveJob> resolve_jobs_;  // guarded by mu_
  std::deque<NewMessage> incoming_;      // guarded by mu_
  int busy_ = 0;                         // jobs running; guarded by mu_
  bool stopping_ = false;                // guarded by mu_
  bool poked_ = false;                   // guarded by mu_
  std::atomic<bool> started_{false};
  std::thread scheduler_thread_;
  std::vector<std::thread> resolver_threads_;
  std::mutex conn_mu_;
  std::list<std::thread> connection_threads_;  // guarded by conn_mu_
  std::vector<std::thread::id> finished_;      // guarded by conn_mu_: to be joined
  std::condition_variable conn_done_;          // a connection thread finished
  std::vector<net::Transport*> active_;        // guarded by conn_mu_: open transports
  std::atomic<uint64_t> shuffle_seed_{0x9e3779b97f4a7c15ULL};
};

}  // namespace herald::delivery
