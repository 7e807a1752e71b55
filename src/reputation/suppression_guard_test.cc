#include "reputation/suppression_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace herald::reputation {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const SysTime kT0 = FromUnixMillis(1795000000000);

TEST(SuppressionGuardTest, KeyParts) {
  EXPECT_EQ(GuardDestination("Bob@Mail.Example.COM"), "mail.example.com");
  EXPECT_EQ(GuardDestination("no-at-sign"), "");
  EXPECT_EQ(DiagnosticShape("smtp; 550 5.1.1 <Bob@x.test>: Recipient  address rejected"),
            "smtp; 550 5.1.1 <*>: recipient address rejected");
  EXPECT_EQ(DiagnosticShape("smtp; 550 5.1.1 <ann@x.test>: Recipient address rejected"),
            DiagnosticShape("smtp; 550 5.1.1 <bob@x.test>: recipient address rejected"));
  EXPECT_EQ(DiagnosticShape("554 rejected, queue id 20261122ABCD for joe@x.test"),
            "554 rejected, queue id #abcd for *@*");
  EXPECT_NE(DiagnosticShape("550 5.1.1 user unknown"), DiagnosticShape("550 5.7.1 blocked"));
}

// Ordinary hard bounces pass after the hold, in order, and nothing is kept.
TEST(SuppressionGuardTest, QuietBouncesPassAfterTheHold) {
  SuppressionGuard<int> g({.window = seconds(600), .burst_threshold = 3});
  g.Offer("a@x.test", "550 5.1.1 <a@x.test> unknown", kT0, kT0, 1);
  g.Offer("b@y.test", "550 5.1.1 <b@y.test> unknown", kT0 + seconds(10), kT0 + seconds(10), 2);
  EXPECT_TRUE(g.Release(kT0 + seconds(599)).empty()) << "held for the window";
  EXPECT_EQ(g.Release(kT0 + seconds(600)), std::vector<int>{1});
  EXPECT_EQ(g.Release(kT0 + seconds(610)), std::vector<int>{2});
  EXPECT_EQ(g.held(), 0u);
  EXPECT_TRUE(g.Cases().empty());
}

// A burst at one destination with one diagnostic becomes a case: what was pending and
// what comes later is held until the operator decides.
TEST(SuppressionGuardTest, BurstIsHeldUntilConfirmedOrReleased) {
  SuppressionGuard<std::string> g({.window = seconds(600), .burst_threshold = 3});
  for (int i = 0; i < 4; ++i) g.Sent("r" + std::to_string(i) + "@relay.test", kT0);
  g.Sent("other@else.test", kT0);
  g.Offer("other@else.test", "550 5.1.1 unknown", kT0, kT0, "else");
  for (int i = 0; i < 3; ++i) {
    std::string r = "r" + std::to_string(i) + "@relay.test";
    g.Offer(r, "554 5.7.1 <" + r + ">: Relay access denied", kT0 + seconds(i), kT0 + seconds(i), r);
  }
  ASSERT_EQ(g.Cases().size(), 1u);
  GuardCaseInfo c = g.Cases()[0];
  EXPECT_EQ(c.destination, "relay.test");
  EXPECT_EQ(c.shape, "554 5.7.1 <*>: relay access denied");
  EXPECT_EQ(c.held, 3u);
  EXPECT_EQ(c.recipients.size(), 3u);
  EXPECT_EQ(c.sample, "554 5.7.1 <r0@relay.test>: Relay access denied");
  // Later ones with the same key join the case, even after the window.
  g.Offer("r7@Relay.test", "554 5.7.1 <r7@relay.test>: relay access denied", kT0 + minutes(30),
          kT0 + minutes(30), "r7");
  EXPECT_EQ(g.Cases()[0].held, 4u);
  // Only the unrelated bounce is released.
  EXPECT_EQ(g.Release(kT0 + minutes(60)), std::vector<std::string>{"else"});
  EXPECT_EQ(g.held(), 4u);

  auto confirmed = g.Confirm(c.id);
  ASSERT_TRUE(confirmed.has_value());
  EXPECT_EQ(confirmed->size(), 4u);
  EXPECT_FALSE(g.Confirm(c.id).has_value()) << "a case closes once";
  EXPECT_EQ(g.held(), 0u);

  // After the case, the key starts afresh; a second burst can be released (dropped).
  for (int i = 0; i < 3; ++i) {
    std::string r = "s" + std::to_string(i) + "@relay.test";
    g.Offer(r, "554 5.7.1 <" + r + ">: Relay access denied", kT0 + minutes(61), kT0 + minutes(61),
            r);
  }
  ASSERT_EQ(g.Cases().size(), 1u);
  EXPECT_EQ(g.Release(g.Cases()[0].id), std::optional<size_t>(3));
  EXPECT_TRUE(g.Release(kT0 + minutes(200)).empty()) << "released items are dropped";
  EXPECT_EQ(g.held(), 0u);
}

