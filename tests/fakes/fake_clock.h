// tests/fakes/fake_clock.h: a Clock whose time moves only when a test says so.
//
// Contract: Now() and Monotonic() start at fixed points and advance together by
// Advance(d). Thread-safety: safe from any thread (atomic counters).
// Trust: test-only.
#pragma once

#include <atomic>
#include <chrono>

#include "base/clock.h"

namespace herald {

class FakeClock final : public Clock {
 public:
  // 2026-11-18T11:06:40Z unless told otherwise.
  explicit FakeClock(int64_t start_unix_millis = 1795000000000) : wall_ms_(start_unix_millis) {}

  std::chrono::system_clock::time_point Now() override { return FromUnixMillis(wall_ms_.load()); }
  std::chrono::steady_clock::time_point Monotonic() override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(mono_ms_.load()));
  }
  void Advance(std::chrono::milliseconds d) {
    wall_ms_ += d.count();
    mono_ms_ += d.count();
  }
  void SetWallForTest(int64_t unix_millis) { wall_ms_ = unix_millis; }

 private:
  std::atomic<int64_t> wall_ms_;
  std::atomic<int64_t> mono_ms_{1000000};
};

}  // namespace herald
