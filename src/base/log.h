// base/log.h: structured JSON logs, one object per line on stderr.
//
// Contract: Log(level, msg, fields) writes {"ts":...,"level":...,"msg":...,<fields>} as a
// single write(2), so lines from several threads never interleave. Below the configured
// level nothing is formatted. Secrets must never be passed as fields.
// Thread-safety: safe from any thread.
// Trust: field values may hold hostile bytes; they are JSON-escaped.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace herald {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warn", "error".
bool ParseLogLevel(std::string_view text, LogLevel* out);

using LogField = std::pair<std::string_view, std::string>;
void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});

inline void LogInfo(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarn, msg, fields);
}
inline void LogError(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, msg, fields);
}
inline void LogDebug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, msg, fields);
}

// JSON string escaping (without the surrounding quotes).
std::string JsonEscape(std::string_view s);

}  // namespace herald
