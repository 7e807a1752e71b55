#include "net/smtp_listener.h"

#include <arpa/inet.h>

#include <chrono>
#include <optional>
#include <variant>

#include "base/log.h"
#include "net/smtp_session_loop.h"
#include "net/tcp_server.h"
#include "net/tls.h"
#include "sending/reply_mapping.h"
#include "smtp/server_session.h"
#include "smtp/smtp_path.h"

namespace herald::net {
namespace {

constexpr size_t kMaxMessageBytesCeiling = size_t{1} << 30;

// The per-connection bridge between the pure session and the sending path.
class ListenerSessionHandler : public smtp::SessionHandler {
 public:
  ListenerSessionHandler(sending::SendingService& service, sending::CredentialLookup& creds,
                         std::string peer_ip)
      : service_(service), creds_(creds), peer_ip_(std::move(peer_ip)) {}

  bool Authenticate(std::string_view user, std::string_view password) override {
    std::optional<sending::Principal> p =
        creds_.AuthenticateSmtp(std::string(user), std::string(password));
    if (!p.has_value()) {
      LogInfo("smtp auth failed", {{"peer", peer_ip_}, {"user", std::string(user)}});
      return false;
    }
    principal_ = std::move(*p);
    principal_.source_ip = peer_ip_;
    return true;
  }

  std::string Deliver(smtp::Transaction& txn) override {
    sending::Submission s;
    s.principal = principal_;
    s.channel = sending::Channel::kSmtp;
    s.operation = "SendSmtpEmail";
    s.source = std::move(txn.mail_from);
    s.recipients = std::move(txn.recipients);
    s.message = std::move(txn.message);
    const sending::SubmitResult result = service_.Submit(s);
    if (const auto* ok = std::get_if<sending::Accepted>(&result)) {
      return "250 Ok " + ok->message_id;
    }
    return sending::SmtpReplyFor(std::get<sending::Rejection>(result));
  }

  const std::string& access_key_id() const { return principal_.access_key_id; }
  void Trust(const sending::Principal& p) {
    principal_ = p;
    principal_.source_ip = peer_ip_;
  }

 private:
  sending::SendingService& service_;
  sending::CredentialLookup& creds_;
  std::string peer_ip_;
  sending::Principal principal_;
};

}  // namespace

StatusOr<bool> IpInCidr(const std::string& ip, const std::string& cidr) {
  size_t slash = cidr.find('/');
  std::string net = cidr.substr(0, slash);
  unsigned char want[16], have[16];
  int family = net.find(':') == std::string::npos ? AF_INET : AF_INET6;
  const int bits_max = family == AF_INET ? 32 : 128;
  int bits = bits_max;
  if (slash != std::string::npos) {
    std::string b = cidr.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgumentError("'" + cidr + "' is not a CIDR block");
    }
    bits = std::stoi(b);
  }
  if (bits > bits_max || inet_pton(family, net.c_str(), want) != 1) {
    return InvalidArgumentError("'" + cidr + "' is not a CIDR block");
  }
  if (inet_pton(family, ip.c_str(), have) != 1) return false;
  for (int i = 0; i < bits; ++i) {
    int byte = i / 8, bit = 7 - i % 8;
    if (((want[byte] >> bit) & 1) != ((have[byte] >> bit) & 1)) return false;
  }
  return true;
}

Status ValidateSmtpListenerConfig(const SmtpListenerConfig& c) {
  if (c.listen.empty()) return InvalidArgumentError("smtp.listen must be set");
  for (const auto& cidr : c.trusted_networks) {
    auto ok = IpInCidr("127.0.0.1", cidr);
    if (!ok.ok()) return InvalidArgumentError("smtp.trusted_networks: " + ok.status().message());
  }
  if (!smtp::IsValidHostName(c.hostname)) {
    return InvalidArgumentError("smtp.hostname is not a valid host name");
  }
  if (c.max_message_bytes < 1024 || c.max_message_bytes > kMaxMessageBytesCeiling) {
    return InvalidArgumentError("smtp.max_message_bytes must be between 1 KiB and 1 GiB");
  }
  if (c.max_recipients < 1 || c.max_recipients > 10000) {
    return InvalidArgumentError("smtp.max_recipients must be between 1 and 10000");
  }
  if (c.max_connections < 1 || c.max_connections > 100000) {
    return InvalidArgumentError("smtp.max_connections must be between 1 and 100000");
  }
  if (c.idle_timeout_seconds < 1 || c.idle_timeout_seconds > 3600) {
    return InvalidArgumentError("smtp.idle_timeout_seconds must be between 1 and 3600");
  }
  if (c.max_commands < 10) return InvalidArgumentError("smtp.max_commands must be >= 10");
  if (c.shutdown_grace_seconds < 0 || c.shutdown_grace_seconds > 3600) {
    return InvalidArgumentError("smtp.shutdown_grace_seconds must be between 0 and 3600");
  }
  return Status::Ok();
}