// A provider with much traffic and a few dead addresses: the same text, but a small
// share of the sends there, is no burst.
TEST(SuppressionGuardTest, SmallShareOfABigDestinationIsNoBurst) {
  SuppressionGuard<int> g({.window = seconds(600), .burst_threshold = 3, .burst_fraction = 0.5});
  for (int i = 0; i < 100; ++i) g.Sent("u" + std::to_string(i) + "@big.test", kT0);
  for (int i = 0; i < 5; ++i) {
    g.Offer("u" + std::to_string(i) + "@big.test", "550 5.1.1 The account does not exist",
            kT0 + seconds(i), kT0 + seconds(i), i);
  }
  EXPECT_TRUE(g.Cases().empty());
  EXPECT_EQ(g.Release(kT0 + minutes(20)).size(), 5u);
}

// Outside the window the bounces do not add up; one recipient repeated is one.
TEST(SuppressionGuardTest, SpreadOutOrRepeatedIsNoBurst) {
  SuppressionGuard<int> g({.window = seconds(60), .burst_threshold = 3});
  g.Offer("a@x.test", "550 no", kT0, kT0, 1);
  g.Offer("b@x.test", "550 no", kT0 + seconds(61), kT0 + seconds(61), 2);
  g.Offer("c@x.test", "550 no", kT0 + seconds(122), kT0 + seconds(122), 3);
  for (int i = 0; i < 5; ++i)
    g.Offer("d@x.test", "550 no", kT0 + seconds(130), kT0 + seconds(130), 10 + i);
  EXPECT_TRUE(g.Cases().empty());
}

// Reports about mail sent long ago are never guarded: the recent sends say nothing about
// them, and a burst is made of refusals at delivery time.
TEST(SuppressionGuardTest, LateOutcomesPass) {
  SuppressionGuard<int> g(
      {.window = seconds(600), .burst_threshold = 2, .send_window = seconds(3600)});
  const SysTime sent = kT0 - std::chrono::hours(30);
  for (int i = 0; i < 5; ++i) {
    g.Offer("u" + std::to_string(i) + "@x.test", "550 5.1.1 unknown", sent, kT0, i);
  }
  EXPECT_TRUE(g.Cases().empty());
  EXPECT_EQ(g.Release(kT0).size(), 5u) << "not even held for the window";
}

// Disabled, or over max_held, the guard passes everything through at once.
TEST(SuppressionGuardTest, FailsOpen) {
  SuppressionGuard<int> off({.enabled = false, .burst_threshold = 1});
  off.Offer("a@x.test", "550 no", kT0, kT0, 1);
  EXPECT_EQ(off.Release(kT0), std::vector<int>{1});
  SuppressionGuard<int> full({.window = seconds(600), .burst_threshold = 100, .max_held = 2});
  full.Offer("a@x.test", "550 no", kT0, kT0, 1);
  full.Offer("b@x.test", "550 no", kT0, kT0, 2);
  full.Offer("c@x.test", "550 no", kT0, kT0, 3);
  EXPECT_EQ(full.Release(kT0), std::vector<int>{3});
}

// A persisted case comes back after a restart and keeps collecting its key.
TEST(SuppressionGuardTest, RestoredCaseCollectsItsKey) {
  SuppressionGuard<int> g({.window = seconds(600), .burst_threshold = 3});
  GuardCaseInfo info;
  info.id = 7;
  info.destination = "relay.test";
  info.shape = "554 relay access denied";
  g.Restore(info, {1, 2, 3});
  g.Offer("z@relay.test", "554 Relay access denied", kT0, kT0, 4);
  ASSERT_EQ(g.Cases().size(), 1u);
  EXPECT_EQ(g.Cases()[0].held, 4u);
  EXPECT_EQ(*g.CaseItems(7), (std::vector<int>{1, 2, 3, 4}));
  EXPECT_EQ(g.Confirm(7)->size(), 4u);
}

}  // namespace
}  // namespace herald::reputation
