// reputation/window.h: RepWindow, the representative window of one sender (an account or
// a configuration set; the class does not care whose) over which bounce and complaint
// rates are measured, the way SES measures them: over the last N eligible sends, reaching
// back as many days as that takes, with a cap (ses-reference.md section 6).
//
// Contract:
// - Counts are kept in hourly buckets keyed by the hour the SENDS happened (hours since
//   the Unix epoch, floor). An outcome (hard bounce, complaint) counts against the bucket
//   of the send it is about, however late it arrives, so a late DSN never inflates today's
//   rate at the expense of the day it was sent.
// - An outcome is refused (returns false) when its send is not held (never recorded,
//   pruned past the cap, or before the fresh start), or when it would make the bucket's
//   hard_bounces exceed its sends (complaints: its fbl_sends). A forged or duplicated
//   outcome can never push a rate past 100%.
// - Fresh start (reinstatement): FreshStart(from) forgets every send before `from`. Hourly
//   buckets cannot be split, so counting resumes at the first whole hour at or after
//   `from` (CountingStartHour()): sends in the part-hour after `from` are not counted,
//   nor are their outcomes. The fresh start is thus stricter than asked by at most one
//   hour, never looser.
// - Measure() walks the newest buckets backwards until at least representative_sends
//   sends are covered or the next bucket is older than now - max_age. An account with less
//   volume is measured over everything it has within the cap. Whole buckets only: the
//   window covers at least N sends, and at most one hour's sends more.
// - Figures::oldest_send is the exact time of the earliest send in the oldest included
//   bucket (Bucket::first_sent_ms, tracked as sends are recorded) and falls back to the
//   start of that bucket's hour when unknown (rows persisted without it). The exact time
//   makes "covering 39.6 days" true to the tenth of a day, which an hour's rounding is not.
// - Sends out of order (a clock stepped back) are recorded in their own hour's bucket;
//   buckets stay sorted by hour. Sends with a non-positive count are ignored, and
//   fbl_eligible is clamped to [0, eligible].
//
// Cost (the reason for the layout): buckets live in a deque sorted by hour, oldest first,
// holding only hours that had sends, so an account that sent once costs one bucket, not
// 17,520 (730 days of hours). Beside it, a hash index maps hour -> absolute position
// (position in the deque + the count of buckets ever popped from the front), so popping
// the front does not renumber anything. Hence:
// - RecordSends: O(1) amortised; a send nearly always lands in the newest bucket (checked
//   first, no hashing). A send for an hour older than the newest that has no bucket yet is
//   inserted in order: O(k) for the k newer buckets, which is 0 or 1 for a clock step of
//   a few seconds.
// - RecordHardBounce / RecordComplaint: O(1) average, one hash lookup.
// - Measure: O(buckets walked). Prune: O(buckets dropped). FreshStart: O(buckets dropped).
// A dense array indexed by hour - first_hour would be O(1) without hashing but cost
// 17,520 slots for a sparse account; a binary search would be O(log n) and need no index.
// The hash index costs one node per held bucket, the same order as the bucket itself.
//
// Persistence: the wiring saves buckets (TakeDirty() after each batch, one row per hour),
// deletes rows below dropped_before_hour() after Prune/FreshStart, stores fresh_start(),
// and rebuilds the window with FromBuckets().
//
// Thread-safety: a plain value; not safe for concurrent use (the owner serialises).
// Trust: no I/O and no parsing. Times come from herald's clock or from herald's own
// records of its sends (an outcome's sent_at is looked up by the caller, never taken
// from a peer's report).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace herald::reputation {

// Hours since the Unix epoch (floor) of `t`.
int64_t HourOf(SysTime t);
// The start of hour `hour`.
SysTime HourStart(int64_t hour);

// One hour of sends, keyed by the hour the sends happened.
struct Bucket {
  int64_t hour = 0;          // hours since the Unix epoch (floor)
  int64_t sends = 0;         // eligible sends (per recipient)
  int64_t fbl_sends = 0;     // of those, to domains that return feedback-loop reports
  int64_t hard_bounces = 0;  // <= sends
  int64_t complaints = 0;    // <= fbl_sends
  // Addition to the brief's interface: Unix milliseconds of the earliest send recorded in
  // this hour; 0 when unknown (then the start of the hour stands in). Persist it.
  int64_t first_sent_ms = 0;

