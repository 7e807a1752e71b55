// spool/group_commit.h: leader-follower group commit, shared by the spool and the JSONL
// event log.
//
// Contract: Commit(req) queues req and blocks until a batch containing it has been handed
// to the batch function and that function has set req->status. The first queued request
// whose predecessors are all finished becomes the leader: it takes every queued request
// (up to max_batch_bytes, at least one), releases the queue lock, runs the batch function
// once for all of them (so a whole batch shares one write and one fsync), wakes them, runs
// the optional after-batch function while still the only leader (maintenance that must not
// race with writes), and then hands leadership to the next queued request. So the batch
// function and the after-batch function never run concurrently with themselves or each
// other, and a caller never returns before the batch function has finished with its request.
// Thread-safety: Commit is safe from any thread. The functions run on callers' threads.
// Trust: none; it moves pointers, never looks at the bytes.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "base/status.h"

namespace herald::spool {

class GroupCommitter {
 public:
  // Derive from Request to carry whatever the batch function needs.
  class Request {
   public:
    virtual ~Request() = default;
    size_t bytes = 0;  // weight for max_batch_bytes
    Status status;     // set by the batch function

   private:
    friend class GroupCommitter;
    bool done_ = false;
    std::condition_variable cv_;
  };

  // Must set the status of every request in the batch.
  using BatchFn = std::function<void(std::span<Request* const> batch)>;
  using AfterFn = std::function<void()>;

  GroupCommitter(BatchFn batch_fn, AfterFn after_fn, size_t max_batch_bytes);
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Returns req->status once its batch is done.
  Status Commit(Request* req);
  // Queues all of `reqs` together (contiguously) and returns once every one is done: the
  // first non-OK status, else OK. One caller's many records share one batch.
  Status CommitAll(std::span<Request* const> reqs);

  // Number of batches run so far (for tests and stats).
  uint64_t batches() const;
  // Requests queued (including the running batch), for tests.
  size_t QueuedForTest() const;

 private:
  // Runs one batch from the front of the queue; called and returns with `lock` held.
  void LeadLocked(std::unique_lock<std::mutex>& lock);

  BatchFn batch_fn_;
  AfterFn after_fn_;
  const size_t max_batch_bytes_;
  mutable std::mutex mu_;
  std::deque<Request*> queue_;  // guarded by mu_
  bool leader_busy_ = false;    // guarded by mu_
  uint64_t batches_ = 0;        // guarded by mu_
};

}  // namespace herald::spool
