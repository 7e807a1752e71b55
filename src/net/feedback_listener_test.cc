#include "net/feedback_listener.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "net/test_client.h"

namespace herald::net {
namespace {

using testing::TestClient;

class FakeReceiver : public FeedbackReceiver {
 public:
  std::string CheckRecipient(const std::string& address) override {
    std::lock_guard<std::mutex> lock(mu);
    checked.push_back(address);
    if (address.ends_with("@bounces.herald.test")) return "";
    return "550 5.7.1 <" + address + ">: Relay access denied";
  }
  StatusOr<std::string> Receive(const std::string& peer_ip, std::string mail_from,
                                std::vector<std::string> recipients, std::string message) override {
    std::lock_guard<std::mutex> lock(mu);
    if (fail) return UnavailableError("disk full");
    peers.push_back(peer_ip);
    froms.push_back(std::move(mail_from));
    rcpts.push_back(std::move(recipients));
    messages.push_back(std::move(message));
    return "fb-" + std::to_string(messages.size());
  }
  std::mutex mu;
  bool fail = false;
  std::vector<std::string> checked, peers, froms, messages;
  std::vector<std::vector<std::string>> rcpts;
};

class FeedbackListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/herald_feedback_listener_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_.listen = "127.0.0.1:0";
    config_.hostname = "mx.herald.test";
    config_.data_dir = dir_;
  }
  void TearDown() override {
    if (listener_ != nullptr) listener_->Stop();
    std::filesystem::remove_all(dir_);
  }
  void StartListener() {
    listener_ = std::make_unique<FeedbackListener>(config_, receiver_);
    Status s = listener_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Connect(TestClient& c) {
    ASSERT_TRUE(c.Connect(listener_->BoundAddress()));
    EXPECT_EQ(c.ReadReply(), "220 mx.herald.test ESMTP herald\r\n");
    c.Send("EHLO mta.example.org\r\n");
    const std::string ehlo = c.ReadReply();
    EXPECT_EQ(ehlo.find("AUTH"), std::string::npos) << ehlo;
    EXPECT_NE(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  }

  std::string dir_;
  FeedbackListenerConfig config_;
  FakeReceiver receiver_;
  std::unique_ptr<FeedbackListener> listener_;
};

TEST_F(FeedbackListenerTest, TakesABounceForItsDomainAndRefusesRelaying) {
  StartListener();
  TestClient c;
  Connect(c);
  c.Send(
      "MAIL FROM:<>\r\nRCPT TO:<someone@gmail.test>\r\nRCPT TO:<b-x@bounces.herald.test>\r\n"
      "DATA\r\n");
  EXPECT_EQ(c.ReadReply(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.ReadReply(), "550 5.7.1 <someone@gmail.test>: Relay access denied\r\n");
  EXPECT_EQ(c.ReadReply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.ReadReply(), "354 End data with <CR><LF>.<CR><LF>\r\n");
  c.Send("Subject: Undelivered Mail Returned to Sender\r\n\r\n..report\r\n.\r\n");
  EXPECT_EQ(c.ReadReply(), "250 2.0.0 Ok: queued as fb-1\r\n");
  c.Send("QUIT\r\n");
  EXPECT_EQ(c.ReadReply(), "221 2.0.0 Bye\r\n");
  std::lock_guard<std::mutex> lock(receiver_.mu);
  ASSERT_EQ(receiver_.messages.size(), 1u);
  EXPECT_EQ(receiver_.froms[0], "");
  EXPECT_EQ(receiver_.peers[0], "127.0.0.1");
  EXPECT_EQ(receiver_.rcpts[0], std::vector<std::string>{"b-x@bounces.herald.test"});
  EXPECT_EQ(receiver_.messages[0],
            "Subject: Undelivered Mail Returned to Sender\r\n\r\n.report\r\n");
}

TEST_F(FeedbackListenerTest, A451WhenTheMessageCannotBeStored) {
  StartListener();
  receiver_.fail = true;
  TestClient c;
  Connect(c);
  c.Send("MAIL FROM:<>\r\nRCPT TO:<fbl@bounces.herald.test>\r\nDATA\r\n");
  c.ReadReply();
  c.ReadReply();
  c.ReadReply();
  c.Send("\r\nbody\r\n.\r\n");
  EXPECT_EQ(c.ReadReply(), "451 4.3.0 Error: queue file write error\r\n");
}

TEST_F(FeedbackListenerTest, AuthIsNotOfferedAndBareLfCloses) {
  StartListener();
  TestClient c;
  Connect(c);
  c.Send("AUTH PLAIN AGEAYg==\r\n");
  EXPECT_EQ(c.ReadReply(), "503 5.5.1 Error: authentication not enabled\r\n");
  c.Send("MAIL FROM:<>\nRCPT TO:<a@bounces.herald.test>\r\n");
  EXPECT_EQ(c.ReadReply(), "500 5.5.2 Bare <CR> or <LF> in command\r\n");
  EXPECT_TRUE(c.AtEof());
  std::lock_guard<std::mutex> lock(receiver_.mu);
  EXPECT_TRUE(receiver_.messages.empty());
}

TEST_F(FeedbackListenerTest, ConfigBounds) {
  FeedbackListenerConfig c = config_;
  EXPECT_TRUE(ValidateFeedbackListenerConfig(c).ok());
  c.listen.clear();
  EXPECT_FALSE(ValidateFeedbackListenerConfig(c).ok());
  c = config_;
  c.max_message_bytes = 10;
  EXPECT_FALSE(ValidateFeedbackListenerConfig(c).ok());
}

}  // namespace
}  // namespace herald::net
