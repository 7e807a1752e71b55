// Whole sending histories replayed on plain SysTime values through RepWindow, Evaluate and
// NoticeFor, the way the wiring drives them: outcomes recorded as they arrive, the state
// evaluated after each batch and on a periodic tick. No sleeping, no clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "reputation/enforcement.h"
#include "reputation/notice.h"
#include "reputation/window.h"

namespace herald::reputation {
namespace {

using std::chrono::hours;
using namespace std::chrono_literals;

// 2025-06-03 09:17 UTC: deliberately not on an hour boundary.
const SysTime kT0 = std::chrono::sys_days{std::chrono::year{2025} / 6 / 3} + 9h + 17min;

std::chrono::milliseconds DaysF(double d) {
  return std::chrono::round<std::chrono::milliseconds>(
      std::chrono::duration<double, std::ratio<86400>>(d));
}
hours Days(int n) { return hours(24 * n); }

// One sender as the wiring would hold it.
class Sender {
 public:
  explicit Sender(EnforcementPolicy p = {}, WindowPolicy w = {}) : policy_(p), wpolicy_(w) {}

  void Send(SysTime at, int64_t n, bool fbl) { window_.RecordSends(at, n, fbl ? n : 0); }
  bool Bounce(SysTime sent_at) { return window_.RecordHardBounce(sent_at); }
  bool Complain(SysTime sent_at) { return window_.RecordComplaint(sent_at); }

  // Measures and evaluates at `now`; returns the transitions and keeps their notices.
  std::vector<Transition> Tick(SysTime now) {
    window_.Prune(now, wpolicy_);
    const Figures f = window_.Measure(now, wpolicy_);
    std::vector<Transition> ts = Evaluate(state_, f, now, policy_);
    for (const Transition& t : ts) {
      Record(t);
    }
    return ts;
  }
  // Ticks every `step` from `from` to `to` inclusive; returns all transitions.
  std::vector<Transition> TickEvery(SysTime from, SysTime to, SysTime::duration step) {
    std::vector<Transition> all;
    for (SysTime t = from; t <= to; t += step) {
      for (Transition& tr : Tick(t)) {
        all.push_back(std::move(tr));
      }
    }
    return all;
  }
  void Accept(SysTime now, SysTime change_date) {
    Record(AcceptReinstatement(state_, Measure(now), now));
    window_.FreshStart(change_date);
  }

  Figures Measure(SysTime now) const { return window_.Measure(now, wpolicy_); }
  const AccountState& state() const { return state_; }
  const EnforcementPolicy& policy() const { return policy_; }
  const std::vector<Notice>& notices() const { return notices_; }
  std::vector<std::string> NoticeKinds() const {
    std::vector<std::string> kinds;
    for (const Notice& n : notices_) {
      kinds.push_back(n.kind);
    }
    return kinds;
  }
  const Notice* Find(const std::string& kind) const {
    for (const Notice& n : notices_) {
      if (n.kind == kind) {
        return &n;
      }
    }
    return nullptr;
  }

 private:
  void Record(const Transition& t) {
    Notice n = NoticeFor(t, "acme-mail", policy_);
    if (!n.kind.empty()) {
      notices_.push_back(std::move(n));
    }
  }

