#include "sending/feedback_service.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "mail/verp.h"
#include "sending/sending_service_impl.h"
#include "sending/ses_events.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/faulty_fs.h"
#include "tests/fakes/recording_observer.h"

namespace herald::sending {
namespace {

using feedback::FeedbackKind;
using feedback::Report;

constexpr char kSecret[] = "fedcba9876543210fedcba9876543210";

class Events final : public events::EventSink {
 public:
  Status Publish(const std::string& lines) override {
    ++calls;
    if (fail) return UnavailableError("disk full");
    for (auto part : Split(lines, '\n')) {
      if (!part.empty()) all.push_back(nlohmann::json::parse(part));
    }
    return Status::Ok();
  }
  std::vector<nlohmann::json> OfType(const std::string& type) const {
    std::vector<nlohmann::json> out;
    for (const auto& e : all) {
      if (e["eventType"] == type) out.push_back(e);
    }
    return out;
  }
  std::vector<nlohmann::json> all;
  int calls = 0;
  bool fail = false;
};

feedback::ReportedRecipient Entry(const std::string& address, const std::string& type,
                                  const std::string& sub, const std::string& status,
                                  const std::string& action = "failed") {
  feedback::ReportedRecipient r;
  r.address = address;
  r.verdict.bounce_type = type;
  r.verdict.bounce_sub_type = sub;
  r.verdict.status = status;
  r.verdict.action = action;
  r.verdict.diagnostic_code = "smtp; 550 " + status + " refused <" + address + ">";
  r.remote_mta = "dns; [192.0.2.25]";
  return r;
}

// The processor's parser is a test double: each message body names a canned Report.
class FeedbackServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inbox = FeedbackInbox::Open(fs_, "/data/feedback", 100);
    ASSERT_TRUE(inbox.ok());
    inbox_ = std::move(inbox).value();
    id_ = NewMessageId(clock_.Now());
    index_.ObserveEvents(EventLine("Send",
                                   {{"messageId", id_},
                                    {"source", "news@acme.test"},
                                    {"sendingAccountId", SendingAccountId(4)},
                                    {"destination", {"a@dest.test", "b@dest.test", "c@isp.test"}},
                                    {"commonHeaders", {{"subject", "Spring sale"}}}},
                                   "send", nlohmann::json::object()));
    ASSERT_NE(index_.Find(id_), nullptr);
    processor_.SetOutcomeObserver(&observer_);
  }

  std::string Verp(uint32_t index) {
    return *mail::EncodeVerpLocalPart({id_, index}, kSecret) + "@bounces.herald.test";
  }

  FeedbackServiceConfig Config() {
    FeedbackServiceConfig c;
    c.domains = {"Bounces.Herald.Test", "fbl.herald.test"};
    c.verp_secret = kSecret;
    return c;
  }

  // Stores `body` as received by the MX, addressed to `rcpt`, through the service.
  std::string Receive(FeedbackService& service, const std::string& body, const std::string& rcpt) {
    InboundFeedback m;
    m.peer_ip = "198.51.100.9";
    m.recipients = {rcpt};
    m.message = body;
    EXPECT_TRUE(service.Receive(m).ok());
    return m.id;
  }

  FakeClock clock_;
  spool::FaultyFs fs_;
  std::unique_ptr<FeedbackInbox> inbox_;
  SentIndex index_{1 << 20};
  FeedbackCorrelator correlator_{index_, {kSecret, std::chrono::hours(24 * 7)}};
  Events events_;
  std::map<std::string, Report> reports_;
  FeedbackProcessor processor_{correlator_, events_, [this](std::string_view body) {
                                 auto it = reports_.find(std::string(body));
                                 return it == reports_.end() ? Report{} : it->second;
                               }};
  RecordingObserver observer_;
  std::string id_;
};

