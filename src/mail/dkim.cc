#include "mail/dkim.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "base/crypto.h"
#include "base/strings.h"

namespace herald::mail {
namespace {

constexpr size_t kFoldAt = 78;  // RFC 5322 2.1.1's recommended line length, CRLF excluded
constexpr int kMinRsaBits = 1024;
constexpr int kMaxRsaBits = 4096;
constexpr size_t kMaxKeyText = 64 * 1024;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

bool IsWsp(char c) { return c == ' ' || c == '\t'; }
bool IsFws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view TrimFws(std::string_view s) {
  while (!s.empty() && IsFws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsFws(s.back())) s.remove_suffix(1);
  return s;
}

std::string WithoutFws(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!IsFws(c)) out.push_back(c);
  }
  return out;
}

// A PEM password callback that refuses: an encrypted key is an unusable key, and OpenSSL's
// default callback would prompt on the terminal.
int NoPassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return 0; }

StatusOr<PkeyPtr> LoadPrivateKeyPem(std::string_view pem) {
  if (pem.empty() || pem.size() > kMaxKeyText) {
    return InvalidArgumentError("DKIM private key is empty or too long");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("dkim: out of memory");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) return InvalidArgumentError("DKIM private key is not a readable PEM private key");
  return key;
}

// Checks that `key` suits DKIM and reports its algorithm and size.
Status CheckKey(EVP_PKEY* key, DkimAlgorithm* algorithm, int* bits) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) {
    *algorithm = DkimAlgorithm::kRsaSha256;
    *bits = EVP_PKEY_get_bits(key);
    if (*bits < kMinRsaBits || *bits > kMaxRsaBits) {
      return InvalidArgumentError("DKIM RSA key has " + std::to_string(*bits) +
                                  " bits; 1024 to 4096 are allowed");
    }
    return Status::Ok();
  }
  if (id == EVP_PKEY_ED25519) {
    *algorithm = DkimAlgorithm::kEd25519Sha256;
    *bits = 256;
    return Status::Ok();
  }
  return InvalidArgumentError("DKIM key must be RSA or Ed25519");
}

StatusOr<std::string> PemOf(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return InternalError("dkim: cannot encode the private key");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  if (n <= 0 || data == nullptr) return InternalError("dkim: cannot encode the private key");
  return std::string(data, static_cast<size_t>(n));
}

StatusOr<std::string> PublicKeyOf(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519) {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof raw) {
      return InternalError("dkim: cannot read the Ed25519 public key");
    }
    return Base64Encode(std::string_view(reinterpret_cast<char*>(raw), len));
  }
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  if (len <= 0 || der == nullptr) return InternalError("dkim: cannot encode the public key");
  std::string out = Base64Encode(std::string_view(reinterpret_cast<char*>(der), len));
  OPENSSL_free(der);
  return out;
}

StatusOr<PkeyPtr> LoadPublicKey(DkimAlgorithm algorithm, const std::string& p_base64) {
  std::optional<std::string> der = Base64Decode(p_base64);
  if (!der || der->empty()) return InvalidArgumentError("DKIM key record p= is not base64");
  const auto* data = reinterpret_cast<const unsigned char*>(der->data());
  if (algorithm == DkimAlgorithm::kEd25519Sha256) {
    if (der->size() != 32) return InvalidArgumentError("Ed25519 DKIM key is not 32 bytes");
    PkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, data, der->size()));
    if (!key) return InvalidArgumentError("Ed25519 DKIM key is unusable");
    return key;
  }
  const unsigned char* p = data;
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size())));
  if (!key) {
    p = data;  // some publish a bare RSAPublicKey
    key.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(der->size())));
  }
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return InvalidArgumentError("RSA DKIM key in the record is unusable");
  }
  return key;
}

// The header (every field with its CRLF) and the body of a message.
Status SplitMessage(std::string_view message, std::string_view* header, std::string_view* body) {
  if (message.starts_with("\r\n")) {
    *header = std::string_view();
    *body = message.substr(2);
    return Status::Ok();
  }
  const size_t end = message.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return InvalidArgumentError("message has no empty line between header and body");
  }
  *header = message.substr(0, end + 2);
  *body = message.substr(end + 4);
  return Status::Ok();
}

