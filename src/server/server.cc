#include "server/server.h"

#include <openssl/crypto.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "api/engagement_endpoints.h"
#include "api/http_listener.h"
#include "api/identity_verifier.h"
#include "api/sesv2_api.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/strings.h"
#include "delivery/engine.h"
#include "dns/resolver.h"
#include "events/event_metrics.h"
#include "events/http_poster.h"
#include "events/jsonl_event_log.h"
#include "events/kafka_producer.h"
#include "events/sns.h"
#include "mail/mime_builder.h"
#include "net/feedback_listener.h"
#include "net/smtp_listener.h"
#include "net/transport.h"
#include "publishing/event_dispatcher.h"
#include "sending/delivery_outcomes.h"
#include "sending/egress_identity.h"
#include "sending/engagement_service.h"
#include "sending/feedback_forward.h"
#include "sending/feedback_service.h"
#include "sending/identity_notifier.h"
#include "sending/outcome_observer.h"
#include "sending/reputation_service.h"
#include "sending/sending_service_impl.h"
#include "sending/sent_index.h"
#include "sending/ses_events.h"
#include "sending/suppression.h"
#include "spool/fs.h"
#include "spool/log_spool.h"
#include "store/sqlite/sqlite_store.h"

namespace herald::server {
namespace {

// herald's own mail (verification links, reputation notices, forwarded feedback): written
// straight into the spool as account 0 (not subject to any account's sandbox, quota or
// identity checks, and producing no events), then handed to delivery. `body` is the whole
// message; `id` its spool id.
Status SpoolOwnBody(spool::Spool& spool, const sending::DeliveryHook& deliver, SysTime now,
                    const std::string& id, const std::string& to, std::string body,
                    const char* kind) {
  spool::SpoolRecord rec;
  rec.id = id;
  rec.recipient_count = 1;
  rec.envelope = nlohmann::json({{"v", 1},
                                 {"account_id", 0},
                                 {"kind", kind},
                                 {"recipients", {to}},
                                 {"mail", nlohmann::json::object()}})
                     .dump();
  rec.body = std::move(body);
  RETURN_IF_ERROR(spool.Store(rec));
  LogInfo("own mail queued", {{"kind", kind}, {"to", to}, {"message_id", id}});
  if (deliver) {
    sending::QueuedDelivery qd;
    qd.message_id = id;
    qd.account_id = 0;
    qd.accepted = now;
    qd.recipients.emplace_back(0, to);
    deliver(std::move(qd));
  }
  return Status::Ok();
}

// A simple text message of herald's own, built and spooled; failures are logged.
void SpoolOwnMail(const Config& config, Clock& clock, spool::Spool& spool,
                  const sending::DeliveryHook& deliver, const std::string& to,
                  const std::string& subject, const std::string& text, const char* kind) {
  const SysTime now = clock.Now();
  const std::string id = sending::NewMessageId(now);
  mail::SimpleMessage m;
  m.from = "no-reply@" + config.hostname;
  m.to = {to};
  m.subject = subject;
  m.text = text;
  m.message_id = id + "@" + config.hostname;
  m.date = FormatRfc5322Date(now);
  auto body = mail::BuildMime(m);
  if (!body.ok()) {
    LogError("own mail not built", {{"kind", kind}, {"error", body.status().ToString()}});
    return;
  }
  Status st = SpoolOwnBody(spool, deliver, now, id, to, std::move(body).value(), kind);
  if (!st.ok()) LogError("own mail not spooled", {{"kind", kind}, {"error", st.ToString()}});
}

// Email feedback forwarding: a bounce as a DSN, a complaint as an ARF report, sent to the
// sender as herald's own mail.
class SpoolingForwarder final : public sending::FeedbackForwarder {
 public:
  SpoolingForwarder(const Config& config, Clock& clock, spool::Spool& spool,
                    const sending::DeliveryHook& deliver)
      : config_(config), clock_(clock), spool_(spool), deliver_(deliver) {}

  Status Forward(const nlohmann::json& event, const std::string& to) override {
    const SysTime now = clock_.Now();
    const std::string id = sending::NewMessageId(now);
    sending::ForwardOptions o;
    o.hostname = config_.hostname;
    o.to = to;
    o.message_id = id + "@" + config_.hostname;
    o.now = now;
    ASSIGN_OR_RETURN(std::string body, sending::BuildFeedbackForward(event, o));
    return SpoolOwnBody(spool_, deliver_, now, id, to, std::move(body), "feedback-forward");
  }

 private:
  const Config& config_;
  Clock& clock_;
  spool::Spool& spool_;
  const sending::DeliveryHook& deliver_;  // set once delivery is started
};

// Verification for identities: mail with a link for addresses, a TXT record for domains.
// Links lead to http.public_url, else to the address the HTTP listener really bound
// (`http_address`: with port 0 in the configuration only the bound one is reachable).
class IdentityVerifierImpl final : public api::IdentityVerifier {
 public:
  IdentityVerifierImpl(const Config& config, Clock& clock, spool::Spool& spool,
                       dns::Resolver& resolver, sending::DeliveryHook deliver,
                       std::function<std::string()> http_address)
      : config_(config),
        clock_(clock),
        spool_(spool),
        resolver_(resolver),
        deliver_(std::move(deliver)),
        http_address_(std::move(http_address)) {}

  // The message goes straight into the spool as herald's own mail: it is not the account's
  // send, so it is not subject to the account's sandbox, quota or identity checks.
  void SendVerificationEmail(const sending::Principal& principal, const std::string& address,
                             const std::string& token) override {
    std::string bound = http_address_ ? http_address_() : std::string();
    if (bound.empty()) bound = config_.http_listen;
    std::string base = config_.public_url.empty() ? "http://" + bound : config_.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string link = base + "/_herald/verify-email?token=" + token;
    SpoolOwnMail(config_, clock_, spool_, deliver_, address,
                 "Verify your email address for sending with herald",
                 "Someone asked to send email as " + address + " through herald (account " +
                     principal.account_name +
                     ").\n\nIf that was you, open this link within 24 hours to confirm:\n\n" +
                     link +
                     "\n\nIf it was not you, ignore this message: nothing is sent as you unless "
                     "the link is opened.\n",
                 "identity-verification");
  }

