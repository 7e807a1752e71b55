// net/transport.h: outbound connections for delivery: a Dialer opens a Transport (a TCP
// connection that can switch to client TLS) to an IP address.
//
// Contract: every Read and Write carries its own timeout; nothing blocks without a
// deadline. Read returns up to `cap` bytes, 0 when the peer closed, kDeadlineExceeded after
// `timeout` without data and kUnavailable on a socket or TLS error. Write sends all of
// `data` or fails (kDeadlineExceeded / kUnavailable); after a failed Write the connection
// is in an unknown state and must be dropped. StartTls runs the client handshake over the
// connection (SNI = server_name unless it is empty or an IP literal); after a failure the
// connection must be dropped. Dial connects to an IP literal ("192.0.2.1", "2001:db8::1"),
// never a host name (DNS is the caller's business): kInvalidArgument for anything else,
// kDeadlineExceeded when the connect does not finish within `timeout`, kUnavailable when it
// is refused or unreachable.
// NewTcpDialer: non-blocking connect + poll, TCP_NODELAY, optional source address per
// family, MSG_NOSIGNAL on plain sends, and SIGPIPE set to SIG_IGN for the process because
// OpenSSL writes with write(2) (a peer's reset must never kill herald).
// Thread-safety: a Dialer is safe from any thread. A Transport belongs to one thread at a
// time (the delivery engine runs one blocking thread per connection).
// Trust: the peer is a stranger on the Internet: callers bound what they buffer; TLS is
// opportunistic and unauthenticated (RFC 7435), so it protects against passive listeners
// only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace herald::net {

class Transport {
 public:
  virtual ~Transport() = default;
  // Up to cap bytes; 0 means the peer closed. kDeadlineExceeded after `timeout` without
  // data, kUnavailable on a socket/TLS error.
  virtual StatusOr<size_t> Read(char* buf, size_t cap, std::chrono::milliseconds timeout) = 0;
  // All of `data` or an error (kDeadlineExceeded / kUnavailable).
  virtual Status Write(std::string_view data, std::chrono::milliseconds timeout) = 0;
  // Client TLS handshake over the connection (SNI = server_name).
  virtual Status StartTls(const std::string& server_name, std::chrono::milliseconds timeout) = 0;
  virtual bool IsTls() const = 0;
  // "TLSv1.3 TLS_AES_256_GCM_SHA384", or "" before TLS.
  virtual std::string TlsDescription() const = 0;
  // The IP the connection went to ("192.0.2.1", "2001:db8::1").
  virtual std::string PeerAddress() const = 0;
  // From another thread: makes blocked and later Read/Write calls fail at once (the socket
  // is shut down). For a stopping server that cannot wait out a slow peer.
  virtual void Abort() {}
};

class Dialer {
 public:
  virtual ~Dialer() = default;
  // Connects to an IP literal (v4 or v6) and port within `timeout`.
  virtual StatusOr<std::unique_ptr<Transport>> Dial(const std::string& ip, uint16_t port,
                                                    std::chrono::milliseconds timeout) = 0;
};

struct TcpDialerOptions {
  std::string source_ipv4;  // bind outbound IPv4 connections to this address; "" = any
  std::string source_ipv6;  // bind outbound IPv6 connections to this address; "" = any
};

// kInvalidArgument when a source address is not an IP literal of its family; kInternal
// when the TLS client context cannot be made.
StatusOr<std::unique_ptr<Dialer>> NewTcpDialer(const TcpDialerOptions& options);

}  // namespace herald::net