TEST_F(FeedbackServiceTest, BounceBecomesBounceEventsWithTheVerdictAsGiven) {
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.format = "rfc3464";
  r.reporting_mta = "dns; mx.relay.test";
  // Deliberately unusual pairs: the events must carry them as they are, not re-derived.
  r.recipients = {Entry("b@dest.test", "Transient", "MailboxFull", "5.2.2"),
                  Entry("a@dest.test", "Permanent", "NoEmail", "5.1.1"),
                  Entry("intruder@elsewhere.test", "Permanent", "General", "5.1.1")};
  reports_["dsn-1"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  clock_.Advance(std::chrono::minutes(5));
  const std::string fid = Receive(service, "dsn-1", Verp(UINT32_MAX));
  EXPECT_EQ(events_.calls, 0) << "nothing is processed before the worker runs";
  EXPECT_EQ(service.ProcessQueued(), 1u);

  ASSERT_EQ(events_.calls, 1) << "one Publish per report";
  auto bounces = events_.OfType("Bounce");
  ASSERT_EQ(bounces.size(), 2u);
  std::map<std::string, nlohmann::json> by_type;
  for (const auto& e : bounces) by_type[e["bounce"]["bounceType"]] = e;
  const auto& perm = by_type.at("Permanent")["bounce"];
  EXPECT_EQ(perm["bounceSubType"], "NoEmail");
  ASSERT_EQ(perm["bouncedRecipients"].size(), 1u);
  EXPECT_EQ(perm["bouncedRecipients"][0],
            nlohmann::json({{"emailAddress", "a@dest.test"},
                            {"action", "failed"},
                            {"status", "5.1.1"},
                            {"diagnosticCode", "smtp; 550 5.1.1 refused <a@dest.test>"}}));
  EXPECT_EQ(perm["reportingMTA"], "dns; mx.relay.test");
  EXPECT_EQ(perm["remoteMtaIp"], "192.0.2.25");
  EXPECT_EQ(perm["timestamp"], FormatIso8601Millis(clock_.Now()));
  EXPECT_TRUE(perm["feedbackId"].get<std::string>().ends_with("-000000"));
  const auto& soft = by_type.at("Transient")["bounce"];
  EXPECT_EQ(soft["bounceSubType"], "MailboxFull");
  EXPECT_EQ(soft["bouncedRecipients"][0]["emailAddress"], "b@dest.test");
  EXPECT_NE(soft["feedbackId"], perm["feedbackId"]);
  for (const auto& e : bounces) {
    EXPECT_EQ(e["mail"]["messageId"], id_);
    EXPECT_EQ(e["mail"]["source"], "news@acme.test");
    EXPECT_EQ(e["mail"]["commonHeaders"]["subject"], "Spring sale");
    EXPECT_EQ(e.dump().find("intruder"), std::string::npos);
  }
  EXPECT_TRUE(inbox_->Pending()->empty()) << "processed mail is removed";
  const FeedbackCounters c = service.Counters();
  EXPECT_EQ(c.received, 1u);
  EXPECT_EQ(c.bounce, 1u);
  EXPECT_EQ(c.bounce_events, 2u);
  EXPECT_EQ(c.bounced_recipients, 2u);
  EXPECT_EQ(c.by_verp, 1u);
  EXPECT_FALSE(fs_.ContentsForTest("/data/feedback/incoming/" + fid + ".msg").has_value());

  // The reputation machinery hears of the Permanent bounce only, tied to the send.
  ASSERT_EQ(observer_.outcomes.size(), 1u);
  const OutcomeFacts& f = observer_.outcomes[0];
  EXPECT_EQ(f.kind, OutcomeFacts::Kind::kHardBounce);
  EXPECT_EQ(f.account_id, 4);
  EXPECT_EQ(f.message_id, id_);
  EXPECT_EQ(f.recipient, "a@dest.test");
  EXPECT_EQ(f.sent_at, index_.Find(id_)->accepted);
  EXPECT_EQ(f.at, clock_.Now());
  EXPECT_EQ(f.bounce_sub_type, "NoEmail");
  EXPECT_EQ(f.status, "5.1.1");
  EXPECT_EQ(f.feedback_id, perm["feedbackId"]);
  EXPECT_NE(f.sample.find("Subject: Spring sale\n"), std::string::npos) << f.sample;
}

// A recipient the remote side has not given up on (Action: delayed).
feedback::ReportedRecipient Delayed(const std::string& address, const std::string& delay_type,
                                    const std::string& status) {
  feedback::ReportedRecipient r =
      Entry(address, "Transient", "General", status, /*action=*/"delayed");
  r.verdict.delay_type = delay_type;
  r.verdict.diagnostic_code = "smtp; 451 " + status + " try later <" + address + ">";
  return r;
}

TEST_F(FeedbackServiceTest, DelayedOnlyReportBecomesADeliveryDelayEvent) {
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.format = "rfc3464";
  r.reporting_mta = "DNS;mx.relay.test";
  r.recipients = {Delayed("b@dest.test", "MailboxFull", "4.2.2")};
  reports_["delay"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  clock_.Advance(std::chrono::minutes(3));
  Receive(service, "delay", Verp(1));
  EXPECT_EQ(service.ProcessQueued(), 1u);

  EXPECT_TRUE(events_.OfType("Bounce").empty()) << "the remote side still tries";
  auto delays = events_.OfType("DeliveryDelay");
  ASSERT_EQ(delays.size(), 1u);
  const auto& e = delays[0];
  EXPECT_EQ(e["mail"]["messageId"], id_);
  EXPECT_EQ(e["mail"]["commonHeaders"]["subject"], "Spring sale");
  EXPECT_FALSE(e.contains("bounce"));
  const auto& d = e["deliveryDelay"];
  EXPECT_EQ(d["delayType"], "MailboxFull");
  EXPECT_EQ(d["delayedRecipients"],
            nlohmann::json::parse(R"([{"emailAddress": "b@dest.test", "status": "4.2.2",
                "diagnosticCode": "smtp; 451 4.2.2 try later <b@dest.test>"}])"));
  EXPECT_EQ(d["reportingMTA"], "dns; mx.relay.test");
  EXPECT_EQ(d["timestamp"], FormatIso8601Millis(clock_.Now()));
  EXPECT_FALSE(d.contains("expirationTime")) << "herald does not know the remote's limit";
  EXPECT_FALSE(d.contains("feedbackId"));
  const FeedbackCounters c = service.Counters();
  EXPECT_EQ(c.delayed, 1u);
  EXPECT_EQ(c.bounce, 0u);
  EXPECT_EQ(c.bounce_events, 0u);
  EXPECT_EQ(c.delay_events, 1u);
  EXPECT_EQ(c.delayed_recipients, 1u);
  EXPECT_EQ(service.CountersJson()["events"]["delivery_delay"], 1);
  EXPECT_EQ(service.CountersJson()["events"]["delayed_recipients"], 1);
  EXPECT_TRUE(inbox_->Pending()->empty()) << "processed mail is removed";
}

TEST_F(FeedbackServiceTest, MixedReportMakesABounceAndADelayEachForItsOwnRecipients) {
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.reporting_mta = "dns; mx.relay.test";
  r.recipients = {Delayed("c@isp.test", "IPFailure", "4.7.0"),
                  Entry("a@dest.test", "Permanent", "NoEmail", "5.1.1"),
                  Delayed("intruder@elsewhere.test", "General", "4.4.1"),
                  Delayed("B@Dest.Test", "TransientCommunicationFailure", "4.4.2")};
  r.recipients[3].verdict.delay_type = "";  // no delay type: Undetermined
  reports_["mixed"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  Receive(service, "mixed", Verp(UINT32_MAX));
  service.ProcessQueued();

  ASSERT_EQ(events_.calls, 1) << "one Publish per report";
  auto bounces = events_.OfType("Bounce");
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0]["bounce"]["bouncedRecipients"].size(), 1u);
  EXPECT_EQ(bounces[0]["bounce"]["bouncedRecipients"][0]["emailAddress"], "a@dest.test");
  // One DeliveryDelay per delayType, each naming only the message's own recipients, spelled
  // as herald sent them.
  std::map<std::string, nlohmann::json> by_type;
  for (const auto& e : events_.OfType("DeliveryDelay")) {
    EXPECT_EQ(e["mail"]["messageId"], id_);
    EXPECT_EQ(e["deliveryDelay"]["reportingMTA"], "dns; mx.relay.test");
    by_type[e["deliveryDelay"]["delayType"]] = e["deliveryDelay"]["delayedRecipients"];
  }
  ASSERT_EQ(by_type.size(), 2u);
  ASSERT_EQ(by_type.count("IPFailure"), 1u);
  ASSERT_EQ(by_type.count("Undetermined"), 1u);
  ASSERT_EQ(by_type["IPFailure"].size(), 1u);
  EXPECT_EQ(by_type["IPFailure"][0]["emailAddress"], "c@isp.test");
  EXPECT_EQ(by_type["IPFailure"][0]["status"], "4.7.0");
  ASSERT_EQ(by_type["Undetermined"].size(), 1u);
  EXPECT_EQ(by_type["Undetermined"][0]["emailAddress"], "b@dest.test");
  EXPECT_EQ(by_type["Undetermined"][0]["status"], "4.4.2");
  for (const auto& e : events_.all) EXPECT_EQ(e.dump().find("intruder"), std::string::npos);

  const FeedbackCounters c = service.Counters();
  EXPECT_EQ(c.bounce, 1u) << "the outcome is a bounce";
  EXPECT_EQ(c.delayed, 0u);
  EXPECT_EQ(c.bounce_events, 1u);
  EXPECT_EQ(c.bounced_recipients, 1u);
  EXPECT_EQ(c.delay_events, 2u);
  EXPECT_EQ(c.delayed_recipients, 2u);
}

