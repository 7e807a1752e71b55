#include "reputation/window.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace herald::reputation {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using namespace std::chrono_literals;

// 2026-01-05 00:00 UTC: a whole hour, so offsets below read as wall-clock times.
const SysTime kT0 = std::chrono::sys_days{std::chrono::year{2026} / 1 / 5};

std::chrono::hours Days(int n) { return hours(24 * n); }

TEST(HourTest, FloorsAndInverts) {
  EXPECT_EQ(HourOf(kT0 + 59min + 59s), HourOf(kT0));
  EXPECT_EQ(HourOf(kT0 + 1h), HourOf(kT0) + 1);
  EXPECT_EQ(HourOf(kT0 - 1s), HourOf(kT0) - 1);
  EXPECT_EQ(HourStart(HourOf(kT0 + 30min)), kT0);
}

TEST(WindowTest, EmptyWindowMeasuresZero) {
  RepWindow w;
  Figures f = w.Measure(kT0, WindowPolicy{});
  EXPECT_EQ(f.sends, 0);
  EXPECT_EQ(f.bounce_rate, 0.0);
  EXPECT_EQ(f.complaint_rate, 0.0);
  EXPECT_EQ(f.covered_days, 0.0);
  EXPECT_TRUE(w.buckets().empty());
}

TEST(WindowTest, CountsSendsAndOutcomesPerHour) {
  RepWindow w;
  w.RecordSends(kT0 + 10min, 5, 2);
  w.RecordSends(kT0 + 50min, 3, 3);
  w.RecordSends(kT0 + 3h + 1min, 10, 0);
  ASSERT_EQ(w.buckets().size(), 2u);
  EXPECT_EQ(w.buckets()[0].hour, HourOf(kT0));
  EXPECT_EQ(w.buckets()[0].sends, 8);
  EXPECT_EQ(w.buckets()[0].fbl_sends, 5);
  EXPECT_EQ(w.buckets()[1].hour, HourOf(kT0) + 3);
  EXPECT_EQ(w.buckets()[1].sends, 10);

  EXPECT_TRUE(w.RecordHardBounce(kT0 + 20min));
  EXPECT_TRUE(w.RecordComplaint(kT0 + 10min));
  EXPECT_TRUE(w.RecordHardBounce(kT0 + 3h + 30min));
  Figures f = w.Measure(kT0 + 4h, WindowPolicy{});
  EXPECT_EQ(f.sends, 18);
  EXPECT_EQ(f.fbl_sends, 5);
  EXPECT_EQ(f.hard_bounces, 2);
  EXPECT_EQ(f.complaints, 1);
  EXPECT_DOUBLE_EQ(f.bounce_rate, 2.0 / 18);
  EXPECT_DOUBLE_EQ(f.complaint_rate, 1.0 / 5);
}

TEST(WindowTest, IgnoresNonPositiveSendsAndClampsFbl) {
  RepWindow w;
  w.RecordSends(kT0, 0, 0);
  w.RecordSends(kT0, -4, 2);
  EXPECT_TRUE(w.buckets().empty());
  w.RecordSends(kT0, 3, 10);
  w.RecordSends(kT0, 2, -1);
  ASSERT_EQ(w.buckets().size(), 1u);
  EXPECT_EQ(w.buckets()[0].sends, 5);
  EXPECT_EQ(w.buckets()[0].fbl_sends, 3);
}

TEST(WindowTest, LateOutcomeCountsAgainstTheBucketOfItsSend) {
  RepWindow w;
  w.RecordSends(kT0 + 5min, 100, 100);
  w.RecordSends(kT0 + Days(10), 100, 100);
  w.RecordSends(kT0 + Days(12), 100, 100);
  // Twelve days later, a DSN and an FBL report about the first send arrive.
  EXPECT_TRUE(w.RecordHardBounce(kT0 + 5min));
  EXPECT_TRUE(w.RecordComplaint(kT0 + 5min));
  EXPECT_EQ(w.buckets()[0].hard_bounces, 1);
  EXPECT_EQ(w.buckets()[0].complaints, 1);
  EXPECT_EQ(w.buckets()[1].hard_bounces, 0);
  EXPECT_EQ(w.buckets()[2].hard_bounces, 0);
  EXPECT_EQ(w.buckets()[2].complaints, 0);
  // An outcome about an hour with no sends is refused.
  EXPECT_FALSE(w.RecordHardBounce(kT0 + Days(5)));
  EXPECT_FALSE(w.RecordComplaint(kT0 + Days(5)));
}

