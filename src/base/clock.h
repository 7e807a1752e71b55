// base/clock.h: the only way herald code reads time.
//
// Contract: Now() is wall-clock time (Date: headers, event timestamps, SigV4 windows);
// Monotonic() never goes backwards (timeouts, rate buckets). Tests inject FakeClock
// (tests/fakes/fake_clock.h) so that hours pass in microseconds.
// Thread-safety: SystemClock is safe from any thread; implementations must be too.
// Trust: no input.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace herald {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() = 0;
  virtual std::chrono::steady_clock::time_point Monotonic() = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point Monotonic() override {
    return std::chrono::steady_clock::now();
  }
};

using SysTime = std::chrono::system_clock::time_point;

// Milliseconds since the Unix epoch.
int64_t UnixMillis(SysTime t);
SysTime FromUnixMillis(int64_t ms);

// 2026-11-22T10:04:05.123Z, the format of SES event timestamps.
std::string FormatIso8601Millis(SysTime t);
// 20261122T100405Z, the x-amz-date format.
std::string FormatAmzDate(SysTime t);
// Sun, 22 Nov 2026 10:04:05 +0000, the RFC 5322 Date: format.
std::string FormatRfc5322Date(SysTime t);

// A timestamp as botocore and the AWS CLI send them in query strings, and as the CLI takes
// them: ISO 8601 ("2026-11-22T10:04:05Z", optional fraction and UTC offset, or a bare date)
// or epoch seconds ("1795000000", optional fraction). nullopt when malformed or outside
// the years 1 to 9999.
std::optional<SysTime> ParseTimestamp(std::string_view text);

}  // namespace herald
