// auth/sigv4.cc: AWS Signature Version 4 verification (see sigv4.h for the contract).
//
// The canonical form follows what the signers in botocore (auth.py SigV4Auth) and
// aws-sdk-js-v3 (signature-v4 SignatureV4) produce for non-S3 services:
//   * path: the raw, already percent-encoded request path, with empty and "." segments
//     dropped and ".." segments resolved, then every byte outside the RFC 3986
//     unreserved set (and '/') percent-encoded once more. So an identity sent as
//     "/v2/email/identities/a%2Bb%40x.com" canonicalises as ".../a%252Bb%2540x.com".
//   * query: each "k=v" pair percent-decoded and re-encoded per RFC 3986 (a literal '+'
//     is a plus sign, re-encoded "%2B", not a space), sorted by key then value; a key
//     without '=' has an empty value ("k=").
//   * headers: the signed names in the order the client listed them, each value trimmed
//     with inner whitespace runs collapsed to one space, repeated headers joined by ','.
#include "auth/sigv4.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>

#include "base/crypto.h"
#include "base/strings.h"

namespace herald::auth {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// Bounds on hostile input. Real SDK requests are far below all of them.
constexpr size_t kMaxAuthorizationBytes = 4096;
constexpr size_t kMaxTargetBytes = 16 * 1024;
constexpr size_t kMaxQueryParams = 256;
constexpr size_t kMaxSignedHeaders = 64;
constexpr size_t kMaxAccessKeyIdBytes = 128;
constexpr size_t kMaxEchoBytes = 512;  // how much of a bad header an error message quotes

constexpr std::string_view kMsgSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kMsgBadToken = "The security token included in the request is invalid.";

SigV4Result Fail(int status, std::string_view code, std::string message) {
  SigV4Result r;
  r.failure.http_status = status;
  r.failure.code = std::string(code);
  r.failure.message = std::move(message);
  return r;
}
SigV4Result Incomplete(std::string message) {
  return Fail(403, "IncompleteSignatureException", std::move(message));
}
SigV4Result Invalid(std::string message) {
  return Fail(403, "InvalidSignatureException", std::move(message));
}
SigV4Result BadRequest(std::string message) {
  return Fail(400, "BadRequestException", std::move(message));
}

// Quotes hostile text in an error message: bounded, printable ASCII only.
std::string Echo(std::string_view s) {
  std::string out;
  size_t n = std::min(s.size(), kMaxEchoBytes);
  out.reserve(n + 3);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (s.size() > n) out += "...";
  return out;
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

void AppendEncoded(std::string* out, std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    if (IsUnreserved(c)) {
      *out += static_cast<char>(c);
    } else {
      *out += '%';
      *out += kHex[c >> 4];
      *out += kHex[c & 15];
    }
  }
}

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Appends `value` trimmed, with every run of whitespace collapsed to one space.
void AppendTrimAll(std::string* out, std::string_view value) {
  bool pending_space = false;
  bool any = false;
  for (char c : value) {
    if (IsSpace(c)) {
      pending_space = any;
      continue;
    }
    if (pending_space) *out += ' ';
    pending_space = false;
    any = true;
    *out += c;
  }
}

void AppendCanonicalPath(std::string* out, std::string_view path) {
  // Segments as raw (still-encoded) text; "." and empty segments vanish, ".." pops.
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view seg = path.substr(start, slash - start);
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
    start = slash + 1;
  }
  *out += '/';
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) *out += '/';
    AppendEncoded(out, segments[i]);
  }
  if (!segments.empty() && path.back() == '/') *out += '/';
}

// Returns false (with *error set) for a malformed percent-escape or too many parameters.
bool AppendCanonicalQuery(std::string* out, std::string_view query, std::string* error) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string decoded;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view item = query.substr(start, amp - start);
    start = amp + 1;
    if (item.empty()) continue;
    if (pairs.size() >= kMaxQueryParams) {
      *error = "Too many query parameters.";
      return false;
    }
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    std::pair<std::string, std::string> p;
    if (!PercentDecode(key, &decoded)) {
      *error = "Malformed percent-encoding in query string.";
      return false;
    }
    AppendEncoded(&p.first, decoded);
    if (!PercentDecode(value, &decoded)) {
      *error = "Malformed percent-encoding in query string.";
      return false;
    }
    AppendEncoded(&p.second, decoded);
    pairs.push_back(std::move(p));
  }
  std::sort(pairs.begin(), pairs.end());
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i > 0) *out += '&';
    *out += pairs[i].first;
    *out += '=';
    *out += pairs[i].second;
  }
  return true;
}

