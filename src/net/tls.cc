#include "net/tls.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/log.h"
#include "smtp/smtp_path.h"

namespace herald::net {
namespace {

std::string OpenSslError(std::string_view what) {
  std::string msg(what);
  unsigned long e = ERR_get_error();
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += ": ";
    msg += buf;
  }
  ERR_clear_error();
  return msg;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status MakeDir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0 || errno == EEXIST) return Status::Ok();
  return InternalError("mkdir " + path + ": " + std::strerror(errno));
}

// Writes a PEM object through `write` to path.tmp with `mode`, fsyncs, renames to path.
template <typename WriteFn>
Status WritePemFile(const std::string& path, mode_t mode, WriteFn write) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return InternalError("open " + tmp + ": " + std::strerror(errno));
  if (::fchmod(fd, mode) != 0) {
    ::close(fd);
    return InternalError("fchmod " + tmp + ": " + std::strerror(errno));
  }
  FILE* f = ::fdopen(fd, "w");
  if (f == nullptr) {
    ::close(fd);
    return InternalError("fdopen " + tmp);
  }
  const bool wrote = write(f) == 1;
  const bool flushed = std::fflush(f) == 0 && ::fsync(fd) == 0;
  std::fclose(f);
  if (!wrote || !flushed) {
    ::unlink(tmp.c_str());
    return InternalError(OpenSslError("writing " + tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return InternalError("rename " + tmp + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Status GenerateSelfSigned(const std::string& hostname, const CertificatePaths& paths) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) return InternalError(OpenSslError("EC key generation"));
  X509* cert = X509_new();
  BIGNUM* serial = BN_new();
  Status status = Status::Ok();
  do {
    if (cert == nullptr || serial == nullptr) {
      status = InternalError("out of memory");
      break;
    }
    X509_set_version(cert, 2);
    if (BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == nullptr) {
      status = InternalError(OpenSslError("serial number"));
      break;
    }
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    const std::string san = "DNS:" + hostname;
    for (const auto& [nid, value] :
         {std::pair<int, std::string>{NID_subject_alt_name, san},
          std::pair<int, std::string>{NID_basic_constraints, "critical,CA:FALSE"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
      if (ext == nullptr) {
        status = InternalError(OpenSslError("certificate extension"));
        break;
      }
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
    if (!status.ok()) break;
    if (X509_sign(cert, key, EVP_sha256()) == 0) {
      status = InternalError(OpenSslError("signing certificate"));
      break;
    }
    status = WritePemFile(paths.key_file, 0600, [&](FILE* f) {
      return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
    if (!status.ok()) break;
    status = WritePemFile(paths.cert_file, 0644, [&](FILE* f) { return PEM_write_X509(f, cert); });
  } while (false);
  BN_free(serial);
  X509_free(cert);
  EVP_PKEY_free(key);
  return status;
}

}  // namespace

StatusOr<CertificatePaths> EnsureSelfSignedCertificate(const std::string& data_dir,
                                                       const std::string& hostname) {
  if (data_dir.empty()) return FailedPreconditionError("no data_dir for the TLS certificate");
  if (!smtp::IsValidHostName(hostname)) {
    return InvalidArgumentError("hostname is not a valid host name: " + hostname);
  }
  const std::string dir = data_dir + "/tls";
  RETURN_IF_ERROR(MakeDir(dir, 0700));
  CertificatePaths paths{dir + "/cert.pem", dir + "/key.pem"};
  if (FileExists(paths.cert_file) && FileExists(paths.key_file)) return paths;
  RETURN_IF_ERROR(GenerateSelfSigned(hostname, paths));
  LogInfo("created self-signed TLS certificate", {{"cert", paths.cert_file}, {"cn", hostname}});
  return paths;
}

StatusOr<std::unique_ptr<TlsContext>> TlsContext::CreateServer(const TlsConfig& config) {
  if (config.cert_file.empty() != config.key_file.empty()) {
    return InvalidArgumentError("tls_cert_file and tls_key_file must be set together");
  }
  CertificatePaths paths{config.cert_file, config.key_file};
  if (paths.cert_file.empty()) {
    ASSIGN_OR_RETURN(paths, EnsureSelfSignedCertificate(config.data_dir, config.hostname));
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return InternalError(OpenSslError("SSL_CTX_new"));
  std::unique_ptr<TlsContext> out(new TlsContext(ctx, paths.cert_file));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  static const unsigned char kSessionContext[] = "herald-smtp";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  if (SSL_CTX_use_certificate_chain_file(ctx, paths.cert_file.c_str()) != 1) {
    return InvalidArgumentError(OpenSslError("loading certificate " + paths.cert_file));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, paths.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidArgumentError(OpenSslError("loading private key " + paths.key_file));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return InvalidArgumentError(OpenSslError("private key does not match the certificate"));
  }
  return out;
}

StatusOr<std::unique_ptr<TlsContext>> TlsContext::CreateClient() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return InternalError(OpenSslError("SSL_CTX_new"));
  std::unique_ptr<TlsContext> out(new TlsContext(ctx, ""));
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
    return InternalError(OpenSslError("setting the minimum TLS version"));
  }
  // A peer that closes without close_notify reads as a plain EOF: SMTP replies are framed,
  // so a truncated reply is caught by the reply parser, not by TLS.
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Opportunistic TLS (RFC 7435): encrypt without authenticating; MX certificates are
  // commonly self-signed or name the wrong host, and refusing them would only push the
  // session back to plaintext.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace herald::net
