#include "mail/virus_scan.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "base/host_port.h"
#include "feedback/mime_tree.h"

namespace herald::mail {
namespace {

// ---------------------------------------------------------------------------------------
// EICAR
//
// The EICAR Standard Anti-Virus Test File, as eicar.org defines it
// (https://www.eicar.org/download-anti-malware-testfile/): a file that starts with the 68
// characters below, optionally followed by whitespace (space, tab, LF, CR, CTRL-Z only),
// with the whole file at most 128 characters long. The literal is split in two so that this
// source file never holds the contiguous string (some desktop scanners flag it anywhere).

constexpr std::string_view kEicar =
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
    "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
static_assert(kEicar.size() == 68);
constexpr size_t kEicarMaxFileSize = 128;

bool IsEicarPadding(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\x1a';
}

bool IsEmbeddedMessage(std::string_view type) {
  return type == "message/rfc822" || type == "message/global";
}

// One scan's walk over a message and the messages embedded in it.
class EicarWalk {
 public:
  // Scans a whole message (or embedded message) found `depth` levels below the top.
  Status ScanMessage(std::string_view text, int depth) {
    feedback::MimePart root = feedback::ParseMimeTree(text);
    // The reader stops splitting once it holds kMaxMimeParts parts: what lies beyond is
    // left unsplit, so the scan would be incomplete.
    if (CountParts(root) >= feedback::kMaxMimeParts) {
      return ResourceExhaustedError("message has too many MIME parts to scan");
    }
    return ScanPart(root, /*tree_depth=*/0, depth);
  }

  bool found() const { return found_; }

 private:
  static size_t CountParts(const feedback::MimePart& p) {
    size_t n = 1;
    for (const auto& child : p.children) n += CountParts(child);
    return n;
  }

  Status ScanPart(const feedback::MimePart& p, int tree_depth, int depth) {
    if (++parts_ > kMaxScanParts) {
      return ResourceExhaustedError("message has more than " + std::to_string(kMaxScanParts) +
                                    " parts to scan");
    }
    if (depth > kMaxScanDepth) {
      return ResourceExhaustedError("message is nested deeper than " +
                                    std::to_string(kMaxScanDepth) + " levels");
    }
    if (IsEmbeddedMessage(p.type)) {
      // The reader keeps only the embedded message's header; open the whole message.
      return ScanMessage(p.body, depth + 1);
    }
    if (!p.children.empty()) {
      for (const auto& child : p.children) {
        Status s = ScanPart(child, tree_depth + 1, depth + 1);
        if (!s.ok() || found_) return s;
      }
      return Status::Ok();
    }
    if (p.type.rfind("multipart/", 0) == 0 && tree_depth >= feedback::kMaxMimeDepth) {
      // Too deep for the reader to split: the parts inside were not looked at.
      return ResourceExhaustedError("message is nested too deeply to scan");
    }
    // A leaf (or a multipart body whose boundary could not be found: scanned as it is).
    if (IsEicarTestFile(p.body)) found_ = true;
    return Status::Ok();
  }

  size_t parts_ = 0;
  bool found_ = false;
};

// ---------------------------------------------------------------------------------------
// clamd
//
// The INSTREAM command as clamd(8) documents it (ClamAV, "COMMANDS" section of the clamd
// manual page, e.g.
// https://manpages.ubuntu.com/manpages/trusty/man8/clamd.8.html):
// the command is sent as "zINSTREAM\0" (the 'z' prefix asks for NUL-delimited commands and
// replies), then the data as chunks "<length><data>" where length is a 4-byte unsigned
// integer in network byte order, then a zero-length chunk. clamd answers
// "stream: OK\0", "stream: <signature> FOUND\0" or "<reason> ERROR\0"; a stream longer
// than StreamMaxLength gets "INSTREAM size limit exceeded. ERROR" and the connection is
// closed.

constexpr std::string_view kInstream{"zINSTREAM\0", 10};
constexpr size_t kMaxReply = 4096;

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }
  // Gives up ownership.
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string ErrnoText(int err) { return std::strerror(err); }

int TimeoutMs(std::chrono::milliseconds t) {
  return static_cast<int>(std::min<int64_t>(t.count(), 1 << 30));
}

// Waits for `events` on fd; false on timeout (errno 0) or error.
bool WaitFor(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = poll(&p, 1, TimeoutMs(timeout));
    if (r > 0) return true;
    if (r == 0) {
      errno = 0;
      return false;
    }
    if (errno != EINTR) return false;
  }
}

