#include "delivery/engine.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <variant>

#include "base/log.h"
#include "feedback/smtp_reply.h"
#include "mail/address.h"
#include "mail/verp.h"

namespace herald::delivery {
namespace {

using feedback::MakeVerdict;
using feedback::Reason;
using VerdictPtr = std::shared_ptr<const feedback::Verdict>;

VerdictPtr Classify(const SmtpReply& reply) {
  return std::make_shared<feedback::Verdict>(feedback::ClassifySmtpReply(reply.code, reply.text));
}

VerdictPtr Local(Reason reason, bool permanent, const std::string& status,
                 const std::string& diagnostic) {
  return std::make_shared<feedback::Verdict>(
      MakeVerdict(reason, permanent, status, "smtp; " + diagnostic));
}

bool IsThrottle(const SmtpReply& r, const VerdictPtr& v) {
  if (r.code == 421) return true;
  return r.code >= 400 && r.code < 500 && v && v->reason == Reason::kRateLimited;
}

// The domain of the first From address in the envelope's mail object (lower-case).
std::string FromDomain(const nlohmann::json& env) {
  const auto* mail = env.contains("mail") ? &env["mail"] : nullptr;
  std::string from;
  if (mail != nullptr && mail->contains("commonHeaders") && (*mail)["commonHeaders"].is_object()) {
    const auto& ch = (*mail)["commonHeaders"];
    if (ch.contains("from") && ch["from"].is_array() && !ch["from"].empty() &&
        ch["from"][0].is_string()) {
      from = ch["from"][0].get<std::string>();
    }
  }
  if (from.empty() && mail != nullptr && mail->contains("source") &&
      (*mail)["source"].is_string()) {
    from = (*mail)["source"].get<std::string>();
  }
  auto parsed = mail::ParseMailbox(from);
  std::string addr = parsed.ok() ? parsed->Address() : from;
  size_t at = addr.rfind('@');
  if (at == std::string::npos) return "";
  std::string d = addr.substr(at + 1);
  std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
  return d;
}

bool NeedsSmtpUtf8(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x80; });
}

}  // namespace

DeliveryEngine::DeliveryEngine(EngineConfig config, Clock& clock, spool::Spool& spool,
                               OutcomeSink& sink, dns::Resolver& resolver, net::Dialer& dialer,
                               EgressLookup egress)
    : config_(std::move(config)),
      clock_(clock),
      spool_(spool),
      sink_(sink),
      resolver_(resolver),
      dialer_(dialer),
      egress_(std::move(egress)),
      scheduler_(config_.scheduler) {}

DeliveryEngine::~DeliveryEngine() { Stop(); }

void DeliveryEngine::Start() {
  if (started_.exchange(true)) return;
  scheduler_thread_ = std::thread([this] { SchedulerLoop(); });
  for (int i = 0; i < std::max(1, config_.resolver_threads); ++i) {
    resolver_threads_.emplace_back([this] { ResolverLoop(); });
  }
}

void DeliveryEngine::Stop(std::chrono::milliseconds grace) {
  if (!started_.load()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  resolve_cv_.notify_all();
  if (scheduler_thread_.joinable()) scheduler_thread_.join();
  for (auto& t : resolver_threads_) t.join();
  // Connection threads see stopping_ before taking another batch; a transaction still
  // running after `grace` has its connection aborted (its recipients stay in the spool).
  std::list<std::thread> threads;
  {
    std::unique_lock<std::mutex> lock(conn_mu_);
    conn_done_.wait_for(lock, grace, [this] {
      size_t running = 0;
      for (const auto& t : connection_threads_) {
        if (std::find(finished_.begin(), finished_.end(), t.get_id()) == finished_.end()) {
          ++running;
        }
      }
      return running == 0;
    });
    for (net::Transport* t : active_) t->Abort();
    threads.swap(connection_threads_);
  }
  for (auto& t : threads) t.join();
}

void DeliveryEngine::Enqueue(NewMessage message) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    incoming_.push_back(std::move(message));
  }
  wake_.notify_one();
}

void DeliveryEngine::Poke() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
  }
  wake_.notify_all();
}

