#include "sending/delivery_outcomes.h"

#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "feedback/smtp_reply.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_spool.h"
#include "tests/fakes/recording_observer.h"

namespace herald::sending {
namespace {

using delivery::Decision;

class Events final : public events::EventSink {
 public:
  Status Publish(const std::string& lines) override {
    if (fail) return UnavailableError("disk full");
    for (auto part : Split(lines, '\n')) {
      if (!part.empty()) all.push_back(nlohmann::json::parse(part));
    }
    return Status::Ok();
  }
  std::vector<nlohmann::json> all;
  bool fail = false;
};

class DeliveryOutcomesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spool::SpoolRecord r;
    r.id = "m1";
    r.recipient_count = 4;  // three recipients and the "events published" mark
    r.envelope = R"({"v":1,"account_id":3,"mail":{"messageId":"m1","source":"s@from.test",)"
                 R"("tags":{"ses:configuration-set":["set1"]}}})";
    r.body = "Subject: x\r\n\r\nbody\r\n";
    ASSERT_TRUE(spool_.Store(r).ok());
    ASSERT_TRUE(spool_.MarkDone("m1", {3}).ok());
    message_ = std::make_shared<delivery::MessageRef>();
    message_->id = "m1";
    message_->account_id = 3;
    message_->accepted = clock_.Now() - std::chrono::milliseconds(1500);
  }

  Decision Make(Decision::Kind kind, uint32_t index, const std::string& address,
                std::shared_ptr<const feedback::Verdict> v = nullptr) {
    Decision d;
    d.kind = kind;
    d.message = message_;
    d.recipient = {index, address};
    d.verdict = std::move(v);
    return d;
  }

  FakeClock clock_;
  spool::MemSpool spool_;
  Events events_;
  std::shared_ptr<delivery::MessageRef> message_;
};

TEST_F(DeliveryOutcomesTest, EventsInSesShapesAndMarksForFinalOutcomesOnly) {
  DeliveryOutcomeRecorder rec("mta.herald.test", clock_, spool_, events_);
  Decision ok = Make(Decision::Kind::kDelivered, 0, "a@x.test");
  ok.smtp_response = "250 2.0.0 Ok: queued as ABC";
  ok.remote_address = "192.0.2.7";
  auto hard = std::make_shared<feedback::Verdict>(
      feedback::ClassifySmtpReply(550, "5.1.1 <b@x.test>: Recipient address rejected"));
  auto soft =
      std::make_shared<feedback::Verdict>(feedback::ClassifySmtpReply(452, "4.2.2 Mailbox full"));
  Decision later = Make(Decision::Kind::kDeferred, 2, "c@x.test", soft);
  later.expiration = clock_.Now() + std::chrono::hours(14);
  rec.Record({ok, Make(Decision::Kind::kBounced, 1, "b@x.test", hard), later});

  ASSERT_EQ(events_.all.size(), 3u);
  const auto& d = events_.all[0];
  EXPECT_EQ(d["eventType"], "Delivery");
  EXPECT_EQ(d["mail"]["messageId"], "m1");
  EXPECT_EQ(d["delivery"]["recipients"], nlohmann::json::array({"a@x.test"}));
  EXPECT_EQ(d["delivery"]["smtpResponse"], "250 2.0.0 Ok: queued as ABC");
  EXPECT_EQ(d["delivery"]["reportingMTA"], "mta.herald.test");
  EXPECT_EQ(d["delivery"]["remoteMtaIp"], "192.0.2.7");
  EXPECT_EQ(d["delivery"]["processingTimeMillis"], 1500);
  const auto& b = events_.all[1];
  EXPECT_EQ(b["eventType"], "Bounce");
  EXPECT_EQ(b["bounce"]["bounceType"], "Permanent");
  EXPECT_EQ(b["bounce"]["bounceSubType"], "NoEmail");
  EXPECT_EQ(b["bounce"]["reportingMTA"], "dsn; mta.herald.test");
  const auto& br = b["bounce"]["bouncedRecipients"][0];
  EXPECT_EQ(br["emailAddress"], "b@x.test");
  EXPECT_EQ(br["action"], "failed");
  EXPECT_EQ(br["status"], "5.1.1");
  EXPECT_EQ(br["diagnosticCode"], "smtp; 550 5.1.1 <b@x.test>: Recipient address rejected");
  const auto& dd = events_.all[2];
  EXPECT_EQ(dd["eventType"], "DeliveryDelay");
  EXPECT_EQ(dd["deliveryDelay"]["delayType"], "MailboxFull");
  EXPECT_EQ(dd["deliveryDelay"]["delayedRecipients"][0]["status"], "4.2.2");
  EXPECT_EQ(dd["deliveryDelay"]["expirationTime"],
            FormatIso8601Millis(clock_.Now() + std::chrono::hours(14)));

  // Recipients 0 and 1 are done; 2 is deferred, so the message stays.
  auto rec_m = spool_.Recover();
  ASSERT_TRUE(rec_m.ok());
  ASSERT_EQ(rec_m->size(), 1u);
  EXPECT_EQ((*rec_m)[0].done, (std::vector<uint32_t>{0, 1, 3}));
}

