// tests/fakes/fake_dialer.h: an in-memory SMTP server (ScriptedSmtpPeer) and a Dialer that
// hands such peers out (FakeDialer), for testing SMTP clients and the delivery engine
// without sockets, threads or sleeping.
//
// ScriptedSmtpPeer is a net::Transport. Whatever the client writes is parsed at once as an
// SMTP server would: commands get replies, DATA content is collected (un-dot-stuffed) up to
// the final ".", and the replies wait in an output buffer until the client Reads them.
// A Read with nothing to give returns kDeadlineExceeded (the client would have waited in
// vain: simulated time, no sleep), or 0 once the peer has closed. A Write to a closed peer
// fails kUnavailable (the rest of a Write during which it closed is dropped silently, as a
// socket buffer would swallow it). Out of the box the peer
// is a well-behaved ESMTP server:
//     greeting  "220 mx.test ESMTP"
//     EHLO      250 mx.test / PIPELINING / SIZE 10485760 / 8BITMIME / SMTPUTF8 /
//               ENHANCEDSTATUSCODES (no STARTTLS, no AUTH)
//     HELO "250 mx.test"; STARTTLS "220 2.0.0 Ready to start TLS"; AUTH "235 2.7.0 ..."
//     MAIL "250 2.1.0 Ok"; RCPT "250 2.1.5 Ok"; DATA "354 End data with <CR><LF>.<CR><LF>"
//     after the dot "250 2.0.0 Ok: queued as TEST"; RSET, NOOP "250 2.0.0 Ok"; QUIT "221"
// and it keeps SMTP's state rules: MAIL before EHLO/HELO → 503, RCPT without MAIL → 503,
// DATA without an accepted recipient → 554 (RFC 2920 3.1), unknown verbs → 500.
//
// Scripting (every setter returns *this, so calls chain):
//   peer.Greet("220 mx.test ESMTP")
//       .OnEhlo({"250-mx.test", "250-STARTTLS", "250 SIZE 1000"})  // lines without CRLF
//       .OnRcpt("bad@x.test", "550 5.1.1 no such user")          // per address
//       .OnDataDone("451 4.3.0 try later");
// - A reply is one line, or several lines in braces; ScriptedReply::Raw(bytes) goes out
//   byte for byte (bad framing, bare LF, injected data).
// - OnX sets the standing reply for a step; Then(step, reply) queues a one-shot reply used
//   before the standing one and regardless of state (e.g. a 354 to DATA although no
//   recipient was accepted). A DATA reply in 3xx always starts the data phase.
// - After TLS the peer answers EHLO with OnEhloAfterTls, or else the OnEhlo lines without
//   the STARTTLS line. StartTls() succeeds only right after a 220 to STARTTLS; it just
//   flips IsTls() (FailTlsHandshake() makes it fail and close).
// - Failures, by step and occurrence (1 = the first time the step is reached):
//   TimeoutAt(step, n): the peer goes silent instead of replying (the client times out);
//   CloseAt(step, n): the peer closes instead of replying (the client reads EOF);
//   DropAfterBodyBytes(n): the peer closes once n bytes of DATA content (as sent, stuffed)
//     arrived, if that happens before the final "." line is complete; the Write that
//     crosses n fails kUnavailable;
//   StallAfterBodyBytes(n): likewise, but the Write fails kDeadlineExceeded and the peer
//     stays open and silent;
//   ReadChunk(n): every Read returns at most n bytes (exercises reply reassembly).
// Observing what the client did: commands() (every line outside DATA content, AUTH
// continuation lines included, without CRLF), messages() (each DATA content as received
// after un-dot-stuffing, CRLFs kept, without the final ".CRLF"), data_wire() (the last
// DATA content as sent on the wire, stuffed, final "." line included), writes() (the bytes of each
// Write call), out_of_turn_commands() (commands sent before the previous reply was read, when that
// is not allowed: PIPELINING not advertised, or after a group-ending command such as EHLO or DATA,
// RFC 2920 3.1), tls_server_name(), auth_*(), last_read_timeout() / last_write_timeout(), closed(),
// released() (the client dropped the connection; FakeDialer's transports only).
//
// FakeDialer: AddPeer(ip, port) queues a new default peer for the next Dial of that address
// and returns it for scripting (it lives as long as the dialer); RefuseNext / TimeoutNext
// queue a failed Dial (kUnavailable / kDeadlineExceeded). SetFactory(ip, port, f) makes
// peers on demand once an address's queue is empty; with neither, Dial is refused. dials()
// counts every Dial (dial_log() lists "ip:port" in order, "[v6]:port" for IPv6), peers(ip,
// port) returns the peers handed out.
// Thread-safety: every method of both classes is safe from any thread (one mutex each), so
// a test can inspect a peer while an engine thread uses it.
// Trust: test-only.
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/crypto.h"
#include "base/status.h"
#include "base/strings.h"
#include "net/transport.h"

