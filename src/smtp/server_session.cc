#include "smtp/server_session.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "base/crypto.h"
#include "base/strings.h"
#include "smtp/smtp_path.h"

namespace herald::smtp {
namespace {

constexpr std::string_view kBareInCommand = "500 5.5.2 Bare <CR> or <LF> in command";
constexpr std::string_view kBareInData =
    "554 5.6.11 Bare <CR> or <LF> in message data; message refused";
constexpr std::string_view kLineTooLong = "500 5.5.0 Line too long";
constexpr std::string_view kAuthInvalid = "535 Authentication Credentials Invalid";
constexpr std::string_view kTooLong = "552 Message is too long.";
constexpr std::string_view kTempFailure = "451 Temporary service failure";
constexpr size_t kMaxCredentialLength = 1024;
constexpr size_t kMaxShownLength = 64;
constexpr size_t kMaxReplyLength = 510;
constexpr size_t kMaxInitialReserve = 1024 * 1024;

// Overwrites a buffer that held a password before it is freed.
void Wipe(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

// Client text quoted in a reply: printable ASCII only, bounded.
std::string Shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, kMaxShownLength)) {
    out.push_back(c >= 33 && c <= 126 ? c : '?');
  }
  return out;
}

bool ValidCommandBytes(std::string_view line) {
  for (char ch : line) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 32 && c != '\t') || c >= 127) return false;
  }
  return true;
}

std::string_view TrimTrailingSpaces(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "<path> PARAMS" into the bracketed path and the parameter text. The path ends at
// the first '>' outside a quoted string. False when there is no such path.
bool SplitPath(std::string_view rest, std::string_view* path, std::string_view* params) {
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty() || rest.front() != '<') return false;
  bool quoted = false;
  bool escaped = false;
  for (size_t i = 1; i < rest.size(); ++i) {
    const char c = rest[i];
    if (escaped) {
      escaped = false;
    } else if (quoted && c == '\\') {
      escaped = true;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (!quoted && c == '>') {
      *path = rest.substr(0, i + 1);
      *params = rest.substr(i + 1);
      return params->empty() || params->front() == ' ';
    }
  }
  return false;
}

struct Param {
  std::string key;  // upper case
  std::string_view value;
  bool has_value = false;
};

// ESMTP parameters: esmtp-keyword ["=" esmtp-value], separated by spaces.
bool ParseParams(std::string_view text, std::vector<Param>* out) {
  for (std::string_view token : Split(text, ' ')) {
    if (token.empty()) continue;
    Param p;
    const size_t eq = token.find('=');
    const std::string_view key = token.substr(0, eq);
    if (key.empty() || key.size() > 64) return false;
    for (char c : key) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-')) {
        return false;
      }
    }
    p.key = AsciiUpper(key);
    if (eq != std::string_view::npos) {
      p.value = token.substr(eq + 1);
      p.has_value = true;
      if (p.value.empty()) return false;
      for (char c : p.value) {
        if (c < 33 || c > 126 || c == '=') return false;
      }
    }
    for (const Param& seen : *out) {
      if (seen.key == p.key) return false;
    }
    out->push_back(std::move(p));
  }
  return true;
}

bool IsHttpVerb(std::string_view verb) {
  for (std::string_view v : {"GET", "POST", "HEAD", "PUT", "CONNECT", "OPTIONS", "DELETE"}) {
    if (EqualsIgnoreCase(verb, v)) return true;
  }
  return false;
}

// A handler's reply must be one well-formed line with a 2xx/4xx/5xx code.
std::string SanitizeReply(std::string reply) {
  if (reply.size() < 3 || (reply[0] != '2' && reply[0] != '4' && reply[0] != '5') ||
      reply[1] < '0' || reply[1] > '9' || reply[2] < '0' || reply[2] > '9' ||
      (reply.size() > 3 && reply[3] != ' ')) {
    return std::string(kTempFailure);
  }
  if (reply.size() > kMaxReplyLength) reply.resize(kMaxReplyLength);
  for (char& c : reply) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 32 || u == 127) c = ' ';
  }
  return reply;
}

}  // namespace

ServerSession::ServerSession(const SessionOptions& options, SessionHandler& handler)
    : options_(options),
      handler_(handler),
      tls_active_(options.tls_active),
      authenticated_(options.pre_authenticated) {}

std::string ServerSession::TooManyConnectionsReply() {
  return "421 Too many concurrent SMTP connections\r\n";
}

