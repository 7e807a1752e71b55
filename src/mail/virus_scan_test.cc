#include "mail/virus_scan.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/crypto.h"

namespace herald::mail {
namespace {

// Built from two halves so that this file never holds the contiguous test string.
const std::string kEicarText =
    std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$") + "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

constexpr std::string_view kHeader =
    "From: sender@example.com\r\n"
    "To: rcpt@example.net\r\n"
    "Subject: test\r\n"
    "MIME-Version: 1.0\r\n";

StatusOr<ScanVerdict> EicarScan(const std::string& message) {
  EicarScanner scanner;
  return scanner.Scan(message);
}

void ExpectInfected(const std::string& message) {
  auto v = EicarScan(message);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->infected) << message;
  EXPECT_EQ(v->signature, kEicarSignature);
}

void ExpectClean(const std::string& message) {
  auto v = EicarScan(message);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->infected) << message;
  EXPECT_EQ(v->signature, "");
}

// Base64 in 76-character lines, as mail software writes it.
std::string WrappedBase64(std::string_view bytes) {
  std::string b64 = Base64Encode(bytes);
  std::string out;
  for (size_t i = 0; i < b64.size(); i += 76) out += b64.substr(i, 76) + "\r\n";
  return out;
}

std::string Multipart(std::string_view type, std::string_view boundary,
                      const std::vector<std::string>& parts) {
  std::string out = "Content-Type: " + std::string(type) + "; boundary=\"" + std::string(boundary) +
                    "\"\r\n\r\npreamble\r\n";
  for (const auto& p : parts) out += "--" + std::string(boundary) + "\r\n" + p + "\r\n";
  out += "--" + std::string(boundary) + "--\r\n";
  return out;
}

std::string TextPart(std::string_view text) {
  return "Content-Type: text/plain; charset=utf-8\r\n\r\n" + std::string(text);
}

std::string Base64Attachment(std::string_view content, std::string_view name = "eicar.com") {
  return "Content-Type: application/octet-stream; name=\"" + std::string(name) +
         "\"\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
         WrappedBase64(content);
}

// ---------------------------------------------------------------------------------------
// IsEicarTestFile

TEST(IsEicarTestFileTest, FollowsEicarOrgDefinition) {
  EXPECT_TRUE(IsEicarTestFile(kEicarText));
  EXPECT_TRUE(IsEicarTestFile(kEicarText + "\r\n"));
  EXPECT_TRUE(IsEicarTestFile(kEicarText + " \t\n\r\x1a"));
  EXPECT_TRUE(IsEicarTestFile(kEicarText + std::string(60, ' ')));   // 128 bytes
  EXPECT_FALSE(IsEicarTestFile(kEicarText + std::string(61, ' ')));  // 129 bytes
  EXPECT_FALSE(IsEicarTestFile(kEicarText.substr(0, 67)));
  EXPECT_FALSE(IsEicarTestFile(" " + kEicarText));
  EXPECT_FALSE(IsEicarTestFile(kEicarText + "\nX"));
  EXPECT_FALSE(IsEicarTestFile(kEicarText + std::string(1, '\0')));
  EXPECT_FALSE(IsEicarTestFile(""));
  std::string zero = kEicarText;
  zero[2] = '0';  // the third character is the letter O, not the digit zero
  EXPECT_FALSE(IsEicarTestFile(zero));
}

// ---------------------------------------------------------------------------------------
// EicarScanner

TEST(EicarScannerTest, WholeTextBody) {
  ExpectInfected(std::string(kHeader) + "\r\n" + kEicarText + "\r\n");
  // A body of nothing but the file, no header at all.
  ExpectInfected(kEicarText);
}

TEST(EicarScannerTest, Base64Attachment) {
  std::string msg =
      std::string(kHeader) + Multipart("multipart/mixed", "b1",
                                       {TextPart("Please find the file attached.\r\n"),
                                        Base64Attachment(kEicarText + "\r\n")});
  ASSERT_EQ(msg.find(kEicarText), std::string::npos);  // only the decoding can find it
  ExpectInfected(msg);
}

TEST(EicarScannerTest, SinglePartBase64Body) {
  std::string msg = std::string(kHeader) +
                    "Content-Type: application/octet-stream\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n" +
                    WrappedBase64(kEicarText);
  ExpectInfected(msg);
}