void DeliveryEngine::SchedulerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    ReapConnectionThreads();
    const SysTime now = Now();
    std::vector<Decision> decisions;
    while (!incoming_.empty()) {
      NewMessage m = std::move(incoming_.front());
      incoming_.pop_front();
      MessageRef ref;
      ref.id = std::move(m.id);
      ref.account_id = m.account_id;
      ref.accepted = m.accepted;
      ref.max_delivery = m.max_delivery;
      ref.require_tls = m.require_tls;
      auto d = scheduler_.Enqueue(ref, std::move(m.recipients), now);
      decisions.insert(decisions.end(), std::make_move_iterator(d.begin()),
                       std::make_move_iterator(d.end()));
    }
    {
      auto d = scheduler_.Tick(now);
      decisions.insert(decisions.end(), std::make_move_iterator(d.begin()),
                       std::make_move_iterator(d.end()));
    }
    while (auto job = scheduler_.NextJob(now)) {
      ++busy_;
      if (auto* r = std::get_if<ResolveJob>(&*job)) {
        resolve_jobs_.push_back(std::move(*r));
        resolve_cv_.notify_one();
      } else {
        ConnectJob cj = std::move(std::get<ConnectJob>(*job));
        std::lock_guard<std::mutex> cl(conn_mu_);
        connection_threads_.emplace_back([this, cj = std::move(cj)]() mutable {
          RunConnection(std::move(cj));
          std::lock_guard<std::mutex> cl2(conn_mu_);
          finished_.push_back(std::this_thread::get_id());
          conn_done_.notify_all();
        });
      }
    }
    if (!decisions.empty()) {
      ++busy_;
      lock.unlock();
      sink_.Record(decisions);
      lock.lock();
      --busy_;
      idle_cv_.notify_all();
      continue;  // time moved on: look again
    }
    if (busy_ == 0) idle_cv_.notify_all();
    if (!incoming_.empty() || poked_) {
      poked_ = false;
      continue;
    }
    std::optional<SysTime> wake = scheduler_.NextWakeup(Now());
    auto until_pred = [this] { return stopping_ || poked_ || !incoming_.empty(); };
    if (wake) {
      auto delta = *wake - Now();
      if (delta > std::chrono::hours(1)) delta = std::chrono::hours(1);
      if (delta > decltype(delta)::zero()) wake_.wait_for(lock, delta, until_pred);
    } else {
      wake_.wait(lock, until_pred);
    }
    poked_ = false;
  }
}

void DeliveryEngine::ReapConnectionThreads() {
  std::lock_guard<std::mutex> cl(conn_mu_);
  if (finished_.empty()) return;
  // A thread is listed once it has left RunConnection; joining it only waits for its exit.
  for (auto it = connection_threads_.begin(); it != connection_threads_.end();) {
    if (std::find(finished_.begin(), finished_.end(), it->get_id()) != finished_.end()) {
      it->join();
      it = connection_threads_.erase(it);
    } else {
      ++it;
    }
  }
  finished_.clear();
}

void DeliveryEngine::ResolverLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    resolve_cv_.wait(lock, [this] { return stopping_ || !resolve_jobs_.empty(); });
    if (stopping_) return;
    ResolveJob job = std::move(resolve_jobs_.front());
    resolve_jobs_.pop_front();
    lock.unlock();
    Destination d = ResolveDestination(job.domain, resolver_, config_.routes, config_.mx_port,
                                       shuffle_seed_.fetch_add(0x9e3779b97f4a7c15ULL));
    lock.lock();
    std::vector<Decision> decisions = scheduler_.OnResolved(job.domain, d, Now());
    if (!decisions.empty()) {
      lock.unlock();
      sink_.Record(decisions);
      lock.lock();
    }
    --busy_;
    poked_ = true;  // routes known: connections may open
    wake_.notify_one();
    idle_cv_.notify_all();
  }
}

