#include "reputation/enforcement.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace herald::reputation {
namespace {

using std::chrono::hours;
using namespace std::chrono_literals;

const SysTime kT0 = std::chrono::sys_days{std::chrono::year{2026} / 3 / 2} + 8h;

hours Days(int n) { return hours(24 * n); }

// Figures as RepWindow would give them.
Figures Fig(int64_t sends, int64_t bounces, int64_t fbl_sends = 0, int64_t complaints = 0) {
  Figures f;
  f.sends = sends;
  f.hard_bounces = bounces;
  f.fbl_sends = fbl_sends;
  f.complaints = complaints;
  f.bounce_rate = sends > 0 ? static_cast<double>(bounces) / sends : 0.0;
  f.complaint_rate = fbl_sends > 0 ? static_cast<double>(complaints) / fbl_sends : 0.0;
  f.covered_days = 10;
  f.oldest_send = kT0 - Days(10);
  return f;
}

const Figures kClean = Fig(5000, 10, 5000, 0);
const Figures kReviewBounce = Fig(5000, 250, 5000, 0);  // exactly 5%
const Figures kPauseBounce = Fig(5000, 500, 5000, 0);   // exactly 10%
const Figures kSevereBounce = Fig(5000, 1250, 5000, 0);
const Figures kReviewComplaint = Fig(5000, 0, 5000, 5);  // exactly 0.1%

std::vector<State> Path(const std::vector<Transition>& ts) {
  std::vector<State> out;
  for (const Transition& t : ts) {
    out.push_back(t.to);
  }
  return out;
}

TEST(EnforcementTest, HealthyStaysHealthyBelowThresholds) {
  AccountState st;
  const EnforcementPolicy p;
  EXPECT_TRUE(Evaluate(st, kClean, kT0, p).empty());
  EXPECT_TRUE(Evaluate(st, Fig(5000, 249, 5000, 4), kT0, p).empty());  // 4.98%, 0.08%
  EXPECT_EQ(st.state, State::kHealthy);
}

TEST(EnforcementTest, VolumeFloorsPerMetric) {
  const EnforcementPolicy p;
  AccountState st;
  // 50% bounces over 999 sends: not enforced.
  EXPECT_TRUE(Evaluate(st, Fig(999, 499, 999, 499), kT0, p).empty());
  // The complaint rate has its own denominator: plenty of sends, few to FBL domains.
  EXPECT_TRUE(Evaluate(st, Fig(100000, 0, 999, 100), kT0, p).empty());
  EXPECT_EQ(st.state, State::kHealthy);
  // At the floor, it is enforced.
  auto ts = Evaluate(st, Fig(100000, 0, 1000, 1), kT0, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kUnderReview);
  EXPECT_EQ(ts[0].cause, "complaint");
}

TEST(EnforcementTest, ReviewOpensAtTheThresholdWithADeadline) {
  AccountState st;
  const EnforcementPolicy p;
  auto ts = Evaluate(st, kReviewBounce, kT0, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, State::kHealthy);
  EXPECT_EQ(ts[0].to, State::kUnderReview);
  EXPECT_EQ(ts[0].cause, "bounce");
  EXPECT_EQ(ts[0].trigger, Trigger::kRates);
  EXPECT_EQ(ts[0].at, kT0);
  EXPECT_EQ(ts[0].deadline, kT0 + Days(14));
  EXPECT_EQ(ts[0].figures.hard_bounces, 250);
  EXPECT_EQ(st.state, State::kUnderReview);
  EXPECT_EQ(st.since, kT0);
  EXPECT_EQ(st.review_deadline, kT0 + Days(14));
  EXPECT_EQ(st.cause, "bounce");
  // Re-evaluating before the deadline changes nothing.
  EXPECT_TRUE(Evaluate(st, kReviewBounce, kT0 + Days(13), p).empty());
  EXPECT_TRUE(SendingAllowed(st.state));
  EXPECT_STREQ(ApiEnforcementStatus(st.state), "PROBATION");
}

TEST(EnforcementTest, ComplaintReviewAndTieBreak) {
  const EnforcementPolicy p;
  AccountState st;
  auto ts = Evaluate(st, kReviewComplaint, kT0, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].cause, "complaint");
  // Both at review level: bounce is named.
  AccountState both;
  ts = Evaluate(both, Fig(5000, 300, 5000, 6), kT0, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].cause, "bounce");
  // The worse level wins over the tie rule.
  AccountState worse;
  ts = Evaluate(worse, Fig(5000, 300, 5000, 30), kT0, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPendingSendingPause);
  EXPECT_EQ(ts[0].cause, "complaint");
}

