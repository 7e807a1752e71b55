// smtp/server_session.h: the ESMTP server as a pure state machine: bytes in, reply bytes
// and actions out, no I/O (RFC 5321, 1870, 2920, 3207, 4954, 6152, 2034). It serves SMTP
// submission (the default) and, with SessionOptions::inbound_mx, herald's feedback MX.
//
// Contract: Feed(bytes) consumes every complete line in order and returns the replies to
// send plus at most one action (start TLS or close) that applies after those replies are
// sent. Partial lines are kept until the next Feed. PIPELINING needs nothing more: the
// adapter writes what Feed returned once it has no more input. Authentication and the
// finished transaction are delegated to a SessionHandler, called synchronously from Feed.
//   - Herald is never an open relay: MAIL before a successful AUTH gets 530. In inbound MX
//     mode there is no AUTH at all (not offered; the command gets 503): MAIL is accepted
//     from anyone, the null reverse-path <> included, and every RCPT is put to the
//     options' accept_recipient, which refuses whatever herald does not receive mail for.
//   - AUTH (PLAIN, LOGIN) is offered and accepted only under TLS, unless the adapter allows
//     plain-text AUTH for this connection (loopback in development).
//   - Smuggling: the only end-of-data is CRLF "." CRLF. A bare CR or bare LF anywhere
//     (command or data) is refused, never repaired: the connection is closed.
//   - STARTTLS: bytes pipelined after the STARTTLS line are discarded; after the handshake
//     (TlsStarted) the session starts over: EHLO again, no AUTH carried over.
//   - Limits: command line 512 octets (12 KiB for AUTH exchanges), commands per session,
//     message size (SIZE= at MAIL and while receiving DATA), recipients (SES: the message
//     fails at end of data with "554 Transaction failed: Recipient count exceeds N."),
//     buffered data line length, authentication failures.
// Reply texts follow SES where SES's wording is known (ses-reference.md section 3).
// Thread-safety: none; one session per connection, driven by one thread.
// Trust: every input byte is hostile. The handler sees only syntactically valid addresses
// and a dot-unstuffed message with CRLF line endings; it must still validate both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::smtp {

struct SessionLimits {
  size_t max_message_bytes = 40 * 1024 * 1024;  // SIZE advertised and enforced
  int max_recipients = 50;                      // more fail the message at end of data
  int max_recipients_hard = 1000;               // beyond this RCPT itself gets 452
  int max_commands = 1000;                      // command lines per connection
  int max_auth_failures = 3;                    // then 421 and close
  size_t max_command_line = 512;                // octets including CRLF (RFC 5321 4.5.3.1.4)
  size_t max_auth_line = 12 * 1024;             // AUTH command and SASL responses
  size_t max_data_line = 64 * 1024;             // bound on one buffered DATA line
};

struct SessionOptions {
  std::string hostname = "localhost";  // greeting and EHLO
  bool tls_available = false;          // STARTTLS may be offered
  bool tls_active = false;             // implicit TLS (465-style): already encrypted
  bool allow_insecure_auth = false;    // AUTH without TLS (loopback development setups)
  // The client is trusted by its network address (smtp.trusted_networks): it may send
  // without AUTH, as the listener's configured account. AUTH is then refused with 503.
  bool pre_authenticated = false;
  // Inbound MX mode (the feedback MX, an MX for herald's own domains): AUTH is neither
  // offered nor needed, and RCPT is decided by accept_recipient. Every other rule (framing,
  // bare CR/LF, limits, STARTTLS) is the same as for submission.
  bool inbound_mx = false;
  // inbound_mx only, called synchronously from Feed with the syntactically valid address
  // of each RCPT: "" accepts it (250); anything else is the refusal reply to send, like
  // "550 5.7.1 Relaying denied" (a reply that is not one 4xx/5xx line becomes "451
  // Temporary service failure"). Unset: every recipient is refused.
  std::function<std::string(const std::string& address)> accept_recipient;
  SessionLimits limits;
};

