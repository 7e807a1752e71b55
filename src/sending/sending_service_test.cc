#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "sending/sending_service_impl.h"
#include "sending/simulator.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_spool.h"
#include "tests/fakes/mem_store.h"
#include "tests/fakes/recording_observer.h"

namespace herald::sending {
namespace {

// Collects published event lines; can be told to fail.
class RecordingSink final : public events::EventSink {
 public:
  Status Publish(const std::string& lines) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_) return UnavailableError("disk full");
    for (auto part : Split(lines, '\n')) {
      if (!part.empty()) events_.push_back(nlohmann::json::parse(part));
    }
    return Status::Ok();
  }
  std::vector<nlohmann::json> events_;
  bool fail_ = false;

 private:
  std::mutex mu_;
};

class SendingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto acc = store_.CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(acc.ok());
    account_ = *acc;
    Verify("example.com", store::IdentityType::kDomain);
    config_.sandbox_max_send_rate = 1000;
    config_.hostname = "herald.test";
    Rebuild();
  }

  void Rebuild() {
    service_ = std::make_unique<SendingServiceImpl>(config_, clock_, store_, spool_, sink_);
  }

  void Verify(const std::string& name, store::IdentityType type) {
    store::Identity id;
    id.account_id = account_.id;
    id.name = name;
    id.type = type;
    id.status = store::VerificationStatus::kSuccess;
    id.verification_token = "t-" + name;
    id.created = clock_.Now();
    id.token_expires = clock_.Now();
    ASSERT_TRUE(store_.CreateIdentity(id).ok());
  }

  Submission Make(std::vector<std::string> rcpts, std::string extra_headers = "") {
    Submission s;
    s.principal.account_id = account_.id;
    s.principal.account_name = account_.name;
    s.principal.source_ip = "192.0.2.7";
    s.operation = "SendEmail";
    s.recipients = std::move(rcpts);
    s.message = "From: Sender <sender@example.com>\r\nTo: someone@example.org\r\nSubject: hi\r\n" +
                extra_headers + "\r\nbody\r\n";
    return s;
  }

  // Submit, then wait for the publisher so the events are in the sink.
  SubmitResult Send(const Submission& s) {
    SubmitResult r = service_->Submit(s);
    service_->WaitForEvents();
    return r;
  }

  std::vector<std::string> Types() const {
    std::vector<std::string> out;
    for (const auto& e : sink_.events_) out.push_back(e["eventType"].get<std::string>());
    return out;
  }

  FakeClock clock_;
  store::MemStore store_;
  spool::MemSpool spool_;
  RecordingSink sink_;
  SendingConfig config_;
  store::Account account_;
  std::unique_ptr<SendingServiceImpl> service_;
};

const Accepted* AsAccepted(const SubmitResult& r) { return std::get_if<Accepted>(&r); }
const Rejection* AsRejected(const SubmitResult& r) { return std::get_if<Rejection>(&r); }

TEST_F(SendingServiceTest, UnverifiedSenderIsRejectedWithSesText) {
  Submission s = Make({"success@simulator.amazonses.com"});
  s.message = "From: someone@unverified.org\r\nSubject: x\r\n\r\nb\r\n";
  auto r = Send(s);
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kNotVerified);
  EXPECT_EQ(AsRejected(r)->message,
            "Email address is not verified. The following identities failed the check in "
            "region US-EAST-1: someone@unverified.org");
  EXPECT_TRUE(sink_.events_.empty());
  EXPECT_TRUE(spool_.Recover()->empty());
}

TEST_F(SendingServiceTest, SandboxRefusesUnverifiedRecipients) {
  auto r = Send(Make({"Friend@Elsewhere.org", "success@simulator.amazonses.com"}));
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kNotVerified);
  EXPECT_NE(AsRejected(r)->message.find("friend@elsewhere.org"), std::string::npos);
}

TEST_F(SendingServiceTest, SubdomainOfVerifiedDomainIsVerified) {
  Submission s = Make({"success@simulator.amazonses.com"});
  s.message = "From: a@mail.example.com\r\n\r\nb\r\n";
  EXPECT_NE(AsAccepted(Send(s)), nullptr);
  s.message = "From: a@notexample.com\r\n\r\nb\r\n";
  EXPECT_NE(AsRejected(Send(s)), nullptr);
}