// The raw fields of a header section (folded lines and CRLF included). Lines that start
// with white space before any field are dropped.
std::vector<std::string_view> SplitFields(std::string_view header) {
  std::vector<std::string_view> fields;
  size_t start = std::string_view::npos;
  size_t pos = 0;
  while (pos < header.size()) {
    size_t eol = header.find("\r\n", pos);
    size_t next = eol == std::string_view::npos ? header.size() : eol + 2;
    if (!IsWsp(header[pos])) {
      if (start != std::string_view::npos) fields.push_back(header.substr(start, pos - start));
      start = pos;
    }
    pos = next;
  }
  if (start != std::string_view::npos) fields.push_back(header.substr(start));
  return fields;
}

// The field's name as written (before ':', trailing white space removed); empty if none.
std::string_view FieldName(std::string_view field) {
  const size_t colon = field.find(':');
  if (colon == std::string_view::npos) return std::string_view();
  std::string_view name = field.substr(0, colon);
  while (!name.empty() && IsWsp(name.back())) name.remove_suffix(1);
  return name;
}

struct Tag {
  std::string name;
  std::string value;  // FWS around it removed
};

// A DKIM tag-list ("a=b; c=d"). Duplicate or nameless tags are errors.
StatusOr<std::vector<Tag>> ParseTagList(std::string_view text) {
  std::vector<Tag> tags;
  std::vector<std::string_view> parts = Split(text, ';');
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = TrimFws(parts[i]);
    if (part.empty()) {
      if (i + 1 == parts.size()) break;  // a trailing ';' is allowed
      return InvalidArgumentError("empty tag in a DKIM tag list");
    }
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) return InvalidArgumentError("DKIM tag without '='");
    Tag t{std::string(TrimFws(part.substr(0, eq))), std::string(TrimFws(part.substr(eq + 1)))};
    if (t.name.empty()) return InvalidArgumentError("DKIM tag without a name");
    for (const Tag& seen : tags) {
      if (seen.name == t.name) return InvalidArgumentError("duplicate DKIM tag " + t.name);
    }
    tags.push_back(std::move(t));
  }
  return tags;
}

const std::string* FindTag(const std::vector<Tag>& tags, std::string_view name) {
  for (const Tag& t : tags) {
    if (t.name == name) return &t.value;
  }
  return nullptr;
}

// The field with the value of its b= tag deleted (RFC 6376 3.7), everything else as written.
std::string WithEmptyB(std::string_view field) {
  const size_t colon = field.find(':');
  if (colon == std::string_view::npos) return std::string(field);
  std::string out(field.substr(0, colon + 1));
  std::string_view rest = field.substr(colon + 1);
  bool first = true;
  for (std::string_view part : Split(rest, ';')) {
    if (!first) out.push_back(';');
    first = false;
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && TrimFws(part.substr(0, eq)) == "b") {
      out.append(part.substr(0, eq + 1));
    } else {
      out.append(part);
    }
  }
  return out;
}

std::string CanonicalBodySimple(std::string_view body) {
  std::string out(body);
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  while (out.ends_with("\r\n\r\n")) out.resize(out.size() - 2);
  if (out.empty()) out = "\r\n";
  return out;
}

std::string CanonicalHeaderSimple(std::string_view field) {
  std::string out(field);
  if (!out.ends_with("\r\n")) out += "\r\n";
  return out;
}

enum class Canon { kSimple, kRelaxed };

bool ParseCanon(std::string_view text, Canon* header, Canon* body) {
  auto one = [](std::string_view s, Canon* c) {
    if (s == "simple") {
      *c = Canon::kSimple;
      return true;
    }
    if (s == "relaxed") {
      *c = Canon::kRelaxed;
      return true;
    }
    return false;
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    *body = Canon::kSimple;
    return one(text, header);
  }
  return one(text.substr(0, slash), header) && one(text.substr(slash + 1), body);
}

// Appends to a header field, folding lines before kFoldAt where a piece would pass it.
class Folder {
 public:
  explicit Folder(std::string start) : out_(std::move(start)), col_(out_.size()) {}

