// net/tcp_server.h: a TCP listener with one thread per connection, plain POSIX sockets,
// poll() and OpenSSL.
//
// Contract: Start() binds every "HOST:PORT" in the options (IPv4 "127.0.0.1:2587",
// IPv6 "[::1]:2587", ":2587" or "*:2587" for all IPv4 addresses; port 0 picks a free port,
// BoundAddresses() reports the real one) and starts one accept thread. Each accepted
// connection runs the handler on its own thread: a session may block (SendingService::Submit
// waits for the spool fsync, which is how concurrent sessions share group commits). Above
// max_connections the handler is called on the accept thread with over_capacity = true: it
// must only write a short reply (e.g. 421) and return. Stop(grace): stop accepting, wake
// every connection blocked in Read (it sees kStopping and decides: close at once, or
// SetDraining() to finish the transaction in flight), wait up to `grace` for the handlers to
// return, then shut the remaining sockets down and join every thread; Stop returns only
// when all threads are joined (a handler blocked outside Read, e.g. in Submit, is waited
// for). Start() sets SIGPIPE to SIG_IGN for the process: a peer's reset must never kill the
// server (OpenSSL writes with write(2)).
// Thread-safety: Start/Stop/BoundAddresses from one owner thread; ActiveConnections from
// any thread. A Connection belongs to its handler thread, except ForceShutdown (server).
// Trust: peers are hostile: every read and write has a deadline, every buffer a bound.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/host_port.h"
#include "base/status.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace herald::net {

// Shared between a server and its connections.
struct StopSignal {
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> drain_deadline_ns{0};  // steady_clock, valid once stopping
  int wake_fd = -1;                           // eventfd, readable once stopping
};

class Connection {
 public:
  enum class ReadResult { kData, kEof, kTimeout, kStopping, kError };

  Connection(int fd, size_t listener_index, std::shared_ptr<StopSignal> stop);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reads up to `cap` bytes (TLS-decrypted once StartTls succeeded). kTimeout after
  // `timeout` without data; kStopping when the server is stopping (unless SetDraining()).
  ReadResult Read(char* buf, size_t cap, size_t* n, std::chrono::milliseconds timeout);
  // Writes all of `data` or fails (kUnavailable on timeout or a closed peer).
  Status Write(std::string_view data, std::chrono::milliseconds timeout);
  // Server-side TLS handshake over this connection.
  Status StartTls(SSL_CTX* ctx, std::chrono::milliseconds timeout);
  bool IsTls() const { return tls_; }
  // "192.0.2.1:4711" or "[2001:db8::1]:4711" (IPv4-mapped IPv6 shown as IPv4).
  const std::string& PeerAddress() const { return peer_address_; }
  const std::string& PeerIp() const { return peer_ip_; }
  bool IsLoopback() const { return loopback_; }
  // Which of the server's listen addresses accepted this connection.
  size_t listener_index() const { return listener_index_; }
  bool StopRequested() const { return stop_->stopping.load(); }
  // After kStopping: keep reading, until the server's drain deadline, to finish a transaction.
  void SetDraining() { draining_ = true; }
  // Shuts the socket down (both directions); blocked I/O returns. Safe from any thread.
  void ForceShutdown();
  // Closes the socket and frees TLS state; called by the server when the handler returns.
  void Release();

 private:
  // Waits for `events` on the socket until `deadline`; false on timeout or stop.
  enum class WaitResult { kReady, kTimeout, kStopping, kError };
  WaitResult Wait(short events, std::chrono::steady_clock::time_point deadline, bool watch_stop);

  std::mutex fd_mu_;  // guards fd_ against Release/ForceShutdown racing
  int fd_;
  SSL* ssl_ = nullptr;
  bool tls_ = false;
  bool draining_ = false;
  size_t listener_index_;
  std::shared_ptr<StopSignal> stop_;
  std::string peer_address_;
  std::string peer_ip_;
  bool loopback_ = false;
};

struct TcpServerOptions {
  std::vector<std::string> listen;  // at least one "HOST:PORT"
  int max_connections = 200;        // across all listen addresses
  int backlog = 511;
};

class TcpServer {
 public:
  using Handler = std::function<void(Connection& connection, bool over_capacity)>;

  TcpServer(TcpServerOptions options, Handler handler);
  ~TcpServer();  // Stop(0)
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  Status Start();
  // In the order of options.listen, e.g. "127.0.0.1:40123", "[::1]:40124".
  std::vector<std::string> BoundAddresses() const { return bound_; }
  void Stop(std::chrono::milliseconds grace);
  int ActiveConnections() const { return active_.load(); }

 private:
  struct Worker {
    std::unique_ptr<Connection> connection;
    std::thread thread;
    bool done = false;
  };
  void AcceptLoop();
  void Accept(int listen_fd, size_t index);
  void ReapFinished();

  TcpServerOptions options_;
  Handler handler_;
  std::shared_ptr<StopSignal> stop_;
  std::vector<int> listen_fds_;
  std::vector<std::string> bound_;
  std::thread accept_thread_;
  bool started_ = false;
  bool stopped_ = false;
  std::atomic<int> active_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<Worker> workers_;  // guarded by mu_
};

}  // namespace herald::net
