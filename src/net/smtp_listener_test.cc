#include "net/smtp_listener.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "base/crypto.h"
#include "net/test_client.h"

namespace herald::net {
namespace {

using testing::TestClient;

class FakeSendingService : public sending::SendingService {
 public:
  sending::SubmitResult Submit(const sending::Submission& s) override {
    std::unique_lock<std::mutex> lock(mu_);
    submissions.push_back(s);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !block_; });
    if (rejection.has_value()) return *rejection;
    return sending::Accepted{"id-" + std::to_string(submissions.size())};
  }
  StatusOr<int64_t> SentLast24Hours(int64_t /*account_id*/) override { return 0; }
  void Block() {
    std::lock_guard<std::mutex> lock(mu_);
    block_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    block_ = false;
    cv_.notify_all();
  }
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  std::vector<sending::Submission> submissions;
  std::optional<sending::Rejection> rejection;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool block_ = false;
  int entered_ = 0;
};

class FakeCredentials : public sending::CredentialLookup {
 public:
  std::optional<Key> LookupAccessKey(const std::string&) override { return std::nullopt; }
  std::optional<sending::Principal> AuthenticateSmtp(const std::string& user,
                                                     const std::string& password) override {
    if (user != "AKIDEXAMPLE" || password != "smtp-password") return std::nullopt;
    sending::Principal p;
    p.account_id = 7;
    p.account_name = "acct";
    p.access_key_id = user;
    return p;
  }
};

const std::string kAuth =
    "AUTH PLAIN " + Base64Encode(std::string("\0AKIDEXAMPLE\0smtp-password", 26)) + "\r\n";

class SmtpListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/herald_smtp_listener_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.listen = "127.0.0.1:0";
    config_.hostname = "smtp.herald.test";
    config_.data_dir = dir_;
    config_.allow_insecure_auth_on_loopback = true;
  }
  void TearDown() override {
    if (listener_ != nullptr) listener_->Stop();
    std::filesystem::remove_all(dir_);
  }
  void StartListener() {
    listener_ = std::make_unique<SmtpListener>(config_, service_, creds_);
    Status s = listener_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Runs one authenticated transaction; returns the reply to the end of data.
  std::string SendMail(TestClient& c, const std::string& body) {
    c.Send("MAIL FROM:<sender@example.com>\r\nRCPT TO:<rcpt@example.org>\r\nDATA\r\n");
    EXPECT_EQ(c.ReadReply(), "250 2.1.0 Ok\r\n");
    EXPECT_EQ(c.ReadReply(), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(c.ReadReply(), "354 End data with <CR><LF>.<CR><LF>\r\n");
    c.Send(body + ".\r\n");
    return c.ReadReply();
  }

  std::string dir_;
  SmtpListenerConfig config_;
  FakeSendingService service_;
  FakeCredentials creds_;
  std::unique_ptr<SmtpListener> listener_;
};

TEST_F(SmtpListenerTest, PlainSessionWithLoopbackAuth) {
  StartListener();
  TestClient c;
  ASSERT_TRUE(c.Connect(listener_->BoundAddress()));
  EXPECT_EQ(c.ReadReply(), "220 smtp.herald.test ESMTP herald\r\n");
  c.Send("EHLO client.test\r\n");
  const std::string ehlo = c.ReadReply();
  EXPECT_NE(ehlo.find("250-STARTTLS\r\n"), std::string::npos) << ehlo;
  EXPECT_NE(ehlo.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos) << ehlo;
  c.Send(kAuth);
  EXPECT_EQ(c.ReadReply(), "235 Authentication successful\r\n");
  EXPECT_EQ(SendMail(c, "Subject: t\r\n\r\n..dotted\r\n"), "250 Ok id-1\r\n");
  c.Send("QUIT\r\n");
  EXPECT_EQ(c.ReadReply(), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.AtEof());
  ASSERT_EQ(service_.submissions.size(), 1u);
  const sending::Submission& s = service_.submissions[0];
  EXPECT_EQ(s.principal.account_id, 7);
  EXPECT_EQ(s.principal.access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(s.principal.source_ip, "127.0.0.1");
  EXPECT_EQ(s.channel, sending::Channel::kSmtp);
  EXPECT_EQ(s.operation, "SendSmtpEmail");
  EXPECT_EQ(s.source, "sender@example.com");
  EXPECT_EQ(s.recipients, std::vector<std::string>{"rcpt@example.org"});
  EXPECT_EQ(s.message, "Subject: t\r\n\r\n.dotted\r\n");
}

TEST_F(SmtpListenerTest, AuthNeedsTlsUnlessLoopbackAllowed) {
  config_.allow_insecure_auth_on_loopback = false;
  StartListener();
  TestClient c;
  ASSERT_TRUE(c.Connect(listener_->BoundAddress()));
  c.ReadReply();
  c.Send("EHLO client.test\r\n");
  EXPECT_EQ(c.ReadReply().find("AUTH"), std::string::npos);
  c.Send(kAuth + "MAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(c.ReadReply(), "530 Must issue a STARTTLS command first\r\n");
  EXPECT_EQ(c.ReadReply(), "530 Authentication required\r\n");
}

TEST_F(SmtpListenerTest, StartTlsSession) {
  config_.allow_insecure_auth_on_loopback = false;
  StartListener();
  TestClient c;
  ASSERT_TRUE(c.Connect(listener_->BoundAddress()));
  c.ReadReply();
  c.Send("EHLO client.test\r\n");
  c.ReadReply();
  c.Send("STARTTLS\r\n");
  EXPECT_EQ(c.ReadReply(), "220 2.0.0 Ready to start TLS\r\n");
  std::string cn;
  ASSERT_TRUE(c.StartTls(&cn));
  EXPECT_EQ(cn, "smtp.herald.test");
  c.Send("EHLO client.test\r\n");
  const std::string ehlo = c.ReadReply();
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_NE(ehlo.find("250 AUTH PLAIN LOGIN\r\n"), std::string::npos);
  c.Send(kAuth);
  EXPECT_EQ(c.ReadReply(), "235 Authentication successful\r\n");
  EXPECT_EQ(SendMail(c, "Subject: tls\r\n\r\nbody\r\n"), "250 Ok id-1\r\n");
  ASSERT_EQ(service_.submissions.size(), 1u);
  EXPECT_EQ(service_.submissions[0].message, "Subject: tls\r\n\r\nbody\r\n");
}

TEST_F(SmtpListenerTest, StartTlsInjectedCommandsAreDiscarded) {
  StartListener();
  TestClient c;
  ASSERT_TRUE(c.Connect(listener_->BoundAddress()));
  c.ReadReply();
  c.Send("EHLO client.test\r\n");
  c.ReadReply();
  c.Send("STARTTLS\r\n" + kAuth);  // plaintext AUTH injected behind STARTTLS
  EXPECT_EQ(c.ReadReply(), "220 2.0.0 Ready to start TLS\r\n");
  ASSERT_TRUE(c.StartTls());
  c.Send("EHLO client.test\r\n");
  c.ReadReply();
  c.Send("MAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(c.ReadReply(), "530 Authentication required\r\n");
}

TEST_F(SmtpListenerTest, ImplicitTlsPort) {
  config_.tls_listen = "127.0.0.1:0";
  StartListener();
  ASSERT_FALSE(listener_->BoundTlsAddress().empty());
  TestClient c;
  ASSERT_TRUE(c.Connect(listener_->BoundTlsAddress()));
  ASSERT_TRUE(c.StartTls());
  EXPECT_EQ(c.ReadReply(), "220 smtp.herald.test ESMTP herald\r\n");
  c.Send("EHLO x\r\n");
  EXPECT_EQ(c.ReadReply().find("STARTTLS"), std::string::npos);
  c.Send(kAuth);
  EXPECT_EQ(c.ReadReply(), "235 Authentication successful\r\n");
}

TEST_F(SmtpListenerTest, RejectionIsWordedLikeSes) {
  service_.rejection = sending::Rejection{sending::RejectKind::kMaxSendRate, "rate"};
  StartListener();
  TestClient c;
  ASSERT_TRUE(c.Connect(listener_->BoundAddress()));
  c.ReadReply();
  c.Send("EHLO x\r\n" + kAuth);
  c.ReadReply();
  c.ReadReply();
  EXPECT_EQ(SendMail(c, "Subject: x\r\n\r\nb\r\n"),
            "454 Throttling failure: Maximum sending rate exceeded.\r\n");
}

TEST_F(SmtpListenerTest, ConnectionCap) {
  config_.max_connections = 1;
  StartListener();
  TestClient first;
  ASSERT_TRUE(first.Connect(listener_->BoundAddress()));
  EXPECT_EQ(first.ReadReply(), "220 smtp.herald.test ESMTP herald\r\n");
  TestClient second;
  ASSERT_TRUE(second.Connect(listener_->BoundAddress()));
  EXPECT_EQ(second.ReadReply(), "421 Too many concurrent SMTP connections\r\n");
  EXPECT_TRUE(second.AtEof());
  first.Send("NOOP\r\n");
  EXPECT_EQ(first.ReadReply(), "250 2.0.0 Ok\r\n");
}

TEST_F(SmtpListenerTest, StopDrainsSubmitInFlight) {
  StartListener();
  TestClient busy;
  ASSERT_TRUE(busy.Connect(listener_->BoundAddress()));
  busy.ReadReply();
  busy.Send("EHLO x\r\n" + kAuth);
  busy.ReadReply();
  busy.ReadReply();
  TestClient idle;
  ASSERT_TRUE(idle.Connect(listener_->BoundAddress()));
  EXPECT_EQ(idle.ReadReply(), "220 smtp.herald.test ESMTP herald\r\n");

  service_.Block();
  busy.Send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
  busy.ReadReply();
  busy.ReadReply();
  busy.ReadReply();
  busy.Send("Subject: s\r\n\r\nx\r\n.\r\n");
  service_.WaitEntered(1);  // Submit is now blocked in flight

  std::thread stopper([&] { listener_->Stop(); });
  // The idle session is closed at once, while the busy one is still in Submit.
  EXPECT_EQ(idle.ReadReply(), "421 4.3.2 smtp.herald.test Service shutting down\r\n");
  EXPECT_TRUE(idle.AtEof());
  service_.Release();
  EXPECT_EQ(busy.ReadReply(), "250 Ok id-1\r\n");
  EXPECT_EQ(busy.ReadReply(), "421 4.3.2 smtp.herald.test Service shutting down\r\n");
  EXPECT_TRUE(busy.AtEof());
  stopper.join();
}

TEST_F(SmtpListenerTest, InvalidConfigIsRefused) {
  config_.max_recipients = 0;
  SmtpListener l(config_, service_, creds_);
  EXPECT_EQ(l.Start().code(), StatusCode::kInvalidArgument);
  config_.max_recipients = 50;
  config_.data_dir.clear();
  config_.tls_listen = "127.0.0.1:0";
  SmtpListener l2(config_, service_, creds_);
  EXPECT_EQ(l2.Start().code(), StatusCode::kInvalidArgument);
}

TEST(IpInCidrTest, MatchesPrefixes) {
  EXPECT_TRUE(*IpInCidr("127.0.0.1", "127.0.0.0/8"));
  EXPECT_TRUE(*IpInCidr("10.1.2.3", "10.1.2.3"));
  EXPECT_FALSE(*IpInCidr("128.0.0.1", "127.0.0.0/8"));
  EXPECT_TRUE(*IpInCidr("::1", "::1/128"));
  EXPECT_FALSE(*IpInCidr("127.0.0.1", "::1/128"));  // other family
  EXPECT_TRUE(*IpInCidr("192.0.2.200", "192.0.2.128/25"));
  EXPECT_FALSE(*IpInCidr("192.0.2.100", "192.0.2.128/25"));
  EXPECT_FALSE(IpInCidr("127.0.0.1", "127.0.0.0/33").ok());
  EXPECT_FALSE(IpInCidr("127.0.0.1", "not-a-net").ok());
  EXPECT_FALSE(IpInCidr("127.0.0.1", "127.0.0.0/").ok());
}

}  // namespace
}  // namespace herald::net
