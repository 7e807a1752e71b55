// net/smtp_session_loop.h: the per-connection SMTP server loop shared by the submission
// listener (net/smtp_listener.h) and the feedback MX (net/feedback_listener.h): read bytes,
// feed them to an smtp::ServerSession, write its replies, carry out its actions (STARTTLS
// handshake, close), and handle idle timeouts and a stopping server.
//
// Contract: RunSmtpSessionLoop sends the session's greeting and then loops until the
// session ends, returning why, for the caller's session-end log line:
//   "closed"               the session closed the connection (QUIT, a framing violation, a
//                          limit);
//   "eof"                  the peer closed the connection, or the session asked to close
//                          without being closed (it never does today);
//   "timeout"              no data within idle_timeout: the session's 421 timeout reply is
//                          sent first;
//   "shutdown"             the server is stopping and no transaction is in flight: the
//                          session's 421 shutdown reply is sent first;
//   "shutdown deadline"    the server is stopping and a draining transaction did not finish
//                          before the drain deadline (421 shutdown reply);
//   "read error"           the socket or TLS layer failed on read;
//   "tls handshake failed" the handshake after "220 Ready to start TLS" failed;
//   "write failed: <msg>"  a reply could not be written within idle_timeout.
// When the server starts stopping (a read returns kStopping) in the middle of a transaction,
// the loop asks the connection to keep draining so the transaction can finish; otherwise it
// says goodbye at once. Every read and every write is bounded by idle_timeout. The loop
// owns no state of its own beyond one read buffer: the caller builds the session (options,
// handler) and the connection, and logs the result. Anything that differs between the
// listeners (implicit TLS before the greeting, the refusal of clients over capacity, the log
// line) stays with the caller.
// Thread-safety: none; one call per connection, on that connection's thread.
// Trust: the peer is hostile. The loop buffers at most one read (64 KiB) at a time; the
// session (smtp/server_session.h) bounds everything it keeps.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace herald::smtp {
class ServerSession;
}  // namespace herald::smtp

namespace herald::net {

class Connection;
class TlsContext;

// The connection as the loop sees it: net::Connection in production, a scripted fake in
// tests.
class SmtpSessionIo {
 public:
  enum class ReadResult { kData, kEof, kTimeout, kStopping, kError };

  virtual ~SmtpSessionIo() = default;
  // Up to `cap` bytes into `buf`, their count in *n (kData). kTimeout after `timeout`
  // without data; kStopping when the server is stopping and the connection is not draining.
  virtual ReadResult Read(char* buf, size_t cap, size_t* n, std::chrono::milliseconds timeout) = 0;
  // All of `data`, or an error.
  virtual Status Write(std::string_view data, std::chrono::milliseconds timeout) = 0;
  // The server side of a TLS handshake over the connection.
  virtual Status StartTls(std::chrono::milliseconds timeout) = 0;
  // Whether the server has begun to stop.
  virtual bool StopRequested() const = 0;
  // After kStopping: keep reading until the server's drain deadline.
  virtual void SetDraining() = 0;
};

// Runs `session` over `io` until it ends; returns the reason (see above).
std::string RunSmtpSessionLoop(SmtpSessionIo& io, smtp::ServerSession& session,
                               std::chrono::milliseconds idle_timeout);

// The same over a listener's connection. `tls` is the server context for STARTTLS; null
// when the listener has none (the session must then not offer STARTTLS; if it asks for a
// handshake anyway, the loop ends with "tls handshake failed").
std::string RunSmtpSessionLoop(Connection& connection, const TlsContext* tls,
                               smtp::ServerSession& session,
                               std::chrono::milliseconds idle_timeout);

}  // namespace herald::net