TEST(EnforcementTest, PendingSendingPauseBecomesPausedAfterGrace) {
  AccountState st;
  const EnforcementPolicy p;
  auto ts = Evaluate(st, kPauseBounce, kT0, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPendingSendingPause);
  EXPECT_EQ(ts[0].deadline, kT0 + 24h);
  EXPECT_EQ(st.pause_at, kT0 + 24h);
  EXPECT_TRUE(SendingAllowed(st.state));
  // It does not lift when the rates fall.
  EXPECT_TRUE(Evaluate(st, kClean, kT0 + 23h, p).empty());
  EXPECT_EQ(st.state, State::kPendingSendingPause);
  ts = Evaluate(st, kClean, kT0 + 24h, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, State::kPendingSendingPause);
  EXPECT_EQ(ts[0].to, State::kPaused);
  EXPECT_EQ(ts[0].trigger, Trigger::kPauseDue);
  EXPECT_EQ(ts[0].cause, "bounce");
  EXPECT_FALSE(SendingAllowed(st.state));
  EXPECT_STREQ(ApiEnforcementStatus(st.state), "SHUTDOWN");
  EXPECT_EQ(st.pauses, std::vector<SysTime>{kT0 + 24h});
  // Paused is not lifted by clean rates, however long.
  EXPECT_TRUE(Evaluate(st, kClean, kT0 + Days(300), p).empty());
  EXPECT_EQ(st.state, State::kPaused);
}

TEST(EnforcementTest, ReviewEscalatesToPendingPause) {
  AccountState st;
  const EnforcementPolicy p;
  Evaluate(st, kReviewBounce, kT0, p);
  auto ts = Evaluate(st, kPauseBounce, kT0 + Days(2), p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, State::kUnderReview);
  EXPECT_EQ(ts[0].to, State::kPendingSendingPause);
  EXPECT_EQ(st.pause_at, kT0 + Days(3));
}

TEST(EnforcementTest, SevereRatePausesAtOnceFromAnyState) {
  const EnforcementPolicy p;
  for (const Figures& before : {kClean, kReviewBounce, kPauseBounce}) {
    AccountState st;
    Evaluate(st, before, kT0, p);
    const State from = st.state;
    auto ts = Evaluate(st, kSevereBounce, kT0 + 1h, p);
    ASSERT_EQ(ts.size(), 1u);
    EXPECT_EQ(ts[0].from, from);
    EXPECT_EQ(ts[0].to, State::kPaused);
    EXPECT_EQ(ts[0].trigger, Trigger::kRates);
    EXPECT_EQ(st.since, kT0 + 1h);
  }
  // Severe complaints too.
  AccountState st;
  auto ts = Evaluate(st, Fig(5000, 0, 5000, 100), kT0, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPaused);
  EXPECT_EQ(ts[0].cause, "complaint");
}

TEST(EnforcementTest, ZeroGraceChainsTransitions) {
  AccountState st;
  EnforcementPolicy p;
  p.pause_grace = hours(0);
  auto ts = Evaluate(st, kPauseBounce, kT0, p);
  EXPECT_EQ(Path(ts), (std::vector<State>{State::kPendingSendingPause, State::kPaused}));
}

