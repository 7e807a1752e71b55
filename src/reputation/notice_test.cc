#include "reputation/notice.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace herald::reputation {
namespace {

using std::chrono::hours;
using namespace std::chrono_literals;

const SysTime kT0 = std::chrono::sys_days{std::chrono::year{2026} / 4 / 7} + 14h + 30min;

hours Days(int n) { return hours(24 * n); }

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// 10.16% bounces over 10,001 emails covering 39.6 days, and 0.51% complaints over 8,159
// emails to feedback-loop domains.
Figures BadFigures() {
  Figures f;
  f.sends = 10001;
  f.hard_bounces = 1016;
  f.fbl_sends = 8159;
  f.complaints = 42;
  f.bounce_rate = 1016.0 / 10001;
  f.complaint_rate = 42.0 / 8159;
  f.covered_days = 39.64;
  f.oldest_send = kT0 - hours(951);
  return f;
}

Figures CleanFigures() {
  Figures f;
  f.sends = 12345;
  f.hard_bounces = 123;
  f.fbl_sends = 6789;
  f.complaints = 3;
  f.bounce_rate = 123.0 / 12345;
  f.complaint_rate = 3.0 / 6789;
  f.covered_days = 12.25;
  f.oldest_send = kT0 - hours(294);
  return f;
}

Transition T(State from, State to, std::string cause, Trigger trigger, Figures f,
             SysTime deadline = {}) {
  Transition t;
  t.from = from;
  t.to = to;
  t.cause = std::move(cause);
  t.trigger = trigger;
  t.figures = f;
  t.at = kT0;
  t.deadline = deadline;
  return t;
}

bool AsksTheThreeQuestions(const std::string& text) {
  return Contains(text, "What caused") && Contains(text, "What have you changed") &&
         Contains(text, "keep it from happening again") &&
         Contains(text, "herald review respond") && Contains(text, "admin API");
}

void ExpectBounceFigures(const Notice& n) {
  EXPECT_TRUE(Contains(n.text, "10.16%")) << n.text;
  EXPECT_TRUE(Contains(n.text, "10,001")) << n.text;
  EXPECT_TRUE(Contains(n.text, "39.6 days")) << n.text;
  EXPECT_TRUE(Contains(n.text, "1,016")) << n.text;
}

void ExpectComplaintFigures(const Notice& n) {
  EXPECT_TRUE(Contains(n.text, "0.51%")) << n.text;
  EXPECT_TRUE(Contains(n.text, "8,159")) << n.text;
  EXPECT_TRUE(Contains(n.text, "42")) << n.text;
}

void ExpectWellFormed(const Notice& n) {
  EXPECT_FALSE(n.subject.empty());
  EXPECT_EQ(n.subject.find('\n'), std::string::npos);
  EXPECT_EQ(n.subject.find('\r'), std::string::npos);
  EXPECT_TRUE(Contains(n.subject, "acme")) << n.subject;
  EXPECT_TRUE(Contains(n.text, "\n\n")) << "several paragraphs:\n" << n.text;
  EXPECT_TRUE(Contains(n.text, "acme")) << n.text;
}

TEST(FormatTest, Percent) {
  EXPECT_EQ(FormatPercent(0.1016), "10.16%");
  EXPECT_EQ(FormatPercent(1016.0 / 10001), "10.16%");
  EXPECT_EQ(FormatPercent(42.0 / 8159), "0.51%");
  EXPECT_EQ(FormatPercent(0.001), "0.10%");
  EXPECT_EQ(FormatPercent(0), "0.00%");
  EXPECT_EQ(FormatPercent(1), "100.00%");
  EXPECT_EQ(FormatPercent(std::numeric_limits<double>::quiet_NaN()), "0.00%");
}

TEST(FormatTest, Count) {
  EXPECT_EQ(FormatCount(10001), "10,001");
  EXPECT_EQ(FormatCount(8159), "8,159");
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(100000), "100,000");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(-1234), "-1,234");
  EXPECT_EQ(FormatCount(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
}

TEST(FormatTest, DaysAndTime) {
  EXPECT_EQ(FormatDays(39.64), "39.6");
  EXPECT_EQ(FormatDays(510.9), "510.9");
  EXPECT_EQ(FormatDays(0), "0.0");
  EXPECT_EQ(FormatDays(-3), "0.0");
  EXPECT_EQ(FormatNoticeTime(kT0 + 59s), "2026-04-07 14:30 UTC");
}

TEST(NoticeTest, ReviewOpened) {
  const EnforcementPolicy p;
  Notice n = NoticeFor(T(State::kHealthy, State::kUnderReview, "bounce", Trigger::kRates,
                         BadFigures(), kT0 + Days(14)),
                       "acme", p);
  EXPECT_EQ(n.kind, "review_opened");
  EXPECT_EQ(n.metric, "bounce");
  ExpectWellFormed(n);
  ExpectBounceFigures(n);
  EXPECT_FALSE(Contains(n.text, "8,159")) << "only the metric concerned";
  EXPECT_TRUE(Contains(n.text, "14 days")) << n.text;
  EXPECT_TRUE(Contains(n.text, FormatNoticeTime(kT0 + Days(14)))) << n.text;
  EXPECT_TRUE(Contains(n.text, "5.00%")) << n.text;
  EXPECT_TRUE(AsksTheThreeQuestions(n.text)) << n.text;
  EXPECT_EQ(n.figures.sends, 10001);
}

TEST(NoticeTest, ReviewOpenedForComplaints) {
  EnforcementPolicy p;
  p.review_period = Days(10);
  Notice n = NoticeFor(T(State::kHealthy, State::kUnderReview, "complaint", Trigger::kRates,
                         BadFigures(), kT0 + Days(10)),
                       "acme", p);
  EXPECT_EQ(n.metric, "complaint");
  ExpectComplaintFigures(n);
  EXPECT_FALSE(Contains(n.text, "10,001"));
  EXPECT_TRUE(Contains(n.text, "10 days")) << n.text;
  EXPECT_TRUE(Contains(n.text, "0.10%")) << n.text;
  EXPECT_TRUE(Contains(n.subject, "complaint rate 0.51%")) << n.subject;
  EXPECT_TRUE(AsksTheThreeQuestions(n.text));
}

TEST(NoticeTest, PausePending) {
  const EnforcementPolicy p;
  Notice n = NoticeFor(T(State::kHealthy, State::kPendingSendingPause, "bounce", Trigger::kRates,
                         BadFigures(), kT0 + 24h),
                       "acme", p);
  EXPECT_EQ(n.kind, "pause_pending");
  ExpectWellFormed(n);
  ExpectBounceFigures(n);
  EXPECT_TRUE(Contains(n.text, FormatNoticeTime(kT0 + 24h))) << n.text;
  EXPECT_TRUE(Contains(n.text, "1 day")) << n.text;
  EXPECT_TRUE(AsksTheThreeQuestions(n.text));
}

TEST(NoticeTest, ReviewEndedUnhealed) {
  const EnforcementPolicy p;
  Notice n = NoticeFor(T(State::kUnderReview, State::kPendingEndOfReviewDecision, "complaint",
                         Trigger::kReviewDeadline, BadFigures(), kT0 + Days(3)),
                       "acme", p);
  EXPECT_EQ(n.kind, "review_ended_unhealed");
  ExpectWellFormed(n);
  ExpectComplaintFigures(n);
  EXPECT_TRUE(Contains(n.text, FormatNoticeTime(kT0 + Days(3)))) << n.text;
  EXPECT_TRUE(Contains(n.text, "3 days")) << n.text;
  EXPECT_TRUE(AsksTheThreeQuestions(n.text));
}

TEST(NoticeTest, PausedForEachReason) {
  const EnforcementPolicy p;
  struct Case {
    State from;
    Trigger trigger;
    const char* says;
  } cases[] = {
      {State::kPendingSendingPause, Trigger::kPauseDue, "as announced"},
      {State::kPendingEndOfReviewDecision, Trigger::kPauseDue, "review"},
      {State::kHealthy, Trigger::kRates, "at once"},
  };
  for (const Case& c : cases) {
    Notice n = NoticeFor(T(c.from, State::kPaused, "bounce", c.trigger, BadFigures()), "acme", p);
    EXPECT_EQ(n.kind, "paused");
    ExpectWellFormed(n);
    ExpectBounceFigures(n);
    EXPECT_TRUE(Contains(n.text, c.says)) << n.text;
    EXPECT_TRUE(Contains(n.text, "refuses new messages")) << n.text;
    EXPECT_TRUE(AsksTheThreeQuestions(n.text));
  }
}

TEST(NoticeTest, OperatorPauseGivesTheReasonAndBothMetrics) {
  const EnforcementPolicy p;
  Transition t =
      T(State::kHealthy, State::kPaused, "operator", Trigger::kOperatorPause, BadFigures());
  t.reason = "unpaid invoice";
  Notice n = NoticeFor(t, "acme", p);
  EXPECT_EQ(n.kind, "paused");
  EXPECT_EQ(n.metric, "");
  ExpectWellFormed(n);
  EXPECT_TRUE(Contains(n.text, "unpaid invoice")) << n.text;
  ExpectBounceFigures(n);
  ExpectComplaintFigures(n);
  EXPECT_TRUE(AsksTheThreeQuestions(n.text));
}

TEST(NoticeTest, ReviewHealed) {
  const EnforcementPolicy p;
  Notice n = NoticeFor(
      T(State::kUnderReview, State::kHealthy, "", Trigger::kReviewDeadline, CleanFigures()), "acme",
      p);
  EXPECT_EQ(n.kind, "review_healed");
  ExpectWellFormed(n);
  EXPECT_TRUE(Contains(n.text, FormatPercent(123.0 / 12345))) << n.text;
  EXPECT_TRUE(Contains(n.text, "12,345")) << n.text;
  EXPECT_TRUE(Contains(n.text, "12.2 days") || Contains(n.text, "12.3 days")) << n.text;
  EXPECT_FALSE(AsksTheThreeQuestions(n.text)) << "nothing to answer:\n" << n.text;
}

TEST(NoticeTest, ReinstatedAndResumed) {
  const EnforcementPolicy p;
  Notice n = NoticeFor(
      T(State::kPaused, State::kHealthy, "", Trigger::kReinstatementAccepted, CleanFigures()),
      "acme", p);
  EXPECT_EQ(n.kind, "reinstated");
  ExpectWellFormed(n);
  EXPECT_TRUE(Contains(n.text, "afresh")) << n.text;
  EXPECT_FALSE(AsksTheThreeQuestions(n.text));

  n = NoticeFor(T(State::kPaused, State::kHealthy, "", Trigger::kOperatorResume, BadFigures()),
                "acme", p);
  EXPECT_EQ(n.kind, "resumed");
  ExpectWellFormed(n);
  EXPECT_TRUE(Contains(n.text, "not reset")) << n.text;
  ExpectBounceFigures(n);
  ExpectComplaintFigures(n);
  EXPECT_FALSE(AsksTheThreeQuestions(n.text));
}

TEST(NoticeTest, ReinstatementRejected) {
  const EnforcementPolicy p;
  Notice n = NoticeFor(
      T(State::kPaused, State::kPaused, "bounce", Trigger::kReinstatementRejected, BadFigures()),
      "acme", p);
  EXPECT_EQ(n.kind, "reinstatement_rejected");
  ExpectWellFormed(n);
  ExpectBounceFigures(n);
  EXPECT_TRUE(Contains(n.text, "stays paused")) << n.text;
  EXPECT_TRUE(AsksTheThreeQuestions(n.text));
}

TEST(NoticeTest, Suspended) {
  EnforcementPolicy p;
  p.pauses_before_suspension = 2;
  Notice n = NoticeFor(
      T(State::kPaused, State::kSuspended, "complaint", Trigger::kRepeatedPauses, BadFigures()),
      "acme", p);
  EXPECT_EQ(n.kind, "suspended");
  ExpectWellFormed(n);
  ExpectComplaintFigures(n);
  EXPECT_TRUE(Contains(n.text, "2nd")) << n.text;
  EXPECT_TRUE(Contains(n.text, "365 days")) << n.text;
  EXPECT_TRUE(Contains(n.text, "permanent")) << n.text;
}

TEST(NoticeTest, BelowTheFloorSaysNotEnforced) {
  const EnforcementPolicy p;
  Figures f = BadFigures();
  f.fbl_sends = 500;
  f.complaints = 40;
  f.complaint_rate = 40.0 / 500;
  Notice n =
      NoticeFor(T(State::kPaused, State::kHealthy, "", Trigger::kOperatorResume, f), "acme", p);
  EXPECT_TRUE(Contains(n.text, "Complaint rate: not enforced yet")) << n.text;
  EXPECT_TRUE(Contains(n.text, "1,000")) << n.text;
}

TEST(NoticeTest, UnchangedTransitionsTellNothing) {
  const EnforcementPolicy p;
  for (Trigger trig :
       {Trigger::kOperatorPause, Trigger::kOperatorResume, Trigger::kReinstatementAccepted}) {
    Notice n =
        NoticeFor(T(State::kSuspended, State::kSuspended, "bounce", trig, BadFigures()), "acme", p);
    EXPECT_EQ(n.kind, "") << TriggerName(trig);
    EXPECT_TRUE(n.text.empty());
  }
}

TEST(NoticeTest, AccountNameCannotBreakTheSubject) {
  const EnforcementPolicy p;
  Notice n = NoticeFor(T(State::kHealthy, State::kPaused, "bounce", Trigger::kRates, BadFigures()),
                       "acme\r\nBcc: victim@example.com", p);
  EXPECT_EQ(n.subject.find('\n'), std::string::npos);
  EXPECT_EQ(n.subject.find('\r'), std::string::npos);
}

// Every transition the state machine can make maps to a kind, through the real machine.
TEST(NoticeTest, EveryRealTransitionHasAKind) {
  const EnforcementPolicy p;
  AccountState st;
  Figures review = BadFigures();
  review.hard_bounces = 600;
  review.bounce_rate = 600.0 / 10001;
  review.complaints = 0;
  review.complaint_rate = 0;
  std::vector<Transition> all;
  auto add = [&](std::vector<Transition> ts) { all.insert(all.end(), ts.begin(), ts.end()); };
  add(Evaluate(st, review, kT0, p));
  add(Evaluate(st, review, kT0 + Days(14), p));
  add(Evaluate(st, review, kT0 + Days(17), p));
  all.push_back(RejectReinstatement(st, review, kT0 + Days(18)));
  all.push_back(AcceptReinstatement(st, review, kT0 + Days(19)));
  all.push_back(OperatorPause(st, review, kT0 + Days(20), "check"));
  all.push_back(OperatorResume(st, review, kT0 + Days(21)));
  std::vector<std::string> kinds;
  for (const Transition& t : all) {
    kinds.push_back(NoticeFor(t, "acme", p).kind);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"review_opened", "review_ended_unhealed", "paused",
                                             "reinstatement_rejected", "reinstated", "paused",
                                             "resumed"}));
}

}  // namespace
}  // namespace herald::reputation
