// events/sns.h: SNS-style HTTP/HTTPS deliveries: the signed JSON envelope, its headers, and
// the signing key and certificate, so that code written for SES-over-SNS (AWS SDK message
// validators, hand-written subscribers) accepts herald's deliveries unchanged.
//
// Contract:
// - SnsSigner::LoadOrCreate(dir) loads DIR/sns-signing-key.pem (RSA >= 2048, mode 0600) and
//   DIR/sns-signing-cert.pem, or creates both (RSA-2048, self-signed, CN=herald SNS
//   signing, valid 10 years), each written to a temporary file, fsync'd and renamed. A key
//   without a certificate gets a new certificate; a certificate without its key, a cert
//   that does not match the key, or an unreadable PEM is an error (kFailedPrecondition /
//   kDataLoss), never silently replaced, because subscribers may have pinned the cert.
// - StringToSign() is AWS's canonical "Key\nvalue\n" form (see sns.cc for the reference);
//   EnvelopeJson() signs it and lays out the body exactly as SNS does (all values strings);
//   VerifyEnvelope() is what a subscriber does with a body and the signing certificate.
// - Signature version 1 is RSA PKCS#1 v1.5 over SHA1, version 2 over SHA256 (base64).
// Errors: kInvalidArgument for an unknown Type or signature version, or text that is not
// UTF-8 (JSON cannot carry it); VerifyEnvelope: kInvalidArgument for a body or cert that
// does not parse, kPermissionDenied when the signature does not match.
// Thread-safety: SnsSigner is immutable after LoadOrCreate; CertPem() and Sign() are safe
// from any thread. The free functions are pure.
// Trust: SnsMessage fields are built by herald (the Message is an event's JSON); the JSON
// and certificate given to VerifyEnvelope may be hostile and are only parsed, bounded by
// their size. The private key never leaves the signer (no accessor, never logged).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace herald::events {

inline constexpr char kSnsKeyFile[] = "sns-signing-key.pem";
inline constexpr char kSnsCertFile[] = "sns-signing-cert.pem";

inline constexpr char kSnsNotification[] = "Notification";
inline constexpr char kSnsSubscriptionConfirmation[] = "SubscriptionConfirmation";
inline constexpr char kSnsUnsubscribeConfirmation[] = "UnsubscribeConfirmation";

// The Content-Type SNS uses for every delivery to an HTTP/HTTPS endpoint.
inline constexpr char kSnsContentType[] = "text/plain; charset=UTF-8";

class SnsSigner {
 public:
  static StatusOr<std::unique_ptr<SnsSigner>> LoadOrCreate(const std::string& dir);
  ~SnsSigner();
  SnsSigner(const SnsSigner&) = delete;
  SnsSigner& operator=(const SnsSigner&) = delete;

  // The certificate, PEM-encoded: what SigningCertURL serves.
  const std::string& CertPem() const { return cert_pem_; }
  // Base64 of the RSA PKCS#1 v1.5 signature of `string_to_sign` with SHA1 (version 1) or
  // SHA256 (version 2); any other version is kInvalidArgument.
  StatusOr<std::string> Sign(std::string_view string_to_sign, int signature_version) const;

 private:
  struct Key;
  SnsSigner(std::unique_ptr<Key> key, std::string cert_pem);
  std::unique_ptr<Key> key_;
  std::string cert_pem_;
};

struct SnsMessage {
  std::string type;  // kSnsNotification, kSnsSubscriptionConfirmation, kSnsUnsubscribeConfirmation
  std::string message_id;
  std::string topic_arn;
  std::optional<std::string> subject;  // Notification only; absent: no Subject key at all
  std::string message;
  SysTime timestamp;
  std::string token;            // confirmations only
  std::string subscribe_url;    // confirmations only
  std::string unsubscribe_url;  // Notification only
  std::string signing_cert_url;
  int signature_version = 1;  // 1 (SHA1) or 2 (SHA256)
};

// The canonical string SNS signs. Notification: Message, MessageId, Subject (if present),
// Timestamp, TopicArn, Type; SubscriptionConfirmation and UnsubscribeConfirmation:
// Message, MessageId, SubscribeURL, Timestamp, Token, TopicArn, Type; each "Key\nvalue\n".
// A type other than the two confirmations is laid out as a Notification.
std::string StringToSign(const SnsMessage& message);

// The delivery body, signed by `signer`. Key order as SNS writes it:
// Notification: Type, MessageId, TopicArn, Subject?, Message, Timestamp, SignatureVersion,
//   Signature, SigningCertURL, UnsubscribeURL;
// confirmations: Type, MessageId, Token, TopicArn, Message, SubscribeURL, Timestamp,
//   SignatureVersion, Signature, SigningCertURL.
StatusOr<std::string> EnvelopeJson(const SnsMessage& message, const SnsSigner& signer);

// The x-amz-sns-* headers of a delivery (x-amz-sns-subscription-arn for Notifications
// only). Send the body with Content-Type kSnsContentType.
std::vector<std::pair<std::string, std::string>> SnsHeaders(const SnsMessage& message,
                                                            const std::string& subscription_arn);

// Rebuilds the string to sign from `json` (an envelope as received) and checks its
// Signature with the public key of `cert_pem`, honouring SignatureVersion.
Status VerifyEnvelope(std::string_view json, std::string_view cert_pem);

}  // namespace herald::events
