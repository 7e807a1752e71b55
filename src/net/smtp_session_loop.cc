#include "net/smtp_session_loop.h"

#include <memory>

#include "net/tcp_server.h"
#include "net/tls.h"
#include "smtp/server_session.h"

namespace herald::net {
namespace {

constexpr size_t kReadBufferBytes = 64 * 1024;

// net::Connection behind the loop's interface.
class ConnectionIo : public SmtpSessionIo {
 public:
  ConnectionIo(Connection& connection, const TlsContext* tls)
      : connection_(connection), tls_(tls) {}

  ReadResult Read(char* buf, size_t cap, size_t* n, std::chrono::milliseconds timeout) override {
    switch (connection_.Read(buf, cap, n, timeout)) {
      case Connection::ReadResult::kData:
        return ReadResult::kData;
      case Connection::ReadResult::kEof:
        return ReadResult::kEof;
      case Connection::ReadResult::kTimeout:
        return ReadResult::kTimeout;
      case Connection::ReadResult::kStopping:
        return ReadResult::kStopping;
      case Connection::ReadResult::kError:
        return ReadResult::kError;
    }
    return ReadResult::kError;
  }
  Status Write(std::string_view data, std::chrono::milliseconds timeout) override {
    return connection_.Write(data, timeout);
  }
  Status StartTls(std::chrono::milliseconds timeout) override {
    if (tls_ == nullptr) return FailedPreconditionError("no TLS context");
    return connection_.StartTls(tls_->get(), timeout);
  }
  bool StopRequested() const override { return connection_.StopRequested(); }
  void SetDraining() override { connection_.SetDraining(); }

 private:
  Connection& connection_;
  const TlsContext* tls_;
};

}  // namespace

std::string RunSmtpSessionLoop(SmtpSessionIo& io, smtp::ServerSession& session,
                               std::chrono::milliseconds idle_timeout) {
  std::string reason = "eof";
  // Writes the replies; false (with the reason set) when the peer cannot be written to.
  auto send = [&](const smtp::SessionOutput& out) {
    if (out.bytes.empty()) return true;
    Status s = io.Write(out.bytes, idle_timeout);
    if (!s.ok()) reason = "write failed: " + s.message();
    return s.ok();
  };
  if (!send(session.Greeting())) return reason;
  std::unique_ptr<char[]> buf(new char[kReadBufferBytes]);
  while (true) {
    if (io.StopRequested() && !session.InTransaction()) {
      send(session.Shutdown());
      return "shutdown";
    }
    size_t n = 0;
    const SmtpSessionIo::ReadResult r = io.Read(buf.get(), kReadBufferBytes, &n, idle_timeout);
    if (r == SmtpSessionIo::ReadResult::kStopping) {
      // Finish the transaction in flight; once it is over the check above says goodbye.
      if (session.InTransaction()) io.SetDraining();
      continue;
    }
    if (r == SmtpSessionIo::ReadResult::kTimeout) {
      const bool stopping = io.StopRequested();
      send(stopping ? session.Shutdown() : session.Timeout());
      return stopping ? "shutdown deadline" : "timeout";
    }
    if (r == SmtpSessionIo::ReadResult::kEof) return reason;
    if (r == SmtpSessionIo::ReadResult::kError) return "read error";
    const smtp::SessionOutput out = session.Feed(std::string_view(buf.get(), n));
    if (!send(out)) return reason;
    if (out.start_tls) {
      if (!io.StartTls(idle_timeout).ok()) return "tls handshake failed";
      session.TlsStarted();
    }
    if (out.close) return session.closed() ? "closed" : "eof";
  }
}

std::string RunSmtpSessionLoop(Connection& connection, const TlsContext* tls,
                               smtp::ServerSession& session,
                               std::chrono::milliseconds idle_timeout) {
  ConnectionIo io(connection, tls);
  return RunSmtpSessionLoop(io, session, idle_timeout);
}

}  // namespace herald::net
