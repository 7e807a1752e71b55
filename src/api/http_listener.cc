#include "api/http_listener.h"

#include <httplib.h>

#include <charconv>
#include <exception>
#include <utility>

#include "api/api_common.h"
#include "base/host_port.h"
#include "base/log.h"
#include "base/strings.h"

namespace herald::api {

const std::string* HttpResponse::FindHeader(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) {
      return &v;
    }
  }
  return nullptr;
}

namespace {

Status ValidateConfig(const HttpListenerConfig& c) {
  if (c.max_body_bytes == 0) {
    return InvalidArgumentError("http max_body_bytes must be positive");
  }
  if (c.threads < 1 || c.threads > 1024) {
    return InvalidArgumentError("http threads must be within 1..1024");
  }
  if (c.read_timeout_seconds < 1 || c.read_timeout_seconds > 3600) {
    return InvalidArgumentError("http read_timeout_seconds must be within 1..3600");
  }
  if (c.keep_alive_timeout_seconds < 1 || c.keep_alive_timeout_seconds > 300) {
    return InvalidArgumentError("http keep_alive_timeout_seconds must be within 1..300");
  }
  if (c.keep_alive_max_requests < 1 || c.keep_alive_max_requests > 1000000) {
    return InvalidArgumentError("http keep_alive_max_requests must be within 1..1000000");
  }
  return Status::Ok();
}

// Headers httplib adds to every request itself; they are not the client's.
bool IsTransportPseudoHeader(const std::string& name) {
  return name == "REMOTE_ADDR" || name == "REMOTE_PORT" || name == "LOCAL_ADDR" ||
         name == "LOCAL_PORT";
}

}  // namespace

struct HttpListener::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> serving_done{false};
  std::string bound;
  bool started = false;
  bool stopped = false;
};

HttpListener::HttpListener(const HttpListenerConfig& config, HttpHandler& handler)
    : config_(config), handler_(handler), impl_(std::make_unique<Impl>()) {}

HttpListener::~HttpListener() { Stop(); }

