// net/test_client.h: a blocking SMTP test client (plain or TLS) for the net tests only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>

#include "net/tcp_server.h"

namespace herald::net::testing {

class TestClient {
 public:
  ~TestClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  // Connects to "HOST:PORT"; reads time out after 10 s so a broken server fails the test.
  bool Connect(const std::string& address) {
    std::string host;
    uint16_t port = 0;
    if (!ParseHostPort(address, &host, &port).ok()) return false;
    sockaddr_storage ss{};
    socklen_t len;
    if (host.find(':') != std::string::npos) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(port);
      inet_pton(AF_INET6, host.c_str(), &a->sin6_addr);
      len = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      inet_pton(AF_INET, host.c_str(), &a->sin_addr);
      len = sizeof(*a);
    }
    fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  }
  bool StartTls(std::string* peer_cn = nullptr) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) return false;
    if (peer_cn != nullptr) {
      X509* cert = SSL_get1_peer_certificate(ssl_);
      if (cert == nullptr) return false;
      char cn[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
      *peer_cn = cn;
      X509_free(cert);
    }
    return true;
  }
  bool Send(const std::string& s) {
    if (ssl_ != nullptr) return SSL_write(ssl_, s.data(), static_cast<int>(s.size())) > 0;
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // One complete (possibly multi-line) reply, CRLFs included; "" on EOF or timeout.
  std::string ReadReply() {
    std::string reply;
    while (true) {
      const size_t eol = buffer_.find("\r\n");
      if (eol != std::string::npos) {
        const std::string line = buffer_.substr(0, eol + 2);
        buffer_.erase(0, eol + 2);
        reply += line;
        if (line.size() < 4 || line[3] != '-') return reply;
        continue;
      }
      char buf[4096];
      const int n = ssl_ != nullptr ? SSL_read(ssl_, buf, sizeof(buf))
                                    : static_cast<int>(::recv(fd_, buf, sizeof(buf), 0));
      if (n <= 0) return reply;
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }
  // True when the server closed the connection (EOF) with nothing more to read.
  bool AtEof() {
    if (!buffer_.empty()) return false;
    char c;
    const int n = ssl_ != nullptr ? SSL_read(ssl_, &c, 1) : static_cast<int>(::recv(fd_, &c, 1, 0));
    return n == 0 || (n < 0 && ssl_ != nullptr);
  }

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

}  // namespace herald::net::testing