SessionOutput ServerSession::Greeting() {
  out_ = {};
  Reply("220 " + options_.hostname + " ESMTP herald");
  return std::move(out_);
}

SessionOutput ServerSession::Timeout() {
  out_ = {};
  if (state_ != State::kClosed)
    Close("421 4.4.2 " + options_.hostname + " Error: timeout exceeded");
  return std::move(out_);
}

SessionOutput ServerSession::Shutdown() {
  out_ = {};
  if (state_ != State::kClosed) Close("421 4.3.2 " + options_.hostname + " Service shutting down");
  return std::move(out_);
}

bool ServerSession::InTransaction() const { return has_mail_ || state_ == State::kData; }

void ServerSession::Reply(std::string_view line) {
  out_.bytes.append(line);
  out_.bytes.append("\r\n");
}

void ServerSession::Close(std::string_view line) {
  Reply(line);
  out_.close = true;
  out_.start_tls = false;
  state_ = State::kClosed;
}

void ServerSession::ResetTransaction() {
  has_mail_ = false;
  recipient_count_ = 0;
  txn_.mail_from.clear();
  txn_.recipients.clear();
  txn_.message = std::string();
  txn_.body_8bitmime = false;
  data_bytes_ = 0;
  data_mid_line_ = false;
  data_failure_ = DataFailure::kNone;
}

void ServerSession::TlsStarted() {
  tls_active_ = true;
  greeted_ = false;
  authenticated_ = options_.pre_authenticated;
  Wipe(login_user_);
  ResetTransaction();
  pending_.clear();
  skip_to_eol_ = false;
  if (state_ != State::kClosed) state_ = State::kCommand;
}

SessionOutput ServerSession::Feed(std::string_view bytes) {
  out_ = {};
  if (state_ == State::kClosed || state_ == State::kAwaitTls) return {};
  // Work on the caller's bytes directly unless an incomplete line is waiting.
  const bool use_pending = !pending_.empty();
  if (use_pending) pending_.append(bytes);
  const std::string_view buf = use_pending ? std::string_view(pending_) : bytes;
  size_t pos = 0;
  while (pos < buf.size()) {
    if (state_ == State::kClosed || state_ == State::kAwaitTls) break;
    if (state_ == State::kData) {
      ProcessData(buf, &pos);
      if (state_ == State::kData) break;  // needs more input
      continue;
    }
    if (!ProcessLines(buf, &pos)) break;
  }
  if (state_ == State::kClosed || state_ == State::kAwaitTls) {
    // Anything after QUIT, an error that closes, or STARTTLS is discarded unread.
    pending_.clear();
  } else if (use_pending) {
    pending_.erase(0, pos);
  } else {
    pending_.assign(bytes.substr(pos));
  }
  return std::move(out_);
}

bool ServerSession::ProcessLines(std::string_view buf, size_t* pos) {
  const size_t p = *pos;
  const char* base = buf.data();
  const size_t end = buf.size();
  const bool auth_state = state_ == State::kAuthPlain || state_ == State::kAuthLoginUser ||
                          state_ == State::kAuthLoginPassword;
  const size_t limit = (auth_state || StartsWithIgnoreCase(buf.substr(p), "AUTH "))
                           ? options_.limits.max_auth_line
                           : options_.limits.max_command_line;
  const void* lfp = std::memchr(base + p, '\n', end - p);
  if (lfp == nullptr) {
    // Incomplete line: a CR anywhere but at the very end is already a bare CR.
    const void* cr = std::memchr(base + p, '\r', end - p);
    if (cr != nullptr && static_cast<const char*>(cr) - base < static_cast<ptrdiff_t>(end - 1)) {
      Close(kBareInCommand);
      return false;
    }
    if (end - p > limit || (skip_to_eol_ && end - p > 1)) {
      if (!skip_to_eol_) {
        skip_to_eol_ = true;
        if (!LineTooLong()) return false;
      }
      // Keep only a trailing CR, which may pair with the next LF.
      *pos = base[end - 1] == '\r' ? end - 1 : end;
      return false;
    }
    return false;
  }
  const size_t lf = static_cast<const char*>(lfp) - base;
  if (lf == p || base[lf - 1] != '\r' || std::memchr(base + p, '\r', lf - 1 - p) != nullptr) {
    Close(kBareInCommand);
    return false;
  }
  *pos = lf + 1;
  if (skip_to_eol_) {
    skip_to_eol_ = false;
    return true;
  }
  if (lf + 1 - p > limit) {
    return LineTooLong();
  }
  HandleLine(buf.substr(p, lf - 1 - p));
  return true;
}

