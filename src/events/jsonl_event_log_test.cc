#include "events/jsonl_event_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <thread>

#include "events/jsonl_reader.h"
#include "tests/fakes/faulty_fs.h"

namespace herald::events {
namespace {

using ::testing::ElementsAre;

constexpr char kDir[] = "/data";
const std::string kPath = std::string(kDir) + "/events.jsonl";

std::string Event(int n) {
  return R"({"eventId":"e)" + std::to_string(n) + R"(","eventType":"Send"})";
}

class JsonlEventLogTest : public ::testing::Test {
 protected:
  std::unique_ptr<JsonlEventLog> OpenLog() {
    JsonlEventLogOptions o;
    o.fs = &fs_;
    auto log = JsonlEventLog::Open(kPath, o);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  spool::FaultyFs fs_;
};

TEST_F(JsonlEventLogTest, PublishedLinesAreDurable) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Publish(Event(1)).ok());
  ASSERT_TRUE(log->Publish(Event(2)).ok());
  fs_.Crash();
  fs_.Restart();
  EXPECT_EQ(fs_.ContentsForTest(kPath),
            std::optional<std::string>(Event(1) + "\n" + Event(2) + "\n"));
}

TEST_F(JsonlEventLogTest, SeveralLinesInOneCallLandTogether) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Publish(Event(1) + "\n" + Event(2)).ok());
  ASSERT_TRUE(log->Publish(Event(3) + "\n").ok());  // a trailing newline is fine
  EXPECT_EQ(fs_.ContentsForTest(kPath),
            std::optional<std::string>(Event(1) + "\n" + Event(2) + "\n" + Event(3) + "\n"));
  // One bad line rejects the whole call.
  EXPECT_EQ(log->Publish(Event(4) + "\nnot json").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Publish(Event(4) + "\n\n" + Event(5)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadLastLines(fs_, kPath, 10)->size(), 3u);
}

TEST_F(JsonlEventLogTest, RejectsLinesThatWouldCorruptTheLog) {
  auto log = OpenLog();
  EXPECT_EQ(log->Publish("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Publish("\n").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Publish("{\"eventId\":\"a\"}\r").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Publish("{\"eventId\":\"a\"}\n{}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Publish("{\"eventId\":\"a\"").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Publish("[1,2]").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Publish("{\"eventType\":\"Send\"}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Publish("{\"eventId\":7}").code(), StatusCode::kInvalidArgument);
  std::string big = "{\"eventId\":\"x\",\"pad\":\"" + std::string(2 << 20, 'a') + "\"}";
  EXPECT_EQ(log->Publish(big).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fs_.ContentsForTest(kPath), std::optional<std::string>(""));
}

TEST_F(JsonlEventLogTest, FailedSyncMakesTheLogUnhealthy) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Publish(Event(1)).ok());
  fs_.FailSyncs(true);
  EXPECT_EQ(log->Publish(Event(2)).code(), StatusCode::kUnavailable);
  EXPECT_STREQ(log->UnhealthyReason(), "event log fdatasync failed");
  fs_.FailSyncs(false);
  EXPECT_EQ(log->Publish(Event(3)).code(), StatusCode::kUnavailable);
}

TEST_F(JsonlEventLogTest, TornLastLineIsTruncatedAtOpen) {
  fs_.WriteFileForTest(kPath, Event(1) + "\n" + Event(2).substr(0, 10));
  ASSERT_TRUE(fs_.CreateDir(kDir).ok());
  auto log = OpenLog();
  ASSERT_TRUE(log->Publish(Event(3)).ok());
  EXPECT_EQ(fs_.ContentsForTest(kPath),
            std::optional<std::string>(Event(1) + "\n" + Event(3) + "\n"));
}

TEST_F(JsonlEventLogTest, ConcurrentPublishersAllLandAsWholeLines) {
  auto log = OpenLog();
  constexpr int kThreads = 12;
  constexpr int kEach = 30;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        EXPECT_TRUE(log->Publish(Event(t * 1000 + i)).ok());
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_LE(log->batches(), static_cast<uint64_t>(kThreads * kEach));
  fs_.Crash();
  fs_.Restart();
  auto lines = ReadLastLines(fs_, kPath, 100000);
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::string> unique(lines->begin(), lines->end());
  EXPECT_EQ(unique.size(), lines->size());
  EXPECT_TRUE(unique.count(Event(11 * 1000 + 29)));
}

TEST_F(JsonlEventLogTest, EveryAcknowledgedEventSurvivesACrashAtAnyPoint) {
  for (int crash_at = 0; crash_at < 40; ++crash_at) {
    spool::FaultyFs fs;
    JsonlEventLogOptions o;
    o.fs = &fs;
    std::vector<std::string> acked;
    {
      auto log = JsonlEventLog::Open(kPath, o);
      ASSERT_TRUE(log.ok());
      fs.CrashAfterOps(crash_at, crash_at % 2 ? 77 + crash_at : 0);
      for (int i = 0; i < 30; ++i) {
        if (!(*log)->Publish(Event(i)).ok()) {
          break;
        }
        acked.push_back(Event(i));
      }
      if (!fs.crashed()) {
        fs.Crash();
      }
    }
    fs.Restart();
    auto log = JsonlEventLog::Open(kPath, o);  // repairs a torn tail
    ASSERT_TRUE(log.ok());
    auto lines = ReadLastLines(fs, kPath, 1000);
    ASSERT_TRUE(lines.ok());
    ASSERT_GE(lines->size(), acked.size()) << crash_at;
    for (size_t i = 0; i < acked.size(); ++i) {
      EXPECT_EQ((*lines)[i], acked[i]) << crash_at;
    }
    for (const std::string& l : *lines) {
      EXPECT_TRUE(l.starts_with("{\"eventId\":\"e")) << crash_at << ": " << l;
    }
  }
}

TEST(JsonlEventLogPosixTest, AppendsToARealFile) {
  char tmpl[] = "/tmp/herald_events_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  {
    auto log = JsonlEventLog::Open(std::string(tmpl) + "/events.jsonl");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE((*log)->Publish(Event(1)).ok());
    ASSERT_TRUE((*log)->Publish(Event(2)).ok());
  }
  auto lines = ReadLastLines(std::string(tmpl) + "/events.jsonl", 1);
  ASSERT_TRUE(lines.ok());
  EXPECT_THAT(*lines, ElementsAre(Event(2)));
  EventFollower follower(std::string(tmpl) + "/events.jsonl");
  ASSERT_TRUE(follower.SkipToEnd().ok());
  EXPECT_THAT(*follower.Poll(), ::testing::IsEmpty());
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace herald::events
