#include "sending/reputation_service.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_store.h"
#include "tests/fakes/recording_observer.h"

namespace herald::sending {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

struct SentNotice {
  std::string account;
  reputation::Notice notice;
  int64_t id = 0;
};

class ReputationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto acc = store_.CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(acc.ok());
    account_ = acc->id;
    store::Identity id;
    id.account_id = account_;
    id.name = "own.test";
    id.type = store::IdentityType::kDomain;
    id.status = store::VerificationStatus::kSuccess;
    id.verification_token = "t";
    id.created = clock_.Now();
    id.token_expires = clock_.Now();
    ASSERT_TRUE(store_.CreateIdentity(id).ok());
    config_.fbl_domains = {"fbl.test"};
    config_.guard.window = seconds(0);  // no hold unless a test asks for one
    config_.enforcement.min_sends = 100;
    config_.enforcement.min_fbl_sends = 100;
    Rebuild();
  }

  void Rebuild() {
    service_.reset();
    service_ = std::make_unique<ReputationService>(
        config_, clock_, store_,
        [this](const store::Account& a, const reputation::Notice& n, int64_t id) {
          notices_.push_back({a.name, n, id});
        },
        &downstream_);
  }

  // One message to `rcpts`, sent now.
  SendFacts Send(std::vector<std::string> rcpts, std::string set = "") {
    SendFacts s;
    s.account_id = account_;
    s.configuration_set = std::move(set);
    s.message_id = "m" + std::to_string(++sent_);
    s.sent_at = clock_.Now();
    for (auto& r : rcpts) s.recipients.push_back({r, false, false});
    service_->OnSend(s);
    return s;
  }

  OutcomeFacts Outcome(const SendFacts& s, size_t i, OutcomeFacts::Kind kind,
                       std::string diagnostic = "smtp; 550 5.1.1 user unknown") {
    OutcomeFacts f;
    f.kind = kind;
    f.account_id = s.account_id;
    f.configuration_set = s.configuration_set;
    f.message_id = s.message_id;
    f.sent_at = s.sent_at;
    f.at = clock_.Now();
    f.recipient = s.recipients[i].address;
    f.feedback_id = "fb-" + s.message_id;
    f.bounce_sub_type = "NoEmail";
    f.status = "5.1.1";
    f.diagnostic = std::move(diagnostic);
    f.sample = "Subject: hello\r\n\r\nbody";
    return f;
  }

  nlohmann::json Describe() {
    auto d = service_->Describe(account_);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : nlohmann::json();
  }

  FakeClock clock_;
  store::MemStore store_;
  int64_t account_ = 0;
  ReputationConfig config_;
  RecordingObserver downstream_;
  std::vector<SentNotice> notices_;
  std::unique_ptr<ReputationService> service_;
  int sent_ = 0;
};

// Each recipient counts (To, Cc and Bcc are all envelope recipients); simulator,
// suppressed and own-domain recipients do not; downstream hears every send.
TEST_F(ReputationServiceTest, EligibleSendsAreCountedPerRecipient) {
  SendFacts s;
  s.account_id = account_;
  s.message_id = "m";
  s.sent_at = clock_.Now();
  s.recipients = {{"to@a.test", false, false},        {"cc@b.test", false, false},
                  {"bcc@fbl.test", false, false},     {"x@simulator.amazonses.com", true, false},
                  {"gone@c.test", false, true},       {"me@own.test", false, false},
                  {"sub@mail.own.test", false, false}};
  service_->OnSend(s);
  service_->Tick(clock_.Now());
  nlohmann::json d = Describe();
  EXPECT_EQ(d["figures"]["eligible_sends"], 3);
  EXPECT_EQ(d["figures"]["fbl_sends"], 1);
  EXPECT_EQ(downstream_.sends.size(), 1u);
  EXPECT_EQ(d["state"], "healthy");
  EXPECT_EQ(d["enforcement_status"], "HEALTHY");
}