TEST(EnforcementTest, ReviewHealsAtTheDeadlineNotBefore) {
  AccountState st;
  const EnforcementPolicy p;
  Evaluate(st, kReviewBounce, kT0, p);
  EXPECT_EQ(BounceStatus(st, kReviewBounce, p), MetricStatus::kUnderReview);
  // Healed early: still under review, the metric shows almost healed.
  EXPECT_TRUE(Evaluate(st, kClean, kT0 + Days(5), p).empty());
  EXPECT_EQ(st.state, State::kUnderReview);
  EXPECT_EQ(BounceStatus(st, kClean, p), MetricStatus::kAlmostHealed);
  EXPECT_EQ(ComplaintStatus(st, kClean, p), MetricStatus::kHealthy);
  auto ts = Evaluate(st, kClean, kT0 + Days(14), p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, State::kUnderReview);
  EXPECT_EQ(ts[0].to, State::kHealthy);
  EXPECT_EQ(ts[0].trigger, Trigger::kReviewDeadline);
  EXPECT_EQ(st.cause, "");
  EXPECT_EQ(st.review_deadline, SysTime{});
  EXPECT_EQ(BounceStatus(st, kClean, p), MetricStatus::kHealthy);
  EXPECT_TRUE(st.pauses.empty());
}

TEST(EnforcementTest, UnhealedReviewGoesToDecisionThenPause) {
  AccountState st;
  const EnforcementPolicy p;
  Evaluate(st, kReviewBounce, kT0, p);
  auto ts = Evaluate(st, kReviewBounce, kT0 + Days(14) + 2h, p);  // evaluated late
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPendingEndOfReviewDecision);
  EXPECT_EQ(ts[0].trigger, Trigger::kReviewDeadline);
  EXPECT_EQ(ts[0].cause, "bounce");
  // The whole decision period counts from the notice.
  EXPECT_EQ(ts[0].deadline, kT0 + Days(17) + 2h);
  EXPECT_STREQ(ApiEnforcementStatus(st.state), "PROBATION");
  EXPECT_TRUE(SendingAllowed(st.state));
  // A pause-level rate does not shorten the decision; healing does not cancel it.
  EXPECT_TRUE(Evaluate(st, kPauseBounce, kT0 + Days(15), p).empty());
  EXPECT_TRUE(Evaluate(st, kClean, kT0 + Days(17), p).empty());
  ts = Evaluate(st, kClean, kT0 + Days(17) + 2h, p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, State::kPendingEndOfReviewDecision);
  EXPECT_EQ(ts[0].to, State::kPaused);
  EXPECT_EQ(ts[0].trigger, Trigger::kPauseDue);
  EXPECT_EQ(st.pauses.size(), 1u);
}

TEST(EnforcementTest, UnhealedCauseNamesTheMetricStillBad) {
  AccountState st;
  const EnforcementPolicy p;
  Evaluate(st, kReviewBounce, kT0, p);
  // The bounce rate healed but complaints reached review level meanwhile.
  auto ts = Evaluate(st, kReviewComplaint, kT0 + Days(14), p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPendingEndOfReviewDecision);
  EXPECT_EQ(ts[0].cause, "complaint");
}

TEST(EnforcementTest, AlmostHealedFractionAsksForAMargin) {
  EnforcementPolicy p;
  p.almost_healed_fraction = 0.8;  // healed below 4%
  AccountState st;
  Evaluate(st, kReviewBounce, kT0, p);
  const Figures hovering = Fig(5000, 225, 5000, 0);  // 4.5%
  EXPECT_EQ(BounceStatus(st, hovering, p), MetricStatus::kUnderReview);
  const Figures margin = Fig(5000, 150, 5000, 0);  // 3%
  EXPECT_EQ(BounceStatus(st, margin, p), MetricStatus::kAlmostHealed);
  auto ts = Evaluate(st, hovering, kT0 + Days(14), p);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPendingEndOfReviewDecision);
}