TEST_F(SendingServiceTest, EverySimulatorAddressProducesSesEvents) {
  auto r = Send(Make({"success@simulator.amazonses.com", "bounce+x@simulator.amazonses.com",
                      "ooto@simulator.amazonses.com", "complaint@simulator.amazonses.com",
                      "suppressionlist@simulator.amazonses.com"}));
  ASSERT_NE(AsAccepted(r), nullptr);
  const std::string id = AsAccepted(r)->message_id;
  EXPECT_EQ(Types(), (std::vector<std::string>{"Send", "Delivery", "Bounce", "Delivery", "Bounce",
                                               "Delivery", "Complaint", "Bounce"}));
  for (const auto& e : sink_.events_) {
    EXPECT_EQ(e["mail"]["messageId"], id);
    EXPECT_EQ(e["mail"]["source"], "sender@example.com");
    EXPECT_EQ(e["mail"]["destination"].size(), 5u);
    EXPECT_FALSE(e["eventId"].get<std::string>().empty());
  }
  const auto& bounce = sink_.events_[2]["bounce"];
  EXPECT_EQ(bounce["bounceType"], "Permanent");
  EXPECT_EQ(bounce["bounceSubType"], "General");
  EXPECT_EQ(bounce["bouncedRecipients"][0]["emailAddress"], "bounce+x@simulator.amazonses.com");
  EXPECT_EQ(bounce["bouncedRecipients"][0]["status"], "5.1.1");
  EXPECT_EQ(bounce["bouncedRecipients"][0]["diagnosticCode"], "smtp; 550 5.1.1 user unknown");
  EXPECT_EQ(bounce["reportingMTA"], "dsn; herald.test");
  EXPECT_EQ(sink_.events_[4]["bounce"]["bounceType"], "Transient");
  EXPECT_EQ(sink_.events_[6]["complaint"]["complaintFeedbackType"], "abuse");
  EXPECT_EQ(sink_.events_[7]["bounce"]["bounceSubType"], "Suppressed");
  const auto& tags = sink_.events_[0]["mail"]["tags"];
  EXPECT_EQ(tags["ses:operation"][0], "SendEmail");
  EXPECT_EQ(tags["ses:source-ip"][0], "192.0.2.7");
  EXPECT_EQ(tags["ses:from-domain"][0], "example.com");
  EXPECT_EQ(tags["ses:caller-identity"][0], "tenant");
  const auto& common = sink_.events_[0]["mail"]["commonHeaders"];
  EXPECT_EQ(common["from"][0], "Sender <sender@example.com>");
  EXPECT_EQ(common["subject"], "hi");
  EXPECT_EQ(common["messageId"], id + "@herald.test");
  // Every recipient was a simulator address: nothing is left in the spool.
  EXPECT_TRUE(spool_.Recover()->empty());
  // Simulator sends never count against the daily quota.
  EXPECT_EQ(*store_.CountSendsSince(account_.id, clock_.Now() - std::chrono::hours(24)), 0);
}

TEST_F(SendingServiceTest, ControlHeadersAreHonouredAndRemoved) {
  auto r = Send(Make({"success@simulator.amazonses.com"},
                     "X-SES-MESSAGE-TAGS: campaign=fall, team=ops\r\n"
                     "X-SES-SOURCE-ARN: arn:aws:ses:x\r\n"));
  ASSERT_NE(AsAccepted(r), nullptr);
  const auto& mail = sink_.events_[0]["mail"];
  EXPECT_EQ(mail["tags"]["campaign"][0], "fall");
  EXPECT_EQ(mail["tags"]["team"][0], "ops");
  for (const auto& h : mail["headers"]) {
    EXPECT_FALSE(StartsWithIgnoreCase(h["name"].get<std::string>(), "X-SES-"));
  }
  auto bad = Send(Make({"success@simulator.amazonses.com"}, "X-SES-MESSAGE-TAGS: bad tag=x\r\n"));
  ASSERT_NE(AsRejected(bad), nullptr);
  EXPECT_EQ(AsRejected(bad)->kind, RejectKind::kBadRequest);
  auto cs =
      Send(Make({"success@simulator.amazonses.com"}, "X-SES-CONFIGURATION-SET: marketing\r\n"));
  ASSERT_NE(AsRejected(cs), nullptr);
  EXPECT_EQ(AsRejected(cs)->kind, RejectKind::kConfigSetNotFound);
}

TEST_F(SendingServiceTest, RealRecipientsStayQueuedWithHeraldHeaders) {
  ASSERT_TRUE(store_.SetProduction(account_.id, true).ok());
  auto r = Send(Make({"user@example.org", "success@simulator.amazonses.com"},
                     "Message-ID: <client-id@example.com>\r\n"));
  ASSERT_NE(AsAccepted(r), nullptr);
  auto queued = spool_.Recover();
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 1u);
  // The simulator recipient and the "events published" mark are done; the real one waits.
  EXPECT_EQ((*queued)[0].done, (std::vector<uint32_t>{1, 2}));
  auto body = spool_.ReadBody(AsAccepted(r)->message_id);
  ASSERT_TRUE(body.ok());
  EXPECT_NE(body->find("Message-ID: <client-id@example.com>\r\n"), std::string::npos);
  EXPECT_EQ(body->find("Message-ID: <0100"), std::string::npos);
  EXPECT_EQ(body->rfind("Date: ", 0), 0u);  // herald adds Date at the top
  EXPECT_EQ(sink_.events_[0]["mail"]["commonHeaders"]["messageId"], "client-id@example.com");
  ASSERT_TRUE(service_->FlushSendCounts().ok());
  EXPECT_EQ(*store_.CountSendsSince(account_.id, clock_.Now() - std::chrono::hours(1)), 1);
}

// A template that did not render: accepted, nothing spooled or delivered, one Rendering
// Failure event (SES's "Rendering Failure" with the failure object) and no Send event.
TEST_F(SendingServiceTest, RenderingFailureIsAnEventNotADelivery) {
  ASSERT_TRUE(store_.SetProduction(account_.id, true).ok());
  Submission s = Make({"user@example.org"});
  s.rendering_failure = Submission::RenderingFailure{
      "welcome", "Attribute 'name' is not present in the rendering data."};
  auto r = Send(s);
  ASSERT_NE(AsAccepted(r), nullptr);
  EXPECT_TRUE(spool_.Recover()->empty());
  ASSERT_EQ(Types(), (std::vector<std::string>{"Rendering Failure"}));
  EXPECT_EQ(sink_.events_[0]["failure"]["templateName"], "welcome");
  EXPECT_EQ(sink_.events_[0]["failure"]["errorMessage"],
            "Attribute 'name' is not present in the rendering data.");
  EXPECT_EQ(sink_.events_[0]["mail"]["messageId"], AsAccepted(r)->message_id);
  // Unverified senders are still refused first.
  Submission bad = Make({"user@example.org"});
  bad.message = "From: x@unverified.example\r\nSubject: hi\r\n\r\nbody\r\n";
  bad.rendering_failure = s.rendering_failure;
  EXPECT_NE(AsRejected(Send(bad)), nullptr);
}

