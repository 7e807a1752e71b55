// events/http_poster.h: HttpPoster, the one way event publishing talks HTTP to the outside
// (SNS-style HTTP/HTTPS subscribers, webhooks), and NewHttpPoster, its cpp-httplib client.
//
// Contract: Post() sends one request and returns the peer's reply as a value: any HTTP
// status, 2xx or not, is an HttpReply (the caller decides what is a success). Errors are:
//   kInvalidArgument  the URL does not parse, its scheme is not http/https, or a header
//                     name/value is malformed (CR/LF injection is refused, never sent);
//   kUnavailable      no reply: DNS, connect refused or timed out, TLS handshake or
//                     certificate verification failed, read/write failed or timed out.
//                     The message names the URL (without credentials) and the reason.
// Redirects are never followed (a 3xx is returned as it is). Only the first
// HttpPosterOptions::max_reply_body_bytes (64 KiB) of a reply body are kept; a longer body
// is cut there, the connection dropped, and HttpReply::body_truncated set.
// A URL may carry "user:password@" (percent-encoded) as SNS endpoints may: it becomes an
// `Authorization: Basic` header and never appears in errors.
// The real poster keeps one keep-alive connection per scheme://host:port and reuses it.
// HTTPS verifies the server's certificate chain (system store, or options.ca_cert_file)
// and host name unless options.verify_tls is false.
// Thread-safety: Post()/Get() are safe from any thread; requests to the same
// scheme://host:port are serialized on that origin's connection, others run in parallel.
// Trust: URLs and headers come from operators' configuration (event destinations);
// replies come from arbitrary peers and are bounded in size and time, never interpreted.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace herald::events {

struct HttpRequest {
  std::string url;  // http[s]://[user:pass@]host[:port][/path][?query]; a #fragment is dropped
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given, in order
  std::string body;
  std::string content_type = "application/json";  // empty: no Content-Type header
};

struct HttpReply {
  int status = 0;
  std::string body;  // at most HttpPosterOptions::max_reply_body_bytes
  bool body_truncated = false;
};

// A URL as HttpPoster understands it, split into the parts a client needs.
struct HttpUrl {
  std::string scheme;  // "http" or "https" (lower case)
  std::string host;    // as written (lower-cased); IPv6 literals without brackets
  uint16_t port = 0;   // explicit, or 80/443
  std::string target;  // path and query, at least "/"
  std::string user;    // percent-decoded userinfo, empty when absent
  std::string password;
  bool has_userinfo = false;

  // "scheme://host:port", with IPv6 hosts in brackets: the key of a cached connection.
  std::string Origin() const;
  // Origin() + target, without credentials: safe to log.
  std::string Redacted() const;
};

// Parses an absolute http/https URL. kInvalidArgument for anything else: other schemes,
// missing or malformed host, port outside 1..65535, spaces or control characters.
StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

// Checks the extra headers of a request: RFC 9110 token names, values without CR, LF or
// NUL. kInvalidArgument names the first bad header.
Status ValidateHttpHeaders(const std::vector<std::pair<std::string, std::string>>& headers);

class HttpPoster {
 public:
  virtual ~HttpPoster() = default;
  virtual StatusOr<HttpReply> Post(const HttpRequest& request) = 0;
  // A GET of `url` (e.g. an SNS SubscribeURL); same errors as Post.
  virtual StatusOr<HttpReply> Get(const std::string& url) = 0;
};

using HttpPosterPtr = std::unique_ptr<HttpPoster>;

struct HttpPosterOptions {
  // TCP connect (and TLS handshake), per-read and per-write timeouts. Each within
  // (0, 1 h]; Validate() rejects anything else.
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds write_timeout{10000};
  // Verify HTTPS servers' certificates and host names. false only for tests and
  // self-signed endpoints the operator trusts anyway.
  bool verify_tls = true;
  // PEM file of trusted CAs for HTTPS; empty: the system's default store.
  std::string ca_cert_file;
  // Sent unless the request's headers carry their own User-Agent.
  std::string user_agent = "herald-events/1";
  // Reply bodies are cut after this many bytes (64 KiB); within 1..16 MiB.
  size_t max_reply_body_bytes = 64 * 1024;
  // Connections (origins) kept open at most; the least recently used is dropped beyond.
  size_t max_cached_connections = 256;

  Status Validate() const;
};

// The cpp-httplib poster. `options` must pass Validate() (checked: a violation crashes,
// so configuration loaders validate first).
HttpPosterPtr NewHttpPoster(const HttpPosterOptions& options);

}  // namespace herald::events
