#include "net/tcp_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "base/log.h"

namespace herald::net {
namespace {

using Clock = std::chrono::steady_clock;

int64_t ToNanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

// Formats an address; IPv4-mapped IPv6 addresses are shown as IPv4.
void FormatAddress(const sockaddr_storage& ss, std::string* ip, std::string* full, bool* loopback) {
  char buf[INET6_ADDRSTRLEN] = {0};
  uint16_t port = 0;
  bool v6 = false;
  *loopback = false;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    port = ntohs(a->sin_port);
    *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    port = ntohs(a->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      in_addr v4;
      std::memcpy(&v4, &a->sin6_addr.s6_addr[12], 4);
      inet_ntop(AF_INET, &v4, buf, sizeof(buf));
      *loopback = a->sin6_addr.s6_addr[12] == 127;
    } else {
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
      *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
      v6 = true;
    }
  }
  *ip = buf;
  *full = (v6 ? "[" + *ip + "]" : *ip) + ":" + std::to_string(port);
}

StatusOr<int> BindListener(const std::string& text, int backlog) {
  std::string host;
  uint16_t port = 0;
  RETURN_IF_ERROR(ParseHostPort(text, &host, &port));
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) {
      return InvalidArgumentError("listen address: bad IPv6 address in " + text);
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      return InvalidArgumentError("listen address: host must be numeric in " + text);
    }
    len = sizeof(sockaddr_in);
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return InternalError(Errno("socket"));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const std::string err = Errno("bind " + text);
    ::close(fd);
    return UnavailableError(err);
  }
  if (::listen(fd, backlog) != 0) {
    const std::string err = Errno("listen " + text);
    ::close(fd);
    return UnavailableError(err);
  }
  return fd;
}

}  // namespace

// ---------------------------------------------------------------------------- Connection

Connection::Connection(int fd, size_t listener_index, std::shared_ptr<StopSignal> stop)
    : fd_(fd), listener_index_(listener_index), stop_(std::move(stop)) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    FormatAddress(ss, &peer_ip_, &peer_address_, &loopback_);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Connection::~Connection() { Release(); }