TEST_F(FeedbackServiceTest, PerRecipientTokenPicksTheDelayedEntryItNames) {
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Entry("a@dest.test", "Permanent", "NoEmail", "5.1.1"),
                  Delayed("c@isp.test", "SpamDetected", "4.7.1")};
  reports_["two"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  Receive(service, "two", Verp(2));  // the token names c@isp.test only
  service.ProcessQueued();
  EXPECT_TRUE(events_.OfType("Bounce").empty()) << "a@dest.test is not the token's recipient";
  auto delays = events_.OfType("DeliveryDelay");
  ASSERT_EQ(delays.size(), 1u);
  EXPECT_EQ(delays[0]["deliveryDelay"]["delayType"], "SpamDetected");
  EXPECT_EQ(delays[0]["deliveryDelay"]["delayedRecipients"][0]["emailAddress"], "c@isp.test");
  EXPECT_FALSE(delays[0]["deliveryDelay"].contains("reportingMTA")) << "the report names none";
  EXPECT_EQ(service.Counters().delayed, 1u);
}

TEST_F(FeedbackServiceTest, UnpublishedDelayIsRetried) {
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Delayed("a@dest.test", "General", "4.4.1")};
  reports_["delay"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  events_.fail = true;
  Receive(service, "delay", Verp(0));
  service.ProcessQueued();
  EXPECT_EQ(service.Counters().failed, 1u);
  EXPECT_EQ(service.Counters().delay_events, 0u);
  EXPECT_EQ(inbox_->Pending()->size(), 1u) << "kept for the next start";
}

