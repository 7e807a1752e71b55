// api/api_common.h: error values and JSON helpers shared by herald's AWS-style APIs.
//
// Contract: ApiError is one AWS error reply (HTTP status, x-amzn-ErrorType code,
// {"message": ...}). ParseJsonObject() parses a request body without exceptions and
// refuses anything but a JSON object, nesting deeper than kMaxJsonDepth, or invalid
// UTF-8; an empty body counts as {} (as AWS does for operations without input). DumpJson()
// never throws: invalid UTF-8 in strings (which may quote hostile input) is replaced.
// Thread-safety: pure functions.
// Trust: bodies are hostile network input.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/http_handler.h"

namespace herald::api {

struct ApiError {
  int status = 400;
  std::string code;     // x-amzn-ErrorType
  std::string message;  // {"message": ...}
};

inline ApiError BadRequest(std::string message) {
  return ApiError{400, "BadRequestException", std::move(message)};
}
inline ApiError NotFound(std::string message) {
  return ApiError{404, "NotFoundException", std::move(message)};
}

constexpr int kMaxJsonDepth = 32;

// Parses `body` into `*out`. nullopt on success.
std::optional<ApiError> ParseJsonObject(std::string_view body, nlohmann::json* out);

// Deepest nesting of arrays/objects in `text`, counting only brackets outside strings.
// Stops counting (and returns limit + 1) once `limit` is exceeded.
int JsonNestingDepth(std::string_view text, int limit);

std::string DumpJson(const nlohmann::json& j);

// A fresh request id shaped like a UUID (8-4-4-4-12 lower-case hex), for x-amzn-RequestId.
std::string NewRequestId();

// Cuts hostile text echoed in error messages to at most `max` bytes (adds "...").
std::string Truncated(std::string_view text, size_t max = 256);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view s);

// A small UTF-8 HTML page (no caching) with a heading and one paragraph, both escaped.
HttpResponse HtmlPage(int status, std::string_view title, std::string_view text);

}  // namespace herald::api
