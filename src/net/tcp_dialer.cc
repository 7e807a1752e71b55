// net/tcp_dialer.cc: the TCP/OpenSSL implementation of Dialer and Transport (see
// transport.h for the contract).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "net/tls.h"
#include "net/transport.h"

namespace herald::net {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string Errno(std::string_view what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// The oldest queued OpenSSL error as text (or `fallback`); clears the queue.
std::string OpenSslReason(const char* fallback) {
  std::string msg = fallback;
  if (const unsigned long e = ERR_get_error(); e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg = buf;
  }
  ERR_clear_error();
  return msg;
}

// Parses an IPv4 or IPv6 literal into `ss` with `port`; false for anything else.
bool ParseIp(const std::string& ip, uint16_t port, sockaddr_storage* ss, socklen_t* len) {
  *ss = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(ss);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof(sockaddr_in);
    return true;
  }
  *ss = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool IsIpLiteral(const std::string& s) {
  sockaddr_storage ss;
  socklen_t len;
  return ParseIp(s, 0, &ss, &len);
}

std::string HostPortText(const std::string& ip, uint16_t port) {
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

enum class WaitResult { kReady, kTimeout, kError };

// Waits for `events` on fd until `deadline`. POLLHUP/POLLERR count as ready: the following
// call reports what happened.
WaitResult WaitFd(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    const auto now = SteadyClock::now();
    if (now >= deadline) return WaitResult::kTimeout;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(ms + 1, 60 * 60 * 1000)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return WaitResult::kError;
    }
    if (n == 0) continue;  // re-checks the deadline
    return WaitResult::kReady;
  }
}

class TcpTransport final : public Transport {
 public:
  TcpTransport(int fd, std::string peer_ip, std::shared_ptr<TlsContext> tls_context)
      : fd_(fd), peer_ip_(std::move(peer_ip)), tls_context_(std::move(tls_context)) {}

  ~TcpTransport() override {
    if (ssl_ != nullptr) {
      // Best effort close_notify; the socket is non-blocking, so this never waits.
      if (tls_ && !failed_) {
        ERR_clear_error();
        SSL_shutdown(ssl_);
        ERR_clear_error();
      }
      SSL_free(ssl_);
    }
    ::close(fd_);
  }
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;

  StatusOr<size_t> Read(char* buf, size_t cap, std::chrono::milliseconds timeout) override {
    if (failed_) return UnavailableError("connection to " + peer_ip_ + " is broken");
    if (cap == 0) return InvalidArgumentError("Read with an empty buffer");
    const auto deadline = SteadyClock::now() + timeout;
    while (true) {
      short want = POLLIN;
      if (tls_) {
        size_t got = 0;
        ERR_clear_error();
        if (SSL_read_ex(ssl_, buf, cap, &got) == 1) return got;
        const int err = SSL_get_error(ssl_, 0);
        if (err == SSL_ERROR_ZERO_RETURN) return size_t{0};
        if (err == SSL_ERROR_WANT_WRITE) {
          want = POLLOUT;
        } else if (err != SSL_ERROR_WANT_READ) {
          const int saved = errno;
          failed_ = true;
          if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            ERR_clear_error();
            return UnavailableError(Errno("TLS read from " + peer_ip_, saved));
          }
          return UnavailableError("TLS read from " + peer_ip_ + ": " + OpenSslReason("error"));
        }
      } else {
        const ssize_t r = ::recv(fd_, buf, cap, 0);
        if (r >= 0) return static_cast<size_t>(r);
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          failed_ = true;
          return UnavailableError(Errno("read from " + peer_ip_, errno));
        }
      }
      switch (WaitFd(fd_, want, deadline)) {
        case WaitResult::kReady:
          break;
        case WaitResult::kTimeout:
          return DeadlineExceededError("read from " + peer_ip_ + " timed out");
        case WaitResult::kError:
          failed_ = true;
          return UnavailableError(Errno("poll", errno));
      }
    }
  }

  Status Write(std::string_view data, std::chrono::milliseconds timeout) override {
    if (failed_) return UnavailableError("connection to " + peer_ip_ + " is broken");
    const auto deadline = SteadyClock::now() + timeout;
    while (!data.empty()) {
      short want = POLLOUT;
      if (tls_) {
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
          const int saved = errno;
          failed_ = true;
          if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
            ERR_clear_error();
            return UnavailableError(Errno("TLS write to " + peer_ip_, saved));
          }
          return UnavailableError("TLS write to " + peer_ip_ + ": " + OpenSslReason("error"));
        }
      } else {
        const ssize_t w = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (w >= 0) {
          data.remove_prefix(static_cast<size_t>(w));
          continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          failed_ = true;
          return UnavailableError(Errno("write to " + peer_ip_, errno));
        }
      }
      switch (WaitFd(fd_, want, deadline)) {
        case WaitResult::kReady:
          break;
        case WaitResult::kTimeout:
          // Part of the data may have gone: the stream is out of step from here on.
          failed_ = true;
          return DeadlineExceededError("write to " + peer_ip_ + " timed out");
        case WaitResult::kError:
          failed_ = true;
          return UnavailableError(Errno("poll", errno));
      }
    }
    return Status::Ok();
  }

  Status StartTls(const std::string& server_name, std::chrono::milliseconds timeout) override {
    if (ssl_ != nullptr) return FailedPreconditionError("TLS already started");
    if (failed_) return UnavailableError("connection to " + peer_ip_ + " is broken");
    ssl_ = SSL_new(tls_context_->get());
    if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
      failed_ = true;
      return InternalError("SSL_new: " + OpenSslReason("failed"));
    }
    if (!server_name.empty() && !IsIpLiteral(server_name) &&
        SSL_set_tlsext_host_name(ssl_, server_name.c_str()) != 1) {
      failed_ = true;
      return InvalidArgumentError("TLS server name rejected: " + OpenSslReason(""));
    }
    const auto deadline = SteadyClock::now() + timeout;
    while (true) {
      ERR_clear_error();
      const int r = SSL_connect(ssl_);
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
        const int saved = errno;
        failed_ = true;
        if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
          ERR_clear_error();
          return UnavailableError(saved == 0 ? "TLS handshake with " + peer_ip_ + ": peer closed"
                                             : Errno("TLS handshake with " + peer_ip_, saved));
        }
        return UnavailableError("TLS handshake with " + peer_ip_ + ": " + OpenSslReason("failed"));
      }
      switch (WaitFd(fd_, want, deadline)) {
        case WaitResult::kReady:
          break;
        case WaitResult::kTimeout:
          failed_ = true;
          return DeadlineExceededError("TLS handshake with " + peer_ip_ + " timed out");
        case WaitResult::kError:
          failed_ = true;
          return UnavailableError(Errno("poll", errno));
      }
    }
  }

  bool IsTls() const override { return tls_; }

  std::string TlsDescription() const override {
    if (!tls_) return "";
    return std::string(SSL_get_version(ssl_)) + " " + SSL_get_cipher_name(ssl_);
  }

  std::string PeerAddress() const override { return peer_ip_; }
  void Abort() override { ::shutdown(fd_, SHUT_RDWR); }

 private:
  const int fd_;
  const std::string peer_ip_;
  std::shared_ptr<TlsContext> tls_context_;
  SSL* ssl_ = nullptr;
  bool tls_ = false;
  bool failed_ = false;  // a fatal error happened: every later call fails
};

