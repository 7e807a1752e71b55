// The engine against scripted peers, a zone-text resolver and a fake clock: real threads,
// no sockets, no sleeping (waits are on the engine's own idle signal).
#include "delivery/engine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "mail/verp.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_dialer.h"
#include "tests/fakes/fake_resolver.h"
#include "tests/fakes/mem_spool.h"

namespace herald::delivery {
namespace {

using Kind = Decision::Kind;
using std::chrono::seconds;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";

class RecordingSink final : public OutcomeSink {
 public:
  void Record(const std::vector<Decision>& decisions) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& d : decisions) all_.push_back(d);
  }
  std::vector<Decision> All() {
    std::lock_guard<std::mutex> lock(mu_);
    return all_;
  }
  std::vector<Decision> For(const std::string& address) {
    std::vector<Decision> out;
    for (const auto& d : All()) {
      if (d.recipient.address == address) out.push_back(d);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<Decision> all_;
};

constexpr char kZone[] = R"(
example.test.   MX 10 mx1.example.test.
example.test.   MX 20 mx2.example.test.
mx1.example.test. A 10.0.0.1
mx2.example.test. A 10.0.0.2
other.test.     MX 5 mx1.example.test.
implicit.test.  A 10.0.0.3
null.test.      MX 0 .
v6.test.        MX 10 mx.v6.test.
mx.v6.test.     AAAA 2001:db8::25
)";

class EngineTest : public ::testing::Test {
 protected:
  EngineTest() : resolver_(kZone) {}

  EngineConfig Config() {
    EngineConfig c;
    c.hostname = "herald.test";
    c.return_path_domain = "bounce.herald.test";
    c.verp_secret = kSecret;
    c.scheduler.retry_schedule = {seconds(60), seconds(300)};
    c.resolver_threads = 1;
    return c;
  }

  void Start(EngineConfig c, EgressLookup egress = nullptr) {
    engine_ = std::make_unique<DeliveryEngine>(std::move(c), clock_, spool_, sink_, resolver_,
                                               dialer_, std::move(egress));
    engine_->Start();
  }

  // Stores a message and hands it to the engine.
  std::string Submit(const std::vector<std::string>& rcpts, const std::string& body = "") {
    static int n = 0;
    char id[80];
    std::snprintf(id, sizeof id, "0100019a0000%04x-0b5c4c2e-9d7a-4a53-8f0e-2d0c1b9e%04x-000000", n,
                  n);
    ++n;
    spool::SpoolRecord r;
    r.id = id;
    r.recipient_count = static_cast<uint32_t>(rcpts.size());
    r.envelope =
        R"({"v":1,"account_id":7,"mail":{"source":"sender@from.test","commonHeaders":{"from":["Sender <sender@from.test>"]}}})";
    r.body = body.empty() ? "From: sender@from.test\r\nSubject: hi\r\n\r\nHello\r\n" : body;
    EXPECT_TRUE(spool_.Store(r).ok());
    NewMessage m;
    m.id = id;
    m.account_id = 7;
    m.accepted = clock_.Now();
    m.max_delivery = seconds(3600);
    for (uint32_t i = 0; i < rcpts.size(); ++i) m.recipients.push_back({i, rcpts[i]});
    engine_->Enqueue(std::move(m));
    return id;
  }

  void Idle() { ASSERT_TRUE(engine_->WaitIdle(std::chrono::seconds(20))); }
  void Advance(seconds s) {
    clock_.Advance(s);
    engine_->Poke();
    Idle();
  }

