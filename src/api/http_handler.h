// api/http_handler.h: the seam between the HTTP transport and the API handlers.
//
// Contract: an HttpHandler turns one fully read HTTP request into one response. The
// request carries the raw request target exactly as received (undecoded path and query,
// as SigV4 needs it), the headers in the case they were received, and the whole body.
// Handle() never throws and always returns a response (errors are responses).
// Thread-safety: Handle() is called concurrently from the listener's worker threads;
// implementations must be safe for that.
// Trust: every field of HttpRequest comes from the network and is hostile; the transport
// has only bounded its sizes (body by HttpListenerConfig::max_body_bytes).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace herald::api {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // raw, undecoded path + query: "/v2/email/identities/a%40b.c?x=y"
  std::vector<std::pair<std::string, std::string>> headers;  // as received, any case
  std::string body;
  std::string remote_addr;  // peer IP address, for logs and the Principal
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // First header with this name (case-insensitive), or nullptr.
  const std::string* FindHeader(std::string_view name) const;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual HttpResponse Handle(const HttpRequest& request) = 0;
};

}  // namespace herald::api