// A message carrying the EICAR test file: accepted, not stored for delivery, one Reject
// event with SES's only reason; a clean one is untouched by the scanner.
TEST_F(SendingServiceTest, VirusIsARejectEventNotADelivery) {
  ASSERT_TRUE(store_.SetProduction(account_.id, true).ok());
  mail::EicarScanner scanner;
  service_->SetVirusScanner(&scanner, false);
  const std::string eicar =
      std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$") + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  Submission s = Make({"user@example.org"});
  s.message =
      "From: sender@example.com\r\nTo: user@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain\r\n\r\n" +
      eicar + "\r\n";
  auto r = Send(s);
  ASSERT_NE(AsAccepted(r), nullptr);
  EXPECT_TRUE(spool_.Recover()->empty());
  ASSERT_EQ(Types(), (std::vector<std::string>{"Reject"}));
  EXPECT_EQ(sink_.events_[0]["reject"]["reason"], "Bad content");
  auto clean = Send(Make({"user@example.org"}));
  ASSERT_NE(AsAccepted(clean), nullptr);
  EXPECT_EQ(spool_.Recover()->size(), 1u);
}

// The reputation machinery is told of each accepted message once, with every recipient
// (Cc and Bcc included: the envelope) and which ones were simulator addresses.
TEST_F(SendingServiceTest, ObserverHearsEachAcceptedMessageOnce) {
  ASSERT_TRUE(store_.SetProduction(account_.id, true).ok());
  RecordingObserver observer;
  service_->SetOutcomeObserver(&observer);
  auto r = Send(Make({"user@example.org", "Other@Example.net", "success@simulator.amazonses.com"}));
  ASSERT_NE(AsAccepted(r), nullptr);
  ASSERT_EQ(observer.sends.size(), 1u);
  const SendFacts& f = observer.sends[0];
  EXPECT_EQ(f.account_id, account_.id);
  EXPECT_EQ(f.message_id, AsAccepted(r)->message_id);
  EXPECT_EQ(f.sent_at, clock_.Now());
  EXPECT_TRUE(f.configuration_set.empty());
  ASSERT_EQ(f.recipients.size(), 3u);
  EXPECT_EQ(f.recipients[0].address, "user@example.org");
  EXPECT_EQ(f.recipients[1].address, "Other@Example.net");
  EXPECT_FALSE(f.recipients[0].simulator);
  EXPECT_FALSE(f.recipients[1].simulator);
  EXPECT_TRUE(f.recipients[2].simulator);

  // A refused submission tells it nothing; neither does a restart's recovery.
  spool_.FailNextStore(UnavailableError("fsync failed"));
  EXPECT_NE(AsRejected(Send(Make({"user@example.org"}))), nullptr);
  ASSERT_TRUE(service_->Recover().ok());
  EXPECT_EQ(observer.sends.size(), 1u);
}

TEST_F(SendingServiceTest, SpoolFailureRejectsAndEmitsNothing) {
  spool_.FailNextStore(UnavailableError("fsync failed"));
  auto r = Send(Make({"success@simulator.amazonses.com"}));
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kTemporary);
  EXPECT_TRUE(sink_.events_.empty());
}

TEST_F(SendingServiceTest, RateLimitAllowsABurstThenRefusesUntilRepaid) {
  config_.sandbox_max_send_rate = 1;
  Rebuild();
  std::vector<std::string> five;
  for (int i = 0; i < 5; ++i)
    five.push_back("success+" + std::to_string(i) + "@simulator.amazonses.com");
  EXPECT_NE(AsAccepted(Send(Make(five))), nullptr);
  auto r = Send(Make({"success@simulator.amazonses.com"}));
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kMaxSendRate);
  clock_.Advance(std::chrono::seconds(3));
  EXPECT_NE(AsRejected(Send(Make({"success@simulator.amazonses.com"}))), nullptr);
  clock_.Advance(std::chrono::seconds(3));
  EXPECT_NE(AsAccepted(Send(Make({"success@simulator.amazonses.com"}))), nullptr);
}

TEST_F(SendingServiceTest, DailyQuotaCountsRealRecipientsOnly) {
  ASSERT_TRUE(store_.SetProduction(account_.id, true).ok());
  config_.production_max_24h_send = 3;
  Rebuild();
  EXPECT_NE(AsAccepted(Send(Make({"a@example.org", "b@example.org"}))), nullptr);
  auto r = Send(Make({"c@example.org", "d@example.org"}));
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kDailyQuota);
  EXPECT_NE(AsAccepted(Send(Make({"c@example.org", "success@simulator.amazonses.com"}))), nullptr);
  clock_.Advance(std::chrono::hours(25));
  EXPECT_NE(AsAccepted(Send(Make({"d@example.org", "e@example.org"}))), nullptr);
  // A fresh service (a restart) sees the counts the first one wrote.
  Rebuild();
  auto again = Send(Make({"f@example.org", "g@example.org"}));
  ASSERT_NE(AsRejected(again), nullptr);
  EXPECT_EQ(AsRejected(again)->kind, RejectKind::kDailyQuota);
}

