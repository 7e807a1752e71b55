#include "spool/fs.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>

#include "tests/fakes/faulty_fs.h"

namespace herald::spool {
namespace {

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/herald_fs_test_XXXXXX";
    char* d = mkdtemp(tmpl);
    EXPECT_NE(d, nullptr);
    path_ = d != nullptr ? d : "/tmp/herald_fs_test_failed";
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PosixFsTest, AppendReadSyncListRenameTruncateRemove) {
  Fs& fs = PosixFs();
  TempDir tmp;
  std::string dir = tmp.path() + "/sub";
  ASSERT_TRUE(fs.CreateDir(dir).ok());
  ASSERT_TRUE(fs.CreateDir(dir).ok());  // exists: fine
  std::string path = dir + "/a";
  EXPECT_EQ(fs.Open(path, OpenMode::kRead).status().code(), StatusCode::kNotFound);
  auto f = fs.Open(path, OpenMode::kAppend);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  std::array<std::string_view, 3> parts = {"hello ", "", "world"};
  ASSERT_TRUE((*f)->Append(parts).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(fs.SyncDir(dir).ok());
  EXPECT_EQ(*(*f)->Size(), 11u);
  char buf[16] = {};
  auto n = (*f)->ReadAt(6, 16, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "world");

  ASSERT_TRUE(fs.Truncate(path, 5).ok());
  EXPECT_EQ(*ReadWholeFile(fs, path, 100), "hello");
  EXPECT_EQ(ReadWholeFile(fs, path, 4).status().code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(fs.Rename(path, dir + "/b").ok());
  auto names = fs.List(dir);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"b"});
  ASSERT_TRUE(fs.Remove(dir + "/b").ok());
  EXPECT_EQ(fs.Remove(dir + "/b").code(), StatusCode::kNotFound);
}

TEST(PosixFsTest, ManyPartsExceedingIovMaxAreAllWritten) {
  Fs& fs = PosixFs();
  TempDir tmp;
  std::string path = tmp.path() + "/many";
  auto f = fs.Open(path, OpenMode::kAppend);
  ASSERT_TRUE(f.ok());
  std::vector<std::string> storage;
  for (int i = 0; i < 3000; ++i) {
    storage.push_back(std::to_string(i) + ",");
  }
  std::vector<std::string_view> parts(storage.begin(), storage.end());
  ASSERT_TRUE((*f)->Append(parts).ok());
  std::string expected;
  for (auto& s : storage) {
    expected += s;
  }
  EXPECT_EQ(*ReadWholeFile(fs, path, 1 << 20), expected);
}

TEST(PosixFsTest, LockIsExclusive) {
  Fs& fs = PosixFs();
  TempDir tmp;
  std::string path = tmp.path() + "/LOCK";
  auto a = fs.Lock(path);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(fs.Lock(path).status().code(), StatusCode::kFailedPrecondition);
  a->reset();
  EXPECT_TRUE(fs.Lock(path).ok());
}

TEST(FaultyFsTest, CrashDropsUnsyncedBytesAndEntries) {
  FaultyFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  auto f = fs.Open("/d/a", OpenMode::kAppend);
  ASSERT_TRUE(f.ok());
  std::array<std::string_view, 1> p1 = {"synced"};
  ASSERT_TRUE((*f)->Append(p1).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(fs.SyncDir("/d").ok());
  std::array<std::string_view, 1> p2 = {"-lost"};
  ASSERT_TRUE((*f)->Append(p2).ok());
  auto g = fs.Open("/d/b", OpenMode::kAppend);  // never dir-synced
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Append(p1).ok());
  ASSERT_TRUE((*g)->Sync().ok());
  fs.Crash();
  EXPECT_EQ((*f)->Append(p1).code(), StatusCode::kUnavailable);
  fs.Restart();
  EXPECT_EQ((*f)->Append(p1).code(), StatusCode::kUnavailable);  // stale handle
  EXPECT_EQ(fs.ContentsForTest("/d/a"), std::optional<std::string>("synced"));
  EXPECT_EQ(fs.ContentsForTest("/d/b"), std::nullopt);
}

TEST(FaultyFsTest, UnsyncedRemoveComesBack) {
  FaultyFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  fs.WriteFileForTest("/d/x", "data");
  ASSERT_TRUE(fs.Remove("/d/x").ok());
  EXPECT_EQ(fs.ContentsForTest("/d/x"), std::nullopt);
  fs.Crash();
  fs.Restart();
  EXPECT_EQ(fs.ContentsForTest("/d/x"), std::optional<std::string>("data"));
}

TEST(FaultyFsTest, CrashAfterOpsFailsTheCountedCall) {
  FaultyFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  auto f = fs.Open("/d/a", OpenMode::kAppend);  // op 1 (create) before arming
  ASSERT_TRUE(f.ok());
  fs.CrashAfterOps(1);
  std::array<std::string_view, 1> p = {"x"};
  EXPECT_TRUE((*f)->Append(p).ok());
  EXPECT_FALSE((*f)->Sync().ok());
  EXPECT_TRUE(fs.crashed());
}

TEST(FaultyFsTest, FailedSyncDoesNotMakeDataDurable) {
  FaultyFs fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  fs.WriteFileForTest("/d/a", "");
  auto f = fs.Open("/d/a", OpenMode::kAppend);
  ASSERT_TRUE(f.ok());
  std::array<std::string_view, 1> p = {"x"};
  ASSERT_TRUE((*f)->Append(p).ok());
  fs.FailSyncs(true);
  EXPECT_FALSE((*f)->Sync().ok());
  fs.Crash();
  fs.Restart();
  EXPECT_EQ(fs.ContentsForTest("/d/a"), std::optional<std::string>(""));
}

}  // namespace
}  // namespace herald::spool
