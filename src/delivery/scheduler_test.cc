#include "delivery/scheduler.h"

#include <gtest/gtest.h>

#include <variant>

namespace herald::delivery {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;
using Kind = Decision::Kind;

SysTime T0() { return FromUnixMillis(1795000000000); }

Destination Hosts(const std::string& key) {
  Destination d;
  d.kind = Destination::Kind::kHosts;
  d.key = key;
  d.hosts = {MxHost{"mx." + key, 10, 25}};
  return d;
}

std::shared_ptr<const feedback::Verdict> Reply(int code, const std::string& text) {
  return std::make_shared<feedback::Verdict>(feedback::ClassifySmtpReply(code, text));
}

MessageRef Msg(const std::string& id, SysTime accepted, seconds max = seconds(50400)) {
  MessageRef m;
  m.id = id;
  m.account_id = 1;
  m.accepted = accepted;
  m.max_delivery = max;
  return m;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() : s_(Config()) {}
  static SchedulerConfig Config() {
    SchedulerConfig c;
    c.max_connections_per_destination = 2;
    c.retry_schedule = {seconds(60), seconds(300), seconds(900)};
    return c;
  }

  // Answers every pending route lookup with `route(domain)`.
  std::vector<Decision> ResolveAll(const std::function<Destination(const std::string&)>& route) {
    std::vector<Decision> out;
    std::vector<ConnectJob> connects;
    while (auto job = s_.NextJob(now_)) {
      if (auto* r = std::get_if<ResolveJob>(&*job)) {
        auto d = s_.OnResolved(r->domain, route(r->domain), now_);
        out.insert(out.end(), d.begin(), d.end());
      } else {
        connects_.push_back(std::get<ConnectJob>(*job));
      }
    }
    return out;
  }

  Scheduler s_;
  SysTime now_ = T0();
  std::vector<ConnectJob> connects_;
};

TEST_F(SchedulerTest, SharedDestinationQueueAndDelivery) {
  s_.Enqueue(Msg("m1", now_), {{0, "a@one.test"}, {1, "b@two.test"}}, now_);
  EXPECT_EQ(s_.QueuedRecipients(), 2u);
  auto d = ResolveAll([](const std::string&) { return Hosts("mx:mx.shared.test"); });
  EXPECT_TRUE(d.empty());
  // Both domains share one queue; two batches wait, the limit is 2: two connections.
  ASSERT_EQ(connects_.size(), 2u);
  EXPECT_EQ(connects_[0].key, "mx:mx.shared.test");
  auto stats = s_.Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].ready, 2u);
  EXPECT_EQ(stats[0].connections, 2);

  BatchPtr b1 = s_.TakeBatch(connects_[0].connection, now_);
  ASSERT_NE(b1, nullptr);
  ASSERT_EQ(b1->recipients.size(), 1u);  // VERP per recipient
  auto out = s_.OnBatchResult(connects_[0].connection, b1,
                              {{b1->recipients[0].index, true, "250 2.0.0 Ok: queued", nullptr}},
                              false, "127.0.0.1", now_);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kDelivered);
  EXPECT_EQ(out[0].smtp_response, "250 2.0.0 Ok: queued");
  EXPECT_EQ(out[0].remote_address, "127.0.0.1");
  // Connection reuse: the same connection takes the other batch.
  BatchPtr b2 = s_.TakeBatch(connects_[0].connection, now_);
  ASSERT_NE(b2, nullptr);
  EXPECT_NE(b2->recipients[0].address, b1->recipients[0].address);
  EXPECT_EQ(s_.TakeBatch(connects_[1].connection, now_), nullptr);
  s_.OnBatchResult(connects_[0].connection, b2,
                   {{b2->recipients[0].index, true, "250 ok", nullptr}}, false, "", now_);
  EXPECT_EQ(s_.TakeBatch(connects_[0].connection, now_), nullptr);
  s_.OnConnectionClosed(connects_[0].connection);
  s_.OnConnectionClosed(connects_[1].connection);
  EXPECT_EQ(s_.QueuedRecipients(), 0u);
  EXPECT_EQ(b2->message->unfinished, 0u);
  EXPECT_TRUE(s_.Stats().empty());
  EXPECT_EQ(s_.counters().delivered, 2u);
}