TEST(EnforcementTest, MetricStatuses) {
  const EnforcementPolicy p;
  AccountState healthy;
  EXPECT_EQ(BounceStatus(healthy, kClean, p), MetricStatus::kHealthy);
  EXPECT_EQ(BounceStatus(healthy, kReviewBounce, p), MetricStatus::kUnderReview);
  EXPECT_EQ(BounceStatus(healthy, kPauseBounce, p), MetricStatus::kPendingSendingPause);
  EXPECT_EQ(ComplaintStatus(healthy, kReviewComplaint, p), MetricStatus::kUnderReview);
  EXPECT_EQ(BounceStatus(healthy, Fig(10, 9), p), MetricStatus::kHealthy);  // below floor

  AccountState pending;
  Evaluate(pending, kPauseBounce, kT0, p);
  EXPECT_EQ(BounceStatus(pending, kClean, p), MetricStatus::kPendingSendingPause);
  EXPECT_EQ(ComplaintStatus(pending, kClean, p), MetricStatus::kHealthy);

  AccountState paused;
  Evaluate(paused, kSevereBounce, kT0, p);
  EXPECT_EQ(BounceStatus(paused, kClean, p), MetricStatus::kSendingPause);
  EXPECT_EQ(ComplaintStatus(paused, kClean, p), MetricStatus::kHealthy);
  EXPECT_EQ(ComplaintStatus(paused, kReviewComplaint, p), MetricStatus::kUnderReview);
}

TEST(EnforcementTest, SuspensionOnTheThirdPauseWithinMemory) {
  const EnforcementPolicy p;
  AccountState st;
  for (int i = 0; i < 2; ++i) {
    auto ts = Evaluate(st, kSevereBounce, kT0 + Days(30 * i), p);
    EXPECT_EQ(Path(ts), std::vector<State>{State::kPaused});
    AcceptReinstatement(st, kClean, kT0 + Days(30 * i + 1));
    EXPECT_EQ(st.state, State::kHealthy);
  }
  auto ts = Evaluate(st, kSevereBounce, kT0 + Days(60), p);
  EXPECT_EQ(Path(ts), (std::vector<State>{State::kPaused, State::kSuspended}));
  EXPECT_EQ(ts[1].trigger, Trigger::kRepeatedPauses);
  EXPECT_EQ(ts[1].cause, "bounce");
  EXPECT_FALSE(SendingAllowed(st.state));
  EXPECT_STREQ(ApiEnforcementStatus(st.state), "SHUTDOWN");
  // Final for rates and for reinstatement.
  EXPECT_TRUE(Evaluate(st, kClean, kT0 + Days(400), p).empty());
  Transition t = AcceptReinstatement(st, kClean, kT0 + Days(401));
  EXPECT_EQ(t.from, State::kSuspended);
  EXPECT_EQ(t.to, State::kSuspended);
  t = OperatorPause(st, kClean, kT0 + Days(401), "x");
  EXPECT_EQ(t.to, State::kSuspended);
  EXPECT_EQ(st.state, State::kSuspended);
  // Only an operator's resume lifts it, and it pardons the history.
  t = OperatorResume(st, kClean, kT0 + Days(402));
  EXPECT_EQ(t.from, State::kSuspended);
  EXPECT_EQ(t.to, State::kHealthy);
  EXPECT_TRUE(st.pauses.empty());
  ts = Evaluate(st, kSevereBounce, kT0 + Days(403), p);
  EXPECT_EQ(Path(ts), std::vector<State>{State::kPaused});
}

TEST(EnforcementTest, PausesOutsideMemoryAndDisabledSuspension) {
  EnforcementPolicy p;
  p.suspension_memory = Days(30);
  AccountState st;
  for (int i = 0; i < 5; ++i) {
    auto ts = Evaluate(st, kSevereBounce, kT0 + Days(40 * i), p);
    EXPECT_EQ(Path(ts), std::vector<State>{State::kPaused}) << i;
    AcceptReinstatement(st, kClean, kT0 + Days(40 * i + 1));
  }
  EXPECT_LE(st.pauses.size(), 1u);  // older ones were trimmed

  p = EnforcementPolicy{};
  p.pauses_before_suspension = 0;
  AccountState never;
  for (int i = 0; i < 5; ++i) {
    Evaluate(never, kSevereBounce, kT0 + Days(i), p);
    EXPECT_EQ(never.state, State::kPaused);
    AcceptReinstatement(never, kClean, kT0 + Days(i) + 1h);
  }
}

