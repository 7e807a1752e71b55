// sending/egress_identity.h: what the delivery engine asks before a message leaves: sign
// it with which DKIM key, and which MAIL FROM domain to use.
//
// Contract: For(account_id, from_domain) looks up the account's DOMAIN identity for the
// From domain or its nearest parent (store::FindDomainIdentity). It returns a DkimSigner
// only when that identity has signing enabled, holds a key, and its DKIM status is SUCCESS
// (or any status but FAILED with `sign_pending`, for tests and operators who publish the
// record later); otherwise dkim is nullopt and unsigned_reason says why, in words an
// operator can act on. mail_from_domain is the identity's custom MAIL FROM domain when its
// status is SUCCESS, else "". Answers are cached per (account, domain) for `ttl` of the
// clock's monotonic time, so changes made through the API reach egress within `ttl`; a
// store failure is answered unsigned with the error as the reason and is not cached.
// Thread-safety: For() is safe from any thread; the Store and Clock must be too.
// Trust: from_domain comes from a message herald accepted (lower-case, A-labels); the
// signer carries a private key: never log it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.h"
#include "mail/dkim.h"
#include "store/store.h"

namespace herald::sending {

struct EgressIdentity {
  std::optional<mail::DkimSigner> dkim;  // nullopt: send unsigned
  std::string unsigned_reason;           // why dkim is nullopt; empty when signed
  std::string mail_from_domain;          // custom MAIL FROM domain when SUCCESS, else ""
};

class EgressIdentityLookup {
 public:
  virtual ~EgressIdentityLookup() = default;
  // account_id and the From header's domain (lower-case, A-label). Safe from any thread.
  virtual EgressIdentity For(int64_t account_id, const std::string& from_domain) = 0;
};

// The answer for one identity, without caching (nullopt: the account has no domain
// identity covering the From domain). Exposed for tests and the CLI.
EgressIdentity EgressIdentityFor(const std::optional<store::Identity>& identity, bool sign_pending);

// Over the store: see the contract above. At most kMaxEgressCacheEntries answers are kept
// (the cache starts afresh when full).
inline constexpr size_t kMaxEgressCacheEntries = 10000;
std::unique_ptr<EgressIdentityLookup> NewStoreEgressIdentityLookup(store::Store& store,
                                                                   Clock& clock,
                                                                   std::chrono::seconds ttl,
                                                                   bool sign_pending);

}  // namespace herald::sending