  EnforcementPolicy policy_;
  WindowPolicy wpolicy_;
  RepWindow window_;
  AccountState state_;
  std::vector<Notice> notices_;
};

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// SES's example notice: 10.16% over 10,001 eligible emails covering 39.6 days.
TEST(ScenarioTest, BounceRateOverTenThousandEmailsPausesViaPendingPause) {
  Sender s;
  const auto span = DaysF(39.6);
  const int kSends = 10001;
  std::vector<SysTime> sent(kSends);
  for (int i = 0; i < kSends; ++i) {
    sent[i] = kT0 + span * i / (kSends - 1);
  }
  // While sending: every 25th of the first 9,000 emails bounces, the DSN two hours later
  // (about 4%, under the review level); the state is evaluated every six hours.
  SysTime next_tick = kT0 + 6h;
  std::vector<SysTime> due;  // sent_at of bounces in flight, in arrival order
  for (int i = 0; i < kSends; ++i) {
    while (!due.empty() && due.front() + 2h <= sent[i]) {
      ASSERT_TRUE(s.Bounce(due.front()));
      due.erase(due.begin());
    }
    while (next_tick <= sent[i]) {
      ASSERT_TRUE(s.Tick(next_tick).empty()) << "at tick " << FormatNoticeTime(next_tick);
      next_tick += 6h;
    }
    s.Send(sent[i], 1, false);
    if (i < 9000 && i % 25 == 0) {
      due.push_back(sent[i]);
    }
  }
  for (SysTime d : due) {
    ASSERT_TRUE(s.Bounce(d));
  }
  EXPECT_EQ(s.state().state, State::kHealthy);
  // Right after the last send, a backlog of 656 DSNs about the last emails is processed
  // in one batch: 360 + 656 = 1,016 hard bounces.
  for (int i = 9000; i < 9656; ++i) {
    ASSERT_TRUE(s.Bounce(sent[i]));
  }
  const SysTime now = kT0 + span;
  const Figures f = s.Measure(now);
  EXPECT_EQ(f.sends, 10001);
  EXPECT_EQ(f.hard_bounces, 1016);
  EXPECT_EQ(FormatPercent(f.bounce_rate), "10.16%");
  EXPECT_EQ(FormatDays(f.covered_days), "39.6");

  auto ts = s.Tick(now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, State::kHealthy);
  EXPECT_EQ(ts[0].to, State::kPendingSendingPause);
  EXPECT_EQ(ts[0].cause, "bounce");
  EXPECT_TRUE(SendingAllowed(s.state().state));

  const Notice* n = s.Find("pause_pending");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->metric, "bounce");
  EXPECT_TRUE(Contains(n->text, "10.16%")) << n->text;
  EXPECT_TRUE(Contains(n->text, "10,001")) << n->text;
  EXPECT_TRUE(Contains(n->text, "39.6")) << n->text;
  EXPECT_TRUE(Contains(n->text, FormatNoticeTime(now + 24h))) << n->text;

  // The grace runs out a day later, whatever the rates do meanwhile.
  EXPECT_TRUE(s.TickEvery(now + 1h, now + 23h, 1h).empty());
  ts = s.Tick(now + 24h);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPaused);
  EXPECT_EQ(s.state().state, State::kPaused);
  EXPECT_FALSE(SendingAllowed(s.state().state));
  EXPECT_STREQ(ApiEnforcementStatus(s.state().state), "SHUTDOWN");
  EXPECT_EQ(s.NoticeKinds(), (std::vector<std::string>{"pause_pending", "paused"}));
}

// SES's example: 0.51% complaints over 8,159 eligible emails covering 510.9 days.
TEST(ScenarioTest, ComplaintRateOverALowVolumeHistoryPauses) {
  Sender s;
  const auto span = DaysF(510.9);
  const int kSends = 8159;
  std::vector<SysTime> sent(kSends);
  for (int i = 0; i < kSends; ++i) {
    sent[i] = kT0 + span * i / (kSends - 1);
  }
  // A complaint now and then (5 in all), each a day after its email; daily evaluation.
  const std::vector<int> early = {2000, 3500, 5000, 6500, 8000};
  SysTime next_tick = kT0 + 24h;
  size_t next_complaint = 0;
  for (int i = 0; i < kSends; ++i) {
    while (next_complaint < early.size() && sent[early[next_complaint]] + 24h <= sent[i]) {
      ASSERT_TRUE(s.Complain(sent[early[next_complaint]]));
      ++next_complaint;
    }
    while (next_tick <= sent[i]) {
      ASSERT_TRUE(s.Tick(next_tick).empty()) << "at tick " << FormatNoticeTime(next_tick);
      next_tick += 24h;
    }
    s.Send(sent[i], 1, true);
  }
  ASSERT_EQ(next_complaint, early.size());
  // The last campaign's complaints arrive in one feedback-loop digest: 37 more.
  for (int i = 8100; i < 8137; ++i) {
    ASSERT_TRUE(s.Complain(sent[i]));
  }
  const SysTime now = kT0 + span;
  const Figures f = s.Measure(now);
  EXPECT_EQ(f.fbl_sends, 8159);
  EXPECT_EQ(f.complaints, 42);
  EXPECT_EQ(FormatPercent(f.complaint_rate), "0.51%");
  EXPECT_EQ(FormatDays(f.covered_days), "510.9");

  auto ts = s.Tick(now);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPendingSendingPause);
  EXPECT_EQ(ts[0].cause, "complaint");
  const Notice* n = s.Find("pause_pending");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->metric, "complaint");
  EXPECT_TRUE(Contains(n->text, "0.51%")) << n->text;
  EXPECT_TRUE(Contains(n->text, "8,159")) << n->text;
  EXPECT_TRUE(Contains(n->text, "510.9")) << n->text;
  EXPECT_EQ(ComplaintStatus(s.state(), f, s.policy()), MetricStatus::kPendingSendingPause);
  EXPECT_EQ(BounceStatus(s.state(), f, s.policy()), MetricStatus::kHealthy);

  s.TickEvery(now + 1h, now + 24h, 1h);
  EXPECT_EQ(s.state().state, State::kPaused);
  EXPECT_EQ(ComplaintStatus(s.state(), s.Measure(now + 24h), s.policy()),
            MetricStatus::kSendingPause);
}