  // Appends `piece` whole; `space` puts white space before it (a fold counts as one).
  void Add(std::string_view piece, bool space) {
    const size_t need = piece.size() + (space ? 1 : 0);
    if (col_ + need > kFoldAt && col_ > 1) {
      Fold();
    } else if (space) {
      out_.push_back(' ');
      ++col_;
    }
    out_.append(piece);
    col_ += piece.size();
  }

  // Appends `text` (base64, where folding white space is ignored), breaking it anywhere.
  void AddBreakable(std::string_view text) {
    while (!text.empty()) {
      if (col_ >= kFoldAt) Fold();
      const size_t n = std::min(text.size(), kFoldAt - col_);
      out_.append(text.substr(0, n));
      col_ += n;
      text.remove_prefix(n);
    }
  }

  const std::string& text() const { return out_; }

 private:
  void Fold() {
    out_ += "\r\n ";
    col_ = 1;
  }
  std::string out_;
  size_t col_;
};

bool SafeTagValue(std::string_view v) {
  if (v.empty() || v.size() > 255) return false;
  for (unsigned char c : v) {
    if (c <= 0x20 || c >= 0x7f || c == ';') return false;
  }
  return true;
}

}  // namespace

const char* DkimAlgorithmName(DkimAlgorithm algorithm) {
  return algorithm == DkimAlgorithm::kEd25519Sha256 ? "ed25519-sha256" : "rsa-sha256";
}

bool ParseDkimAlgorithm(std::string_view name, DkimAlgorithm* out) {
  for (DkimAlgorithm a : {DkimAlgorithm::kRsaSha256, DkimAlgorithm::kEd25519Sha256}) {
    if (name == DkimAlgorithmName(a)) {
      *out = a;
      return true;
    }
  }
  return false;
}

StatusOr<DkimKeyPair> GenerateDkimKey(DkimAlgorithm algorithm, int rsa_bits) {
  PkeyPtr key;
  if (algorithm == DkimAlgorithm::kRsaSha256) {
    if (rsa_bits < kMinRsaBits || rsa_bits > kMaxRsaBits) {
      return InvalidArgumentError("DKIM RSA keys have 1024 to 4096 bits");
    }
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits)));
  } else {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  }
  if (!key) return InternalError("dkim: key generation failed");
  DkimKeyPair pair;
  ASSIGN_OR_RETURN(pair.private_key_pem, PemOf(key.get()));
  ASSIGN_OR_RETURN(pair.public_key_base64, PublicKeyOf(key.get()));
  return pair;
}

std::string DkimDnsRecord(DkimAlgorithm algorithm, std::string_view public_key_base64) {
  return std::string("v=DKIM1; k=") +
         (algorithm == DkimAlgorithm::kEd25519Sha256 ? "ed25519" : "rsa") +
         "; p=" + std::string(public_key_base64);
}

StatusOr<std::string> DkimPublicKeyBase64(std::string_view private_key_pem) {
  ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivateKeyPem(private_key_pem));
  DkimAlgorithm algorithm;
  int bits = 0;
  RETURN_IF_ERROR(CheckKey(key.get(), &algorithm, &bits));
  return PublicKeyOf(key.get());
}

StatusOr<DkimKeyInfo> ParseDkimPrivateKey(std::string_view text) {
  if (text.size() > kMaxKeyText) return InvalidArgumentError("DKIM private key is too long");
  PkeyPtr key;
  if (TrimFws(text).starts_with("-----BEGIN")) {
    ASSIGN_OR_RETURN(key, LoadPrivateKeyPem(text));
  } else {
    std::optional<std::string> der = Base64Decode(WithoutFws(text));
    if (!der || der->empty()) {
      return InvalidArgumentError("DKIM private key is neither PEM nor base64-encoded DER");
    }
    const auto* p = reinterpret_cast<const unsigned char*>(der->data());
    key.reset(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der->size())));
    OPENSSL_cleanse(der->data(), der->size());
    if (!key) {
      return InvalidArgumentError(
          "DKIM private key is not a DER private key (PKCS#8 or PKCS#1) in base64");
    }
  }
  DkimKeyInfo info;
  RETURN_IF_ERROR(CheckKey(key.get(), &info.algorithm, &info.bits));
  ASSIGN_OR_RETURN(info.private_key_pem, PemOf(key.get()));
  ASSIGN_OR_RETURN(info.public_key_base64, PublicKeyOf(key.get()));
  return info;
}