Status HttpListener::Start() {
  if (impl_->started || impl_->stopped) {
    return FailedPreconditionError("http listener already started");
  }
  RETURN_IF_ERROR(ValidateConfig(config_));
  std::string host;
  uint16_t port = 0;
  RETURN_IF_ERROR(ParseHostPort(config_.listen, &host, &port));

  httplib::Server& svr = impl_->server;
  const size_t threads = static_cast<size_t>(config_.threads);
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_payload_max_length(config_.max_body_bytes);
  // Responses go out at once: without this, every reply waits for the client's delayed ACK
  // (about 40 ms on Linux loopback), which capped a keep-alive client at ~20 requests/s.
  svr.set_tcp_nodelay(true);
  svr.set_read_timeout(config_.read_timeout_seconds, 0);
  svr.set_write_timeout(config_.read_timeout_seconds, 0);
  svr.set_keep_alive_timeout(config_.keep_alive_timeout_seconds);
  svr.set_keep_alive_max_count(static_cast<size_t>(config_.keep_alive_max_requests));

  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    HttpRequest in;
    in.method = req.method;
    in.target = req.target;
    in.remote_addr = req.remote_addr;
    in.headers.reserve(req.headers.size());
    for (const auto& [k, v] : req.headers) {
      if (!IsTransportPseudoHeader(k)) {
        in.headers.emplace_back(k, v);
      }
    }
    // httplib owns `req` as a non-const local of the connection loop and does not read
    // the body after the handler; moving it out avoids copying up to max_body_bytes.
    in.body = std::move(const_cast<httplib::Request&>(req).body);

    HttpResponse out = handler_.Handle(in);
    res.status = out.status;
    for (auto& [k, v] : out.headers) {
      res.set_header(k, v);  // httplib drops values holding CR/LF
    }
    res.body = std::move(out.body);
  };
  svr.Get(".*", dispatch);  // also serves HEAD
  svr.Post(".*", dispatch);
  svr.Put(".*", dispatch);
  svr.Patch(".*", dispatch);
  svr.Delete(".*", dispatch);
  svr.Options(".*", dispatch);
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          if (ep) {
            std::rethrow_exception(ep);
          }
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        LogError("http handler threw", {{"error", what}});
        res.status = 500;
        res.set_header("x-amzn-ErrorType", "InternalServiceErrorException");
        res.set_header("Content-Type", "application/json");
        res.body = "{\"message\":\"Internal service error.\"}";
      });

  // Errors httplib answers itself (413 over max_body_bytes, 400 for a malformed request
  // line, 404 for an unsupported method) get the same JSON shape as the handler's errors.
  svr.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty() || res.has_header("x-amzn-RequestId")) {
          return httplib::Server::HandlerResponse::Unhandled;  // the handler's own response
        }
        const bool server_fault = res.status >= 500;
        res.set_header("x-amzn-RequestId", NewRequestId());
        res.set_header("x-amzn-ErrorType",
                       server_fault ? "InternalServiceErrorException" : "BadRequestException");
        res.set_header("Content-Type", "application/json");
        res.body = DumpJson(nlohmann::json{
            {"message", res.status == 413 ? std::string("The request body is too large.")
                                          : "The request could not be processed (HTTP " +
                                                std::to_string(res.status) + ")."}});
        return httplib::Server::HandlerResponse::Handled;
      }));

  int bound_port = port;
  if (port == 0) {
    bound_port = svr.bind_to_any_port(host);
    if (bound_port < 0) {
      return UnavailableError("cannot bind " + config_.listen);
    }
  } else if (!svr.bind_to_port(host, port)) {
    return UnavailableError("cannot bind " + config_.listen);
  }
  impl_->bound = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                 std::to_string(bound_port);
  impl_->started = true;
  impl_->thread = std::thread([impl = impl_.get()] {
    impl->server.listen_after_bind();
    impl->serving_done = true;
  });
  // Wait until the accept loop runs, so that a Stop() right after Start() reaches it
  // (httplib's stop() is a no-op before the loop starts).
  while (!svr.is_running() && !impl_->serving_done) {
    std::this_thread::yield();
  }
  LogInfo("http listener started", {{"address", impl_->bound}});
  return Status::Ok();
}

std::string HttpListener::BoundAddress() const { return impl_->bound; }

void HttpListener::Stop() {
  if (!impl_->started) {
    return;
  }
  impl_->started = false;
  impl_->stopped = true;
  // Closes the listening socket; listen_after_bind() then shuts the worker pool down,
  // which finishes the requests in flight before joining.
  impl_->server.stop();
  if (impl_->thread.joinable()) {
    impl_->thread.join();
  }
  LogInfo("http listener stopped", {{"address", impl_->bound}});
}

StatusOr<HttpResponse> SendHttpRequest(const std::string& host_port, const HttpRequest& request,
                                       int timeout_seconds) {
  std::string host;
  uint16_t port = 0;
  RETURN_IF_ERROR(ParseHostPort(host_port, &host, &port));
  if (host.empty() || host == "0.0.0.0" || host == "*") host = "127.0.0.1";
  httplib::Client client(host, port);
  client.set_connection_timeout(timeout_seconds, 0);
  client.set_read_timeout(timeout_seconds, 0);
  httplib::Headers headers;
  for (const auto& [k, v] : request.headers) headers.emplace(k, v);
  httplib::Result res = request.method == "POST"
                            ? client.Post(request.target, headers, request.body, "application/json")
                            : client.Get(request.target, headers);
  if (!res) {
    return UnavailableError("cannot reach herald at " + host_port + ": " +
                            httplib::to_string(res.error()));
  }
  HttpResponse out;
  out.status = res->status;
  out.body = res->body;
  for (const auto& [k, v] : res->headers) out.headers.emplace_back(k, v);
  return out;
}

}  // namespace herald::api