// 2,000 emails over two days, 6% bounce: a review opens.
void OpenBounceReview(Sender& s) {
  for (int i = 0; i < 2000; ++i) {
    const SysTime at = kT0 + std::chrono::minutes(i);
    s.Send(at, 1, false);
    if (i % 50 < 3) {
      ASSERT_TRUE(s.Bounce(at));
    }
  }
  auto ts = s.Tick(kT0 + Days(2));
  ASSERT_EQ(ts.size(), 1u);
  ASSERT_EQ(ts[0].to, State::kUnderReview);
}

TEST(ScenarioTest, ReviewThatHeals) {
  Sender s;
  OpenBounceReview(s);
  const SysTime opened = kT0 + Days(2);
  EXPECT_EQ(s.state().review_deadline, opened + Days(14));
  EXPECT_EQ(BounceStatus(s.state(), s.Measure(opened), s.policy()), MetricStatus::kUnderReview);
  // The sender cleans the list: 1,000 clean emails over the next three days (6% -> 4%).
  for (int i = 0; i < 1000; ++i) {
    s.Send(opened + std::chrono::minutes(4 * i + 1), 1, false);
  }
  EXPECT_TRUE(s.TickEvery(opened + 1h, opened + Days(14) - 1h, 1h).empty());
  // In between: still under review, the metric almost healed.
  const Figures mid = s.Measure(opened + Days(5));
  EXPECT_NEAR(mid.bounce_rate, 0.04, 1e-9);
  EXPECT_EQ(s.state().state, State::kUnderReview);
  EXPECT_STREQ(ApiEnforcementStatus(s.state().state), "PROBATION");
  EXPECT_EQ(BounceStatus(s.state(), mid, s.policy()), MetricStatus::kAlmostHealed);
  // At the deadline the review closes.
  auto ts = s.Tick(opened + Days(14));
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kHealthy);
  EXPECT_EQ(s.state().state, State::kHealthy);
  EXPECT_EQ(s.NoticeKinds(), (std::vector<std::string>{"review_opened", "review_healed"}));
  EXPECT_TRUE(Contains(s.Find("review_healed")->text, "4.00%"));
}

TEST(ScenarioTest, ReviewThatEndsUnhealed) {
  Sender s;
  OpenBounceReview(s);
  const SysTime deadline = kT0 + Days(16);
  EXPECT_TRUE(s.TickEvery(kT0 + Days(2) + 1h, deadline - 1h, 1h).empty());
  auto ts = s.Tick(deadline);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].to, State::kPendingEndOfReviewDecision);
  EXPECT_TRUE(SendingAllowed(s.state().state));
  EXPECT_TRUE(s.TickEvery(deadline + 1h, deadline + Days(3) - 1h, 1h).empty());
  ts = s.Tick(deadline + Days(3));
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, State::kPendingEndOfReviewDecision);
  EXPECT_EQ(ts[0].to, State::kPaused);
  EXPECT_EQ(s.NoticeKinds(),
            (std::vector<std::string>{"review_opened", "review_ended_unhealed", "paused"}));
  EXPECT_TRUE(Contains(s.Find("review_ended_unhealed")->text, "6.00%"));
  EXPECT_TRUE(Contains(s.Find("review_ended_unhealed")->text, "2,000"));
}

