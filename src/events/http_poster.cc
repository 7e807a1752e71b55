#include "events/http_poster.h"

#include <arpa/inet.h>
#include <httplib.h>

#include <charconv>
#include <cstdint>
#include <map>
#include <mutex>

#include "base/crypto.h"
#include "base/strings.h"

namespace herald::events {

namespace {

constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::hours(1);
constexpr size_t kMaxReplyBodyLimit = 16 * 1024 * 1024;

bool IsIpv6Literal(const std::string& host) { return host.find(':') != std::string::npos; }

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Headers whose values the HTTP client itself must own: framing and routing.
bool IsManagedHeader(std::string_view name) {
  return EqualsIgnoreCase(name, "Host") || EqualsIgnoreCase(name, "Content-Length") ||
         EqualsIgnoreCase(name, "Transfer-Encoding") || EqualsIgnoreCase(name, "Connection");
}

bool HasHeader(const std::vector<std::pair<std::string, std::string>>& headers,
               std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) {
      return true;
    }
  }
  return false;
}

Status BadUrl(std::string_view why) {
  return InvalidArgumentError("invalid URL: " + std::string(why));
}

StatusOr<uint16_t> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) {
    return BadUrl("bad port");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return BadUrl("port outside 1..65535");
  }
  return static_cast<uint16_t>(value);
}

std::string DescribeError(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "connection failed (refused, unreachable, unresolvable or timed out)";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "read failed or timed out";
    case httplib::Error::Write:
      return "write failed or timed out";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLServerVerification:
      return "TLS certificate verification failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the trusted CA certificates";
    default:
      return httplib::to_string(error);
  }
}

class HttplibPoster final : public HttpPoster {
 public:
  explicit HttplibPoster(const HttpPosterOptions& options) : options_(options) {}

  StatusOr<HttpReply> Post(const HttpRequest& request) override { return Send("POST", request); }

  StatusOr<HttpReply> Get(const std::string& url) override {
    HttpRequest request;
    request.url = url;
    request.content_type.clear();
    return Send("GET", request);
  }

 private:
  // One cached connection. `mu` serializes requests on it (httplib clients are not safe
  // for concurrent requests).
  struct Origin {
    std::mutex mu;
    std::unique_ptr<httplib::ClientImpl> client;
    uint64_t last_used = 0;  // guarded by the poster's mu_
  };

  std::shared_ptr<Origin> OriginFor(const HttpUrl& url) {
    const std::string key = url.Origin();
    std::lock_guard<std::mutex> lock(mu_);
    ++use_counter_;
    auto it = origins_.find(key);
    if (it != origins_.end()) {
      it->second->last_used = use_counter_;
      return it->second;
    }
    if (origins_.size() >= options_.max_cached_connections) {
      auto oldest = origins_.begin();
      for (auto i = origins_.begin(); i != origins_.end(); ++i) {
        if (i->second->last_used < oldest->second->last_used) {
          oldest = i;
        }
      }
      origins_.erase(oldest);  // requests still using it keep it alive
    }
    auto origin = std::make_shared<Origin>();
    origin->last_used = use_counter_;
    if (url.scheme == "https") {
      origin->client = std::make_unique<httplib::SSLClient>(url.host, url.port);
      origin->client->enable_server_certificate_verification(options_.verify_tls);
      if (!options_.ca_cert_file.empty()) {
        origin->client->set_ca_cert_path(options_.ca_cert_file);
      }
    } else {
      origin->client = std::make_unique<httplib::ClientImpl>(url.host, url.port);
    }
    httplib::ClientImpl& c = *origin->client;
    c.set_connection_timeout(options_.connect_timeout);
    c.set_read_timeout(options_.read_timeout);
    c.set_write_timeout(options_.write_timeout);
    c.set_keep_alive(true);
    c.set_follow_location(false);
    c.set_url_encode(false);  // targets are sent as written (checked by ParseHttpUrl)
    c.set_tcp_nodelay(true);
    origins_.emplace(key, origin);
    return origin;
  }

  StatusOr<HttpReply> Send(const char* method, const HttpRequest& request) {
    ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(request.url));
    RETURN_IF_ERROR(ValidateHttpHeaders(request.headers));
    if (request.content_type.find_first_of("\r\n") != std::string::npos) {
      return InvalidArgumentError("content type holds CR or LF");
    }

    httplib::Request req;
    req.method = method;
    req.path = url.target;
    for (const auto& [name, value] : request.headers) {
      req.headers.emplace(name, value);
    }
    if (!HasHeader(request.headers, "User-Agent") && !options_.user_agent.empty()) {
      req.headers.emplace("User-Agent", options_.user_agent);
    }
    if (url.has_userinfo && !HasHeader(request.headers, "Authorization")) {
      req.headers.emplace("Authorization", "Basic " + Base64Encode(url.user + ":" + url.password));
    }
    if (std::string_view(method) == "POST") {
      req.body = request.body;
      if (!request.content_type.empty() && !HasHeader(request.headers, "Content-Type")) {
        req.headers.emplace("Content-Type", request.content_type);
      }
    }