TEST(WindowTest, OutcomesCannotExceedTheirSends) {
  RepWindow w;
  w.RecordSends(kT0, 2, 1);
  EXPECT_TRUE(w.RecordHardBounce(kT0));
  EXPECT_TRUE(w.RecordHardBounce(kT0 + 1min));
  EXPECT_FALSE(w.RecordHardBounce(kT0 + 2min));  // a duplicate or forged third
  EXPECT_TRUE(w.RecordComplaint(kT0));
  EXPECT_FALSE(w.RecordComplaint(kT0));
  Figures f = w.Measure(kT0 + 1h, WindowPolicy{});
  EXPECT_EQ(f.hard_bounces, 2);
  EXPECT_EQ(f.complaints, 1);
  EXPECT_DOUBLE_EQ(f.bounce_rate, 1.0);
  EXPECT_DOUBLE_EQ(f.complaint_rate, 1.0);

  // No feedback-loop sends at all: no complaint can count.
  RepWindow g;
  g.RecordSends(kT0, 10, 0);
  EXPECT_FALSE(g.RecordComplaint(kT0));
}

TEST(WindowTest, MillionSendsThenOutcomesForOldSends) {
  RepWindow w;
  constexpr int kSends = 1'000'000;
  // One send a minute: 694 days, inside the 730-day cap.
  for (int i = 0; i < kSends; ++i) {
    w.RecordSends(kT0 + minutes(i), 1, i % 2);
  }
  EXPECT_EQ(w.buckets().size(), static_cast<size_t>((kSends + 59) / 60));
  const SysTime now = kT0 + minutes(kSends);
  // The oldest send is still in range; its outcome lands in the first bucket.
  EXPECT_TRUE(w.RecordHardBounce(kT0));
  EXPECT_EQ(w.buckets().front().hard_bounces, 1);
  // And outcomes scattered over the whole history (every 97th send) all find their bucket.
  int64_t bounces = 1;
  for (int i = 97; i < kSends; i += 97) {
    ASSERT_TRUE(w.RecordHardBounce(kT0 + minutes(i))) << i;
    ++bounces;
  }
  Figures f = w.Measure(now, WindowPolicy{.representative_sends = 2 * kSends});
  EXPECT_EQ(f.sends, kSends);
  EXPECT_EQ(f.hard_bounces, bounces);
  EXPECT_EQ(f.oldest_send, kT0);
}

TEST(WindowTest, IdleAccountHoldsOneBucket) {
  RepWindow w;
  w.RecordSends(kT0, 1, 1);
  for (int i = 0; i < 50; ++i) {
    w.RecordSends(kT0 + seconds(i), 1, 0);  // same hour
  }
  const WindowPolicy policy;
  w.Prune(kT0 + Days(700), policy);
  EXPECT_EQ(w.buckets().size(), 1u);
  Figures f = w.Measure(kT0 + Days(700), policy);
  EXPECT_EQ(f.sends, 51);
  EXPECT_NEAR(f.covered_days, 700.0, 1e-9);
}

TEST(WindowTest, MeasureReachesBackJustFarEnough) {
  RepWindow w;
  // 100 sends a day at noon for 200 days, one bounce each day.
  for (int d = 0; d < 200; ++d) {
    w.RecordSends(kT0 + Days(d) + 12h, 100, 50);
    ASSERT_TRUE(w.RecordHardBounce(kT0 + Days(d) + 12h));
  }
  const SysTime now = kT0 + Days(200);
  // 1,000 sends: exactly the newest 10 days.
  Figures f = w.Measure(now, WindowPolicy{.representative_sends = 1000});
  EXPECT_EQ(f.sends, 1000);
  EXPECT_EQ(f.hard_bounces, 10);
  EXPECT_EQ(f.fbl_sends, 500);
  EXPECT_EQ(f.oldest_send, kT0 + Days(190) + 12h);
  EXPECT_NEAR(f.covered_days, 9.5, 1e-9);
  // 1,050 sends: one bucket more (whole buckets), so 1,100.
  f = w.Measure(now, WindowPolicy{.representative_sends = 1050});
  EXPECT_EQ(f.sends, 1100);
  EXPECT_EQ(f.oldest_send, kT0 + Days(189) + 12h);
  // Less volume than N: everything within the cap.
  f = w.Measure(now, WindowPolicy{.representative_sends = 1'000'000});
  EXPECT_EQ(f.sends, 20000);
  EXPECT_EQ(f.hard_bounces, 200);
  // The cap wins over N: only the last 50 days (the 50th day back is at noon, inside).
  f = w.Measure(now, WindowPolicy{.representative_sends = 1'000'000, .max_age = Days(50)});
  EXPECT_EQ(f.sends, 5000);
  EXPECT_EQ(f.oldest_send, kT0 + Days(150) + 12h);
}