TEST_F(FeedbackServiceTest, VerpWithoutEntriesIsAnUndeterminedBounce) {
  Report r;
  r.kind = FeedbackKind::kUndetermined;
  reports_["vague"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  Receive(service, "vague", Verp(2));
  service.ProcessQueued();
  auto bounces = events_.OfType("Bounce");
  ASSERT_EQ(bounces.size(), 1u);
  EXPECT_EQ(bounces[0]["bounce"]["bounceType"], "Undetermined");
  EXPECT_EQ(bounces[0]["bounce"]["bouncedRecipients"][0]["emailAddress"], "c@isp.test");
  EXPECT_FALSE(bounces[0]["bounce"].contains("reportingMTA"));
}

TEST_F(FeedbackServiceTest, ComplaintEvent) {
  Report r;
  r.kind = FeedbackKind::kComplaint;
  r.format = "arf";
  r.from = "feedback@fbl.isp.test";
  r.complaint.feedback_type = "abuse";
  r.complaint.user_agent = "ISP-FBL/2.0";
  r.complaint.arrival_date = "Thu, 19 Nov 2026 10:04:05 +0100";
  r.complaint.redacted = true;
  r.original.message_id = id_ + "@herald.test";
  reports_["arf"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  Receive(service, "arf", "fbl@fbl.herald.test");
  service.ProcessQueued();
  auto complaints = events_.OfType("Complaint");
  ASSERT_EQ(complaints.size(), 1u);
  const auto& c = complaints[0]["complaint"];
  EXPECT_EQ(c["complainedRecipients"], nlohmann::json::parse(R"([{"emailAddress":"c@isp.test"}])"));
  EXPECT_EQ(c["complaintFeedbackType"], "abuse");
  EXPECT_EQ(c["userAgent"], "ISP-FBL/2.0");
  EXPECT_EQ(c["arrivalDate"], "2026-11-19T09:04:05.000Z");
  EXPECT_TRUE(c["complaintSubType"].is_null());
  EXPECT_TRUE(c.contains("complaintSubType"));
  EXPECT_TRUE(c["feedbackId"].is_string());
  EXPECT_EQ(complaints[0]["mail"]["messageId"], id_);
  EXPECT_TRUE(events_.OfType("Bounce").empty());
  EXPECT_EQ(service.Counters().complaint, 1u);
  EXPECT_EQ(service.Counters().by_message_id, 1u);
  ASSERT_EQ(observer_.outcomes.size(), 1u);
  EXPECT_EQ(observer_.outcomes[0].kind, OutcomeFacts::Kind::kComplaint);
  EXPECT_EQ(observer_.outcomes[0].recipient, "c@isp.test");
  EXPECT_EQ(observer_.outcomes[0].feedback_type, "abuse");
  EXPECT_EQ(observer_.outcomes[0].feedback_id, c["feedbackId"]);
}

TEST_F(FeedbackServiceTest, AutoReplyIsRecordedNeverABounce) {
  Report r;
  r.kind = FeedbackKind::kAutoReply;
  r.from = "B <b@dest.test>";
  r.subject = "Out of office";
  reports_["ooo"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  Receive(service, "ooo", Verp(1));
  service.ProcessQueued();
  EXPECT_TRUE(events_.OfType("Bounce").empty());
  auto replies = events_.OfType("AutoReply");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0]["autoReply"]["recipients"][0]["emailAddress"], "b@dest.test");
  EXPECT_EQ(replies[0]["autoReply"]["subject"], "Out of office");
  const FeedbackCounters c = service.Counters();
  EXPECT_EQ(c.auto_reply, 1u);
  EXPECT_EQ(c.bounce, 0u);
  EXPECT_EQ(c.bounced_recipients, 0u);
  EXPECT_TRUE(observer_.outcomes.empty()) << "auto-replies never count";
}

TEST_F(FeedbackServiceTest, NotFeedbackAndDeliveredAreDroppedOrphansKept) {
  Report delivered;
  delivered.kind = FeedbackKind::kDelivered;
  reports_["ok"] = delivered;
  Report stray;
  stray.kind = FeedbackKind::kBounce;
  stray.format = "postfix";
  stray.recipients = {Entry("nobody-we-know@dest.test", "Permanent", "General", "5.1.1")};
  reports_["stray"] = stray;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  Receive(service, "spam", "postmaster@bounces.herald.test");  // no canned report
  Receive(service, "ok", Verp(0));
  const std::string orphan = Receive(service, "stray", "bounces@bounces.herald.test");
  EXPECT_EQ(service.ProcessQueued(), 3u);
  EXPECT_TRUE(events_.all.empty());
  const FeedbackCounters c = service.Counters();
  EXPECT_EQ(c.not_feedback, 1u);
  EXPECT_EQ(c.delivered, 1u);
  EXPECT_EQ(c.orphan, 1u);
  EXPECT_TRUE(inbox_->Pending()->empty());
  auto why = fs_.ContentsForTest("/data/feedback/orphans/" + orphan + ".json");
  ASSERT_TRUE(why.has_value());
  nlohmann::json j = nlohmann::json::parse(*why);
  EXPECT_EQ(j["reason"], "uncorrelated");
  EXPECT_EQ(j["kind"], "bounce");
  EXPECT_EQ(j["format"], "postfix");
  EXPECT_EQ(j["recipients"][0], "bounces@bounces.herald.test");
  EXPECT_EQ(service.CountersJson()["orphans_kept"], 1);
  EXPECT_EQ(service.CountersJson()["outcomes"]["orphan"], 1);
}

TEST_F(FeedbackServiceTest, UnpublishedEventsAreRetriedAfterARestart) {
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Entry("a@dest.test", "Permanent", "NoEmail", "5.1.1")};
  reports_["dsn"] = r;
  {
    FeedbackService service(Config(), clock_, *inbox_, processor_);
    events_.fail = true;
    Receive(service, "dsn", Verp(0));
    service.ProcessQueued();
    EXPECT_EQ(service.Counters().failed, 1u);
    EXPECT_EQ(inbox_->Pending()->size(), 1u) << "kept for the next start";
    EXPECT_TRUE(observer_.outcomes.empty()) << "not counted before it is published";
  }
  events_.fail = false;
  fs_.Crash();
  fs_.Restart();
  auto reopened = FeedbackInbox::Open(fs_, "/data/feedback", 100);
  ASSERT_TRUE(reopened.ok());
  FeedbackService service(Config(), clock_, **reopened, processor_);
  ASSERT_TRUE(service.QueuePending().ok());
  EXPECT_EQ(service.ProcessQueued(), 1u);
  ASSERT_EQ(events_.OfType("Bounce").size(), 1u);
  EXPECT_TRUE((*reopened)->Pending()->empty());
  EXPECT_EQ(observer_.outcomes.size(), 1u);
}