TEST(EnforcementTest, OperatorPauseHoldsAndDoesNotCount) {
  const EnforcementPolicy p;
  AccountState st;
  Evaluate(st, kReviewBounce, kT0, p);
  Transition t = OperatorPause(st, kReviewBounce, kT0 + 1h, "customer asked");
  EXPECT_EQ(t.from, State::kUnderReview);
  EXPECT_EQ(t.to, State::kPaused);
  EXPECT_EQ(t.trigger, Trigger::kOperatorPause);
  EXPECT_EQ(t.cause, "operator");
  EXPECT_EQ(t.reason, "customer asked");
  EXPECT_TRUE(st.operator_hold);
  EXPECT_EQ(st.reason, "customer asked");
  EXPECT_TRUE(st.pauses.empty());
  EXPECT_TRUE(Evaluate(st, kClean, kT0 + Days(100), p).empty());
  EXPECT_EQ(st.state, State::kPaused);
  // Two more operator pauses never suspend.
  OperatorResume(st, kClean, kT0 + Days(101));
  OperatorPause(st, kClean, kT0 + Days(102), "again");
  OperatorResume(st, kClean, kT0 + Days(103));
  OperatorPause(st, kClean, kT0 + Days(104), "and again");
  EXPECT_TRUE(Evaluate(st, kClean, kT0 + Days(105), p).empty());
  EXPECT_EQ(st.state, State::kPaused);
  // Pausing a paused account only sets the hold.
  AccountState paused;
  Evaluate(paused, kSevereBounce, kT0, p);
  t = OperatorPause(paused, kSevereBounce, kT0 + 1h, "hold");
  EXPECT_EQ(t.from, t.to);
  EXPECT_TRUE(paused.operator_hold);
  EXPECT_EQ(paused.cause, "bounce");
}

TEST(EnforcementTest, OperatorResumeHasNoFreshStart) {
  const EnforcementPolicy p;
  AccountState st;
  Evaluate(st, kSevereBounce, kT0, p);
  Transition t = OperatorResume(st, kSevereBounce, kT0 + 1h);
  EXPECT_EQ(t.to, State::kHealthy);
  EXPECT_EQ(t.trigger, Trigger::kOperatorResume);
  EXPECT_FALSE(st.operator_hold);
  // The same figures pause again at the next evaluation.
  auto ts = Evaluate(st, kSevereBounce, kT0 + 2h, p);
  EXPECT_EQ(Path(ts), std::vector<State>{State::kPaused});
  // Resuming a healthy account changes nothing.
  AccountState healthy;
  t = OperatorResume(healthy, kClean, kT0);
  EXPECT_EQ(t.from, t.to);
}

TEST(EnforcementTest, AcceptAndRejectReinstatement) {
  const EnforcementPolicy p;
  // Accept from each non-final state.
  for (const Figures& f : {kReviewBounce, kPauseBounce, kSevereBounce}) {
    AccountState st;
    Evaluate(st, f, kT0, p);
    Transition t = AcceptReinstatement(st, f, kT0 + 1h);
    EXPECT_NE(t.from, State::kHealthy);
    EXPECT_EQ(t.to, State::kHealthy);
    EXPECT_EQ(t.trigger, Trigger::kReinstatementAccepted);
    EXPECT_EQ(st.pause_at, SysTime{});
  }
  // Accept during the decision period.
  AccountState decision;
  Evaluate(decision, kReviewBounce, kT0, p);
  Evaluate(decision, kReviewBounce, kT0 + Days(14), p);
  ASSERT_EQ(decision.state, State::kPendingEndOfReviewDecision);
  EXPECT_EQ(AcceptReinstatement(decision, kReviewBounce, kT0 + Days(15)).to, State::kHealthy);

  // Reject: paused stays paused, told to the sender.
  AccountState paused;
  Evaluate(paused, kSevereBounce, kT0, p);
  Transition t = RejectReinstatement(paused, kSevereBounce, kT0 + 1h);
  EXPECT_EQ(t.from, State::kPaused);
  EXPECT_EQ(t.to, State::kPaused);
  EXPECT_EQ(t.trigger, Trigger::kReinstatementRejected);
  EXPECT_EQ(paused.pauses.size(), 1u);
  // Reject during the decision period pauses at once, and counts.
  AccountState rejected;
  Evaluate(rejected, kReviewBounce, kT0, p);
  Evaluate(rejected, kReviewBounce, kT0 + Days(14), p);
  t = RejectReinstatement(rejected, kReviewBounce, kT0 + Days(15));
  EXPECT_EQ(t.from, State::kPendingEndOfReviewDecision);
  EXPECT_EQ(t.to, State::kPaused);
  EXPECT_EQ(rejected.pauses.size(), 1u);
  EXPECT_EQ(rejected.cause, "bounce");
  // Nothing to reject on a healthy account.
  AccountState healthy;
  t = RejectReinstatement(healthy, kClean, kT0);
  EXPECT_EQ(t.to, State::kHealthy);
}

