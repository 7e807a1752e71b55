#include "events/http_poster.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/crypto.h"
#include "tests/fakes/fake_http_poster.h"

namespace herald::events {
namespace {

using namespace std::chrono_literals;

// What a test server saw of one request.
struct Seen {
  std::string method;
  std::string target;  // path and query as received
  httplib::Headers headers;
  std::string body;
  int remote_port = 0;
};

// A cpp-httplib server on 127.0.0.1, port 0, in its own thread. The listening socket
// exists once the constructor returns, so clients may connect at once (the kernel queues
// them until the thread accepts): no readiness wait, no sleeping.
class TestServer {
 public:
  explicit TestServer(std::unique_ptr<httplib::Server> server = nullptr)
      : server_(server ? std::move(server) : std::make_unique<httplib::Server>()) {
    server_->set_keep_alive_timeout(1);
    server_->set_tcp_nodelay(true);
  }
  ~TestServer() { Stop(); }

  httplib::Server& server() { return *server_; }

  // Registers handlers first, then call Start().
  void Start() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  void Stop() {
    if (!thread_.joinable()) {
      return;
    }
    while (!server_->is_running()) {
      std::this_thread::yield();  // stop() before listening would be lost
    }
    server_->stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string Url(const std::string& scheme, const std::string& target) const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + target;
  }

  void Record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    Seen s;
    s.method = req.method;
    s.target = req.target;
    s.headers = req.headers;
    s.body = req.body;
    s.remote_port = req.remote_port;
    seen_.push_back(std::move(s));
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::vector<Seen> seen_;
};

HttpPosterOptions FastOptions() {
  HttpPosterOptions o;
  o.connect_timeout = 2s;
  o.read_timeout = 2s;
  o.write_timeout = 2s;
  return o;
}

TEST(HttpPosterTest, Post200DeliversBodyAndHeaders) {
  TestServer srv;
  srv.server().Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    srv.Record(req);
    res.set_content("thanks", "text/plain");
  });
  srv.Start();
  auto poster = NewHttpPoster(FastOptions());
  HttpRequest request;
  request.url = srv.Url("http", "/hook?topic=a%2Fb&x=1,2#fragment");
  request.headers = {{"x-amz-sns-message-type", "Notification"}, {"X-Custom", "v a l"}};
  request.body = R"({"Type":"Notification"})";
  request.content_type = "text/plain; charset=UTF-8";
  auto reply = poster->Post(request);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "thanks");
  EXPECT_FALSE(reply->body_truncated);

  const std::vector<Seen> seen = srv.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/hook?topic=a%2Fb&x=1,2");  // sent as written, no fragment
  EXPECT_EQ(seen[0].body, request.body);
  auto header = [&](const char* name) {
    auto it = seen[0].headers.find(name);
    return it == seen[0].headers.end() ? std::string("<absent>") : it->second;
  };
  EXPECT_EQ(header("x-amz-sns-message-type"), "Notification");
  EXPECT_EQ(header("X-Custom"), "v a l");
  EXPECT_EQ(header("Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(header("User-Agent"), "herald-events/1");
  EXPECT_EQ(header("Content-Length"), std::to_string(request.body.size()));
  EXPECT_EQ(header("Host"), "127.0.0.1:" + std::to_string(srv.port()));
  EXPECT_EQ(header("Authorization"), "<absent>");
}

TEST(HttpPosterTest, ServerErrorIsAReplyNotAnError) {
  TestServer srv;
  srv.server().Post("/hook", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("boom", "text/plain");
  });
  srv.Start();
  auto poster = NewHttpPoster(FastOptions());
  auto reply = poster->Post({srv.Url("http", "/hook"), {}, "x"});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 500);
  EXPECT_EQ(reply->body, "boom");
}

TEST(HttpPosterTest, RedirectsAreNotFollowed) {
  TestServer srv;
  srv.server().Post("/old", [&](const httplib::Request& req, httplib::Response& res) {
    srv.Record(req);
    res.set_redirect("/new", 307);
  });
  srv.server().Post("/new",
                    [&](const httplib::Request& req, httplib::Response&) { srv.Record(req); });
  srv.Start();
  auto poster = NewHttpPoster(FastOptions());
  auto reply = poster->Post({srv.Url("http", "/old"), {}, "x"});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 307);
  ASSERT_EQ(srv.seen().size(), 1u);
  EXPECT_EQ(srv.seen()[0].target, "/old");
}