// Non-blocking connect bounded by `timeout`; returns the connected socket or an error.
StatusOr<int> ConnectAddress(const sockaddr* addr, socklen_t len, int family,
                             std::chrono::milliseconds timeout) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError("socket: " + ErrnoText(errno));
  Socket guard(fd);
  if (connect(fd, addr, len) != 0) {
    if (errno != EINPROGRESS) return UnavailableError("connect: " + ErrnoText(errno));
    if (!WaitFor(fd, POLLOUT, timeout)) {
      return UnavailableError(errno == 0 ? "connect timed out" : "poll: " + ErrnoText(errno));
    }
    int err = 0;
    socklen_t err_len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
    if (err != 0) return UnavailableError("connect: " + ErrnoText(err));
  }
  return guard.Release();
}

// Sends all of `data`, waiting at most `timeout` each time the socket is full.
Status SendAll(int fd, std::string_view data, std::chrono::milliseconds timeout) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!WaitFor(fd, POLLOUT, timeout)) {
        return UnavailableError(errno == 0 ? "timed out writing to clamd"
                                           : "poll: " + ErrnoText(errno));
      }
      continue;
    }
    return UnavailableError("writing to clamd: " + ErrnoText(n < 0 ? errno : EPIPE));
  }
  return Status::Ok();
}

// Reads clamd's reply up to its NUL (or the connection's end). With a zero timeout only what
// has already arrived is read. The reply is capped at kMaxReply bytes.
Status ReadReply(int fd, std::chrono::milliseconds timeout, std::string* reply) {
  char buf[512];
  for (;;) {
    if (reply->find('\0') != std::string::npos) return Status::Ok();
    if (reply->size() > kMaxReply) return UnavailableError("clamd's reply is too long");
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      reply->append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return Status::Ok();  // closed: whatever came is the reply
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (timeout.count() == 0) return Status::Ok();
      if (!WaitFor(fd, POLLIN, timeout)) {
        return UnavailableError(errno == 0 ? "timed out waiting for clamd's reply"
                                           : "poll: " + ErrnoText(errno));
      }
      continue;
    }
    return UnavailableError("reading from clamd: " + ErrnoText(errno));
  }
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Printable, bounded text for an error message.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) {
    unsigned char u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7f ? c : '?');
  }
  return out;
}

StatusOr<ScanVerdict> ParseReply(std::string_view reply) {
  size_t nul = reply.find('\0');
  if (nul != std::string_view::npos) reply = reply.substr(0, nul);
  while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.remove_suffix(1);
  if (reply.empty()) return UnavailableError("clamd closed the connection without a verdict");
  if (EndsWith(reply, " ERROR")) {
    if (reply.find("size limit exceeded") != std::string_view::npos) {
      return ResourceExhaustedError("clamd: " + Printable(reply));
    }
    return UnavailableError("clamd: " + Printable(reply));
  }
  size_t colon = reply.find(": ");
  if (colon == std::string_view::npos) {
    return UnavailableError("unexpected reply from clamd: " + Printable(reply));
  }
  std::string_view result = reply.substr(colon + 2);
  if (result == "OK") return ScanVerdict{};
  if (EndsWith(result, " FOUND")) {
    std::string_view name = result.substr(0, result.size() - 6);
    bool printable = !name.empty();
    for (char c : name) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) printable = false;
    }
    if (printable) return ScanVerdict{true, std::string(name)};
  }
  return UnavailableError("unexpected reply from clamd: " + Printable(reply));
}

}  // namespace

bool IsEicarTestFile(std::string_view content) {
  if (content.size() < kEicar.size() || content.size() > kEicarMaxFileSize) return false;
  if (content.substr(0, kEicar.size()) != kEicar) return false;
  for (char c : content.substr(kEicar.size())) {
    if (!IsEicarPadding(c)) return false;
  }
  return true;
}

StatusOr<ScanVerdict> EicarScanner::Scan(std::string_view raw_message) {
  EicarWalk walk;
  RETURN_IF_ERROR(walk.ScanMessage(raw_message, 0));
  if (walk.found()) return ScanVerdict{true, std::string(kEicarSignature)};
  return ScanVerdict{};
}