TEST_F(FeedbackServiceTest, TheWorkerThreadProcessesWhatArrives) {
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Entry("a@dest.test", "Permanent", "NoEmail", "5.1.1")};
  reports_["dsn"] = r;
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  Receive(service, "dsn", Verp(0));  // left by "an earlier run": queued by Start()
  ASSERT_TRUE(service.Start().ok());
  Receive(service, "dsn", Verp(0));
  service.Stop();  // joins the worker; whatever it had not begun stays in the inbox
  const FeedbackCounters c = service.Counters();
  EXPECT_EQ(c.received, 2u);
  EXPECT_EQ(c.bounce + inbox_->Pending()->size(), 2u);
}

TEST_F(FeedbackServiceTest, RecipientPolicy) {
  int source_calls = 0;
  std::vector<std::string> dynamic = {"Mail.Customer.Test"};
  FeedbackServiceConfig config = Config();
  config.dynamic_ttl = std::chrono::seconds(60);
  FeedbackService service(config, clock_, *inbox_, processor_,
                          [&]() -> StatusOr<std::vector<std::string>> {
                            ++source_calls;
                            return dynamic;
                          });
  EXPECT_EQ(service.CheckRecipient(Verp(0)), "");
  EXPECT_EQ(service.CheckRecipient("fbl@FBL.herald.test"), "");
  EXPECT_EQ(service.CheckRecipient("bounces@bounces.herald.test"), "");
  EXPECT_EQ(service.CheckRecipient("victim@gmail.test"),
            "550 5.7.1 <victim@gmail.test>: Relay access denied");
  EXPECT_EQ(service
                .CheckRecipient(
                    "b-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@bounces.herald.test")
                .substr(0, 9),
            "550 5.1.1");
  EXPECT_EQ(service.CheckRecipient("x@mail.customer.test"), "");
  EXPECT_EQ(service.CheckRecipient("y@mail.customer.test"), "");
  EXPECT_EQ(source_calls, 1) << "the dynamic domains are cached";
  dynamic = {"other.customer.test"};
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(service.CheckRecipient("x@mail.customer.test").substr(0, 9), "550 5.7.1");
  EXPECT_EQ(service.CheckRecipient("x@other.customer.test"), "");
  EXPECT_EQ(source_calls, 2);
  EXPECT_EQ(service.Counters().refused_recipients, 3u);
}

TEST_F(FeedbackServiceTest, StoreFailureIsReportedSoTheMxSays451) {
  FeedbackService service(Config(), clock_, *inbox_, processor_);
  fs_.FailSyncs(true);
  InboundFeedback m;
  m.recipients = {Verp(0)};
  m.message = "x";
  EXPECT_FALSE(service.Receive(m).ok());
  EXPECT_EQ(service.Counters().store_failures, 1u);
  EXPECT_EQ(service.Counters().received, 0u);
}

}  // namespace
}  // namespace herald::sending