TEST_F(SendingServiceTest, PausedAccountAndLimits) {
  Submission big = Make({"success@simulator.amazonses.com"});
  config_.max_message_bytes = 1024;
  Rebuild();
  big.message += std::string(2000, 'x');
  EXPECT_EQ(AsRejected(Send(big))->kind, RejectKind::kTooLarge);

  std::vector<std::string> many;
  for (int i = 0; i < 51; ++i)
    many.push_back("success+" + std::to_string(i) + "@simulator.amazonses.com");
  auto r = Send(Make(many));
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->message, "Recipient count exceeds 50.");

  ASSERT_TRUE(store_.SetSendingEnabled(account_.id, false).ok());
  EXPECT_EQ(AsRejected(Send(Make({"success@simulator.amazonses.com"})))->kind,
            RejectKind::kSendingPaused);
  ASSERT_TRUE(store_.SetSendingEnabled(account_.id, true).ok());

  // Enforcement: paused is SendingPaused, suspended is AccountSuspended; under review sends.
  store::ReputationRow row{"{}", "under_review", SysTime{}};
  ASSERT_TRUE(store_.PutReputation(account_.id, row, "PROBATION").ok());
  EXPECT_NE(AsAccepted(Send(Make({"success@simulator.amazonses.com"}))), nullptr);
  row.state_name = "paused";
  ASSERT_TRUE(store_.PutReputation(account_.id, row, "SHUTDOWN").ok());
  EXPECT_EQ(AsRejected(Send(Make({"success@simulator.amazonses.com"})))->kind,
            RejectKind::kSendingPaused);
  row.state_name = "suspended";
  ASSERT_TRUE(store_.PutReputation(account_.id, row, "SHUTDOWN").ok());
  SubmitResult result = Send(Make({"success@simulator.amazonses.com"}));
  const Rejection* suspended = AsRejected(result);
  ASSERT_NE(suspended, nullptr);
  EXPECT_EQ(suspended->kind, RejectKind::kAccountSuspended);
  EXPECT_NE(suspended->message.find("suspended"), std::string::npos);
}

TEST_F(SendingServiceTest, MalformedMessageIsRejected) {
  Submission s = Make({"success@simulator.amazonses.com"});
  s.message = "From: sender@example.com\nSubject: bare lf\r\n\r\nx\r\n";
  EXPECT_EQ(AsRejected(Send(s))->kind, RejectKind::kBadRequest);
  s.message = "Subject: no from\r\n\r\nx\r\n";
  auto r = Send(s);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kBadRequest);
  EXPECT_EQ(AsRejected(r)->message, "Missing required header 'From'.");
}

TEST_F(SendingServiceTest, RecoverReplaysUnfinishedSimulatorRecipients) {
  sink_.fail_ = true;  // the crash window: spooled, events not written
  auto r = Send(Make({"bounce@simulator.amazonses.com"}));
  ASSERT_NE(AsAccepted(r), nullptr);
  ASSERT_EQ(spool_.Recover()->size(), 1u);
  sink_.fail_ = false;
  auto queued = service_->Recover();
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(*queued, 0);
  // Neither the Send event nor the outcome reached the log before: both come now.
  EXPECT_EQ(Types(), (std::vector<std::string>{"Send", "Bounce"}));
  EXPECT_EQ(sink_.events_[0]["mail"]["messageId"], AsAccepted(r)->message_id);
  EXPECT_TRUE(spool_.Recover()->empty());
}

// ---- Suppression -----------------------------------------------------------------------------

class SuppressionSendingTest : public SendingServiceTest {
 protected:
  void SetUp() override {
    SendingServiceTest::SetUp();
    ASSERT_TRUE(store_.SetProduction(account_.id, true).ok());
    Restart();
  }

  void Restart() {
    Rebuild();
    service_->SetDeliveryHook([this](QueuedDelivery q) { got_.push_back(std::move(q)); });
    service_->SetOutcomeObserver(&observer_);
  }

  void Suppress(const std::string& address, store::SuppressionReason reason) {
    store::SuppressedDestination e;
    e.account_id = account_.id;
    e.address = address;
    e.reason = reason;
    e.last_update = clock_.Now();
    ASSERT_TRUE(store_.PutSuppressedDestination(e).ok());
  }

  void ListGlobally(const std::string& address) {
    ASSERT_TRUE(store_.RecordGlobalHardBounces({{address, clock_.Now(), "550 gone"}}, {}).ok());
  }

  // The events of `type` for `rcpt` (bounced or complained).
  std::vector<nlohmann::json> EventsFor(const std::string& type, const std::string& rcpt) {
    std::vector<nlohmann::json> out;
    for (const auto& e : sink_.events_) {
      if (e["eventType"] != type) continue;
      const nlohmann::json& list = type == "Bounce" ? e["bounce"]["bouncedRecipients"]
                                                    : e["complaint"]["complainedRecipients"];
      if (list[0]["emailAddress"] == rcpt) out.push_back(e);
    }
    return out;
  }

  std::vector<QueuedDelivery> got_;
  RecordingObserver observer_;
};

