// Tests for the TCP dialer and its transports against loopback listeners made here.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>

#include "base/host_port.h"
#include "net/tcp_server.h"
#include "net/tls.h"
#include "net/transport.h"

namespace herald::net {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kLong(10000);

uint16_t PortOf(const std::string& address) {
  std::string host;
  uint16_t port = 0;
  EXPECT_TRUE(ParseHostPort(address, &host, &port).ok());
  return port;
}

// Reads until `want` bytes arrived (or EOF/error); returns what was read.
std::string ReadExactly(Transport& t, size_t want) {
  std::string out;
  char buf[4096];
  while (out.size() < want) {
    StatusOr<size_t> n = t.Read(buf, sizeof(buf), kLong);
    if (!n.ok() || *n == 0) break;
    out.append(buf, *n);
  }
  return out;
}

// Records the SNI name the server saw.
struct SniCapture {
  std::mutex mu;
  std::string name;
  bool called = false;
};

int OnServerName(SSL* ssl, int* /*alert*/, void* arg) {
  auto* capture = static_cast<SniCapture*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::lock_guard<std::mutex> lock(capture->mu);
  capture->called = true;
  capture->name = name != nullptr ? name : "";
  return SSL_TLSEXT_ERR_OK;
}

class TcpDialerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/herald_dialer_test_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    StatusOr<std::unique_ptr<TlsContext>> ctx =
        TlsContext::CreateServer({"", "", dir_, "mx.example.test"});
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    server_tls_ = std::move(*ctx);
    SSL_CTX_set_tlsext_servername_callback(server_tls_->get(), OnServerName);
    SSL_CTX_set_tlsext_servername_arg(server_tls_->get(), &sni_);
    StatusOr<std::unique_ptr<Dialer>> dialer = NewTcpDialer({});
    ASSERT_TRUE(dialer.ok()) << dialer.status().ToString();
    dialer_ = std::move(*dialer);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Stop(milliseconds(2000));
    std::filesystem::remove_all(dir_);
  }

  // An echo server: "STARTTLS\r\n" is answered "GO\r\n" and upgrades the connection,
  // "CLOSE\r\n" closes it, anything else is echoed back.
  std::string StartEchoServer(const std::string& listen = "127.0.0.1:0") {
    server_ = std::make_unique<TcpServer>(
        TcpServerOptions{{listen}, 8, 16}, [this](Connection& c, bool over) {
          if (over) return;
          {
            std::lock_guard<std::mutex> lock(mu_);
            peer_ips_.push_back(c.PeerIp());
          }
          char buf[4096];
          size_t n = 0;
          while (c.Read(buf, sizeof(buf), &n, kLong) == Connection::ReadResult::kData) {
            const std::string_view got(buf, n);
            if (got == "CLOSE\r\n") return;
            if (got == "STARTTLS\r\n") {
              if (!c.Write("GO\r\n", kLong).ok()) return;
              if (!c.StartTls(server_tls_->get(), kLong).ok()) return;
              continue;
            }
            if (!c.Write(got, kLong).ok()) return;
          }
        });
    const Status s = server_->Start();
    if (!s.ok()) return "";
    return server_->BoundAddresses().at(0);
  }

  std::string dir_;
  std::unique_ptr<TlsContext> server_tls_;
  SniCapture sni_;
  std::unique_ptr<Dialer> dialer_;
  std::unique_ptr<TcpServer> server_;
  std::mutex mu_;
  std::vector<std::string> peer_ips_;
};

TEST_F(TcpDialerTest, PlainEchoThenPeerClose) {
  const std::string addr = StartEchoServer();
  ASSERT_FALSE(addr.empty());
  StatusOr<std::unique_ptr<Transport>> t = dialer_->Dial("127.0.0.1", PortOf(addr), kLong);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Transport& conn = **t;
  EXPECT_EQ(conn.PeerAddress(), "127.0.0.1");
  EXPECT_FALSE(conn.IsTls());
  EXPECT_EQ(conn.TlsDescription(), "");
  ASSERT_TRUE(conn.Write("hello\r\n", kLong).ok());
  EXPECT_EQ(ReadExactly(conn, 7), "hello\r\n");
  ASSERT_TRUE(conn.Write("CLOSE\r\n", kLong).ok());
  char buf[16];
  StatusOr<size_t> n = conn.Read(buf, sizeof(buf), kLong);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0u);
}