TEST(HttpPosterTest, ConnectionRefusedIsUnavailable) {
  // A bound socket that does not listen: connecting to its port is refused, and no other
  // process can take the port while the socket is held.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url =
      "http://u:secret@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x";

  auto poster = NewHttpPoster(FastOptions());
  auto reply = poster->Post({url, {}, "x"});
  ::close(fd);
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("connection failed"), std::string::npos)
      << reply.status().message();
  EXPECT_NE(reply.status().message().find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(reply.status().message().find("secret"), std::string::npos);  // no credentials
}

TEST(HttpPosterTest, ReadTimeoutIsUnavailable) {
  // Declared before the server, so that they outlive its handler threads.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  TestServer srv;
  srv.server().Post("/slow", [released](const httplib::Request&, httplib::Response& res) {
    released.wait();  // blocks until the client has given up
    res.set_content("late", "text/plain");
  });
  srv.Start();
  HttpPosterOptions options = FastOptions();
  options.read_timeout = 200ms;
  auto poster = NewHttpPoster(options);
  const auto start = std::chrono::steady_clock::now();
  auto reply = poster->Post({srv.Url("http", "/slow"), {}, "x"});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  release.set_value();
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("read"), std::string::npos) << reply.status().message();
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 1900ms);  // the 200 ms timeout, not the 2 s of the others
}

TEST(HttpPosterTest, KeepAliveReusesTheConnection) {
  TestServer srv;
  srv.server().Post("/hook",
                    [&](const httplib::Request& req, httplib::Response&) { srv.Record(req); });
  srv.Start();
  auto poster = NewHttpPoster(FastOptions());
  for (int i = 0; i < 3; ++i) {
    auto reply = poster->Post({srv.Url("http", "/hook"), {}, "n" + std::to_string(i)});
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    EXPECT_EQ(reply->status, 200);
  }
  const std::vector<Seen> seen = srv.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].remote_port, seen[0].remote_port);
  EXPECT_EQ(seen[2].remote_port, seen[0].remote_port);
  // Another poster has its own connection.
  auto other = NewHttpPoster(FastOptions());
  ASSERT_TRUE(other->Post({srv.Url("http", "/hook"), {}, "other"}).ok());
  EXPECT_NE(srv.seen()[3].remote_port, seen[0].remote_port);
}

TEST(HttpPosterTest, ConcurrentPostsFromManyThreads) {
  TestServer srv;
  srv.server().Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    srv.Record(req);
    res.set_content(req.body, "text/plain");
  });
  srv.Start();
  auto poster = NewHttpPoster(FastOptions());
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string body = std::to_string(t) + ":" + std::to_string(i);
        auto reply = poster->Post({srv.Url("http", "/hook"), {}, body});
        if (reply.ok() && reply->status == 200 && reply->body == body) {
          ++good;
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(good.load(), 20);
  EXPECT_EQ(srv.seen().size(), 20u);
}

TEST(HttpPosterTest, LongReplyBodyIsCut) {
  TestServer srv;
  srv.server().Post("/big", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 202;
    res.set_content(std::string(200000, 'b'), "text/plain");
  });
  srv.server().Post("/exact", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(1000, 'e'), "text/plain");
  });
  srv.Start();
  HttpPosterOptions options = FastOptions();
  options.max_reply_body_bytes = 1000;
  auto poster = NewHttpPoster(options);
  auto reply = poster->Post({srv.Url("http", "/big"), {}, "x"});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 202);
  EXPECT_EQ(reply->body, std::string(1000, 'b'));
  EXPECT_TRUE(reply->body_truncated);
  // The next request on a new connection works, and a body of exactly the limit is whole.
  reply = poster->Post({srv.Url("http", "/exact"), {}, "x"});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body.size(), 1000u);
  EXPECT_FALSE(reply->body_truncated);
}