std::string RandomDkimSelector() {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  const std::string bytes = RandomBytes(32);
  std::string out;
  out.reserve(bytes.size());
  for (char b : bytes) out.push_back(kAlphabet[static_cast<unsigned char>(b) & 31]);
  return out;
}

StatusOr<DkimKeyRecord> ParseDkimKeyRecord(std::string_view txt) {
  ASSIGN_OR_RETURN(std::vector<Tag> tags, ParseTagList(txt));
  DkimKeyRecord record;
  bool have_p = false;
  for (size_t i = 0; i < tags.size(); ++i) {
    const Tag& t = tags[i];
    if (t.name == "v") {
      if (i != 0 || t.value != "DKIM1") {
        return InvalidArgumentError("DKIM key record v= must be DKIM1 and first");
      }
    } else if (t.name == "k") {
      record.key_type = AsciiLower(t.value);
    } else if (t.name == "p") {
      record.public_key = WithoutFws(t.value);
      have_p = true;
    }
  }
  if (!have_p) return InvalidArgumentError("not a DKIM key record: no p= tag");
  return record;
}

std::string CanonicalBodyRelaxed(std::string_view body) {
  std::string out;
  out.reserve(body.size() + 2);
  size_t blank_run_start = std::string::npos;  // where trailing empty lines begin in `out`
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    std::string_view line =
        eol == std::string_view::npos ? body.substr(pos) : body.substr(pos, eol - pos);
    pos = eol == std::string_view::npos ? body.size() : eol + 2;
    const size_t line_start = out.size();
    bool pending_space = false;
    for (char c : line) {
      if (IsWsp(c)) {
        pending_space = true;
        continue;
      }
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.push_back(c);
    }
    const bool empty = out.size() == line_start;
    out += "\r\n";
    if (empty) {
      if (blank_run_start == std::string::npos) blank_run_start = line_start;
    } else {
      blank_run_start = std::string::npos;
    }
  }
  if (blank_run_start != std::string::npos) out.resize(blank_run_start);
  return out;
}

std::string CanonicalHeaderRelaxed(std::string_view field) {
  const size_t colon = field.find(':');
  std::string_view name = colon == std::string_view::npos ? field : field.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : field.substr(colon + 1);
  std::string out = AsciiLower(TrimFws(name));
  out.push_back(':');
  bool pending_space = false;
  bool any = false;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
      ++i;  // unfold
      continue;
    }
    if (IsWsp(c) || c == '\r' || c == '\n') {
      pending_space = any;  // leading white space is dropped
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
    any = true;
  }
  out += "\r\n";
  return out;
}

StatusOr<std::string> DkimSigningInput(std::string_view message, std::string_view signature_field) {
  std::string_view header, body;
  RETURN_IF_ERROR(SplitMessage(message, &header, &body));
  const size_t colon = signature_field.find(':');
  if (colon == std::string_view::npos ||
      !EqualsIgnoreCase(FieldName(signature_field), "DKIM-Signature")) {
    return InvalidArgumentError("not a DKIM-Signature field");
  }
  ASSIGN_OR_RETURN(std::vector<Tag> tags, ParseTagList(signature_field.substr(colon + 1)));
  const std::string* h = FindTag(tags, "h");
  if (h == nullptr || h->empty()) return InvalidArgumentError("DKIM-Signature without h=");
  Canon header_canon = Canon::kSimple, body_canon = Canon::kSimple;
  if (const std::string* c = FindTag(tags, "c");
      c != nullptr && !ParseCanon(*c, &header_canon, &body_canon)) {
    return InvalidArgumentError("DKIM-Signature with an unknown c=");
  }

  // Fields by lower-cased name, top to bottom; used ones are taken from the bottom up.
  std::map<std::string, std::vector<std::string_view>> by_name;
  for (std::string_view f : SplitFields(header)) {
    std::string_view name = FieldName(f);
    if (!name.empty()) by_name[AsciiLower(name)].push_back(f);
  }
  std::map<std::string, size_t> used;
  std::string input;
  for (std::string_view name : Split(*h, ':')) {
    std::string key = AsciiLower(TrimFws(name));
    if (key.empty()) return InvalidArgumentError("DKIM-Signature h= with an empty name");
    auto it = by_name.find(key);
    size_t& n = used[key];
    if (it == by_name.end() || n >= it->second.size()) continue;  // oversigned: no field
    std::string_view field = it->second[it->second.size() - 1 - n];
    ++n;
    input += header_canon == Canon::kRelaxed ? CanonicalHeaderRelaxed(field)
                                             : CanonicalHeaderSimple(field);
  }
  std::string self = WithEmptyB(signature_field);
  self = header_canon == Canon::kRelaxed ? CanonicalHeaderRelaxed(self) : self;
  while (self.ends_with("\r\n")) self.resize(self.size() - 2);
  input += self;
  return input;
}