TEST(WindowTest, CoveredDaysUseTheExactFirstSend) {
  RepWindow w;
  const SysTime first = kT0 + 43min + 7s;
  w.RecordSends(first + 10min, 1, 1);
  w.RecordSends(first, 1, 1);  // earlier, same hour: becomes the first send
  w.RecordSends(kT0 + Days(39), 1, 1);
  const SysTime now = first + std::chrono::round<std::chrono::milliseconds>(
                                  std::chrono::duration<double, std::ratio<86400>>(39.6));
  Figures f = w.Measure(now, WindowPolicy{});
  EXPECT_EQ(f.oldest_send, first);
  EXPECT_NEAR(f.covered_days, 39.6, 1e-6);

  // Rows stored without first_sent_ms fall back to the start of the hour.
  std::vector<Bucket> rows(w.buckets().begin(), w.buckets().end());
  for (Bucket& b : rows) {
    b.first_sent_ms = 0;
  }
  RepWindow r = RepWindow::FromBuckets(rows, SysTime{});
  EXPECT_EQ(r.Measure(now, WindowPolicy{}).oldest_send, kT0);
}

TEST(WindowTest, FreshStartForgetsEarlierSends) {
  RepWindow w;
  for (int h = 0; h < 10; ++h) {
    w.RecordSends(kT0 + hours(h) + 10min, 10, 10);
  }
  ASSERT_TRUE(w.RecordHardBounce(kT0 + 2h + 10min));
  const SysTime from = kT0 + 5h + 30min;
  w.FreshStart(from);
  EXPECT_EQ(w.fresh_start(), from);
  EXPECT_EQ(w.CountingStartHour(), HourOf(kT0) + 6);
  EXPECT_EQ(w.dropped_before_hour(), HourOf(kT0) + 6);
  ASSERT_EQ(w.buckets().size(), 4u);  // hours 6..9
  EXPECT_EQ(w.buckets().front().hour, HourOf(kT0) + 6);

  // Outcomes about earlier sends are refused, later ones count.
  EXPECT_FALSE(w.RecordHardBounce(kT0 + 2h + 10min));
  EXPECT_FALSE(w.RecordHardBounce(kT0 + 5h + 10min));
  EXPECT_TRUE(w.RecordHardBounce(kT0 + 7h + 10min));
  // A send stamped before the fresh start (or in its part-hour) is not counted.
  w.RecordSends(kT0 + 1h, 50, 50);
  w.RecordSends(kT0 + 5h + 45min, 50, 50);
  Figures f = w.Measure(kT0 + 10h, WindowPolicy{});
  EXPECT_EQ(f.sends, 40);
  EXPECT_EQ(f.hard_bounces, 1);

  // An earlier fresh start brings nothing back.
  w.FreshStart(kT0);
  EXPECT_EQ(w.fresh_start(), from);
  EXPECT_EQ(w.Measure(kT0 + 10h, WindowPolicy{}).sends, 40);

  // A later one drops everything.
  w.FreshStart(kT0 + 11h);
  EXPECT_TRUE(w.buckets().empty());
  EXPECT_EQ(w.Measure(kT0 + 12h, WindowPolicy{}).sends, 0);
}

TEST(WindowTest, PruneDropsBucketsPastTheCap) {
  RepWindow w;
  w.RecordSends(kT0, 5, 5);
  w.RecordSends(kT0 + Days(100), 5, 5);
  w.RecordSends(kT0 + Days(800), 5, 5);
  const WindowPolicy policy;  // 730 days
  w.Prune(kT0 + Days(800), policy);
  ASSERT_EQ(w.buckets().size(), 2u);
  EXPECT_EQ(w.buckets().front().hour, HourOf(kT0 + Days(100)));
  EXPECT_EQ(w.dropped_before_hour(), HourOf(kT0 + Days(70)));
  EXPECT_FALSE(w.RecordHardBounce(kT0));
  // A send stamped before the cut is not recorded any more.
  w.RecordSends(kT0 + Days(1), 5, 5);
  EXPECT_EQ(w.buckets().size(), 2u);
  // The held buckets still resolve after the front moved.
  EXPECT_TRUE(w.RecordHardBounce(kT0 + Days(100)));
  EXPECT_TRUE(w.RecordHardBounce(kT0 + Days(800)));
  EXPECT_EQ(w.buckets()[0].hard_bounces, 1);
  EXPECT_EQ(w.buckets()[1].hard_bounces, 1);
}

