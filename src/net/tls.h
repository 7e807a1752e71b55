// net/tls.h: the OpenSSL contexts for SMTP: the server's (STARTTLS and implicit TLS) and
// the outbound client's (STARTTLS to MX hosts).
//
// Contract: TlsContext::CreateServer loads the configured PEM certificate chain and key, or,
// when neither file is configured, a self-signed certificate kept in <data_dir>/tls/
// (cert.pem, key.pem): created on first start (EC P-256, CN and subjectAltName = hostname,
// valid ten years, key file mode 0600, directory 0700, written to a temporary name, fsync'd
// and renamed) and reused on later starts. TlsContext::CreateClient makes the outbound
// context: opportunistic MX TLS does not authenticate the server (RFC 7435), so no
// certificate is verified; the caller sets SNI per connection. TLS 1.2 is the minimum
// version; renegotiation and compression are off. Errors: kInvalidArgument for a bad
// configuration (one file without the other, unreadable or mismatched files),
// kFailedPrecondition when nothing is configured and there is no data_dir, kInternal for
// OpenSSL or file-system failures.
// Thread-safety: a TlsContext is immutable after creation and may be shared by all
// connection threads (SSL_CTX is safe for concurrent SSL_new).
// Trust: reads only operator-configured files and files it wrote itself.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace herald::net {

struct TlsConfig {
  std::string cert_file;  // PEM chain; set together with key_file
  std::string key_file;   // PEM private key
  std::string data_dir;   // where tls/ holds the self-signed pair when no files are set
  std::string hostname = "localhost";  // CN/subjectAltName of the self-signed certificate
};

class TlsContext {
 public:
  static StatusOr<std::unique_ptr<TlsContext>> CreateServer(const TlsConfig& config);
  // Client context for outbound SMTP: TLS 1.2+, no certificate verification.
  static StatusOr<std::unique_ptr<TlsContext>> CreateClient();
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  const std::string& cert_file() const { return cert_file_; }

 private:
  TlsContext(SSL_CTX* ctx, std::string cert_file) : ctx_(ctx), cert_file_(std::move(cert_file)) {}
  SSL_CTX* ctx_;
  std::string cert_file_;
};

struct CertificatePaths {
  std::string cert_file;
  std::string key_file;
};

// Returns <data_dir>/tls/{cert,key}.pem, creating a self-signed pair when either is
// missing. Exposed for tests and for the server's startup log.
StatusOr<CertificatePaths> EnsureSelfSignedCertificate(const std::string& data_dir,
                                                       const std::string& hostname);

}  // namespace herald::net