TEST(EicarScannerTest, QuotedPrintablePart) {
  // Escape the X, the $ signs and the O so the raw message does not hold the string.
  std::string qp;
  for (char c : kEicarText) {
    if (c == 'X' || c == '$' || c == 'O') {
      static const char* hex = "0123456789ABCDEF";
      qp += '=';
      qp += hex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      qp += hex[static_cast<unsigned char>(c) & 0xF];
    } else {
      qp += c;
    }
  }
  // A soft line break in the middle, as long lines get.
  qp.insert(40, "=\r\n");
  std::string part =
      "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp +
      "\r\n";
  std::string msg =
      std::string(kHeader) + Multipart("multipart/mixed", "qp-b", {TextPart("hello\r\n"), part});
  ASSERT_EQ(msg.find(kEicarText), std::string::npos);
  ExpectInfected(msg);
}

TEST(EicarScannerTest, NestedMultipart) {
  std::string related =
      Multipart("multipart/related", "inner-3",
                {TextPart("<p>hi</p>\r\n"), Base64Attachment(kEicarText, "x.bin")});
  std::string alternative =
      Multipart("multipart/alternative", "inner-2", {TextPart("plain\r\n"), related});
  std::string msg = std::string(kHeader) +
                    Multipart("multipart/mixed", "outer-1", {alternative, TextPart("tail\r\n")});
  ExpectInfected(msg);
}

TEST(EicarScannerTest, InsideAnEmbeddedMessage) {
  std::string inner = "From: x@example.org\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n" +
                      Multipart("multipart/mixed", "in",
                                {TextPart("see attached\r\n"), Base64Attachment(kEicarText)});
  std::string msg =
      std::string(kHeader) +
      Multipart("multipart/mixed", "out",
                {TextPart("forwarded\r\n"), "Content-Type: message/rfc822\r\n\r\n" + inner});
  ExpectInfected(msg);
  // The same embedded message, base64-encoded as a whole.
  std::string encoded =
      std::string(kHeader) + Multipart("multipart/mixed", "out",
                                       {"Content-Type: message/rfc822\r\n"
                                        "Content-Transfer-Encoding: base64\r\n\r\n" +
                                        WrappedBase64(inner)});
  ExpectInfected(encoded);
}

TEST(EicarScannerTest, NotFlaggedInTheMiddleOfText) {
  ExpectClean(std::string(kHeader) + "\r\nHere is the test string: " + kEicarText + "\r\n");
  ExpectClean(
      std::string(kHeader) +
      Multipart("multipart/mixed", "b", {Base64Attachment("MZ" + kEicarText), TextPart("x\r\n")}));
}

TEST(EicarScannerTest, NotFlaggedWhenLongerThan128Bytes) {
  // 129 bytes of whitespace-padded file: not the test file any more.
  ExpectClean(
      std::string(kHeader) +
      Multipart("multipart/mixed", "b", {Base64Attachment(kEicarText + std::string(61, ' '))}));
  ExpectClean(std::string(kHeader) + "\r\n" + kEicarText + "\r\nand more text\r\n");
  // The 128-byte limit itself is still the test file.
  ExpectInfected(
      std::string(kHeader) +
      Multipart("multipart/mixed", "b", {Base64Attachment(kEicarText + std::string(60, ' '))}));
}

TEST(EicarScannerTest, CleanMailNotFlagged) {
  ExpectClean(std::string(kHeader) + "\r\nHello,\r\n\r\nsee you tomorrow.\r\n");
  ExpectClean(std::string(kHeader) +
              Multipart("multipart/mixed", "c",
                        {TextPart("hi\r\n"), Base64Attachment("%PDF-1.4 not a virus")}));
  ExpectClean("");
}

TEST(EicarScannerTest, TooDeeplyNestedIsNotCalledClean) {
  std::string body = Base64Attachment(kEicarText);
  for (int i = 0; i < 20; ++i) {
    body = Multipart("multipart/mixed", "d" + std::to_string(i), {body});
  }
  auto v = EicarScan(std::string(kHeader) + body);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kResourceExhausted);

  std::string msg = std::string(kHeader) + "\r\n" + kEicarText + "\r\n";
  for (int i = 0; i < kMaxScanDepth + 2; ++i) {
    msg = std::string(kHeader) + Multipart("multipart/mixed", "m" + std::to_string(i),
                                           {"Content-Type: message/rfc822\r\n\r\n" + msg});
  }
  v = EicarScan(msg);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kResourceExhausted);
}