StatusOr<std::string> DkimSignBytes(DkimAlgorithm algorithm, std::string_view private_key_pem,
                                    std::string_view input) {
  ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivateKeyPem(private_key_pem));
  DkimAlgorithm actual;
  int bits = 0;
  RETURN_IF_ERROR(CheckKey(key.get(), &actual, &bits));
  if (actual != algorithm) {
    return InvalidArgumentError(std::string("DKIM key does not suit ") +
                                DkimAlgorithmName(algorithm));
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return InternalError("dkim: out of memory");
  std::string digest;
  std::string_view data = input;
  const EVP_MD* md = EVP_sha256();
  if (algorithm == DkimAlgorithm::kEd25519Sha256) {
    digest = Sha256(input);  // RFC 8463: Ed25519 signs the SHA-256 hash, not the data
    data = digest;
    md = nullptr;
  }
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1) {
    return InternalError("dkim: signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return InternalError("dkim: signing failed");
  }
  sig.resize(len);
  return Base64Encode(sig);
}

StatusOr<std::string> SignDkim(const DkimSigner& signer, std::string_view message, SysTime now) {
  if (!SafeTagValue(signer.domain) || !SafeTagValue(signer.selector)) {
    return InvalidArgumentError("DKIM domain and selector must be non-empty printable ASCII");
  }
  std::string_view header, body;
  RETURN_IF_ERROR(SplitMessage(message, &header, &body));
  std::map<std::string, int> counts;
  for (std::string_view f : SplitFields(header)) {
    std::string_view name = FieldName(f);
    if (!name.empty()) ++counts[AsciiLower(name)];
  }
  if (counts["from"] == 0) return InvalidArgumentError("message has no From header field");

  Folder out("DKIM-Signature:");
  out.Add("v=1;", true);
  out.Add(std::string("a=") + DkimAlgorithmName(signer.algorithm) + ";", true);
  out.Add("c=relaxed/relaxed;", true);
  out.Add("d=" + signer.domain + ";", true);
  out.Add("s=" + signer.selector + ";", true);
  const int64_t t =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  out.Add("t=" + std::to_string(t) + ";", true);
  std::vector<std::string_view> h;
  for (std::string_view name : kDkimSignedFields) {
    int n = counts[AsciiLower(name)];
    if (name == "From") ++n;  // one more than present: nobody can add a From unnoticed
    for (int i = 0; i < n; ++i) h.push_back(name);
  }
  for (size_t i = 0; i < h.size(); ++i) {
    std::string piece = (i == 0 ? "h=" : ":") + std::string(h[i]) + (i + 1 == h.size() ? ";" : "");
    out.Add(piece, i == 0);
  }
  out.Add("bh=" + Base64Encode(Sha256(CanonicalBodyRelaxed(body))) + ";", true);
  out.Add("b=", true);

  ASSIGN_OR_RETURN(std::string input, DkimSigningInput(message, out.text()));
  ASSIGN_OR_RETURN(std::string b, DkimSignBytes(signer.algorithm, signer.private_key_pem, input));
  out.AddBreakable(b);
  return out.text() + "\r\n";
}

