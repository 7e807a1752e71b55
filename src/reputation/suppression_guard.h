// reputation/suppression_guard.h: holds back a burst of hard bounces that looks like one
// fault on the receiving side (a misconfigured relay, a provider refusing all of
// herald's mail with one text) instead of suppressing every recipient it names and
// counting every one against the sender's bounce rate. This goes beyond SES, which has
// no such guard.
//
// Contract: every hard bounce is Offer()ed with its recipient, diagnostic and the time it
// was learned, and is held for `window`. Release(now) hands back those whose hold has
// passed while their key stayed quiet; the caller then suppresses and counts them as
// usual. The key is (the recipient's domain, the diagnostic's shape: lower case, with
// addresses, bracketed text and digit runs of 4 or more replaced), so "550 5.1.1 <a@x>:
// unknown" and "550 5.1.1 <b@x>: unknown" share a key. When `burst_threshold` distinct
// recipients share a key within `window`, and they are at least `burst_fraction` of the
// sends to that destination that Sent() recorded over the last `send_window` (a normal
// list with some dead addresses at a big provider stays well below it; a relay refusing
// everything does not; no recorded sends counts as a fraction of 1), the key becomes a
// suspect case: everything
// held under it, and every later hard bounce with that key, goes into the case and is
// released to nobody until an operator decides. Confirm(id) hands the case's items back
// (they were real: suppress and count them); Release(id) drops them (the addresses stay
// sendable and nothing is counted). Either closes the case, and the key starts afresh.
// A bounce learned more than `send_window` after its send (a late report) is not guarded.
// With `enabled` false, or when `max_held` items are held already, Offer passes items
// straight through to the next Release (the guard fails open: it must never lose a
// bounce). Items are held in memory; the wiring persists open cases (Cases()/Restore()).
// Thread-safety: none; the owner serialises calls.
// Trust: diagnostics come from remote servers; they are only compared, never interpreted,
// and a case keeps one sample of at most 512 bytes.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/strings.h"

namespace herald::reputation {

struct GuardPolicy {
  bool enabled = true;
  std::chrono::seconds window{600};        // burst span, and how long each hard bounce is held
  int64_t burst_threshold = 25;            // distinct recipients per key within `window`
  double burst_fraction = 0.5;             // ... that are at least this share of the sends
  std::chrono::seconds send_window{3600};  // sends per destination are counted over this
  size_t max_held = 1000000;               // items held at once (pending and in cases)
};

// The key parts (exposed for tests and for the operator's view).
std::string GuardDestination(std::string_view recipient);  // lower-case domain, "" if none
std::string DiagnosticShape(std::string_view diagnostic);

struct GuardCaseInfo {
  uint64_t id = 0;
  std::string destination;
  std::string shape;
  std::string sample;  // one diagnostic as received (cut to 512 bytes)
  SysTime opened;
  SysTime last;
  size_t held = 0;                      // items in the case
  std::vector<std::string> recipients;  // the first 20
};

template <typename T>
class SuppressionGuard {
 public:
  explicit SuppressionGuard(GuardPolicy policy) : policy_(policy) {}

  // One accepted send to `recipient` at `at` (per recipient, as counted for reputation).
  void Sent(std::string_view recipient, SysTime at) {
    if (!policy_.enabled) return;
    auto& minutes = sends_[GuardDestination(recipient)];
    const int64_t minute =
        std::chrono::duration_cast<std::chrono::minutes>(at.time_since_epoch()).count();
    if (!minutes.empty() && minutes.back().first == minute) {
      ++minutes.back().second;
    } else {
      minutes.emplace_back(minute, 1);
    }
    const int64_t keep =
        std::chrono::duration_cast<std::chrono::minutes>(policy_.send_window).count();
    while (!minutes.empty() && minutes.front().first < minute - keep) minutes.pop_front();
  }

  // A hard bounce learned at `at` for a send made at `sent_at`.
  void Offer(std::string_view recipient, std::string_view diagnostic, SysTime sent_at, SysTime at,
             T item) {
    // A late outcome (a report about mail sent long ago) is not what a burst is made of,
    // and the recent sends say nothing about it: it passes.
    if (!policy_.enabled || held_ >= policy_.max_held || at - sent_at > policy_.send_window) {
      ready_.push_back(std::move(item));
      return;
    }
    Key key{GuardDestination(recipient), DiagnosticShape(diagnostic)};
    std::string who = AsciiLower(recipient);
    if (auto open = open_by_key_.find(key); open != open_by_key_.end()) {
      Case& c = cases_.at(open->second);
      AddToCase(c, who, diagnostic, at, std::move(item));
      return;
    }
    KeyState& ks = keys_[key];
    // Recipients seen under this key within the window (older ones are forgotten).
    while (!ks.seen.empty() && ks.seen.front().first + policy_.window < at) {
      ks.seen.pop_front();
    }
    ks.seen.emplace_back(at, who);
    pending_.push_back(Pending{key, at, std::move(item), who, std::string(diagnostic)});
    ++held_;
    std::set<std::string_view> distinct;
    for (const auto& [t, r] : ks.seen) distinct.insert(r);
    if (static_cast<int64_t>(distinct.size()) >= policy_.burst_threshold &&
        static_cast<double>(distinct.size()) >=
            policy_.burst_fraction * static_cast<double>(SendsTo(key.first, at))) {
      OpenCase(key, at);
    }
  }

