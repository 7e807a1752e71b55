// store/reputation_store.h: what the reputation machinery keeps (sending/
// reputation_service.h): the hourly buckets of each account's and configuration set's
// representative window, each account's enforcement state, the notices sent, the review
// cases, and the suspect bursts the suppression guard holds.
//
// Contract: plain rows; the reputation library's values are encoded by the service (state
// and case details as JSON text). PutReputation also sets the account's
// EnforcementStatus (GetAccount) and its fine-grained state in the same transaction, so
// that the sending path sees a pause as soon as it is saved. Scope "" is the account's own
// window, any other scope a configuration set's. Notice and review-case ids are positive
// and increase. ListNotices and ListReviewCases return the newest first.
// Errors: kNotFound for a missing account (PutReputation, AddNotice, CreateReviewCase) or
// review case (UpdateReviewCase); kInvalidArgument beyond the bounds below; storage
// failures as the implementation maps them (sqlite: kUnavailable, kDataLoss...).
// Thread-safety: implementations are safe from any thread.
// Trust: rows are written only by herald; texts are bounded, JSON is not parsed here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace herald::store {

struct RepBucketRow {
  int64_t hour = 0;  // hours since the Unix epoch
  int64_t sends = 0;
  int64_t fbl_sends = 0;
  int64_t hard_bounces = 0;
  int64_t complaints = 0;
  int64_t first_sent_ms = 0;
};

// One scope's changed buckets, for SaveRepBucketsMany.
struct RepBucketBatch {
  int64_t account_id = 0;
  std::string scope;
  std::vector<RepBucketRow> rows;
  int64_t delete_before_hour = 0;
};

struct ReputationRow {
  std::string state_json;  // reputation::AccountState, encoded by the service
  std::string state_name;  // "healthy", "under_review", ..., "paused", "suspended"
  SysTime fresh_start;     // the account window's fresh start (epoch: none)
};

struct NoticeRow {
  int64_t id = 0;  // assigned by AddNotice
  int64_t account_id = 0;
  SysTime created;
  std::string kind;
  std::string subject;
  std::string text;
  std::string json;  // figures and details
};

struct ReviewCaseRow {
  int64_t id = 0;  // assigned by CreateReviewCase
  int64_t account_id = 0;
  SysTime opened;
  SysTime updated;
  std::string status;  // "open", "accepted", "healed", "resumed", "rejected"
  std::string json;    // history, samples, answers, decision
};

inline constexpr size_t kMaxReputationJsonLength = 1024 * 1024;
inline constexpr size_t kMaxNoticeTextLength = 64 * 1024;

class ReputationStore {
 public:
  virtual ~ReputationStore() = default;

  virtual StatusOr<std::vector<RepBucketRow>> LoadRepBuckets(int64_t account_id,
                                                             const std::string& scope) = 0;
  // Upserts `rows` (by hour) and deletes the scope's rows with hour < delete_before_hour.
  virtual Status SaveRepBuckets(int64_t account_id, const std::string& scope,
                                const std::vector<RepBucketRow>& rows,
                                int64_t delete_before_hour) = 0;

  // Every batch as SaveRepBuckets would, all in one transaction (one sync).
  virtual Status SaveRepBucketsMany(const std::vector<RepBucketBatch>& batches) = 0;

  // nullopt when the account never had one (healthy, no fresh start).
  virtual StatusOr<std::optional<ReputationRow>> GetReputation(int64_t account_id) = 0;
  // Saves the row and sets the account's EnforcementStatus to `api_status` (HEALTHY,
  // PROBATION or SHUTDOWN) and its enforcement state to row.state_name.
  virtual Status PutReputation(int64_t account_id, const ReputationRow& row,
                               const std::string& api_status) = 0;

  virtual StatusOr<int64_t> AddNotice(const NoticeRow& notice) = 0;
  virtual StatusOr<std::vector<NoticeRow>> ListNotices(int64_t account_id, int limit) = 0;

  virtual StatusOr<int64_t> CreateReviewCase(const ReviewCaseRow& c) = 0;
  virtual Status UpdateReviewCase(const ReviewCaseRow& c) = 0;  // by id: status, updated, json
  virtual StatusOr<std::vector<ReviewCaseRow>> ListReviewCases(int64_t account_id, int limit) = 0;

  // The suppression guard's open cases (JSON, encoded by the service).
  virtual Status PutGuardCase(uint64_t id, const std::string& json) = 0;
  virtual Status DeleteGuardCase(uint64_t id) = 0;
  virtual StatusOr<std::vector<std::pair<uint64_t, std::string>>> ListGuardCases() = 0;
};

}  // namespace herald::store
