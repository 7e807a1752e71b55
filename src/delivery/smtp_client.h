// delivery/smtp_client.h: the outbound SMTP client: one session over a net::Transport,
// several transactions per session.
//
// Contract: Open() reads the greeting, says EHLO (HELO when EHLO is refused with 5xx), runs
// STARTTLS according to the TLS policy and says EHLO again, then authenticates when
// credentials are configured. Send() runs one transaction and reports per-recipient
// results as values (SendOutcome): a 4xx or 5xx is data, never a Status. With PIPELINING
// (RFC 2920) MAIL, every RCPT and DATA go out in one write and the replies are matched in
// order. The body is dot-stuffed while it is written, in bounded chunks. Every reply is
// awaited with a deadline from SmtpClientOptions; after a timeout, an I/O error or an
// unparseable reply the session is unusable and the caller drops the connection. Between
// transactions on one connection the caller calls Reset() (RSET); Quit() ends the session.
// A 421 reply (the server is closing) is reported like any refusal and makes the session
// unusable too; Usable() tells the caller whether the connection may carry another message.
// Thread-safety: an SmtpClient and its Transport belong to one thread. SmtpReplyReader is a
// value type.
// Trust: the server is a stranger: replies are bounded (max_reply_bytes) and strictly
// framed, bytes the server sends ahead of its STARTTLS reply are refused (RFC 3207 response
// injection), and reply texts are returned as received for the caller to escape. Envelope
// addresses were validated by the caller; any containing CR, LF, NUL, '<' or '>' is still
// refused locally so no command can be split. Credentials go only over TLS unless
// allow_auth_without_tls.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "net/transport.h"

namespace herald::delivery {

enum class TlsMode {
  kOff,            // never STARTTLS
  kOpportunistic,  // STARTTLS when offered; plaintext when not offered or refused
  kRequire,        // STARTTLS or nothing: Open fails when it is not offered or refused
};

struct SmtpClientOptions {
  std::string helo_name = "localhost";  // EHLO/HELO argument; must not contain spaces or CR/LF
  TlsMode tls = TlsMode::kOpportunistic;
  std::string tls_server_name;  // SNI; the MX host name ("" or an IP literal: no SNI)
  // AUTH PLAIN (or LOGIN if only that is offered) after TLS; empty user = no AUTH.
  std::string auth_user, auth_password;
  bool allow_auth_without_tls = false;  // for loopback tests
  // Per-step deadlines. RFC 5321 4.5.3.2 suggests longer ones; these are herald's defaults.
  // `connect` is for the caller's Dial; `command` also bounds STARTTLS's handshake.
  std::chrono::milliseconds connect{30000}, greeting{60000}, command{60000}, data_block{180000},
      data_done{300000};
  size_t max_reply_bytes = 64 * 1024;  // a longer reply is a protocol error
};

struct SmtpReply {
  int code = 0;              // 0 when there was no reply (local failure)
  std::string text;          // reply lines without their "NNN-"/"NNN " prefix, joined by '\n'
  std::string Line() const;  // "550 5.1.1 text" on one line (continuations joined by ' ')
  bool Positive() const { return code >= 200 && code < 400; }
};

struct ServerInfo {
  std::string banner;  // greeting text
  bool esmtp = false, pipelining = false, starttls = false, eightbitmime = false, smtputf8 = false,
       enhancedstatuscodes = false;
  uint64_t size_limit = 0;                   // 0 = none advertised
  std::vector<std::string> auth_mechanisms;  // upper-case, as advertised
  bool tls = false;                          // the session runs over TLS now
};

struct Envelope {
  std::string mail_from;                // address without <>; "" = null sender
  std::vector<std::string> recipients;  // addresses without <>
  bool eightbit = false;                // BODY=8BITMIME when the server offers it
  bool smtputf8 = false;                // needs SMTPUTF8 (non-ASCII addresses/headers)
};

// How a recipient fared follows from the kind:
// - kCompleted: recipients whose rcpt reply is 2xx take the `data` reply; the others their
//   own rcpt reply (a local 501 for an address that was refused before sending).
// - kRejected: nobody received the message. A recipient takes its own rcpt reply when that
//   is a refusal, else `data` when DATA was refused, else `mail` (MAIL refused, or a local
//   refusal), else (its RCPT was accepted but the transaction stopped) it is to be retried.
// - kBroken: recipients with a refusing rcpt reply keep it; for the rest the outcome is
//   unknown when after_data_sent (the server may have accepted the message), else retry.
struct SendOutcome {
  enum class Kind {
    // MAIL accepted, at least one RCPT accepted, DATA sent: `data` is the final reply.
    kCompleted,
    // Refused before any data went: MAIL refused, no RCPT accepted, DATA (354) refused, or a
    // local refusal in `mail` (message over the advertised SIZE → synthesised 552 5.3.4;
    // SMTPUTF8 needed but not offered → 553 5.6.7; a bad sender address → 501 5.1.3). A bad
    // recipient address gets a local 501 5.1.3 in its rcpt slot and the others go ahead.
    // The connection stays usable unless a 421 came.
    kRejected,
    // I/O error, timeout, or unparseable reply: the connection must be dropped.
    kBroken,
  };
  Kind kind = Kind::kBroken;
  // MAIL FROM reply (code 0 if never reached).
  SmtpReply mail;
  // One per envelope recipient, same order (code 0 if never reached).
  std::vector<SmtpReply> rcpt;
  // 354-stage refusal or the final reply after the dot.
  SmtpReply data;
  // For kBroken: what failed ("timeout waiting for RCPT reply", ...).
  std::string error;
  // The final dot was written: after kBroken, delivery may have happened (RFC 1047).
  bool after_data_sent = false;
};

// Splits what a server sends into replies (RFC 5321 4.2): "NNN-text" lines continue a
// reply and "NNN text" (or a bare "NNN") ends it; every line of a reply carries the same
// code, which is 2xx..5xx. Lines end in CRLF; a bare LF is accepted. A reply longer than
// max_reply_bytes, a malformed line or a code mismatch is an error, and the reader stays in
// error afterwards. Bytes after a complete reply stay buffered for the next one (pipelining).
class SmtpReplyReader {
 public:
  enum class Result { kReply, kNeedMore, kError };