namespace herald::net {

// One reply of the scripted server.
struct ScriptedReply {
  ScriptedReply(const char* line) : lines{line} {}                   // NOLINT: implicit by design
  ScriptedReply(std::string line) : lines{std::move(line)} {}        // NOLINT
  ScriptedReply(std::initializer_list<std::string> l) : lines(l) {}  // NOLINT
  // Bytes sent exactly as given (no CRLF added).
  static ScriptedReply Raw(std::string bytes) {
    ScriptedReply r("");
    r.lines.clear();
    r.raw = std::move(bytes);
    return r;
  }
  std::string Bytes() const {
    if (raw.has_value()) return *raw;
    std::string out;
    for (const std::string& l : lines) out += l + "\r\n";
    return out;
  }
  // The code of the first line, 0 when there is none.
  int Code() const {
    const std::string b = Bytes();
    if (b.size() < 3) return 0;
    int code = 0;
    for (int i = 0; i < 3; ++i) {
      if (b[i] < '0' || b[i] > '9') return 0;
      code = code * 10 + (b[i] - '0');
    }
    return code;
  }

  std::vector<std::string> lines;
  std::optional<std::string> raw;
};

enum class SmtpStep {
  kGreeting,
  kEhlo,
  kHelo,
  kStartTls,
  kAuth,  // the final reply of an AUTH exchange
  kMail,
  kRcpt,
  kData,      // the reply to DATA
  kDataDone,  // the reply after the final dot
  kRset,
  kNoop,
  kQuit,
};

class ScriptedSmtpPeer final : public Transport {
 public:
  ScriptedSmtpPeer() = default;
  ScriptedSmtpPeer(const ScriptedSmtpPeer&) = delete;
  ScriptedSmtpPeer& operator=(const ScriptedSmtpPeer&) = delete;

  // ------------------------------------------------------------------ script
  ScriptedSmtpPeer& Greet(ScriptedReply r) { return Set(&greeting_, std::move(r)); }
  ScriptedSmtpPeer& OnEhlo(ScriptedReply r) { return Set(&ehlo_, std::move(r)); }
  ScriptedSmtpPeer& OnEhloAfterTls(ScriptedReply r) {
    std::lock_guard<std::mutex> lock(mu_);
    ehlo_after_tls_ = std::move(r);
    return *this;
  }
  ScriptedSmtpPeer& OnHelo(ScriptedReply r) { return Set(&helo_, std::move(r)); }
  ScriptedSmtpPeer& OnStartTls(ScriptedReply r) { return Set(&starttls_, std::move(r)); }
  ScriptedSmtpPeer& FailTlsHandshake() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_tls_ = true;
    return *this;
  }
  ScriptedSmtpPeer& OnAuth(ScriptedReply r) { return Set(&auth_, std::move(r)); }
  ScriptedSmtpPeer& OnMail(ScriptedReply r) { return Set(&mail_, std::move(r)); }
  // The reply to RCPT TO:<address> (address compared case-insensitively).
  ScriptedSmtpPeer& OnRcpt(const std::string& address, ScriptedReply r) {
    std::lock_guard<std::mutex> lock(mu_);
    rcpt_by_address_.insert_or_assign(AsciiLower(address), std::move(r));
    return *this;
  }
  // The reply to RCPT for addresses without their own.
  ScriptedSmtpPeer& OnAnyRcpt(ScriptedReply r) { return Set(&rcpt_, std::move(r)); }
  ScriptedSmtpPeer& OnData(ScriptedReply r) { return Set(&data_, std::move(r)); }
  ScriptedSmtpPeer& OnDataDone(ScriptedReply r) { return Set(&data_done_, std::move(r)); }
  ScriptedSmtpPeer& OnRset(ScriptedReply r) { return Set(&rset_, std::move(r)); }
  // A one-shot reply for the next time `step` is reached (FIFO per step).
  ScriptedSmtpPeer& Then(SmtpStep step, ScriptedReply r) {
    std::lock_guard<std::mutex> lock(mu_);
    once_[step].push_back(std::move(r));
    return *this;
  }
  ScriptedSmtpPeer& TimeoutAt(SmtpStep step, int occurrence = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    timeouts_.emplace_back(step, occurrence);
    return *this;
  }
  ScriptedSmtpPeer& CloseAt(SmtpStep step, int occurrence = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    closes_.emplace_back(step, occurrence);
    return *this;
  }
  ScriptedSmtpPeer& DropAfterBodyBytes(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    drop_after_ = n;
    return *this;
  }
  ScriptedSmtpPeer& StallAfterBodyBytes(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    stall_after_ = n;
    return *this;
  }
  ScriptedSmtpPeer& ReadChunk(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    read_chunk_ = std::max<size_t>(n, 1);
    return *this;
  }
  ScriptedSmtpPeer& SetPeerAddress(std::string ip) {
    std::lock_guard<std::mutex> lock(mu_);
    peer_address_ = std::move(ip);
    return *this;
  }