TEST_F(SuppressionSendingTest, AccountListedRecipientsAreAcceptedButNotSent) {
  Suppress("gone@example.org", store::SuppressionReason::kBounce);
  Suppress("angry@example.org", store::SuppressionReason::kComplaint);
  auto r = Send(Make({"Gone@Example.ORG", "ok@example.org", "ANGRY@example.org"}));
  ASSERT_NE(AsAccepted(r), nullptr);
  const std::string id = AsAccepted(r)->message_id;

  // Send, then one event per stopped recipient (the address as the client wrote it).
  EXPECT_EQ(Types(), (std::vector<std::string>{"Send", "Bounce", "Complaint"}));
  auto bounce = EventsFor("Bounce", "Gone@Example.ORG");
  ASSERT_EQ(bounce.size(), 1u);
  EXPECT_EQ(bounce[0]["mail"]["messageId"], id);
  EXPECT_EQ(bounce[0]["bounce"]["bounceType"], "Permanent");
  EXPECT_EQ(bounce[0]["bounce"]["bounceSubType"], "OnAccountSuppressionList");
  EXPECT_EQ(bounce[0]["bounce"]["bouncedRecipients"][0]["status"], "5.1.1");
  auto complaint = EventsFor("Complaint", "ANGRY@example.org");
  ASSERT_EQ(complaint.size(), 1u);
  EXPECT_EQ(complaint[0]["complaint"]["complaintSubType"], "OnAccountSuppressionList");

  // Only the other recipient leaves; the stopped ones are done in the spool.
  ASSERT_EQ(got_.size(), 1u);
  ASSERT_EQ(got_[0].recipients.size(), 1u);
  EXPECT_EQ(got_[0].recipients[0], (std::pair<uint32_t, std::string>{1, "ok@example.org"}));
  auto queued = spool_.Recover();
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 1u);
  EXPECT_EQ((*queued)[0].done, (std::vector<uint32_t>{0, 2, 3}));

  // All three count against the daily quota.
  ASSERT_TRUE(service_->FlushSendCounts().ok());
  EXPECT_EQ(*store_.CountSendsSince(account_.id, clock_.Now() - std::chrono::hours(1)), 3);

  // The observer is told they were stopped by the account's list; no outcome is reported.
  ASSERT_EQ(observer_.sends.size(), 1u);
  const auto& rcpts = observer_.sends[0].recipients;
  ASSERT_EQ(rcpts.size(), 3u);
  EXPECT_TRUE(rcpts[0].suppressed);
  EXPECT_FALSE(rcpts[1].suppressed);
  EXPECT_TRUE(rcpts[2].suppressed);
  EXPECT_FALSE(rcpts[0].simulator);
  EXPECT_TRUE(observer_.outcomes.empty());
}

TEST_F(SuppressionSendingTest, OnlyTheAccountsReasonsStopASend) {
  Suppress("gone@example.org", store::SuppressionReason::kBounce);
  Suppress("angry@example.org", store::SuppressionReason::kComplaint);
  ASSERT_TRUE(store_.SetSuppressionAttributes(account_.id, {false, true}, "").ok());
  ASSERT_NE(AsAccepted(Send(Make({"gone@example.org", "angry@example.org"}))), nullptr);
  EXPECT_EQ(Types(), (std::vector<std::string>{"Send", "Complaint"}));
  ASSERT_EQ(got_.size(), 1u);
  ASSERT_EQ(got_[0].recipients.size(), 1u);
  EXPECT_EQ(got_[0].recipients[0].second, "gone@example.org");

  // With no reasons the account's list stops nothing.
  ASSERT_TRUE(store_.SetSuppressionAttributes(account_.id, {false, false}, "").ok());
  ASSERT_NE(AsAccepted(Send(Make({"gone@example.org", "angry@example.org"}))), nullptr);
  ASSERT_EQ(got_.size(), 2u);
  EXPECT_EQ(got_[1].recipients.size(), 2u);
}

TEST_F(SuppressionSendingTest, GloballyListedRecipientsBounceAndCount) {
  ListGlobally("listed@example.org");
  Suppress("both@example.org", store::SuppressionReason::kBounce);
  ListGlobally("both@example.org");
  auto r = Send(Make({"Listed@example.org", "both@example.org", "ok@example.org",
                      "bounce@simulator.amazonses.com"}));
  ASSERT_NE(AsAccepted(r), nullptr);
  const std::string id = AsAccepted(r)->message_id;
  auto listed = EventsFor("Bounce", "Listed@example.org");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["bounce"]["bounceSubType"], "Suppressed");
  // The account's list comes first.
  auto both = EventsFor("Bounce", "both@example.org");
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0]["bounce"]["bounceSubType"], "OnAccountSuppressionList");

  ASSERT_EQ(got_.size(), 1u);
  ASSERT_EQ(got_[0].recipients.size(), 1u);
  EXPECT_EQ(got_[0].recipients[0].second, "ok@example.org");

  // A global-list stop is an eligible send whose hard bounce counts: reported once, after
  // the Send, with the event's feedback id and diagnostic.
  ASSERT_EQ(observer_.sends.size(), 1u);
  EXPECT_FALSE(observer_.sends[0].recipients[0].suppressed);
  EXPECT_TRUE(observer_.sends[0].recipients[1].suppressed);
  ASSERT_EQ(observer_.outcomes.size(), 1u);
  const OutcomeFacts& o = observer_.outcomes[0];
  EXPECT_EQ(o.kind, OutcomeFacts::Kind::kHardBounce);
  EXPECT_EQ(o.bounce_sub_type, "Suppressed");
  EXPECT_EQ(o.recipient, "Listed@example.org");
  EXPECT_EQ(o.message_id, id);
  EXPECT_EQ(o.account_id, account_.id);
  EXPECT_EQ(o.sent_at, clock_.Now());
  EXPECT_EQ(o.feedback_id, listed[0]["bounce"]["feedbackId"]);
  EXPECT_EQ(o.diagnostic, listed[0]["bounce"]["bouncedRecipients"][0]["diagnosticCode"]);
  EXPECT_EQ(o.status, "5.1.1");
  // The review sample is the start of the message as spooled.
  EXPECT_NE(o.sample.find("Subject: hi\r\n"), std::string::npos) << o.sample;
  ASSERT_TRUE(service_->FlushSendCounts().ok());
  EXPECT_EQ(*store_.CountSendsSince(account_.id, clock_.Now() - std::chrono::hours(1)), 3);

  // Once the listing has run out the address is sent to again.
  clock_.Advance(std::chrono::hours(25));
  ASSERT_NE(AsAccepted(Send(Make({"listed@example.org"}))), nullptr);
  ASSERT_EQ(got_.size(), 2u);
  EXPECT_EQ(got_[1].recipients.size(), 1u);
}