bool ServerSession::CountCommand() {
  if (++commands_ > options_.limits.max_commands) {
    Close("421 4.7.0 Too many commands, closing connection");
    return false;
  }
  return true;
}

bool ServerSession::LineTooLong() {
  if (!CountCommand()) return false;
  if (state_ != State::kCommand) {  // an over-long SASL response ends the exchange
    state_ = State::kCommand;
    Wipe(login_user_);
  }
  Reply(kLineTooLong);
  return true;
}

void ServerSession::HandleLine(std::string_view line) {
  if (!CountCommand()) return;
  switch (state_) {
    case State::kAuthPlain:
    case State::kAuthLoginUser:
    case State::kAuthLoginPassword:
      HandleAuthResponse(line);
      return;
    case State::kCommand:
      HandleCommand(line);
      return;
    default:
      return;
  }
}

void ServerSession::HandleCommand(std::string_view line) {
  if (!ValidCommandBytes(line)) {
    Reply("500 5.5.2 Error: invalid characters in command");
    return;
  }
  const size_t sp = line.find(' ');
  const std::string_view verb = line.substr(0, sp);
  const std::string_view arg =
      sp == std::string_view::npos ? std::string_view() : TrimTrailingSpaces(line.substr(sp + 1));
  const std::string v = AsciiUpper(verb);
  if (v == "EHLO" || v == "HELO") {
    HandleEhlo(arg, v == "EHLO");
  } else if (v == "MAIL") {
    HandleMail(arg);
  } else if (v == "RCPT") {
    HandleRcpt(arg);
  } else if (v == "DATA") {
    HandleData(arg);
  } else if (v == "AUTH") {
    HandleAuth(arg);
  } else if (v == "STARTTLS") {
    HandleStartTls(arg);
  } else if (v == "RSET") {
    if (!arg.empty()) {
      Reply("501 5.5.4 Syntax: RSET");
      return;
    }
    ResetTransaction();
    Reply("250 2.0.0 Ok");
  } else if (v == "NOOP") {
    Reply("250 2.0.0 Ok");
  } else if (v == "QUIT") {
    Close("221 2.0.0 Bye");
  } else if (v == "VRFY") {
    if (arg.empty()) {
      Reply("501 5.5.4 Syntax: VRFY address");
      return;
    }
    Reply("252 2.5.2 Cannot verify the user; send mail to try delivery");
  } else if (v == "HELP") {
    Reply("214 2.0.0 herald: see RFC 5321 and RFC 4954");
  } else if (v == "EXPN") {
    Reply("502 5.5.1 Error: EXPN not supported");
  } else if (v == "BDAT") {
    Reply("502 5.5.1 Error: BDAT not supported");
  } else if (v == "ETRN" || v == "TURN" || v == "ATRN") {
    Reply("502 5.5.1 Error: command not implemented");
  } else if (IsHttpVerb(verb)) {
    Close("500 5.5.1 Error: HTTP requests are not SMTP");
  } else {
    Reply("500 5.5.2 Error: command not recognized");
  }
}

void ServerSession::HandleEhlo(std::string_view arg, bool extended) {
  if (arg.empty()) {
    Reply(extended ? "501 5.5.4 Syntax: EHLO hostname" : "501 5.5.4 Syntax: HELO hostname");
    return;
  }
  ResetTransaction();
  greeted_ = true;
  if (!extended) {
    Reply("250 " + options_.hostname);
    return;
  }
  std::vector<std::string> lines = {options_.hostname, "PIPELINING",
                                    "SIZE " + std::to_string(options_.limits.max_message_bytes),
                                    "8BITMIME", "ENHANCEDSTATUSCODES"};
  if (options_.tls_available && !tls_active_) lines.push_back("STARTTLS");
  if (!options_.inbound_mx && (tls_active_ || options_.allow_insecure_auth)) {
    lines.push_back("AUTH PLAIN LOGIN");
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    out_.bytes.append(i + 1 < lines.size() ? "250-" : "250 ");
    out_.bytes.append(lines[i]);
    out_.bytes.append("\r\n");
  }
}