    HttpReply reply;
    const size_t limit = options_.max_reply_body_bytes;
    req.response_handler = [&reply](const httplib::Response& response) {
      reply.status = response.status;
      return true;
    };
    req.content_receiver = [&reply, limit](const char* data, size_t n, uint64_t /*offset*/,
                                           uint64_t /*total*/) {
      const size_t room = limit - reply.body.size();
      if (n > room) {
        reply.body.append(data, room);
        reply.body_truncated = true;
        return false;  // stop reading: the connection is dropped
      }
      reply.body.append(data, n);
      return true;
    };

    std::shared_ptr<Origin> origin = OriginFor(url);
    httplib::Response response;
    httplib::Error error = httplib::Error::Success;
    bool sent = false;
    {
      std::lock_guard<std::mutex> lock(origin->mu);
      sent = origin->client->send(req, response, error);
    }
    if (!sent) {
      if (reply.body_truncated && reply.status > 0) {
        return reply;  // cancelled by us once the body limit was reached
      }
      return UnavailableError(std::string(method) + " " + url.Redacted() + ": " +
                              DescribeError(error));
    }
    reply.status = response.status;
    return reply;
  }

  const HttpPosterOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Origin>> origins_;  // guarded by mu_
  uint64_t use_counter_ = 0;                                // guarded by mu_
};

}  // namespace

std::string HttpUrl::Origin() const {
  const std::string h = IsIpv6Literal(host) ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::string HttpUrl::Redacted() const { return Origin() + target; }

StatusOr<HttpUrl> ParseHttpUrl(std::string_view text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return BadUrl("spaces, control or non-ASCII characters (percent-encode them)");
    }
  }
  const size_t hash = text.find('#');
  if (hash != std::string_view::npos) {
    text = text.substr(0, hash);
  }
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return BadUrl("not an absolute http or https URL");
  }
  HttpUrl url;
  url.scheme = AsciiLower(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return BadUrl("scheme must be http or https");
  }
  std::string_view rest = text.substr(sep + 3);
  const size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    const std::string_view user = userinfo.substr(0, colon);
    const std::string_view password =
        colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
    if (!PercentDecode(user, &url.user) || !PercentDecode(password, &url.password)) {
      return BadUrl("bad percent-encoding in user information");
    }
    url.has_userinfo = true;
  }

  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return BadUrl("unterminated IPv6 literal");
    }
    url.host = AsciiLower(authority.substr(1, close - 1));
    in6_addr addr;
    if (url.host.empty() || inet_pton(AF_INET6, url.host.c_str(), &addr) != 1) {
      return BadUrl("bad IPv6 literal");
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return BadUrl("junk after IPv6 literal");
      }
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) {
      return BadUrl("missing host");
    }
    for (const char c : host) {
      if (!IsHostChar(c)) {
        return BadUrl("bad character in host");
      }
    }
    url.host = AsciiLower(host);
  }
  if (has_port) {
    ASSIGN_OR_RETURN(url.port, ParsePort(port_text));
  } else {
    url.port = url.scheme == "https" ? 443 : 80;
  }
  if (target.empty()) {
    url.target = "/";
  } else if (target.front() == '?') {
    url.target = "/" + std::string(target);
  } else {
    url.target = std::string(target);
  }
  return url;
}

Status ValidateHttpHeaders(const std::vector<std::pair<std::string, std::string>>& headers) {
  for (const auto& [name, value] : headers) {
    if (name.empty()) {
      return InvalidArgumentError("empty HTTP header name");
    }
    for (const char c : name) {
      if (!IsTokenChar(c)) {
        return InvalidArgumentError("invalid character in HTTP header name");
      }
    }
    if (IsManagedHeader(name)) {
      return InvalidArgumentError("HTTP header " + name + " is set by the client itself");
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return InvalidArgumentError("HTTP header " + name + " holds CR, LF or NUL");
    }
  }
  return Status::Ok();
}

Status HttpPosterOptions::Validate() const {
  for (const auto& [name, t] :
       {std::pair<const char*, std::chrono::milliseconds>{"connect_timeout", connect_timeout},
        {"read_timeout", read_timeout},
        {"write_timeout", write_timeout}}) {
    if (t <= std::chrono::milliseconds::zero() || t > kMaxTimeout) {
      return InvalidArgumentError(std::string("http ") + name + " must be within (0, 1h]");
    }
  }
  if (max_reply_body_bytes == 0 || max_reply_body_bytes > kMaxReplyBodyLimit) {
    return InvalidArgumentError("http max_reply_body_bytes must be within 1..16 MiB");
  }
  if (max_cached_connections == 0) {
    return InvalidArgumentError("http max_cached_connections must be positive");
  }
  if (user_agent.find_first_of("\r\n") != std::string::npos) {
    return InvalidArgumentError("http user_agent holds CR or LF");
  }
  return Status::Ok();
}

HttpPosterPtr NewHttpPoster(const HttpPosterOptions& options) {
  const Status valid = options.Validate();
  if (!valid.ok()) {
    CheckFailed(__FILE__, __LINE__, "options.Validate().ok()", valid.ToString());
  }
  return std::make_unique<HttplibPoster>(options);
}

}  // namespace herald::events