TEST_F(SuppressionSendingTest, GlobalListCanBeSwitchedOff) {
  config_.global_suppression_enabled = false;
  Restart();
  ListGlobally("listed@example.org");
  ASSERT_NE(AsAccepted(Send(Make({"listed@example.org"}))), nullptr);
  EXPECT_EQ(Types(), (std::vector<std::string>{"Send"}));
  ASSERT_EQ(got_.size(), 1u);
  EXPECT_EQ(got_[0].recipients.size(), 1u);
}

TEST_F(SuppressionSendingTest, ALookupTheStoreRefusesRefusesTheMessage) {
  // More recipients than one lookup may hold: the store says no (the fake cannot fail a
  // single method), and the message is refused as a temporary failure, nothing spooled.
  config_.max_recipients = static_cast<int64_t>(store::kMaxSuppressionLookup) + 1;
  Restart();
  std::vector<std::string> many;
  for (size_t i = 0; i <= store::kMaxSuppressionLookup; ++i) {
    many.push_back("r" + std::to_string(i) + "@example.org");
  }
  auto r = Send(Make(many));
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kTemporary);
  EXPECT_TRUE(spool_.Recover()->empty());
  EXPECT_TRUE(sink_.events_.empty());
  EXPECT_TRUE(got_.empty());
  // Nothing was counted against the quota either.
  EXPECT_EQ(*service_->SentLast24Hours(account_.id), 0);
}

// A crash between the spool write and the events: the restart replays the stopped
// recipients from the envelope (not from the lists, which may have changed), never hands
// them to delivery, and reports the global-list bounce then.
TEST_F(SuppressionSendingTest, RecoverReplaysWhatAcceptanceDecided) {
  Suppress("gone@example.org", store::SuppressionReason::kBounce);
  Suppress("angry@example.org", store::SuppressionReason::kComplaint);
  ListGlobally("listed@example.org");
  sink_.fail_ = true;
  auto r = Send(Make({"gone@example.org", "angry@example.org", "listed@example.org",
                      "ok@example.org", "success@simulator.amazonses.com"}));
  ASSERT_NE(AsAccepted(r), nullptr);
  EXPECT_TRUE(observer_.outcomes.empty());  // nothing published, nothing reported
  sink_.fail_ = false;

  // Meanwhile every list entry is removed: the replay still follows the envelope.
  ASSERT_TRUE(store_.DeleteAllSuppressedDestinations(account_.id).ok());
  ASSERT_TRUE(store_.DeleteGlobalSuppression("listed@example.org").ok());
  got_.clear();
  Restart();
  auto queued = service_->Recover();
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(*queued, 1);
  EXPECT_EQ(Types(),
            (std::vector<std::string>{"Send", "Bounce", "Complaint", "Bounce", "Delivery"}));
  EXPECT_EQ(EventsFor("Bounce", "gone@example.org")[0]["bounce"]["bounceSubType"],
            "OnAccountSuppressionList");
  EXPECT_EQ(EventsFor("Complaint", "angry@example.org").size(), 1u);
  EXPECT_EQ(EventsFor("Bounce", "listed@example.org")[0]["bounce"]["bounceSubType"], "Suppressed");
  ASSERT_EQ(got_.size(), 1u);
  ASSERT_EQ(got_[0].recipients.size(), 1u);
  EXPECT_EQ(got_[0].recipients[0], (std::pair<uint32_t, std::string>{3, "ok@example.org"}));
  ASSERT_EQ(observer_.outcomes.size(), 1u);
  EXPECT_EQ(observer_.outcomes[0].recipient, "listed@example.org");
  EXPECT_EQ(observer_.outcomes[0].bounce_sub_type, "Suppressed");
  EXPECT_EQ(observer_.outcomes[0].message_id, AsAccepted(r)->message_id);
  EXPECT_EQ(UnixMillis(observer_.outcomes[0].sent_at), UnixMillis(clock_.Now()));
  EXPECT_NE(observer_.outcomes[0].sample.find("Subject: hi"), std::string::npos)
      << observer_.outcomes[0].sample;
  auto left = spool_.Recover();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].done, (std::vector<uint32_t>{0, 1, 2, 4, 5}));

  // A second restart has nothing to replay.
  sink_.events_.clear();
  Restart();
  ASSERT_EQ(*service_->Recover(), 1);
  EXPECT_TRUE(sink_.events_.empty());
  EXPECT_EQ(observer_.outcomes.size(), 1u);
}

TEST(SimulatorTest, Classification) {
  EXPECT_EQ(ClassifySimulator("BOUNCE@Simulator.AmazonSES.com"), SimOutcome::kBounce);
  EXPECT_EQ(ClassifySimulator("ooto+label@simulator.amazonses.com"), SimOutcome::kOoto);
  EXPECT_EQ(ClassifySimulator("suppressionlist@simulator.amazonses.com"),
            SimOutcome::kSuppressionList);
  EXPECT_EQ(ClassifySimulator("complaint@simulator.amazonses.com.evil.org"),
            SimOutcome::kNotSimulator);
  EXPECT_EQ(ClassifySimulator("bounce@example.com"), SimOutcome::kNotSimulator);
}

TEST(MessageIdTest, ShapeMatchesSes) {
  std::string id = NewMessageId(FromUnixMillis(1795000000000));
  ASSERT_EQ(id.size(), 16u + 1 + 36 + 7);
  EXPECT_EQ(id.substr(0, 4), "0100");
  EXPECT_EQ(id.substr(id.size() - 7), "-000000");
  EXPECT_EQ(SendingAccountId(7), "100000000007");
}

}  // namespace
}  // namespace herald::sending