void ServerSession::HandleStartTls(std::string_view arg) {
  if (!arg.empty()) {
    Reply("501 5.5.4 Syntax: STARTTLS");
  } else if (tls_active_) {
    Reply("554 5.5.1 Error: TLS already active");
  } else if (!options_.tls_available) {
    Reply("454 4.7.0 TLS not available");
  } else if (has_mail_) {
    Reply("503 5.5.1 Error: MAIL transaction in progress");
  } else {
    Reply("220 2.0.0 Ready to start TLS");
    state_ = State::kAwaitTls;
    out_.start_tls = true;
  }
}

void ServerSession::HandleAuth(std::string_view arg) {
  if (options_.inbound_mx) {
    Reply("503 5.5.1 Error: authentication not enabled");
    return;
  }
  if (!greeted_) {
    Reply("503 5.5.1 Error: send EHLO first");
    return;
  }
  if (authenticated_) {
    Reply("503 5.5.1 Error: already authenticated");
    return;
  }
  if (has_mail_) {
    Reply("503 5.5.1 Error: MAIL transaction in progress");
    return;
  }
  if (!tls_active_ && !options_.allow_insecure_auth) {
    Reply("530 Must issue a STARTTLS command first");
    return;
  }
  const std::vector<std::string_view> parts = Split(arg, ' ');
  if (arg.empty() || parts.size() > 2 || parts[0].empty() ||
      (parts.size() == 2 && parts[1].empty())) {
    Reply("501 5.5.4 Syntax: AUTH mechanism [initial-response]");
    return;
  }
  const bool has_initial = parts.size() == 2;
  if (EqualsIgnoreCase(parts[0], "PLAIN")) {
    if (!has_initial) {
      state_ = State::kAuthPlain;
      Reply("334 ");
      return;
    }
    state_ = State::kAuthPlain;
    HandleAuthResponse(parts[1]);
  } else if (EqualsIgnoreCase(parts[0], "LOGIN")) {
    if (!has_initial) {
      state_ = State::kAuthLoginUser;
      Reply("334 VXNlcm5hbWU6");  // "Username:"
      return;
    }
    state_ = State::kAuthLoginUser;
    HandleAuthResponse(parts[1]);
  } else {
    Reply("504 5.5.4 Unrecognized authentication type");
  }
}

void ServerSession::HandleAuthResponse(std::string_view line) {
  if (line == "*") {
    state_ = State::kCommand;
    Wipe(login_user_);
    Reply("501 5.7.0 Authentication aborted");
    return;
  }
  std::string decoded;
  if (line != "=") {  // "=" is an empty initial response (RFC 4954 section 4)
    std::optional<std::string> d = Base64Decode(line);
    if (!d.has_value()) {
      AuthFailed("501 5.5.2 Cannot decode response");
      return;
    }
    decoded = std::move(*d);
  }
  if (state_ == State::kAuthLoginUser) {
    login_user_ = std::move(decoded);
    state_ = State::kAuthLoginPassword;
    Reply("334 UGFzc3dvcmQ6");  // "Password:"
    return;
  }
  if (state_ == State::kAuthLoginPassword) {
    std::string user = std::move(login_user_);
    login_user_.clear();
    FinishAuth(user, decoded);
    Wipe(user);
    Wipe(decoded);
    return;
  }
  // PLAIN: authzid NUL authcid NUL passwd (RFC 4616).
  const size_t n1 = decoded.find('\0');
  const size_t n2 = n1 == std::string::npos ? std::string::npos : decoded.find('\0', n1 + 1);
  if (n2 == std::string::npos || decoded.find('\0', n2 + 1) != std::string::npos) {
    Wipe(decoded);
    AuthFailed("501 5.5.2 Invalid AUTH PLAIN response");
    return;
  }
  const std::string_view all(decoded);
  const std::string_view authzid = all.substr(0, n1);
  const std::string_view authcid = all.substr(n1 + 1, n2 - n1 - 1);
  const std::string_view password = all.substr(n2 + 1);
  if (!authzid.empty() && authzid != authcid) {
    Wipe(decoded);
    AuthFailed(kAuthInvalid);
    return;
  }
  FinishAuth(authcid, password);
  Wipe(decoded);
}

void ServerSession::FinishAuth(std::string_view user, std::string_view password) {
  state_ = State::kCommand;
  if (user.empty() || password.empty() || user.size() > kMaxCredentialLength ||
      password.size() > kMaxCredentialLength || !handler_.Authenticate(user, password)) {
    AuthFailed(kAuthInvalid);
    return;
  }
  authenticated_ = true;
  Reply("235 Authentication successful");
}