// Canonical request; false with *error for a malformed target, and *missing_header set
// when a signed header is absent from the request.
bool BuildCanonicalRequest(const HttpRequestView& request,
                           const std::vector<std::string_view>& signed_headers,
                           std::string_view signed_headers_line, std::string_view payload_hash,
                           std::string* out, std::string* error, bool* missing_header) {
  *missing_header = false;
  std::string_view target = request.target;
  if (target.empty() || target.front() != '/') {
    *error = "The request target must be an absolute path.";
    return false;
  }
  if (target.size() > kMaxTargetBytes) {
    *error = "The request target is too long.";
    return false;
  }
  size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  out->clear();
  out->reserve(256 + target.size() * 2);
  *out += request.method;
  *out += '\n';
  AppendCanonicalPath(out, path);
  *out += '\n';
  if (!AppendCanonicalQuery(out, query, error)) return false;
  *out += '\n';
  for (std::string_view name : signed_headers) {
    *out += name;
    *out += ':';
    bool found = false;
    for (const auto& [hname, hvalue] : request.headers) {
      if (!EqualsIgnoreCase(hname, name)) continue;
      if (found) *out += ',';
      found = true;
      AppendTrimAll(out, hvalue);
    }
    if (!found) *missing_header = true;
    *out += '\n';
  }
  *out += '\n';
  *out += signed_headers_line;
  *out += '\n';
  *out += payload_hash;
  return true;
}

// Collects all values of a header (joined by ','), or nullopt when absent.
std::optional<std::string> HeaderValue(const HttpRequestView& request, std::string_view name) {
  std::optional<std::string> v;
  for (const auto& [hname, hvalue] : request.headers) {
    if (!EqualsIgnoreCase(hname, name)) continue;
    if (v) {
      *v += ',';
      *v += TrimWhitespace(hvalue);
    } else {
      v = std::string(TrimWhitespace(hvalue));
    }
  }
  return v;
}

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int ToInt(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

std::optional<SysTime> MakeTime(int y, int mo, int d, int h, int mi, int s) {
  if (h > 23 || mi > 59 || s > 59) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(y),
                                  std::chrono::month(static_cast<unsigned>(mo)),
                                  std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  return SysTime(std::chrono::sys_days(ymd)) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s);
}

// 20150830T123600Z
std::optional<SysTime> ParseAmzDate(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  if (!AllDigits(s.substr(0, 8)) || !AllDigits(s.substr(9, 6))) return std::nullopt;
  return MakeTime(ToInt(s.substr(0, 4)), ToInt(s.substr(4, 2)), ToInt(s.substr(6, 2)),
                  ToInt(s.substr(9, 2)), ToInt(s.substr(11, 2)), ToInt(s.substr(13, 2)));
}

// IMF-fixdate as in a Date: header: "Sun, 30 Aug 2015 12:36:00 GMT" (botocore writes
// "-0000" for the zone; "+0000" and "UTC" are accepted too).
std::optional<SysTime> ParseHttpDate(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
      s[19] != ':' || s[22] != ':' || s[25] != ' ') {
    return std::nullopt;
  }
  std::string_view zone = s.substr(26);
  if (zone != "GMT" && zone != "UTC" && zone != "+0000" && zone != "-0000") return std::nullopt;
  std::string_view day = s.substr(5, 2), year = s.substr(12, 4), hh = s.substr(17, 2),
                   mm = s.substr(20, 2), ss = s.substr(23, 2);
  if (!AllDigits(day) || !AllDigits(year) || !AllDigits(hh) || !AllDigits(mm) || !AllDigits(ss)) {
    return std::nullopt;
  }
  int month = 0;
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (s.substr(8, 3) == kMonths[i]) month = static_cast<int>(i) + 1;
  }
  if (month == 0) return std::nullopt;
  return MakeTime(ToInt(year), month, ToInt(day), ToInt(hh), ToInt(mm), ToInt(ss));
}

