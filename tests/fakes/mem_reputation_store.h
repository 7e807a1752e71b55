// tests/fakes/mem_reputation_store.h: an in-memory ReputationStore for unit tests.
//
// Contract: the semantics of store/reputation_store.h (the conformance test runs the same
// checks against it and SQLite), except that PutReputation cannot reach an account row:
// it records the API status it was given (ApiStatusForTest) instead. Accounts are not
// checked. FailAllForTest(status) makes every method return `status` until cleared.
// Thread-safety: safe from any thread (one mutex). Trust: test-only.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/reputation_store.h"

namespace herald::store {

class MemReputationStore final : public ReputationStore {
 public:
  void FailAllForTest(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }
  std::string ApiStatusForTest(int64_t account_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = api_status_.find(account_id);
    return it == api_status_.end() ? "HEALTHY" : it->second;
  }

  StatusOr<std::vector<RepBucketRow>> LoadRepBuckets(int64_t account_id,
                                                     const std::string& scope) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<RepBucketRow> out;
    for (const auto& [hour, row] : buckets_[{account_id, scope}]) out.push_back(row);
    return out;
  }
  Status SaveRepBuckets(int64_t account_id, const std::string& scope,
                        const std::vector<RepBucketRow>& rows,
                        int64_t delete_before_hour) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto& m = buckets_[{account_id, scope}];
    for (const auto& r : rows) m[r.hour] = r;
    m.erase(m.begin(), m.lower_bound(delete_before_hour));
    return Status::Ok();
  }

  Status SaveRepBucketsMany(const std::vector<RepBucketBatch>& batches) override {
    for (const auto& b : batches) {
      RETURN_IF_ERROR(SaveRepBuckets(b.account_id, b.scope, b.rows, b.delete_before_hour));
    }
    return Status::Ok();
  }
  StatusOr<std::optional<ReputationRow>> GetReputation(int64_t account_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = reputation_.find(account_id);
    if (it == reputation_.end()) return std::optional<ReputationRow>();
    return std::optional<ReputationRow>(it->second);
  }
  Status PutReputation(int64_t account_id, const ReputationRow& row,
                       const std::string& api_status) override {
    if (row.state_json.size() > kMaxReputationJsonLength) {
      return InvalidArgumentError("store: reputation state too long");
    }
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    ReputationRow r = row;
    r.fresh_start = FromUnixMillis(UnixMillis(r.fresh_start));
    reputation_[account_id] = r;
    api_status_[account_id] = api_status;
    return Status::Ok();
  }

  StatusOr<int64_t> AddNotice(const NoticeRow& notice) override {
    if (notice.text.size() > kMaxNoticeTextLength ||
        notice.json.size() > kMaxReputationJsonLength) {
      return InvalidArgumentError("store: notice too long");
    }
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    NoticeRow n = notice;
    n.id = next_notice_++;
    n.created = FromUnixMillis(UnixMillis(n.created));
    notices_.push_back(n);
    return n.id;
  }
  StatusOr<std::vector<NoticeRow>> ListNotices(int64_t account_id, int limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<NoticeRow> out;
    for (auto it = notices_.rbegin(); it != notices_.rend() && static_cast<int>(out.size()) < limit;
         ++it) {
      if (it->account_id == account_id) out.push_back(*it);
    }
    return out;
  }

  StatusOr<int64_t> CreateReviewCase(const ReviewCaseRow& c) override {
    if (c.json.size() > kMaxReputationJsonLength) {
      return InvalidArgumentError("store: review case too long");
    }
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    ReviewCaseRow r = c;
    r.id = next_case_++;
    r.opened = FromUnixMillis(UnixMillis(r.opened));
    r.updated = FromUnixMillis(UnixMillis(r.updated));
    cases_[r.id] = r;
    return r.id;
  }
  Status UpdateReviewCase(const ReviewCaseRow& c) override {
    if (c.json.size() > kMaxReputationJsonLength) {
      return InvalidArgumentError("store: review case too long");
    }
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = cases_.find(c.id);
    if (it == cases_.end()) return NotFoundError("store: no such review case");
    it->second.status = c.status;
    it->second.updated = FromUnixMillis(UnixMillis(c.updated));
    it->second.json = c.json;
    return Status::Ok();
  }
  StatusOr<std::vector<ReviewCaseRow>> ListReviewCases(int64_t account_id, int limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<ReviewCaseRow> out;
    for (auto it = cases_.rbegin(); it != cases_.rend() && static_cast<int>(out.size()) < limit;
         ++it) {
      if (it->second.account_id == account_id) out.push_back(it->second);
    }
    return out;
  }

  Status PutGuardCase(uint64_t id, const std::string& json) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    guard_[id] = json;
    return Status::Ok();
  }
  Status DeleteGuardCase(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    guard_.erase(id);
    return Status::Ok();
  }
  StatusOr<std::vector<std::pair<uint64_t, std::string>>> ListGuardCases() override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    return std::vector<std::pair<uint64_t, std::string>>(guard_.begin(), guard_.end());
  }

 private:
  std::mutex mu_;
  Status fail_;
  std::map<std::pair<int64_t, std::string>, std::map<int64_t, RepBucketRow>> buckets_;
  std::map<int64_t, ReputationRow> reputation_;
  std::map<int64_t, std::string> api_status_;
  std::vector<NoticeRow> notices_;
  std::map<int64_t, ReviewCaseRow> cases_;
  std::map<uint64_t, std::string> guard_;
  int64_t next_notice_ = 1;
  int64_t next_case_ = 1;
};

}  // namespace herald::store