TEST_F(SchedulerTest, OneBatchPerDomainWithoutVerp) {
  SchedulerConfig c = Config();
  c.verp_per_recipient = false;
  Scheduler s(c);
  s.Enqueue(Msg("m1", now_), {{0, "a@one.test"}, {1, "b@one.test"}, {2, "c@two.test"}}, now_);
  std::vector<ConnectJob> jobs;
  while (auto job = s.NextJob(now_)) {
    if (auto* r = std::get_if<ResolveJob>(&*job)) {
      s.OnResolved(r->domain, Hosts("k:" + r->domain), now_);
    } else {
      jobs.push_back(std::get<ConnectJob>(*job));
    }
  }
  ASSERT_EQ(jobs.size(), 2u);
  BatchPtr b = s.TakeBatch(jobs[0].connection, now_);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->domain, "one.test");
  EXPECT_EQ(b->recipients.size(), 2u);
  // Mixed per-recipient results in one transaction.
  auto out = s.OnBatchResult(jobs[0].connection, b,
                             {{0, true, "250 ok", nullptr},
                              {1, false, "", Reply(550, "5.1.1 <b@one.test>: User unknown")}},
                             false, "", now_);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Kind::kDelivered);
  EXPECT_EQ(out[1].kind, Kind::kBounced);
  EXPECT_EQ(out[1].verdict->bounce_type, "Permanent");
  EXPECT_EQ(out[1].verdict->status, "5.1.1");
  EXPECT_EQ(s.QueuedRecipients(), 1u);
}

TEST_F(SchedulerTest, GreylistingThenDelivery) {
  s_.Enqueue(Msg("m1", now_), {{0, "a@grey.test"}}, now_);
  ResolveAll([](const std::string&) { return Hosts("mx:grey"); });
  ASSERT_EQ(connects_.size(), 1u);
  uint64_t c = connects_[0].connection;
  BatchPtr b = s_.TakeBatch(c, now_);
  auto out = s_.OnBatchResult(c, b, {{0, false, "", Reply(451, "4.7.1 Greylisted, try later")}},
                              false, "", now_);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kDeferred);
  EXPECT_EQ(out[0].next_attempt, now_ + seconds(60));
  EXPECT_EQ(out[0].expiration, now_ + seconds(50400));
  EXPECT_EQ(out[0].verdict->action, "delayed");
  s_.OnConnectionClosed(c);
  connects_.clear();
  EXPECT_EQ(s_.NextWakeup(now_), now_ + seconds(60));
  // Not yet due.
  now_ += seconds(59);
  EXPECT_TRUE(s_.Tick(now_).empty());
  EXPECT_FALSE(s_.NextJob(now_).has_value());
  now_ += seconds(1);
  EXPECT_TRUE(s_.Tick(now_).empty());
  ResolveAll([](const std::string&) { return Hosts("mx:grey"); });  // route still cached
  ASSERT_EQ(connects_.size(), 1u);
  b = s_.TakeBatch(connects_[0].connection, now_);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->attempts, 1u);
  out =
      s_.OnBatchResult(connects_[0].connection, b, {{0, true, "250 ok", nullptr}}, false, "", now_);
  EXPECT_EQ(out[0].kind, Kind::kDelivered);
  EXPECT_EQ(s_.QueuedRecipients(), 0u);
}

