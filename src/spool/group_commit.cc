#include "spool/group_commit.h"

#include <vector>

namespace herald::spool {

GroupCommitter::GroupCommitter(BatchFn batch_fn, AfterFn after_fn, size_t max_batch_bytes)
    : batch_fn_(std::move(batch_fn)),
      after_fn_(std::move(after_fn)),
      max_batch_bytes_(max_batch_bytes) {}

Status GroupCommitter::Commit(Request* req) {
  std::unique_lock<std::mutex> lock(mu_);
  req->done_ = false;
  queue_.push_back(req);
  while (!req->done_ && (leader_busy_ || queue_.front() != req)) {
    req->cv_.wait(lock);
  }
  if (req->done_) {
    return req->status;
  }

  // Leader: take a batch from the front of the queue. Requests behind it stay queued and
  // nobody else pops, so the batch is exactly queue_[0..n).
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
    if (r != req) {
      r->cv_.notify_one();
    }
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
  return req->status;
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