class TcpDialer final : public Dialer {
 public:
  TcpDialer(std::shared_ptr<TlsContext> tls_context, std::optional<sockaddr_storage> source4,
            std::optional<sockaddr_storage> source6)
      : tls_context_(std::move(tls_context)), source4_(source4), source6_(source6) {}

  StatusOr<std::unique_ptr<Transport>> Dial(const std::string& ip, uint16_t port,
                                            std::chrono::milliseconds timeout) override {
    sockaddr_storage ss;
    socklen_t len = 0;
    if (!ParseIp(ip, port, &ss, &len)) {
      return InvalidArgumentError("not an IP address: " + ip);
    }
    const std::string where = HostPortText(ip, port);
    const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return UnavailableError(Errno("socket", errno));
    // From here on the descriptor is owned by `transport`, which closes it on every path.
    auto transport = std::make_unique<TcpTransport>(fd, ip, tls_context_);
    const std::optional<sockaddr_storage>& source = ss.ss_family == AF_INET ? source4_ : source6_;
    if (source.has_value()) {
      const socklen_t slen = ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
      if (::bind(fd, reinterpret_cast<const sockaddr*>(&*source), slen) != 0) {
        return UnavailableError(Errno("bind source address for " + where, errno));
      }
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const auto deadline = SteadyClock::now() + timeout;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
      if (errno != EINPROGRESS && errno != EINTR) {
        return UnavailableError(Errno("connect " + where, errno));
      }
      switch (WaitFd(fd, POLLOUT, deadline)) {
        case WaitResult::kReady:
          break;
        case WaitResult::kTimeout:
          return DeadlineExceededError("connect " + where + " timed out");
        case WaitResult::kError:
          return UnavailableError(Errno("poll", errno));
      }
      int err = 0;
      socklen_t elen = sizeof(err);
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0) err = errno;
      if (err != 0) return UnavailableError(Errno("connect " + where, err));
    }
    return std::unique_ptr<Transport>(std::move(transport));
  }

 private:
  std::shared_ptr<TlsContext> tls_context_;
  const std::optional<sockaddr_storage> source4_;
  const std::optional<sockaddr_storage> source6_;
};

StatusOr<std::optional<sockaddr_storage>> ParseSource(const std::string& ip, int family,
                                                      const char* option) {
  if (ip.empty()) return std::optional<sockaddr_storage>();
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!ParseIp(ip, 0, &ss, &len) || ss.ss_family != family) {
    return InvalidArgumentError(std::string(option) + ": not an " +
                                (family == AF_INET ? "IPv4" : "IPv6") + " address: " + ip);
  }
  return std::optional<sockaddr_storage>(ss);
}

}  // namespace

StatusOr<std::unique_ptr<Dialer>> NewTcpDialer(const TcpDialerOptions& options) {
  ASSIGN_OR_RETURN(std::optional<sockaddr_storage> source4,
                   ParseSource(options.source_ipv4, AF_INET, "source_ipv4"));
  ASSIGN_OR_RETURN(std::optional<sockaddr_storage> source6,
                   ParseSource(options.source_ipv6, AF_INET6, "source_ipv6"));
  ASSIGN_OR_RETURN(std::unique_ptr<TlsContext> tls, TlsContext::CreateClient());
  // OpenSSL writes with write(2): without this a peer's reset would kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  return std::unique_ptr<Dialer>(
      new TcpDialer(std::shared_ptr<TlsContext>(std::move(tls)), source4, source6));
}

}  // namespace herald::net
