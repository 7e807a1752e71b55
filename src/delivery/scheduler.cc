#include "delivery/scheduler.h"

#include <algorithm>
#include <utility>

namespace herald::delivery {
namespace {

using feedback::MakeVerdict;
using feedback::Reason;
using VerdictPtr = std::shared_ptr<const feedback::Verdict>;

VerdictPtr RouteVerdict(const std::string& domain, const Destination& d) {
  switch (d.kind) {
    case Destination::Kind::kNullMx:
      return std::make_shared<feedback::Verdict>(
          MakeVerdict(Reason::kNotAccepting, true, "5.1.10",
                      "smtp; 556 5.1.10 Recipient address rejected: " + domain +
                          " does not accept mail (null MX)"));
    case Destination::Kind::kNoSuchDomain:
      return std::make_shared<feedback::Verdict>(
          MakeVerdict(Reason::kHostUnknown, true, "5.1.2",
                      "smtp; 550 5.1.2 Host or domain name not found: " + domain));
    case Destination::Kind::kNoHosts:
      return std::make_shared<feedback::Verdict>(
          MakeVerdict(Reason::kHostUnknown, true, "5.4.4",
                      "smtp; 550 5.4.4 No mail server address found for " + domain));
    case Destination::Kind::kTempFail:
    case Destination::Kind::kHosts:
      break;
  }
  std::string detail = d.detail.empty() ? std::string("lookup failed") : d.detail;
  return std::make_shared<feedback::Verdict>(
      MakeVerdict(Reason::kNetworkError, false, "4.4.3",
                  "smtp; 451 4.4.3 Temporary DNS failure for " + domain + ": " + detail));
}

}  // namespace

Scheduler::Scheduler(SchedulerConfig config) : config_(std::move(config)) {}

std::vector<Decision> Scheduler::Enqueue(const MessageRef& message,
                                         std::vector<QueuedRecipient> recipients, SysTime now) {
  std::vector<Decision> out;
  if (recipients.empty()) return out;
  auto ref = std::make_shared<MessageRef>(message);
  ref->unfinished = static_cast<uint32_t>(recipients.size());
  counters_.queued_recipients += recipients.size();
  auto domain_of = [](const std::string& a) {
    size_t at = a.rfind('@');
    return at == std::string::npos ? std::string() : a.substr(at + 1);
  };
  std::vector<BatchPtr> batches;
  for (auto& r : recipients) {
    std::string domain = domain_of(r.address);
    BatchPtr target;
    if (!config_.verp_per_recipient) {
      for (auto& b : batches) {
        if (b->domain == domain) target = b;
      }
    }
    if (!target) {
      target = std::make_shared<Batch>();
      target->message = ref;
      target->domain = std::move(domain);
      target->next_attempt = now;
      batches.push_back(target);
    }
    target->recipients.push_back(std::move(r));
  }
  for (auto& b : batches) Route(std::move(b), now, &out);
  return out;
}

void Scheduler::Route(BatchPtr batch, SysTime now, std::vector<Decision>* out) {
  RouteEntry& e = routes_[batch->domain];
  if (e.destination && e.expires > now) {
    const Destination& d = *e.destination;
    if (d.kind == Destination::Kind::kHosts) {
      MakeReady(d.key, d, std::move(batch));
      return;
    }
    if (d.kind != Destination::Kind::kTempFail) {
      VerdictPtr v = RouteVerdict(batch->domain, d);
      for (const auto& r : batch->recipients) Fail(batch, r, v, "", now, nullptr, out);
      return;
    }
  }
  e.waiting.push_back(std::move(batch));
  if (!e.resolving) {
    e.resolving = true;
    to_resolve_.push_back(e.waiting.back()->domain);
  }
}

std::vector<Decision> Scheduler::OnResolved(const std::string& domain,
                                            const Destination& destination, SysTime now) {
  std::vector<Decision> out;
  auto it = routes_.find(domain);
  if (it == routes_.end()) return out;
  RouteEntry& e = it->second;
  e.resolving = false;
  std::vector<BatchPtr> waiting = std::move(e.waiting);
  e.waiting.clear();
  if (destination.kind == Destination::Kind::kTempFail) {
    e.destination.reset();
  } else {
    e.destination = destination;
    e.expires = now + config_.route_ttl;
  }
  if (destination.kind == Destination::Kind::kHosts) {
    for (auto& b : waiting) MakeReady(destination.key, destination, std::move(b));
    return out;
  }
  VerdictPtr v = RouteVerdict(domain, destination);
  for (auto& b : waiting) {
    std::vector<QueuedRecipient> retry;
    if (destination.kind == Destination::Kind::kTempFail) b->destination = "dns:" + domain;
    for (const auto& r : b->recipients) Fail(b, r, v, "", now, &retry, &out);
    Reschedule(b, std::move(retry), v, now);
  }
  return out;
}

Scheduler::Queue& Scheduler::QueueFor(const std::string& key, const Destination& d) {
  auto [it, inserted] = queues_.try_emplace(key);
  if (inserted) it->second.limit = std::max(1, config_.max_connections_per_destination);
  it->second.destination = d;  // the newest answer (addresses and routes may change)
  return it->second;
}

void Scheduler::MakeReady(const std::string& key, const Destination& d, BatchPtr batch) {
  Queue& q = QueueFor(key, d);
  batch->destination = key;
  q.ready_recipients += batch->recipients.size();
  q.ready.push_back(std::move(batch));
}

std::vector<Decision> Scheduler::Tick(SysTime now) {
  std::vector<Decision> out;
  while (!deferred_.empty() && deferred_.begin()->first <= now) {
    BatchPtr b = std::move(deferred_.begin()->second);
    deferred_.erase(deferred_.begin());
    Route(std::move(b), now, &out);
  }
  return out;
}

std::optional<Job> Scheduler::NextJob(SysTime now) {
  if (!to_resolve_.empty()) {
    std::string d = std::move(to_resolve_.front());
    to_resolve_.pop_front();
    return ResolveJob{std::move(d)};
  }
  if (open_connections_ >= config_.max_connections) return std::nullopt;
  for (auto& [key, q] : queues_) {
    if (q.ready.empty() || q.held || q.paused_until > now || q.connections >= q.limit) continue;
    // Each open connection takes the batches one at a time: a new one only pays when more
    // batches wait than connections are open.
    if (q.ready.size() <= static_cast<size_t>(q.connections)) continue;
    if (config_.max_messages_per_second_per_destination > 0 && q.connections > 0) {
      // Rate-limited destinations are fed by the connections already open.
      continue;
    }
    const uint64_t id = next_connection_++;
    connections_[id] = Connection{key, 0};
    ++q.connections;
    ++open_connections_;
    ++counters_.connections_opened;
    return ConnectJob{id, key, q.destination};
  }
  return std::nullopt;
}

std::optional<SysTime> Scheduler::NextWakeup(SysTime now) const {
  std::optional<SysTime> t;
  auto consider = [&t, now](SysTime x) {
    if (x <= now) x = now + std::chrono::milliseconds(1);
    if (!t || x < *t) t = x;
  };
  if (!deferred_.empty()) consider(deferred_.begin()->first);
  for (const auto& [key, q] : queues_) {
    if (!q.ready.empty() && !q.held && q.paused_until > now) consider(q.paused_until);
    if (!q.ready.empty() && config_.max_messages_per_second_per_destination > 0 && q.tokens < 1) {
      consider(q.tokens_at + std::chrono::milliseconds(static_cast<int64_t>(
                                 1000.0 / config_.max_messages_per_second_per_destination)));
    }
  }
  return t;
}

BatchPtr Scheduler::TakeBatch(uint64_t connection, SysTime now) {
  auto c = connections_.find(connection);
  if (c == connections_.end()) return nullptr;
  auto qi = queues_.find(c->second.key);
  if (qi == queues_.end()) return nullptr;
  Queue& q = qi->second;
  if (q.ready.empty() || q.held || q.paused_until > now ||
      c->second.messages >= config_.max_messages_per_connection) {
    return nullptr;
  }
  if (config_.max_messages_per_second_per_destination > 0) {
    const double rate = config_.max_messages_per_second_per_destination;
    const double burst = std::max(1.0, rate);
    if (q.tokens_at == SysTime()) {
      q.tokens = burst;
    } else {
      const double secs = std::chrono::duration<double>(now - q.tokens_at).count();
      q.tokens = std::min(burst, q.tokens + std::max(0.0, secs) * rate);
    }
    q.tokens_at = now;
    if (q.tokens < 1) return nullptr;
    q.tokens -= 1;
  }
  BatchPtr b = std::move(q.ready.front());
  q.ready.pop_front();
  q.ready_recipients -= b->recipients.size();
  ++c->second.messages;
  return b;
}

void Scheduler::ReturnBatch(uint64_t connection, BatchPtr batch) {
  auto c = connections_.find(connection);
  if (c == connections_.end()) return;
  auto qi = queues_.find(c->second.key);
  if (qi == queues_.end()) return;
  qi->second.ready_recipients += batch->recipients.size();
  qi->second.ready.push_front(std::move(batch));
}

SysTime Scheduler::RetryTime(uint32_t attempts, SysTime now) const {
  if (config_.retry_schedule.empty()) return now + std::chrono::seconds(300);
  const size_t i =
      std::min<size_t>(attempts == 0 ? 0 : attempts - 1, config_.retry_schedule.size() - 1);
  return now + config_.retry_schedule[i];
}

void Scheduler::Fail(const BatchPtr& batch, const QueuedRecipient& r, VerdictPtr verdict,
                     const std::string& remote, SysTime now, std::vector<QueuedRecipient>* retry,
                     std::vector<Decision>* out) {
  Decision d;
  d.message = batch->message;
  d.recipient = r;
  d.remote_address = remote;
  auto qi = queues_.find(batch->destination);
  if (verdict->permanent || retry == nullptr) {
    d.kind = Decision::Kind::kBounced;
    d.verdict = std::move(verdict);
    ++counters_.bounced;
    if (qi != queues_.end()) ++qi->second.bounced;
    out->push_back(std::move(d));
    Finish(batch, 1);
    return;
  }
  const SysTime deadline = batch->message->accepted + batch->message->max_delivery;
  if (now >= deadline) {
    // Out of time: a Transient bounce that carries the last diagnostic.
    feedback::Verdict expired =
        MakeVerdict(Reason::kExpired, true, verdict->status, verdict->diagnostic_code);
    d.kind = Decision::Kind::kBounced;
    d.verdict = std::make_shared<feedback::Verdict>(std::move(expired));
    ++counters_.expired;
    ++counters_.bounced;
    if (qi != queues_.end()) ++qi->second.bounced;
    out->push_back(std::move(d));
    Finish(batch, 1);
    return;
  }
  d.kind = Decision::Kind::kDeferred;
  d.verdict = std::move(verdict);
  d.next_attempt = std::min(RetryTime(batch->attempts + 1, now), deadline);
  d.expiration = deadline;
  ++counters_.deferred;
  if (qi != queues_.end()) ++qi->second.deferrals;
  out->push_back(std::move(d));
  retry->push_back(r);
}

void Scheduler::Reschedule(const BatchPtr& batch, std::vector<QueuedRecipient> retry,
                           VerdictPtr verdict, SysTime now) {
  if (retry.empty()) return;
  auto nb = std::make_shared<Batch>();
  nb->message = batch->message;
  nb->domain = batch->domain;
  nb->recipients = std::move(retry);
  nb->attempts = batch->attempts + 1;
  const SysTime deadline = batch->message->accepted + batch->message->max_delivery;
  nb->next_attempt = std::min(RetryTime(nb->attempts, now), deadline);
  nb->destination = batch->destination;
  nb->last_failure = std::move(verdict);
  deferred_.emplace(nb->next_attempt, std::move(nb));
}

void Scheduler::Finish(const BatchPtr& batch, size_t n) {
  batch->message->unfinished -= std::min<uint32_t>(batch->message->unfinished, n);
  counters_.queued_recipients -= std::min<uint64_t>(counters_.queued_recipients, n);
}

std::vector<Decision> Scheduler::OnBatchResult(uint64_t connection, const BatchPtr& batch,
                                               const std::vector<RecipientResult>& results,
                                               bool throttled, const std::string& remote_address,
                                               SysTime now) {
  std::vector<Decision> out;
  std::vector<QueuedRecipient> retry;
  VerdictPtr first_temp;
  bool any_delivered = false;
  Queue* q = nullptr;
  if (auto c = connections_.find(connection); c != connections_.end()) {
    if (auto qi = queues_.find(c->second.key); qi != queues_.end()) q = &qi->second;
  }
  for (const auto& r : batch->recipients) {
    auto res = std::find_if(results.begin(), results.end(),
                            [&](const RecipientResult& x) { return x.index == r.index; });
    if (res != results.end() && res->delivered) {
      Decision d;
      d.kind = Decision::Kind::kDelivered;
      d.message = batch->message;
      d.recipient = r;
      d.smtp_response = res->smtp_response;
      d.remote_address = remote_address;
      out.push_back(std::move(d));
      ++counters_.delivered;
      if (q != nullptr) {
        ++q->delivered;
        q->last_reply = res->smtp_response;
      }
      any_delivered = true;
      Finish(batch, 1);
      continue;
    }
    VerdictPtr v;
    if (res != results.end() && res->verdict) {
      v = res->verdict;
    } else {
      v = std::make_shared<feedback::Verdict>(
          MakeVerdict(Reason::kNetworkError, false, "4.4.2",
                      "smtp; 451 4.4.2 No result for the recipient (connection lost)"));
    }
    if (q != nullptr) q->last_reply = v->diagnostic_code;
    if (!v->permanent && !first_temp) first_temp = v;
    Fail(batch, r, v, remote_address, now, &retry, &out);
  }
  Reschedule(batch, std::move(retry), first_temp, now);
  if (q != nullptr) {
    if (throttled) {
      q->limit = std::max(1, q->limit / 2);
      q->paused_until = now + config_.throttle_pause;
      ++counters_.throttled;
    } else if (any_delivered && q->limit < config_.max_connections_per_destination) {
      ++q->limit;
    }
  }
  return out;
}

std::vector<Decision> Scheduler::OnConnectionFailed(uint64_t connection, const BatchPtr& in_hand,
                                                    VerdictPtr verdict, bool destination_down,
                                                    SysTime now) {
  std::vector<Decision> out;
  ++counters_.connection_failures;
  Queue* q = nullptr;
  if (auto c = connections_.find(connection); c != connections_.end()) {
    if (auto qi = queues_.find(c->second.key); qi != queues_.end()) q = &qi->second;
  }
  auto fail_batch = [&](const BatchPtr& b) {
    std::vector<QueuedRecipient> retry;
    for (const auto& r : b->recipients) Fail(b, r, verdict, "", now, &retry, &out);
    Reschedule(b, std::move(retry), verdict, now);
  };
  if (in_hand) fail_batch(in_hand);
  if (q != nullptr) {
    q->last_reply = verdict->diagnostic_code;
    if (destination_down) {
      const auto pause = config_.retry_schedule.empty() ? std::chrono::seconds(60)
                                                        : config_.retry_schedule.front();
      q->paused_until = now + pause;
      std::deque<BatchPtr> ready = std::move(q->ready);
      q->ready.clear();
      q->ready_recipients = 0;
      for (const auto& b : ready) fail_batch(b);
    }
  }
  return out;
}

void Scheduler::OnConnectionClosed(uint64_t connection) {
  auto c = connections_.find(connection);
  if (c == connections_.end()) return;
  if (auto qi = queues_.find(c->second.key); qi != queues_.end()) --qi->second.connections;
  --open_connections_;
  connections_.erase(c);
}

void Scheduler::Hold(const std::string& key) {
  auto it = queues_.find(key);
  if (it != queues_.end()) {
    it->second.held = true;
    return;
  }
  Queue& q = queues_[key];
  q.limit = std::max(1, config_.max_connections_per_destination);
  q.held = true;
}

void Scheduler::Release(const std::string& key) {
  auto it = queues_.find(key);
  if (it != queues_.end()) it->second.held = false;
}

size_t Scheduler::RetryNow(const std::string& key, SysTime now) {
  size_t n = 0;
  std::vector<BatchPtr> moved;
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (key.empty() || it->second->destination == key) {
      n += it->second->recipients.size();
      moved.push_back(std::move(it->second));
      it = deferred_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& b : moved) {
    b->next_attempt = now;
    deferred_.emplace(now, std::move(b));
  }
  for (auto& [k, q] : queues_) {
    if (key.empty() || k == key) q.paused_until = SysTime();
  }
  return n;
}

std::vector<Decision> Scheduler::BounceMessage(const std::string& message_id, VerdictPtr verdict,
                                               SysTime now) {
  std::vector<Decision> out;
  auto bounce = [&](const BatchPtr& b) {
    for (const auto& r : b->recipients) Fail(b, r, verdict, "", now, nullptr, &out);
  };
  auto match = [&](const BatchPtr& b) { return b->message->id == message_id; };
  for (auto& [key, q] : queues_) {
    for (auto it = q.ready.begin(); it != q.ready.end();) {
      if (match(*it)) {
        q.ready_recipients -= (*it)->recipients.size();
        bounce(*it);
        it = q.ready.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto it = deferred_.begin(); it != deferred_.end();) {
    if (match(it->second)) {
      bounce(it->second);
      it = deferred_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [domain, e] : routes_) {
    for (auto it = e.waiting.begin(); it != e.waiting.end();) {
      if (match(*it)) {
        bounce(*it);
        it = e.waiting.erase(it);
      } else {
        ++it;
      }
    }
  }
  return out;
}

std::vector<DestinationStats> Scheduler::Stats() const {
  std::map<std::string, DestinationStats> m;
  auto oldest = [](DestinationStats& s, const BatchPtr& b) {
    if (s.oldest == SysTime() || b->message->accepted < s.oldest) s.oldest = b->message->accepted;
  };
  for (const auto& [key, q] : queues_) {
    DestinationStats& s = m[key];
    s.key = key;
    s.ready = q.ready_recipients;
    s.connections = q.connections;
    s.connection_limit = q.limit;
    s.held = q.held;
    s.paused_until = q.paused_until;
    s.last_reply = q.last_reply;
    s.delivered = q.delivered;
    s.bounced = q.bounced;
    s.deferrals = q.deferrals;
    for (const auto& b : q.ready) oldest(s, b);
  }
  for (const auto& [t, b] : deferred_) {
    const std::string key = b->destination.empty() ? "dns:" + b->domain : b->destination;
    DestinationStats& s = m[key];
    s.key = key;
    s.deferred += b->recipients.size();
    oldest(s, b);
    if (s.last_reply.empty() && b->last_failure) s.last_reply = b->last_failure->diagnostic_code;
  }
  for (const auto& [domain, e] : routes_) {
    for (const auto& b : e.waiting) {
      DestinationStats& s = m["dns:" + domain];
      s.key = "dns:" + domain;
      s.ready += b->recipients.size();
      oldest(s, b);
    }
  }
  std::vector<DestinationStats> out;
  for (auto& [k, s] : m) {
    if (s.ready + s.deferred == 0 && s.connections == 0 && !s.held) continue;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace herald::delivery
