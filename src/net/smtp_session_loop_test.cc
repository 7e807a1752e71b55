#include "net/smtp_session_loop.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "net/tcp_server.h"
#include "smtp/server_session.h"

namespace herald::net {
namespace {

using Result = SmtpSessionIo::ReadResult;

constexpr std::chrono::milliseconds kIdle(4321);

// One scripted read: what it returns, its bytes, and whether the server starts stopping
// as it happens (as Connection::Read returns kStopping once the server stops).
struct Step {
  Result result;
  std::string data;
  bool stop = false;
};

Step Data(std::string bytes) { return {Result::kData, std::move(bytes)}; }

// Plays a script of reads and records, in order, every write ("<bytes>") and every other
// call ("[tls]", "[drain]").
class FakeIo : public SmtpSessionIo {
 public:
  Result Read(char* buf, size_t cap, size_t* n, std::chrono::milliseconds timeout) override {
    *n = 0;
    EXPECT_EQ(timeout, kIdle);
    if (script.empty()) {
      ADD_FAILURE() << "read past the end of the script";
      return Result::kError;
    }
    Step step = std::move(script.front());
    script.pop_front();
    if (step.stop) stop = true;
    if (step.result == Result::kData) {
      EXPECT_LE(step.data.size(), cap);
      std::memcpy(buf, step.data.data(), step.data.size());
      *n = step.data.size();
    }
    return step.result;
  }
  Status Write(std::string_view data, std::chrono::milliseconds timeout) override {
    EXPECT_EQ(timeout, kIdle);
    if (writes_before_failure == 0) return UnavailableError("peer went away");
    --writes_before_failure;
    events.emplace_back(data);
    return Status::Ok();
  }
  Status StartTls(std::chrono::milliseconds timeout) override {
    EXPECT_EQ(timeout, kIdle);
    events.emplace_back("[tls]");
    return tls_status;
  }
  bool StopRequested() const override { return stop; }
  void SetDraining() override { events.emplace_back("[drain]"); }

  std::deque<Step> script;
  std::vector<std::string> events;
  bool stop = false;
  int writes_before_failure = 1000;
  Status tls_status = Status::Ok();
};

class FakeHandler : public smtp::SessionHandler {
 public:
  bool Authenticate(std::string_view, std::string_view) override { return false; }
  std::string Deliver(smtp::Transaction& txn) override {
    messages.push_back(txn.message);
    return "250 Ok id-" + std::to_string(messages.size());
  }
  std::vector<std::string> messages;
};

class SmtpSessionLoopTest : public ::testing::Test {
 protected:
  SmtpSessionLoopTest() {
    options_.hostname = "mx.loop.test";
    options_.tls_available = true;
    options_.pre_authenticated = true;  // MAIL without AUTH
  }
  std::string Run() {
    smtp::ServerSession session(options_, handler_);
    std::string reason = RunSmtpSessionLoop(io_, session, kIdle);
    EXPECT_TRUE(io_.script.empty()) << io_.script.size() << " scripted reads left";
    return reason;
  }
  // The EHLO reply of this session, before TLS (STARTTLS offered) or under TLS (AUTH).
  std::string EhloReply(bool tls_active) {
    smtp::SessionOptions options = options_;
    options.tls_active = tls_active;
    FakeHandler handler;
    smtp::ServerSession session(options, handler);
    session.Greeting();
    return session.Feed("EHLO client.test\r\n").bytes;
  }