TEST(EicarScannerTest, TooManyPartsIsNotCalledClean) {
  std::vector<std::string> parts(400, TextPart("x\r\n"));
  parts.push_back(Base64Attachment(kEicarText));
  auto v = EicarScan(std::string(kHeader) + Multipart("multipart/mixed", "many", parts));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kResourceExhausted);
  // A modest number of parts is scanned in full, the last one included.
  std::vector<std::string> few(50, TextPart("x\r\n"));
  few.push_back(Base64Attachment(kEicarText));
  ExpectInfected(std::string(kHeader) + Multipart("multipart/mixed", "few", few));
}

// ---------------------------------------------------------------------------------------
// A fake clamd: parses the INSTREAM framing for real and answers as configured.

enum class ClamdMode {
  kAnswer,       // "stream: OK" or, when the stream holds kMarker, "... FOUND"
  kCloseEarly,   // closes right after the command
  kNeverAnswer,  // reads the whole stream, then waits for the client to go away
  kReply,        // answers `reply` after the stream
  kSizeLimit,    // answers clamd's size-limit error once more than 16 bytes arrived
};

constexpr std::string_view kMarker = "HERALD-TEST-MALWARE-MARKER";

class FakeClamd {
 public:
  // unix_path empty: TCP on 127.0.0.1, port chosen by the kernel.
  explicit FakeClamd(ClamdMode mode, std::string reply = "", std::string unix_path = "")
      : mode_(mode), reply_(std::move(reply)), unix_path_(std::move(unix_path)) {
    if (pipe(stop_) != 0) std::abort();
    if (unix_path_.empty()) {
      listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) std::abort();
      socklen_t len = sizeof(a);
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
      address_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
    } else {
      listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      unix_path_.copy(a.sun_path, sizeof(a.sun_path) - 1);
      unlink(unix_path_.c_str());
      if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) std::abort();
      address_ = unix_path_;
    }
    if (listen(listen_fd_, 8) != 0) std::abort();
    thread_ = std::thread([this] { Serve(); });
  }

  ~FakeClamd() {
    char c = 'x';
    if (write(stop_[1], &c, 1) != 1) std::abort();
    thread_.join();
    close(listen_fd_);
    close(stop_[0]);
    close(stop_[1]);
    if (!unix_path_.empty()) unlink(unix_path_.c_str());
  }

  const std::string& address() const { return address_; }

  std::string command() {
    std::lock_guard<std::mutex> l(mu_);
    return command_;
  }
  std::string received() {
    std::lock_guard<std::mutex> l(mu_);
    return received_;
  }
  size_t chunks() {
    std::lock_guard<std::mutex> l(mu_);
    return chunks_;
  }
  int connections() const { return connections_.load(); }

 private:
  // Waits until fd is readable; false when the fake is being stopped.
  bool WaitReadable(int fd) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    while (poll(p, 2, -1) < 0) {
    }
    return (p[1].revents & POLLIN) == 0;
  }

  // Reads exactly n bytes; false on close, error or stop.
  bool ReadExact(int fd, size_t n, std::string* out) {
    out->clear();
    char buf[65536];
    while (out->size() < n) {
      if (!WaitReadable(fd)) return false;
      ssize_t r = recv(fd, buf, std::min(sizeof(buf), n - out->size()), 0);
      if (r <= 0) return false;
      out->append(buf, static_cast<size_t>(r));
    }
    return true;
  }

  void Send(int fd, std::string_view s) { (void)!send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

  void Serve() {
    for (;;) {
      if (!WaitReadable(listen_fd_)) return;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      Handle(fd);
      close(fd);
    }
  }

  void Handle(int fd) {
    std::string cmd;
    if (!ReadExact(fd, 10, &cmd)) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      command_ = cmd;
      received_.clear();
      chunks_ = 0;
    }
    if (mode_ == ClamdMode::kCloseEarly) return;
    std::string data;
    for (;;) {
      std::string len_bytes, chunk;
      if (!ReadExact(fd, 4, &len_bytes)) return;
      const auto* u = reinterpret_cast<const unsigned char*>(len_bytes.data());
      uint32_t len = (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
      if (len == 0) break;
      if (!ReadExact(fd, len, &chunk)) return;
      data += chunk;
      {
        std::lock_guard<std::mutex> l(mu_);
        received_ = data;
        ++chunks_;
      }
      if (mode_ == ClamdMode::kSizeLimit && data.size() > 16) {
        Send(fd, std::string_view("INSTREAM size limit exceeded. ERROR\0", 36));
        return;
      }
    }
    switch (mode_) {
      case ClamdMode::kAnswer:
        if (data.find(kMarker) != std::string::npos) {
          Send(fd, std::string_view("stream: Herald.Test.Marker FOUND\0", 33));
        } else {
          Send(fd, std::string_view("stream: OK\0", 11));
        }
        return;
      case ClamdMode::kReply:
        Send(fd, reply_);
        return;
      case ClamdMode::kNeverAnswer: {
        std::string ignored;
        ReadExact(fd, 1, &ignored);  // returns when the client closes
        return;
      }
      default:
        return;
    }
  }

  const ClamdMode mode_;
  const std::string reply_;
  std::string unix_path_;
  std::string address_;
  int listen_fd_ = -1;
  int stop_[2] = {-1, -1};
  std::thread thread_;
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::string command_;
  std::string received_;
  size_t chunks_ = 0;
};

