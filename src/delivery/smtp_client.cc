#include "delivery/smtp_client.h"

#include <algorithm>

#include "base/crypto.h"
#include "base/strings.h"

namespace herald::delivery {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 4096;
constexpr size_t kBodyChunk = 64 * 1024;
constexpr milliseconds kQuitTimeout(5000);

SmtpReply Synthesised(int code, std::string text) { return SmtpReply{code, std::move(text)}; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool Is2xx(const SmtpReply& r) { return r.code >= 200 && r.code < 300; }
bool Is3xx(const SmtpReply& r) { return r.code >= 300 && r.code < 400; }

// An address that could split or confuse a command line.
bool BadAddress(std::string_view address) {
  return address.find_first_of(std::string_view("\r\n\0<>", 5)) != std::string_view::npos;
}

bool NeedsUtf8(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// kPermissionDenied for a 5xx, kUnavailable otherwise.
Status RefusalStatus(const SmtpReply& reply, std::string_view what) {
  std::string message = std::string(what) + " refused: " + reply.Line();
  if (reply.code >= 500 && reply.code < 600) return PermissionDeniedError(std::move(message));
  return UnavailableError(std::move(message));
}

// Open() reports timeouts and other connection failures as kUnavailable; refusals
// (kPermissionDenied) and impossible policies (kFailedPrecondition) keep their code.
Status AsUnavailable(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
    case StatusCode::kUnavailable:
    case StatusCode::kPermissionDenied:
    case StatusCode::kFailedPrecondition:
      return s;
    default:
      return UnavailableError(s.message());
  }
}

}  // namespace

// ---------------------------------------------------------------------------- SmtpReply

std::string SmtpReply::Line() const {
  std::string out;
  if (code != 0) out = std::to_string(code);
  if (!text.empty()) {
    if (!out.empty()) out += ' ';
    out += text;
    std::replace(out.begin(), out.end(), '\n', ' ');
  }
  return out;
}

// ---------------------------------------------------------------------------- SmtpReplyReader

SmtpReplyReader::Result SmtpReplyReader::Next(SmtpReply* reply, std::string* error) {
  if (!error_.empty()) {
    *error = error_;
    return Result::kError;
  }
  while (true) {
    const size_t eol = buffer_.find('\n', line_start_);
    if (eol == std::string::npos) {
      if (buffer_.size() > max_reply_bytes_) {
        error_ = "reply longer than " + std::to_string(max_reply_bytes_) + " bytes";
        *error = error_;
        return Result::kError;
      }
      return Result::kNeedMore;
    }
    if (eol + 1 > max_reply_bytes_) {
      error_ = "reply longer than " + std::to_string(max_reply_bytes_) + " bytes";
      *error = error_;
      return Result::kError;
    }
    std::string_view line(buffer_.data() + line_start_, eol - line_start_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool framed = line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && IsDigit(line[1]) &&
                        IsDigit(line[2]) && (line.size() == 3 || line[3] == ' ' || line[3] == '-');
    if (!framed) {
      error_ = "malformed reply line";
      *error = error_;
      return Result::kError;
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (code_ != 0 && code != code_) {
      error_ = "reply lines with different codes (" + std::to_string(code_) + ", " +
               std::to_string(code) + ")";
      *error = error_;
      return Result::kError;
    }
    if (code_ != 0) text_ += '\n';
    code_ = code;
    if (line.size() > 4) text_.append(line.substr(4));
    const bool last = line.size() == 3 || line[3] == ' ';
    line_start_ = eol + 1;
    if (last) {
      reply->code = code_;
      reply->text = std::move(text_);
      buffer_.erase(0, line_start_);
      line_start_ = 0;
      code_ = 0;
      text_.clear();
      return Result::kReply;
    }
  }
}

// ---------------------------------------------------------------------------- SmtpClient

SmtpClient::SmtpClient(net::Transport& transport, SmtpClientOptions options)
    : transport_(transport), options_(std::move(options)), reader_(options_.max_reply_bytes) {}

void SmtpClient::Observe(const SmtpReply& reply) {
  if (reply.code == 421) closing_ = true;
}

Status SmtpClient::ReadReply(milliseconds timeout, std::string_view stage, SmtpReply* reply) {
  const std::string what(stage);
  if (broken_) return UnavailableError("connection unusable before " + what + " reply");
  const auto deadline = SteadyClock::now() + timeout;
  char buf[kReadChunk];
  bool first = true;
  while (true) {
    std::string error;
    switch (reader_.Next(reply, &error)) {
      case SmtpReplyReader::Result::kReply:
        Observe(*reply);
        return Status::Ok();
      case SmtpReplyReader::Result::kError:
        broken_ = true;
        return UnavailableError("bad " + what + " reply: " + error);
      case SmtpReplyReader::Result::kNeedMore:
        break;
    }
    // The first read waits the whole timeout; later ones what is left of it, so a server
    // trickling bytes cannot stretch the deadline.
    milliseconds wait = timeout;
    if (!first) {
      wait = std::chrono::ceil<milliseconds>(deadline - SteadyClock::now());
      if (wait.count() <= 0) {
        broken_ = true;
        return DeadlineExceededError("timeout waiting for " + what + " reply");
      }
    }
    first = false;
    StatusOr<size_t> n = transport_.Read(buf, sizeof(buf), wait);
    if (!n.ok()) {
      broken_ = true;
      if (n.status().code() == StatusCode::kDeadlineExceeded) {
        return DeadlineExceededError("timeout waiting for " + what + " reply");
      }
      return UnavailableError(n.status().message() + " waiting for " + what + " reply");
    }
    if (*n == 0) {
      broken_ = true;
      return UnavailableError("connection closed waiting for " + what + " reply");
    }
    reader_.Feed(std::string_view(buf, *n));
  }
}

Status SmtpClient::Write(std::string_view bytes, milliseconds timeout, std::string_view stage) {
  if (broken_) return UnavailableError("connection unusable before sending " + std::string(stage));
  Status s = transport_.Write(bytes, timeout);
  if (s.ok()) return s;
  broken_ = true;
  if (s.code() == StatusCode::kDeadlineExceeded) {
    return DeadlineExceededError("timeout sending " + std::string(stage));
  }
  return UnavailableError(s.message() + " sending " + std::string(stage));
}

Status SmtpClient::Command(std::string_view command, std::string_view stage, SmtpReply* reply) {
  RETURN_IF_ERROR(Write(command, options_.command, stage));
  return ReadReply(options_.command, stage, reply);
}

void SmtpClient::ParseEhlo(const SmtpReply& reply) {
  const std::string banner = server_.banner;
  server_ = ServerInfo{};
  server_.banner = banner;
  server_.esmtp = true;
  size_offered_ = false;
  const std::vector<std::string_view> lines = Split(reply.text, '\n');
  for (size_t i = 1; i < lines.size(); ++i) {  // the first line is the server's name
    const std::string_view line = TrimWhitespace(lines[i]);
    const size_t end = line.find_first_of(" =");
    const std::string keyword = AsciiUpper(line.substr(0, end));
    const std::string_view args =
        end == std::string_view::npos ? std::string_view() : TrimWhitespace(line.substr(end + 1));
    if (keyword == "PIPELINING") {
      server_.pipelining = true;
    } else if (keyword == "STARTTLS") {
      server_.starttls = true;
    } else if (keyword == "8BITMIME") {
      server_.eightbitmime = true;
    } else if (keyword == "SMTPUTF8") {
      server_.smtputf8 = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      server_.enhancedstatuscodes = true;
    } else if (keyword == "SIZE") {
      size_offered_ = true;
      uint64_t limit = 0;
      bool ok = !args.empty() && args.size() <= 19;
      for (char c : args) {
        if (!IsDigit(c)) ok = false;
        if (ok) limit = limit * 10 + static_cast<uint64_t>(c - '0');
      }
      if (ok) server_.size_limit = limit;
    } else if (keyword == "AUTH") {
      for (std::string_view mech : Split(args, ' ')) {
        mech = TrimWhitespace(mech);
        if (mech.empty()) continue;
        std::string upper = AsciiUpper(mech);
        if (std::find(server_.auth_mechanisms.begin(), server_.auth_mechanisms.end(), upper) ==
            server_.auth_mechanisms.end()) {
          server_.auth_mechanisms.push_back(std::move(upper));
        }
      }
    }
  }
}

Status SmtpClient::Hello(SmtpReply* refusal) {
  SmtpReply reply;
  RETURN_IF_ERROR(Command("EHLO " + options_.helo_name + "\r\n", "EHLO", &reply));
  if (Is2xx(reply)) {
    ParseEhlo(reply);
    return Status::Ok();
  }
  if (reply.code < 500 || reply.code >= 600) {
    *refusal = reply;
    return RefusalStatus(reply, "EHLO");
  }
  RETURN_IF_ERROR(Command("HELO " + options_.helo_name + "\r\n", "HELO", &reply));
  if (!Is2xx(reply)) {
    *refusal = reply;
    return RefusalStatus(reply, "HELO");
  }
  const std::string banner = server_.banner;
  server_ = ServerInfo{};
  server_.banner = banner;
  size_offered_ = false;
  return Status::Ok();
}

Status SmtpClient::StartTls(SmtpReply* refusal) {
  const bool require = options_.tls == TlsMode::kRequire;
  if (!server_.starttls) {
    if (!require) return Status::Ok();
    return FailedPreconditionError("TLS required but " + transport_.PeerAddress() +
                                   " does not offer STARTTLS");
  }
  SmtpReply reply;
  RETURN_IF_ERROR(Command("STARTTLS\r\n", "STARTTLS", &reply));
  if (reply.code != 220) {
    // Opportunistic TLS goes on in plaintext after a refusal, unless the server is leaving.
    if (!require && !closing_) return Status::Ok();
    *refusal = reply;
    return RefusalStatus(reply, "STARTTLS");
  }
  if (reader_.buffered() != 0) {
    // Plaintext sent ahead of the handshake would be read as if it came over TLS.
    broken_ = true;
    return UnavailableError("server sent data after its STARTTLS reply");
  }
  const Status tls = transport_.StartTls(options_.tls_server_name, options_.command);
  if (!tls.ok()) {
    broken_ = true;
    return UnavailableError("STARTTLS handshake: " + tls.message());
  }
  // RFC 3207 4.2: forget everything learnt before TLS and say EHLO again.
  const std::string banner = server_.banner;
  server_ = ServerInfo{};
  server_.banner = banner;
  size_offered_ = false;
  return Hello(refusal);
}

Status SmtpClient::Authenticate(SmtpReply* refusal) {
  if (!transport_.IsTls() && !options_.allow_auth_without_tls) {
    return FailedPreconditionError("AUTH configured but the session to " +
                                   transport_.PeerAddress() + " is not encrypted");
  }
  const auto offered = [&](std::string_view mech) {
    return std::find(server_.auth_mechanisms.begin(), server_.auth_mechanisms.end(), mech) !=
           server_.auth_mechanisms.end();
  };
  SmtpReply reply;
  if (offered("PLAIN")) {
    std::string credentials;
    credentials.push_back('\0');
    credentials += options_.auth_user;
    credentials.push_back('\0');
    credentials += options_.auth_password;
    RETURN_IF_ERROR(
        Command("AUTH PLAIN " + Base64Encode(credentials) + "\r\n", "AUTH PLAIN", &reply));
  } else if (offered("LOGIN")) {
    RETURN_IF_ERROR(Command("AUTH LOGIN\r\n", "AUTH LOGIN", &reply));
    if (reply.code == 334) {
      RETURN_IF_ERROR(
          Command(Base64Encode(options_.auth_user) + "\r\n", "AUTH LOGIN user name", &reply));
    }
    if (reply.code == 334) {
      RETURN_IF_ERROR(
          Command(Base64Encode(options_.auth_password) + "\r\n", "AUTH LOGIN password", &reply));
    }
  } else {
    return FailedPreconditionError("AUTH configured but " + transport_.PeerAddress() +
                                   " offers neither PLAIN nor LOGIN");
  }
  if (reply.code == 235) return Status::Ok();
  if (reply.code == 334) {
    // The server wants more than we have to say: the exchange is out of step.
    broken_ = true;
    *refusal = reply;
    return UnavailableError("unexpected AUTH challenge: " + reply.Line());
  }
  *refusal = reply;
  return RefusalStatus(reply, "AUTH");
}

Status SmtpClient::Open(SmtpReply* refusal) {
  SmtpReply ignored;
  if (refusal == nullptr) refusal = &ignored;
  *refusal = SmtpReply{};
  if (opened_) return FailedPreconditionError("Open called twice");
  opened_ = true;
  if (options_.helo_name.empty() ||
      options_.helo_name.find_first_of(std::string_view(" \t\r\n\0", 5)) != std::string::npos) {
    return InvalidArgumentError("bad helo_name");
  }
  SmtpReply greeting;
  RETURN_IF_ERROR(AsUnavailable(ReadReply(options_.greeting, "greeting", &greeting)));
  if (greeting.code != 220) {
    *refusal = greeting;
    return RefusalStatus(greeting, "greeting");
  }
  server_.banner = greeting.text;
  RETURN_IF_ERROR(AsUnavailable(Hello(refusal)));
  if (options_.tls != TlsMode::kOff && !transport_.IsTls()) {
    RETURN_IF_ERROR(AsUnavailable(StartTls(refusal)));
  }
  server_.tls = transport_.IsTls();
  if (!options_.auth_user.empty()) RETURN_IF_ERROR(AsUnavailable(Authenticate(refusal)));
  ready_ = true;
  return Status::Ok();
}

Status SmtpClient::WriteBody(std::string_view body) {
  std::string chunk;
  chunk.reserve(kBodyChunk + 8);
  bool line_start = true;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < body.size() && body[i + 1] == '\n') ++i;
      chunk += "\r\n";
      line_start = true;
    } else {
      if (line_start && c == '.') chunk += '.';
      chunk += c;
      line_start = false;
    }
    if (chunk.size() >= kBodyChunk) {
      RETURN_IF_ERROR(Write(chunk, options_.data_block, "the message body"));
      chunk.clear();
    }
  }
  if (!line_start) chunk += "\r\n";
  chunk += ".\r\n";
  return Write(chunk, options_.data_block, "the end of the message");
}