// Hard bounces count against their send; complaints only from feedback-loop domains;
// outcomes for own-domain recipients do not count but still go downstream.
TEST_F(ReputationServiceTest, OutcomesCountAgainstTheirSends) {
  SendFacts s = Send({"a@x.test", "b@fbl.test", "c@own.test"});
  clock_.Advance(hours(30));
  service_->OnOutcomes({Outcome(s, 0, OutcomeFacts::Kind::kHardBounce),
                        Outcome(s, 1, OutcomeFacts::Kind::kComplaint),
                        Outcome(s, 2, OutcomeFacts::Kind::kHardBounce)});
  SendFacts other = Send({"d@x.test"});
  service_->OnOutcomes({Outcome(other, 0, OutcomeFacts::Kind::kComplaint)});  // direct
  service_->Tick(clock_.Now());
  nlohmann::json d = Describe();
  EXPECT_EQ(d["figures"]["eligible_sends"], 3);
  EXPECT_EQ(d["figures"]["hard_bounces"], 1);
  EXPECT_EQ(d["figures"]["complaints"], 1);
  EXPECT_EQ(downstream_.outcomes.size(), 4u);
}

// The first scenario of the issue: 10,001 eligible sends over 39.6 days, 1,016 hard
// bounces: 10.16%, a pending pause, then a pause; the notice states the figures, the
// account's EnforcementStatus follows, a review case holds samples; answers and
// acceptance make a fresh start.
TEST_F(ReputationServiceTest, BounceRateLeadsToPauseThenReinstatement) {
  config_.enforcement.min_sends = 1000;
  Rebuild();
  const SysTime start = clock_.Now();
  const milliseconds step(static_cast<int64_t>(39.6 * 86400000.0 / 10000));
  std::vector<SendFacts> sends;
  for (int i = 0; i < 10001; ++i) {
    sends.push_back(Send({"r" + std::to_string(i) + "@isp" + std::to_string(i % 7) + ".test"}));
    if (i < 10000) clock_.Advance(step);
  }
  std::vector<OutcomeFacts> bounces;
  for (int i = 0; i < 1016; ++i) {
    bounces.push_back(
        Outcome(sends[static_cast<size_t>(i) * 9], 0, OutcomeFacts::Kind::kHardBounce));
  }
  service_->OnOutcomes(bounces);
  service_->Tick(clock_.Now());
  nlohmann::json d = Describe();
  EXPECT_EQ(d["figures"]["eligible_sends"], 10001);
  EXPECT_EQ(d["figures"]["hard_bounces"], 1016);
  EXPECT_NEAR(d["figures"]["covered_days"].get<double>(), 39.6, 0.05);
  EXPECT_EQ(d["state"], "pending_sending_pause");
  EXPECT_EQ(d["enforcement_status"], "PROBATION");
  ASSERT_FALSE(notices_.empty());
  const reputation::Notice& n = notices_.back().notice;
  EXPECT_EQ(n.kind, "pause_pending");
  EXPECT_NE(n.text.find("10.16%"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find("10,001"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find("39.6"), std::string::npos) << n.text;
  EXPECT_EQ(store_.GetAccount(account_)->enforcement_status, "PROBATION");
  ASSERT_TRUE(d.contains("review_case"));
  EXPECT_EQ(d["review_case"]["samples"].size(), config_.samples_per_case);
  EXPECT_EQ(d["review_case"]["samples"][0]["message_start"], "Subject: hello\r\n\r\nbody");

  clock_.Advance(config_.enforcement.pause_grace + minutes(1));
  service_->Tick(clock_.Now());
  EXPECT_EQ(Describe()["state"], "paused");
  EXPECT_EQ(store_.GetAccount(account_)->enforcement_status, "SHUTDOWN");
  EXPECT_EQ(store_.GetAccount(account_)->enforcement_state, "paused");
  EXPECT_EQ(notices_.back().notice.kind, "paused");

  // Accepting without answers is allowed for an operator, but the sender answers first.
  ReviewAnswers a;
  a.root_cause = "an old list was imported";
  a.changes = "the list was removed and double opt-in added";
  a.prevention = "imports now need a confirmed opt-in";
  a.effective = clock_.Now() - hours(1);
  ASSERT_TRUE(service_->Respond(account_, a).ok());
  auto accepted = service_->Accept(account_);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ((*accepted)["state"], "healthy");
  EXPECT_EQ((*accepted)["fresh_start"], FormatIso8601Millis(clock_.Now() - hours(1)));
  EXPECT_EQ(store_.GetAccount(account_)->enforcement_status, "HEALTHY");
  EXPECT_EQ(notices_.back().notice.kind, "reinstated");
  // Only sends after the change date count now; late bounces of old sends do not.
  d = Describe();
  EXPECT_EQ(d["figures"]["eligible_sends"], 0);
  service_->OnOutcomes({Outcome(sends[5], 0, OutcomeFacts::Kind::kHardBounce)});
  clock_.Advance(hours(2));
  Send({"new@x.test"});
  service_->Tick(clock_.Now());
  d = Describe();
  EXPECT_EQ(d["figures"]["eligible_sends"], 1);
  EXPECT_EQ(d["figures"]["hard_bounces"], 0);
  auto cases = service_->Cases(account_);
  ASSERT_TRUE(cases.ok());
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ((*cases)[0]["status"], "accepted");
  EXPECT_EQ((*cases)[0]["answers"]["root_cause"], "an old list was imported");
  (void)start;
}

// The second scenario of the issue: 8,159 eligible sends to feedback-loop domains over
// 510.9 days with 42 complaints (0.51%): past the pause threshold; complaints from other
// domains (direct complaints) do not count.
TEST_F(ReputationServiceTest, ComplaintRateOverALongWindow) {
  config_.enforcement.min_fbl_sends = 1000;
  Rebuild();
  const milliseconds step(static_cast<int64_t>(510.9 * 86400000.0 / 8158));
  std::vector<SendFacts> sends;
  for (int i = 0; i < 8159; ++i) {
    sends.push_back(Send({"r" + std::to_string(i) + "@fbl.test"}));
    if (i < 8158) clock_.Advance(step);
  }
  SendFacts direct = Send({"someone@elsewhere.test"});
  std::vector<OutcomeFacts> complaints;
  for (int i = 0; i < 42; ++i) {
    complaints.push_back(
        Outcome(sends[static_cast<size_t>(i) * 190], 0, OutcomeFacts::Kind::kComplaint));
  }
  complaints.push_back(Outcome(direct, 0, OutcomeFacts::Kind::kComplaint));
  service_->OnOutcomes(complaints);
  service_->Tick(clock_.Now());
  nlohmann::json d = Describe();
  EXPECT_EQ(d["figures"]["fbl_sends"], 8159);
  EXPECT_EQ(d["figures"]["complaints"], 42);
  EXPECT_NEAR(d["figures"]["covered_days"].get<double>(), 510.9, 0.05);
  EXPECT_EQ(d["state"], "pending_sending_pause");
  EXPECT_EQ(d["cause"], "complaint");
  EXPECT_EQ(d["metrics"]["complaint"], "pending_sending_pause");
  const reputation::Notice& n = notices_.back().notice;
  EXPECT_EQ(n.metric, "complaint");
  EXPECT_NE(n.text.find("0.51%"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find("8,159"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find("510.9"), std::string::npos) << n.text;
  EXPECT_EQ(downstream_.outcomes.size(), 43u) << "every complaint is passed on";
}

// The state, the windows and the open case survive a restart.
TEST_F(ReputationServiceTest, StateSurvivesARestart) {
  std::vector<SendFacts> sends;
  for (int i = 0; i < 200; ++i) sends.push_back(Send({"u" + std::to_string(i) + "@x.test"}));
  std::vector<OutcomeFacts> b;
  for (int i = 0; i < 14; ++i) b.push_back(Outcome(sends[i], 0, OutcomeFacts::Kind::kHardBounce));
  service_->OnOutcomes(b);
  service_->Tick(clock_.Now());
  EXPECT_EQ(Describe()["state"], "under_review");  // 7% of 200
  Rebuild();
  nlohmann::json d = Describe();
  EXPECT_EQ(d["state"], "under_review");
  EXPECT_EQ(d["figures"]["eligible_sends"], 200);
  EXPECT_EQ(d["figures"]["hard_bounces"], 14);
  EXPECT_TRUE(d.contains("review_case"));
  EXPECT_TRUE(d.contains("review_deadline"));
  // While the case is open its figures are noted once a day.
  for (int h = 0; h < 50; ++h) {
    clock_.Advance(hours(1));
    service_->Tick(clock_.Now());
  }
  d = Describe();
  ASSERT_TRUE(d["review_case"]["figures_over_time"].is_array());
  EXPECT_EQ(d["review_case"]["figures_over_time"].size(), 2u);
  EXPECT_EQ(d["review_case"]["figures_over_time"][0]["hard_bounces"], 14);
}

// A save that fails is retried at the next tick: nothing counted is lost while the store
// is down.
TEST_F(ReputationServiceTest, FailedSaveIsRetried) {
  Send({"a@x.test", "b@x.test"});
  store_.FailAllForTest(UnavailableError("disk full"));
  service_->Tick(clock_.Now());
  store_.FailAllForTest(Status::Ok());
  EXPECT_TRUE(store_.LoadRepBuckets(account_, "")->empty());
  service_->Tick(clock_.Now());
  auto rows = store_.LoadRepBuckets(account_, "");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].sends, 2);
}

// Operator pause and resume; respond needs an open case and all three answers.
TEST_F(ReputationServiceTest, OperatorActions) {
  EXPECT_EQ(service_->Respond(account_, {"a", "b", "c", std::nullopt}).code(),
            StatusCode::kFailedPrecondition);
  auto p = service_->Pause(account_, "spam run reported by an ISP");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)["state"], "paused");
  EXPECT_EQ(store_.GetAccount(account_)->enforcement_status, "SHUTDOWN");
  EXPECT_EQ(notices_.back().notice.kind, "paused");
  EXPECT_NE(notices_.back().notice.text.find("spam run reported by an ISP"), std::string::npos);
  EXPECT_EQ(service_->Respond(account_, {"a", "", "c", std::nullopt}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Respond(account_, {"a", "b", "c", clock_.Now() + hours(1)}).code(),
            StatusCode::kInvalidArgument);
  auto r = service_->Resume(account_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["state"], "healthy");
  EXPECT_EQ(store_.GetAccount(account_)->enforcement_status, "HEALTHY");
  auto cases = service_->Cases(account_);
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ((*cases)[0]["status"], "resumed");
}

// An account paused for 90 days loses its suppression list, once per pause.
TEST_F(ReputationServiceTest, LongPauseDeletesTheSuppressionList) {
  store::SuppressedDestination d;
  d.account_id = account_;
  d.address = "gone@x.test";
  d.last_update = clock_.Now();
  ASSERT_TRUE(store_.PutSuppressedDestination(d).ok());
  ASSERT_TRUE(service_->Pause(account_, "operator").ok());
  clock_.Advance(hours(24 * 89));
  service_->Tick(clock_.Now());
  EXPECT_TRUE(store_.GetSuppressedDestination(account_, "gone@x.test").ok());
  clock_.Advance(hours(24 * 2));
  service_->Tick(clock_.Now());
  EXPECT_EQ(store_.GetSuppressedDestination(account_, "gone@x.test").status().code(),
            StatusCode::kNotFound);
  // An entry added back by hand during the same pause stays, also after a restart.
  ASSERT_TRUE(store_.PutSuppressedDestination(d).ok());
  Rebuild();
  service_->Tick(clock_.Now());
  EXPECT_TRUE(store_.GetSuppressedDestination(account_, "gone@x.test").ok());
}

// The guard: a burst of one diagnostic at one destination is held (not counted, not
// suppressed downstream) until confirmed; a released one is dropped.
TEST_F(ReputationServiceTest, SuspectBurstIsHeldUntilAnOperatorDecides) {
  config_.guard.window = seconds(60);
  config_.guard.burst_threshold = 5;
  Rebuild();
  std::vector<SendFacts> sends;
  for (int i = 0; i < 6; ++i) sends.push_back(Send({"u" + std::to_string(i) + "@relay.test"}));
  for (int i = 0; i < 200; ++i) Send({"v" + std::to_string(i) + "@big.test"});
  std::vector<OutcomeFacts> b;
  for (int i = 0; i < 6; ++i) {
    b.push_back(
        Outcome(sends[i], 0, OutcomeFacts::Kind::kHardBounce,
                "smtp; 554 5.7.1 <u" + std::to_string(i) + "@relay.test>: Relay access denied"));
  }
  service_->OnOutcomes(b);
  clock_.Advance(minutes(5));
  service_->Tick(clock_.Now());
  EXPECT_EQ(Describe()["figures"]["hard_bounces"], 0);
  EXPECT_TRUE(downstream_.outcomes.empty());
  nlohmann::json bursts = service_->SuspectBursts();
  ASSERT_EQ(bursts.size(), 1u);
  EXPECT_EQ(bursts[0]["destination"], "relay.test");
  EXPECT_EQ(bursts[0]["held"], 6);
  // It survives a restart.
  Rebuild();
  ASSERT_EQ(service_->SuspectBursts().size(), 1u);
  const uint64_t id = service_->SuspectBursts()[0]["id"].get<uint64_t>();
  auto confirmed = service_->ConfirmBurst(id);
  ASSERT_TRUE(confirmed.ok());
  EXPECT_EQ(*confirmed, 6);
  EXPECT_EQ(downstream_.outcomes.size(), 6u);
  service_->Tick(clock_.Now());
  EXPECT_EQ(Describe()["figures"]["hard_bounces"], 6);
  EXPECT_TRUE(service_->SuspectBursts().empty());
  EXPECT_EQ(service_->ConfirmBurst(id).status().code(), StatusCode::kNotFound);

  // A second burst, released: nothing counted, nothing downstream.
  std::vector<SendFacts> more;
  for (int i = 0; i < 6; ++i) more.push_back(Send({"w" + std::to_string(i) + "@relay2.test"}));
  std::vector<OutcomeFacts> b2;
  for (int i = 0; i < 6; ++i) {
    b2.push_back(Outcome(more[i], 0, OutcomeFacts::Kind::kHardBounce, "smtp; 550 blocked"));
  }
  service_->OnOutcomes(b2);
  ASSERT_EQ(service_->SuspectBursts().size(), 1u);
  auto released = service_->ReleaseBurst(service_->SuspectBursts()[0]["id"].get<uint64_t>());
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 6);
  clock_.Advance(minutes(5));
  service_->Tick(clock_.Now());
  EXPECT_EQ(Describe()["figures"]["hard_bounces"], 6);
  EXPECT_EQ(downstream_.outcomes.size(), 6u);
}

// Sends through a configuration set are also counted in the set's own window.
TEST_F(ReputationServiceTest, ConfigurationSetWindows) {
  store::ConfigurationSet cs;
  cs.account_id = account_;
  cs.name = "marketing";
  cs.reputation_metrics_enabled = true;
  ASSERT_TRUE(store_.CreateConfigurationSet(cs).ok());
  SendFacts s = Send({"a@x.test", "b@x.test"}, "marketing");
  Send({"c@x.test"});
  service_->OnOutcomes({Outcome(s, 1, OutcomeFacts::Kind::kHardBounce)});
  service_->Tick(clock_.Now());
  nlohmann::json d = Describe();
  EXPECT_EQ(d["figures"]["eligible_sends"], 3);
  EXPECT_EQ(d["configuration_sets"]["marketing"]["eligible_sends"], 2);
  EXPECT_EQ(d["configuration_sets"]["marketing"]["hard_bounces"], 1);
  // Shown only while the set has ReputationMetricsEnabled.
  cs.reputation_metrics_enabled = false;
  ASSERT_TRUE(store_.UpdateConfigurationSet(cs).ok());
  EXPECT_FALSE(Describe()["configuration_sets"].contains("marketing"));
}

}  // namespace
}  // namespace herald::sending
