#include "events/sns.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "base/crypto.h"

namespace herald::events {

namespace {

constexpr int kKeyBits = 2048;
constexpr size_t kMaxPemBytes = 1 << 20;
constexpr char kCommonName[] = "herald SNS signing";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// The oldest queued OpenSSL error as text (the queue is cleared).
std::string OpenSslError(const std::string& what) {
  const unsigned long code = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  ERR_clear_error();
  if (code == 0) {
    return what;
  }
  std::array<char, 256> buf{};
  ERR_error_string_n(code, buf.data(), buf.size());
  return what + ": " + buf.data();
}

const EVP_MD* DigestOfVersion(int signature_version) {
  return signature_version == 1 ? EVP_sha1() : signature_version == 2 ? EVP_sha256() : nullptr;
}

bool IsConfirmation(std::string_view type) {
  return type == kSnsSubscriptionConfirmation || type == kSnsUnsubscribeConfirmation;
}

bool IsKnownType(std::string_view type) { return type == kSnsNotification || IsConfirmation(type); }

// The keys of the string to sign, in their (alphabetical) order. Reference: "Verifying the
// signature of an Amazon SNS message when using HTTP query-based requests",
// https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message-verify-message-signature.html
// (Notification: Message, MessageId, Subject if present, Timestamp, TopicArn, Type;
// SubscriptionConfirmation and UnsubscribeConfirmation: Message, MessageId, SubscribeURL,
// Timestamp, Token, TopicArn, Type; each key and value followed by a newline).
constexpr std::array<std::string_view, 6> kNotificationKeys = {"Message",   "MessageId", "Subject",
                                                               "Timestamp", "TopicArn",  "Type"};
constexpr std::array<std::string_view, 7> kConfirmationKeys = {
    "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"};

// Builds the canonical string; `get(key)` returns the value or nullptr when absent (only
// Subject may be absent: callers check the others).
template <typename Get>
std::string Canonical(bool confirmation, Get get) {
  std::string out;
  auto add = [&](std::string_view key) {
    const std::string* value = get(key);
    if (value == nullptr) {
      return;
    }
    out.append(key);
    out.push_back('\n');
    out.append(*value);
    out.push_back('\n');
  };
  if (confirmation) {
    for (const std::string_view key : kConfirmationKeys) {
      add(key);
    }
  } else {
    for (const std::string_view key : kNotificationKeys) {
      add(key);
    }
  }
  return out;
}

StatusOr<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return UnavailableError("open " + path + ": " + std::strerror(errno));
  }
  std::string data;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const std::string err = std::strerror(errno);
      ::close(fd);
      return UnavailableError("read " + path + ": " + err);
    }
    if (n == 0) {
      break;
    }
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxPemBytes) {
      ::close(fd);
      return DataLossError(path + " is larger than a PEM file can be");
    }
  }
  ::close(fd);
  return data;
}

// Writes `data` to path.tmp with `mode`, fsyncs it, renames it over `path` and fsyncs the
// directory, so that `path` holds either the old or the complete new contents.
Status WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    return UnavailableError("open " + tmp + ": " + std::strerror(errno));
  }
  Status status = Status::Ok();
  if (::fchmod(fd, mode) != 0) {
    status = UnavailableError("fchmod " + tmp + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (status.ok() && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      status = UnavailableError("write " + tmp + ": " + std::strerror(errno));
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = UnavailableError("fsync " + tmp + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = UnavailableError("rename " + tmp + ": " + std::strerror(errno));
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    return UnavailableError("open " + dir + ": " + std::strerror(errno));
  }
  const bool synced = ::fsync(dir_fd) == 0;
  const std::string err = synced ? "" : std::strerror(errno);
  ::close(dir_fd);
  if (!synced) {
    return UnavailableError("fsync " + dir + ": " + err);
  }
  return Status::Ok();
}

template <typename WriteFn>
StatusOr<std::string> ToPem(WriteFn write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || write(bio.get()) != 1) {
    return InternalError(OpenSslError("PEM encoding"));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);  // NOLINT(runtime/int): OpenSSL's type
  return std::string(data, static_cast<size_t>(len));
}

StatusOr<X509Ptr> ParseCert(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) {
    return InvalidArgumentError("certificate PEM too large");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) {
    return InternalError("out of memory");
  }
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return InvalidArgumentError(OpenSslError("not a PEM certificate"));
  }
  return cert;
}

