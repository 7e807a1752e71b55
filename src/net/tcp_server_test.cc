#include "net/tcp_server.h"

#include <gtest/gtest.h>

#include <future>

#include "net/test_client.h"

namespace herald::net {
namespace {

using std::chrono::milliseconds;

TEST(TcpServerTest, RejectsNonNumericHost) {
  TcpServer server({{"example.com:0"}, 1, 16}, [](Connection&, bool) {});
  EXPECT_EQ(server.Start().code(), StatusCode::kInvalidArgument);
}

TEST(TcpServerTest, EchoReadTimeoutAndPeerAddress) {
  std::promise<std::string> peer;
  std::promise<Connection::ReadResult> timeout_result;
  TcpServer server({{"127.0.0.1:0"}, 4, 16}, [&](Connection& c, bool over) {
    if (over) return;
    peer.set_value(c.PeerIp() + (c.IsLoopback() ? " loopback" : ""));
    char buf[64];
    size_t n = 0;
    timeout_result.set_value(c.Read(buf, sizeof(buf), &n, milliseconds(20)));
    if (c.Read(buf, sizeof(buf), &n, milliseconds(10000)) == Connection::ReadResult::kData) {
      c.Write(std::string_view(buf, n), milliseconds(10000)).IgnoreError();
    }
  });
  ASSERT_TRUE(server.Start().ok());
  const std::string addr = server.BoundAddresses().at(0);
  EXPECT_EQ(addr.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(addr, "127.0.0.1:0");
  testing::TestClient client;
  ASSERT_TRUE(client.Connect(addr));
  EXPECT_EQ(peer.get_future().get(), "127.0.0.1 loopback");
  EXPECT_EQ(timeout_result.get_future().get(), Connection::ReadResult::kTimeout);
  ASSERT_TRUE(client.Send("ping\r\n"));
  EXPECT_EQ(client.ReadReply(), "ping\r\n");
  server.Stop(milliseconds(1000));
  EXPECT_EQ(server.ActiveConnections(), 0);
}

TEST(TcpServerTest, Ipv6Loopback) {
  TcpServer server({{"[::1]:0"}, 4, 16}, [](Connection& c, bool) {
    c.Write(c.IsLoopback() ? "v6 loopback\r\n" : "other\r\n", milliseconds(1000)).IgnoreError();
  });
  const Status s = server.Start();
  if (!s.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << s.ToString();
  const std::string addr = server.BoundAddresses().at(0);
  EXPECT_EQ(addr.rfind("[::1]:", 0), 0u);
  testing::TestClient client;
  ASSERT_TRUE(client.Connect(addr));
  EXPECT_EQ(client.ReadReply(), "v6 loopback\r\n");
}

TEST(TcpServerTest, StopWakesBlockedReaders) {
  std::promise<Connection::ReadResult> result;
  std::promise<void> reading;
  TcpServer server({{"127.0.0.1:0"}, 4, 16}, [&](Connection& c, bool) {
    char buf[16];
    size_t n = 0;
    reading.set_value();
    result.set_value(c.Read(buf, sizeof(buf), &n, milliseconds(60000)));
  });
  ASSERT_TRUE(server.Start().ok());
  testing::TestClient client;
  ASSERT_TRUE(client.Connect(server.BoundAddresses().at(0)));
  reading.get_future().wait();
  server.Stop(milliseconds(5000));  // returns once the handler returned
  EXPECT_EQ(result.get_future().get(), Connection::ReadResult::kStopping);
  testing::TestClient late;
  EXPECT_FALSE(late.Connect(server.BoundAddresses().at(0)));
}

}  // namespace
}  // namespace herald::net