void ServerSession::AuthFailed(std::string_view reply) {
  state_ = State::kCommand;
  Wipe(login_user_);
  Reply(reply);
  if (++auth_failures_ >= options_.limits.max_auth_failures) {
    Close("421 4.7.0 Too many authentication failures, closing connection");
  }
}

void ServerSession::HandleMail(std::string_view arg) {
  if (!greeted_) {
    Reply("503 5.5.1 Error: send HELO/EHLO first");
    return;
  }
  if (!authenticated_ && !options_.inbound_mx) {
    Reply("530 Authentication required");
    return;
  }
  if (has_mail_) {
    Reply("503 5.5.1 Error: nested MAIL command");
    return;
  }
  std::string_view path, params_text;
  if (!StartsWithIgnoreCase(arg, "FROM:") || !SplitPath(arg.substr(5), &path, &params_text)) {
    Reply("501 5.5.4 Syntax: MAIL FROM:<address>");
    return;
  }
  StatusOr<std::string> address = ParseSmtpPath(path, /*allow_empty=*/true);
  if (!address.ok()) {
    Reply("553 " + Shown(path.substr(1, path.size() - 2)) + " Invalid email address");
    return;
  }
  std::vector<Param> params;
  if (!ParseParams(params_text, &params)) {
    Reply("501 5.5.4 Syntax error in parameters");
    return;
  }
  bool body_8bit = false;
  uint64_t declared = 0;
  for (const Param& p : params) {
    if (p.key == "SIZE") {
      if (!p.has_value || p.value.size() > 20 ||
          !std::all_of(p.value.begin(), p.value.end(),
                       [](char c) { return c >= '0' && c <= '9'; })) {
        Reply("501 5.5.4 Bad SIZE parameter");
        return;
      }
      if (std::from_chars(p.value.data(), p.value.data() + p.value.size(), declared).ec !=
          std::errc()) {
        declared = UINT64_MAX;  // out of range: larger than any limit
      }
      if (declared > options_.limits.max_message_bytes) {
        Reply(kTooLong);
        return;
      }
    } else if (p.key == "BODY") {
      if (p.has_value && EqualsIgnoreCase(p.value, "8BITMIME")) {
        body_8bit = true;
      } else if (!(p.has_value && EqualsIgnoreCase(p.value, "7BIT"))) {
        Reply("555 5.5.4 Unsupported BODY type");
        return;
      }
    } else if (p.key == "AUTH") {
      // RFC 4954 section 5: accepted and ignored; the session's own AUTH identity is used.
      if (!p.has_value) {
        Reply("501 5.5.4 Syntax error in parameters");
        return;
      }
    } else if (p.key == "SMTPUTF8") {
      Reply("555 5.5.4 SMTPUTF8 is not supported");
      return;
    } else {
      Reply("555 5.5.4 Unsupported option: " + p.key);
      return;
    }
  }
  has_mail_ = true;
  txn_.mail_from = std::move(address).value();
  txn_.body_8bitmime = body_8bit;
  if (declared > 0) {
    txn_.message.reserve(std::min<uint64_t>(declared, kMaxInitialReserve));
  }
  Reply("250 2.1.0 Ok");
}

void ServerSession::HandleRcpt(std::string_view arg) {
  if (!has_mail_) {
    Reply("503 5.5.1 Error: need MAIL command");
    return;
  }
  std::string_view path, params_text;
  if (!StartsWithIgnoreCase(arg, "TO:") || !SplitPath(arg.substr(3), &path, &params_text)) {
    Reply("501 5.5.4 Syntax: RCPT TO:<address>");
    return;
  }
  StatusOr<std::string> address = ParseSmtpPath(path, /*allow_empty=*/false);
  if (!address.ok()) {
    const std::string_view inner = path.substr(1, path.size() - 2);
    Reply("553 " + (inner.empty() ? std::string("<>") : Shown(inner)) + " Invalid email address");
    return;
  }
  std::vector<Param> params;
  if (!ParseParams(params_text, &params)) {
    Reply("501 5.5.4 Syntax error in parameters");
    return;
  }
  if (!params.empty()) {
    Reply("555 5.5.4 Unsupported option: " + params.front().key);
    return;
  }
  if (recipient_count_ >= options_.limits.max_recipients_hard) {
    Reply("452 4.5.3 Error: too many recipients");
    return;
  }
  if (options_.inbound_mx) {
    std::string refusal = options_.accept_recipient ? options_.accept_recipient(*address)
                                                    : std::string("550 5.7.1 Relaying denied");
    if (!refusal.empty()) {
      refusal = SanitizeReply(std::move(refusal));
      Reply(refusal[0] == '2' ? kTempFailure : std::string_view(refusal));
      return;
    }
  }
  ++recipient_count_;
  if (static_cast<int>(txn_.recipients.size()) < options_.limits.max_recipients) {
    txn_.recipients.push_back(std::move(address).value());
  }
  Reply("250 2.1.5 Ok");
}