void Connection::Release() {
  std::lock_guard<std::mutex> lock(fd_mu_);
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void Connection::ForceShutdown() {
  std::lock_guard<std::mutex> lock(fd_mu_);
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

Connection::WaitResult Connection::Wait(short events, Clock::time_point deadline, bool watch_stop) {
  while (true) {
    if (watch_stop && stop_->stopping.load()) return WaitResult::kStopping;
    const auto now = Clock::now();
    if (now >= deadline) return WaitResult::kTimeout;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    pollfd fds[2] = {{fd_, events, 0}, {stop_->wake_fd, POLLIN, 0}};
    const int n = ::poll(fds, watch_stop && stop_->wake_fd >= 0 ? 2 : 1,
                         static_cast<int>(std::min<int64_t>(ms + 1, 60 * 60 * 1000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return WaitResult::kError;
    }
    if (n == 0) continue;  // re-checks the deadline
    if (watch_stop && (fds[1].revents & POLLIN)) return WaitResult::kStopping;
    if (fds[0].revents != 0) return WaitResult::kReady;  // includes HUP/ERR: the call reports
  }
}

Connection::ReadResult Connection::Read(char* buf, size_t cap, size_t* n,
                                        std::chrono::milliseconds timeout) {
  *n = 0;
  if (fd_ < 0) return ReadResult::kError;
  auto deadline = Clock::now() + timeout;
  if (draining_) {
    const Clock::time_point drain{std::chrono::nanoseconds(stop_->drain_deadline_ns.load())};
    deadline = std::min(deadline, drain);
  } else if (stop_->stopping.load()) {
    return ReadResult::kStopping;
  }
  while (true) {
    short want = POLLIN;
    if (ssl_ != nullptr && tls_) {
      size_t got = 0;
      ERR_clear_error();
      if (SSL_read_ex(ssl_, buf, cap, &got) == 1) {
        *n = got;
        return ReadResult::kData;
      }
      const int err = SSL_get_error(ssl_, 0);
      if (err == SSL_ERROR_ZERO_RETURN) return ReadResult::kEof;
      if (err == SSL_ERROR_WANT_WRITE) {
        want = POLLOUT;
      } else if (err != SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return err == SSL_ERROR_SYSCALL && errno == 0 ? ReadResult::kEof : ReadResult::kError;
      }
    } else {
      const ssize_t r = ::recv(fd_, buf, cap, 0);
      if (r > 0) {
        *n = static_cast<size_t>(r);
        return ReadResult::kData;
      }
      if (r == 0) return ReadResult::kEof;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        return errno == ECONNRESET ? ReadResult::kEof : ReadResult::kError;
      }
    }
    switch (Wait(want, deadline, !draining_)) {
      case WaitResult::kReady:
        break;
      case WaitResult::kTimeout:
        return ReadResult::kTimeout;
      case WaitResult::kStopping:
        return ReadResult::kStopping;
      case WaitResult::kError:
        return ReadResult::kError;
    }
  }
}

Status Connection::Write(std::string_view data, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return UnavailableError("connection closed");
  const auto deadline = Clock::now() + timeout;
  while (!data.empty()) {
    short want = POLLOUT;
    if (ssl_ != nullptr && tls_) {
      size_t put = 0;
      ERR_clear_error();
      if (SSL_write_ex(ssl_, data.data(), data.size(), &put) == 1) {
        data.remove_prefix(put);
        continue;
      }
      const int err = SSL_get_error(ssl_, 0);
      if (err == SSL_ERROR_WANT_READ) {
        want = POLLIN;
      } else if (err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return UnavailableError("TLS write failed");
      }
    } else {
      const ssize_t w = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (w > 0) {
        data.remove_prefix(static_cast<size_t>(w));
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        return UnavailableError(Errno("send"));
      }
    }
    const WaitResult wr = Wait(want, deadline, /*watch_stop=*/false);
    if (wr == WaitResult::kTimeout) return UnavailableError("write timed out");
    if (wr != WaitResult::kReady) return UnavailableError("write failed");
  }
  return Status::Ok();
}

Status Connection::StartTls(SSL_CTX* ctx, std::chrono::milliseconds timeout) {
  if (tls_ || ssl_ != nullptr) return FailedPreconditionError("TLS already started");
  if (fd_ < 0) return UnavailableError("connection closed");
  {
    std::lock_guard<std::mutex> lock(fd_mu_);
    ssl_ = SSL_new(ctx);
  }
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) return InternalError("SSL_new failed");
  const auto deadline = Clock::now() + timeout;
  while (true) {
    ERR_clear_error();
    const int r = SSL_accept(ssl_);
    if (r == 1) {
      tls_ = true;
      return Status::Ok();
    }
    const int err = SSL_get_error(ssl_, r);
    short want;
    if (err == SSL_ERROR_WANT_READ) {
      want = POLLIN;
    } else if (err == SSL_ERROR_WANT_WRITE) {
      want = POLLOUT;
    } else {
      char msg[256] = "handshake failed";
      if (const unsigned long e = ERR_get_error(); e != 0) ERR_error_string_n(e, msg, sizeof(msg));
      ERR_clear_error();
      return UnavailableError(std::string("TLS handshake: ") + msg);
    }
    const WaitResult wr = Wait(want, deadline, /*watch_stop=*/false);
    if (wr == WaitResult::kTimeout) return UnavailableError("TLS handshake timed out");
    if (wr != WaitResult::kReady) return UnavailableError("TLS handshake failed");
  }
}

// ---------------------------------------------------------------------------- TcpServer

TcpServer::TcpServer(TcpServerOptions options, Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      stop_(std::make_shared<StopSignal>()) {}

TcpServer::~TcpServer() {
  Stop(std::chrono::milliseconds(0));
  if (stop_->wake_fd >= 0) ::close(stop_->wake_fd);
}

Status TcpServer::Start() {
  if (started_) return FailedPreconditionError("server already started");
  if (options_.listen.empty()) return InvalidArgumentError("no listen address");
  if (options_.max_connections < 1) return InvalidArgumentError("max_connections must be >= 1");
  ::signal(SIGPIPE, SIG_IGN);
  stop_->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_->wake_fd < 0) return InternalError(Errno("eventfd"));
  for (const std::string& addr : options_.listen) {
    StatusOr<int> fd = BindListener(addr, options_.backlog);
    if (!fd.ok()) {
      for (int f : listen_fds_) ::close(f);
      listen_fds_.clear();
      bound_.clear();
      return fd.status();
    }
    listen_fds_.push_back(*fd);
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    ::getsockname(*fd, reinterpret_cast<sockaddr*>(&ss), &len);
    std::string ip, full;
    bool loopback = false;
    FormatAddress(ss, &ip, &full, &loopback);
    bound_.push_back(full);
  }
  started_ = true;
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void TcpServer::AcceptLoop() {
  std::vector<pollfd> fds;
  for (int fd : listen_fds_) fds.push_back({fd, POLLIN, 0});
  fds.push_back({stop_->wake_fd, POLLIN, 0});
  int backoff_ms = 0;
  while (!stop_->stopping.load()) {
    if (backoff_ms > 0) {
      // Out of file descriptors: wait on the stop signal only, then retry.
      pollfd wake{stop_->wake_fd, POLLIN, 0};
      ::poll(&wake, 1, backoff_ms);
      backoff_ms = 0;
      continue;
    }
    for (pollfd& p : fds) p.revents = 0;
    const int n = ::poll(fds.data(), fds.size(), 1000);
    if (n < 0 && errno != EINTR) {
      LogError("accept poll failed", {{"error", std::strerror(errno)}});
      break;
    }
    if (fds.back().revents & POLLIN) break;
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      for (int k = 0; k < 64; ++k) {  // drain the backlog, bounded per round
        const int cfd = ::accept4(fds[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            LogWarn("accept failed", {{"error", std::strerror(errno)}});
            backoff_ms = 100;
          }
          break;
        }
        Accept(cfd, i);
      }
    }
    ReapFinished();
  }
}

void TcpServer::Accept(int fd, size_t index) {
  auto conn = std::make_unique<Connection>(fd, index, stop_);
  if (active_.load() >= options_.max_connections) {
    handler_(*conn, /*over_capacity=*/true);
    conn->Release();
    return;
  }
  active_.fetch_add(1);
  std::lock_guard<std::mutex> lock(mu_);
  workers_.emplace_back();
  Worker* w = &workers_.back();
  w->connection = std::move(conn);
  w->thread = std::thread([this, w] {
    handler_(*w->connection, /*over_capacity=*/false);
    w->connection->Release();
    {
      std::lock_guard<std::mutex> l(mu_);
      w->done = true;
    }
    active_.fetch_sub(1);
    cv_.notify_all();
  });
}

void TcpServer::ReapFinished() {
  std::list<Worker> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      auto next = std::next(it);
      if (it->done) finished.splice(finished.end(), workers_, it);
      it = next;
    }
  }
  for (Worker& w : finished) w.thread.join();
}

void TcpServer::Stop(std::chrono::milliseconds grace) {
  if (!started_ || stopped_) return;
  stopped_ = true;
  const auto deadline = Clock::now() + grace;
  stop_->drain_deadline_ns.store(ToNanos(deadline));
  stop_->stopping.store(true);
  const uint64_t one = 1;
  if (::write(stop_->wake_fd, &one, sizeof(one)) < 0) {
    LogWarn("stop signal write failed", {{"error", std::strerror(errno)}});
  }
  accept_thread_.join();
  for (int fd : listen_fds_) ::close(fd);
  listen_fds_.clear();
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [this] {
      return std::all_of(workers_.begin(), workers_.end(), [](const Worker& w) { return w.done; });
    });
    for (Worker& w : workers_) {
      if (!w.done) w.connection->ForceShutdown();
    }
  }
  std::list<Worker> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(workers_);
  }
  for (Worker& w : all) w.thread.join();
}

}  // namespace herald::net