TEST(HttpPosterTest, DefaultLimitIs64KiB) {
  TestServer srv;
  srv.server().Post("/big", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(100000, 'b'), "text/plain");
  });
  srv.Start();
  auto poster = NewHttpPoster(FastOptions());
  auto reply = poster->Post({srv.Url("http", "/big"), {}, "x"});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body.size(), 64u * 1024);
  EXPECT_TRUE(reply->body_truncated);
}

TEST(HttpPosterTest, UserInfoBecomesBasicAuthAndGetWorks) {
  TestServer srv;
  srv.server().Get("/confirm", [&](const httplib::Request& req, httplib::Response& res) {
    srv.Record(req);
    res.set_content("<ConfirmSubscriptionResponse/>", "text/xml");
  });
  srv.Start();
  auto poster = NewHttpPoster(FastOptions());
  const std::string url =
      "http://us%40er:p%3Ass@127.0.0.1:" + std::to_string(srv.port()) + "/confirm?Token=abc";
  auto reply = poster->Get(url);
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "<ConfirmSubscriptionResponse/>");
  const std::vector<Seen> seen = srv.seen();
  ASSERT_EQ(seen.size(), 1u);
  const Seen& s = seen[0];
  EXPECT_EQ(s.method, "GET");
  EXPECT_EQ(s.target, "/confirm?Token=abc");
  ASSERT_EQ(s.headers.count("Authorization"), 1u);
  EXPECT_EQ(s.headers.find("Authorization")->second, "Basic " + Base64Encode("us@er:p:ss"));
  EXPECT_EQ(s.headers.count("Content-Type"), 0u);
}

TEST(HttpPosterTest, InvalidRequestsAreRejectedBeforeSending) {
  auto poster = NewHttpPoster(FastOptions());
  for (const char* url :
       {"", "example.com/hook", "ftp://example.com/", "mailto:a@example.com", "http://",
        "http:///path", "http://exa mple.com/", "http://example.com:0/",
        "http://example.com:65536/", "http://example.com:/", "http://example.com:8a/",
        "http://[::1/", "http://[zz]/", "http://ex%41mple.com/", "http://example.com/a b",
        "http://example.com/\r\nX: y", "https://example.com/\xc3\xa9"}) {
    auto reply = poster->Post({url, {}, "x"});
    ASSERT_FALSE(reply.ok()) << url;
    EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument) << url;
  }
  for (const auto& headers : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"X-Bad", "a\r\nInjected: yes"}},
           {{"X-Bad", std::string("a\0b", 3)}},
           {{"Bad Name", "v"}},
           {{"", "v"}},
           {{"Content-Length", "5"}},
           {{"host", "evil.test"}},
           {{"Transfer-Encoding", "chunked"}}}) {
    auto reply = poster->Post({"http://127.0.0.1:1/", headers, "x"});
    ASSERT_FALSE(reply.ok());
    EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument) << headers[0].first;
  }
}

