// api/http_listener.h: the HTTP/1.1 listener of the API (over cpp-httplib), handing every
// request to one HttpHandler.
//
// Contract: Start() binds the configured "host:port" (port 0 picks a free port; see
// BoundAddress()) and serves on a pool of `threads` workers with keep-alive. Every method
// and path reaches the handler, which sees the raw request target. Bodies larger than
// max_body_bytes are refused by the transport with 413 before the handler runs; a client
// that stalls longer than read_timeout_seconds is dropped. Stop() stops accepting, lets
// requests already being handled finish and their responses go out, then returns; idle
// keep-alive connections are closed within keep_alive_timeout_seconds. httplib.h is
// included only here and in events/http_poster.cc (the client side).
// Thread-safety: Start() and Stop() from one controlling thread; BoundAddress() from any.
// Trust: the network is hostile; this layer bounds sizes and time, the handler validates.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>

#include "api/http_handler.h"
#include "base/status.h"

namespace herald::api {

struct HttpListenerConfig {
  // "host:port" or "[v6]:port". Port 0 = any free port.
  std::string listen = "127.0.0.1:8080";
  // Largest request body accepted (413 beyond). Raw SendEmail content is base64, so this
  // must exceed 4/3 of the largest message plus the JSON around it.
  size_t max_body_bytes = 64 * 1024 * 1024;
  // Worker threads (each serves one connection at a time). 1..1024.
  int threads = 16;
  // Seconds a client may stall while sending a request. 1..3600.
  int read_timeout_seconds = 30;
  // Seconds an idle keep-alive connection is kept open; also the longest Stop() waits for
  // idle connections. 1..300.
  int keep_alive_timeout_seconds = 5;
  // Requests served on one connection before it is closed. 1..1000000.
  int keep_alive_max_requests = 10000;
};

class HttpListener {
 public:
  // `handler` must outlive the listener.
  HttpListener(const HttpListenerConfig& config, HttpHandler& handler);
  ~HttpListener();  // Stop()s if still running.
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds and starts serving on a background thread. kInvalidArgument for a bad config,
  // kUnavailable when the address cannot be bound, kFailedPrecondition if already started.
  Status Start();
  // "host:port" actually bound (with the real port when 0 was asked); empty before Start.
  std::string BoundAddress() const;
  // Stops accepting, drains in-flight requests and joins the workers. Idempotent.
  void Stop();

 private:
  struct Impl;
  HttpListenerConfig config_;
  HttpHandler& handler_;
  std::unique_ptr<Impl> impl_;
};

// One request to an HTTP server at "host:port" (the `herald` command talking to the
// daemon's admin endpoints). kUnavailable when the server cannot be reached.
StatusOr<HttpResponse> SendHttpRequest(const std::string& host_port, const HttpRequest& request,
                                       int timeout_seconds);

}  // namespace herald::api