TEST_F(SchedulerTest, RetriesForHoursThenTransientBounce) {
  // A destination that never answers: four hours of retries run without sleeping.
  s_.Enqueue(Msg("m1", now_, seconds(4 * 3600)), {{0, "a@down.test"}}, now_);
  int attempts = 0;
  std::vector<SysTime> attempt_times;
  std::optional<Decision> last;
  for (int guard = 0; guard < 1000 && s_.QueuedRecipients() > 0; ++guard) {
    s_.Tick(now_);
    while (auto job = s_.NextJob(now_)) {
      if (auto* r = std::get_if<ResolveJob>(&*job)) {
        s_.OnResolved(r->domain, Hosts("mx:down"), now_);
        continue;
      }
      auto cj = std::get<ConnectJob>(*job);
      BatchPtr b = s_.TakeBatch(cj.connection, now_);
      ASSERT_NE(b, nullptr);
      ++attempts;
      attempt_times.push_back(now_);
      auto v = std::make_shared<feedback::Verdict>(feedback::MakeVerdict(
          feedback::Reason::kNetworkError, false, "4.4.1", "smtp; 421 4.4.1 Connection refused"));
      auto out = s_.OnConnectionFailed(cj.connection, b, v, true, now_);
      ASSERT_EQ(out.size(), 1u);
      last = out[0];
      s_.OnConnectionClosed(cj.connection);
    }
    auto wake = s_.NextWakeup(now_);
    if (!wake) break;
    now_ = std::max(now_, *wake);
  }
  EXPECT_EQ(s_.QueuedRecipients(), 0u);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->kind, Kind::kBounced);
  EXPECT_EQ(last->verdict->bounce_type, "Transient");
  EXPECT_EQ(last->verdict->reason, feedback::Reason::kExpired);
  EXPECT_NE(last->verdict->diagnostic_code.find("Connection refused"), std::string::npos);
  // Schedule 1, 5, 15, 15, ... minutes, the last attempt exactly at the deadline.
  ASSERT_GE(attempt_times.size(), 4u);
  EXPECT_EQ(attempt_times[1] - attempt_times[0], seconds(60));
  EXPECT_EQ(attempt_times[2] - attempt_times[1], seconds(300));
  EXPECT_EQ(attempt_times[3] - attempt_times[2], seconds(900));
  EXPECT_EQ(attempt_times.back(), T0() + hours(4));
  EXPECT_EQ(attempts, static_cast<int>(attempt_times.size()));
  // 0 and 1 and 6 minutes, then every 15 minutes from 6 to 231, then the deadline (240).
  EXPECT_EQ(attempts, 2 + 16 + 1);
}

TEST_F(SchedulerTest, NullMxAndNxdomainBounceAtOnceAndStayCached) {
  s_.Enqueue(Msg("m1", now_), {{0, "a@null.test"}, {1, "b@nx.test"}}, now_);
  auto out = ResolveAll([](const std::string& domain) {
    Destination d;
    d.kind = domain == "null.test" ? Destination::Kind::kNullMx : Destination::Kind::kNoSuchDomain;
    return d;
  });
  ASSERT_EQ(out.size(), 2u);
  for (const auto& d : out) {
    EXPECT_EQ(d.kind, Kind::kBounced);
    EXPECT_EQ(d.verdict->bounce_type, "Permanent");
  }
  EXPECT_EQ(
      out[0].recipient.address == "a@null.test" ? out[0].verdict->status : out[1].verdict->status,
      "5.1.10");
  // The next message to the same domain bounces without a lookup.
  auto again = s_.Enqueue(Msg("m2", now_), {{0, "c@null.test"}}, now_);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].kind, Kind::kBounced);
  EXPECT_FALSE(s_.NextJob(now_).has_value());
  EXPECT_EQ(s_.QueuedRecipients(), 0u);
}

TEST_F(SchedulerTest, DnsFailureDefersAndIsNotCached) {
  s_.Enqueue(Msg("m1", now_), {{0, "a@flaky.test"}}, now_);
  auto out = ResolveAll([](const std::string&) {
    Destination d;
    d.kind = Destination::Kind::kTempFail;
    d.detail = "SERVFAIL";
    return d;
  });
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, Kind::kDeferred);
  EXPECT_NE(out[0].verdict->diagnostic_code.find("SERVFAIL"), std::string::npos);
  auto stats = s_.Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].key, "dns:flaky.test");
  EXPECT_EQ(stats[0].deferred, 1u);
  now_ += seconds(60);
  s_.Tick(now_);
  auto job = s_.NextJob(now_);
  ASSERT_TRUE(job.has_value());
  EXPECT_TRUE(std::holds_alternative<ResolveJob>(*job));  // asked again
}