std::string SkewText(std::chrono::seconds skew) {
  char buf[48];
  if (skew.count() % 60 == 0) {
    std::snprintf(buf, sizeof buf, "%lld min.", static_cast<long long>(skew.count() / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld sec.", static_cast<long long>(skew.count()));
  }
  return buf;
}

// A header name as a signer writes it in SignedHeaders: lower-case RFC 9110 token.
bool IsLowerToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

struct AuthParams {
  std::optional<std::string_view> credential;
  std::optional<std::string_view> signed_headers;
  std::optional<std::string_view> signature;
};

// Parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...". Returns
// an error message (IncompleteSignatureException) or nullopt on success.
std::optional<std::string> ParseAuthorization(std::string_view header, AuthParams* out) {
  std::string_view v = TrimWhitespace(header);
  size_t sp = v.find_first_of(" \t");
  std::string_view algorithm = v.substr(0, sp);
  if (algorithm != kAlgorithm) {
    if (StartsWithIgnoreCase(algorithm, "AWS4-")) {
      return "Unsupported AWS 'algorithm': '" + Echo(algorithm) + "'";
    }
    return std::string();  // not SigV4 at all: reported as missing parameters
  }
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : v.substr(sp + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string_view::npos) comma = rest.size();
    std::string_view item = TrimWhitespace(rest.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return "'" + Echo(item) +
             "' not a valid key=value pair (missing equal-sign) in Authorization header: '" +
             Echo(v) + "'.";
    }
    std::string_view key = item.substr(0, eq);
    std::string_view value = item.substr(eq + 1);
    std::optional<std::string_view>* slot = nullptr;
    if (key == "Credential") {
      slot = &out->credential;
    } else if (key == "SignedHeaders") {
      slot = &out->signed_headers;
    } else if (key == "Signature") {
      slot = &out->signature;
    } else {
      continue;  // AWS ignores parameters it does not know
    }
    if (slot->has_value()) {
      return "Authorization header has a duplicate '" + std::string(key) +
             "' parameter. Authorization=" + Echo(v);
    }
    if (!value.empty()) *slot = value;
  }
  return std::nullopt;
}

}  // namespace

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string k = "AWS4";
  k += secret;
  std::string key = HmacSha256(k, date);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  return HmacSha256(key, kTerminator);
}

std::string CanonicalRequest(const HttpRequestView& request,
                             const std::vector<std::string>& signed_headers,
                             std::string_view payload_hash) {
  std::vector<std::string_view> names(signed_headers.begin(), signed_headers.end());
  std::string line;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) line += ';';
    line += names[i];
  }
  std::string out, error;
  bool missing = false;
  if (!BuildCanonicalRequest(request, names, line, payload_hash, &out, &error, &missing)) {
    return std::string();
  }
  return out;
}