  FakeClock clock_;
  dns::FakeResolver resolver_;
  net::FakeDialer dialer_;
  spool::MemSpool spool_;
  RecordingSink sink_;
  std::unique_ptr<DeliveryEngine> engine_;
};

TEST_F(EngineTest, DeliversThroughThePreferredMxWithVerpReturnPaths) {
  auto& peer = dialer_.AddPeer("10.0.0.1", 25);
  EngineConfig c = Config();
  c.scheduler.max_connections_per_destination = 1;  // both transactions on one connection
  Start(c);
  std::string id = Submit({"a@example.test", "b@example.test"});
  Idle();
  auto all = sink_.All();
  ASSERT_EQ(all.size(), 2u);
  for (const auto& d : all) {
    EXPECT_EQ(d.kind, Kind::kDelivered);
    EXPECT_EQ(d.smtp_response, "250 2.0.0 Ok: queued as TEST");
    EXPECT_EQ(d.remote_address, "10.0.0.1");
  }
  // One connection, two transactions (one per recipient, RSET between).
  EXPECT_EQ(dialer_.dials(), 1);
  auto cmds = peer.commands();
  int mails = 0, rsets = 0;
  for (const auto& c : cmds) {
    if (c.rfind("MAIL FROM:<", 0) == 0) {
      ++mails;
      std::string addr = c.substr(11, c.find('>') - 11);
      size_t at = addr.find('@');
      ASSERT_NE(at, std::string::npos);
      EXPECT_EQ(addr.substr(at + 1), "bounce.herald.test");
      auto t = mail::DecodeVerpLocalPart(addr.substr(0, at), kSecret);
      ASSERT_TRUE(t.ok()) << addr;
      EXPECT_EQ(t->message_id, id);
      EXPECT_LT(t->recipient, 2u);
    }
    if (c == "RSET") ++rsets;
  }
  EXPECT_EQ(mails, 2);
  EXPECT_EQ(rsets, 1);
  ASSERT_EQ(peer.messages().size(), 2u);
  EXPECT_NE(peer.messages()[0].find("Subject: hi"), std::string::npos);
}

TEST_F(EngineTest, MixedRecipientResultsInOneTransaction) {
  auto& peer = dialer_.AddPeer("10.0.0.1", 25);
  peer.OnRcpt("gone@example.test",
              "550 5.1.1 <gone@example.test>: Recipient address rejected: User unknown")
      .OnRcpt("full@example.test", "452 4.2.2 Mailbox full");
  EngineConfig c = Config();
  c.scheduler.verp_per_recipient = false;
  Start(c);
  Submit({"ok@example.test", "gone@example.test", "full@example.test"});
  Idle();
  ASSERT_EQ(sink_.For("ok@example.test").size(), 1u);
  EXPECT_EQ(sink_.For("ok@example.test")[0].kind, Kind::kDelivered);
  auto gone = sink_.For("gone@example.test");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].kind, Kind::kBounced);
  EXPECT_EQ(gone[0].verdict->bounce_type, "Permanent");
  EXPECT_EQ(gone[0].verdict->status, "5.1.1");
  EXPECT_NE(gone[0].verdict->diagnostic_code.find("User unknown"), std::string::npos);
  auto full = sink_.For("full@example.test");
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0].kind, Kind::kDeferred);
  EXPECT_EQ(full[0].verdict->delay_type, "MailboxFull");
  // One transaction carried all three recipients.
  int mails = 0;
  for (const auto& cmd : peer.commands()) mails += cmd.rfind("MAIL FROM", 0) == 0;
  EXPECT_EQ(mails, 1);
}

TEST_F(EngineTest, GreylistedThenDeliveredOnRetry) {
  dialer_.AddPeer("10.0.0.1", 25).OnRcpt("a@example.test", "451 4.7.1 Greylisted, come back later");
  dialer_.AddPeer("10.0.0.1", 25);
  Start(Config());
  Submit({"a@example.test"});
  Idle();
  auto d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Kind::kDeferred);
  EXPECT_EQ(d[0].next_attempt, clock_.Now() + seconds(60));
  Advance(seconds(30));
  EXPECT_EQ(sink_.For("a@example.test").size(), 1u);  // not yet
  Advance(seconds(30));
  d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].kind, Kind::kDelivered);
  EXPECT_EQ(dialer_.dials(), 2);
}

TEST_F(EngineTest, FirstMxDownSecondMxTakesTheMail) {
  dialer_.RefuseNext("10.0.0.1", 25);
  auto& backup = dialer_.AddPeer("10.0.0.2", 25);
  Start(Config());
  Submit({"a@example.test"});
  Idle();
  auto d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Kind::kDelivered);
  EXPECT_EQ(d[0].remote_address, "10.0.0.2");
  EXPECT_EQ(backup.messages().size(), 1u);
  EXPECT_EQ(dialer_.dial_log(), (std::vector<std::string>{"10.0.0.1:25", "10.0.0.2:25"}));
}

TEST_F(EngineTest, DropInMidDataIsRetried) {
  dialer_.AddPeer("10.0.0.1", 25).DropAfterBodyBytes(10);
  dialer_.AddPeer("10.0.0.1", 25);
  Start(Config());
  Submit({"a@example.test"}, "Subject: long\r\n\r\n" + std::string(5000, 'x') + "\r\n");
  Idle();
  auto d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Kind::kDeferred);
  EXPECT_EQ(d[0].verdict->status.substr(0, 2), "4.");
  Advance(seconds(60));
  d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].kind, Kind::kDelivered);
}

