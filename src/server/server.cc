#include "server/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/http_listener.h"
#include "api/identity_verifier.h"
#include "api/sesv2_api.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/log.h"
#include "dns/resolver.h"
#include "events/jsonl_event_log.h"
#include "mail/mime_builder.h"
#include "net/smtp_listener.h"
#include "sending/sending_service_impl.h"
#include "spool/log_spool.h"
#include "store/sqlite/sqlite_store.h"

namespace herald::server {
namespace {

// Verification for identities: mail with a link for addresses, a TXT record for domains.
class IdentityVerifierImpl final : public api::IdentityVerifier {
 public:
  IdentityVerifierImpl(const Config& config, Clock& clock, spool::Spool& spool,
                       dns::Resolver& resolver)
      : config_(config), clock_(clock), spool_(spool), resolver_(resolver) {}

  // The message goes straight into the spool as herald's own mail: it is not the account's
  // send, so it is not subject to the account's sandbox, quota or identity checks.
  void SendVerificationEmail(const sending::Principal& principal, const std::string& address,
                             const std::string& token) override {
    std::string base =
        config_.public_url.empty() ? "http://" + config_.http_listen : config_.public_url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    const std::string link = base + "/_herald/verify-email?token=" + token;
    const SysTime now = clock_.Now();
    const std::string id = sending::NewMessageId(now);
    mail::SimpleMessage m;
    m.from = "no-reply@" + config_.hostname;
    m.to = {address};
    m.subject = "Verify your email address for sending with herald";
    m.text = "Someone asked to send email as " + address + " through herald (account " +
             principal.account_name +
             ").\n\nIf that was you, open this link within 24 hours to confirm:\n\n" + link +
             "\n\nIf it was not you, ignore this message: nothing is sent as you unless the "
             "link is opened.\n";
    m.message_id = id + "@" + config_.hostname;
    m.date = FormatRfc5322Date(now);
    auto body = mail::BuildMime(m);
    if (!body.ok()) {
      LogError("verification mail not built", {{"error", body.status().ToString()}});
      return;
    }
    spool::SpoolRecord rec;
    rec.id = id;
    rec.recipient_count = 1;
    rec.envelope = nlohmann::json({{"v", 1},
                                   {"account_id", 0},
                                   {"kind", "identity-verification"},
                                   {"recipients", {address}},
                                   {"mail", nlohmann::json::object()}})
                       .dump();
    rec.body = std::move(body).value();
    Status st = spool_.Store(rec);
    if (!st.ok()) {
      LogError("verification mail not spooled", {{"error", st.ToString()}});
      return;
    }
    LogInfo("verification mail queued", {{"identity", address}, {"message_id", id}});
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

 private:
  const Config& config_;
  Clock& clock_;
  spool::Spool& spool_;
  dns::Resolver& resolver_;
};

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(const Config& config) : config_(config) {}

  Status Init() {
    ASSIGN_OR_RETURN(store_, OpenStore(config_));
    spool::LogSpoolOptions sopts;
    sopts.segment_bytes = static_cast<uint64_t>(config_.spool_segment_bytes);
    ASSIGN_OR_RETURN(spool_, spool::LogSpool::Open(config_.data_dir + "/spool", sopts));
    ASSIGN_OR_RETURN(events_, events::JsonlEventLog::Open(config_.data_dir + "/events.jsonl"));

    sending::SendingConfig sc;
    sc.region = config_.region;
    sc.hostname = config_.hostname;
    sc.sandbox_max_24h_send = config_.sandbox_max_24h_send;
    sc.sandbox_max_send_rate = config_.sandbox_max_send_rate;
    sc.production_max_24h_send = config_.production_max_24h_send;
    sc.production_max_send_rate = config_.production_max_send_rate;
    sc.max_recipients = config_.max_recipients;
    sc.max_message_bytes = config_.max_message_bytes;
    sending_ =
        std::make_unique<sending::SendingServiceImpl>(sc, clock_, *store_, *spool_, *events_);
    ASSIGN_OR_RETURN(int64_t queued, sending_->Recover());
    LogInfo("spool recovered", {{"queued_messages", std::to_string(queued)}});

    credentials_ = std::make_unique<sending::StoreCredentialLookup>(*store_, config_.region);
    resolver_ = dns::NewCaresResolver(config_.dns_server, std::chrono::milliseconds(3000));
    verifier_ = std::make_unique<IdentityVerifierImpl>(config_, clock_, *spool_, *resolver_);

    api::ApiConfig ac;
    ac.region = config_.region;
    ac.hostname = config_.hostname;
    ac.sandbox = {static_cast<double>(config_.sandbox_max_24h_send), config_.sandbox_max_send_rate};
    ac.production = {static_cast<double>(config_.production_max_24h_send),
                     config_.production_max_send_rate};
    ac.max_recipients = static_cast<int>(config_.max_recipients);
    ac.max_message_bytes = static_cast<size_t>(config_.max_message_bytes);
    api_ =
        std::make_unique<api::SesV2Api>(ac, *store_, *sending_, *credentials_, *verifier_, clock_);
    api::HttpListenerConfig hc;
    hc.listen = config_.http_listen;
    hc.max_body_bytes = static_cast<size_t>(config_.http_max_body_bytes);
    hc.threads = static_cast<int>(config_.http_threads);
    hc.read_timeout_seconds = static_cast<int>(config_.http_read_timeout_seconds);
    http_ = std::make_unique<api::HttpListener>(hc, *api_);

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

  Status Start() override {
    RETURN_IF_ERROR(http_->Start());
    if (smtp_) RETURN_IF_ERROR(smtp_->Start());
    nlohmann::json ready = {{"http", http_->BoundAddress()},
                            {"smtp", smtp_ ? smtp_->BoundAddress() : ""},
                            {"pid", static_cast<int64_t>(getpid())}};
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
    http_->Stop();
    std::error_code ec;
    std::filesystem::remove(config_.data_dir + "/ready.json", ec);
  }

  std::string HttpAddress() const override { return http_->BoundAddress(); }
  std::string SmtpAddress() const override { return smtp_ ? smtp_->BoundAddress() : ""; }

 private:
  const Config config_;
  SystemClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<spool::LogSpool> spool_;
  std::unique_ptr<events::JsonlEventLog> events_;
  std::unique_ptr<sending::SendingServiceImpl> sending_;
  std::unique_ptr<sending::StoreCredentialLookup> credentials_;
  std::unique_ptr<dns::Resolver> resolver_;
  std::unique_ptr<IdentityVerifierImpl> verifier_;
  std::unique_ptr<api::SesV2Api> api_;
  std::unique_ptr<api::HttpListener> http_;
  std::unique_ptr<net::SmtpListener> smtp_;
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