// One mail transaction, handed to the handler at the end of DATA. The handler may move
// out of it.
struct Transaction {
  std::string mail_from;                // "" for the null reverse-path <>
  std::vector<std::string> recipients;  // in RCPT order, at most limits.max_recipients
  std::string message;                  // dot-unstuffed, CRLF line endings
  bool body_8bitmime = false;           // BODY=8BITMIME was given
};

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // SMTP AUTH credentials; true when valid. The handler keeps whatever identity it needs.
  // Never called in inbound MX mode.
  virtual bool Authenticate(std::string_view user, std::string_view password) = 0;
  // The complete transaction of an authenticated client (in inbound MX mode: of any client,
  // with only accepted recipients). Returns the one reply line
  // (e.g. "250 Ok <id>", "554 Message rejected: ..."), without CRLF. A malformed reply is
  // replaced by "451 Temporary service failure".
  virtual std::string Deliver(Transaction& transaction) = 0;
};

struct SessionOutput {
  std::string bytes;       // replies, CRLF-terminated, to write in order
  bool start_tls = false;  // after writing `bytes`: TLS handshake, then TlsStarted()
  bool close = false;      // after writing `bytes`: close the connection
};

class ServerSession {
 public:
  ServerSession(const SessionOptions& options, SessionHandler& handler);

  // "220 <hostname> ESMTP herald".
  SessionOutput Greeting();
  SessionOutput Feed(std::string_view bytes);
  // The TLS handshake after a STARTTLS succeeded: reset to the post-greeting state.
  void TlsStarted();
  // Idle timeout: 421 and close.
  SessionOutput Timeout();
  // Server shutting down: 421 and close.
  SessionOutput Shutdown();

  // Replies the listener sends without a session.
  static std::string TooManyConnectionsReply();  // "421 Too many concurrent SMTP connections"

  // True between MAIL and the end-of-data reply: a draining server lets it finish.
  bool InTransaction() const;
  bool closed() const { return state_ == State::kClosed; }
  bool authenticated() const { return authenticated_; }
  bool tls_active() const { return tls_active_; }
  int commands() const { return commands_; }
  int messages_accepted() const { return messages_accepted_; }
  int messages_refused() const { return messages_refused_; }

 private:
  enum class State {
    kCommand,
    kAuthPlain,  // waiting for the AUTH PLAIN response after "334 "
    kAuthLoginUser,
    kAuthLoginPassword,
    kData,
    kAwaitTls,
    kClosed,
  };
  // Why a message being received will be refused at end of data.
  enum class DataFailure { kNone, kTooLarge, kLineTooLong };

  void Reply(std::string_view line);
  void Close(std::string_view line);
  void ResetTransaction();

  // Command-mode framing; returns false when processing must stop (close or TLS).
  bool ProcessLines(std::string_view buf, size_t* pos);
  bool CountCommand();  // false (and closed) past max_commands
  bool LineTooLong();
  void HandleLine(std::string_view line);
  void HandleCommand(std::string_view line);
  void HandleEhlo(std::string_view arg, bool extended);
  void HandleAuth(std::string_view arg);
  void HandleAuthResponse(std::string_view line);
  void FinishAuth(std::string_view user, std::string_view password);
  void AuthFailed(std::string_view reply);
  void HandleMail(std::string_view arg);
  void HandleRcpt(std::string_view arg);
  void HandleData(std::string_view arg);
  void HandleStartTls(std::string_view arg);

  // Data mode: consumes from buf starting at *pos; returns at end of data or when more
  // input is needed (*pos then points at an incomplete line).
  void ProcessData(std::string_view buf, size_t* pos);
  void AppendData(std::string_view bytes);
  void EndOfData();

  SessionOptions options_;
  SessionHandler& handler_;
  SessionOutput out_;
  State state_ = State::kCommand;
  std::string pending_;       // unprocessed input (an incomplete line)
  bool skip_to_eol_ = false;  // discarding the rest of an over-long command line

  bool tls_active_ = false;
  bool greeted_ = false;
  bool authenticated_ = false;
  std::string login_user_;  // AUTH LOGIN: user name between the two challenges
  int auth_failures_ = 0;
  int commands_ = 0;
  int messages_accepted_ = 0;
  int messages_refused_ = 0;

  // Transaction.
  bool has_mail_ = false;
  int recipient_count_ = 0;  // all accepted RCPTs, including those beyond max_recipients
  Transaction txn_;
  size_t data_bytes_ = 0;       // unstuffed message bytes seen so far
  bool data_mid_line_ = false;  // the next data bytes continue a line cut at max_data_line
  DataFailure data_failure_ = DataFailure::kNone;
};

}  // namespace herald::smtp