  store::VerificationStatus CheckDomain(const std::string& domain,
                                        const std::string& token) override {
    auto txt = resolver_.LookupTxt("_amazonses." + domain);
    if (!txt.ok()) {
      LogWarn("domain check failed", {{"domain", domain}, {"error", txt.status().ToString()}});
      return store::VerificationStatus::kTemporaryFailure;
    }
    for (const auto& s : *txt) {
      if (s == token) return store::VerificationStatus::kSuccess;
    }
    return store::VerificationStatus::kPending;
  }

  // DKIM records and MAIL FROM SPF records (api/identity_verifier.h).
  StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) override {
    return resolver_.LookupTxt(name);
  }

 private:
  const Config& config_;
  Clock& clock_;
  spool::Spool& spool_;
  dns::Resolver& resolver_;
  sending::DeliveryHook deliver_;
  std::function<std::string()> http_address_;
};

// An operator's key file: its first line, at least 32 bytes.
StatusOr<std::string> ReadKeyFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return InvalidArgumentError("cannot read key file " + path);
  if (line.size() < 32) return InvalidArgumentError("key file " + path + " holds under 32 bytes");
  return line;
}

// A secret kept in DATA_DIR/<name> (mode 0600), made on first start.
StatusOr<std::string> LoadOrCreateSecret(const std::string& data_dir, const std::string& name) {
  const std::string path = data_dir + "/" + name;
  {
    std::ifstream in(path);
    std::string line;
    if (in && std::getline(in, line) && line.size() >= 32) return line;
  }
  const std::string secret = HexEncode(RandomBytes(32));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << secret << "\n";
    if (!out) return UnavailableError("cannot write " + tmp);
  }
  if (chmod(tmp.c_str(), 0600) != 0) return UnavailableError("cannot chmod " + tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return UnavailableError("cannot write " + path + ": " + ec.message());
  return secret;
}

nlohmann::json QueueJson(delivery::DeliveryEngine& engine) {
  nlohmann::json dests = nlohmann::json::array();
  for (const auto& d : engine.Queues()) {
    nlohmann::json j = {{"destination", d.key},
                        {"ready", d.ready},
                        {"deferred", d.deferred},
                        {"connections", d.connections},
                        {"connection_limit", d.connection_limit},
                        {"held", d.held},
                        {"last_reply", sending::ToValidUtf8(d.last_reply)},
                        {"delivered", d.delivered},
                        {"bounced", d.bounced},
                        {"deferrals", d.deferrals}};
    if (d.oldest != SysTime()) j["oldest"] = FormatIso8601Millis(d.oldest);
    if (d.paused_until != SysTime()) j["paused_until"] = FormatIso8601Millis(d.paused_until);
    dests.push_back(std::move(j));
  }
  const auto c = engine.Counters();
  return {{"destinations", dests},
          {"counters",
           {{"queued_recipients", c.queued_recipients},
            {"delivered", c.delivered},
            {"bounced", c.bounced},
            {"deferred", c.deferred},
            {"expired", c.expired},
            {"connections_opened", c.connections_opened},
            {"connection_failures", c.connection_failures},
            {"throttled", c.throttled}}}};
}

// The value of `name` in the query of `target`, percent-decoded; "" when absent.
std::string QueryParam(const std::string& target, const std::string& name) {
  size_t q = target.find('?');
  if (q == std::string::npos) return "";
  auto hex = [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
           : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
           : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                       : -1;
  };
  const std::string query = target.substr(q + 1);
  for (std::string_view part : Split(query, '&')) {
    size_t eq = part.find('=');
    if (eq == std::string::npos || part.substr(0, eq) != name) continue;
    std::string v;
    const std::string_view raw = part.substr(eq + 1);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size() && hex(raw[i + 1]) >= 0 && hex(raw[i + 2]) >= 0) {
        v += static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
        i += 2;
      } else {
        v += raw[i] == '+' ? ' ' : raw[i];
      }
    }
    return v;
  }
  return "";
}

// The operator's HTTP endpoints under /_herald/admin/, for the `herald` command on this
// host: they need the token in DATA_DIR/admin.token (only the data directory's owner can
// read it). Everything else goes to the SES API.
class AdminRouter final : public api::HttpHandler {
 public:
  AdminRouter(std::string token, api::HttpHandler& next, delivery::DeliveryEngine* engine,
              sending::FeedbackService* feedback, store::Store& store,
              sending::ReputationService& reputation)
      : token_(std::move(token)),
        next_(next),
        engine_(engine),
        feedback_(feedback),
        store_(store),
        reputation_(reputation) {}