void DeliveryEngine::RunConnection(ConnectJob job) {
  auto finish = [this, &job] {
    std::lock_guard<std::mutex> lock(mu_);
    scheduler_.OnConnectionClosed(job.connection);
    --busy_;
    poked_ = true;  // a connection slot is free
    wake_.notify_one();
    idle_cv_.notify_all();
  };
  BatchPtr batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) batch = scheduler_.TakeBatch(job.connection, Now());
  }
  if (!batch) {
    finish();
    return;
  }

  // Connect: hosts in order, each host's addresses in order; a host that refuses us at the
  // greeting (or lacks TLS we require) is skipped like one that does not answer.
  const Destination& dest = job.destination;
  const bool static_route = dest.route.has_value();
  std::unique_ptr<net::Transport> transport;
  std::unique_ptr<SmtpClient> client;
  VerdictPtr failure;
  std::string remote;
  for (const auto& host : dest.hosts) {
    auto addrs = HostAddresses(host.name, resolver_);
    if (!addrs.ok() || addrs->empty()) {
      failure = Local(Reason::kHostUnknown, false, "4.4.4",
                      "451 4.4.4 No address for mail server " + host.name);
      continue;
    }
    for (const auto& addr : *addrs) {
      auto t = dialer_.Dial(addr, host.port, config_.connect_timeout);
      if (!t.ok()) {
        failure = Local(Reason::kNetworkError, false, "4.4.1",
                        "421 4.4.1 Connection to " + host.name + " [" + addr +
                            "]:" + std::to_string(host.port) + " failed: " + t.status().message());
        continue;
      }
      SmtpClientOptions o;
      o.helo_name = config_.hostname;
      o.tls = config_.tls;
      if ((static_route && dest.route->require_tls) || batch->message->require_tls) {
        o.tls = TlsMode::kRequire;
      }
      o.tls_server_name = host.name;
      if (static_route) {
        o.auth_user = dest.route->auth_user;
        o.auth_password = dest.route->auth_password;
        o.allow_auth_without_tls = config_.allow_auth_without_tls;
      }
      o.connect = config_.connect_timeout;
      o.greeting = config_.command_timeout;
      o.command = config_.command_timeout;
      o.data_block = config_.data_timeout;
      o.data_done = config_.data_timeout;
      auto c = std::make_unique<SmtpClient>(**t, o);
      SmtpReply refusal;
      Status st = c->Open(&refusal);
      if (st.ok()) {
        transport = std::move(t).value();
        client = std::move(c);
        remote = addr;
        std::lock_guard<std::mutex> cl(conn_mu_);
        active_.push_back(transport.get());
        break;
      }
      if (refusal.code != 0) {
        failure = Classify(refusal);
        // A refusal at the greeting or EHLO is about this host, not the message: retry.
        if (failure->permanent) {
          failure =
              Local(failure->reason, false, "4.4.2", refusal.Line() + " (from " + host.name + ")");
        }
      } else if (st.code() == StatusCode::kFailedPrecondition) {
        failure = Local(Reason::kPolicy, false, "4.7.10",
                        "451 4.7.10 TLS is required but " + host.name + " [" + addr +
                            "] does not offer STARTTLS");
      } else {
        failure = Local(Reason::kNetworkError, false, "4.4.2",
                        "421 4.4.2 " + host.name + " [" + addr + "]: " + st.message());
      }
      c.reset();
    }
    if (client) break;
  }
  if (!client) {
    if (!failure) {
      failure = Local(Reason::kHostUnknown, false, "4.4.4", "451 4.4.4 No mail server to try");
    }
    std::vector<Decision> d;
    {
      std::lock_guard<std::mutex> lock(mu_);
      d = scheduler_.OnConnectionFailed(job.connection, batch, failure, true, Now());
    }
    sink_.Record(d);
    finish();
    return;
  }

  // Transactions, one batch at a time, RSET between.
  std::string cached_id;
  spool::SpoolRecord record;
  nlohmann::json envelope;
  std::string signed_body;
  std::string mail_from_domain;
  bool first = true;
  while (batch) {
    if (!first) {
      Status rs = client->Reset();
      if (!rs.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        scheduler_.ReturnBatch(job.connection, std::move(batch));
        break;
      }
    }
    first = false;
    std::vector<RecipientResult> results;
    bool throttled = false;
    bool broken = false;
    if (cached_id != batch->message->id) {
      auto rec = spool_.Read(batch->message->id);
      cached_id.clear();
      if (rec.ok()) {
        record = std::move(rec).value();
        envelope = nlohmann::json::parse(record.envelope, nullptr, false);
        cached_id = batch->message->id;
        signed_body.clear();
        mail_from_domain.clear();
        if (egress_ && batch->message->account_id != 0 && envelope.is_object()) {
          EgressPolicy p = egress_(batch->message->account_id, FromDomain(envelope));
          if (p.dkim) {
            auto sig = mail::SignDkim(*p.dkim, record.body, Now());
            if (sig.ok()) {
              signed_body = *sig + record.body;
            } else {
              LogWarn("dkim signing failed", {{"message_id", cached_id},
                                              {"domain", p.dkim->domain},
                                              {"error", sig.status().ToString()}});
            }
          }
          mail_from_domain = p.mail_from_domain;
        }
      } else {
        LogError("spool read failed",
                 {{"message_id", batch->message->id}, {"error", rec.status().ToString()}});
      }
    }
    if (cached_id.empty()) {
      // The spool cannot give the message back: nothing can be sent for it.
      auto v = Local(Reason::kSystemError, true, "5.3.0",
                     "554 5.3.0 The message could not be read from the spool");
      for (const auto& r : batch->recipients) results.push_back({r.index, false, "", v});
    } else {
      Envelope env;
      std::string domain =
          config_.return_path_domain.empty() ? config_.hostname : config_.return_path_domain;
      if (!mail_from_domain.empty()) domain = mail_from_domain;
      mail::VerpTarget target;
      target.message_id = batch->message->id;
      target.recipient = batch->recipients.size() == 1 ? batch->recipients[0].index : UINT32_MAX;
      auto token = mail::EncodeVerpLocalPart(target, config_.verp_secret);
      env.mail_from = (token.ok() ? *token : std::string("bounces")) + "@" + domain;
      for (const auto& r : batch->recipients) {
        env.recipients.push_back(r.address);
        if (NeedsSmtpUtf8(r.address)) env.smtputf8 = true;
      }
      const std::string& body = signed_body.empty() ? record.body : signed_body;
      env.eightbit = NeedsSmtpUtf8(body);
      if (batch->message->require_tls && !client->server().tls) {
        auto v = Local(Reason::kPolicy, false, "4.7.10",
                       "451 4.7.10 TLS is required for this message but the connection is "
                       "not encrypted");
        for (const auto& r : batch->recipients) results.push_back({r.index, false, "", v});
      } else {
        SendOutcome out = client->Send(env, body);
        VerdictPtr mail_v = out.mail.code >= 400 ? Classify(out.mail) : nullptr;
        VerdictPtr data_v = (out.data.code >= 400 || (out.data.code != 0 && out.data.code < 200))
                                ? Classify(out.data)
                                : nullptr;
        VerdictPtr lost;
        if (out.kind == SendOutcome::Kind::kBroken) {
          broken = true;
          lost = Local(Reason::kNetworkError, false, "4.4.2",
                       "421 4.4.2 Connection to " + remote + " lost: " + out.error);
        }
        throttled = IsThrottle(out.mail, mail_v) || IsThrottle(out.data, data_v);
        for (size_t i = 0; i < batch->recipients.size(); ++i) {
          RecipientResult rr;
          rr.index = batch->recipients[i].index;
          const SmtpReply& rc = i < out.rcpt.size() ? out.rcpt[i] : SmtpReply{};
          if (mail_v) {
            rr.verdict = mail_v;
          } else if (rc.code >= 400) {
            rr.verdict = Classify(rc);
            if (IsThrottle(rc, rr.verdict)) throttled = true;
          } else if (out.kind == SendOutcome::Kind::kCompleted && out.data.Positive()) {
            rr.delivered = true;
            rr.smtp_response = out.data.Line();
          } else if (data_v) {
            rr.verdict = data_v;
          } else {
            rr.verdict = lost ? lost
                              : Local(Reason::kNetworkError, false, "4.4.2",
                                      "421 4.4.2 No reply for the recipient from " + remote);
          }
          results.push_back(std::move(rr));
        }
      }
    }
    std::vector<Decision> d;
    {
      std::lock_guard<std::mutex> lock(mu_);
      d = scheduler_.OnBatchResult(job.connection, batch, results, throttled, remote, Now());
      batch = nullptr;
      if (!broken && client->Usable() && !stopping_) {
        batch = scheduler_.TakeBatch(job.connection, Now());
      }
    }
    sink_.Record(d);
  }
  if (!batch) client->Quit();
  {
    std::lock_guard<std::mutex> cl(conn_mu_);
    active_.erase(std::remove(active_.begin(), active_.end(), transport.get()), active_.end());
  }
  client.reset();
  transport.reset();
  finish();
}

