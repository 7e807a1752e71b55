#include "spool/log_spool.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

#include "tests/fakes/faulty_fs.h"
#include "tests/fakes/mem_spool.h"

namespace herald::spool {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kDir[] = "/spool";

SpoolRecord Rec(const std::string& id, uint32_t rcpts = 1, size_t body_bytes = 100) {
  SpoolRecord r;
  r.id = id;
  r.recipient_count = rcpts;
  r.envelope = "envelope of " + id;
  r.body = std::string(body_bytes, static_cast<char>('a' + id.size() % 26)) + id;
  return r;
}

class LogSpoolTest : public ::testing::Test {
 protected:
  LogSpoolOptions Opts() {
    LogSpoolOptions o;
    o.fs = &fs_;
    o.segment_bytes = segment_bytes_;
    return o;
  }
  std::unique_ptr<LogSpool> OpenSpool(bool read_only = false) {
    LogSpoolOptions o = Opts();
    o.read_only = read_only;
    auto s = LogSpool::Open(kDir, o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // Power loss, then a fresh process.
  std::unique_ptr<LogSpool> CrashAndReopen(std::unique_ptr<LogSpool>& spool) {
    fs_.Crash();
    spool.reset();
    fs_.Restart();
    return OpenSpool();
  }
  std::vector<std::string> Segments() {
    std::vector<std::string> out;
    for (const std::string& n : fs_.ListForTest(kDir)) {
      if (n.starts_with("seg-")) {
        out.push_back(n);
      }
    }
    return out;
  }
  static std::vector<std::string> Ids(const std::vector<RecoveredMessage>& v) {
    std::vector<std::string> ids;
    for (const auto& m : v) {
      ids.push_back(m.id);
    }
    return ids;
  }

  FaultyFs fs_;
  uint64_t segment_bytes_ = 64 << 10;
};

TEST_F(LogSpoolTest, StoreReadBodyAndRecoverAfterCrash) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("m1", 2)).ok());
  ASSERT_TRUE(spool->Store(Rec("m2", 1, 5000)).ok());
  EXPECT_EQ(*spool->ReadBody("m2"), Rec("m2", 1, 5000).body);
  EXPECT_EQ(spool->UnhealthyReason(), nullptr);

  spool = CrashAndReopen(spool);
  auto rec = spool->Recover();
  ASSERT_TRUE(rec.ok());
  ASSERT_THAT(Ids(*rec), ElementsAre("m1", "m2"));
  EXPECT_EQ((*rec)[0].recipient_count, 2u);
  EXPECT_EQ((*rec)[0].envelope, "envelope of m1");
  EXPECT_THAT((*rec)[0].done, IsEmpty());
  EXPECT_EQ(*spool->ReadBody("m1"), Rec("m1", 2).body);
  EXPECT_EQ(spool->Stats().corrupt_regions, 0u);
}

