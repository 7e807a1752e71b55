#include "spool/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace herald::spool {
namespace {

struct NumberedRequest : GroupCommitter::Request {
  int n = 0;
};

TEST(GroupCommitTest, SingleCallerRunsItsOwnBatch) {
  std::vector<int> seen;
  GroupCommitter gc(
      [&](std::span<GroupCommitter::Request* const> batch) {
        for (auto* r : batch) {
          seen.push_back(static_cast<NumberedRequest*>(r)->n);
          r->status = Status::Ok();
        }
      },
      nullptr, 1 << 20);
  NumberedRequest r;
  r.n = 7;
  EXPECT_TRUE(gc.Commit(&r).ok());
  EXPECT_EQ(seen, std::vector<int>{7});
  EXPECT_EQ(gc.batches(), 1u);
}

TEST(GroupCommitTest, WaitersQueuedBehindALeaderShareOneBatch) {
  constexpr int kThreads = 10;
  std::atomic<int> calls{0};
  std::vector<size_t> batch_sizes;
  GroupCommitter* gcp = nullptr;
  GroupCommitter gc(
      [&](std::span<GroupCommitter::Request* const> batch) {
        if (calls.fetch_add(1) == 0) {
          // Hold the first batch until everybody else has queued behind it.
          while (gcp->QueuedForTest() < static_cast<size_t>(kThreads)) {
            std::this_thread::yield();
          }
        }
        batch_sizes.push_back(batch.size());
        for (auto* r : batch) {
          r->status =
              static_cast<NumberedRequest*>(r)->n % 2 == 0 ? Status::Ok() : UnavailableError("odd");
        }
      },
      nullptr, 1 << 20);
  gcp = &gc;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, failed{0};
  NumberedRequest first;
  first.n = 0;
  std::thread leader([&] { EXPECT_TRUE(gc.Commit(&first).ok()); });
  while (gc.QueuedForTest() < 1) {
    std::this_thread::yield();
  }
  for (int i = 1; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      NumberedRequest r;
      r.n = i;
      Status s = gc.Commit(&r);
      (s.ok() ? ok : failed).fetch_add(1);
      EXPECT_EQ(s.ok(), i % 2 == 0);
    });
  }
  leader.join();
  for (auto& t : threads) {
    t.join();
  }
  ASSERT_EQ(batch_sizes.size(), 2u);
  EXPECT_EQ(batch_sizes[0], 1u);
  EXPECT_EQ(batch_sizes[1], static_cast<size_t>(kThreads - 1));
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(failed.load(), 5);
}

TEST(GroupCommitTest, BatchesRespectTheByteLimitAndAfterFnRunsPerBatch) {
  std::vector<size_t> sizes;
  int after = 0;
  GroupCommitter* gcp = nullptr;
  bool held = false;
  GroupCommitter gc(
      [&](std::span<GroupCommitter::Request* const> batch) {
        if (!held) {
          held = true;
          while (gcp->QueuedForTest() < 7) {
            std::this_thread::yield();
          }
        }
        sizes.push_back(batch.size());
        for (auto* r : batch) {
          r->status = Status::Ok();
        }
      },
      [&] { ++after; }, /*max_batch_bytes=*/300);
  gcp = &gc;
  std::vector<std::thread> threads;
  for (int i = 0; i < 7; ++i) {
    threads.emplace_back([&] {
      NumberedRequest r;
      r.bytes = 100;
      EXPECT_TRUE(gc.Commit(&r).ok());
    });
    if (i == 0) {
      while (gc.QueuedForTest() < 1) {
        std::this_thread::yield();
      }
    }
  }
  for (auto& t : threads) {
    t.join();
  }
  // 1 (the held leader), then 6 waiters in batches of at most 3.
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(sizes[0], 1u);
  EXPECT_EQ(sizes[1], 3u);
  EXPECT_EQ(sizes[2], 3u);
  EXPECT_EQ(after, 3);
}

}  // namespace
}  // namespace herald::spool