// Only Permanent bounces reach the observer, after their events were published, with the
// send time of the original message and the set it was sent through.
TEST_F(DeliveryOutcomesTest, ObserverHearsHardBouncesOnly) {
  DeliveryOutcomeRecorder rec("mta.herald.test", clock_, spool_, events_);
  RecordingObserver observer;
  rec.SetOutcomeObserver(&observer);
  auto hard = std::make_shared<feedback::Verdict>(
      feedback::ClassifySmtpReply(550, "5.1.1 <b@x.test>: Recipient address rejected"));
  auto full =
      std::make_shared<feedback::Verdict>(feedback::ClassifySmtpReply(552, "5.2.2 Mailbox full"));
  rec.Record({Make(Decision::Kind::kDelivered, 0, "a@x.test"),
              Make(Decision::Kind::kBounced, 1, "b@x.test", hard),
              Make(Decision::Kind::kBounced, 2, "c@x.test", full)});
  ASSERT_EQ(observer.outcomes.size(), 1u);
  const OutcomeFacts& f = observer.outcomes[0];
  EXPECT_EQ(f.kind, OutcomeFacts::Kind::kHardBounce);
  EXPECT_EQ(f.account_id, 3);
  EXPECT_EQ(f.configuration_set, "set1");
  EXPECT_EQ(f.message_id, "m1");
  EXPECT_EQ(f.recipient, "b@x.test");
  EXPECT_EQ(f.sent_at, message_->accepted);
  EXPECT_EQ(f.at, clock_.Now());
  EXPECT_EQ(f.status, "5.1.1");
  EXPECT_EQ(f.bounce_sub_type, "NoEmail");
  EXPECT_EQ(f.diagnostic, "smtp; 550 5.1.1 <b@x.test>: Recipient address rejected");
  EXPECT_EQ(f.feedback_id, events_.all[1]["bounce"]["feedbackId"]);
  EXPECT_EQ(f.sample, "Subject: x\r\n\r\nbody\r\n") << "the message as spooled";

  // Nothing is reported when the events could not be published.
  events_.fail = true;
  rec.Record({Make(Decision::Kind::kBounced, 1, "b@x.test", hard)});
  EXPECT_EQ(observer.outcomes.size(), 1u);
}

TEST_F(DeliveryOutcomesTest, NothingIsMarkedWhenEventsCannotBePublished) {
  DeliveryOutcomeRecorder rec("mta.herald.test", clock_, spool_, events_);
  events_.fail = true;
  rec.Record({Make(Decision::Kind::kDelivered, 0, "a@x.test")});
  auto rec_m = spool_.Recover();
  ASSERT_TRUE(rec_m.ok());
  EXPECT_EQ((*rec_m)[0].done, (std::vector<uint32_t>{3}));
}

TEST_F(DeliveryOutcomesTest, OwnMailIsMarkedWithoutEvents) {
  message_->account_id = 0;
  DeliveryOutcomeRecorder rec("mta.herald.test", clock_, spool_, events_);
  rec.Record({Make(Decision::Kind::kDelivered, 0, "a@x.test")});
  EXPECT_TRUE(events_.all.empty());
  auto rec_m = spool_.Recover();
  EXPECT_EQ((*rec_m)[0].done, (std::vector<uint32_t>{0, 3}));
}

}  // namespace
}  // namespace herald::sending
