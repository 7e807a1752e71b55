// auth/sigv4.h: AWS Signature Version 4 verification of incoming API requests, and the
// SES SMTP password derivation.
//
// Contract: VerifySigV4 recomputes the signature of an HTTP request exactly as AWS does
// (canonical request from the raw request target, sorted and re-encoded query, the signed
// headers' trimmed values, the payload hash: x-amz-content-sha256 when present, else the
// SHA-256 of the body) and compares it in constant time. Every failure names the error
// code, HTTP status and message AWS returns for it. Pure apart from the key lookup.
// Thread-safety: pure functions; `lookup` is called at most once per request.
// Trust: every byte of the request is hostile; the secret never appears in a result.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"

namespace herald::auth {

struct HttpRequestView {
  std::string_view method;  // "POST"
  std::string_view target;  // raw request target as received: "/v2/email/x?a=b%20c"
  std::vector<std::pair<std::string, std::string>> headers;  // as received, any case
  std::string_view body;
};

struct SigV4Expectation {
  std::string region;           // the configured region, e.g. "us-east-1"
  std::string service = "ses";  // signing name
  std::chrono::seconds max_skew = std::chrono::minutes(5);
};

struct SigV4Failure {
  int http_status = 403;
  std::string code;     // x-amzn-ErrorType, e.g. "InvalidSignatureException"
  std::string message;  // {"message": ...}
};

struct SigV4Success {
  std::string access_key_id;
};

// Returns the secret for an access key id: nullopt = unknown key. `active` false = key
// disabled (AWS answers as for an unknown key).
struct KeyInfo {
  std::string secret;
  bool active = true;
};
using KeyLookup = std::function<std::optional<KeyInfo>(const std::string& access_key_id)>;

struct SigV4Result {
  std::optional<SigV4Success> ok;
  SigV4Failure failure;  // meaningful when !ok
};

SigV4Result VerifySigV4(const HttpRequestView& request, const SigV4Expectation& expect, SysTime now,
                        const KeyLookup& lookup);

// The pieces of a signature, exposed for tests and for clients herald itself runs.
// CanonicalRequest returns "" when the target is not an absolute path, is longer than
// 16 KiB, has more than 256 query parameters or a malformed %-escape in its query.
std::string CanonicalRequest(const HttpRequestView& request,
                             const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash);
std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service);

// Signs a request as an AWS SDK would (for tests and benchmarks): returns the headers to
// add (authorization, x-amz-date, and x-amz-content-sha256 when asked for).
std::vector<std::pair<std::string, std::string>> SignRequestForTest(
    const HttpRequestView& request, std::string_view access_key_id, std::string_view secret,
    std::string_view region, std::string_view service, SysTime now, bool content_sha256_header);

// SES SMTP password, version 4: Base64(0x04 || HMAC chain("11111111", region, "ses",
// "aws4_request", "SendRawEmail") keyed from "AWS4" + secret).
std::string DeriveSmtpPasswordV4(std::string_view secret, std::string_view region);

}  // namespace herald::auth