TEST(WindowTest, MeasureIgnoresBucketsPastTheCapBeforePrune) {
  RepWindow w;
  w.RecordSends(kT0, 5, 5);
  w.RecordSends(kT0 + Days(800), 7, 7);
  Figures f = w.Measure(kT0 + Days(800), WindowPolicy{});
  EXPECT_EQ(f.sends, 7);
}

TEST(WindowTest, OutOfOrderSendsStaySortedAndIndexed) {
  RepWindow w;
  w.RecordSends(kT0 + 10h + 2s, 1, 1);
  // The clock steps back four seconds, across the hour boundary.
  w.RecordSends(kT0 + 9h + 59min + 58s, 1, 1);
  // Sends in hours between and before held ones.
  w.RecordSends(kT0 + 12h, 1, 1);
  w.RecordSends(kT0 + 11h, 1, 1);
  w.RecordSends(kT0 + 3h, 1, 1);
  w.RecordSends(kT0 + 7h, 1, 1);
  w.RecordSends(kT0 + 10h + 1s, 1, 1);  // same hour, earlier second
  std::vector<int64_t> hours_held;
  for (const Bucket& b : w.buckets()) {
    hours_held.push_back(b.hour - HourOf(kT0));
  }
  EXPECT_EQ(hours_held, (std::vector<int64_t>{3, 7, 9, 10, 11, 12}));
  EXPECT_EQ(w.buckets()[3].sends, 2);
  EXPECT_EQ(w.buckets()[3].first_sent_ms, UnixMillis(kT0 + 10h + 1s));
  // Every hour's outcome lands in its own bucket.
  for (int64_t h : hours_held) {
    ASSERT_TRUE(w.RecordHardBounce(kT0 + hours(h))) << h;
  }
  for (const Bucket& b : w.buckets()) {
    EXPECT_EQ(b.hard_bounces, 1) << b.hour;
  }
  // Prune from the front, then insert at the front again: the index stays right.
  w.Prune(kT0 + 8h + std::chrono::hours(24 * 730), WindowPolicy{});
  ASSERT_EQ(w.buckets().front().hour, HourOf(kT0) + 9);
  w.RecordSends(kT0 + 8h + 30min, 4, 4);
  EXPECT_EQ(w.buckets().front().hour, HourOf(kT0) + 8);
  EXPECT_TRUE(w.RecordComplaint(kT0 + 8h));
  EXPECT_TRUE(w.RecordComplaint(kT0 + 12h));
  EXPECT_EQ(w.buckets().front().complaints, 1);
  EXPECT_EQ(w.buckets().back().complaints, 1);
  Figures f = w.Measure(kT0 + 13h, WindowPolicy{});
  EXPECT_EQ(f.sends, 9);
  EXPECT_EQ(f.hard_bounces, 4);
  EXPECT_EQ(f.complaints, 2);
}

TEST(WindowTest, InsertingBeforeTheFrontKeepsEveryHourIndexed) {
  RepWindow w;
  for (int h = 10; h <= 14; ++h) {
    w.RecordSends(kT0 + hours(h), 2, 2);
  }
  w.RecordSends(kT0 + 5h, 2, 2);  // before every held hour
  w.RecordSends(kT0 + 2h, 2, 2);  // and again
  for (int h : {2, 5, 10, 11, 12, 13, 14}) {
    ASSERT_TRUE(w.RecordHardBounce(kT0 + hours(h))) << h;
  }
  for (const Bucket& b : w.buckets()) {
    EXPECT_EQ(b.hard_bounces, 1) << b.hour - HourOf(kT0);
  }
}