  // ------------------------------------------------------------------ observation
  std::vector<std::string> commands() const { return Get(commands_); }
  std::vector<std::string> messages() const { return Get(messages_); }
  std::string data_wire() const { return Get(data_wire_); }
  std::vector<std::string> writes() const { return Get(writes_); }
  int out_of_turn_commands() const { return Get(out_of_turn_); }
  std::string tls_server_name() const { return Get(tls_server_name_); }
  std::string auth_mechanism() const { return Get(auth_mechanism_); }
  std::string auth_user() const { return Get(auth_user_); }
  std::string auth_password() const { return Get(auth_password_); }
  std::chrono::milliseconds last_read_timeout() const { return Get(last_read_timeout_); }
  std::chrono::milliseconds last_write_timeout() const { return Get(last_write_timeout_); }
  bool closed() const { return Get(closed_); }
  bool released() const { return Get(released_); }
  // How often `step` was reached (replied to or not).
  int reached(SmtpStep step) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = reached_.find(step);
    return it == reached_.end() ? 0 : it->second;
  }
  void MarkReleased() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
  }

  // ------------------------------------------------------------------ Transport
  StatusOr<size_t> Read(char* buf, size_t cap, std::chrono::milliseconds timeout) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_read_timeout_ = timeout;
    EnsureGreeted();
    if (!out_.empty()) {
      const size_t n = std::min({cap, read_chunk_, out_.size()});
      out_.copy(buf, n);
      out_.erase(0, n);
      return n;
    }
    if (closed_) return size_t{0};
    return DeadlineExceededError("scripted peer sent nothing");
  }

  Status Write(std::string_view data, std::chrono::milliseconds timeout) override {
    std::lock_guard<std::mutex> lock(mu_);
    last_write_timeout_ = timeout;
    writes_.emplace_back(data);
    EnsureGreeted();
    if (closed_) return UnavailableError("connection reset by scripted peer");
    if (stalled_) return DeadlineExceededError("scripted peer stopped reading");
    for (char c : data) {
      // Bytes after the peer closed in the middle of this write are lost, as on a socket;
      // only the next write fails.
      if (closed_ || stalled_) break;
      Consume(c);
      if (in_data_ && drop_after_.has_value() && data_bytes_ >= *drop_after_) {
        closed_ = true;
        return UnavailableError("connection reset by scripted peer");
      }
      if (in_data_ && stall_after_.has_value() && data_bytes_ >= *stall_after_) {
        stalled_ = true;
        silent_ = true;
        return DeadlineExceededError("scripted peer stopped reading");
      }
    }
    return Status::Ok();
  }

  Status StartTls(const std::string& server_name, std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!tls_go_ahead_ || closed_) return UnavailableError("TLS handshake without a go-ahead");
    tls_go_ahead_ = false;
    if (fail_tls_) {
      closed_ = true;
      return UnavailableError("scripted TLS handshake failure");
    }
    tls_ = true;
    tls_server_name_ = server_name;
    helo_done_ = false;
    ResetTransaction();
    return Status::Ok();
  }
  bool IsTls() const override { return Get(tls_); }
  std::string TlsDescription() const override {
    return IsTls() ? "TLSv1.3 TLS_AES_256_GCM_SHA384" : "";
  }
  std::string PeerAddress() const override { return Get(peer_address_); }

 private:
  enum class AuthState { kNone, kPlainResponse, kLoginUser, kLoginPassword };

  ScriptedSmtpPeer& Set(ScriptedReply* slot, ScriptedReply r) {
    std::lock_guard<std::mutex> lock(mu_);
    *slot = std::move(r);
    return *this;
  }
  template <typename T>
  T Get(const T& field) const {
    std::lock_guard<std::mutex> lock(mu_);
    return field;
  }

  void EnsureGreeted() {
    if (greeted_) return;
    greeted_ = true;
    Reply(SmtpStep::kGreeting, greeting_);
  }

  // Sends the reply for `step` (a one-shot, else `standing`) unless the script says to go
  // silent or close here. Returns the code sent, 0 when nothing was sent.
  int Reply(SmtpStep step, const ScriptedReply& standing) {
    const int occurrence = ++reached_[step];
    if (silent_ || closed_) return 0;
    const std::pair<SmtpStep, int> here(step, occurrence);
    if (std::find(timeouts_.begin(), timeouts_.end(), here) != timeouts_.end()) {
      silent_ = true;
      return 0;
    }
    if (std::find(closes_.begin(), closes_.end(), here) != closes_.end()) {
      closed_ = true;
      return 0;
    }
    ScriptedReply reply = standing;
    auto it = once_.find(step);
    if (it != once_.end() && !it->second.empty()) {
      reply = std::move(it->second.front());
      it->second.pop_front();
    }
    out_ += reply.Bytes();
    return reply.Code();
  }

  void ResetTransaction() {
    in_transaction_ = false;
    accepted_rcpts_ = 0;
  }

  ScriptedReply EhloReply() const {
    if (!tls_) return ehlo_;
    if (ehlo_after_tls_.has_value()) return *ehlo_after_tls_;
    if (ehlo_.raw.has_value()) return ehlo_;
    ScriptedReply r = ehlo_;
    r.lines.erase(std::remove_if(r.lines.begin(), r.lines.end(),
                                 [](const std::string& l) {
                                   return l.size() > 4 &&
                                          EqualsIgnoreCase(TrimWhitespace(l.substr(4)), "STARTTLS");
                                 }),
                  r.lines.end());
    if (!r.lines.empty() && r.lines.back().size() > 3) r.lines.back()[3] = ' ';
    return r;
  }

  static bool Advertises(const ScriptedReply& ehlo, std::string_view keyword) {
    const std::string bytes = ehlo.Bytes();
    for (std::string_view line : Split(bytes, '\n')) {
      line = TrimWhitespace(line);
      if (line.size() > 4 && StartsWithIgnoreCase(line.substr(4), keyword)) return true;
    }
    return false;
  }

  void Consume(char c) {
    line_ += c;
    if (in_data_) ++data_bytes_;
    if (c != '\n') return;
    std::string line;
    line.swap(line_);
    if (in_data_) {
      DataLine(line);
    } else {
      Command(line);
    }
  }

  void DataLine(const std::string& raw) {
    data_wire_ += raw;
    std::string_view line(raw);
    line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == ".") {
      in_data_ = false;
      messages_.push_back(std::move(message_));
      message_.clear();
      ResetTransaction();
      Reply(SmtpStep::kDataDone, data_done_);
      return;
    }
    std::string_view content(raw);
    if (!content.empty() && content[0] == '.') content.remove_prefix(1);
    message_.append(content);
  }

  void Command(std::string line) {
    line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    commands_.push_back(line);
    if (auth_state_ != AuthState::kNone) {
      AuthLine(line);
      return;
    }
    if (!out_.empty() && (!pipelining_ || group_ended_)) ++out_of_turn_;
    const std::string verb = AsciiUpper(line.substr(0, line.find(' ')));
    const std::string arg =
        line.find(' ') == std::string::npos ? "" : line.substr(line.find(' ') + 1);
    group_ended_ = verb == "EHLO" || verb == "HELO" || verb == "DATA" || verb == "QUIT" ||
                   verb == "NOOP" || verb == "AUTH" || verb == "STARTTLS" || verb == "RSET";
    if (verb == "EHLO") {
      const ScriptedReply r = EhloReply();
      ResetTransaction();
      if (Reply(SmtpStep::kEhlo, r) / 100 == 2) {
        helo_done_ = true;
        pipelining_ = Advertises(r, "PIPELINING");
      }
    } else if (verb == "HELO") {
      ResetTransaction();
      if (Reply(SmtpStep::kHelo, helo_) / 100 == 2) {
        helo_done_ = true;
        pipelining_ = false;
      }
    } else if (verb == "STARTTLS") {
      tls_go_ahead_ = Reply(SmtpStep::kStartTls, starttls_) == 220;
    } else if (verb == "AUTH") {
      StartAuth(arg);
    } else if (verb == "MAIL") {
      if (!helo_done_) {
        Reply(SmtpStep::kMail, "503 5.5.1 Error: send HELO/EHLO first");
      } else if (Reply(SmtpStep::kMail, mail_) / 100 == 2) {
        in_transaction_ = true;
        accepted_rcpts_ = 0;
      }
    } else if (verb == "RCPT") {
      const size_t open = arg.find('<');
      const size_t close = arg.find('>', open == std::string::npos ? 0 : open);
      std::string address;
      if (open != std::string::npos && close != std::string::npos) {
        address = AsciiLower(arg.substr(open + 1, close - open - 1));
      }
      auto it = rcpt_by_address_.find(address);
      const ScriptedReply& standing = !in_transaction_               ? need_mail_
                                      : it != rcpt_by_address_.end() ? it->second
                                                                     : rcpt_;
      if (Reply(SmtpStep::kRcpt, standing) / 100 == 2) ++accepted_rcpts_;
    } else if (verb == "DATA") {
      const bool ready = in_transaction_ && accepted_rcpts_ > 0;
      if (Reply(SmtpStep::kData, ready ? data_ : no_recipients_) / 100 == 3) {
        in_data_ = true;
        data_bytes_ = 0;
        data_wire_.clear();
        message_.clear();
      }
    } else if (verb == "RSET") {
      ResetTransaction();
      Reply(SmtpStep::kRset, rset_);
    } else if (verb == "NOOP") {
      Reply(SmtpStep::kNoop, "250 2.0.0 Ok");
    } else if (verb == "QUIT") {
      Reply(SmtpStep::kQuit, "221 2.0.0 Bye");
      closed_ = true;
    } else {
      out_ += "500 5.5.2 Error: command not recognized\r\n";
    }
  }

  void StartAuth(const std::string& arg) {
    const size_t space = arg.find(' ');
    auth_mechanism_ = AsciiUpper(arg.substr(0, space));
    const std::string initial = space == std::string::npos ? "" : arg.substr(space + 1);
    if (auth_mechanism_ == "PLAIN") {
      if (initial.empty()) {
        auth_state_ = AuthState::kPlainResponse;
        out_ += "334 \r\n";
      } else {
        FinishPlain(initial);
      }
    } else if (auth_mechanism_ == "LOGIN") {
      auth_state_ = AuthState::kLoginUser;
      out_ += "334 VXNlcm5hbWU6\r\n";
    } else {
      out_ += "504 5.5.4 Unrecognized authentication type\r\n";
    }
  }

  void FinishPlain(const std::string& b64) {
    const std::optional<std::string> decoded = Base64Decode(b64);
    const std::string text = decoded.value_or("");
    const size_t a = text.find('\0');
    const size_t b = a == std::string::npos ? a : text.find('\0', a + 1);
    if (b == std::string::npos) {
      out_ += "501 5.5.2 Cannot decode response\r\n";
      return;
    }
    auth_user_ = text.substr(a + 1, b - a - 1);
    auth_password_ = text.substr(b + 1);
    Reply(SmtpStep::kAuth, auth_);
  }

  void AuthLine(const std::string& line) {
    const AuthState state = auth_state_;
    auth_state_ = AuthState::kNone;
    if (line == "*") {
      out_ += "501 5.0.0 Authentication cancelled\r\n";
      return;
    }
    if (state == AuthState::kPlainResponse) {
      FinishPlain(line);
      return;
    }
    const std::optional<std::string> decoded = Base64Decode(line);
    if (!decoded.has_value()) {
      out_ += "501 5.5.2 Cannot decode response\r\n";
      return;
    }
    if (state == AuthState::kLoginUser) {
      auth_user_ = *decoded;
      auth_state_ = AuthState::kLoginPassword;
      out_ += "334 UGFzc3dvcmQ6\r\n";
      return;
    }
    auth_password_ = *decoded;
    Reply(SmtpStep::kAuth, auth_);
  }

  mutable std::mutex mu_;
  // Script.
  ScriptedReply greeting_{"220 mx.test ESMTP"};
  ScriptedReply ehlo_{"250-mx.test",  "250-PIPELINING", "250-SIZE 10485760",
                      "250-8BITMIME", "250-SMTPUTF8",   "250 ENHANCEDSTATUSCODES"};
  std::optional<ScriptedReply> ehlo_after_tls_;
  ScriptedReply helo_{"250 mx.test"};
  ScriptedReply starttls_{"220 2.0.0 Ready to start TLS"};
  ScriptedReply auth_{"235 2.7.0 Authentication successful"};
  ScriptedReply mail_{"250 2.1.0 Ok"};
  ScriptedReply rcpt_{"250 2.1.5 Ok"};
  std::map<std::string, ScriptedReply> rcpt_by_address_;
  ScriptedReply data_{"354 End data with <CR><LF>.<CR><LF>"};
  ScriptedReply data_done_{"250 2.0.0 Ok: queued as TEST"};
  ScriptedReply rset_{"250 2.0.0 Ok"};
  const ScriptedReply need_mail_{"503 5.5.1 Error: need MAIL command"};
  const ScriptedReply no_recipients_{"554 5.5.1 Error: no valid recipients"};
  std::map<SmtpStep, std::deque<ScriptedReply>> once_;
  std::vector<std::pair<SmtpStep, int>> timeouts_, closes_;
  std::optional<size_t> drop_after_, stall_after_;
  size_t read_chunk_ = static_cast<size_t>(-1);
  bool fail_tls_ = false;
  std::string peer_address_ = "192.0.2.25";
  // Session state.
  bool greeted_ = false, helo_done_ = false, pipelining_ = false, group_ended_ = false;
  bool in_transaction_ = false, in_data_ = false, tls_go_ahead_ = false, tls_ = false;
  bool silent_ = false, stalled_ = false, closed_ = false, released_ = false;
  int accepted_rcpts_ = 0;
  AuthState auth_state_ = AuthState::kNone;
  std::string line_;     // the partial line being received
  std::string out_;      // replies not yet read by the client
  std::string message_;  // the DATA content being received
  size_t data_bytes_ = 0;
  std::map<SmtpStep, int> reached_;
  // Observations.
  std::vector<std::string> commands_, messages_, writes_;
  std::string data_wire_;
  int out_of_turn_ = 0;
  std::string tls_server_name_, auth_mechanism_, auth_user_, auth_password_;
  std::chrono::milliseconds last_read_timeout_{0}, last_write_timeout_{0};
};