namespace herald::sending {
namespace {

TEST_F(SendingServiceTest, RealRecipientsGoToTheDeliveryHookAndComeBackAfterARestart) {
  std::vector<QueuedDelivery> got;
  service_->SetDeliveryHook([&](QueuedDelivery q) { got.push_back(std::move(q)); });
  Verify("example.org", store::IdentityType::kDomain);
  auto r = Send(Make({"one@example.org", "success@simulator.amazonses.com", "two@example.org"}));
  ASSERT_NE(AsAccepted(r), nullptr);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message_id, AsAccepted(r)->message_id);
  EXPECT_EQ(got[0].account_id, account_.id);
  EXPECT_EQ(got[0].accepted, clock_.Now());
  // The simulator recipient (index 1) is not handed over.
  ASSERT_EQ(got[0].recipients.size(), 2u);
  EXPECT_EQ(got[0].recipients[0], (std::pair<uint32_t, std::string>{0, "one@example.org"}));
  EXPECT_EQ(got[0].recipients[1], (std::pair<uint32_t, std::string>{2, "two@example.org"}));
  // The acceptance time survives in the message id.
  auto t = MessageIdTime(got[0].message_id);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(UnixMillis(*t), UnixMillis(clock_.Now()));

  // One recipient delivered, then a restart: only the other is handed over again.
  ASSERT_TRUE(spool_.MarkDone(got[0].message_id, {0}).ok());
  got.clear();
  Rebuild();
  service_->SetDeliveryHook([&](QueuedDelivery q) { got.push_back(std::move(q)); });
  clock_.Advance(std::chrono::minutes(5));
  auto queued = service_->Recover();
  ASSERT_TRUE(queued.ok());
  EXPECT_EQ(*queued, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(UnixMillis(got[0].accepted), UnixMillis(clock_.Now() - std::chrono::minutes(5)));
  ASSERT_EQ(got[0].recipients.size(), 1u);
  EXPECT_EQ(got[0].recipients[0].second, "two@example.org");
}

}  // namespace
}  // namespace herald::sending

namespace herald::sending {
namespace {

class ConfigurationSetSendingTest : public SendingServiceTest {
 protected:
  void SetUp() override {
    SendingServiceTest::SetUp();
    ASSERT_TRUE(store_.SetProduction(account_.id, true).ok());
    service_->SetDeliveryHook([this](QueuedDelivery q) { got_.push_back(std::move(q)); });
  }

  store::ConfigurationSet MakeSet(const std::string& name) {
    store::ConfigurationSet set;
    set.account_id = account_.id;
    set.name = name;
    set.created = clock_.Now();
    return set;
  }

  void Restart() {
    Rebuild();
    service_->SetDeliveryHook([this](QueuedDelivery q) { got_.push_back(std::move(q)); });
  }

  std::vector<QueuedDelivery> got_;
};

TEST_F(ConfigurationSetSendingTest, SetIsResolvedTaggedAndItsDeliveryOptionsSurviveARestart) {
  store::ConfigurationSet set = MakeSet("strict");
  set.tls_policy = "REQUIRE";
  set.max_delivery_seconds = 600;
  ASSERT_TRUE(store_.CreateConfigurationSet(set).ok());
  Submission s = Make({"user@example.org", "success@simulator.amazonses.com"});
  s.configuration_set = "strict";
  auto r = Send(s);
  ASSERT_NE(AsAccepted(r), nullptr);
  ASSERT_EQ(got_.size(), 1u);
  EXPECT_EQ(got_[0].configuration_set, "strict");
  EXPECT_TRUE(got_[0].require_tls);
  EXPECT_EQ(got_[0].max_delivery, std::chrono::seconds(600));
  // Every event of the message carries the set's tag.
  ASSERT_EQ(Types(), (std::vector<std::string>{"Send", "Delivery"}));
  for (const auto& e : sink_.events_) {
    EXPECT_EQ(e["mail"]["tags"]["ses:configuration-set"], nlohmann::json::array({"strict"}));
  }

  // The options travel in the envelope: a later change to the set, or its deletion, does
  // not change a message already accepted.
  set.tls_policy = "OPTIONAL";
  set.max_delivery_seconds = 0;
  ASSERT_TRUE(store_.UpdateConfigurationSet(set).ok());
  got_.clear();
  Restart();
  ASSERT_EQ(*service_->Recover(), 1);
  ASSERT_EQ(got_.size(), 1u);
  EXPECT_EQ(got_[0].configuration_set, "strict");
  EXPECT_TRUE(got_[0].require_tls);
  EXPECT_EQ(got_[0].max_delivery, std::chrono::seconds(600));
  ASSERT_TRUE(store_.DeleteConfigurationSet(account_.id, "strict").ok());
  got_.clear();
  Restart();
  ASSERT_EQ(*service_->Recover(), 1);
  ASSERT_EQ(got_.size(), 1u);
  EXPECT_TRUE(got_[0].require_tls);
  EXPECT_EQ(got_[0].max_delivery, std::chrono::seconds(600));
}

TEST_F(ConfigurationSetSendingTest, DefaultSetAndNoSetLeaveTheEngineDefaults) {
  ASSERT_TRUE(store_.CreateConfigurationSet(MakeSet("plain")).ok());
  Submission with = Make({"a@example.org"});
  with.configuration_set = "plain";
  ASSERT_NE(AsAccepted(Send(with)), nullptr);
  ASSERT_NE(AsAccepted(Send(Make({"b@example.org"}))), nullptr);
  ASSERT_EQ(got_.size(), 2u);
  EXPECT_EQ(got_[0].configuration_set, "plain");
  EXPECT_FALSE(got_[0].require_tls);
  EXPECT_EQ(got_[0].max_delivery, std::chrono::seconds(0));
  EXPECT_EQ(got_[1].configuration_set, "");
  EXPECT_FALSE(got_[1].require_tls);
  EXPECT_EQ(got_[1].max_delivery, std::chrono::seconds(0));
  ASSERT_EQ(sink_.events_.size(), 2u);
  EXPECT_EQ(sink_.events_[0]["mail"]["tags"]["ses:configuration-set"],
            nlohmann::json::array({"plain"}));
  EXPECT_FALSE(sink_.events_[1]["mail"]["tags"].contains("ses:configuration-set"));
}

TEST_F(ConfigurationSetSendingTest, HeaderNamesTheSetUnlessTheFieldDoes) {
  store::ConfigurationSet strict = MakeSet("strict");
  strict.tls_policy = "REQUIRE";
  ASSERT_TRUE(store_.CreateConfigurationSet(strict).ok());
  ASSERT_TRUE(store_.CreateConfigurationSet(MakeSet("plain")).ok());
  auto r = Send(Make({"a@example.org"}, "X-SES-CONFIGURATION-SET:  strict \r\n"));
  ASSERT_NE(AsAccepted(r), nullptr);
  ASSERT_EQ(got_.size(), 1u);
  EXPECT_EQ(got_[0].configuration_set, "strict");
  EXPECT_TRUE(got_[0].require_tls);
  // The header is removed from the message that is delivered.
  auto body = spool_.ReadBody(AsAccepted(r)->message_id);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->find("X-SES-CONFIGURATION-SET"), std::string::npos);