  // Items whose hold has passed (and those that bypassed the guard), oldest first.
  std::vector<T> Release(SysTime now) {
    std::vector<T> out;
    out.reserve(ready_.size());
    for (T& t : ready_) out.push_back(std::move(t));
    ready_.clear();
    while (!pending_.empty() && pending_.front().at + policy_.window <= now) {
      out.push_back(std::move(pending_.front().item));
      pending_.pop_front();
      --held_;
    }
    // Forget destinations and keys with nothing recent.
    const int64_t minute =
        std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count();
    const int64_t keep =
        std::chrono::duration_cast<std::chrono::minutes>(policy_.send_window).count();
    for (auto it = sends_.begin(); it != sends_.end();) {
      while (!it->second.empty() && it->second.front().first < minute - keep)
        it->second.pop_front();
      it = it->second.empty() ? sends_.erase(it) : std::next(it);
    }
    for (auto it = keys_.begin(); it != keys_.end();) {
      auto& seen = it->second.seen;
      while (!seen.empty() && seen.front().first + policy_.window < now) seen.pop_front();
      it = seen.empty() ? keys_.erase(it) : std::next(it);
    }
    return out;
  }

  std::vector<GuardCaseInfo> Cases() const {
    std::vector<GuardCaseInfo> out;
    for (const auto& [id, c] : cases_) out.push_back(c.info);
    return out;
  }

  // The items of a case, for the wiring to persist it (nullptr when there is no such case).
  const std::vector<T>* CaseItems(uint64_t id) const {
    auto it = cases_.find(id);
    return it == cases_.end() ? nullptr : &it->second.items;
  }

  // Re-opens a persisted case (after a restart). Its key collects later bounces again.
  void Restore(GuardCaseInfo info, std::vector<T> items) {
    Key key{info.destination, info.shape};
    next_id_ = std::max(next_id_, info.id + 1);
    held_ += items.size();
    info.held = items.size();
    open_by_key_[key] = info.id;
    Case& c = cases_[info.id];
    c.key = key;
    c.info = std::move(info);
    c.items = std::move(items);
  }

  // The operator says the burst was real: its items, to suppress and count.
  std::optional<std::vector<T>> Confirm(uint64_t id) { return Close(id); }
  // The operator says it was not: its items are dropped; returns how many.
  std::optional<size_t> Release(uint64_t id) {
    auto items = Close(id);
    if (!items) return std::nullopt;
    return items->size();
  }

  size_t held() const { return held_; }

 private:
  using Key = std::pair<std::string, std::string>;  // destination, shape
  struct Pending {
    Key key;
    SysTime at;
    T item;
    std::string recipient;
    std::string diagnostic;
  };
  struct KeyState {
    std::deque<std::pair<SysTime, std::string>> seen;  // (time, recipient) in the window
  };
  struct Case {
    Key key;
    GuardCaseInfo info;
    std::vector<T> items;
  };

  // Sends to `destination` recorded within send_window before `at`.
  int64_t SendsTo(const std::string& destination, SysTime at) const {
    auto it = sends_.find(destination);
    if (it == sends_.end()) return 0;
    const int64_t minute =
        std::chrono::duration_cast<std::chrono::minutes>(at.time_since_epoch()).count();
    const int64_t keep =
        std::chrono::duration_cast<std::chrono::minutes>(policy_.send_window).count();
    int64_t n = 0;
    for (const auto& [m, count] : it->second) {
      if (m >= minute - keep) n += count;
    }
    return n;
  }

  void AddToCase(Case& c, const std::string& who, std::string_view diagnostic, SysTime at, T item) {
    c.items.push_back(std::move(item));
    ++held_;
    c.info.held = c.items.size();
    c.info.last = std::max(c.info.last, at);
    if (c.info.recipients.size() < 20) c.info.recipients.push_back(who);
    if (c.info.sample.empty()) c.info.sample = std::string(diagnostic.substr(0, 512));
  }

  // Moves everything pending under `key` into a new case.
  void OpenCase(const Key& key, SysTime at) {
    uint64_t id = next_id_++;
    Case& c = cases_[id];
    c.key = key;
    c.info.id = id;
    c.info.destination = key.first;
    c.info.shape = key.second;
    c.info.opened = at;
    c.info.last = at;
    open_by_key_[key] = id;
    std::deque<Pending> keep;
    for (Pending& p : pending_) {
      if (p.key == key) {
        --held_;  // AddToCase counts it again
        AddToCase(c, p.recipient, p.diagnostic, p.at, std::move(p.item));
      } else {
        keep.push_back(std::move(p));
      }
    }
    pending_ = std::move(keep);
    keys_.erase(key);
  }

  std::optional<std::vector<T>> Close(uint64_t id) {
    auto it = cases_.find(id);
    if (it == cases_.end()) return std::nullopt;
    std::vector<T> items = std::move(it->second.items);
    held_ -= items.size();
    open_by_key_.erase(it->second.key);
    cases_.erase(it);
    return items;
  }

  GuardPolicy policy_;
  std::deque<Pending> pending_;  // in Offer order (times nearly ordered)
  std::vector<T> ready_;         // passed straight through
  std::map<Key, KeyState> keys_;
  std::map<std::string, std::deque<std::pair<int64_t, int64_t>>> sends_;  // minute, count
  std::map<Key, uint64_t> open_by_key_;
  std::map<uint64_t, Case> cases_;
  uint64_t next_id_ = 1;
  size_t held_ = 0;
};

}  // namespace herald::reputation