TEST_F(TcpDialerTest, StartTlsSendsSniAndEncrypts) {
  const std::string addr = StartEchoServer();
  ASSERT_FALSE(addr.empty());
  StatusOr<std::unique_ptr<Transport>> t = dialer_->Dial("127.0.0.1", PortOf(addr), kLong);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  Transport& conn = **t;
  ASSERT_TRUE(conn.Write("STARTTLS\r\n", kLong).ok());
  EXPECT_EQ(ReadExactly(conn, 4), "GO\r\n");
  // The server's certificate is self-signed: opportunistic TLS accepts it.
  const Status tls = conn.StartTls("mx.example.test", kLong);
  ASSERT_TRUE(tls.ok()) << tls.ToString();
  EXPECT_TRUE(conn.IsTls());
  EXPECT_EQ(conn.TlsDescription().rfind("TLSv1.", 0), 0u) << conn.TlsDescription();
  EXPECT_GT(conn.TlsDescription().find(' '), 0u);
  {
    std::lock_guard<std::mutex> lock(sni_.mu);
    EXPECT_TRUE(sni_.called);
    EXPECT_EQ(sni_.name, "mx.example.test");
  }
  const std::string big(100000, 'x');  // several TLS records
  ASSERT_TRUE(conn.Write(big, kLong).ok());
  EXPECT_EQ(ReadExactly(conn, big.size()), big);
  EXPECT_EQ(conn.StartTls("again", kLong).code(), StatusCode::kFailedPrecondition);
  // The server closes without close_notify: read as a plain EOF.
  ASSERT_TRUE(conn.Write("CLOSE\r\n", kLong).ok());
  char buf[16];
  StatusOr<size_t> n = conn.Read(buf, sizeof(buf), kLong);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0u);
}

TEST_F(TcpDialerTest, NoSniForAnIpLiteral) {
  const std::string addr = StartEchoServer();
  ASSERT_FALSE(addr.empty());
  StatusOr<std::unique_ptr<Transport>> t = dialer_->Dial("127.0.0.1", PortOf(addr), kLong);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->Write("STARTTLS\r\n", kLong).ok());
  EXPECT_EQ(ReadExactly(**t, 4), "GO\r\n");
  ASSERT_TRUE((*t)->StartTls("127.0.0.1", kLong).ok());
  std::lock_guard<std::mutex> lock(sni_.mu);
  EXPECT_EQ(sni_.name, "");
}

TEST_F(TcpDialerTest, HandshakeWithAPlainPeerFails) {
  const std::string addr = StartEchoServer();
  ASSERT_FALSE(addr.empty());
  StatusOr<std::unique_ptr<Transport>> t = dialer_->Dial("127.0.0.1", PortOf(addr), kLong);
  ASSERT_TRUE(t.ok());
  // The echo server answers the ClientHello with its own bytes: not a TLS server.
  const Status s = (*t)->StartTls("mx.example.test", kLong);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE((*t)->IsTls());
  char buf[8];
  EXPECT_EQ((*t)->Read(buf, sizeof(buf), kLong).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*t)->Write("x", kLong).code(), StatusCode::kUnavailable);
}

TEST_F(TcpDialerTest, ReadTimesOut) {
  const std::string addr = StartEchoServer();
  ASSERT_FALSE(addr.empty());
  StatusOr<std::unique_ptr<Transport>> t = dialer_->Dial("127.0.0.1", PortOf(addr), kLong);
  ASSERT_TRUE(t.ok());
  char buf[8];
  EXPECT_EQ((*t)->Read(buf, sizeof(buf), milliseconds(30)).status().code(),
            StatusCode::kDeadlineExceeded);
  // A timed-out read leaves the connection usable.
  ASSERT_TRUE((*t)->Write("ok\r\n", kLong).ok());
  EXPECT_EQ(ReadExactly(**t, 4), "ok\r\n");
}

