// net/feedback_listener.h: herald's feedback MX: an SMTP listener on its own address that
// receives bounce reports, complaints and auto-replies for herald's return-path domains.
//
// Contract: Start() validates the config, builds the TLS context (configured files, else a
// self-signed certificate in <data_dir>/tls; without either STARTTLS is not offered),
// binds `listen` and returns. Each connection runs one smtp::ServerSession in inbound MX
// mode (smtp/server_session.h): no AUTH, the null reverse-path accepted, the same framing
// and limits as submission (bare CR/LF refused, command and message bounds). Each RCPT is
// put to FeedbackReceiver::CheckRecipient, so mail for any domain herald does not own is
// refused and herald is never a relay. At the end of DATA the transaction goes to
// FeedbackReceiver::Receive; "250 2.0.0 Ok: queued as <id>" is sent only when it returned
// an id (the message is durable), "451 4.3.0 Error: queue file write error" otherwise.
// Over max_connections a client gets 421. Stop() stops accepting, closes idle sessions
// with 421, lets transactions in flight finish within shutdown_grace_seconds, and returns
// when every session thread ended. One JSON log line per session end (peer, TLS, counts,
// reason).
// Thread-safety: Start/Stop/BoundAddress from the owner thread; sessions run on their own
// threads and call the receiver concurrently.
// Trust: everything from the network is hostile (anyone may connect to an MX); see
// smtp/server_session.h for the bounds. The receiver decides what is accepted.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace herald::net {

class TcpServer;
class TlsContext;
class Connection;

struct FeedbackListenerConfig {
  std::string listen;                           // "HOST:PORT", port 0 = any; required
  std::string hostname = "localhost";           // greeting, EHLO, self-signed certificate CN
  size_t max_message_bytes = 16 * 1024 * 1024;  // SIZE advertised and enforced
  int max_recipients = 100;                     // per transaction
  int max_connections = 100;
  int idle_timeout_seconds = 300;
  int max_commands = 1000;
  std::string tls_cert_file, tls_key_file;  // PEM; both or neither
  std::string data_dir;                     // for the self-signed certificate
  int shutdown_grace_seconds = 30;
};

// Where the listener hands what it receives (implemented over sending::FeedbackService).
class FeedbackReceiver {
 public:
  virtual ~FeedbackReceiver() = default;
  // "" accepts the recipient; anything else is the refusal reply ("550 5.7.1 ...").
  virtual std::string CheckRecipient(const std::string& address) = 0;
  // Stores one message durably; its id, or an error (the client is told 451).
  virtual StatusOr<std::string> Receive(const std::string& peer_ip, std::string mail_from,
                                        std::vector<std::string> recipients,
                                        std::string message) = 0;
};

// Checks bounds; kInvalidArgument naming the field.
Status ValidateFeedbackListenerConfig(const FeedbackListenerConfig& config);

class FeedbackListener {
 public:
  FeedbackListener(const FeedbackListenerConfig& config, FeedbackReceiver& receiver);
  ~FeedbackListener();
  FeedbackListener(const FeedbackListener&) = delete;
  FeedbackListener& operator=(const FeedbackListener&) = delete;

  Status Start();
  std::string BoundAddress() const;  // "127.0.0.1:40123"
  void Stop();
  int ActiveSessions() const;

 private:
  void Serve(Connection& connection, bool over_capacity);

  FeedbackListenerConfig config_;
  FeedbackReceiver& receiver_;
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<TcpServer> server_;
};

}  // namespace herald::net