std::unique_ptr<ClamdScanner> MakeClamd(
    const std::string& address,
    std::chrono::milliseconds read_timeout = std::chrono::milliseconds(10000),
    size_t chunk_size = 1 << 20) {
  ClamdOptions o;
  o.address = address;
  o.read_timeout = read_timeout;
  o.chunk_size = chunk_size;
  auto s = ClamdScanner::Create(o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

std::string TempSocketPath(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/herald-clamd-" + std::to_string(getpid()) +
         "-" + name + ".sock";
}

TEST(ClamdScannerTest, CleanMessageIsStreamedInFull) {
  FakeClamd clamd(ClamdMode::kAnswer);
  auto scanner = MakeClamd(clamd.address());
  ASSERT_NE(scanner, nullptr);
  std::string msg = std::string(kHeader) + "\r\nnothing to see\r\n";
  auto v = scanner->Scan(msg);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->infected);
  EXPECT_EQ(clamd.command(), std::string("zINSTREAM\0", 10));
  EXPECT_EQ(clamd.received(), msg);
  EXPECT_EQ(clamd.chunks(), 1u);
}

TEST(ClamdScannerTest, FoundReportsTheSignature) {
  FakeClamd clamd(ClamdMode::kAnswer);
  auto scanner = MakeClamd(clamd.address());
  ASSERT_NE(scanner, nullptr);
  auto v = scanner->Scan(std::string(kHeader) + "\r\nx " + std::string(kMarker) + " y\r\n");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->infected);
  EXPECT_EQ(v->signature, "Herald.Test.Marker");
}

TEST(ClamdScannerTest, SmallChunksReassemble) {
  FakeClamd clamd(ClamdMode::kAnswer);
  auto scanner = MakeClamd(clamd.address(), std::chrono::milliseconds(10000), 7);
  ASSERT_NE(scanner, nullptr);
  // The marker straddles chunk boundaries: only a correct reassembly finds it.
  std::string msg = std::string(kHeader) + "\r\n" + std::string(kMarker) + "\r\n";
  auto v = scanner->Scan(msg);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->infected);
  EXPECT_EQ(clamd.received(), msg);
  EXPECT_EQ(clamd.chunks(), (msg.size() + 6) / 7);
}

TEST(ClamdScannerTest, LargeMessageAndEmptyMessage) {
  FakeClamd clamd(ClamdMode::kAnswer);
  auto scanner = MakeClamd(clamd.address());
  ASSERT_NE(scanner, nullptr);
  std::string big(3 * 1024 * 1024 + 5, 'a');
  for (size_t i = 0; i < big.size(); i += 997) big[i] = static_cast<char>('a' + i % 26);
  auto v = scanner->Scan(big);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->infected);
  EXPECT_EQ(clamd.chunks(), 4u);
  EXPECT_TRUE(clamd.received() == big);

  v = scanner->Scan("");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_FALSE(v->infected);
  EXPECT_EQ(clamd.chunks(), 0u);
}

TEST(ClamdScannerTest, UnixSocket) {
  const std::string path = TempSocketPath("unix");
  FakeClamd clamd(ClamdMode::kAnswer, "", path);
  for (const std::string& address : {path, "unix:" + path}) {
    auto scanner = MakeClamd(address);
    ASSERT_NE(scanner, nullptr);
    auto v = scanner->Scan("Subject: x\r\n\r\n" + std::string(kMarker));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(v->infected);
  }
  EXPECT_EQ(clamd.connections(), 2);
}

TEST(ClamdScannerTest, EarlyCloseIsUnavailable) {
  FakeClamd clamd(ClamdMode::kCloseEarly);
  auto scanner = MakeClamd(clamd.address());
  ASSERT_NE(scanner, nullptr);
  auto v = scanner->Scan(std::string(kHeader) + "\r\nhello\r\n");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable) << v.status().ToString();
}

