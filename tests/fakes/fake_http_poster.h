// tests/fakes/fake_http_poster.h: FakeHttpPoster, an in-memory HttpPoster for unit tests of
// event publishing (dispatcher, SNS subscriptions, webhooks): no sockets, no threads.
//
// Every Post/Get is recorded (requests(): method, the HttpRequest as given) and answered
// from a scripted queue, first in first out:
//   poster.Reply(200).Reply(500, "busy").Fail(UnavailableError("refused"));
// Once the queue is empty every call gets the default answer (200, empty body; change it
// with SetDefault). Like the real poster, a URL that ParseHttpUrl rejects or a malformed
// header is kInvalidArgument (recorded, but it consumes no scripted answer).
// Thread-safety: every method is safe from any thread (one mutex), so a test can script and
// inspect while a dispatcher thread posts.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "events/http_poster.h"

namespace herald::events {

class FakeHttpPoster final : public HttpPoster {
 public:
  struct Call {
    std::string method;  // "POST" or "GET"
    HttpRequest request;
  };

  // Queues a reply with `status` and `body` for the next call.
  FakeHttpPoster& Reply(int status, std::string body = "") {
    std::lock_guard<std::mutex> lock(mu_);
    HttpReply reply;
    reply.status = status;
    reply.body = std::move(body);
    script_.emplace_back(std::move(reply));
    return *this;
  }
  // Queues a failure (no reply: kUnavailable in the real poster) for the next call.
  FakeHttpPoster& Fail(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    script_.emplace_back(std::move(status));
    return *this;
  }
  // The answer once the script is used up.
  FakeHttpPoster& SetDefault(int status, std::string body = "") {
    std::lock_guard<std::mutex> lock(mu_);
    default_.status = status;
    default_.body = std::move(body);
    return *this;
  }

  StatusOr<HttpReply> Post(const HttpRequest& request) override { return Answer("POST", request); }

  StatusOr<HttpReply> Get(const std::string& url) override {
    HttpRequest request;
    request.url = url;
    request.content_type.clear();
    return Answer("GET", request);
  }

  std::vector<Call> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  size_t request_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_.size();
  }
  // Scripted answers not yet used.
  size_t pending() const {
    std::lock_guard<std::mutex> lock(mu_);
    return script_.size();
  }

 private:
  StatusOr<HttpReply> Answer(const char* method, const HttpRequest& request) {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(Call{method, request});
    StatusOr<HttpUrl> url = ParseHttpUrl(request.url);
    if (!url.ok()) {
      return url.status();
    }
    Status headers = ValidateHttpHeaders(request.headers);
    if (!headers.ok()) {
      return headers;
    }
    if (script_.empty()) {
      return default_;
    }
    StatusOr<HttpReply> answer = std::move(script_.front());
    script_.pop_front();
    return answer;
  }

  mutable std::mutex mu_;
  std::deque<StatusOr<HttpReply>> script_;
  std::vector<Call> calls_;
  HttpReply default_{200, "", false};
};

}  // namespace herald::events
