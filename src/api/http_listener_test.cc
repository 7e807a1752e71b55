#include "api/http_listener.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <mutex>
#include <thread>

namespace herald::api {
namespace {

class RecordingHandler final : public HttpHandler {
 public:
  HttpResponse Handle(const HttpRequest& r) override {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(r);
    }
    HttpResponse out;
    out.status = r.method == "DELETE" ? 404 : 200;
    out.headers.emplace_back("Content-Type", "application/json");
    out.headers.emplace_back("x-amzn-RequestId", "req-1");
    out.body = "{\"echo\":" + std::to_string(r.body.size()) + "}";
    return out;
  }
  std::mutex mu;
  std::vector<HttpRequest> seen;
};

std::string HeaderOf(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return "<absent>";
}

TEST(HttpListenerTest, ServesOnAnyPortAndStops) {
  RecordingHandler handler;
  HttpListenerConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 2;
  config.max_body_bytes = 1024;
  HttpListener listener(config, handler);
  ASSERT_TRUE(listener.Start().ok());
  const std::string bound = listener.BoundAddress();
  ASSERT_EQ(bound.rfind("127.0.0.1:", 0), 0u) << bound;
  const int port = std::stoi(bound.substr(bound.find(':') + 1));
  ASSERT_GT(port, 0);

  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  auto res = client.Post("/v2/email/identities/a%40b.example?PageSize=1&x=y%20z",
                         httplib::Headers{{"X-Amz-Date", "20261118T110640Z"}},
                         std::string("{\"k\":1}"), "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "{\"echo\":7}");
  EXPECT_EQ(res->get_header_value("x-amzn-RequestId"), "req-1");
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");

  // Same connection (keep-alive), other method, status passes through.
  auto del = client.Delete("/v2/email/identities/x.example");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 404);

  // Over the body limit: refused by the transport, the handler never sees it.
  auto big = client.Post("/big", std::string(4096, 'x'), "application/octet-stream");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(big->get_header_value("x-amzn-ErrorType"), "BadRequestException");
  EXPECT_FALSE(big->get_header_value("x-amzn-RequestId").empty());
  EXPECT_EQ(big->body, "{\"message\":\"The request body is too large.\"}");

  {
    std::lock_guard<std::mutex> lock(handler.mu);
    ASSERT_EQ(handler.seen.size(), 2u);
    const HttpRequest& first = handler.seen[0];
    EXPECT_EQ(first.method, "POST");
    EXPECT_EQ(first.target, "/v2/email/identities/a%40b.example?PageSize=1&x=y%20z");
    EXPECT_EQ(first.body, "{\"k\":1}");
    EXPECT_EQ(first.remote_addr, "127.0.0.1");
    EXPECT_EQ(HeaderOf(first, "X-Amz-Date"), "20261118T110640Z");
    EXPECT_EQ(HeaderOf(first, "Content-Type"), "application/json");
    EXPECT_EQ(HeaderOf(first, "REMOTE_ADDR"), "<absent>");
    EXPECT_EQ(handler.seen[1].method, "DELETE");
  }

  client.stop();  // an idle keep-alive connection would hold Stop() up to its timeout
  listener.Stop();
  listener.Stop();  // idempotent
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(2, 0);
  EXPECT_FALSE(after.Get("/_herald/health"));
  EXPECT_FALSE(listener.Start().ok());
}

TEST(HttpListenerTest, RejectsBadConfig) {
  RecordingHandler handler;
  HttpListenerConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 0;
  HttpListener listener(config, handler);
  Status st = listener.Start();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

// A handler that blocks until released, to have a request in flight during Stop().
class BlockingHandler final : public HttpHandler {
 public:
  HttpResponse Handle(const HttpRequest&) override {
    entered.set_value();
    release_future.wait();
    HttpResponse out;
    out.body = "finished";
    return out;
  }
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> release_future = release.get_future().share();
};

TEST(HttpListenerTest, StopFinishesRequestsInFlight) {
  BlockingHandler handler;
  HttpListenerConfig config;
  config.listen = "127.0.0.1:0";
  config.threads = 2;
  HttpListener listener(config, handler);
  ASSERT_TRUE(listener.Start().ok());
  const std::string bound = listener.BoundAddress();
  const int port = std::stoi(bound.substr(bound.find(':') + 1));

  auto response = std::async(std::launch::async, [port] {
    httplib::Client client("127.0.0.1", port);
    auto res = client.Get("/slow");
    return res ? res->status * 1000 + static_cast<int>(res->body.size()) : -1;
  });
  handler.entered.get_future().wait();
  auto stopping = std::async(std::launch::async, [&listener] { listener.Stop(); });
  handler.release.set_value();
  stopping.wait();
  EXPECT_EQ(response.get(), 200 * 1000 + 8);  // 200 and "finished"
}

TEST(HttpListenerTest, StopRightAfterStart) {
  RecordingHandler handler;
  HttpListenerConfig config;
  config.listen = "127.0.0.1:0";
  HttpListener listener(config, handler);
  ASSERT_TRUE(listener.Start().ok());
  listener.Stop();  // must not hang
}

}  // namespace
}  // namespace herald::api