  explicit SmtpReplyReader(size_t max_reply_bytes) : max_reply_bytes_(max_reply_bytes) {}

  // Appends bytes received from the server. Call only after Next() returned kNeedMore, so
  // the buffer never holds more than one partial reply plus one read.
  void Feed(std::string_view bytes) { buffer_.append(bytes); }
  // Takes the next complete reply out of the buffer into *reply; kNeedMore when there is
  // none yet; kError with *error describing the problem.
  Result Next(SmtpReply* reply, std::string* error);
  // Bytes received but not yet returned as part of a reply.
  size_t buffered() const { return buffer_.size(); }

 private:
  size_t max_reply_bytes_;
  std::string buffer_;     // starts at the first byte of the reply being read
  size_t line_start_ = 0;  // offset of the first line not yet parsed
  int code_ = 0;           // the code of the reply being read, 0 before its first line
  std::string text_;       // the lines parsed so far
  std::string error_;      // sticky
};

class SmtpClient {
 public:
  // `transport` must outlive the client.
  SmtpClient(net::Transport& transport, SmtpClientOptions options);
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // Greeting, EHLO (HELO if EHLO is refused with 5xx), STARTTLS per options.tls (then EHLO
  // again), AUTH when configured. OK when the session is ready for mail. Otherwise:
  // `*refusal` (may be null) receives the server's refusing reply when there was one
  // (greeting 554, STARTTLS refused under kRequire, AUTH 535...), and the status is
  // kUnavailable (temporary: connection problem, timeout, TLS handshake failure, 4xx),
  // kPermissionDenied (5xx), kFailedPrecondition (TLS required but not offered; AUTH
  // configured but impossible: no TLS, or no PLAIN/LOGIN offered) or kInvalidArgument (a bad
  // helo_name). Call once; after a failure, Quit() and drop the connection.
  Status Open(SmtpReply* refusal);
  // One transaction. `body` is the message as stored: CRLF line endings, NOT dot-stuffed;
  // the client dot-stuffs while writing (in chunks, never copying the whole body) and ends
  // it with CRLF.CRLF (adding a CRLF first if the body does not end with one). A bare CR or
  // LF in the body goes out as CRLF (RFC 5321 2.3.8), so no body can end the DATA early.
  // With PIPELINING, MAIL, all RCPTs and DATA go in one write (RFC 2920), replies are
  // matched in order. MAIL carries SIZE= when SIZE is advertised, BODY=8BITMIME when
  // envelope.eightbit and offered, SMTPUTF8 when envelope.smtputf8 (refused locally when
  // not offered).
  SendOutcome Send(const Envelope& envelope, std::string_view body);
  // RSET between transactions on a reused connection; error = drop the connection.
  Status Reset();
  // Best effort QUIT with a short timeout (skipped when the connection is already broken).
  void Quit();
  // True while the connection may carry another transaction: Open succeeded, no I/O error,
  // timeout or protocol error happened, no 421 came, Quit() was not called.
  bool Usable() const { return ready_ && !broken_ && !closing_ && !quit_; }
  const ServerInfo& server() const { return server_; }

 private:
  // Reads the next reply within `timeout`. On failure the session is broken and the status
  // says what failed in terms of `stage` ("timeout waiting for RCPT reply").
  Status ReadReply(std::chrono::milliseconds timeout, std::string_view stage, SmtpReply* reply);
  Status Write(std::string_view bytes, std::chrono::milliseconds timeout, std::string_view stage);
  // Sends `command` and reads its reply with the command timeout.
  Status Command(std::string_view command, std::string_view stage, SmtpReply* reply);
  Status Hello(SmtpReply* refusal);
  Status StartTls(SmtpReply* refusal);
  Status Authenticate(SmtpReply* refusal);
  void ParseEhlo(const SmtpReply& reply);
  // Writes the dot-stuffed body and the final dot.
  Status WriteBody(std::string_view body);
  // Completes a transaction from the DATA go-ahead on.
  void FinishData(std::string_view body, SendOutcome* out);
  // Notes a 421 (the server is closing the connection).
  void Observe(const SmtpReply& reply);

  net::Transport& transport_;
  SmtpClientOptions options_;
  SmtpReplyReader reader_;
  ServerInfo server_;
  bool opened_ = false;   // Open was called
  bool ready_ = false;    // Open succeeded
  bool broken_ = false;   // I/O error, timeout or protocol error
  bool closing_ = false;  // the server said 421
  bool quit_ = false;
  bool size_offered_ = false;  // SIZE advertised, with or without a limit
};

}  // namespace herald::delivery
