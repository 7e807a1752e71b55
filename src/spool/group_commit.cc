#include "spool/group_commit.h"

#include <vector>

namespace herald::spool {

GroupCommitter::GroupCommitter(BatchFn batch_fn, AfterFn after_fn, size_t max_batch_bytes)
    : batch_fn_(std::move(batch_fn)),
      after_fn_(std::move(after_fn)),
      max_batch_bytes_(max_batch_bytes) {}

Status GroupCommitter::Commit(Request* req) {
  return CommitAll(std::span<Request* const>(&req, 1));
}

Status GroupCommitter::CommitAll(std::span<Request* const> reqs) {
  std::unique_lock<std::mutex> lock(mu_);
  for (Request* r : reqs) {
    r->done_ = false;
    queue_.push_back(r);
  }
  // Wait for each request in order; whenever the next one is at the front and nobody leads,
  // lead a batch from it. The caller's requests are contiguous, so one batch usually takes
  // them all.
  Status first;
  for (Request* req : reqs) {
    while (!req->done_) {
      if (leader_busy_ || queue_.front() != req) {
        req->cv_.wait(lock);
        continue;
      }
      LeadLocked(lock);
    }
    if (first.ok() && !req->status.ok()) {
      first = req->status;
    }
  }
  return first;
}

void GroupCommitter::LeadLocked(std::unique_lock<std::mutex>& lock) {
  // Take a batch from the front of the queue. Requests behind it stay queued and nobody
  // else pops, so the batch is exactly queue_[0..n).
  leader_busy_ = true;
  std::vector<Request*> batch;
  size_t bytes = 0;
  for (Request* r : queue_) {
    if (!batch.empty() && bytes + r->bytes > max_batch_bytes_) {
      break;
    }
    bytes += r->bytes;
    batch.push_back(r);
  }
  ++batches_;
  lock.unlock();

  batch_fn_(std::span<Request* const>(batch));

  lock.lock();
  for (Request* r : batch) {
    queue_.pop_front();
    r->done_ = true;
    r->cv_.notify_one();
  }
  if (after_fn_) {
    lock.unlock();
    after_fn_();
    lock.lock();
  }
  leader_busy_ = false;
  if (!queue_.empty()) {
    queue_.front()->cv_.notify_one();
  }
}

uint64_t GroupCommitter::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

size_t GroupCommitter::QueuedForTest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace herald::spool
