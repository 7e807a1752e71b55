// api/identity_verifier.h: how the API proves that a caller controls an identity.
//
// Contract: SendVerificationEmail() queues (or sends) a message to `address` carrying a
// link to GET /_herald/verify-email?token=<token>; it must not block on delivery and has
// no result: a lost message is recovered by deleting and re-creating the identity, as in
// SES. CheckDomain() looks up the TXT record "_amazonses.<domain>" and returns kSuccess
// when one of its strings equals `token`, kPending when the record is absent or differs,
// kTemporaryFailure when DNS fails; it may block for a bounded DNS timeout. LookupTxt()
// returns the TXT strings at `name` (each record's strings joined; empty when there is no
// record) or kUnavailable when DNS fails, for the DKIM record and the MAIL FROM domain's
// SPF record; it may block likewise. The server wiring implements this; tests use fakes.
// Thread-safety: implementations must be safe from any thread (API worker threads).
// Trust: `address` and `domain` are already normalised identity names from an
// authenticated caller; `token` is herald's own random token.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "sending/sending_service.h"
#include "store/store.h"

namespace herald::api {

class IdentityVerifier {
 public:
  virtual ~IdentityVerifier() = default;
  virtual void SendVerificationEmail(const sending::Principal& principal,
                                     const std::string& address, const std::string& token) = 0;
  virtual store::VerificationStatus CheckDomain(const std::string& domain,
                                                const std::string& token) = 0;
  virtual StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) = 0;
};

}  // namespace herald::api