  api::HttpResponse Handle(const api::HttpRequest& req) override {
    if (req.target.rfind("/_herald/admin/", 0) != 0) return next_.Handle(req);
    api::HttpResponse r;
    r.headers.emplace_back("Content-Type", "application/json");
    std::string given;
    for (const auto& [k, v] : req.headers) {
      if (strcasecmp(k.c_str(), "X-Herald-Admin-Token") == 0) given = v;
    }
    if (given.size() != token_.size() ||
        CRYPTO_memcmp(given.data(), token_.data(), given.size()) != 0) {
      r.status = 403;
      r.body = R"({"error":"bad or missing admin token"})";
      return r;
    }
    if (req.target.substr(0, req.target.find('?')) == "/_herald/admin/feedback") {
      if (req.method != "GET") {
        r.status = 404;
        r.body = R"({"error":"no such admin endpoint"})";
      } else if (feedback_ == nullptr) {
        r.status = 409;
        r.body = R"j({"error":"the feedback MX is off (feedback.listen is empty)"})j";
      } else {
        r.body = feedback_->CountersJson().dump();
      }
      return r;
    }
    if (req.target.rfind("/_herald/admin/reputation", 0) == 0 ||
        req.target.rfind("/_herald/admin/guard", 0) == 0) {
      return Reputation(req, std::move(r));
    }
    if (engine_ == nullptr) {
      r.status = 409;
      r.body = R"j({"error":"delivery is disabled (delivery.enabled = false)"})j";
      return r;
    }
    const std::string path = req.target.substr(0, req.target.find('?'));
    const std::string dest = QueryParam(req.target, "destination");
    nlohmann::json out;
    if (path == "/_herald/admin/queue" && req.method == "GET") {
      out = QueueJson(*engine_);
    } else if (path == "/_herald/admin/queue/retry" && req.method == "POST") {
      out = {{"retried", engine_->RetryNow(dest)}};
    } else if (path == "/_herald/admin/queue/hold" && req.method == "POST" && !dest.empty()) {
      engine_->Hold(dest);
      out = {{"held", dest}};
    } else if (path == "/_herald/admin/queue/release" && req.method == "POST" && !dest.empty()) {
      engine_->Release(dest);
      out = {{"released", dest}};
    } else if (path == "/_herald/admin/queue/bounce" && req.method == "POST") {
      const std::string id = QueryParam(req.target, "message_id");
      if (id.empty()) {
        r.status = 400;
        r.body = R"({"error":"message_id is required"})";
        return r;
      }
      out = {{"bounced_recipients", engine_->BounceMessage(id)}};
    } else {
      r.status = 404;
      r.body = R"({"error":"no such admin endpoint"})";
      return r;
    }
    r.body = out.dump();
    return r;
  }

 private:
  static api::HttpResponse Fail(api::HttpResponse r, const Status& st) {
    switch (st.code()) {
      case StatusCode::kNotFound:
        r.status = 404;
        break;
      case StatusCode::kInvalidArgument:
        r.status = 400;
        break;
      case StatusCode::kFailedPrecondition:
        r.status = 409;
        break;
      default:
        r.status = 500;
    }
    r.body = nlohmann::json({{"error", st.message()}}).dump();
    return r;
  }

  // /_herald/admin/reputation[/cases|/list|/pause|/resume|/accept|/reject|/respond] and
  // /_herald/admin/guard[/confirm|/release]: what `herald review` and `herald guard` call.
  api::HttpResponse Reputation(const api::HttpRequest& req, api::HttpResponse r) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    const bool get = req.method == "GET";
    const bool post = req.method == "POST";
    if (path == "/_herald/admin/guard" && get) {
      r.body = reputation_.SuspectBursts().dump();
      return r;
    }
    if ((path == "/_herald/admin/guard/confirm" || path == "/_herald/admin/guard/release") &&
        post) {
      const std::string id_text = QueryParam(req.target, "id");
      uint64_t id = 0;
      auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
      if (ec != std::errc() || end != id_text.data() + id_text.size() || id_text.empty()) {
        return Fail(std::move(r), InvalidArgumentError("id must be a number"));
      }
      const bool confirm = path.ends_with("/confirm");
      auto n = confirm ? reputation_.ConfirmBurst(id) : reputation_.ReleaseBurst(id);
      if (!n.ok()) return Fail(std::move(r), n.status());
      r.body = nlohmann::json({{confirm ? "confirmed" : "released", *n}}).dump();
      return r;
    }
    if (path == "/_herald/admin/reputation/list" && get) {
      auto accounts = store_.ListAccounts();
      if (!accounts.ok()) return Fail(std::move(r), accounts.status());
      nlohmann::json out = nlohmann::json::array();
      for (const auto& a : *accounts) {
        if (a.enforcement_state == "healthy") continue;
        out.push_back({{"account", a.name},
                       {"state", a.enforcement_state},
                       {"enforcement_status", a.enforcement_status}});
      }
      r.body = out.dump();
      return r;
    }
    auto account = store_.GetAccountByName(QueryParam(req.target, "account"));
    if (!account.ok()) return Fail(std::move(r), account.status());
    const int64_t id = account->id;
    StatusOr<nlohmann::json> out = NotFoundError("no such admin endpoint");
    if (path == "/_herald/admin/reputation" && get) {
      out = reputation_.Describe(id);
    } else if (path == "/_herald/admin/reputation/cases" && get) {
      out = reputation_.Cases(id);
    } else if (path == "/_herald/admin/reputation/pause" && post) {
      out = reputation_.Pause(id, QueryParam(req.target, "reason"));
    } else if (path == "/_herald/admin/reputation/resume" && post) {
      out = reputation_.Resume(id);
    } else if (path == "/_herald/admin/reputation/accept" && post) {
      // Reinstatement follows the sender's answers (SES's three questions).
      auto cases = reputation_.Cases(id);
      if (!cases.ok()) return Fail(std::move(r), cases.status());
      const bool answered = !cases->empty() && (*cases)[0].value("status", "") == "open" &&
                            (*cases)[0].contains("answers") && (*cases)[0]["answers"].is_object();
      if (!answered && QueryParam(req.target, "without_answers") != "1") {
        return Fail(std::move(r),
                    FailedPreconditionError("the review case has no answers yet (herald review "
                                            "respond), or there is no open case"));
      }
      out = reputation_.Accept(id);
    } else if (path == "/_herald/admin/reputation/reject" && post) {
      out = reputation_.Reject(id);
    } else if (path == "/_herald/admin/reputation/respond" && post) {
      nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object()) return Fail(std::move(r), InvalidArgumentError("body: JSON object"));
      sending::ReviewAnswers a;
      a.root_cause = body.value("root_cause", "");
      a.changes = body.value("changes", "");
      a.prevention = body.value("prevention", "");
      if (body.contains("effective_ms") && body["effective_ms"].is_number_integer()) {
        a.effective = FromUnixMillis(body["effective_ms"].get<int64_t>());
      }
      Status st = reputation_.Respond(id, a);
      if (!st.ok()) return Fail(std::move(r), st);
      out = nlohmann::json({{"answered", true}});
    }
    if (!out.ok()) return Fail(std::move(r), out.status());
    r.body = out->dump();
    return r;
  }

  const std::string token_;
  api::HttpHandler& next_;
  delivery::DeliveryEngine* engine_;
  sending::FeedbackService* feedback_;
  store::Store& store_;
  sending::ReputationService& reputation_;
};