Status VerifyDkim(std::string_view message, const DkimKeyLookup& lookup) {
  std::string_view header, body;
  RETURN_IF_ERROR(SplitMessage(message, &header, &body));
  int checked = 0;
  for (std::string_view field : SplitFields(header)) {
    if (!EqualsIgnoreCase(FieldName(field), "DKIM-Signature")) continue;
    ++checked;
    ASSIGN_OR_RETURN(std::vector<Tag> tags, ParseTagList(field.substr(field.find(':') + 1)));
    auto need = [&](std::string_view name) -> StatusOr<std::string> {
      const std::string* v = FindTag(tags, name);
      if (v == nullptr || v->empty()) {
        return InvalidArgumentError("DKIM-Signature without " + std::string(name) + "=");
      }
      return *v;
    };
    ASSIGN_OR_RETURN(std::string v, need("v"));
    ASSIGN_OR_RETURN(std::string a, need("a"));
    ASSIGN_OR_RETURN(std::string d, need("d"));
    ASSIGN_OR_RETURN(std::string s, need("s"));
    ASSIGN_OR_RETURN(std::string h, need("h"));
    ASSIGN_OR_RETURN(std::string bh, need("bh"));
    ASSIGN_OR_RETURN(std::string b, need("b"));
    DkimAlgorithm algorithm;
    if (v != "1") return InvalidArgumentError("DKIM-Signature v= is not 1");
    if (!ParseDkimAlgorithm(a, &algorithm)) return InvalidArgumentError("unknown DKIM a=" + a);
    bool signs_from = false;
    for (std::string_view name : Split(h, ':'))
      signs_from |= EqualsIgnoreCase(TrimFws(name), "from");
    if (!signs_from) return InvalidArgumentError("DKIM-Signature h= does not include From");
    Canon header_canon = Canon::kSimple, body_canon = Canon::kSimple;
    if (const std::string* c = FindTag(tags, "c");
        c != nullptr && !ParseCanon(*c, &header_canon, &body_canon)) {
      return InvalidArgumentError("DKIM-Signature with an unknown c=");
    }

    std::string canonical =
        body_canon == Canon::kRelaxed ? CanonicalBodyRelaxed(body) : CanonicalBodySimple(body);
    if (const std::string* l = FindTag(tags, "l")) {
      size_t limit = 0;
      for (char c : *l) {
        if (c < '0' || c > '9' || limit > canonical.size()) {
          return InvalidArgumentError("DKIM-Signature l= is invalid");
        }
        limit = limit * 10 + static_cast<size_t>(c - '0');
      }
      if (l->empty() || limit > canonical.size()) {
        return PermissionDeniedError("DKIM l= is longer than the body");
      }
      canonical.resize(limit);
    }
    std::optional<std::string> want_bh = Base64Decode(WithoutFws(bh));
    if (!want_bh || *want_bh != Sha256(canonical)) {
      return PermissionDeniedError("DKIM body hash does not match (d=" + d + ", s=" + s + ")");
    }

    ASSIGN_OR_RETURN(std::vector<std::string> txt, lookup(d, s));
    std::optional<DkimKeyRecord> record;
    for (const std::string& t : txt) {
      StatusOr<DkimKeyRecord> r = ParseDkimKeyRecord(t);
      if (r.ok()) {
        record = std::move(r).value();
        break;
      }
    }
    if (!record) return InvalidArgumentError("no DKIM key record for s=" + s + " d=" + d);
    const char* want_k = algorithm == DkimAlgorithm::kEd25519Sha256 ? "ed25519" : "rsa";
    if (record->key_type != want_k || record->public_key.empty()) {
      return InvalidArgumentError("DKIM key record does not suit a=" + a);
    }
    ASSIGN_OR_RETURN(PkeyPtr key, LoadPublicKey(algorithm, record->public_key));
    ASSIGN_OR_RETURN(std::string input, DkimSigningInput(message, field));
    std::optional<std::string> sig = Base64Decode(WithoutFws(b));
    if (!sig) return InvalidArgumentError("DKIM-Signature b= is not base64");

    std::string digest;
    std::string_view data = input;
    const EVP_MD* md = EVP_sha256();
    if (algorithm == DkimAlgorithm::kEd25519Sha256) {
      digest = Sha256(input);
      data = digest;
      md = nullptr;
    }
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1) {
      return InternalError("dkim: cannot set up verification");
    }
    if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()),
                         sig->size(), reinterpret_cast<const unsigned char*>(data.data()),
                         data.size()) != 1) {
      return PermissionDeniedError("DKIM signature does not verify (d=" + d + ", s=" + s + ")");
    }
  }
  if (checked == 0) return NotFoundError("message has no DKIM-Signature field");
  return Status::Ok();
}

}  // namespace herald::mail