void SmtpClient::FinishData(std::string_view body, SendOutcome* out) {
  const Status written = WriteBody(body);
  if (!written.ok()) {
    out->kind = SendOutcome::Kind::kBroken;
    out->error = written.message();
    return;
  }
  out->after_data_sent = true;
  const Status read = ReadReply(options_.data_done, "end of data", &out->data);
  if (!read.ok()) {
    out->kind = SendOutcome::Kind::kBroken;
    out->error = read.message();
    return;
  }
  out->kind = SendOutcome::Kind::kCompleted;
}

SendOutcome SmtpClient::Send(const Envelope& envelope, std::string_view body) {
  SendOutcome out;
  out.rcpt.resize(envelope.recipients.size());
  if (!Usable()) {
    out.kind = SendOutcome::Kind::kBroken;
    out.error = ready_ ? "connection is no longer usable" : "session is not open";
    return out;
  }
  out.kind = SendOutcome::Kind::kRejected;
  if (envelope.recipients.empty()) {
    out.mail = Synthesised(554, "5.5.1 No recipients");
    return out;
  }
  if (BadAddress(envelope.mail_from)) {
    out.mail = Synthesised(501, "5.1.3 Bad sender address syntax");
    return out;
  }
  if (server_.size_limit != 0 && body.size() > server_.size_limit) {
    out.mail = Synthesised(552, "5.3.4 Message size exceeds fixed maximum message size (" +
                                    std::to_string(server_.size_limit) + " bytes)");
    return out;
  }
  bool utf8 = envelope.smtputf8 || NeedsUtf8(envelope.mail_from);
  std::vector<size_t> sendable;  // indexes of recipients that go to the server
  for (size_t i = 0; i < envelope.recipients.size(); ++i) {
    if (BadAddress(envelope.recipients[i])) {
      out.rcpt[i] = Synthesised(501, "5.1.3 Bad recipient address syntax");
    } else {
      sendable.push_back(i);
      utf8 = utf8 || NeedsUtf8(envelope.recipients[i]);
    }
  }
  if (utf8 && !server_.smtputf8) {
    out.mail = Synthesised(553, "5.6.7 The server does not support SMTPUTF8");
    return out;
  }
  if (sendable.empty()) return out;

  std::string mail = "MAIL FROM:<" + envelope.mail_from + ">";
  // SIZE= only where advertised (RFC 1870); the stored size is a close estimate.
  if (size_offered_) mail += " SIZE=" + std::to_string(body.size());
  if (envelope.eightbit && server_.eightbitmime) mail += " BODY=8BITMIME";
  if (utf8) mail += " SMTPUTF8";
  mail += "\r\n";

  if (server_.pipelining) {
    std::string batch = mail;
    for (size_t i : sendable) batch += "RCPT TO:<" + envelope.recipients[i] + ">\r\n";
    batch += "DATA\r\n";
    Status s = Write(batch, options_.command, "MAIL");
    SmtpReply data;
    bool any_accepted = false;
    // Replies come back in order; a 421 means the server closes after it.
    if (s.ok()) s = ReadReply(options_.command, "MAIL", &out.mail);
    for (size_t k = 0; s.ok() && !closing_ && k < sendable.size(); ++k) {
      SmtpReply& r = out.rcpt[sendable[k]];
      s = ReadReply(options_.command, "RCPT", &r);
      if (s.ok() && Is2xx(r)) any_accepted = true;
    }
    if (s.ok() && !closing_) s = ReadReply(options_.command, "DATA", &data);
    if (!s.ok()) {
      out.kind = SendOutcome::Kind::kBroken;
      out.error = s.message();
      return out;
    }
    if (closing_) return out;  // kRejected; Usable() is now false
    if (!Is2xx(out.mail) || !any_accepted) {
      if (Is3xx(data)) {
        // RFC 2920 3.1: the server took DATA without a valid recipient; end it empty.
        SmtpReply ignored;
        s = Write(".\r\n", options_.data_block, "the end of an empty message");
        if (s.ok()) s = ReadReply(options_.data_done, "end of data", &ignored);
        if (!s.ok()) {
          out.kind = SendOutcome::Kind::kBroken;
          out.error = s.message();
        }
      }
      return out;
    }
    if (!Is3xx(data)) {
      out.data = data;
      return out;
    }
    FinishData(body, &out);
    return out;
  }

  Status s = Command(mail, "MAIL", &out.mail);
  if (!s.ok()) {
    out.kind = SendOutcome::Kind::kBroken;
    out.error = s.message();
    return out;
  }
  if (!Is2xx(out.mail)) return out;
  bool any_accepted = false;
  for (size_t i : sendable) {
    s = Command("RCPT TO:<" + envelope.recipients[i] + ">\r\n", "RCPT", &out.rcpt[i]);
    if (!s.ok()) {
      out.kind = SendOutcome::Kind::kBroken;
      out.error = s.message();
      return out;
    }
    if (closing_) return out;
    if (Is2xx(out.rcpt[i])) any_accepted = true;
  }
  if (!any_accepted) return out;
  SmtpReply data;
  s = Command("DATA\r\n", "DATA", &data);
  if (!s.ok()) {
    out.kind = SendOutcome::Kind::kBroken;
    out.error = s.message();
    return out;
  }
  if (!Is3xx(data)) {
    out.data = data;
    return out;
  }
  FinishData(body, &out);
  return out;
}

Status SmtpClient::Reset() {
  if (!Usable()) return UnavailableError("connection is no longer usable");
  SmtpReply reply;
  RETURN_IF_ERROR(Command("RSET\r\n", "RSET", &reply));
  if (!Is2xx(reply)) {
    broken_ = true;
    return UnavailableError("RSET refused: " + reply.Line());
  }
  return Status::Ok();
}

void SmtpClient::Quit() {
  if (quit_ || broken_ || !opened_) {
    quit_ = true;
    return;
  }
  quit_ = true;
  const milliseconds timeout = std::min(options_.command, kQuitTimeout);
  if (!Write("QUIT\r\n", timeout, "QUIT").ok()) return;
  SmtpReply reply;
  ReadReply(timeout, "QUIT", &reply).IgnoreError();
}

}  // namespace herald::delivery