class FakeDialer final : public Dialer {
 public:
  using PeerFactory = std::function<std::shared_ptr<ScriptedSmtpPeer>()>;

  // Queues a new default peer for the next Dial of ip:port; script it through the result.
  ScriptedSmtpPeer& AddPeer(const std::string& ip, uint16_t port) {
    auto peer = std::make_shared<ScriptedSmtpPeer>();
    AddPeer(ip, port, peer);
    return *peer;
  }
  void AddPeer(const std::string& ip, uint16_t port, std::shared_ptr<ScriptedSmtpPeer> peer) {
    std::lock_guard<std::mutex> lock(mu_);
    all_peers_.push_back(peer);
    queues_[Key(ip, port)].push_back({StatusCode::kOk, std::move(peer)});
  }
  // The next Dial of ip:port fails: connection refused (kUnavailable) or timed out.
  void RefuseNext(const std::string& ip, uint16_t port) {
    std::lock_guard<std::mutex> lock(mu_);
    queues_[Key(ip, port)].push_back({StatusCode::kUnavailable, nullptr});
  }
  void TimeoutNext(const std::string& ip, uint16_t port) {
    std::lock_guard<std::mutex> lock(mu_);
    queues_[Key(ip, port)].push_back({StatusCode::kDeadlineExceeded, nullptr});
  }
  // Makes peers for ip:port whenever its queue is empty.
  void SetFactory(const std::string& ip, uint16_t port, PeerFactory factory) {
    std::lock_guard<std::mutex> lock(mu_);
    factories_[Key(ip, port)] = std::move(factory);
  }