// The feedback MX's door into the FeedbackService.
class FeedbackReceiverImpl final : public net::FeedbackReceiver {
 public:
  explicit FeedbackReceiverImpl(sending::FeedbackService& service) : service_(service) {}
  std::string CheckRecipient(const std::string& address) override {
    return service_.CheckRecipient(address);
  }
  StatusOr<std::string> Receive(const std::string& peer_ip, std::string mail_from,
                                std::vector<std::string> recipients, std::string message) override {
    sending::InboundFeedback m;
    m.peer_ip = peer_ip;
    m.mail_from = std::move(mail_from);
    m.recipients = std::move(recipients);
    m.message = std::move(message);
    RETURN_IF_ERROR(service_.Receive(m));
    return m.id;
  }

 private:
  sending::FeedbackService& service_;
};

sending::ReputationConfig MakeReputationConfig(const Config& c) {
  sending::ReputationConfig r;
  r.window.representative_sends = c.reputation_representative_sends;
  r.window.max_age = std::chrono::hours(24 * c.reputation_max_age_days);
  auto& e = r.enforcement;
  e.review_bounce = c.reputation_review_bounce_rate;
  e.pause_bounce = c.reputation_pause_bounce_rate;
  e.severe_bounce = c.reputation_severe_bounce_rate;
  e.review_complaint = c.reputation_review_complaint_rate;
  e.pause_complaint = c.reputation_pause_complaint_rate;
  e.severe_complaint = c.reputation_severe_complaint_rate;
  e.min_sends = c.reputation_min_sends;
  e.min_fbl_sends = c.reputation_min_fbl_sends;
  e.review_period = std::chrono::hours(c.reputation_review_period_hours);
  e.pause_grace = std::chrono::hours(c.reputation_pause_grace_hours);
  e.decision_period = std::chrono::hours(c.reputation_decision_period_hours);
  e.pauses_before_suspension = static_cast<int>(c.reputation_pauses_before_suspension);
  e.suspension_memory = std::chrono::hours(24 * c.reputation_suspension_memory_days);
  r.guard.enabled = c.reputation_guard_enabled;
  r.guard.window = std::chrono::seconds(c.reputation_guard_window_seconds);
  r.guard.burst_threshold = c.reputation_guard_burst_recipients;
  r.guard.burst_fraction = c.reputation_guard_burst_fraction;
  for (const std::string& d : c.reputation_fbl_domains) r.fbl_domains.push_back(AsciiLower(d));
  r.tick_interval = std::chrono::milliseconds(c.reputation_tick_ms);
  r.suppression_purge_after = std::chrono::hours(24 * c.reputation_suppression_purge_days);
  return r;
}

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(const Config& config) : config_(config) {}

  Status Init() {
    ASSIGN_OR_RETURN(store_, OpenStore(config_));
    spool::LogSpoolOptions sopts;
    sopts.segment_bytes = static_cast<uint64_t>(config_.spool_segment_bytes);
    ASSIGN_OR_RETURN(spool_, spool::LogSpool::Open(config_.data_dir + "/spool", sopts));
    ASSIGN_OR_RETURN(events_, events::JsonlEventLog::Open(config_.data_dir + "/events.jsonl"));
    // Bounce, Complaint and Delivery events also become identity notifications and
    // forwarded feedback: every outcome is published through the notifier.
    if (config_.feedback_forwarding) {
      forwarder_ = std::make_unique<SpoolingForwarder>(config_, clock_, *spool_, own_mail_hook_);
    }
    notifier_ = std::make_unique<sending::IdentityNotifier>(*events_, *store_, forwarder_.get());
    events::EventSink* sending_events = notifier_.get();
    {
      // The feedback MX matches reports against the messages sent, and open, click and
      // subscription events carry their message's mail object: the index learns each
      // message from its Send event, and first from the tail of the log (after a restart).
      sent_index_ = std::make_unique<sending::SentIndex>(
          static_cast<size_t>(config_.feedback_index_max_bytes));
      ASSIGN_OR_RETURN(
          size_t learnt,
          sent_index_->ReplayEventLog(spool::PosixFs(), config_.data_dir + "/events.jsonl",
                                      static_cast<size_t>(config_.feedback_index_replay_events)));
      LogInfo("sent-message index replayed", {{"messages", std::to_string(learnt)}});
      indexing_events_ = std::make_unique<sending::IndexingEventSink>(*notifier_, *sent_index_);
      sending_events = indexing_events_.get();
    }
    sent_events_ = sending_events;

    sending::SendingConfig sc;
    sc.region = config_.region;
    sc.hostname = config_.hostname;
    sc.sandbox_max_24h_send = config_.sandbox_max_24h_send;
    sc.sandbox_max_send_rate = config_.sandbox_max_send_rate;
    sc.production_max_24h_send = config_.production_max_24h_send;
    sc.production_max_send_rate = config_.production_max_send_rate;
    sc.max_recipients = config_.max_recipients;
    sc.max_message_bytes = config_.max_message_bytes;
    sc.global_suppression_enabled = config_.suppression_global_enabled;
    sending_ = std::make_unique<sending::SendingServiceImpl>(sc, clock_, *store_, *spool_,
                                                             *sending_events);
    if (config_.virus_scan_enabled) {
      if (config_.clamd_address.empty()) {
        scanner_ = std::make_unique<mail::EicarScanner>();
      } else {
        mail::ClamdOptions co;
        co.address = config_.clamd_address;
        co.connect_timeout = co.read_timeout = std::chrono::milliseconds(config_.clamd_timeout_ms);
        ASSIGN_OR_RETURN(scanner_, mail::ClamdScanner::Create(co));
      }
      sending_->SetVirusScanner(scanner_.get(), config_.virus_scan_fail_open);
    }
    RETURN_IF_ERROR(InitEngagement());
    // The account and global suppression lists learn of hard bounces and complaints.
    sending::SuppressionConfig supc;
    supc.global_enabled = config_.suppression_global_enabled;
    supc.global_policy.first_listing =
        std::chrono::hours(config_.suppression_global_first_listing_hours);
    supc.global_policy.max_listing =
        std::chrono::hours(24 * config_.suppression_global_max_listing_days);
    suppression_ = std::make_unique<sending::SuppressionRecorder>(supc, *store_);
    // Every accepted message and every outcome that counts goes to observers_: the
    // reputation service counts it, and passes what its suppression guard lets through to
    // the suppression lists.
    reputation_ = std::make_unique<sending::ReputationService>(
        MakeReputationConfig(config_), clock_, *store_,
        [this](const store::Account& account, const reputation::Notice& notice, int64_t id) {
          PublishNotice(account, notice, id);
        },
        suppression_.get());
    observers_.Add(reputation_.get());
    sending_->SetOutcomeObserver(&observers_);
    resolver_ = dns::NewCaresResolver(config_.dns_server, std::chrono::milliseconds(3000));
    sending::DeliveryHook hook;
    if (config_.delivery_enabled) {
      RETURN_IF_ERROR(InitDelivery());
      hook = [this](sending::QueuedDelivery qd) {
        delivery::NewMessage m;
        m.id = std::move(qd.message_id);
        m.account_id = qd.account_id;
        m.accepted = qd.accepted;
        // The configuration set's DeliveryOptions (kept in the envelope at acceptance);
        // without one, delivery.max_delivery_seconds.
        m.max_delivery = qd.max_delivery.count() > 0
                             ? qd.max_delivery
                             : std::chrono::seconds(config_.delivery_max_delivery_seconds);
        m.require_tls = qd.require_tls;
        for (auto& [index, address] : qd.recipients) {
          m.recipients.push_back({index, std::move(address)});
        }
        engine_->Enqueue(std::move(m));
      };
      sending_->SetDeliveryHook(hook);
    }
    own_mail_hook_ = hook;
    ASSIGN_OR_RETURN(int64_t queued, sending_->Recover());
    LogInfo("spool recovered", {{"queued_messages", std::to_string(queued)}});

    credentials_ = std::make_unique<sending::StoreCredentialLookup>(*store_, config_.region);
    verifier_ = std::make_unique<IdentityVerifierImpl>(
        config_, clock_, *spool_, *resolver_, hook,
        [this] { return http_ ? http_->BoundAddress() : std::string(); });

    api::ApiConfig ac;
    ac.region = config_.region;
    ac.hostname = config_.hostname;
    ac.sandbox = {static_cast<double>(config_.sandbox_max_24h_send), config_.sandbox_max_send_rate};
    ac.production = {static_cast<double>(config_.production_max_24h_send),
                     config_.production_max_send_rate};
    ac.max_recipients = static_cast<int>(config_.max_recipients);
    ac.max_message_bytes = static_cast<size_t>(config_.max_message_bytes);
    RETURN_IF_ERROR(InitPublishing(&ac));
    api_ =
        std::make_unique<api::SesV2Api>(ac, *store_, *sending_, *credentials_, *verifier_, clock_);
    api::HttpListenerConfig hc;
    hc.listen = config_.http_listen;
    hc.max_body_bytes = static_cast<size_t>(config_.http_max_body_bytes);
    hc.threads = static_cast<int>(config_.http_threads);
    hc.read_timeout_seconds = static_cast<int>(config_.http_read_timeout_seconds);
    ASSIGN_OR_RETURN(std::string admin_token, LoadOrCreateSecret(config_.data_dir, "admin.token"));
    if (!config_.feedback_listen.empty()) RETURN_IF_ERROR(InitFeedback());
    admin_ = std::make_unique<AdminRouter>(admin_token, *api_, engine_.get(), feedback_.get(),
                                           *store_, *reputation_);
    http_ = std::make_unique<api::HttpListener>(hc, *admin_);

    if (!config_.smtp_listen.empty() || !config_.smtp_tls_listen.empty()) {
      net::SmtpListenerConfig mc;
      mc.listen = config_.smtp_listen;
      mc.tls_listen = config_.smtp_tls_listen;
      mc.hostname = config_.hostname;
      mc.max_message_bytes = static_cast<size_t>(config_.max_message_bytes);
      mc.max_recipients = static_cast<int>(config_.max_recipients);
      mc.max_connections = static_cast<int>(config_.smtp_max_connections);
      mc.idle_timeout_seconds = static_cast<int>(config_.smtp_idle_timeout_seconds);
      mc.max_commands = static_cast<int>(config_.smtp_max_commands);
      mc.allow_insecure_auth_on_loopback = config_.smtp_allow_insecure_auth_on_loopback;
      mc.tls_cert_file = config_.smtp_tls_cert_file;
      mc.tls_key_file = config_.smtp_tls_key_file;
      mc.data_dir = config_.data_dir;
      mc.trusted_networks = config_.smtp_trusted_networks;
      if (!config_.smtp_trusted_account.empty()) {
        ASSIGN_OR_RETURN(store::Account acc,
                         store_->GetAccountByName(config_.smtp_trusted_account));
        mc.trusted_principal.account_id = acc.id;
        mc.trusted_principal.account_name = acc.name;
      }
      smtp_ = std::make_unique<net::SmtpListener>(mc, *sending_, *credentials_);
    }
    return Status::Ok();
  }

  Status InitDelivery() {
    delivery::EngineConfig ec;
    ASSIGN_OR_RETURN(std::vector<int64_t> schedule,
                     ParseDurationList(config_.delivery_retry_schedule));
    ec.scheduler.retry_schedule.clear();
    for (int64_t s : schedule) ec.scheduler.retry_schedule.emplace_back(s);
    ec.scheduler.max_connections = static_cast<int>(config_.delivery_max_connections);
    ec.scheduler.max_connections_per_destination =
        static_cast<int>(config_.delivery_max_connections_per_destination);
    ec.scheduler.max_messages_per_connection =
        static_cast<int>(config_.delivery_max_messages_per_connection);
    ec.scheduler.max_messages_per_second_per_destination =
        config_.delivery_max_messages_per_second_per_destination;
    ec.scheduler.route_ttl = std::chrono::seconds(config_.delivery_route_ttl_seconds);
    ec.scheduler.verp_per_recipient = config_.delivery_verp_per_recipient;
    ec.hostname = config_.hostname;
    ec.return_path_domain = config_.delivery_return_path_domain;
    ASSIGN_OR_RETURN(ec.verp_secret, LoadOrCreateSecret(config_.data_dir, "verp.key"));
    for (const auto& text : config_.delivery_routes) {
      ASSIGN_OR_RETURN(delivery::StaticRoute r, ParseRouteSpec(text));
      ec.routes.push_back(std::move(r));
    }
    ec.mx_port = static_cast<uint16_t>(config_.delivery_mx_port);
    ec.tls = config_.delivery_tls == "off"       ? delivery::TlsMode::kOff
             : config_.delivery_tls == "require" ? delivery::TlsMode::kRequire
                                                 : delivery::TlsMode::kOpportunistic;
    ec.connect_timeout = std::chrono::seconds(config_.delivery_connect_timeout_seconds);
    ec.command_timeout = std::chrono::seconds(config_.delivery_command_timeout_seconds);
    ec.data_timeout = std::chrono::seconds(config_.delivery_data_timeout_seconds);
    ec.allow_auth_without_tls = config_.delivery_allow_auth_without_tls;
    mx_resolver_ = dns::NewCachingResolver(
        *resolver_, clock_, std::chrono::seconds(config_.delivery_route_ttl_seconds), 100000);
    ASSIGN_OR_RETURN(dialer_, net::NewTcpDialer(net::TcpDialerOptions{}));
    outcomes_ = std::make_unique<sending::DeliveryOutcomeRecorder>(config_.hostname, clock_,
                                                                   *spool_, *notifier_);
    outcomes_->SetOutcomeObserver(&observers_);
    delivery::EgressLookup egress = MakeEgressLookup();
    engine_ = std::make_unique<delivery::DeliveryEngine>(
        std::move(ec), clock_, *spool_, *outcomes_, *mx_resolver_, *dialer_, std::move(egress));
    return Status::Ok();
  }

  // The feedback MX: inbox, correlator, processor, service and listener.
  Status InitFeedback() {
    ASSIGN_OR_RETURN(std::string verp_secret, LoadOrCreateSecret(config_.data_dir, "verp.key"));
    ASSIGN_OR_RETURN(feedback_inbox_, sending::FeedbackInbox::Open(
                                          spool::PosixFs(), config_.data_dir + "/feedback",
                                          static_cast<size_t>(config_.feedback_max_orphans)));
    sending::CorrelatorConfig cc;
    cc.verp_secret = verp_secret;
    cc.window = std::chrono::seconds(config_.feedback_correlation_window_seconds);
    correlator_ = std::make_unique<sending::FeedbackCorrelator>(*sent_index_, cc);
    feedback_processor_ = std::make_unique<sending::FeedbackProcessor>(*correlator_, *notifier_);
    feedback_processor_->SetOutcomeObserver(&observers_);
    sending::FeedbackServiceConfig fc;
    fc.domains.push_back(config_.delivery_return_path_domain.empty()
                             ? config_.hostname
                             : config_.delivery_return_path_domain);
    for (const auto& d : config_.feedback_domains) fc.domains.push_back(d);
    fc.verp_secret = verp_secret;
    feedback_ = std::make_unique<sending::FeedbackService>(
        fc, clock_, *feedback_inbox_, *feedback_processor_,
        [this] { return IdentityMailFromDomains(); });
    feedback_receiver_ = std::make_unique<FeedbackReceiverImpl>(*feedback_);
    net::FeedbackListenerConfig lc;
    lc.listen = config_.feedback_listen;
    lc.hostname = config_.hostname;
    lc.max_message_bytes = static_cast<size_t>(config_.feedback_max_message_bytes);
    lc.max_connections = static_cast<int>(config_.feedback_max_connections);
    lc.idle_timeout_seconds = static_cast<int>(config_.smtp_idle_timeout_seconds);
    lc.max_commands = static_cast<int>(config_.smtp_max_commands);
    lc.tls_cert_file = config_.smtp_tls_cert_file;
    lc.tls_key_file = config_.smtp_tls_key_file;
    lc.data_dir = config_.data_dir;
    RETURN_IF_ERROR(net::ValidateFeedbackListenerConfig(lc));
    feedback_listener_ = std::make_unique<net::FeedbackListener>(lc, *feedback_receiver_);
    return Status::Ok();
  }

  // The verified custom MAIL FROM domains of every identity: bounces come back to them.
  StatusOr<std::vector<std::string>> IdentityMailFromDomains() {
    constexpr int kPage = 1000;
    std::vector<std::string> out;
    ASSIGN_OR_RETURN(std::vector<store::Account> accounts, store_->ListAccounts());
    for (const auto& account : accounts) {
      std::string after;
      while (true) {
        ASSIGN_OR_RETURN(std::vector<store::Identity> page,
                         store_->ListIdentities(account.id, after, kPage));
        for (const auto& identity : page) {
          if (!identity.mail_from_domain.empty() &&
              identity.mail_from_status == store::VerificationStatus::kSuccess) {
            out.push_back(identity.mail_from_domain);
          }
        }
        if (page.size() < static_cast<size_t>(kPage)) break;
        after = page.back().name;
      }
    }
    return out;
  }

  // DKIM keys and MAIL FROM domains of the sending identities, cached for a minute.
  delivery::EgressLookup MakeEgressLookup() {
    egress_ = sending::NewStoreEgressIdentityLookup(*store_, clock_, std::chrono::seconds(60),
                                                    config_.delivery_dkim_sign_pending);
    return [this](int64_t account_id, const std::string& domain) {
      sending::EgressIdentity e = egress_->For(account_id, domain);
      delivery::EgressPolicy p;
      p.dkim = std::move(e.dkim);
      p.mail_from_domain = std::move(e.mail_from_domain);
      return p;
    };
  }

  Status Start() override {
    if (engine_) engine_->Start();
    reputation_->Start();
    RETURN_IF_ERROR(http_->Start());
    if (config_.events_dispatch_enabled) {
      publishing::DispatcherConfig dc;
      dc.events_path = config_.data_dir + "/events.jsonl";
      dc.region = config_.region;
      dc.public_url =
          config_.public_url.empty() ? "http://" + http_->BoundAddress() : config_.public_url;
      while (!dc.public_url.empty() && dc.public_url.back() == '/') dc.public_url.pop_back();
      dc.signature_version = static_cast<int>(config_.events_sns_signature_version);
      dc.poll = std::chrono::milliseconds(config_.events_poll_ms);
      dc.min_backoff = std::chrono::milliseconds(config_.events_min_backoff_ms);
      dc.max_backoff = std::chrono::milliseconds(
          std::max(config_.events_min_backoff_ms, config_.events_max_backoff_ms));
      dc.notification_topics = [this] { return store_->ListIdentityNotificationTopics(); };
      dispatcher_ = std::make_unique<publishing::EventDispatcher>(
          dc, *store_, clock_, *http_poster_, *sns_signer_, kafka_.get(), metrics_.get());
      dispatcher_->Start();
    }
    if (smtp_) RETURN_IF_ERROR(smtp_->Start());
    if (feedback_) {
      RETURN_IF_ERROR(feedback_->Start());  // first what the last run left in the inbox
      RETURN_IF_ERROR(feedback_listener_->Start());
    }
    nlohmann::json ready = {{"http", http_->BoundAddress()},
                            {"smtp", smtp_ ? smtp_->BoundAddress() : ""},
                            {"pid", static_cast<int64_t>(getpid())}};
    if (feedback_listener_) ready["feedback"] = feedback_listener_->BoundAddress();
    if (smtp_ && !config_.smtp_tls_listen.empty()) ready["smtp_tls"] = smtp_->BoundTlsAddress();
    const std::string path = config_.data_dir + "/ready.json";
    {
      std::ofstream out(path + ".tmp", std::ios::trunc);
      out << ready.dump() << "\n";
      if (!out) return UnavailableError("cannot write " + path);
    }
    std::error_code ec;
    std::filesystem::rename(path + ".tmp", path, ec);
    if (ec) return UnavailableError("cannot write " + path + ": " + ec.message());
    LogInfo("ready", {{"http", http_->BoundAddress()},
                      {"smtp", smtp_ ? smtp_->BoundAddress() : std::string()},
                      {"data_dir", config_.data_dir}});
    return Status::Ok();
  }

  void Stop() override {
    if (smtp_) smtp_->Stop();
    if (feedback_listener_) feedback_listener_->Stop();
    if (feedback_) {
      feedback_->Stop();
      LogInfo("feedback counters", {{"counters", feedback_->CountersJson().dump()}});
    }
    http_->Stop();
    if (dispatcher_) dispatcher_->Stop();
    if (engine_) engine_->Stop();
    reputation_->Stop();  // a last tick saves the counts
    std::error_code ec;
    std::filesystem::remove(config_.data_dir + "/ready.json", ec);
  }

  std::string HttpAddress() const override { return http_->BoundAddress(); }
  std::string SmtpAddress() const override { return smtp_ ? smtp_->BoundAddress() : ""; }

 private:
  // Event publishing: the SNS signing key, the HTTP client of subscribers, Kafka when
  // configured and the metrics; the API learns what it needs of them.
  Status InitPublishing(api::ApiConfig* ac) {
    ASSIGN_OR_RETURN(sns_signer_, events::SnsSigner::LoadOrCreate(config_.data_dir));
    events::HttpPosterOptions ho;
    ho.connect_timeout = ho.read_timeout = ho.write_timeout =
        std::chrono::milliseconds(config_.events_http_timeout_ms);
    ho.verify_tls = config_.events_verify_tls;
    http_poster_ = events::NewHttpPoster(ho);
    metrics_ = std::make_unique<events::EventMetrics>();
    if (!config_.events_kafka_brokers.empty()) {
      events::KafkaOptions ko;
      ko.bootstrap_servers = config_.events_kafka_brokers;
      for (const std::string& p : config_.events_kafka_properties) {
        const size_t eq = p.find('=');
        if (eq == std::string::npos || eq == 0) {
          return InvalidArgumentError("events.kafka_properties: not name=value: " + p);
        }
        ko.properties.emplace_back(p.substr(0, eq), p.substr(eq + 1));
      }
      ASSIGN_OR_RETURN(kafka_, events::KafkaProducer::Create(ko));
    }
    ac->kafka_enabled = kafka_ != nullptr;
    ac->max_event_destinations = static_cast<int>(config_.events_max_destinations);
    ac->sns_cert_pem = sns_signer_->CertPem();
    const std::string path = config_.data_dir + "/events.jsonl";
    ac->event_log_end = [path]() -> uint64_t {
      struct stat st;
      return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    };
    ac->metrics_text = [this] { return metrics_->Serialize(); };
    ac->engagement = engagement_endpoints_.get();
    return Status::Ok();
  }

  // Open and click tracking and unsubscribe links: the token keys, the base URL, the
  // service behind /t/ and /u/.
  Status InitEngagement() {
    sending::EngagementConfig ec;
    if (config_.tracking_key_file.empty()) {
      ASSIGN_OR_RETURN(std::string key, LoadOrCreateSecret(config_.data_dir, "tracking.key"));
      ec.keys.push_back(std::move(key));
    } else {
      ASSIGN_OR_RETURN(std::string key, ReadKeyFile(config_.tracking_key_file));
      ec.keys.push_back(std::move(key));
    }
    for (const std::string& f : config_.tracking_previous_key_files) {
      ASSIGN_OR_RETURN(std::string key, ReadKeyFile(f));
      ec.keys.push_back(std::move(key));
    }
    ec.max_token_age_seconds = config_.tracking_token_max_age_seconds;
    ec.region = config_.region;
    sending::EngagementSettings es;
    es.key = ec.keys.front();
    es.base_url = [this]() -> std::string {
      std::string base = config_.tracking_base_url;
      if (base.empty()) base = config_.public_url;
      if (base.empty()) {
        std::string bound = http_ ? http_->BoundAddress() : std::string();
        base = "http://" + (bound.empty() ? config_.http_listen : bound);
      }
      while (!base.empty() && base.back() == '/') base.pop_back();
      return base;
    };
    sending_->SetEngagement(std::move(es));
    engagement_ = std::make_unique<sending::EngagementService>(std::move(ec), clock_, *store_,
                                                               sent_index_.get(), *sent_events_);
    engagement_endpoints_ = std::make_unique<api::EngagementEndpoints>(*engagement_);
    return Status::Ok();
  }

  // A reputation notice: a ReputationNotice line in the event log (herald's own event type)
  // and a mail to the account's contact address when it has one.
  void PublishNotice(const store::Account& account, const reputation::Notice& notice, int64_t id) {
    nlohmann::json line = {{"eventType", "ReputationNotice"},
                           {"account", account.name},
                           {"timestamp", FormatIso8601Millis(clock_.Now())},
                           {"notice",
                            {{"id", id},
                             {"kind", notice.kind},
                             {"subject", notice.subject},
                             {"metric", notice.metric},
                             {"text", notice.text}}}};
    Status st = events_->Publish(line.dump());
    if (!st.ok()) LogError("notice event not published", {{"error", st.ToString()}});
    if (!account.contact_email.empty()) {
      SpoolOwnMail(config_, clock_, *spool_, own_mail_hook_, account.contact_email, notice.subject,
                   notice.text, "reputation-notice");
    }
  }

  const Config config_;
  SystemClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<spool::LogSpool> spool_;
  std::unique_ptr<events::JsonlEventLog> events_;
  std::unique_ptr<sending::SentIndex> sent_index_;
  std::unique_ptr<sending::EngagementService> engagement_;
  std::unique_ptr<api::EngagementEndpoints> engagement_endpoints_;
  events::EventSink* sent_events_ = nullptr;  // the log, through the sent-message index
  std::unique_ptr<sending::IndexingEventSink> indexing_events_;  // feedback MX only
  std::unique_ptr<sending::SuppressionRecorder> suppression_;    // outlives observers_' use
  std::unique_ptr<sending::ReputationService> reputation_;       // the same
  sending::DeliveryHook own_mail_hook_;           // notices' and forwarded feedback's delivery
  std::unique_ptr<SpoolingForwarder> forwarder_;  // null: forwarding switched off
  std::unique_ptr<sending::IdentityNotifier> notifier_;  // in front of events_
  sending::ObserverList observers_;              // filled before the first message is accepted
  std::unique_ptr<mail::VirusScanner> scanner_;  // outlives sending_'s use
  std::unique_ptr<sending::SendingServiceImpl> sending_;
  std::unique_ptr<sending::StoreCredentialLookup> credentials_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::unique_ptr<dns::Resolver> mx_resolver_;
  std::unique_ptr<net::Dialer> dialer_;
  std::unique_ptr<sending::DeliveryOutcomeRecorder> outcomes_;
  std::unique_ptr<sending::EgressIdentityLookup> egress_;
  std::unique_ptr<delivery::DeliveryEngine> engine_;
  std::unique_ptr<AdminRouter> admin_;
  std::unique_ptr<IdentityVerifierImpl> verifier_;
  std::unique_ptr<events::SnsSigner> sns_signer_;
  events::HttpPosterPtr http_poster_;
  std::unique_ptr<events::KafkaProducer> kafka_;
  std::unique_ptr<events::EventMetrics> metrics_;
  std::unique_ptr<publishing::EventDispatcher> dispatcher_;
  std::unique_ptr<api::SesV2Api> api_;
  std::unique_ptr<api::HttpListener> http_;
  std::unique_ptr<net::SmtpListener> smtp_;
  std::unique_ptr<sending::FeedbackInbox> feedback_inbox_;
  std::unique_ptr<sending::FeedbackCorrelator> correlator_;
  std::unique_ptr<sending::FeedbackProcessor> feedback_processor_;
  std::unique_ptr<sending::FeedbackService> feedback_;
  std::unique_ptr<FeedbackReceiverImpl> feedback_receiver_;
  std::unique_ptr<net::FeedbackListener> feedback_listener_;
};

}  // namespace

StatusOr<std::unique_ptr<store::Store>> OpenStore(const Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return UnavailableError("cannot create " + config.data_dir + ": " + ec.message());
  if (chmod(config.data_dir.c_str(), 0700) != 0) {
    return UnavailableError("cannot set the mode of " + config.data_dir);
  }
  ASSIGN_OR_RETURN(auto st, store::SqliteStore::Open(config.data_dir + "/herald.db"));
  return std::unique_ptr<store::Store>(std::move(st));
}

StatusOr<std::unique_ptr<Server>> Server::Create(const Config& config) {
  auto s = std::make_unique<ServerImpl>(config);
  RETURN_IF_ERROR(s->Init());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace herald::server