TEST_F(EngineTest, RequiredTlsNotOfferedIsDeferredNotSentInClear) {
  auto& peer = dialer_.AddPeer("10.0.0.1", 25);  // no STARTTLS in its EHLO
  dialer_.RefuseNext("10.0.0.2", 25);
  EngineConfig c = Config();
  c.tls = TlsMode::kRequire;
  Start(c);
  Submit({"a@example.test"});
  Idle();
  auto d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Kind::kDeferred);
  EXPECT_TRUE(peer.messages().empty());
  for (const auto& cmd : peer.commands()) EXPECT_NE(cmd.rfind("MAIL", 0), 0u) << cmd;
}

TEST_F(EngineTest, StartTlsWhenOffered) {
  auto& peer = dialer_.AddPeer("10.0.0.1", 25);
  peer.OnEhlo({"250-mx1.example.test", "250-PIPELINING", "250-STARTTLS", "250 8BITMIME"});
  Start(Config());
  Submit({"a@example.test"});
  Idle();
  ASSERT_EQ(sink_.For("a@example.test").size(), 1u);
  EXPECT_EQ(sink_.For("a@example.test")[0].kind, Kind::kDelivered);
  EXPECT_TRUE(peer.IsTls());
  EXPECT_EQ(peer.tls_server_name(), "mx1.example.test");
}

TEST_F(EngineTest, NullMxAndUnknownDomainBounceWithoutConnecting) {
  Start(Config());
  Submit({"a@null.test", "b@nowhere.test"});
  Idle();
  auto a = sink_.For("a@null.test");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, Kind::kBounced);
  EXPECT_EQ(a[0].verdict->status, "5.1.10");
  auto b = sink_.For("b@nowhere.test");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].kind, Kind::kBounced);
  EXPECT_EQ(b[0].verdict->bounce_type, "Permanent");
  EXPECT_EQ(dialer_.dials(), 0);
}

TEST_F(EngineTest, ImplicitMxAndIpv6) {
  dialer_.AddPeer("10.0.0.3", 25);
  dialer_.AddPeer("2001:db8::25", 25);
  Start(Config());
  Submit({"a@implicit.test", "b@v6.test"});
  Idle();
  EXPECT_EQ(sink_.For("a@implicit.test").at(0).kind, Kind::kDelivered);
  EXPECT_EQ(sink_.For("b@v6.test").at(0).kind, Kind::kDelivered);
  EXPECT_EQ(sink_.For("b@v6.test").at(0).remote_address, "2001:db8::25");
}

TEST_F(EngineTest, StaticRouteWinsOverMx) {
  auto& relay = dialer_.AddPeer("127.0.0.1", 2525);
  relay.OnEhlo({"250-relay", "250-AUTH PLAIN LOGIN", "250 PIPELINING"});
  EngineConfig c = Config();
  StaticRoute r;
  r.domain = "*";
  r.host = "127.0.0.1";
  r.port = 2525;
  r.auth_user = "user";
  r.auth_password = "secret";
  c.routes.push_back(r);
  c.allow_auth_without_tls = true;
  Start(c);
  Submit({"a@example.test"});
  Idle();
  EXPECT_EQ(sink_.For("a@example.test").at(0).kind, Kind::kDelivered);
  EXPECT_EQ(relay.auth_user(), "user");
  EXPECT_EQ(relay.auth_password(), "secret");
  EXPECT_EQ(dialer_.dials(), 1);
}

TEST_F(EngineTest, ExpiresIntoATransientBounceWithTheLastDiagnostic) {
  auto always_greylist = [] {
    auto p = std::make_shared<net::ScriptedSmtpPeer>();
    p->OnRcpt("a@example.test", "451 4.7.1 Greylisted");
    return p;
  };
  dialer_.SetFactory("10.0.0.1", 25, always_greylist);
  Start(Config());
  Submit({"a@example.test"});  // max_delivery one hour
  Idle();
  for (int i = 0; i < 20 && sink_.For("a@example.test").back().kind == Kind::kDeferred; ++i) {
    Advance(seconds(300));
  }
  auto d = sink_.For("a@example.test");
  ASSERT_GE(d.size(), 3u);
  EXPECT_EQ(d.back().kind, Kind::kBounced);
  EXPECT_EQ(d.back().verdict->bounce_type, "Transient");
  EXPECT_NE(d.back().verdict->diagnostic_code.find("Greylisted"), std::string::npos);
  EXPECT_EQ(engine_->Counters().expired, 1u);
}