StatusOr<X509Ptr> MakeCertificate(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  BnPtr serial(BN_new());
  if (cert == nullptr || serial == nullptr) {
    return InternalError("out of memory");
  }
  if (X509_set_version(cert.get(), 2) != 1 ||
      BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return InternalError(OpenSslError("building the SNS signing certificate"));
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(kCommonName), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return InternalError(OpenSslError("naming the SNS signing certificate"));
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] :
       {std::pair<int, const char*>{NID_basic_constraints, "critical,CA:FALSE"},
        std::pair<int, const char*>{NID_key_usage, "critical,digitalSignature"},
        std::pair<int, const char*>{NID_subject_key_identifier, "hash"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    if (ext == nullptr) {
      return InternalError(OpenSslError("certificate extension"));
    }
    const int added = X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
    if (added != 1) {
      return InternalError(OpenSslError("certificate extension"));
    }
  }
  if (X509_sign(cert.get(), key, EVP_sha256()) == 0) {
    return InternalError(OpenSslError("signing the SNS signing certificate"));
  }
  return cert;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

struct SnsSigner::Key {
  PkeyPtr pkey;
};

SnsSigner::SnsSigner(std::unique_ptr<Key> key, std::string cert_pem)
    : key_(std::move(key)), cert_pem_(std::move(cert_pem)) {}

SnsSigner::~SnsSigner() = default;

StatusOr<std::unique_ptr<SnsSigner>> SnsSigner::LoadOrCreate(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return UnavailableError("cannot create " + dir + ": " + ec.message());
  }
  const std::string key_path = (std::filesystem::path(dir) / kSnsKeyFile).string();
  const std::string cert_path = (std::filesystem::path(dir) / kSnsCertFile).string();
  const bool have_key = Exists(key_path);
  const bool have_cert = Exists(cert_path);
  if (!have_key && have_cert) {
    return FailedPreconditionError(cert_path + " exists without its key " + key_path +
                                   "; remove the certificate to make a new key pair");
  }

  auto key = std::make_unique<Key>();
  if (have_key) {
    ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(key_path));
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (bio == nullptr) {
      return InternalError("out of memory");
    }
    key->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (key->pkey == nullptr) {
      return DataLossError(OpenSslError(key_path + " is not a PEM private key"));
    }
    if (EVP_PKEY_get_base_id(key->pkey.get()) != EVP_PKEY_RSA ||
        EVP_PKEY_get_bits(key->pkey.get()) < kKeyBits) {
      return FailedPreconditionError(key_path + " is not an RSA key of at least 2048 bits");
    }
    struct stat st;
    if (::stat(key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0 &&
        ::chmod(key_path.c_str(), 0600) != 0) {
      return UnavailableError("chmod " + key_path + ": " + std::strerror(errno));
    }
  } else {
    key->pkey.reset(EVP_RSA_gen(kKeyBits));
    if (key->pkey == nullptr) {
      return InternalError(OpenSslError("RSA key generation"));
    }
    ASSIGN_OR_RETURN(std::string pem, ToPem([&](BIO* bio) {
                       return PEM_write_bio_PrivateKey(bio, key->pkey.get(), nullptr, nullptr, 0,
                                                       nullptr, nullptr);
                     }));
    RETURN_IF_ERROR(WriteFileAtomically(key_path, pem, 0600));
    OPENSSL_cleanse(pem.data(), pem.size());
  }

  X509Ptr cert;
  if (have_cert) {
    ASSIGN_OR_RETURN(std::string pem, ReadSmallFile(cert_path));
    StatusOr<X509Ptr> parsed = ParseCert(pem);
    if (!parsed.ok()) {
      return DataLossError(cert_path + ": " + parsed.status().message());
    }
    cert = std::move(parsed).value();
    if (X509_check_private_key(cert.get(), key->pkey.get()) != 1) {
      ERR_clear_error();
      return FailedPreconditionError(cert_path + " does not belong to the key " + key_path);
    }
  } else {
    ASSIGN_OR_RETURN(cert, MakeCertificate(key->pkey.get()));
    ASSIGN_OR_RETURN(std::string pem,
                     ToPem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); }));
    RETURN_IF_ERROR(WriteFileAtomically(cert_path, pem, 0644));
  }
  ASSIGN_OR_RETURN(std::string cert_pem,
                   ToPem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); }));
  return std::unique_ptr<SnsSigner>(new SnsSigner(std::move(key), std::move(cert_pem)));
}

StatusOr<std::string> SnsSigner::Sign(std::string_view string_to_sign,
                                      int signature_version) const {
  const EVP_MD* md = DigestOfVersion(signature_version);
  if (md == nullptr) {
    return InvalidArgumentError("SNS signature version must be 1 or 2");
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) {
    return InternalError("out of memory");
  }
  EVP_PKEY_CTX* pctx = nullptr;
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key_->pkey.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(string_to_sign.data()),
                     string_to_sign.size()) != 1) {
    return InternalError(OpenSslError("SNS signing"));
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(string_to_sign.data()),
                     string_to_sign.size()) != 1) {
    return InternalError(OpenSslError("SNS signing"));
  }
  sig.resize(len);
  return Base64Encode(sig);
}

std::string StringToSign(const SnsMessage& m) {
  const std::string timestamp = FormatIso8601Millis(m.timestamp);
  return Canonical(IsConfirmation(m.type), [&](std::string_view key) -> const std::string* {
    if (key == "Message") return &m.message;
    if (key == "MessageId") return &m.message_id;
    if (key == "Subject") return m.subject.has_value() ? &*m.subject : nullptr;
    if (key == "SubscribeURL") return &m.subscribe_url;
    if (key == "Timestamp") return &timestamp;
    if (key == "Token") return &m.token;
    if (key == "TopicArn") return &m.topic_arn;
    if (key == "Type") return &m.type;
    return nullptr;
  });
}

