// mail/dkim.h: DKIM signatures (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC 8463):
// key generation, the DNS record to publish, signing at egress and a verifier for tests
// and checks.
//
// Contract: SignDkim() returns one complete "DKIM-Signature: ...\r\n" field to put on top
// of `message` (the CRLF header and body exactly as they will be transmitted, before
// dot-stuffing). It always uses c=relaxed/relaxed, signs the fields of kDkimSignedFields
// that are present (every instance, bottom-most first) and lists "From" once more than it
// occurs so that a From added later breaks the signature; lines are folded at 78
// characters where the syntax allows (a d= or s= value is never split). Keys are PEM
// (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"); RSA keys must have 1024 to 4096
// bits (RFC 8301 forbids fewer than 1024). kInvalidArgument for an unusable key, a key of
// the other algorithm, or a message without the empty line after its header.
// VerifyDkim() checks every DKIM-Signature field of a message (simple or relaxed
// canonicalisation, l= honoured, x= not checked) against keys found through `lookup`.
// Thread-safety: pure functions (OpenSSL's EVP calls are thread-safe); RandomDkimSelector
// reads the OpenSSL CSPRNG.
// Trust: messages may be hostile (verifier input); private keys come from herald's store
// or an authenticated caller (BYODKIM) and are never logged or put in error messages.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace herald::mail {

enum class DkimAlgorithm { kRsaSha256, kEd25519Sha256 };

// "rsa-sha256" | "ed25519-sha256" (the a= tag values), and back (false for other names).
const char* DkimAlgorithmName(DkimAlgorithm algorithm);
bool ParseDkimAlgorithm(std::string_view name, DkimAlgorithm* out);

struct DkimSigner {
  std::string domain;    // d=
  std::string selector;  // s=
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  std::string private_key_pem;  // PKCS#8 or PKCS#1 PEM
};

struct DkimKeyPair {
  std::string private_key_pem;    // PKCS#8 PEM
  std::string public_key_base64;  // the p= value
};

// The header fields SignDkim signs when present, in h= order.
// clang-format off
inline constexpr std::string_view kDkimSignedFields[] = {
    "From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To", "Cc", "MIME-Version",
    "Content-Type", "Content-Transfer-Encoding", "In-Reply-To", "References", "List-Unsubscribe",
    "List-Unsubscribe-Post", "Feedback-ID"};
// clang-format on

// A fresh key: RSA of `rsa_bits` (1024..4096) or Ed25519 (rsa_bits ignored).
StatusOr<DkimKeyPair> GenerateDkimKey(DkimAlgorithm algorithm, int rsa_bits = 2048);

// The DNS TXT value to publish at <selector>._domainkey.<domain>: "v=DKIM1; k=rsa; p=...".
std::string DkimDnsRecord(DkimAlgorithm algorithm, std::string_view public_key_base64);

// The public key (p= value) of a private key, to check published records and BYO keys:
// base64 of the SubjectPublicKeyInfo DER for RSA, of the raw 32 bytes for Ed25519.
StatusOr<std::string> DkimPublicKeyBase64(std::string_view private_key_pem);

// What a private key is. `text` is PEM, or base64 of its DER (PKCS#8 or PKCS#1, as SES
// takes BYODKIM keys; whitespace ignored). kInvalidArgument for anything else.
struct DkimKeyInfo {
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  int bits = 0;                   // RSA modulus bits; 256 for Ed25519
  std::string private_key_pem;    // re-encoded as PKCS#8 PEM
  std::string public_key_base64;  // the p= value
};
StatusOr<DkimKeyInfo> ParseDkimPrivateKey(std::string_view text);

// A random selector: 32 characters of lower-case base32 (a-z, 2-7), like SES's tokens.
std::string RandomDkimSelector();

// A DKIM key record (the TXT value at <selector>._domainkey.<domain>), tags parsed.
struct DkimKeyRecord {
  std::string key_type = "rsa";  // k=, lower-cased
  std::string public_key;        // p=, whitespace removed; empty: revoked
};
// kInvalidArgument when `txt` is not a DKIM key record (no p= tag, v= not DKIM1 or not
// first, malformed tag list).
StatusOr<DkimKeyRecord> ParseDkimKeyRecord(std::string_view txt);

// A complete "DKIM-Signature: ...\r\n" header field for `message`; `now` gives t=.
StatusOr<std::string> SignDkim(const DkimSigner& signer, std::string_view message, SysTime now);

// ---- Building blocks, exposed for known-answer tests (RFC 8463 appendix A) ----

// RFC 6376 3.4.4 relaxed body canonicalisation (no l= limit).
std::string CanonicalBodyRelaxed(std::string_view body);
// RFC 6376 3.4.2 relaxed canonicalisation of one header field ("Name: value\r\n" as
// written, folding included) -> "name:value\r\n".
std::string CanonicalHeaderRelaxed(std::string_view field);
// The bytes that `signature_field` (a whole "DKIM-Signature: ..." field as written, which
// need not be in `message`) signs over `message`'s header: the fields named by its h=,
// canonicalised per its c=, then the field itself with its b= value emptied and no
// final CRLF. kInvalidArgument when the field or the message is malformed.
StatusOr<std::string> DkimSigningInput(std::string_view message, std::string_view signature_field);
// base64 signature of `input`: RSASSA-PKCS1-v1_5 with SHA-256, or Ed25519 over the SHA-256
// digest of `input` (RFC 8463 section 3).
StatusOr<std::string> DkimSignBytes(DkimAlgorithm algorithm, std::string_view private_key_pem,
                                    std::string_view input);

// TXT strings at <selector>._domainkey.<domain>; an error is returned as-is by VerifyDkim.
using DkimKeyLookup = std::function<StatusOr<std::vector<std::string>>(
    const std::string& domain, const std::string& selector)>;
// OK when the message carries at least one DKIM-Signature field and every one verifies.
// kNotFound without a signature, kPermissionDenied for a signature or body hash that does
// not match, kInvalidArgument for a malformed field or key record.
Status VerifyDkim(std::string_view message, const DkimKeyLookup& lookup);

}  // namespace herald::mail