SmtpListener::SmtpListener(const SmtpListenerConfig& config, sending::SendingService& service,
                           sending::CredentialLookup& credentials)
    : config_(config), service_(service), credentials_(credentials) {}

SmtpListener::~SmtpListener() { Stop(); }

Status SmtpListener::Start() {
  if (server_ != nullptr) return FailedPreconditionError("SMTP listener already started");
  RETURN_IF_ERROR(ValidateSmtpListenerConfig(config_));
  const bool have_tls_source =
      !config_.tls_cert_file.empty() || !config_.tls_key_file.empty() || !config_.data_dir.empty();
  if (have_tls_source) {
    ASSIGN_OR_RETURN(tls_, TlsContext::CreateServer({config_.tls_cert_file, config_.tls_key_file,
                                                     config_.data_dir, config_.hostname}));
  } else {
    if (!config_.tls_listen.empty()) {
      return InvalidArgumentError("smtp.tls_listen needs a certificate or a data_dir");
    }
    LogWarn("SMTP without TLS: no certificate and no data_dir; STARTTLS not offered");
  }
  TcpServerOptions options;
  options.listen.push_back(config_.listen);
  if (!config_.tls_listen.empty()) options.listen.push_back(config_.tls_listen);
  options.max_connections = config_.max_connections;
  server_ =
      std::make_unique<TcpServer>(options, [this](Connection& c, bool over) { Serve(c, over); });
  Status s = server_->Start();
  if (!s.ok()) {
    server_.reset();
    return s;
  }
  LogInfo("smtp listening", {{"listen", BoundAddress()}, {"tls_listen", BoundTlsAddress()}});
  return Status::Ok();
}

std::string SmtpListener::BoundAddress() const {
  if (server_ == nullptr) return "";
  return server_->BoundAddresses().at(0);
}

std::string SmtpListener::BoundTlsAddress() const {
  if (server_ == nullptr || server_->BoundAddresses().size() < 2) return "";
  return server_->BoundAddresses()[1];
}

int SmtpListener::ActiveSessions() const {
  return server_ == nullptr ? 0 : server_->ActiveConnections();
}

void SmtpListener::Stop() {
  if (server_ == nullptr) return;
  server_->Stop(std::chrono::seconds(config_.shutdown_grace_seconds));
  server_.reset();
}

void SmtpListener::Serve(Connection& conn, bool over_capacity) {
  const bool implicit_tls = conn.listener_index() == 1;
  const std::chrono::milliseconds idle = std::chrono::seconds(config_.idle_timeout_seconds);
  if (over_capacity) {
    // No TLS handshake for a refused client on the implicit-TLS port: just close.
    if (!implicit_tls) {
      conn.Write(smtp::ServerSession::TooManyConnectionsReply(), std::chrono::seconds(1))
          .IgnoreError();
    }
    LogWarn("smtp connection refused: too many connections", {{"peer", conn.PeerAddress()}});
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  if (implicit_tls) {
    Status s = conn.StartTls(tls_->get(), idle);
    if (!s.ok()) {
      LogInfo("smtp session end", {{"peer", conn.PeerAddress()},
                                   {"reason", "tls handshake failed"},
                                   {"error", s.message()}});
      return;
    }
  }
  smtp::SessionOptions options;
  options.hostname = config_.hostname;
  options.tls_available = tls_ != nullptr;
  options.tls_active = conn.IsTls();
  options.allow_insecure_auth = config_.allow_insecure_auth_on_loopback && conn.IsLoopback();
  options.limits.max_message_bytes = config_.max_message_bytes;
  options.limits.max_recipients = config_.max_recipients;
  options.limits.max_commands = config_.max_commands;
  ListenerSessionHandler handler(service_, credentials_, conn.PeerIp());
  for (const auto& cidr : config_.trusted_networks) {
    auto in = IpInCidr(conn.PeerIp(), cidr);
    if (in.ok() && *in) {
      options.pre_authenticated = true;
      handler.Trust(config_.trusted_principal);
      break;
    }
  }
  smtp::ServerSession session(options, handler);

  const std::string reason = RunSmtpSessionLoop(conn, tls_.get(), session, idle);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  LogInfo("smtp session end", {{"peer", conn.PeerAddress()},
                               {"tls", conn.IsTls() ? "true" : "false"},
                               {"access_key_id", handler.access_key_id()},
                               {"commands", std::to_string(session.commands())},
                               {"accepted", std::to_string(session.messages_accepted())},
                               {"refused", std::to_string(session.messages_refused())},
                               {"duration_ms", std::to_string(ms)},
                               {"reason", reason}});
}

}  // namespace herald::net