TEST(WindowTest, FromBucketsRoundTrip) {
  RepWindow w;
  for (int d = 0; d < 30; ++d) {
    w.RecordSends(kT0 + Days(d) + hours(d % 24) + 5min, 10 + d, d);
    if (d % 3 == 0) {
      ASSERT_TRUE(w.RecordHardBounce(kT0 + Days(d) + hours(d % 24) + 5min));
    }
    if (d % 4 == 1) {
      ASSERT_TRUE(w.RecordComplaint(kT0 + Days(d) + hours(d % 24)));
    }
  }
  w.FreshStart(kT0 + Days(2) + 30min);
  std::vector<Bucket> rows(w.buckets().begin(), w.buckets().end());
  std::reverse(rows.begin(), rows.end());  // the store returns rows in any order
  RepWindow r = RepWindow::FromBuckets(rows, w.fresh_start());
  EXPECT_EQ(r.fresh_start(), w.fresh_start());
  ASSERT_EQ(r.buckets().size(), w.buckets().size());
  EXPECT_TRUE(std::equal(r.buckets().begin(), r.buckets().end(), w.buckets().begin()));
  const SysTime now = kT0 + Days(31);
  Figures a = w.Measure(now, WindowPolicy{});
  Figures b = r.Measure(now, WindowPolicy{});
  EXPECT_EQ(a.sends, b.sends);
  EXPECT_EQ(a.hard_bounces, b.hard_bounces);
  EXPECT_EQ(a.complaints, b.complaints);
  EXPECT_EQ(a.oldest_send, b.oldest_send);
  // The rebuilt index works, and the fresh start still applies.
  EXPECT_TRUE(r.RecordHardBounce(kT0 + Days(10) + 10h + 5min));
  EXPECT_FALSE(r.RecordHardBounce(kT0 + Days(1) + 1h));
  EXPECT_TRUE(r.TakeDirty().size() == 1);
}

TEST(WindowTest, FromBucketsMergesClampsAndDrops) {
  const int64_t h0 = HourOf(kT0);
  std::vector<Bucket> rows = {
      {.hour = h0 + 5, .sends = 10, .fbl_sends = 20, .hard_bounces = 30, .complaints = 40},
      {.hour = h0 + 5, .sends = 5, .fbl_sends = 5, .hard_bounces = 1, .complaints = 1},
      {.hour = h0 + 1, .sends = 100, .fbl_sends = 100},  // before the fresh start
      {.hour = h0 + 7, .sends = 0, .hard_bounces = 3},   // no sends: nothing to count
      {.hour = h0 + 6, .sends = 4, .fbl_sends = -2, .hard_bounces = -1},
  };
  RepWindow r = RepWindow::FromBuckets(rows, kT0 + 3h);
  ASSERT_EQ(r.buckets().size(), 2u);
  const Bucket& b5 = r.buckets()[0];
  EXPECT_EQ(b5.hour, h0 + 5);
  EXPECT_EQ(b5.sends, 15);
  EXPECT_EQ(b5.fbl_sends, 15);
  EXPECT_EQ(b5.hard_bounces, 11);
  EXPECT_EQ(b5.complaints, 11);
  const Bucket& b6 = r.buckets()[1];
  EXPECT_EQ(b6.fbl_sends, 0);
  EXPECT_EQ(b6.hard_bounces, 0);
  EXPECT_TRUE(r.TakeDirty().empty());
}

TEST(WindowTest, TakeDirtyReturnsChangedBucketsOnce) {
  RepWindow w;
  w.RecordSends(kT0, 10, 10);
  w.RecordSends(kT0 + 2h, 10, 10);
  w.RecordSends(kT0 + 1h, 10, 10);
  std::vector<Bucket> dirty = w.TakeDirty();
  ASSERT_EQ(dirty.size(), 3u);
  EXPECT_EQ(dirty[0].hour, HourOf(kT0));
  EXPECT_EQ(dirty[1].hour, HourOf(kT0) + 1);
  EXPECT_EQ(dirty[2].hour, HourOf(kT0) + 2);
  EXPECT_TRUE(w.TakeDirty().empty());

  ASSERT_TRUE(w.RecordHardBounce(kT0 + 1h));
  ASSERT_TRUE(w.RecordComplaint(kT0 + 1h));
  EXPECT_FALSE(w.RecordHardBounce(kT0 + 5h));
  dirty = w.TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_EQ(dirty[0].hard_bounces, 1);
  EXPECT_EQ(dirty[0].complaints, 1);

  // A dirty bucket dropped before it was taken is not returned.
  w.RecordSends(kT0, 1, 1);
  w.RecordSends(kT0 + 2h, 1, 1);
  w.FreshStart(kT0 + 1h);
  dirty = w.TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_EQ(dirty[0].hour, HourOf(kT0) + 2);
}

TEST(WindowTest, ValidatePolicy) {
  EXPECT_TRUE(ValidateWindowPolicy(WindowPolicy{}).ok());
  EXPECT_FALSE(ValidateWindowPolicy(WindowPolicy{.representative_sends = 0}).ok());
  EXPECT_FALSE(ValidateWindowPolicy(WindowPolicy{.max_age = hours(0)}).ok());
}

}  // namespace
}  // namespace herald::reputation