TEST_F(TcpDialerTest, WriteTimesOutWhenThePeerDoesNotRead) {
  // Shared with the server's handler thread, which may still be waking up after this body
  // returns (the fixture stops the server later): owned jointly, not by this frame.
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool release = false;
  };
  auto gate = std::make_shared<Gate>();
  server_ = std::make_unique<TcpServer>(TcpServerOptions{{"127.0.0.1:0"}, 8, 16},
                                        [gate](Connection&, bool) {
                                          std::unique_lock<std::mutex> lock(gate->mu);
                                          gate->cv.wait(lock, [&] { return gate->release; });
                                        });
  ASSERT_TRUE(server_->Start().ok());
  StatusOr<std::unique_ptr<Transport>> t =
      dialer_->Dial("127.0.0.1", PortOf(server_->BoundAddresses().at(0)), kLong);
  ASSERT_TRUE(t.ok());
  const std::string huge(16 << 20, 'z');  // more than the loopback socket buffers hold
  EXPECT_EQ((*t)->Write(huge, milliseconds(100)).code(), StatusCode::kDeadlineExceeded);
  {
    std::lock_guard<std::mutex> lock(gate->mu);
    gate->release = true;
  }
  gate->cv.notify_all();
}

TEST_F(TcpDialerTest, ConnectionRefused) {
  // A bound socket that does not listen: connecting to its port is refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  StatusOr<std::unique_ptr<Transport>> t = dialer_->Dial("127.0.0.1", ntohs(a.sin_port), kLong);
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(t.status().message().find("127.0.0.1:"), std::string::npos) << t.status().message();
  ::close(fd);
}

TEST_F(TcpDialerTest, ConnectTimesOutWhenTheBacklogIsFull) {
  // Linux drops SYNs to a listener whose accept queue is full, so the connect hangs.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 0), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  std::vector<std::unique_ptr<Transport>> held;
  bool timed_out = false;
  for (int i = 0; i < 8 && !timed_out; ++i) {
    StatusOr<std::unique_ptr<Transport>> t =
        dialer_->Dial("127.0.0.1", ntohs(a.sin_port), milliseconds(150));
    if (t.ok()) {
      held.push_back(std::move(*t));
    } else {
      EXPECT_EQ(t.status().code(), StatusCode::kDeadlineExceeded) << t.status().ToString();
      timed_out = true;
    }
  }
  EXPECT_TRUE(timed_out);
  ::close(fd);
}

TEST_F(TcpDialerTest, RejectsHostNamesAndBadSources) {
  EXPECT_EQ(dialer_->Dial("mx.example.test", 25, kLong).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(dialer_->Dial("[::1]", 25, kLong).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewTcpDialer({"::1", ""}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewTcpDialer({"", "127.0.0.1"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(NewTcpDialer({"localhost", ""}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TcpDialerTest, BindsTheSourceAddress) {
  const std::string addr = StartEchoServer();
  ASSERT_FALSE(addr.empty());
  StatusOr<std::unique_ptr<Dialer>> bound = NewTcpDialer({"127.0.0.2", ""});
  ASSERT_TRUE(bound.ok());
  StatusOr<std::unique_ptr<Transport>> t = (*bound)->Dial("127.0.0.1", PortOf(addr), kLong);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE((*t)->Write("x\r\n", kLong).ok());
  EXPECT_EQ(ReadExactly(**t, 3), "x\r\n");
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(peer_ips_.size(), 1u);
  EXPECT_EQ(peer_ips_[0], "127.0.0.2");
}

TEST_F(TcpDialerTest, Ipv6Loopback) {
  const std::string addr = StartEchoServer("[::1]:0");
  if (addr.empty()) GTEST_SKIP() << "no IPv6 loopback here";
  StatusOr<std::unique_ptr<Transport>> t = dialer_->Dial("::1", PortOf(addr), kLong);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->PeerAddress(), "::1");
  ASSERT_TRUE((*t)->Write("v6\r\n", kLong).ok());
  EXPECT_EQ(ReadExactly(**t, 4), "v6\r\n");
}

}  // namespace
}  // namespace herald::net