TEST(EnforcementTest, RejectedThirdPauseSuspendsAtNextEvaluate) {
  const EnforcementPolicy p;
  AccountState st;
  st.pauses = {kT0 - Days(20), kT0 - Days(10)};
  Evaluate(st, kPauseBounce, kT0, p);
  ASSERT_EQ(st.state, State::kPendingSendingPause);
  RejectReinstatement(st, kPauseBounce, kT0 + 1h);
  auto ts = Evaluate(st, kPauseBounce, kT0 + 2h, p);
  EXPECT_EQ(Path(ts), std::vector<State>{State::kSuspended});
}

TEST(EnforcementTest, Names) {
  for (State s : {State::kHealthy, State::kUnderReview, State::kPendingEndOfReviewDecision,
                  State::kPendingSendingPause, State::kPaused, State::kSuspended}) {
    auto back = StateFromName(StateName(s));
    ASSERT_TRUE(back.has_value()) << StateName(s);
    EXPECT_EQ(*back, s);
  }
  EXPECT_FALSE(StateFromName("probation").has_value());
  EXPECT_STREQ(StateName(State::kPendingEndOfReviewDecision), "pending_end_of_review_decision");
  EXPECT_STREQ(ApiEnforcementStatus(State::kHealthy), "HEALTHY");
  EXPECT_STREQ(ApiEnforcementStatus(State::kPendingSendingPause), "PROBATION");
  EXPECT_STREQ(ApiEnforcementStatus(State::kSuspended), "SHUTDOWN");
  EXPECT_TRUE(SendingAllowed(State::kPendingEndOfReviewDecision));
  EXPECT_FALSE(SendingAllowed(State::kSuspended));
  EXPECT_STREQ(MetricStatusName(MetricStatus::kAlmostHealed), "almost_healed");
  EXPECT_STREQ(TriggerName(Trigger::kRepeatedPauses), "repeated_pauses");
}

TEST(EnforcementTest, ValidatePolicy) {
  EXPECT_TRUE(ValidateEnforcementPolicy(EnforcementPolicy{}).ok());
  EnforcementPolicy p;
  p.pause_bounce = 0.04;  // below review
  EXPECT_FALSE(ValidateEnforcementPolicy(p).ok());
  p = EnforcementPolicy{};
  p.severe_complaint = 1.5;
  EXPECT_FALSE(ValidateEnforcementPolicy(p).ok());
  p = EnforcementPolicy{};
  p.almost_healed_fraction = 0;
  EXPECT_FALSE(ValidateEnforcementPolicy(p).ok());
  p = EnforcementPolicy{};
  p.pause_grace = hours(-1);
  EXPECT_FALSE(ValidateEnforcementPolicy(p).ok());
  p = EnforcementPolicy{};
  p.min_sends = -1;
  EXPECT_FALSE(ValidateEnforcementPolicy(p).ok());
}

}  // namespace
}  // namespace herald::reputation