std::vector<DestinationStats> DeliveryEngine::Queues() {
  std::lock_guard<std::mutex> lock(mu_);
  return scheduler_.Stats();
}

SchedulerCounters DeliveryEngine::Counters() {
  std::lock_guard<std::mutex> lock(mu_);
  return scheduler_.counters();
}

void DeliveryEngine::Hold(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  scheduler_.Hold(key);
}

void DeliveryEngine::Release(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    scheduler_.Release(key);
  }
  Poke();
}

size_t DeliveryEngine::RetryNow(const std::string& key) {
  size_t n = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    n = scheduler_.RetryNow(key, Now());
  }
  Poke();
  return n;
}

size_t DeliveryEngine::BounceMessage(const std::string& message_id) {
  std::vector<Decision> d;
  {
    std::lock_guard<std::mutex> lock(mu_);
    d = scheduler_.BounceMessage(
        message_id,
        Local(Reason::kPolicy, true, "5.3.0", "554 5.3.0 Message deleted by the operator"), Now());
  }
  sink_.Record(d);
  return d.size();
}

bool DeliveryEngine::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [this] {
    if (!incoming_.empty() || busy_ > 0 || !resolve_jobs_.empty() || poked_) return false;
    if (scheduler_.HasDueWork(Now())) return false;
    // Nothing due now: what is left waits for a later time.
    for (const auto& s : scheduler_.Stats()) {
      if (s.ready > 0 && !s.held && s.paused_until <= Now()) return false;
    }
    return true;
  });
}

}  // namespace herald::delivery