  int dials() const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(log_.size());
  }
  int dials(const std::string& ip, uint16_t port) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count(log_.begin(), log_.end(), Key(ip, port)));
  }
  std::vector<std::string> dial_log() const {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  // The peers handed out for ip:port, in order.
  std::vector<std::shared_ptr<ScriptedSmtpPeer>> peers(const std::string& ip, uint16_t port) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = handed_out_.find(Key(ip, port));
    return it == handed_out_.end() ? std::vector<std::shared_ptr<ScriptedSmtpPeer>>{} : it->second;
  }
  std::chrono::milliseconds last_timeout() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_timeout_;
  }

  StatusOr<std::unique_ptr<Transport>> Dial(const std::string& ip, uint16_t port,
                                            std::chrono::milliseconds timeout) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = Key(ip, port);
    log_.push_back(key);
    last_timeout_ = timeout;
    std::shared_ptr<ScriptedSmtpPeer> peer;
    auto q = queues_.find(key);
    if (q != queues_.end() && !q->second.empty()) {
      Entry entry = std::move(q->second.front());
      q->second.pop_front();
      if (entry.failure == StatusCode::kUnavailable) {
        return UnavailableError("connect " + key + ": Connection refused");
      }
      if (entry.failure == StatusCode::kDeadlineExceeded) {
        return DeadlineExceededError("connect " + key + " timed out");
      }
      peer = std::move(entry.peer);
    } else if (auto f = factories_.find(key); f != factories_.end()) {
      peer = f->second();
      all_peers_.push_back(peer);
    } else {
      return UnavailableError("connect " + key + ": Connection refused");
    }
    peer->SetPeerAddress(ip);
    handed_out_[key].push_back(peer);
    return std::unique_ptr<Transport>(new PeerConnection(std::move(peer)));
  }

 private:
  // The client's end of a dialled peer; dropping it marks the peer released.
  class PeerConnection final : public Transport {
   public:
    explicit PeerConnection(std::shared_ptr<ScriptedSmtpPeer> peer) : peer_(std::move(peer)) {}
    ~PeerConnection() override { peer_->MarkReleased(); }
    StatusOr<size_t> Read(char* buf, size_t cap, std::chrono::milliseconds timeout) override {
      return peer_->Read(buf, cap, timeout);
    }
    Status Write(std::string_view data, std::chrono::milliseconds timeout) override {
      return peer_->Write(data, timeout);
    }
    Status StartTls(const std::string& name, std::chrono::milliseconds timeout) override {
      return peer_->StartTls(name, timeout);
    }
    bool IsTls() const override { return peer_->IsTls(); }
    std::string TlsDescription() const override { return peer_->TlsDescription(); }
    std::string PeerAddress() const override { return peer_->PeerAddress(); }

   private:
    std::shared_ptr<ScriptedSmtpPeer> peer_;
  };

  struct Entry {
    StatusCode failure;  // kOk: hand out `peer`
    std::shared_ptr<ScriptedSmtpPeer> peer;
  };

  static std::string Key(const std::string& ip, uint16_t port) {
    const bool v6 = ip.find(':') != std::string::npos;
    return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
  }

  mutable std::mutex mu_;
  std::map<std::string, std::deque<Entry>> queues_;
  std::map<std::string, PeerFactory> factories_;
  std::map<std::string, std::vector<std::shared_ptr<ScriptedSmtpPeer>>> handed_out_;
  std::vector<std::shared_ptr<ScriptedSmtpPeer>> all_peers_;  // keeps AddPeer's results alive
  std::vector<std::string> log_;
  std::chrono::milliseconds last_timeout_{0};
};

}  // namespace herald::net
