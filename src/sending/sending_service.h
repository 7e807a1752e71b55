// sending/sending_service.h: the one path every accepted message takes, whichever door
// it came in by (SESv2 API, v1 Query API, SMTP submission).
//
// Contract: Submit() validates (identities, sandbox, recipients, size, headers), admits
// (sending enabled, enforcement, max send rate, daily quota), rewrites the header
// (removes X-SES-* control fields, adds Message-ID and Date when missing), stores the
// message durably in the spool, then emits the Send event and the outcomes of mailbox
// simulator recipients. It returns Accepted only after the spool has synced the message:
// a caller may reply 200 / 250 as soon as it returns. A Rejection changes nothing.
// Thread-safety: Submit() and the credential lookups are safe from any thread;
// concurrent Submit() calls share spool fsyncs.
// Trust: the Submission comes from an authenticated principal but every byte of it is
// hostile; the message is re-parsed here whatever the caller already checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/status.h"

namespace herald::sending {

// Who is sending. Filled in by the door after authentication.
struct Principal {
  int64_t account_id = 0;
  std::string account_name;
  std::string access_key_id;
  std::string source_ip;
};

enum class Channel { kApiV2, kApiV1, kSmtp };

struct Submission {
  Principal principal;
  Channel channel = Channel::kApiV2;
  std::string operation;  // ses:operation tag: SendEmail, SendRawEmail, SendSmtpEmail...
  // The sender SES reports as mail.source: FromEmailAddress for the API, MAIL FROM for
  // SMTP. Empty: taken from the From header.
  std::string source;
  // Envelope recipients: To+Cc+Bcc for the API, RCPT TO for SMTP. Already syntactically
  // valid addresses; duplicates are removed here.
  std::vector<std::string> recipients;
  // The whole RFC 5322 message with CRLF line endings.
  std::string message;
  // From the API field; an X-SES-CONFIGURATION-SET header in the message overrides it
  // only when this is empty (SES: the API parameter wins).
  std::string configuration_set;
  std::vector<std::pair<std::string, std::string>> tags;  // EmailTags
  bool simple_content = false;  // built by herald from Simple/Template content
  // Set when Template content did not render: the message (built from whatever rendered)
  // is not sent; a Rendering Failure event {templateName, errorMessage} is published
  // instead and the submission is still Accepted, as SES does.
  struct RenderingFailure {
    std::string template_name;
    std::string error_message;
  };
  std::optional<RenderingFailure> rendering_failure;
  // ListManagementOptions (single-recipient mail only): the contact list, and optionally
  // one of its topics. The message gets List-Unsubscribe and List-Unsubscribe-Post
  // (RFC 8058) and its unsubscribe placeholders are filled; a recipient who is not on the
  // list becomes a contact; one who opted out is not sent to (accepted, nothing spooled).
  struct ListManagement {
    std::string contact_list;
    std::string topic;  // "" for none
  };
  std::optional<ListManagement> list_management;
  // Where forwarded feedback goes (SESv2 FeedbackForwardingEmailAddress, v1 ReturnPath):
  // an addr-spec; empty: mail.source.
  std::string feedback_address;
};

// Why a submission was refused. Each door maps the kind to its own wire form (HTTP
// status and error code, SMTP reply) using `message` as the text.
enum class RejectKind {
  kMessageRejected,    // 400 MessageRejected / 554 Message rejected: ...
  kNotVerified,        // 400 MessageRejected / 554 ... Email address is not verified ...
  kBadRequest,         // 400 BadRequestException / 554 / 501
  kSendingPaused,      // 400 SendingPausedException / 554
  kConfigSetPaused,    // 400 SendingPausedException / 554 (the set's SendingEnabled=false)
  kAccountSuspended,   // 400 AccountSuspendedException / 554
  kConfigSetNotFound,  // 404 NotFoundException / 554
  kNotFound,           // 404 NotFoundException / 554 (a contact list or topic)
  kMaxSendRate,        // 429 TooManyRequestsException / 454 Throttling failure
  kDailyQuota,         // 429 / 454 Throttling failure: Daily message quota exceeded
  kTooLarge,           // 400 MessageRejected / 552 Message is too long.
  kTemporary,          // 500 InternalServiceErrorException / 451 Temporary service failure
};

struct Rejection {
  RejectKind kind = RejectKind::kMessageRejected;
  std::string message;
};

struct Accepted {
  std::string message_id;
};

using SubmitResult = std::variant<Accepted, Rejection>;

class SendingService {
 public:
  virtual ~SendingService() = default;
  virtual SubmitResult Submit(const Submission& submission) = 0;
  // Recipients counted against the account's rolling 24-hour quota, including sends not
  // yet written to the store (GetAccount's SentLast24Hours).
  virtual StatusOr<int64_t> SentLast24Hours(int64_t account_id) = 0;
};

// Turns credentials into a Principal; implemented over the store.
class CredentialLookup {
 public:
  virtual ~CredentialLookup() = default;
  struct Key {
    std::string secret;
    bool active = false;
    Principal principal;
  };
  // nullopt when the key does not exist.
  virtual std::optional<Key> LookupAccessKey(const std::string& access_key_id) = 0;
  // SMTP AUTH: user name = access key id, password = the SES v4 SMTP password derived
  // from the secret for the configured region. nullopt when they do not match or the
  // key is inactive.
  virtual std::optional<Principal> AuthenticateSmtp(const std::string& user,
                                                    const std::string& password) = 0;
};

}  // namespace herald::sending