  bool operator==(const Bucket&) const = default;
};

struct WindowPolicy {
  // N: reach back until at least N eligible sends are covered. Must be >= 1.
  int64_t representative_sends = 10000;
  // Cap: never reach back further than this (SES's notices quote windows over 500 days).
  // Must be positive.
  std::chrono::hours max_age{24 * 730};
};

// Checks the bounds above; a bad configuration should stop startup.
Status ValidateWindowPolicy(const WindowPolicy& policy);

struct Figures {
  int64_t sends = 0;
  int64_t fbl_sends = 0;
  int64_t hard_bounces = 0;
  int64_t complaints = 0;
  double bounce_rate = 0;     // hard_bounces / sends (0 when sends == 0)
  double complaint_rate = 0;  // complaints / fbl_sends (0 when fbl_sends == 0)
  double covered_days = 0;    // now - oldest_send, in days (0 when nothing is covered)
  SysTime oldest_send{};      // see the header comment; the epoch when nothing is covered
};

class RepWindow {
 public:
  RepWindow() = default;

  // Records `eligible` eligible sends made at `sent_at`, `fbl_eligible` of them to
  // feedback-loop domains. Ignored before the fresh start or below dropped_before_hour().
  void RecordSends(SysTime sent_at, int64_t eligible, int64_t fbl_eligible);
  // Each counts one outcome against the bucket of the send made at `sent_at`; see the
  // header comment for when they refuse (false).
  bool RecordHardBounce(SysTime sent_at);
  bool RecordComplaint(SysTime sent_at);

  // Reinstatement: forget everything sent before `from`; counting resumes at
  // CountingStartHour(). A later call with an earlier `from` does not bring anything back.
  // `from` should not be in the future (the caller clamps it to now): sends before it
  // would not be counted.
  void FreshStart(SysTime from);
  // The `from` of the last FreshStart (the epoch when there was none).
  SysTime fresh_start() const { return fresh_start_; }
  // The first hour whose sends count after the fresh start: ceil(fresh_start) in hours.
  int64_t CountingStartHour() const;

  Figures Measure(SysTime now, const WindowPolicy& policy) const;
  // Drops the buckets older than the hour of now - max_age, and refuses sends older than
  // that from then on.
  void Prune(SysTime now, const WindowPolicy& policy);

  // Oldest first, only hours that had (counted) sends.
  const std::deque<Bucket>& buckets() const { return buckets_; }
  // Every bucket with an hour below this has been dropped (pruned or before the fresh
  // start) and may be deleted from storage. Addition to the brief's interface.
  int64_t dropped_before_hour() const { return dropped_before_hour_; }

  // Rebuilds a window from stored rows (any order). Rows for the same hour are merged,
  // rows before the fresh start are dropped, negative counts become 0 and outcomes are
  // clamped to their sends. The result has nothing dirty.
  static RepWindow FromBuckets(std::vector<Bucket> buckets, SysTime fresh_start);

  // The buckets changed since the last call, oldest first (each once), then forgets them.
  // Buckets dropped meanwhile are not returned (see dropped_before_hour()).
  std::vector<Bucket> TakeDirty();

 private:
  // The bucket for `hour`, or nullptr when not held.
  Bucket* Find(int64_t hour);
  // The bucket for `hour`, created in order when missing.
  Bucket& FindOrInsert(int64_t hour);
  // Pops buckets from the front while their hour < `hour`.
  void DropBefore(int64_t hour);
  void MarkDirty(const Bucket& b) { dirty_.insert(b.hour); }

  std::deque<Bucket> buckets_;
  // hour -> absolute position; deque index = absolute position - base_. base_ grows by
  // one per bucket popped from the front and shrinks by one per bucket pushed there.
  std::unordered_map<int64_t, int64_t> index_;
  int64_t base_ = 0;
  std::unordered_set<int64_t> dirty_;
  SysTime fresh_start_{};
  int64_t dropped_before_hour_ = INT64_MIN;
};

}  // namespace herald::reputation