TEST_F(EngineTest, SignsWithTheEgressKey) {
  auto& peer = dialer_.AddPeer("10.0.0.1", 25);
  auto key = mail::GenerateDkimKey(mail::DkimAlgorithm::kEd25519Sha256);
  ASSERT_TRUE(key.ok());
  std::string asked;
  EgressLookup egress = [&](int64_t account, const std::string& domain) {
    EXPECT_EQ(account, 7);
    asked = domain;
    EgressPolicy p;
    mail::DkimSigner s;
    s.domain = domain;
    s.selector = "sel";
    s.algorithm = mail::DkimAlgorithm::kEd25519Sha256;
    s.private_key_pem = key->private_key_pem;
    p.dkim = s;
    p.mail_from_domain = "mail.from.test";
    return p;
  };
  Start(Config(), egress);
  Submit({"a@example.test"});
  Idle();
  EXPECT_EQ(asked, "from.test");
  ASSERT_EQ(peer.messages().size(), 1u);
  EXPECT_EQ(peer.messages()[0].rfind("DKIM-Signature:", 0), 0u);
  EXPECT_NE(peer.messages()[0].find("d=from.test"), std::string::npos);
  bool custom_mail_from = false;
  for (const auto& c : peer.commands()) {
    if (c.find("@mail.from.test>") != std::string::npos) custom_mail_from = true;
  }
  EXPECT_TRUE(custom_mail_from);
}

TEST_F(EngineTest, HoldReleaseAndQueueListing) {
  dialer_.SetFactory("10.0.0.1", 25, [] { return std::make_shared<net::ScriptedSmtpPeer>(); });
  Start(Config());
  const std::string key = "mx:mx1.example.test,mx2.example.test";
  engine_->Hold(key);
  Submit({"a@example.test", "b@other.test"});
  Idle();
  EXPECT_TRUE(sink_.For("a@example.test").empty());
  EXPECT_EQ(sink_.For("b@other.test").at(0).kind, Kind::kDelivered);
  auto qs = engine_->Queues();
  size_t held_ready = 0;
  for (const auto& q : qs) {
    if (q.key == key) {
      EXPECT_TRUE(q.held);
      held_ready += q.ready;
    }
  }
  EXPECT_EQ(held_ready, 1u);  // other.test has its own MX set
  engine_->Release(key);
  Idle();
  EXPECT_EQ(sink_.For("a@example.test").at(0).kind, Kind::kDelivered);
}

}  // namespace
}  // namespace herald::delivery

namespace herald::delivery {
namespace {

TEST_F(EngineTest, SlowPeerTimesOutAfterTheDotAndIsRetried) {
  dialer_.AddPeer("10.0.0.1", 25).TimeoutAt(net::SmtpStep::kDataDone, 1);
  dialer_.AddPeer("10.0.0.1", 25);
  EngineConfig c = Config();
  c.data_timeout = std::chrono::milliseconds(1234);
  Start(c);
  Submit({"a@example.test"});
  Idle();
  auto d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Kind::kDeferred);
  EXPECT_EQ(d[0].verdict->delay_type, "TransientCommunicationFailure");
  EXPECT_NE(d[0].verdict->diagnostic_code.find("lost"), std::string::npos);
  EXPECT_EQ(dialer_.peers("10.0.0.1", 25).at(0)->last_read_timeout(),
            std::chrono::milliseconds(1234));
  Advance(seconds(60));
  d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[1].kind, Kind::kDelivered);
}

TEST_F(EngineTest, ThrottlingReplyIsCountedAndDeferred) {
  dialer_.AddPeer("10.0.0.1", 25)
      .OnMail("421 4.7.0 Too many messages from your IP, slow down")
      .TimeoutAt(net::SmtpStep::kQuit, 1);
  Start(Config());
  Submit({"a@example.test"});
  Idle();
  auto d = sink_.For("a@example.test");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, Kind::kDeferred);
  EXPECT_EQ(engine_->Counters().throttled, 1u);
  auto qs = engine_->Queues();
  ASSERT_FALSE(qs.empty());
  EXPECT_LT(qs[0].connection_limit, 16);
}

}  // namespace
}  // namespace herald::delivery
