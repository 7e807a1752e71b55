#include "net/feedback_listener.h"

#include <chrono>

#include "base/log.h"
#include "net/smtp_session_loop.h"
#include "net/tcp_server.h"
#include "net/tls.h"
#include "smtp/server_session.h"
#include "smtp/smtp_path.h"

namespace herald::net {
namespace {

constexpr size_t kMaxMessageBytesCeiling = size_t{1} << 30;

// The per-connection bridge between the pure session and the receiver.
class MxSessionHandler : public smtp::SessionHandler {
 public:
  MxSessionHandler(FeedbackReceiver& receiver, std::string peer_ip)
      : receiver_(receiver), peer_ip_(std::move(peer_ip)) {}

  bool Authenticate(std::string_view, std::string_view) override { return false; }

  std::string Deliver(smtp::Transaction& txn) override {
    StatusOr<std::string> id = receiver_.Receive(peer_ip_, std::move(txn.mail_from),
                                                 std::move(txn.recipients), std::move(txn.message));
    if (!id.ok()) {
      LogError("feedback message not stored",
               {{"peer", peer_ip_}, {"error", id.status().ToString()}});
      return "451 4.3.0 Error: queue file write error";
    }
    return "250 2.0.0 Ok: queued as " + *id;
  }

 private:
  FeedbackReceiver& receiver_;
  std::string peer_ip_;
};

}  // namespace

Status ValidateFeedbackListenerConfig(const FeedbackListenerConfig& c) {
  if (c.listen.empty()) return InvalidArgumentError("feedback.listen must be set");
  if (!smtp::IsValidHostName(c.hostname)) {
    return InvalidArgumentError("hostname is not a valid host name");
  }
  if (c.max_message_bytes < 1024 || c.max_message_bytes > kMaxMessageBytesCeiling) {
    return InvalidArgumentError("feedback.max_message_bytes must be between 1 KiB and 1 GiB");
  }
  if (c.max_recipients < 1 || c.max_recipients > 10000) {
    return InvalidArgumentError("feedback max_recipients must be between 1 and 10000");
  }
  if (c.max_connections < 1 || c.max_connections > 100000) {
    return InvalidArgumentError("feedback.max_connections must be between 1 and 100000");
  }
  if (c.idle_timeout_seconds < 1 || c.idle_timeout_seconds > 3600) {
    return InvalidArgumentError("feedback idle timeout must be between 1 and 3600 seconds");
  }
  if (c.max_commands < 10) return InvalidArgumentError("feedback max_commands must be >= 10");
  if (c.shutdown_grace_seconds < 0 || c.shutdown_grace_seconds > 3600) {
    return InvalidArgumentError("feedback shutdown grace must be between 0 and 3600 seconds");
  }
  return Status::Ok();
}

FeedbackListener::FeedbackListener(const FeedbackListenerConfig& config, FeedbackReceiver& receiver)
    : config_(config), receiver_(receiver) {}

FeedbackListener::~FeedbackListener() { Stop(); }

Status FeedbackListener::Start() {
  if (server_ != nullptr) return FailedPreconditionError("feedback listener already started");
  RETURN_IF_ERROR(ValidateFeedbackListenerConfig(config_));
  if (!config_.tls_cert_file.empty() || !config_.tls_key_file.empty() ||
      !config_.data_dir.empty()) {
    ASSIGN_OR_RETURN(tls_, TlsContext::CreateServer({config_.tls_cert_file, config_.tls_key_file,
                                                     config_.data_dir, config_.hostname}));
  }
  TcpServerOptions options;
  options.listen.push_back(config_.listen);
  options.max_connections = config_.max_connections;
  server_ =
      std::make_unique<TcpServer>(options, [this](Connection& c, bool over) { Serve(c, over); });
  Status s = server_->Start();
  if (!s.ok()) {
    server_.reset();
    return s;
  }
  LogInfo("feedback mx listening", {{"listen", BoundAddress()}});
  return Status::Ok();
}

std::string FeedbackListener::BoundAddress() const {
  if (server_ == nullptr) return "";
  return server_->BoundAddresses().at(0);
}

int FeedbackListener::ActiveSessions() const {
  return server_ == nullptr ? 0 : server_->ActiveConnections();
}

void FeedbackListener::Stop() {
  if (server_ == nullptr) return;
  server_->Stop(std::chrono::seconds(config_.shutdown_grace_seconds));
  server_.reset();
}

void FeedbackListener::Serve(Connection& conn, bool over_capacity) {
  const std::chrono::milliseconds idle = std::chrono::seconds(config_.idle_timeout_seconds);
  if (over_capacity) {
    conn.Write(smtp::ServerSession::TooManyConnectionsReply(), std::chrono::seconds(1))
        .IgnoreError();
    LogWarn("feedback connection refused: too many connections", {{"peer", conn.PeerAddress()}});
    return;
  }
  const auto started = std::chrono::steady_clock::now();
  smtp::SessionOptions options;
  options.hostname = config_.hostname;
  options.tls_available = tls_ != nullptr;
  options.inbound_mx = true;
  options.accept_recipient = [this](const std::string& address) {
    return receiver_.CheckRecipient(address);
  };
  options.limits.max_message_bytes = config_.max_message_bytes;
  options.limits.max_recipients = config_.max_recipients;
  options.limits.max_commands = config_.max_commands;
  MxSessionHandler handler(receiver_, conn.PeerIp());
  smtp::ServerSession session(options, handler);

  const std::string reason = RunSmtpSessionLoop(conn, tls_.get(), session, idle);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  LogInfo("feedback session end", {{"peer", conn.PeerAddress()},
                                   {"tls", conn.IsTls() ? "true" : "false"},
                                   {"commands", std::to_string(session.commands())},
                                   {"accepted", std::to_string(session.messages_accepted())},
                                   {"refused", std::to_string(session.messages_refused())},
                                   {"duration_ms", std::to_string(ms)},
                                   {"reason", reason}});
}

}  // namespace herald::net