TEST_F(LogSpoolTest, RejectsBadInput) {
  auto spool = OpenSpool();
  EXPECT_EQ(spool->Store(Rec("")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(spool->Store(Rec(std::string(256, 'x'))).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(spool->Store(Rec("zero", 0)).code(), StatusCode::kInvalidArgument);
  LogSpoolOptions o = Opts();
  EXPECT_EQ(spool->Store(Rec("huge", 1, o.max_record_bytes)).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(spool->Store(Rec("dup")).ok());
  EXPECT_EQ(spool->Store(Rec("dup")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(spool->MarkDone("nope", {0}).code(), StatusCode::kNotFound);
  EXPECT_EQ(spool->MarkDone("dup", {1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(spool->ReadBody("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(LogSpoolTest, MarkDoneSurvivesCrashAndFullyDoneMessagesStayGone) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("a", 3)).ok());
  ASSERT_TRUE(spool->Store(Rec("b", 1)).ok());
  ASSERT_TRUE(spool->MarkDone("a", {2, 0}).ok());
  ASSERT_TRUE(spool->MarkDone("a", {0}).ok());  // idempotent
  ASSERT_TRUE(spool->MarkDone("b", {0}).ok());
  EXPECT_EQ(spool->ReadBody("b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(spool->MarkDone("b", {0}).code(), StatusCode::kNotFound);

  spool = CrashAndReopen(spool);
  auto rec = spool->Recover();
  ASSERT_TRUE(rec.ok());
  ASSERT_THAT(Ids(*rec), ElementsAre("a"));
  EXPECT_THAT((*rec)[0].done, ElementsAre(0, 2));
  ASSERT_TRUE(spool->MarkDone("a", {1}).ok());

  spool = CrashAndReopen(spool);
  EXPECT_THAT(*spool->Recover(), IsEmpty());
}

TEST_F(LogSpoolTest, MarkDoneManySharesOneBatchAndValidatesFirst) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("a", 2)).ok());
  ASSERT_TRUE(spool->Store(Rec("b", 2)).ok());
  ASSERT_TRUE(spool->Store(Rec("c", 1)).ok());
  // An unknown id or an out-of-range index rejects the whole call.
  EXPECT_EQ(spool->MarkDoneMany({{"a", {0}}, {"zz", {0}}}).code(), StatusCode::kNotFound);
  EXPECT_EQ(spool->MarkDoneMany({{"a", {0}}, {"b", {5}}}).code(), StatusCode::kInvalidArgument);
  const uint64_t before = spool->Stats().batches;
  ASSERT_TRUE(spool->MarkDoneMany({{"a", {0, 1}}, {"b", {1}}, {"c", {0}}}).ok());
  EXPECT_EQ(spool->Stats().batches, before + 1);

  spool = CrashAndReopen(spool);
  auto rec = spool->Recover();
  ASSERT_TRUE(rec.ok());
  ASSERT_THAT(Ids(*rec), ElementsAre("b"));
  EXPECT_THAT((*rec)[0].done, ElementsAre(1));
}

TEST_F(LogSpoolTest, FailedFsyncReturnsErrorAndMakesTheSpoolUnhealthy) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("ok")).ok());
  fs_.FailSyncs(true);
  Status s = spool->Store(Rec("lost"));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  ASSERT_NE(spool->UnhealthyReason(), nullptr);
  EXPECT_STREQ(spool->UnhealthyReason(), "spool fdatasync failed");
  // Even once the disk "recovers", nothing more is accepted (no retry of a failed fsync).
  fs_.FailSyncs(false);
  EXPECT_EQ(spool->Store(Rec("later")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(spool->MarkDone("ok", {0}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(spool->ReadBody("lost").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*spool->ReadBody("ok"), Rec("ok").body);  // reads still work

  spool = CrashAndReopen(spool);
  EXPECT_THAT(Ids(*spool->Recover()), ElementsAre("ok"));
}

TEST_F(LogSpoolTest, FailedWriteOrDirSyncMakesTheSpoolUnhealthy) {
  {
    auto spool = OpenSpool();
    fs_.FailDirSyncs(true);  // the first batch creates a segment
    EXPECT_EQ(spool->Store(Rec("x")).code(), StatusCode::kUnavailable);
    EXPECT_STREQ(spool->UnhealthyReason(), "spool directory fsync failed");
    fs_.FailDirSyncs(false);
  }
  {
    auto spool = OpenSpool();
    ASSERT_TRUE(spool->Store(Rec("y")).ok());
    fs_.FailWrites(true);
    EXPECT_EQ(spool->Store(Rec("z")).code(), StatusCode::kUnavailable);
    EXPECT_STREQ(spool->UnhealthyReason(), "spool write failed");
    fs_.FailWrites(false);
  }
  // The half-written record is a torn tail: truncated on the next open. ("x" was written
  // and synced but its error was reported; having it back is allowed: at-least-once.)
  auto spool = OpenSpool();
  EXPECT_THAT(Ids(*spool->Recover()), ::testing::Contains("y"));
  EXPECT_THAT(Ids(*spool->Recover()), ::testing::Not(::testing::Contains("z")));
  EXPECT_GT(spool->Stats().truncated_bytes, 0u);
}

TEST_F(LogSpoolTest, TornTailIsTruncatedAndTheRestRecovers) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("a")).ok());
  ASSERT_TRUE(spool->Store(Rec("b")).ok());
  spool.reset();
  ASSERT_EQ(Segments().size(), 1u);
  std::string path = std::string(kDir) + "/" + Segments()[0];
  std::string data = *fs_.ContentsForTest(path);
  // Cut b's record in half, as a power cut in the middle of the write would.
  size_t cut = data.size() - 30;
  fs_.WriteFileForTest(path, data.substr(0, cut));

  spool = OpenSpool();
  EXPECT_THAT(Ids(*spool->Recover()), ElementsAre("a"));
  LogSpoolStats st = spool->Stats();
  EXPECT_GT(st.truncated_bytes, 0u);
  EXPECT_EQ(st.corrupt_regions, 0u);
  EXPECT_LT(fs_.ContentsForTest(path)->size(), cut);
  ASSERT_TRUE(spool->Store(Rec("c")).ok());
  spool = CrashAndReopen(spool);
  EXPECT_THAT(Ids(*spool->Recover()), ElementsAre("a", "c"));
}

TEST_F(LogSpoolTest, FlippedBitInAMiddleRecordLosesOnlyThatRecord) {
  auto spool = OpenSpool();
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(spool->Store(Rec(id, 1, 1000)).ok());
  }
  spool.reset();
  std::string path = std::string(kDir) + "/" + Segments()[0];
  // b's record starts after the 20-byte header and a's record.
  size_t a_size = kRecordHeaderSize + EncodeMessagePrefix("a", 1, Rec("a").envelope).size() +
                  Rec("a", 1, 1000).body.size();
  fs_.FlipBitForTest(path, kSegmentHeaderSize + a_size + 500);

  spool = OpenSpool();
  EXPECT_THAT(Ids(*spool->Recover()), ElementsAre("a", "c"));
  EXPECT_EQ(spool->Stats().corrupt_regions, 1u);
  EXPECT_EQ(spool->ReadBody("b").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*spool->ReadBody("c"), Rec("c", 1, 1000).body);
}

TEST_F(LogSpoolTest, BitRotAfterOpenIsDetectedOnRead) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("a", 1, 1000)).ok());
  std::string path = std::string(kDir) + "/" + Segments()[0];
  fs_.FlipBitForTest(path, kSegmentHeaderSize + 200);
  EXPECT_EQ(spool->ReadBody("a").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(spool->Stats().corrupt_regions, 1u);
}

TEST_F(LogSpoolTest, SegmentsRollOverAndFullyDoneOnesAreDeletedOldestFirst) {
  auto spool = OpenSpool();
  // ~10 KB records in 64 KiB segments: several segments.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(spool->Store(Rec("m" + std::to_string(i), 1, 10000)).ok());
  }
  size_t before = Segments().size();
  EXPECT_GE(before, 4u);
  // Finish everything except the newest message: all but the active segment go.
  for (int i = 0; i < 29; ++i) {
    ASSERT_TRUE(spool->MarkDone("m" + std::to_string(i), {0}).ok());
  }
  EXPECT_EQ(Segments().size(), 1u);
  EXPECT_EQ(spool->Stats().deleted_segments, before - 1);
  spool = CrashAndReopen(spool);
  EXPECT_THAT(Ids(*spool->Recover()), ElementsAre("m29"));
}

TEST_F(LogSpoolTest, ALiveMessageDoesNotPinSegmentsForever) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("slow", 2, 1000)).ok());
  ASSERT_TRUE(spool->MarkDone("slow", {1}).ok());
  for (int i = 0; i < 40; ++i) {
    std::string id = "m" + std::to_string(i);
    ASSERT_TRUE(spool->Store(Rec(id, 1, 10000)).ok());
    ASSERT_TRUE(spool->MarkDone(id, {0}).ok());
  }
  LogSpoolStats st = spool->Stats();
  EXPECT_GE(st.relocated_messages, 1u);
  EXPECT_LE(Segments().size(), 2u);
  EXPECT_EQ(*spool->ReadBody("slow"), Rec("slow", 2, 1000).body);

  spool = CrashAndReopen(spool);
  auto rec = *spool->Recover();
  ASSERT_THAT(Ids(rec), ElementsAre("slow"));
  EXPECT_THAT(rec[0].done, ElementsAre(1));
  EXPECT_EQ(rec[0].envelope, "envelope of slow");
  ASSERT_TRUE(spool->MarkDone("slow", {0}).ok());
  spool = CrashAndReopen(spool);
  EXPECT_THAT(*spool->Recover(), IsEmpty());
}

TEST_F(LogSpoolTest, ReadOnlyOpenReportsWithoutTouchingAnything) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("a", 2)).ok());
  ASSERT_TRUE(spool->MarkDone("a", {1}).ok());
  ASSERT_TRUE(spool->Store(Rec("b")).ok());
  std::string path = std::string(kDir) + "/" + Segments()[0];
  std::string data = *fs_.ContentsForTest(path);
  fs_.WriteFileForTest(path, data.substr(0, data.size() - 7));  // torn tail
  std::vector<std::string> names = fs_.ListForTest(kDir);
  std::string torn = *fs_.ContentsForTest(path);

  auto ro = OpenSpool(/*read_only=*/true);  // while the writer still holds the lock
  auto rec = ro->Recover();
  ASSERT_TRUE(rec.ok());
  ASSERT_THAT(Ids(*rec), ElementsAre("a"));
  EXPECT_THAT((*rec)[0].done, ElementsAre(1));
  EXPECT_EQ(ro->Store(Rec("c")).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ro->MarkDone("a", {0}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(fs_.ContentsForTest(path), std::optional<std::string>(torn));
  EXPECT_EQ(fs_.ListForTest(kDir), names);
}

TEST_F(LogSpoolTest, SecondWriterIsLockedOut) {
  auto spool = OpenSpool();
  LogSpoolOptions o = Opts();
  EXPECT_EQ(LogSpool::Open(kDir, o).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LogSpoolTest, SegmentWithBadHeaderIsSetAsideAndCounted) {
  auto spool = OpenSpool();
  ASSERT_TRUE(spool->Store(Rec("a")).ok());
  spool.reset();
  spool = OpenSpool();  // a new segment on the next write
  ASSERT_TRUE(spool->Store(Rec("b")).ok());
  spool.reset();
  ASSERT_EQ(Segments().size(), 2u);
  std::string first = std::string(kDir) + "/" + Segments()[0];
  fs_.FlipBitForTest(first, 3);
  spool = OpenSpool();
  EXPECT_THAT(Ids(*spool->Recover()), ElementsAre("b"));
  EXPECT_EQ(spool->Stats().corrupt_segments, 1u);
  EXPECT_TRUE(fs_.ContentsForTest(first + ".corrupt").has_value());
}

TEST_F(LogSpoolTest, ConcurrentWritersShareFsyncs) {
  auto spool = OpenSpool();
  constexpr int kThreads = 16;
  constexpr int kEach = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(spool->Store(Rec(id, 1, 2000)).ok());
        EXPECT_EQ(*spool->ReadBody(id), Rec(id, 1, 2000).body);
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  LogSpoolStats st = spool->Stats();
  EXPECT_EQ(st.records_written, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_LE(st.batches, st.records_written);
  spool = CrashAndReopen(spool);
  EXPECT_EQ(spool->Recover()->size(), static_cast<size_t>(kThreads * kEach));
}

TEST(LogSpoolPosixTest, WorksOnARealDirectory) {
  char tmpl[] = "/tmp/herald_spool_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = std::string(tmpl) + "/spool";
  LogSpoolOptions o;
  o.segment_bytes = 16 << 10;
  {
    auto spool = LogSpool::Open(dir, o);
    ASSERT_TRUE(spool.ok()) << spool.status().ToString();
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE((*spool)->Store(Rec("p" + std::to_string(i), 1, 5000)).ok());
    }
    ASSERT_TRUE((*spool)->MarkDone("p0", {0}).ok());
  }
  auto spool = LogSpool::Open(dir, o);
  ASSERT_TRUE(spool.ok());
  auto rec = (*spool)->Recover();
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->size(), 9u);
  EXPECT_EQ(*(*spool)->ReadBody("p9"), Rec("p9", 1, 5000).body);
  spool->reset();
  std::filesystem::remove_all(tmpl);
}

TEST(MemSpoolTest, BehavesLikeASpoolAndCanFail) {
  MemSpool spool;
  ASSERT_TRUE(spool.Store(Rec("a", 2)).ok());
  EXPECT_EQ(spool.Store(Rec("a", 2)).code(), StatusCode::kAlreadyExists);
  spool.FailNextStore(UnavailableError("disk"));
  EXPECT_EQ(spool.Store(Rec("b")).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(spool.Store(Rec("b")).ok());
  ASSERT_TRUE(spool.MarkDone("a", {1}).ok());
  auto rec = *spool.Recover();
  ASSERT_EQ(rec.size(), 2u);
  EXPECT_EQ(rec[0].id, "a");
  EXPECT_THAT(rec[0].done, ElementsAre(1));
  ASSERT_TRUE(spool.MarkDone("a", {0}).ok());
  EXPECT_EQ(spool.live_count(), 1u);
  spool.SetUnhealthy("disk full");
  EXPECT_STREQ(spool.UnhealthyReason(), "disk full");
  EXPECT_EQ(spool.Store(Rec("c")).code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace herald::spool