TEST_F(SchedulerTest, DestinationDownDefersEverythingReadyAndPauses) {
  std::vector<QueuedRecipient> rs;
  for (uint32_t i = 0; i < 5; ++i) rs.push_back({i, "u" + std::to_string(i) + "@d.test"});
  s_.Enqueue(Msg("m1", now_), rs, now_);
  ResolveAll([](const std::string&) { return Hosts("mx:d"); });
  ASSERT_EQ(connects_.size(), 2u);
  BatchPtr b = s_.TakeBatch(connects_[0].connection, now_);
  auto v = std::make_shared<feedback::Verdict>(feedback::MakeVerdict(
      feedback::Reason::kNetworkError, false, "4.4.1", "smtp; 421 4.4.1 connect timed out"));
  auto out = s_.OnConnectionFailed(connects_[0].connection, b, v, true, now_);
  EXPECT_EQ(out.size(), 5u);
  for (const auto& d : out) EXPECT_EQ(d.kind, Kind::kDeferred);
  // The second connection finds nothing to do; no new connection while paused.
  EXPECT_EQ(s_.TakeBatch(connects_[1].connection, now_), nullptr);
  s_.OnConnectionClosed(connects_[0].connection);
  s_.OnConnectionClosed(connects_[1].connection);
  EXPECT_FALSE(s_.NextJob(now_).has_value());
  auto stats = s_.Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].deferred, 5u);
  EXPECT_EQ(stats[0].last_reply, "smtp; 421 4.4.1 connect timed out");
  // An operator's retry-now brings them back at once.
  EXPECT_EQ(s_.RetryNow("mx:d", now_), 5u);
  s_.Tick(now_);
  EXPECT_TRUE(s_.NextJob(now_).has_value());
}

TEST_F(SchedulerTest, ThrottlingHalvesTheLimitAndPauses) {
  SchedulerConfig c = Config();
  c.max_connections_per_destination = 8;
  Scheduler s(c);
  std::vector<QueuedRecipient> rs;
  for (uint32_t i = 0; i < 20; ++i) rs.push_back({i, "u" + std::to_string(i) + "@t.test"});
  s.Enqueue(Msg("m1", now_), rs, now_);
  std::vector<ConnectJob> jobs;
  while (auto job = s.NextJob(now_)) {
    if (auto* r = std::get_if<ResolveJob>(&*job)) {
      s.OnResolved(r->domain, Hosts("mx:t"), now_);
    } else {
      jobs.push_back(std::get<ConnectJob>(*job));
    }
  }
  EXPECT_EQ(jobs.size(), 8u);
  BatchPtr b = s.TakeBatch(jobs[0].connection, now_);
  s.OnBatchResult(jobs[0].connection, b,
                  {{b->recipients[0].index, false, "", Reply(421, "4.7.0 Too many connections")}},
                  true, "", now_);
  auto stats = s.Stats();
  EXPECT_EQ(stats[0].connection_limit, 4);
  EXPECT_GT(stats[0].paused_until, now_);
  EXPECT_EQ(s.TakeBatch(jobs[1].connection, now_), nullptr);  // paused
  for (auto& j : jobs) s.OnConnectionClosed(j.connection);
  now_ += seconds(61);
  s.Tick(now_);
  int opened = 0;
  while (auto job = s.NextJob(now_)) {
    if (std::holds_alternative<ConnectJob>(*job)) ++opened;
  }
  EXPECT_EQ(opened, 4);
  EXPECT_EQ(s.counters().throttled, 1u);
}