  Submission both = Make({"b@example.org"}, "X-SES-CONFIGURATION-SET: strict\r\n");
  both.configuration_set = "plain";
  ASSERT_NE(AsAccepted(Send(both)), nullptr);
  ASSERT_EQ(got_.size(), 2u);
  EXPECT_EQ(got_[1].configuration_set, "plain");
  EXPECT_FALSE(got_[1].require_tls);
}

TEST_F(ConfigurationSetSendingTest, UnknownSetIsRefusedAndNothingIsSpooled) {
  ASSERT_TRUE(store_.CreateConfigurationSet(MakeSet("Strict")).ok());
  // Another account's set of that name does not count.
  auto other = store_.CreateAccount("other", clock_.Now());
  ASSERT_TRUE(other.ok());
  store::ConfigurationSet theirs = MakeSet("theirs");
  theirs.account_id = other->id;
  ASSERT_TRUE(store_.CreateConfigurationSet(theirs).ok());
  for (const char* name : {"nope", "strict", "theirs"}) {
    Submission s = Make({"a@example.org"});
    s.configuration_set = name;
    auto r = Send(s);
    ASSERT_NE(AsRejected(r), nullptr) << name;
    EXPECT_EQ(AsRejected(r)->kind, RejectKind::kConfigSetNotFound);
    EXPECT_EQ(AsRejected(r)->message,
              "Configuration set <" + std::string(name) + "> does not exist.");
  }
  auto hdr = Send(Make({"a@example.org"}, "X-SES-CONFIGURATION-SET: bad name!\r\n"));
  ASSERT_NE(AsRejected(hdr), nullptr);
  EXPECT_EQ(AsRejected(hdr)->kind, RejectKind::kConfigSetNotFound);
  EXPECT_TRUE(got_.empty());
  EXPECT_TRUE(sink_.events_.empty());
  EXPECT_TRUE(spool_.Recover()->empty());
}

TEST_F(ConfigurationSetSendingTest, PausedSetRefusesUntilEnabledAgain) {
  store::ConfigurationSet set = MakeSet("paused");
  set.sending_enabled = false;
  ASSERT_TRUE(store_.CreateConfigurationSet(set).ok());
  Submission s = Make({"a@example.org"});
  s.configuration_set = "paused";
  auto r = Send(s);
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kConfigSetPaused);
  EXPECT_EQ(AsRejected(r)->message, "Sending is paused for configuration set paused.");
  EXPECT_TRUE(spool_.Recover()->empty());
  // The refusal used no quota.
  ASSERT_TRUE(service_->FlushSendCounts().ok());
  EXPECT_EQ(*store_.CountSendsSince(account_.id, clock_.Now() - std::chrono::hours(1)), 0);
  // Mail without the set is not affected.
  EXPECT_NE(AsAccepted(Send(Make({"a@example.org"}))), nullptr);

  set.sending_enabled = true;
  ASSERT_TRUE(store_.UpdateConfigurationSet(set).ok());
  EXPECT_NE(AsAccepted(Send(s)), nullptr);
}

TEST_F(ConfigurationSetSendingTest, EnvelopesWithoutDeliveryOptionsGetTheDefaults) {
  // A message spooled before configuration sets existed, and one whose options are bogus.
  const char* envelopes[] = {
      R"({"v":1,"account_id":1,"recipients":["x@example.org"],"configuration_set":"",)"
      R"("mail":{}})",
      R"({"v":1,"account_id":1,"recipients":["x@example.org"],"configuration_set":"",)"
      R"("require_tls":"yes","max_delivery_seconds":99999999,"mail":{}})"};
  int n = 0;
  for (const char* env : envelopes) {
    spool::SpoolRecord rec;
    rec.id = NewMessageId(clock_.Now()) + std::to_string(n++);
    rec.recipient_count = 2;
    rec.envelope = env;
    rec.body = "Subject: x\r\n\r\nx\r\n";
    ASSERT_TRUE(spool_.Store(rec).ok());
    ASSERT_TRUE(spool_.MarkDone(rec.id, {1}).ok());  // events already published
  }
  ASSERT_EQ(*service_->Recover(), 2);
  ASSERT_EQ(got_.size(), 2u);
  for (const auto& q : got_) {
    EXPECT_FALSE(q.require_tls);
    EXPECT_EQ(q.max_delivery, std::chrono::seconds(0));
  }
}

}  // namespace
}  // namespace herald::sending
