// tests/fakes/mem_spool.h: a trivial in-memory Spool for other modules' unit tests.
//
// Contract: behaves like spool::Spool (AlreadyExists for a live id, NotFound for an unknown
// one, InvalidArgument for an out-of-range recipient, a fully done message disappears)
// but nothing is durable. FailNextStore(status) makes the next Store() return that status
// without storing; SetUnhealthy(reason) makes every Store()/MarkDone() return kUnavailable
// and UnhealthyReason() return reason (a string literal). Counters let tests assert calls.
// Thread-safety: safe from any thread (one mutex).
// Trust: test-only.
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "spool/spool.h"

namespace herald::spool {

class MemSpool final : public Spool {
 public:
  Status Store(const SpoolRecord& record) override {
    std::lock_guard<std::mutex> l(mu_);
    ++store_calls_;
    if (const char* r = unhealthy_.load()) {
      return UnavailableError(r);
    }
    if (fail_next_store_) {
      Status s = *fail_next_store_;
      fail_next_store_.reset();
      return s;
    }
    if (record.id.empty() || record.recipient_count == 0) {
      return InvalidArgumentError("bad spool record");
    }
    if (messages_.count(record.id) != 0) {
      return AlreadyExistsError("spool already holds " + record.id);
    }
    Msg& m = messages_[record.id];
    m.record = record;
    m.seq = next_seq_++;
    m.done.assign(record.recipient_count, false);
    return Status::Ok();
  }

  Status MarkDone(std::string_view id, const std::vector<uint32_t>& recipients) override {
    std::lock_guard<std::mutex> l(mu_);
    if (const char* r = unhealthy_.load()) {
      return UnavailableError(r);
    }
    auto it = messages_.find(std::string(id));
    if (it == messages_.end()) {
      return NotFoundError("no live message " + std::string(id));
    }
    for (uint32_t r : recipients) {
      if (r >= it->second.record.recipient_count) {
        return InvalidArgumentError("recipient index out of range");
      }
    }
    for (uint32_t r : recipients) {
      it->second.done[r] = true;
    }
    if (std::all_of(it->second.done.begin(), it->second.done.end(), [](bool b) { return b; })) {
      messages_.erase(it);
    }
    return Status::Ok();
  }

  StatusOr<SpoolRecord> Read(std::string_view id) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = messages_.find(std::string(id));
    if (it == messages_.end()) {
      return NotFoundError("no live message " + std::string(id));
    }
    return it->second.record;
  }

  StatusOr<std::vector<RecoveredMessage>> Recover() override {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::pair<uint64_t, RecoveredMessage>> v;
    for (const auto& [id, m] : messages_) {
      RecoveredMessage r;
      r.id = id;
      r.recipient_count = m.record.recipient_count;
      r.envelope = m.record.envelope;
      for (uint32_t i = 0; i < m.done.size(); ++i) {
        if (m.done[i]) {
          r.done.push_back(i);
        }
      }
      v.emplace_back(m.seq, std::move(r));
    }
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<RecoveredMessage> out;
    for (auto& p : v) {
      out.push_back(std::move(p.second));
    }
    return out;
  }

  const char* UnhealthyReason() const override { return unhealthy_.load(); }

  // --- test controls ---
  void FailNextStore(Status status) {
    std::lock_guard<std::mutex> l(mu_);
    fail_next_store_ = std::move(status);
  }
  void SetUnhealthy(const char* reason) { unhealthy_.store(reason); }
  size_t live_count() const {
    std::lock_guard<std::mutex> l(mu_);
    return messages_.size();
  }
  size_t store_calls() const {
    std::lock_guard<std::mutex> l(mu_);
    return store_calls_;
  }

 private:
  struct Msg {
    SpoolRecord record;
    uint64_t seq = 0;
    std::vector<bool> done;
  };
  mutable std::mutex mu_;
  std::map<std::string, Msg> messages_;
  std::optional<Status> fail_next_store_;
  std::atomic<const char*> unhealthy_{nullptr};
  uint64_t next_seq_ = 0;
  size_t store_calls_ = 0;
};

}  // namespace herald::spool