TEST(ClamdScannerTest, SilentClamdTimesOut) {
  FakeClamd clamd(ClamdMode::kNeverAnswer);
  auto scanner = MakeClamd(clamd.address(), std::chrono::milliseconds(200));
  ASSERT_NE(scanner, nullptr);
  const auto start = std::chrono::steady_clock::now();
  auto v = scanner->Scan(std::string(kHeader) + "\r\nhello\r\n");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(v.status().message().find("timed out"), std::string::npos) << v.status().message();
  EXPECT_GE(elapsed, std::chrono::milliseconds(150));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(clamd.received(), std::string(kHeader) + "\r\nhello\r\n");
}

TEST(ClamdScannerTest, ErrorReplyIsUnavailable) {
  FakeClamd clamd(ClamdMode::kReply, std::string("Can't allocate memory ERROR\0", 28));
  auto scanner = MakeClamd(clamd.address());
  ASSERT_NE(scanner, nullptr);
  auto v = scanner->Scan("Subject: x\r\n\r\nbody");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(v.status().message().find("Can't allocate memory ERROR"), std::string::npos);
}

TEST(ClamdScannerTest, MalformedRepliesAreUnavailable) {
  for (std::string reply : {std::string("PONG\0", 5), std::string("stream: FOUND\0", 14),
                            std::string("stream: \x01\x02 FOUND\0", 18), std::string(5000, 'x')}) {
    FakeClamd clamd(ClamdMode::kReply, reply);
    auto scanner = MakeClamd(clamd.address());
    ASSERT_NE(scanner, nullptr);
    auto v = scanner->Scan("Subject: x\r\n\r\nbody");
    ASSERT_FALSE(v.ok()) << reply;
    EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  }
}

TEST(ClamdScannerTest, ClamdSizeLimitIsResourceExhausted) {
  FakeClamd clamd(ClamdMode::kSizeLimit);
  auto scanner = MakeClamd(clamd.address(), std::chrono::milliseconds(10000), 8);
  ASSERT_NE(scanner, nullptr);
  auto v = scanner->Scan(std::string(4096, 'z'));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kResourceExhausted) << v.status().ToString();
}

TEST(ClamdScannerTest, MessageOverStreamLimitIsRefusedLocally) {
  FakeClamd clamd(ClamdMode::kAnswer);
  ClamdOptions o;
  o.address = clamd.address();
  o.stream_max_length = 1000;
  o.chunk_size = 100;
  auto scanner = ClamdScanner::Create(o);
  ASSERT_TRUE(scanner.ok());
  auto v = (*scanner)->Scan(std::string(1001, 'q'));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(clamd.connections(), 0);
  v = (*scanner)->Scan(std::string(1000, 'q'));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(clamd.chunks(), 10u);
}

TEST(ClamdScannerTest, RefusedConnectionIsUnavailable) {
  // A port that was just free: nothing listens on it.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  auto scanner = MakeClamd("127.0.0.1:" + std::to_string(ntohs(a.sin_port)));
  ASSERT_NE(scanner, nullptr);
  auto v = scanner->Scan("Subject: x\r\n\r\nbody");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);

  auto missing = MakeClamd(TempSocketPath("missing"));
  ASSERT_NE(missing, nullptr);
  v = missing->Scan("x");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
}

TEST(ClamdScannerTest, CreateRefusesBadOptions) {
  auto bad = [](ClamdOptions o) {
    auto s = ClamdScanner::Create(o);
    return !s.ok() && s.status().code() == StatusCode::kInvalidArgument;
  };
  ClamdOptions ok;
  ok.address = "127.0.0.1:3310";
  EXPECT_TRUE(ClamdScanner::Create(ok).ok());
  for (const char* address : {"", "clamd", "127.0.0.1:0", ":3310", "unix:", "127.0.0.1:99999"}) {
    ClamdOptions o = ok;
    o.address = address;
    EXPECT_TRUE(bad(o)) << address;
  }
  ClamdOptions o = ok;
  o.address = "/" + std::string(200, 'p');
  EXPECT_TRUE(bad(o));
  o = ok;
  o.chunk_size = 0;
  EXPECT_TRUE(bad(o));
  o = ok;
  o.chunk_size = o.stream_max_length + 1;
  EXPECT_TRUE(bad(o));
  o = ok;
  o.stream_max_length = 0;
  EXPECT_TRUE(bad(o));
  o = ok;
  o.read_timeout = std::chrono::milliseconds(0);
  EXPECT_TRUE(bad(o));
  o = ok;
  o.connect_timeout = std::chrono::milliseconds(-1);
  EXPECT_TRUE(bad(o));
}

}  // namespace
}  // namespace herald::mail