TEST(ScenarioTest, SeverePauseThenReinstatementWithFreshStart) {
  Sender s;
  // 1,200 emails over two days, 30% bounce: paused at once, no review, no grace.
  std::vector<SysTime> old_sends;
  for (int i = 0; i < 1200; ++i) {
    const SysTime at = kT0 + std::chrono::minutes(2 * i);
    s.Send(at, 1, true);
    old_sends.push_back(at);
    if (i % 10 < 3) {
      ASSERT_TRUE(s.Bounce(at));
    }
  }
  auto ts = s.Tick(kT0 + Days(2));
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].from, State::kHealthy);
  EXPECT_EQ(ts[0].to, State::kPaused);
  EXPECT_TRUE(Contains(s.Find("paused")->text, "30.00%"));
  EXPECT_TRUE(Contains(s.Find("paused")->text, "1,200"));

  // The sender answers; the operator accepts on day 5 with day 4 as the change date.
  s.Accept(kT0 + Days(5), kT0 + Days(4));
  EXPECT_EQ(s.state().state, State::kHealthy);
  EXPECT_EQ(s.Measure(kT0 + Days(5)).sends, 0);
  EXPECT_TRUE(s.Tick(kT0 + Days(5)).empty());
  // Late bounces about the old emails no longer count.
  EXPECT_FALSE(s.Bounce(old_sends[5]));
  // Only later sends count: 1,500 emails, 1% bounce.
  for (int i = 0; i < 1500; ++i) {
    const SysTime at = kT0 + Days(6) + std::chrono::minutes(i);
    s.Send(at, 1, true);
    if (i % 100 == 0) {
      ASSERT_TRUE(s.Bounce(at));
    }
  }
  const Figures f = s.Measure(kT0 + Days(8));
  EXPECT_EQ(f.sends, 1500);
  EXPECT_EQ(f.hard_bounces, 15);
  EXPECT_TRUE(s.TickEvery(kT0 + Days(6), kT0 + Days(8), 1h).empty());
  EXPECT_EQ(s.state().state, State::kHealthy);
  EXPECT_EQ(s.NoticeKinds(), (std::vector<std::string>{"paused", "reinstated"}));
}

TEST(ScenarioTest, ThreePausesSuspend) {
  Sender s;
  for (int round = 0; round < 3; ++round) {
    const SysTime start = kT0 + Days(20 * round);
    for (int i = 0; i < 1000; ++i) {
      const SysTime at = start + std::chrono::minutes(i);
      s.Send(at, 1, false);
      if (i % 4 == 0) {
        ASSERT_TRUE(s.Bounce(at));  // 25%: severe
      }
    }
    auto ts = s.Tick(start + Days(1));
    if (round < 2) {
      ASSERT_EQ(ts.size(), 1u) << round;
      EXPECT_EQ(ts[0].to, State::kPaused);
      s.Accept(start + Days(2), start + Days(2));
    } else {
      ASSERT_EQ(ts.size(), 2u);
      EXPECT_EQ(ts[0].to, State::kPaused);
      EXPECT_EQ(ts[1].to, State::kSuspended);
    }
  }
  EXPECT_EQ(s.state().state, State::kSuspended);
  EXPECT_EQ(s.NoticeKinds(), (std::vector<std::string>{"paused", "reinstated", "paused",
                                                       "reinstated", "paused", "suspended"}));
  EXPECT_TRUE(Contains(s.Find("suspended")->text, "3rd"));
  // Nothing brings it back by itself.
  EXPECT_TRUE(s.TickEvery(kT0 + Days(41), kT0 + Days(400), Days(1)).empty());
  EXPECT_EQ(s.state().state, State::kSuspended);
}

TEST(ScenarioTest, BelowMinSendsNothingHappensEvenAtFiftyPercent) {
  Sender s;
  for (int i = 0; i < 999; ++i) {
    const SysTime at = kT0 + std::chrono::minutes(30 * i);
    s.Send(at, 1, true);
    if (i % 2 == 0) {
      ASSERT_TRUE(s.Bounce(at));
      ASSERT_TRUE(s.Complain(at));
    }
  }
  const SysTime end = kT0 + std::chrono::minutes(30 * 999);
  const Figures f = s.Measure(end);
  EXPECT_EQ(f.sends, 999);
  EXPECT_GT(f.bounce_rate, 0.5);
  EXPECT_TRUE(s.TickEvery(kT0, end + Days(30), 1h).empty());
  EXPECT_EQ(s.state().state, State::kHealthy);
  EXPECT_EQ(BounceStatus(s.state(), f, s.policy()), MetricStatus::kHealthy);
  EXPECT_EQ(ComplaintStatus(s.state(), f, s.policy()), MetricStatus::kHealthy);
  EXPECT_TRUE(s.notices().empty());
  // One more email crosses the floor and the same rates act at once.
  s.Send(end, 1, true);
  auto ts = s.Tick(end);
  ASSERT_FALSE(ts.empty());
  EXPECT_EQ(ts.back().to, State::kPaused);
}

}  // namespace
}  // namespace herald::reputation