TEST(HttpUrlTest, ParsesTheParts) {
  auto u = ParseHttpUrl("HTTPS://Hooks.Example.COM?x=1#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "hooks.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/?x=1");
  EXPECT_FALSE(u->has_userinfo);
  EXPECT_EQ(u->Origin(), "https://hooks.example.com:443");

  u = ParseHttpUrl("http://a:b%20c@10.0.0.1:8080/p/q");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/p/q");
  EXPECT_TRUE(u->has_userinfo);
  EXPECT_EQ(u->user, "a");
  EXPECT_EQ(u->password, "b c");
  EXPECT_EQ(u->Redacted(), "http://10.0.0.1:8080/p/q");

  u = ParseHttpUrl("http://[2001:DB8::1]:9/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->Origin(), "http://[2001:db8::1]:9");

  u = ParseHttpUrl("http://example.com");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
}

TEST(HttpPosterOptionsTest, Validate) {
  EXPECT_TRUE(HttpPosterOptions().Validate().ok());
  HttpPosterOptions o;
  o.read_timeout = 0ms;
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  o = HttpPosterOptions();
  o.connect_timeout = 2h;
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  o = HttpPosterOptions();
  o.max_reply_body_bytes = 0;
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  o = HttpPosterOptions();
  o.user_agent = "a\r\nb: c";
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
}

// --- HTTPS ----------------------------------------------------------------------------

// A self-signed certificate for IP 127.0.0.1, written to DIR/cert.pem.
struct TlsIdentity {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::string cert_file;

  explicit TlsIdentity(const std::string& dir) {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_set_version(cert, 2);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("herald test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "IP:127.0.0.1");
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert, key, EVP_sha256());
    cert_file = dir + "/cert.pem";
    FILE* f = std::fopen(cert_file.c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
  }
  ~TlsIdentity() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

class HttpsPosterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/http_poster_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    identity_ = std::make_unique<TlsIdentity>(dir_);
    srv_ = std::make_unique<TestServer>(
        std::make_unique<httplib::SSLServer>(identity_->cert, identity_->key));
    srv_->server().Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      srv_->Record(req);
      res.set_content("secure", "text/plain");
    });
    srv_->Start();
  }
  void TearDown() override {
    srv_.reset();
    identity_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  std::unique_ptr<TlsIdentity> identity_;
  std::unique_ptr<TestServer> srv_;
};

TEST_F(HttpsPosterTest, UntrustedCertificateIsRefusedByDefault) {
  auto poster = NewHttpPoster(FastOptions());
  auto reply = poster->Post({srv_->Url("https", "/hook"), {}, "x"});
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(reply.status().message().find("TLS"), std::string::npos) << reply.status().message();
  EXPECT_TRUE(srv_->seen().empty());
}

TEST_F(HttpsPosterTest, VerificationCanBeTurnedOff) {
  HttpPosterOptions options = FastOptions();
  options.verify_tls = false;
  auto poster = NewHttpPoster(options);
  auto reply = poster->Post({srv_->Url("https", "/hook"), {}, "x"});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "secure");
}

TEST_F(HttpsPosterTest, TrustedCaFileVerifies) {
  HttpPosterOptions options = FastOptions();
  options.ca_cert_file = identity_->cert_file;
  auto poster = NewHttpPoster(options);
  auto reply = poster->Post({srv_->Url("https", "/hook"), {}, "x"});
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  EXPECT_EQ(reply->body, "secure");
  // Verified, but the name does not match: refused.
  auto wrong_name =
      poster->Post({"https://localhost:" + std::to_string(srv_->port()) + "/hook", {}, "x"});
  ASSERT_FALSE(wrong_name.ok());
  EXPECT_EQ(wrong_name.status().code(), StatusCode::kUnavailable);
}

// --- FakeHttpPoster ---------------------------------------------------------------------

TEST(FakeHttpPosterTest, AnswersFromTheScriptThenTheDefault) {
  FakeHttpPoster fake;
  fake.Reply(200, "ok").Fail(UnavailableError("refused")).Reply(500);
  fake.SetDefault(204);
  HttpRequest request{"https://hooks.test/a", {{"X-A", "1"}}, "body"};
  auto a = fake.Post(request);
  auto b = fake.Post(request);
  auto c = fake.Post(request);
  auto d = fake.Get("https://hooks.test/confirm?Token=t");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "ok");
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->status, 500);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, 204);
  EXPECT_EQ(fake.pending(), 0u);
  const auto calls = fake.requests();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].request.body, "body");
  EXPECT_EQ(calls[0].request.headers[0].second, "1");
  EXPECT_EQ(calls[3].method, "GET");
  EXPECT_EQ(calls[3].request.url, "https://hooks.test/confirm?Token=t");
}

TEST(FakeHttpPosterTest, RejectsWhatTheRealPosterRejects) {
  FakeHttpPoster fake;
  fake.Reply(200);
  EXPECT_EQ(fake.Post({"ftp://x/", {}, ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fake.Post({"http://x/", {{"X", "a\nb"}}, ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(fake.pending(), 1u);  // the scripted reply is still there
  EXPECT_EQ(fake.request_count(), 2u);
}

}  // namespace
}  // namespace herald::events
