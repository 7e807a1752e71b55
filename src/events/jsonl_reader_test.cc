#include "events/jsonl_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/faulty_fs.h"

namespace herald::events {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kPath[] = "/d/events.jsonl";

class JsonlReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fs_.CreateDir("/d").ok()); }
  spool::FaultyFs fs_;
};

TEST_F(JsonlReaderTest, ReadLastLinesIgnoresAPartialLastLine) {
  fs_.WriteFileForTest(kPath, "a\nbb\nccc\npartial");
  EXPECT_THAT(*ReadLastLines(fs_, kPath, 2), ElementsAre("bb", "ccc"));
  EXPECT_THAT(*ReadLastLines(fs_, kPath, 10), ElementsAre("a", "bb", "ccc"));
  EXPECT_THAT(*ReadLastLines(fs_, kPath, 0), IsEmpty());
  EXPECT_EQ(ReadLastLines(fs_, "/d/none", 3).status().code(), StatusCode::kNotFound);
}

TEST_F(JsonlReaderTest, ReadLastLinesAcrossManyChunks) {
  std::string data;
  for (int i = 0; i < 20000; ++i) {
    data += "line-" + std::to_string(i) + "-" + std::string(i % 50, 'x') + "\n";
  }
  fs_.WriteFileForTest(kPath, data);
  auto lines = ReadLastLines(fs_, kPath, 3000);
  ASSERT_TRUE(lines.ok());
  ASSERT_EQ(lines->size(), 3000u);
  EXPECT_EQ(lines->front(), "line-17000-" + std::string(17000 % 50, 'x'));
  EXPECT_EQ(lines->back(), "line-19999-" + std::string(19999 % 50, 'x'));
}

TEST_F(JsonlReaderTest, OverlongLinesAreSkipped) {
  fs_.WriteFileForTest(kPath, "ok1\n" + std::string(200, 'z') + "\nok2\n");
  EXPECT_THAT(*ReadLastLines(fs_, kPath, 3, /*max_line_bytes=*/100), ElementsAre("ok1", "ok2"));
  // Reading is bounded by n * max_line_bytes: a huge line hides what is before it.
  fs_.WriteFileForTest(kPath, "ok1\n" + std::string(5000, 'z') + "\nok2\n");
  EXPECT_THAT(*ReadLastLines(fs_, kPath, 3, /*max_line_bytes=*/100), ElementsAre("ok2"));
}

TEST(FollowTest, DecideFollow) {
  FollowCursor c;
  c.offset = 10;
  EXPECT_EQ(DecideFollow(c, 10), FollowAction::kNothing);
  EXPECT_EQ(DecideFollow(c, 11), FollowAction::kRead);
  EXPECT_EQ(DecideFollow(c, 3), FollowAction::kRestart);
}

TEST(FollowTest, ConsumeAppendedAssemblesLinesAcrossReads) {
  FollowCursor c;
  EXPECT_THAT(ConsumeAppended(c, "ab"), IsEmpty());
  EXPECT_THAT(ConsumeAppended(c, "c\nde"), ElementsAre("abc"));
  EXPECT_THAT(ConsumeAppended(c, "f\n\ng\n"), ElementsAre("def", "", "g"));
  EXPECT_EQ(c.offset, 11u);
  EXPECT_TRUE(c.partial.empty());
}

TEST(FollowTest, ConsumeAppendedDropsOverlongLinesWithoutBufferingThem) {
  FollowCursor c;
  EXPECT_THAT(ConsumeAppended(c, "12345", 8), IsEmpty());
  EXPECT_THAT(ConsumeAppended(c, "6789", 8), IsEmpty());  // now 9 > 8: dropped
  EXPECT_TRUE(c.partial.empty());
  EXPECT_TRUE(c.skipping);
  EXPECT_THAT(ConsumeAppended(c, "more\nok\n", 8), ElementsAre("ok"));
  EXPECT_EQ(c.dropped_lines, 1u);
}

TEST_F(JsonlReaderTest, PollNewLinesFollowsAppendsAndRestartsAfterTruncation) {
  fs_.WriteFileForTest(kPath, "old1\nold2\nhalf");
  auto cursor = CursorAtEnd(fs_, kPath);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->offset, 10u);
  // The half-written line completes, and another arrives.
  fs_.WriteFileForTest(kPath, "old1\nold2\nhalf-done\nnew\n");
  EXPECT_THAT(*PollNewLines(fs_, kPath, *cursor), ElementsAre("half-done", "new"));
  EXPECT_THAT(*PollNewLines(fs_, kPath, *cursor), IsEmpty());
  // Replaced by a shorter file: start over.
  fs_.WriteFileForTest(kPath, "fresh\n");
  EXPECT_THAT(*PollNewLines(fs_, kPath, *cursor), ElementsAre("fresh"));
}

TEST_F(JsonlReaderTest, PollOfAMissingFileWaits) {
  auto cursor = CursorAtEnd(fs_, kPath);
  ASSERT_TRUE(cursor.ok());
  EXPECT_THAT(*PollNewLines(fs_, kPath, *cursor), IsEmpty());
  fs_.WriteFileForTest(kPath, "first\n");
  EXPECT_THAT(*PollNewLines(fs_, kPath, *cursor), ElementsAre("first"));
}

}  // namespace
}  // namespace herald::events