  smtp::SessionOptions options_;
  FakeHandler handler_;
  FakeIo io_;
};

const std::string kGreeting = "220 mx.loop.test ESMTP herald\r\n";
const std::string kShutdown = "421 4.3.2 mx.loop.test Service shutting down\r\n";

TEST_F(SmtpSessionLoopTest, RunsATransactionAndEndsWhenTheSessionCloses) {
  io_.script = {Data("EH"), Data("LO client.test\r\n"),
                Data("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"),
                Data("Subject: hi\r\n\r\n..body\r\n.\r\n"), Data("QUIT\r\n")};
  EXPECT_EQ(Run(), "closed");
  ASSERT_EQ(io_.events.size(), 5u);
  EXPECT_EQ(io_.events[0], kGreeting);
  EXPECT_EQ(io_.events[1], EhloReply(false));
  EXPECT_EQ(io_.events[2].substr(0, 4), "250 ");
  EXPECT_NE(io_.events[2].find("\r\n354 "), std::string::npos) << io_.events[2];
  EXPECT_EQ(io_.events[3], "250 Ok id-1\r\n");
  EXPECT_EQ(io_.events[4], "221 2.0.0 Bye\r\n");
  EXPECT_EQ(handler_.messages, std::vector<std::string>{"Subject: hi\r\n\r\n.body\r\n"});
}

TEST_F(SmtpSessionLoopTest, PeerClosingEndsWithEof) {
  io_.script = {Data("EHLO client.test\r\n"), {Result::kEof, ""}};
  EXPECT_EQ(Run(), "eof");
  EXPECT_EQ(io_.events, (std::vector<std::string>{kGreeting, EhloReply(false)}));
}

TEST_F(SmtpSessionLoopTest, IdleTimeoutSendsTheTimeoutReply) {
  io_.script = {{Result::kTimeout, ""}};
  EXPECT_EQ(Run(), "timeout");
  EXPECT_EQ(io_.events, (std::vector<std::string>{
                            kGreeting, "421 4.4.2 mx.loop.test Error: timeout exceeded\r\n"}));
}

TEST_F(SmtpSessionLoopTest, ReadErrorEndsWithoutAReply) {
  io_.script = {{Result::kError, ""}};
  EXPECT_EQ(Run(), "read error");
  EXPECT_EQ(io_.events, std::vector<std::string>{kGreeting});
}

TEST_F(SmtpSessionLoopTest, StopBeforeTheFirstReadSaysGoodbyeAtOnce) {
  io_.stop = true;
  EXPECT_EQ(Run(), "shutdown");
  EXPECT_EQ(io_.events, (std::vector<std::string>{kGreeting, kShutdown}));
}

TEST_F(SmtpSessionLoopTest, StopBetweenTransactionsClosesWithoutDraining) {
  io_.script = {Data("EHLO client.test\r\n"), {Result::kStopping, "", /*stop=*/true}};
  EXPECT_EQ(Run(), "shutdown");
  EXPECT_EQ(io_.events, (std::vector<std::string>{kGreeting, EhloReply(false), kShutdown}));
}

TEST_F(SmtpSessionLoopTest, StopDuringATransactionDrainsItThenCloses) {
  io_.script = {Data("EHLO client.test\r\n"),
                Data("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"),
                {Result::kStopping, "", /*stop=*/true},
                Data("body\r\n.\r\n")};
  EXPECT_EQ(Run(), "shutdown");
  ASSERT_EQ(io_.events.size(), 6u);
  EXPECT_EQ(io_.events[3], "[drain]");
  EXPECT_EQ(io_.events[4], "250 Ok id-1\r\n");
  EXPECT_EQ(io_.events[5], kShutdown);
  EXPECT_EQ(handler_.messages, std::vector<std::string>{"body\r\n"});
}

TEST_F(SmtpSessionLoopTest, DrainDeadlineEndsTheTransactionWithTheShutdownReply) {
  io_.script = {Data("EHLO client.test\r\n"),
                Data("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n"),
                {Result::kStopping, "", /*stop=*/true},
                Data("partial body\r\n"),
                {Result::kTimeout, ""}};
  EXPECT_EQ(Run(), "shutdown deadline");
  ASSERT_EQ(io_.events.size(), 5u);
  EXPECT_EQ(io_.events[3], "[drain]");
  EXPECT_EQ(io_.events[4], kShutdown);
  EXPECT_TRUE(handler_.messages.empty());
}

TEST_F(SmtpSessionLoopTest, StartTlsHandshakesAfterTheReplyAndStartsOver) {
  // The pipelined EHLO after STARTTLS must be discarded, not answered in the clear.
  io_.script = {Data("EHLO client.test\r\n"),
                Data("STARTTLS\r\nEHLO pipelined.test\r\n"),
                Data("EHLO client.test\r\n"),
                {Result::kEof, ""}};
  EXPECT_EQ(Run(), "eof");
  EXPECT_EQ(io_.events, (std::vector<std::string>{kGreeting, EhloReply(false),
                                                  "220 2.0.0 Ready to start TLS\r\n", "[tls]",
                                                  EhloReply(true)}));
}

TEST_F(SmtpSessionLoopTest, FailedHandshakeEndsTheSession) {
  io_.tls_status = UnavailableError("handshake failed");
  io_.script = {Data("STARTTLS\r\n")};
  EXPECT_EQ(Run(), "tls handshake failed");
  EXPECT_EQ(io_.events,
            (std::vector<std::string>{kGreeting, "220 2.0.0 Ready to start TLS\r\n", "[tls]"}));
}

TEST_F(SmtpSessionLoopTest, FailedWriteEndsTheSession) {
  io_.writes_before_failure = 1;  // the greeting goes out, the EHLO reply does not
  io_.script = {Data("EHLO client.test\r\n")};
  EXPECT_EQ(Run(), "write failed: peer went away");
  EXPECT_EQ(io_.events, std::vector<std::string>{kGreeting});
}

TEST_F(SmtpSessionLoopTest, FailedGreetingReadsNothing) {
  io_.writes_before_failure = 0;
  EXPECT_EQ(Run(), "write failed: peer went away");
  EXPECT_TRUE(io_.events.empty());
}

// The production overload over a real Connection (a socket pair; the peer's bytes are
// written before the loop runs, so nothing blocks).
class ConnectionLoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    peer_ = fds[1];
    stop_ = std::make_shared<StopSignal>();
    connection_ = std::make_unique<Connection>(fds[0], 0, stop_);
    options_.hostname = "mx.loop.test";
  }
  void TearDown() override {
    connection_.reset();
    if (peer_ >= 0) ::close(peer_);
  }
  void PeerSends(const std::string& s) {
    ASSERT_EQ(::send(peer_, s.data(), s.size(), MSG_NOSIGNAL), static_cast<ssize_t>(s.size()));
  }
  // Everything the loop wrote (it has ended and the connection is released).
  std::string PeerReceived() {
    connection_.reset();
    std::string all;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(peer_, buf, sizeof(buf), 0)) > 0) all.append(buf, static_cast<size_t>(n));
    return all;
  }
  std::string Run() {
    smtp::ServerSession session(options_, handler_);
    return RunSmtpSessionLoop(*connection_, nullptr, session, kIdle);
  }

  int peer_ = -1;
  std::shared_ptr<StopSignal> stop_;
  std::unique_ptr<Connection> connection_;
  smtp::SessionOptions options_;
  FakeHandler handler_;
};