void ServerSession::HandleData(std::string_view arg) {
  if (!arg.empty()) {
    Reply("501 5.5.4 Syntax: DATA");
    return;
  }
  if (!has_mail_) {
    Reply("503 5.5.1 Error: need MAIL command");
    return;
  }
  if (recipient_count_ == 0) {
    Reply("503 5.5.1 Error: need RCPT command");
    return;
  }
  Reply("354 End data with <CR><LF>.<CR><LF>");
  state_ = State::kData;
  data_bytes_ = 0;
  data_mid_line_ = false;
  data_failure_ = DataFailure::kNone;
}

void ServerSession::AppendData(std::string_view bytes) {
  if (bytes.empty() || data_failure_ != DataFailure::kNone) return;
  data_bytes_ += bytes.size();
  if (data_bytes_ > options_.limits.max_message_bytes) {
    data_failure_ = DataFailure::kTooLarge;
    txn_.message = std::string();  // release the memory; the rest is read and discarded
    return;
  }
  txn_.message.append(bytes);
}

void ServerSession::ProcessData(std::string_view buf, size_t* pos) {
  const char* base = buf.data();
  const size_t end = buf.size();
  size_t p = *pos;
  size_t run_start = p;  // complete lines not yet appended: [run_start, p)
  while (true) {
    const void* lfp = std::memchr(base + p, '\n', end - p);
    if (lfp == nullptr) {
      AppendData(buf.substr(run_start, p - run_start));
      const size_t rest = end - p;
      const void* cr = std::memchr(base + p, '\r', rest);
      if (cr != nullptr && static_cast<const char*>(cr) - base < static_cast<ptrdiff_t>(end - 1)) {
        Close(kBareInData);
        return;
      }
      if (rest > options_.limits.max_data_line) {
        // Bound the buffer: drop the partial line (keeping a trailing CR that may pair with
        // the next LF) and refuse the message at its end.
        if (data_failure_ == DataFailure::kNone) {
          data_failure_ = DataFailure::kLineTooLong;
          txn_.message = std::string();
        }
        data_mid_line_ = true;
        *pos = base[end - 1] == '\r' ? end - 1 : end;
        return;
      }
      *pos = p;
      return;
    }
    const size_t lf = static_cast<const char*>(lfp) - base;
    if (lf == p || base[lf - 1] != '\r' || std::memchr(base + p, '\r', lf - 1 - p) != nullptr) {
      Close(kBareInData);
      return;
    }
    if (lf + 1 - p > options_.limits.max_data_line && data_failure_ == DataFailure::kNone) {
      data_failure_ = DataFailure::kLineTooLong;
      txn_.message = std::string();
    }
    const bool line_start = !data_mid_line_;
    data_mid_line_ = false;
    if (line_start && base[p] == '.') {
      AppendData(buf.substr(run_start, p - run_start));
      if (lf - p == 2) {  // ".\r\n": end of data
        *pos = lf + 1;
        EndOfData();
        return;
      }
      run_start = p + 1;  // drop the stuffing dot (RFC 5321 section 4.5.2)
    }
    p = lf + 1;
  }
}

void ServerSession::EndOfData() {
  state_ = State::kCommand;
  std::string reply;
  if (data_failure_ == DataFailure::kTooLarge) {
    reply = std::string(kTooLong);
  } else if (data_failure_ == DataFailure::kLineTooLong) {
    reply = "554 5.6.0 Message line too long";
  } else if (recipient_count_ > options_.limits.max_recipients) {
    reply = "554 Transaction failed: Recipient count exceeds " +
            std::to_string(options_.limits.max_recipients) + ".";
  } else {
    reply = SanitizeReply(handler_.Deliver(txn_));
  }
  if (reply[0] == '2') {
    ++messages_accepted_;
  } else {
    ++messages_refused_;
  }
  Reply(reply);
  ResetTransaction();
}

}  // namespace herald::smtp
