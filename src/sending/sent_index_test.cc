#include "sending/sent_index.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "sending/sending_service_impl.h"
#include "sending/ses_events.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/faulty_fs.h"

namespace herald::sending {
namespace {

// A Send event line as the sending path publishes it.
std::string SendLine(const std::string& id, const std::vector<std::string>& rcpts,
                     int64_t account = 7) {
  nlohmann::json mail = {{"messageId", id},
                         {"source", "news@acme.test"},
                         {"sendingAccountId", SendingAccountId(account)},
                         {"destination", rcpts},
                         {"headers", nlohmann::json::array()}};
  return EventLine("Send", mail, "send", nlohmann::json::object());
}

class Sink final : public events::EventSink {
 public:
  Status Publish(const std::string& lines) override {
    if (fail) return UnavailableError("disk full");
    published += lines;
    return Status::Ok();
  }
  bool fail = false;
  std::string published;
};

TEST(SentIndexTest, LearnsSendEventsOnly) {
  FakeClock clock;
  SentIndex index(1 << 20);
  const std::string id = NewMessageId(clock.Now());
  const std::string other = NewMessageId(clock.Now());
  nlohmann::json delivery_mail = {{"messageId", other}, {"destination", {"x@y.test"}}};
  const std::string lines =
      SendLine(id, {"Alice@Example.test", "bob@example.test"}) + "\n" +
      EventLine("Delivery", delivery_mail, "delivery", {{"recipients", {"x@y.test"}}}) +
      "\nnot json at all\n{\"eventType\":\"Send\",\"mail\":{\"messageId\":\"not-a-herald-id\"}}";
  EXPECT_EQ(index.ObserveEvents(lines), 1u);
  EXPECT_EQ(index.Find(other), nullptr);
  SentMessagePtr m = index.Find(id);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->account_id, 7);
  EXPECT_EQ(m->recipients, (std::vector<std::string>{"Alice@Example.test", "bob@example.test"}));
  EXPECT_EQ(m->accepted, FromUnixMillis(UnixMillis(clock.Now())));
  nlohmann::json mail = nlohmann::json::parse(m->mail_json);
  EXPECT_EQ(mail["messageId"], id);
  EXPECT_EQ(mail["source"], "news@acme.test");
}

TEST(SentIndexTest, LatestToIsTheNewestWithinTheWindowAnyCase) {
  FakeClock clock;
  SentIndex index(1 << 20);
  const SysTime t0 = clock.Now();
  const std::string first = NewMessageId(clock.Now());
  clock.Advance(std::chrono::hours(1));
  const std::string second = NewMessageId(clock.Now());
  index.ObserveEvents(SendLine(first, {"carol@example.test"}));
  index.ObserveEvents(SendLine(second, {"x@example.test", "CAROL@example.test"}));
  SentMessagePtr m = index.LatestTo("Carol@Example.Test", t0);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->message_id, second);
  EXPECT_EQ(index.LatestTo("carol@example.test", clock.Now() + std::chrono::seconds(1)), nullptr);
  EXPECT_EQ(index.LatestTo("nobody@example.test", t0), nullptr);
}

TEST(SentIndexTest, DropsOldestBeyondItsBudget) {
  FakeClock clock;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(NewMessageId(clock.Now()));
    clock.Advance(std::chrono::seconds(1));
  }
  SentIndex probe(1 << 20);
  probe.ObserveEvents(SendLine(ids[0], {"dave@example.test"}));
  const size_t one = probe.bytes();
  SentIndex index(2 * one + one / 2);  // room for two entries
  index.ObserveEvents(SendLine(ids[0], {"dave@example.test"}));
  index.ObserveEvents(SendLine(ids[1], {"erin@example.test"}));
  index.ObserveEvents(SendLine(ids[2], {"dave@example.test"}));
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.Find(ids[0]), nullptr);
  ASSERT_NE(index.Find(ids[1]), nullptr);
  ASSERT_NE(index.LatestTo("dave@example.test", SysTime()), nullptr);
  EXPECT_EQ(index.LatestTo("dave@example.test", SysTime())->message_id, ids[2]);
  EXPECT_LE(index.bytes(), 2 * one + one / 2);
}

TEST(SentIndexTest, DecoratorLearnsOnlyWhatWasPublished) {
  FakeClock clock;
  SentIndex index(1 << 20);
  Sink sink;
  IndexingEventSink decorated(sink, index);
  const std::string a = NewMessageId(clock.Now());
  const std::string b = NewMessageId(clock.Now());
  sink.fail = true;
  EXPECT_FALSE(decorated.Publish(SendLine(a, {"f@example.test"})).ok());
  sink.fail = false;
  EXPECT_TRUE(decorated.Publish(SendLine(b, {"g@example.test"})).ok());
  EXPECT_EQ(index.Find(a), nullptr);
  EXPECT_NE(index.Find(b), nullptr);
  EXPECT_NE(sink.published.find(b), std::string::npos);
}

TEST(SentIndexTest, ReplaysTheTailOfTheEventLog) {
  FakeClock clock;
  spool::FaultyFs fs;
  const std::string a = NewMessageId(clock.Now());
  const std::string b = NewMessageId(clock.Now());
  fs.WriteFileForTest("/events.jsonl", SendLine(a, {"h@example.test"}) + "\n" +
                                           SendLine(b, {"i@example.test"}) + "\n");
  SentIndex index(1 << 20);
  StatusOr<size_t> n = index.ReplayEventLog(fs, "/events.jsonl", 1);  // the last line only
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(index.Find(a), nullptr);
  EXPECT_NE(index.Find(b), nullptr);
  StatusOr<size_t> none = index.ReplayEventLog(fs, "/missing.jsonl", 10);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);
}

}  // namespace
}  // namespace herald::sending