SigV4Result VerifySigV4(const HttpRequestView& request, const SigV4Expectation& expect, SysTime now,
                        const KeyLookup& lookup) {
  std::optional<std::string> authorization = HeaderValue(request, "authorization");
  if (!authorization) {
    return Fail(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  }
  if (authorization->size() > kMaxAuthorizationBytes) {
    return Incomplete("Authorization header is too long.");
  }

  // 1. The header's shape and the presence of a date.
  AuthParams params;
  if (std::optional<std::string> err = ParseAuthorization(*authorization, &params);
      err && !err->empty()) {
    return Incomplete(std::move(*err));
  }
  std::optional<std::string> amz_date = HeaderValue(request, "x-amz-date");
  std::optional<std::string> http_date;
  if (!amz_date) http_date = HeaderValue(request, "date");
  if (!params.credential || !params.signed_headers || !params.signature ||
      (!amz_date && !http_date)) {
    std::string m;
    if (!params.credential) m += "Authorization header requires 'Credential' parameter. ";
    if (!params.signature) m += "Authorization header requires 'Signature' parameter. ";
    if (!params.signed_headers) m += "Authorization header requires 'SignedHeaders' parameter. ";
    if (!amz_date && !http_date) {
      m += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
    }
    m += "Authorization=" + Echo(*authorization);
    return Incomplete(std::move(m));
  }

  // 2. The request time, and the skew window.
  std::optional<SysTime> when = amz_date ? ParseAmzDate(*amz_date) : ParseHttpDate(*http_date);
  if (!when) {
    return Incomplete("Date must be in ISO-8601 'basic format'. Got '" +
                      Echo(amz_date ? *amz_date : *http_date) +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  const std::string request_time = FormatAmzDate(*when);
  const SysTime now_s = std::chrono::floor<std::chrono::seconds>(now);
  if (*when < now_s - expect.max_skew) {
    return Invalid("Signature expired: " + request_time + " is now earlier than " +
                   FormatAmzDate(now_s - expect.max_skew) + " (" + FormatAmzDate(now_s) + " - " +
                   SkewText(expect.max_skew) + ")");
  }
  if (*when > now_s + expect.max_skew) {
    return Invalid("Signature not yet current: " + request_time + " is still later than " +
                   FormatAmzDate(now_s + expect.max_skew) + " (" + FormatAmzDate(now_s) + " + " +
                   SkewText(expect.max_skew) + ")");
  }

  // 3. The credential scope.
  std::vector<std::string_view> scope = Split(*params.credential, '/');
  if (scope.size() != 5) {
    return Incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        Echo(*params.credential) + "'");
  }
  {
    std::string m;
    if (scope[2] != expect.region) m += "Credential should be scoped to a valid region. ";
    if (scope[3] != expect.service) {
      m += "Credential should be scoped to correct service: '" + expect.service + "'. ";
    }
    if (scope[4] != kTerminator) {
      m += "Credential should be scoped with a valid terminator: 'aws4_request', not '" +
           Echo(scope[4]) + "'. ";
    }
    std::string_view date = std::string_view(request_time).substr(0, 8);
    if (scope[1] != date) {
      m += "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
           "HTTP: '" +
           Echo(scope[1]) + "' != '" + std::string(date) + "', from '" + request_time + "'.";
    }
    if (!m.empty()) return Invalid(std::move(m));
  }

  // 4. The signed header list: lower-case names, no repeats, host among them.
  std::vector<std::string_view> names = Split(*params.signed_headers, ';');
  if (names.size() > kMaxSignedHeaders) {
    return Incomplete("SignedHeaders names too many headers.");
  }
  bool host_signed = false;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!IsLowerToken(names[i])) {
      return Incomplete(
          "SignedHeaders must be a ';'-separated list of lower-case header names. "
          "Got '" +
          Echo(*params.signed_headers) + "'.");
    }
    for (size_t j = 0; j < i; ++j) {
      if (names[j] == names[i]) {
        return Incomplete("SignedHeaders lists '" + Echo(names[i]) + "' more than once.");
      }
    }
    if (names[i] == "host") host_signed = true;
  }
  if (!host_signed) {
    return Invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  // 5. The key. herald issues no session credentials, so any security token is invalid.
  std::string_view access_key_id = scope[0];
  if (HeaderValue(request, "x-amz-security-token") || access_key_id.empty() ||
      access_key_id.size() > kMaxAccessKeyIdBytes) {
    return Fail(403, "UnrecognizedClientException", std::string(kMsgBadToken));
  }
  std::optional<KeyInfo> key = lookup(std::string(access_key_id));
  if (!key || !key->active) {
    return Fail(403, "UnrecognizedClientException", std::string(kMsgBadToken));
  }

  // 6. The payload hash. A client-supplied x-amz-content-sha256 must be the body's real
  // hash: the signature covers the header, so accepting a different body would let the
  // body be swapped under a valid signature. UNSIGNED-PAYLOAD (and the STREAMING-*
  // chunked modes) exist for S3 uploads; SES requests are small JSON documents, so
  // herald always requires a signed payload.
  std::string body_hash = Sha256Hex(request.body);
  if (std::optional<std::string> declared = HeaderValue(request, "x-amz-content-sha256")) {
    if (*declared == kUnsignedPayload || StartsWithIgnoreCase(*declared, "STREAMING-")) {
      return Invalid("x-amz-content-sha256 '" + Echo(*declared) +
                     "' is not supported by this service; the payload must be signed.");
    }
    if (*declared != body_hash) {
      return Invalid(
          "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
  }

  // 7. The signature itself.
  std::string canonical, error;
  bool missing_header = false;
  if (!BuildCanonicalRequest(request, names, *params.signed_headers, body_hash, &canonical, &error,
                             &missing_header)) {
    return BadRequest(std::move(error));
  }
  if (missing_header) return Invalid(std::string(kMsgSignatureMismatch));

  std::string_view credential_scope = *params.credential;
  credential_scope.remove_prefix(access_key_id.size() + 1);
  std::string string_to_sign;
  string_to_sign.reserve(kAlgorithm.size() + request_time.size() + credential_scope.size() + 67);
  string_to_sign += kAlgorithm;
  string_to_sign += '\n';
  string_to_sign += request_time;
  string_to_sign += '\n';
  string_to_sign += credential_scope;
  string_to_sign += '\n';
  string_to_sign += Sha256Hex(canonical);

  std::string expected = HexEncode(
      HmacSha256(SigningKey(key->secret, scope[1], expect.region, expect.service), string_to_sign));
  if (!ConstantTimeEquals(expected, *params.signature)) {
    return Invalid(std::string(kMsgSignatureMismatch));
  }
  SigV4Result ok;
  ok.ok = SigV4Success{std::string(access_key_id)};
  return ok;
}

std::vector<std::pair<std::string, std::string>> SignRequestForTest(
    const HttpRequestView& request, std::string_view access_key_id, std::string_view secret,
    std::string_view region, std::string_view service, SysTime now, bool content_sha256_header) {
  // Headers botocore never signs (SIGNED_HEADERS_BLACKLIST) plus authorization.
  static constexpr std::array<std::string_view, 13> kUnsigned = {"authorization",
                                                                 "connection",
                                                                 "expect",
                                                                 "keep-alive",
                                                                 "proxy-authenticate",
                                                                 "proxy-authorization",
                                                                 "te",
                                                                 "trailer",
                                                                 "transfer-encoding",
                                                                 "upgrade",
                                                                 "user-agent",
                                                                 "x-amzn-trace-id",
                                                                 "x-amz-date"};
  const std::string amz_date = FormatAmzDate(now);
  const std::string body_hash = Sha256Hex(request.body);

  HttpRequestView signed_view{request.method, request.target, {}, request.body};
  std::vector<std::string> names;
  for (const auto& [name, value] : request.headers) {
    std::string lower = AsciiLower(name);
    if (std::find(kUnsigned.begin(), kUnsigned.end(), lower) != kUnsigned.end()) continue;
    if (content_sha256_header && lower == "x-amz-content-sha256") continue;
    signed_view.headers.emplace_back(lower, value);
    if (std::find(names.begin(), names.end(), lower) == names.end()) names.push_back(lower);
  }
  signed_view.headers.emplace_back("x-amz-date", amz_date);
  names.push_back("x-amz-date");
  if (content_sha256_header) {
    signed_view.headers.emplace_back("x-amz-content-sha256", body_hash);
    names.push_back("x-amz-content-sha256");
  }
  std::sort(names.begin(), names.end());

  std::string canonical = CanonicalRequest(signed_view, names, body_hash);
  std::string date = amz_date.substr(0, 8);
  std::string scope = date + "/" + std::string(region) + "/" + std::string(service) + "/" +
                      std::string(kTerminator);
  std::string string_to_sign =
      std::string(kAlgorithm) + "\n" + amz_date + "\n" + scope + "\n" + Sha256Hex(canonical);
  std::string signature =
      HexEncode(HmacSha256(SigningKey(secret, date, region, service), string_to_sign));
  std::string line;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) line += ';';
    line += names[i];
  }
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("authorization", std::string(kAlgorithm) +
                                        " Credential=" + std::string(access_key_id) + "/" + scope +
                                        ", SignedHeaders=" + line + ", Signature=" + signature);
  out.emplace_back("x-amz-date", amz_date);
  if (content_sha256_header) out.emplace_back("x-amz-content-sha256", body_hash);
  return out;
}

std::string DeriveSmtpPasswordV4(std::string_view secret, std::string_view region) {
  std::string k = "AWS4";
  k += secret;
  std::string key = HmacSha256(k, "11111111");
  key = HmacSha256(key, region);
  key = HmacSha256(key, "ses");
  key = HmacSha256(key, kTerminator);
  key = HmacSha256(key, "SendRawEmail");
  std::string raw(1, '\x04');
  raw += key;
  return Base64Encode(raw);
}

}  // namespace herald::auth
