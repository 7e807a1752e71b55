#include "sending/feedback_inbox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/faulty_fs.h"

namespace herald::sending {
namespace {

InboundFeedback Message(FakeClock& clock, const std::string& body) {
  InboundFeedback m;
  m.received = clock.Now();
  m.peer_ip = "192.0.2.7";
  m.mail_from = "";
  m.recipients = {"b-token@bounces.herald.test"};
  m.message = body;
  return m;
}

TEST(FeedbackInboxTest, StoredMessageSurvivesACrashWithItsEnvelope) {
  FakeClock clock;
  spool::FaultyFs fs;
  auto inbox = FeedbackInbox::Open(fs, "/data/feedback", 10);
  ASSERT_TRUE(inbox.ok()) << inbox.status().ToString();
  InboundFeedback m = Message(clock, "Subject: bounce\r\n\r\nline one\r\n\r\n");
  ASSERT_TRUE((*inbox)->Store(m).ok());
  EXPECT_TRUE(FeedbackInbox::ValidId(m.id)) << m.id;

  fs.Crash();  // power loss right after the 250
  fs.Restart();
  auto again = FeedbackInbox::Open(fs, "/data/feedback", 10);
  ASSERT_TRUE(again.ok());
  auto pending = (*again)->Pending();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(*pending, std::vector<std::string>{m.id});
  auto back = (*again)->Read(m.id);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->message, m.message);
  EXPECT_EQ(back->recipients, m.recipients);
  EXPECT_EQ(back->mail_from, "");
  EXPECT_EQ(back->peer_ip, "192.0.2.7");
  EXPECT_EQ(UnixMillis(back->received), UnixMillis(m.received));
}

// A Store() that returned OK is never lost, whichever operation the crash hits; one that
// failed leaves no half-written message behind after the restart.
TEST(FeedbackInboxTest, CrashAtEveryStepOfStore) {
  for (int64_t ops = 0; ops < 8; ++ops) {
    for (uint64_t seed : {0u, 7u}) {
      FakeClock clock;
      spool::FaultyFs fs;
      auto inbox = FeedbackInbox::Open(fs, "/fb", 10);
      ASSERT_TRUE(inbox.ok());
      InboundFeedback m = Message(clock, "Subject: x\r\n\r\n" + std::string(5000, 'y') + "\r\n");
      fs.CrashAfterOps(ops, seed);
      const bool stored = (*inbox)->Store(m).ok();
      fs.Crash(seed);
      fs.Restart();
      auto reopened = FeedbackInbox::Open(fs, "/fb", 10);
      ASSERT_TRUE(reopened.ok());
      auto pending = (*reopened)->Pending();
      ASSERT_TRUE(pending.ok());
      if (stored) {
        ASSERT_EQ(pending->size(), 1u) << "ops " << ops;
        auto back = (*reopened)->Read(m.id);
        ASSERT_TRUE(back.ok());
        EXPECT_EQ(back->message, m.message);
      } else {
        for (const auto& id : *pending) {
          // A rename that reached the disk is a complete file (it was synced first).
          auto back = (*reopened)->Read(id);
          ASSERT_TRUE(back.ok());
          EXPECT_EQ(back->message, m.message);
        }
      }
      auto names = fs.ListForTest("/fb/incoming");
      EXPECT_TRUE(
          std::none_of(names.begin(), names.end(),
                       [](const std::string& n) { return n.find(".tmp") != std::string::npos; }))
          << "ops " << ops;
    }
  }
}

TEST(FeedbackInboxTest, FailedSyncIsAnErrorAndLeavesNothing) {
  FakeClock clock;
  spool::FaultyFs fs;
  auto inbox = FeedbackInbox::Open(fs, "/fb", 10);
  ASSERT_TRUE(inbox.ok());
  fs.FailSyncs(true);
  InboundFeedback m = Message(clock, "x\r\n");
  Status st = (*inbox)->Store(m);
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  fs.FailSyncs(false);
  EXPECT_TRUE((*inbox)->Pending()->empty());
  EXPECT_TRUE(fs.ListForTest("/fb/incoming").empty());
}

TEST(FeedbackInboxTest, OrphansAreKeptWithTheirReasonAndBounded) {
  FakeClock clock;
  spool::FaultyFs fs;
  auto inbox = FeedbackInbox::Open(fs, "/fb", 2);
  ASSERT_TRUE(inbox.ok());
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    clock.Advance(std::chrono::seconds(1));
    InboundFeedback m = Message(clock, "orphan " + std::to_string(i) + "\r\n");
    ASSERT_TRUE((*inbox)->Store(m).ok());
    ids.push_back(m.id);
    ASSERT_TRUE((*inbox)->KeepOrphan(m.id, R"({"reason":"uncorrelated"})").ok());
  }
  EXPECT_TRUE((*inbox)->Pending()->empty());
  EXPECT_EQ((*inbox)->orphans(), 2u);
  EXPECT_EQ((*inbox)->pruned(), 1u);
  EXPECT_FALSE(fs.ContentsForTest("/fb/orphans/" + ids[0] + ".msg").has_value());
  auto kept = fs.ContentsForTest("/fb/orphans/" + ids[2] + ".json");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(nlohmann::json::parse(*kept)["reason"], "uncorrelated");
  EXPECT_TRUE(fs.ContentsForTest("/fb/orphans/" + ids[2] + ".msg").has_value());

  // The bound holds across restarts.
  auto again = FeedbackInbox::Open(fs, "/fb", 2);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->orphans(), 2u);
}

TEST(FeedbackInboxTest, RemoveAndIdChecks) {
  FakeClock clock;
  spool::FaultyFs fs;
  auto inbox = FeedbackInbox::Open(fs, "/fb", 2);
  ASSERT_TRUE(inbox.ok());
  InboundFeedback m = Message(clock, "done\r\n");
  ASSERT_TRUE((*inbox)->Store(m).ok());
  ASSERT_TRUE((*inbox)->Remove(m.id).ok());
  EXPECT_TRUE((*inbox)->Pending()->empty());
  EXPECT_EQ((*inbox)->Read("../../etc/passwd").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*inbox)->Remove("0000000000000000-000000000000000g").code(),
            StatusCode::kInvalidArgument);
  fs.WriteFileForTest("/fb/incoming/0000000000000001-0000000000000001.msg", "no envelope");
  EXPECT_EQ((*inbox)->Read("0000000000000001-0000000000000001").status().code(),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace herald::sending