StatusOr<std::string> EnvelopeJson(const SnsMessage& m, const SnsSigner& signer) {
  if (!IsKnownType(m.type)) {
    return InvalidArgumentError("unknown SNS message type: " + m.type);
  }
  if (DigestOfVersion(m.signature_version) == nullptr) {
    return InvalidArgumentError("SNS signature version must be 1 or 2");
  }
  ASSIGN_OR_RETURN(std::string signature, signer.Sign(StringToSign(m), m.signature_version));
  const std::string version = std::to_string(m.signature_version);
  nlohmann::ordered_json j;
  j["Type"] = m.type;
  j["MessageId"] = m.message_id;
  if (IsConfirmation(m.type)) {
    j["Token"] = m.token;
    j["TopicArn"] = m.topic_arn;
    j["Message"] = m.message;
    j["SubscribeURL"] = m.subscribe_url;
  } else {
    j["TopicArn"] = m.topic_arn;
    if (m.subject.has_value()) {
      j["Subject"] = *m.subject;
    }
    j["Message"] = m.message;
  }
  j["Timestamp"] = FormatIso8601Millis(m.timestamp);
  j["SignatureVersion"] = version;
  j["Signature"] = signature;
  j["SigningCertURL"] = m.signing_cert_url;
  if (!IsConfirmation(m.type)) {
    j["UnsubscribeURL"] = m.unsubscribe_url;
  }
  try {
    return j.dump();
  } catch (const nlohmann::json::exception&) {
    return InvalidArgumentError("SNS message fields must be UTF-8");
  }
}

std::vector<std::pair<std::string, std::string>> SnsHeaders(const SnsMessage& m,
                                                            const std::string& subscription_arn) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"x-amz-sns-message-type", m.type},
      {"x-amz-sns-message-id", m.message_id},
      {"x-amz-sns-topic-arn", m.topic_arn},
  };
  if (m.type == kSnsNotification) {
    headers.emplace_back("x-amz-sns-subscription-arn", subscription_arn);
  }
  headers.emplace_back("Content-Type", kSnsContentType);
  return headers;
}

Status VerifyEnvelope(std::string_view json, std::string_view cert_pem) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return InvalidArgumentError("SNS envelope is not a JSON object");
  }
  // Every member the check reads must be a string.
  auto field = [&](std::string_view key, const std::string** out) -> Status {
    *out = nullptr;
    auto it = j.find(key);
    if (it == j.end()) {
      return Status::Ok();
    }
    if (!it->is_string()) {
      return InvalidArgumentError("SNS envelope member " + std::string(key) + " is not a string");
    }
    *out = it->get_ptr<const std::string*>();
    return Status::Ok();
  };
  const std::string* type = nullptr;
  const std::string* version = nullptr;
  const std::string* signature = nullptr;
  RETURN_IF_ERROR(field("Type", &type));
  RETURN_IF_ERROR(field("SignatureVersion", &version));
  RETURN_IF_ERROR(field("Signature", &signature));
  if (type == nullptr || !IsKnownType(*type)) {
    return InvalidArgumentError("SNS envelope has no known Type");
  }
  if (version == nullptr || (*version != "1" && *version != "2")) {
    return InvalidArgumentError("SNS envelope SignatureVersion must be \"1\" or \"2\"");
  }
  if (signature == nullptr) {
    return InvalidArgumentError("SNS envelope has no Signature");
  }
  const bool confirmation = IsConfirmation(*type);
  std::map<std::string_view, const std::string*> values;
  auto collect = [&](const auto& keys) -> Status {
    for (const std::string_view key : keys) {
      const std::string* value = nullptr;
      RETURN_IF_ERROR(field(key, &value));
      if (value == nullptr && key != "Subject") {
        return InvalidArgumentError("SNS envelope lacks " + std::string(key));
      }
      values[key] = value;
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(confirmation ? collect(kConfirmationKeys) : collect(kNotificationKeys));
  const std::string canonical = Canonical(confirmation, [&](std::string_view key) {
    auto it = values.find(key);
    return it == values.end() ? nullptr : it->second;
  });

  const std::optional<std::string> raw = Base64Decode(*signature);
  if (!raw.has_value() || raw->empty()) {
    return InvalidArgumentError("SNS envelope Signature is not base64");
  }
  ASSIGN_OR_RETURN(X509Ptr cert, ParseCert(cert_pem));
  EVP_PKEY* pkey = X509_get0_pubkey(cert.get());
  if (pkey == nullptr) {
    return InvalidArgumentError(OpenSslError("certificate without a usable public key"));
  }
  const int version_number = *version == "1" ? 1 : 2;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) {
    return InternalError("out of memory");
  }
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, DigestOfVersion(version_number), nullptr, pkey) !=
      1) {
    return InvalidArgumentError(OpenSslError("certificate key cannot verify signatures"));
  }
  const int verified =
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(raw->data()), raw->size(),
                       reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size());
  ERR_clear_error();
  if (verified != 1) {
    return PermissionDeniedError("SNS envelope signature does not match");
  }
  return Status::Ok();
}

}  // namespace herald::events
