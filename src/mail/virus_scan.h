// mail/virus_scan.h: virus scanning of whole messages before they are accepted for sending.
//
// A VirusScanner looks at the raw bytes of one message (header and body, as submitted) and
// says whether it carries malware, naming the signature it found. Two implementations:
//
// EicarScanner (pure, no I/O) recognises only the EICAR anti-malware test file, so that an
// operator can check the whole scanning path end to end without a real engine. It walks the
// MIME tree with the forgiving reader of feedback/mime_tree.h (base64 and quoted-printable
// bodies decoded, embedded message/rfc822 parts opened) and reports "Eicar-Test-Signature"
// when one leaf part's decoded content, or the body of a single-part message, is the test
// file as eicar.org defines it (see IsEicarTestFile). The walk is bounded: at most
// kMaxScanParts parts and kMaxScanDepth levels of nesting (embedded messages included);
// a message beyond those limits cannot be scanned completely and yields kResourceExhausted,
// so a hostile sender cannot hide the file below the limits.
//
// ClamdScanner (I/O adapter) streams the message to a clamd daemon with the INSTREAM
// command over a unix socket or TCP, one fresh connection per scan. Every connect, write
// and read waits at most the configured timeout. A message longer than
// stream_max_length (keep it at most clamd.conf's StreamMaxLength) is kResourceExhausted
// without contacting clamd, as is clamd's own "INSTREAM size limit exceeded" reply. Every
// other failure (refused or timed-out connection, early close, an "... ERROR" reply, a
// malformed reply) is kUnavailable: the caller decides whether to fail open or closed.
//
// Contract: Scan returns a verdict (infected or clean) or a non-OK Status; it never says
// "clean" for a message it could not examine completely.
// Thread-safety: both scanners are safe to call from any thread concurrently (EicarScanner
// is stateless; ClamdScanner holds only its immutable options).
// Trust: raw_message is hostile (any client can submit it): every size is bounded by the
// input's and the limits above. clamd is trusted to be the operator's daemon, yet its reply
// is still read with a length cap and parsed strictly.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace herald::mail {

struct ScanVerdict {
  bool infected = false;
  std::string signature;  // the engine's name for what it found; empty when clean

  bool operator==(const ScanVerdict&) const = default;
};

class VirusScanner {
 public:
  virtual ~VirusScanner() = default;
  virtual StatusOr<ScanVerdict> Scan(std::string_view raw_message) = 0;
};

using VirusScannerPtr = std::unique_ptr<VirusScanner>;

// The signature name EicarScanner reports (ClamAV's name for the same file).
inline constexpr std::string_view kEicarSignature = "Eicar-Test-Signature";
inline constexpr size_t kMaxScanParts = 1024;
inline constexpr int kMaxScanDepth = 16;

// Whether `content` is the EICAR test file: it starts with the 68-byte test string, the rest
// is only space, tab, LF, CR or CTRL-Z, and the whole is at most 128 bytes.
bool IsEicarTestFile(std::string_view content);

class EicarScanner : public VirusScanner {
 public:
  StatusOr<ScanVerdict> Scan(std::string_view raw_message) override;
};

struct ClamdOptions {
  // Where clamd listens: "unix:/run/clamav/clamd.ctl" or an absolute path ("/run/...") for a
  // unix socket, or "HOST:PORT" / "[IPV6]:PORT" for TCP (clamd.conf TCPSocket, usually
  // 3310). A host name is resolved with the system resolver at each scan. Required.
  std::string address;
  // The longest a connect may take.
  std::chrono::milliseconds connect_timeout{5000};
  // The longest any single write or read may wait, including the wait for clamd's verdict
  // after the last chunk (clamd scans the whole stream before answering).
  std::chrono::milliseconds read_timeout{30000};
  // The largest message sent to clamd; keep it at most clamd.conf's StreamMaxLength (clamd's
  // default is 25 MiB). Larger messages are kResourceExhausted. 1 .. 4 GiB - 1.
  size_t stream_max_length = size_t{25} * 1024 * 1024;
  // Bytes per INSTREAM chunk; 1 .. stream_max_length.
  size_t chunk_size = size_t{1} << 20;
};

class ClamdScanner : public VirusScanner {
 public:
  // kInvalidArgument for a malformed address or an out-of-range option.
  static StatusOr<std::unique_ptr<ClamdScanner>> Create(const ClamdOptions& options);

  StatusOr<ScanVerdict> Scan(std::string_view raw_message) override;

 private:
  ClamdScanner(const ClamdOptions& options, std::string unix_path, std::string host, uint16_t port);

  const ClamdOptions options_;
  const std::string unix_path_;  // non-empty for a unix socket
  const std::string host_;       // else the TCP host and port
  const uint16_t port_;
};

}  // namespace herald::mail
