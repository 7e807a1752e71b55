// api/sesv2_api.h: the Amazon SES API v2 (REST-JSON) over HTTP.
//
// Contract: every request except the unsigned /_herald/* endpoints is first verified with
// SigV4 (auth::VerifySigV4 with the configured region and service "ses"; keys from the
// CredentialLookup); only then is it routed. Implemented operations: SendEmail,
// GetAccount, CreateEmailIdentity, GetEmailIdentity, ListEmailIdentities and
// DeleteEmailIdentity, with the shapes of the botocore sesv2 model; any other method or
// path is 404 UnknownOperationException. Every response carries a fresh
// x-amzn-RequestId and Content-Type: application/json (text/html for the verification
// page); errors carry x-amzn-ErrorType and {"message": ...} with SES's status codes.
// Unsigned: GET /_herald/health -> {"status":"ok"}; GET /_herald/verify-email?token=...
// marks the email identity holding that token SUCCESS when the token has not expired.
// Identity names are lower-cased, domains converted to Punycode, before they reach the
// store. Domain identities are proven by the TXT record "_amazonses.<domain>" holding
// the identity's token (checked through IdentityVerifier on GetEmailIdentity); herald
// adds "HeraldVerificationRecord" {Name, Type, Value} to identity responses for domains
// (AWS SDKs ignore unknown members). MailFromAttributes is omitted from GetEmailIdentity
// until custom MAIL FROM domains exist (the member is optional; its own members are not).
// Thread-safety: Handle() is safe from any number of threads provided the Store,
// SendingService, CredentialLookup, IdentityVerifier and Clock are (they must be).
// Trust: the request is hostile until SigV4 passes, and its content stays hostile after;
// messages echo client text only JSON-escaped and truncated. Secrets never leave auth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "api/api_common.h"
#include "api/http_handler.h"
#include "api/identity_verifier.h"
#include "base/clock.h"
#include "sending/sending_service.h"
#include "store/store.h"

namespace herald::api {

struct SendQuotaLimits {
  double max_24h_send = 200;  // -1 = unlimited
  double max_send_rate = 1;   // recipients per second
};

struct ApiConfig {
  // SigV4 region of the credential scope, e.g. "us-east-1".
  std::string region = "us-east-1";
  // The public host name clients use (for links and logs; not used by the handlers yet).
  std::string hostname = "localhost";
  // GetAccount's SendQuota for sandbox and production accounts (enforced by the sending
  // service, reported here).
  SendQuotaLimits sandbox{200, 1};
  SendQuotaLimits production{50000, 14};
  // SendEmail: To+Cc+Bcc at most this many (SES: 50).
  int max_recipients = 50;
  // SendEmail: the built or decoded message at most this many bytes (SES: 40 MB for v2).
  size_t max_message_bytes = 40 * 1024 * 1024;
  // How long an email verification link stays valid, and how long DNS is searched for a
  // domain's TXT record before it becomes FAILED (SES: 24 h and 72 h).
  std::chrono::seconds email_token_ttl = std::chrono::hours(24);
  std::chrono::seconds domain_token_ttl = std::chrono::hours(72);
};

class SesV2Api final : public HttpHandler {
 public:
  // All references must outlive the SesV2Api.
  SesV2Api(const ApiConfig& config, store::Store& store, sending::SendingService& sending,
           sending::CredentialLookup& credentials, IdentityVerifier& verifier, Clock& clock);

  HttpResponse Handle(const HttpRequest& request) override;

 private:
  struct Call;  // one authenticated request being served
  HttpResponse Dispatch(Call& call);
  HttpResponse SendEmail(Call& call);
  HttpResponse GetAccount(Call& call);
  HttpResponse CreateEmailIdentity(Call& call);
  HttpResponse GetEmailIdentity(Call& call, const std::string& name);
  HttpResponse ListEmailIdentities(Call& call);
  HttpResponse DeleteEmailIdentity(Call& call, const std::string& name);
  HttpResponse Health();
  HttpResponse VerifyEmail(const HttpRequest& request);

  // Re-evaluates a PENDING identity (token expiry, DNS for domains) and stores a change.
  StatusOr<store::Identity> Refresh(store::Identity identity);

  ApiConfig config_;
  store::Store& store_;
  sending::SendingService& sending_;
  sending::CredentialLookup& credentials_;
  IdentityVerifier& verifier_;
  Clock& clock_;
};

// The JSON error reply for `error` (status, x-amzn-ErrorType, {"message": ...}).
HttpResponse ErrorResponse(const ApiError& error);

}  // namespace herald::api
