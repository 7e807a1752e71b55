// net/smtp_listener.h: SMTP submission (SES-style SMTP interface): binds the SMTP ports
// and runs one smtp::ServerSession per connection, feeding finished transactions to the
// SendingService.
//
// Contract: Start() validates the config, builds the TLS context (configured files or a
// self-signed certificate in <data_dir>/tls/; without either, STARTTLS is not offered and
// tls_listen is an error), binds `listen` (STARTTLS port) and optionally `tls_listen`
// (implicit TLS, 465-style) and returns. AUTH is accepted only under TLS, except on
// loopback connections when allow_insecure_auth_on_loopback is set; credentials are checked
// with CredentialLookup::AuthenticateSmtp. Each transaction becomes one Submission {principal
// (source_ip = peer IP), channel kSmtp, operation "SendSmtpEmail", source = MAIL FROM,
// recipients = RCPT TO, message = the dot-unstuffed DATA}; "250 Ok <MessageId>" is sent only
// after Submit() returned Accepted (i.e. the message is durable), rejections are worded by
// sending::SmtpReplyFor. Over max_connections a client gets "421 Too many concurrent SMTP
// connections". Stop() stops accepting, closes idle sessions with 421, lets transactions in
// flight finish within shutdown_grace_seconds, and returns when every session thread ended.
// One JSON log line per session end (peer, TLS, access key id, counts, reason); never
// passwords or message content.
// Thread-safety: Start/Stop/Bound* from the owner thread; sessions run on their own threads
// and call the SendingService and CredentialLookup concurrently.
// Trust: everything from the network is hostile; see smtp/server_session.h for the bounds.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "sending/sending_service.h"

namespace herald::net {

class TcpServer;
class TlsContext;
class Connection;

struct SmtpListenerConfig {
  std::string listen = "127.0.0.1:2587";  // STARTTLS port; "HOST:PORT", port 0 = any
  std::string tls_listen;                 // optional implicit-TLS port (465 style), empty = off
  std::string hostname = "localhost";     // greeting, EHLO, self-signed certificate CN
  size_t max_message_bytes = 40 * 1024 * 1024;   // SES: 40 MB for SMTP
  int max_recipients = 50;                       // SES: 50 per message
  int max_connections = 200;                     // concurrent sessions, both ports
  int idle_timeout_seconds = 300;                // per read and write
  int max_commands = 1000;                       // per connection
  bool allow_insecure_auth_on_loopback = false;  // AUTH without TLS from 127/8 and ::1
  std::string tls_cert_file, tls_key_file;       // PEM; both or neither
  std::string data_dir;                          // for the self-signed certificate
  int shutdown_grace_seconds = 30;               // Stop(): time for transactions in flight
  // Clients in these CIDR blocks ("127.0.0.0/8", "::1/128") may send without AUTH, as
  // trusted_principal (a local relay, or the acceptance benchmark). Empty: nobody.
  std::vector<std::string> trusted_networks;
  sending::Principal trusted_principal;
};

// Whether the textual IP address `ip` lies in the CIDR block `cidr`. kInvalidArgument for a
// malformed block; false for a malformed or other-family address.
StatusOr<bool> IpInCidr(const std::string& ip, const std::string& cidr);

// Checks bounds; kInvalidArgument naming the field.
Status ValidateSmtpListenerConfig(const SmtpListenerConfig& config);

class SmtpListener {
 public:
  SmtpListener(const SmtpListenerConfig& config, sending::SendingService& service,
               sending::CredentialLookup& credentials);
  ~SmtpListener();
  SmtpListener(const SmtpListener&) = delete;
  SmtpListener& operator=(const SmtpListener&) = delete;

  Status Start();
  std::string BoundAddress() const;     // "127.0.0.1:40123"
  std::string BoundTlsAddress() const;  // "" when tls_listen is off
  void Stop();
  int ActiveSessions() const;

 private:
  void Serve(Connection& connection, bool over_capacity);

  SmtpListenerConfig config_;
  sending::SendingService& service_;
  sending::CredentialLookup& credentials_;
  std::unique_ptr<TlsContext> tls_;
  std::unique_ptr<TcpServer> server_;
};

}  // namespace herald::net
