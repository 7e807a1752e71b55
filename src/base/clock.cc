#include "base/clock.h"

#include <charconv>
#include <ctime>
#include <optional>
#include <string_view>

namespace herald {
namespace {

std::tm ToUtc(SysTime t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

}  // namespace

int64_t UnixMillis(SysTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SysTime FromUnixMillis(int64_t ms) { return SysTime(std::chrono::milliseconds(ms)); }

std::string FormatIso8601Millis(SysTime t) {
  std::tm tm = ToUtc(t);
  int64_t ms = UnixMillis(t) % 1000;
  if (ms < 0) ms += 1000;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string FormatAmzDate(SysTime t) {
  std::tm tm = ToUtc(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string FormatRfc5322Date(SysTime t) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm = ToUtc(t);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s, %d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

namespace {

// Digits at text[*pos..], exactly `n` of them.
bool ReadDigits(std::string_view text, size_t* pos, size_t n, int* out) {
  if (*pos + n > text.size()) {
    return false;
  }
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<SysTime> ParseTimestamp(std::string_view text) {
  if (text.empty() || text.size() > 40) {
    return std::nullopt;
  }
  if (text.find('-') == std::string_view::npos || text.find('-') == 0) {
    // Epoch seconds.
    size_t dot = text.find('.');
    std::string_view whole = text.substr(0, dot);
    int64_t secs = 0;
    auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), secs);
    if (ec != std::errc() || p != whole.data() + whole.size() || whole.empty()) {
      return std::nullopt;
    }
    int64_t ms = 0;
    if (dot != std::string_view::npos) {
      std::string_view frac = text.substr(dot + 1);
      if (frac.empty() || frac.size() > 9) {
        return std::nullopt;
      }
      for (size_t i = 0; i < frac.size(); ++i) {
        if (frac[i] < '0' || frac[i] > '9') {
          return std::nullopt;
        }
        if (i < 3) {
          ms = ms * 10 + (frac[i] - '0');
        }
      }
      for (size_t i = frac.size(); i < 3; ++i) {
        ms *= 10;
      }
    }
    if (secs < -62135596800 || secs > 253402300799) {  // years 1..9999
      return std::nullopt;
    }
    return FromUnixMillis(secs * 1000 + (secs < 0 ? -ms : ms));
  }
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(text, &pos, 4, &year) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, &pos, 2, &month) || pos >= text.size() || text[pos++] != '-' ||
      !ReadDigits(text, &pos, 2, &day)) {
    return std::nullopt;
  }
  int64_t ms = 0;
  int offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') {
      return std::nullopt;
    }
    ++pos;
    if (!ReadDigits(text, &pos, 2, &hour) || pos >= text.size() || text[pos++] != ':' ||
        !ReadDigits(text, &pos, 2, &minute)) {
      return std::nullopt;
    }
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!ReadDigits(text, &pos, 2, &second)) {
        return std::nullopt;
      }
      if (pos < text.size() && text[pos] == '.') {
        ++pos;
        size_t digits = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
          if (digits < 3) {
            ms = ms * 10 + (text[pos] - '0');
          }
          ++digits;
          ++pos;
        }
        if (digits == 0 || digits > 9) {
          return std::nullopt;
        }
        for (size_t i = digits; i < 3; ++i) {
          ms *= 10;
        }
      }
    }
    if (pos < text.size()) {
      if (text[pos] == 'Z' || text[pos] == 'z') {
        ++pos;
      } else if (text[pos] == '+' || text[pos] == '-') {
        const int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0, om = 0;
        if (!ReadDigits(text, &pos, 2, &oh)) {
          return std::nullopt;
        }
        if (pos < text.size() && text[pos] == ':') {
          ++pos;
        }
        if (!ReadDigits(text, &pos, 2, &om) || oh > 23 || om > 59) {
          return std::nullopt;
        }
        offset_minutes = sign * (oh * 60 + om);
      } else {
        return std::nullopt;
      }
    }
  }
  if (pos != text.size() || year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (day > kDays[month - 1] || (month == 2 && day == 29 && !leap)) {
    return std::nullopt;
  }
  const int64_t secs = DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                       second - offset_minutes * 60;
  return FromUnixMillis(secs * 1000 + ms);
}

}  // namespace herald