TEST_F(SchedulerTest, HoldReleaseAndBounceMessage) {
  s_.Hold("mx:h");
  s_.Enqueue(Msg("m1", now_), {{0, "a@h.test"}, {1, "b@h.test"}}, now_);
  s_.Enqueue(Msg("m2", now_), {{0, "c@h.test"}}, now_);
  ResolveAll([](const std::string&) { return Hosts("mx:h"); });
  EXPECT_TRUE(connects_.empty());
  auto stats = s_.Stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_TRUE(stats[0].held);
  EXPECT_EQ(stats[0].ready, 3u);
  auto v = std::make_shared<feedback::Verdict>(feedback::MakeVerdict(
      feedback::Reason::kPolicy, true, "5.3.0", "smtp; 554 5.3.0 Deleted by the operator"));
  auto out = s_.BounceMessage("m1", v, now_);
  EXPECT_EQ(out.size(), 2u);
  EXPECT_EQ(s_.QueuedRecipients(), 1u);
  s_.Release("mx:h");
  ResolveAll([](const std::string&) { return Hosts("mx:h"); });
  EXPECT_EQ(connects_.size(), 1u);
}

TEST_F(SchedulerTest, RateLimitPerDestination) {
  SchedulerConfig c = Config();
  c.max_messages_per_second_per_destination = 2;
  Scheduler s(c);
  std::vector<QueuedRecipient> rs;
  for (uint32_t i = 0; i < 5; ++i) rs.push_back({i, "u" + std::to_string(i) + "@r.test"});
  s.Enqueue(Msg("m1", now_), rs, now_);
  std::vector<ConnectJob> jobs;
  while (auto job = s.NextJob(now_)) {
    if (auto* r = std::get_if<ResolveJob>(&*job)) {
      s.OnResolved(r->domain, Hosts("mx:r"), now_);
    } else {
      jobs.push_back(std::get<ConnectJob>(*job));
    }
  }
  ASSERT_EQ(jobs.size(), 1u);  // a rate-limited destination gets one connection at a time
  int taken = 0;
  while (auto b = s.TakeBatch(jobs[0].connection, now_)) {
    ++taken;
    s.OnBatchResult(jobs[0].connection, b, {{b->recipients[0].index, true, "250", nullptr}}, false,
                    "", now_);
  }
  EXPECT_EQ(taken, 2);
  now_ += std::chrono::milliseconds(500);
  EXPECT_NE(s.TakeBatch(jobs[0].connection, now_), nullptr);
  EXPECT_EQ(s.TakeBatch(jobs[0].connection, now_), nullptr);
}

TEST_F(SchedulerTest, MessagesPerConnectionCap) {
  SchedulerConfig c = Config();
  c.max_messages_per_connection = 2;
  c.max_connections_per_destination = 1;
  Scheduler s(c);
  std::vector<QueuedRecipient> rs;
  for (uint32_t i = 0; i < 3; ++i) rs.push_back({i, "u" + std::to_string(i) + "@c.test"});
  s.Enqueue(Msg("m1", now_), rs, now_);
  std::vector<ConnectJob> jobs;
  while (auto job = s.NextJob(now_)) {
    if (auto* r = std::get_if<ResolveJob>(&*job)) {
      s.OnResolved(r->domain, Hosts("mx:c"), now_);
    } else {
      jobs.push_back(std::get<ConnectJob>(*job));
    }
  }
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_NE(s.TakeBatch(jobs[0].connection, now_), nullptr);
  EXPECT_NE(s.TakeBatch(jobs[0].connection, now_), nullptr);
  EXPECT_EQ(s.TakeBatch(jobs[0].connection, now_), nullptr);
  s.OnConnectionClosed(jobs[0].connection);
  auto job = s.NextJob(now_);
  ASSERT_TRUE(job.has_value());
  EXPECT_TRUE(std::holds_alternative<ConnectJob>(*job));
}

}  // namespace
}  // namespace herald::delivery
