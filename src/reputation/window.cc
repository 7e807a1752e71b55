#include "reputation/window.h"

#include <algorithm>
#include <string>

namespace herald::reputation {

int64_t HourOf(SysTime t) {
  return std::chrono::floor<std::chrono::hours>(t.time_since_epoch()).count();
}

SysTime HourStart(int64_t hour) { return SysTime(std::chrono::hours(hour)); }

Status ValidateWindowPolicy(const WindowPolicy& policy) {
  if (policy.representative_sends < 1) {
    return InvalidArgumentError("representative_sends must be at least 1, got " +
                                std::to_string(policy.representative_sends));
  }
  if (policy.max_age.count() < 1) {
    return InvalidArgumentError("the window's max_age must be at least one hour");
  }
  return Status::Ok();
}

int64_t RepWindow::CountingStartHour() const {
  return std::chrono::ceil<std::chrono::hours>(fresh_start_.time_since_epoch()).count();
}

Bucket* RepWindow::Find(int64_t hour) {
  if (!buckets_.empty() && buckets_.back().hour == hour) {
    return &buckets_.back();
  }
  auto it = index_.find(hour);
  if (it == index_.end()) {
    return nullptr;
  }
  return &buckets_[static_cast<size_t>(it->second - base_)];
}

Bucket& RepWindow::FindOrInsert(int64_t hour) {
  if (buckets_.empty() || hour > buckets_.back().hour) {
    buckets_.push_back(Bucket{.hour = hour});
    index_[hour] = base_ + static_cast<int64_t>(buckets_.size()) - 1;
    return buckets_.back();
  }
  if (Bucket* b = Find(hour)) {
    return *b;
  }
  if (hour < buckets_.front().hour) {
    // The front's absolute position minus one: nothing else moves.
    buckets_.push_front(Bucket{.hour = hour});
    --base_;
    index_[hour] = base_;
    return buckets_.front();
  }
  // Out of order, between two held hours: insert in place, renumber the k newer buckets.
  size_t pos = buckets_.size();
  while (pos > 0 && buckets_[pos - 1].hour > hour) {
    --pos;
  }
  buckets_.insert(buckets_.begin() + static_cast<std::ptrdiff_t>(pos), Bucket{.hour = hour});
  for (size_t i = pos; i < buckets_.size(); ++i) {
    index_[buckets_[i].hour] = base_ + static_cast<int64_t>(i);
  }
  return buckets_[pos];
}

void RepWindow::DropBefore(int64_t hour) {
  while (!buckets_.empty() && buckets_.front().hour < hour) {
    index_.erase(buckets_.front().hour);
    dirty_.erase(buckets_.front().hour);
    buckets_.pop_front();
    ++base_;
  }
  dropped_before_hour_ = std::max(dropped_before_hour_, hour);
}

void RepWindow::RecordSends(SysTime sent_at, int64_t eligible, int64_t fbl_eligible) {
  if (eligible <= 0) {
    return;
  }
  const int64_t fbl = std::clamp<int64_t>(fbl_eligible, 0, eligible);
  const int64_t hour = HourOf(sent_at);
  if (hour < dropped_before_hour_) {
    return;
  }
  Bucket& b = FindOrInsert(hour);
  const int64_t ms = UnixMillis(sent_at);
  if (b.sends == 0) {
    b.first_sent_ms = ms;
  } else if (b.first_sent_ms != 0 && ms < b.first_sent_ms) {
    b.first_sent_ms = ms;
  }
  b.sends += eligible;
  b.fbl_sends += fbl;
  MarkDirty(b);
}

bool RepWindow::RecordHardBounce(SysTime sent_at) {
  Bucket* b = Find(HourOf(sent_at));
  if (b == nullptr || b->hard_bounces >= b->sends) {
    return false;
  }
  ++b->hard_bounces;
  MarkDirty(*b);
  return true;
}

bool RepWindow::RecordComplaint(SysTime sent_at) {
  Bucket* b = Find(HourOf(sent_at));
  if (b == nullptr || b->complaints >= b->fbl_sends) {
    return false;
  }
  ++b->complaints;
  MarkDirty(*b);
  return true;
}

void RepWindow::FreshStart(SysTime from) {
  fresh_start_ = std::max(fresh_start_, from);
  DropBefore(CountingStartHour());
}

Figures RepWindow::Measure(SysTime now, const WindowPolicy& policy) const {
  Figures f;
  const int64_t cutoff = HourOf(now - policy.max_age);
  const Bucket* oldest = nullptr;
  for (auto it = buckets_.rbegin(); it != buckets_.rend(); ++it) {
    if (it->hour < cutoff) {
      break;
    }
    f.sends += it->sends;
    f.fbl_sends += it->fbl_sends;
    f.hard_bounces += it->hard_bounces;
    f.complaints += it->complaints;
    oldest = &*it;
    if (f.sends >= policy.representative_sends) {
      break;
    }
  }
  if (oldest == nullptr) {
    return f;
  }
  f.bounce_rate = f.sends > 0 ? static_cast<double>(f.hard_bounces) / f.sends : 0.0;
  f.complaint_rate = f.fbl_sends > 0 ? static_cast<double>(f.complaints) / f.fbl_sends : 0.0;
  f.oldest_send =
      oldest->first_sent_ms != 0 ? FromUnixMillis(oldest->first_sent_ms) : HourStart(oldest->hour);
  const auto covered = now - f.oldest_send;
  f.covered_days =
      covered.count() > 0 ? std::chrono::duration<double, std::ratio<86400>>(covered).count() : 0.0;
  return f;
}

void RepWindow::Prune(SysTime now, const WindowPolicy& policy) {
  DropBefore(HourOf(now - policy.max_age));
}

RepWindow RepWindow::FromBuckets(std::vector<Bucket> rows, SysTime fresh_start) {
  std::sort(rows.begin(), rows.end(),
            [](const Bucket& a, const Bucket& b) { return a.hour < b.hour; });
  RepWindow w;
  w.fresh_start_ = fresh_start;
  if (fresh_start > SysTime{}) {
    w.dropped_before_hour_ = w.CountingStartHour();
  }
  for (const Bucket& row : rows) {
    if (row.hour < w.dropped_before_hour_ || row.sends <= 0) {
      continue;
    }
    if (w.buckets_.empty() || w.buckets_.back().hour != row.hour) {
      w.buckets_.push_back(Bucket{.hour = row.hour});
      w.index_[row.hour] = static_cast<int64_t>(w.buckets_.size()) - 1;
    }
    Bucket& b = w.buckets_.back();
    if (row.first_sent_ms > 0 && (b.first_sent_ms == 0 || row.first_sent_ms < b.first_sent_ms)) {
      b.first_sent_ms = row.first_sent_ms;
    }
    const int64_t fbl = std::clamp<int64_t>(row.fbl_sends, 0, row.sends);
    b.sends += row.sends;
    b.fbl_sends += fbl;
    b.hard_bounces += std::clamp<int64_t>(row.hard_bounces, 0, row.sends);
    b.complaints += std::clamp<int64_t>(row.complaints, 0, fbl);
  }
  return w;
}

std::vector<Bucket> RepWindow::TakeDirty() {
  std::vector<Bucket> out;
  out.reserve(dirty_.size());
  for (int64_t hour : dirty_) {
    if (const Bucket* b = Find(hour)) {
      out.push_back(*b);
    }
  }
  dirty_.clear();
  std::sort(out.begin(), out.end(),
            [](const Bucket& a, const Bucket& b) { return a.hour < b.hour; });
  return out;
}

}  // namespace herald::reputation