TEST_F(ConnectionLoopTest, ReadsAndWritesTheConnection) {
  PeerSends("NOOP\r\nQUIT\r\n");
  EXPECT_EQ(Run(), "closed");
  EXPECT_EQ(PeerReceived(), kGreeting + "250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

TEST_F(ConnectionLoopTest, PeerShutdownIsEof) {
  PeerSends("NOOP\r\n");
  ASSERT_EQ(::shutdown(peer_, SHUT_WR), 0);
  EXPECT_EQ(Run(), "eof");
  EXPECT_EQ(PeerReceived(), kGreeting + "250 2.0.0 Ok\r\n");
}

TEST_F(ConnectionLoopTest, SeesTheServerStopping) {
  stop_->stopping = true;
  EXPECT_EQ(Run(), "shutdown");
  EXPECT_EQ(PeerReceived(), kGreeting + kShutdown);
}

TEST_F(ConnectionLoopTest, StartTlsWithoutAContextFailsTheHandshake) {
  options_.tls_available = true;  // a listener bug: STARTTLS offered with no context
  PeerSends("STARTTLS\r\n");
  EXPECT_EQ(Run(), "tls handshake failed");
  EXPECT_EQ(PeerReceived(), kGreeting + "220 2.0.0 Ready to start TLS\r\n");
}

}  // namespace
}  // namespace herald::net