ClamdScanner::ClamdScanner(const ClamdOptions& options, std::string unix_path, std::string host,
                           uint16_t port)
    : options_(options), unix_path_(std::move(unix_path)), host_(std::move(host)), port_(port) {}

StatusOr<std::unique_ptr<ClamdScanner>> ClamdScanner::Create(const ClamdOptions& options) {
  if (options.connect_timeout.count() <= 0 || options.read_timeout.count() <= 0) {
    return InvalidArgumentError("clamd timeouts must be positive");
  }
  if (options.stream_max_length == 0 || options.stream_max_length > 0xFFFFFFFFu) {
    return InvalidArgumentError("clamd stream_max_length must be 1 .. 4 GiB - 1");
  }
  if (options.chunk_size == 0 || options.chunk_size > options.stream_max_length) {
    return InvalidArgumentError("clamd chunk_size must be 1 .. stream_max_length");
  }
  std::string_view address = options.address;
  std::string unix_path;
  std::string host;
  uint16_t port = 0;
  if (address.rfind("unix:", 0) == 0 || address.rfind('/', 0) == 0) {
    unix_path = std::string(address.rfind("unix:", 0) == 0 ? address.substr(5) : address);
    if (unix_path.empty() || unix_path.size() >= sizeof(sockaddr_un{}.sun_path) ||
        unix_path.find('\0') != std::string::npos) {
      return InvalidArgumentError("bad clamd unix socket path: " + Printable(address));
    }
  } else {
    if (address.empty()) return InvalidArgumentError("clamd address is required");
    RETURN_IF_ERROR(ParseHostPort(address, &host, &port));
    if (host == "0.0.0.0" || port == 0) {
      return InvalidArgumentError("clamd address needs a host and a port: " + Printable(address));
    }
  }
  return std::unique_ptr<ClamdScanner>(
      new ClamdScanner(options, std::move(unix_path), std::move(host), port));
}

StatusOr<ScanVerdict> ClamdScanner::Scan(std::string_view raw_message) {
  if (raw_message.size() > options_.stream_max_length) {
    return ResourceExhaustedError("message of " + std::to_string(raw_message.size()) +
                                  " bytes exceeds clamd's stream limit of " +
                                  std::to_string(options_.stream_max_length));
  }

  // Connect.
  int fd = -1;
  if (!unix_path_.empty()) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, unix_path_.data(), unix_path_.size());
    auto connected = ConnectAddress(reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), AF_UNIX,
                                    options_.connect_timeout);
    if (!connected.ok()) {
      return UnavailableError("clamd at " + unix_path_ + ": " + connected.status().message());
    }
    fd = *connected;
  } else {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(port_);
    int rc = getaddrinfo(host_.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
      return UnavailableError("clamd host " + host_ + ": " + gai_strerror(rc));
    }
    Status last = UnavailableError("no address");
    for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
      auto connected =
          ConnectAddress(ai->ai_addr, ai->ai_addrlen, ai->ai_family, options_.connect_timeout);
      if (connected.ok()) {
        fd = *connected;
      } else {
        last = connected.status();
      }
    }
    freeaddrinfo(found);
    if (fd < 0) {
      return UnavailableError("clamd at " + host_ + ":" + port + ": " + last.message());
    }
  }
  Socket socket_guard(fd);

  // Stream the message, then read the verdict.
  const auto timeout = options_.read_timeout;
  Status sent = SendAll(fd, kInstream, timeout);
  for (size_t pos = 0; sent.ok() && pos < raw_message.size(); pos += options_.chunk_size) {
    std::string_view chunk = raw_message.substr(pos, options_.chunk_size);
    const uint32_t n = static_cast<uint32_t>(chunk.size());
    const char len[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                         static_cast<char>(n >> 8), static_cast<char>(n)};
    sent = SendAll(fd, std::string_view(len, 4), timeout);
    if (sent.ok()) sent = SendAll(fd, chunk, timeout);
  }
  if (sent.ok()) sent = SendAll(fd, std::string_view("\0\0\0\0", 4), timeout);

  std::string reply;
  if (!sent.ok()) {
    // clamd may have said why before it closed (a size limit): use its words if they came.
    if (ReadReply(fd, std::chrono::milliseconds(0), &reply).ok() &&
        reply.find('\0') != std::string::npos) {
      return ParseReply(reply);
    }
    return sent;
  }
  RETURN_IF_ERROR(ReadReply(fd, timeout, &reply));
  return ParseReply(reply);
}

}  // namespace herald::mail
