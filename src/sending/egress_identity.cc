#include "sending/egress_identity.h"

#include <map>
#include <mutex>
#include <utility>

namespace herald::sending {
namespace {

using store::VerificationStatus;

class StoreEgressIdentityLookup final : public EgressIdentityLookup {
 public:
  StoreEgressIdentityLookup(store::Store& store, Clock& clock, std::chrono::seconds ttl,
                            bool sign_pending)
      : store_(store), clock_(clock), ttl_(ttl), sign_pending_(sign_pending) {}

  EgressIdentity For(int64_t account_id, const std::string& from_domain) override {
    const auto now = clock_.Monotonic();
    auto key = std::make_pair(account_id, from_domain);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end() && now < it->second.expires) return it->second.answer;
    }
    // The store is read outside the lock: two threads may both miss and both read.
    StatusOr<std::optional<store::Identity>> found =
        store::FindDomainIdentity(store_, account_id, from_domain);
    if (!found.ok()) {
      EgressIdentity failed;
      failed.unsigned_reason = "identity lookup failed: " + found.status().ToString();
      return failed;
    }
    EgressIdentity answer = EgressIdentityFor(*found, sign_pending_);
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxEgressCacheEntries) cache_.clear();
    cache_[std::move(key)] = Entry{answer, now + ttl_};
    return answer;
  }

 private:
  struct Entry {
    EgressIdentity answer;
    std::chrono::steady_clock::time_point expires;
  };

  store::Store& store_;
  Clock& clock_;
  const std::chrono::seconds ttl_;
  const bool sign_pending_;
  std::mutex mu_;
  std::map<std::pair<int64_t, std::string>, Entry> cache_;  // guarded by mu_
};

}  // namespace

EgressIdentity EgressIdentityFor(const std::optional<store::Identity>& identity,
                                 bool sign_pending) {
  EgressIdentity out;
  if (!identity) {
    out.unsigned_reason = "no domain identity";
    return out;
  }
  const store::Identity& id = *identity;
  if (id.mail_from_status == VerificationStatus::kSuccess)
    out.mail_from_domain = id.mail_from_domain;
  mail::DkimAlgorithm algorithm = mail::DkimAlgorithm::kRsaSha256;
  if (!id.dkim_signing_enabled) {
    out.unsigned_reason = "DKIM signing disabled for " + id.name;
  } else if (id.dkim_selector.empty() || id.dkim_private_key_pem.empty()) {
    out.unsigned_reason = "no DKIM key for " + id.name;
  } else if (!mail::ParseDkimAlgorithm(id.dkim_algorithm, &algorithm)) {
    out.unsigned_reason = "unknown DKIM algorithm for " + id.name;
  } else if (id.dkim_status == VerificationStatus::kFailed) {
    out.unsigned_reason = "DKIM record for " + id.name + " does not match its key (FAILED)";
  } else if (id.dkim_status != VerificationStatus::kSuccess && !sign_pending) {
    out.unsigned_reason = std::string("DKIM record for ") + id.name + " not verified (" +
                          store::VerificationStatusName(id.dkim_status) + ")";
  } else {
    out.dkim = mail::DkimSigner{id.name, id.dkim_selector, algorithm, id.dkim_private_key_pem};
  }
  return out;
}

std::unique_ptr<EgressIdentityLookup> NewStoreEgressIdentityLookup(store::Store& store,
                                                                   Clock& clock,
                                                                   std::chrono::seconds ttl,
                                                                   bool sign_pending) {
  return std::make_unique<StoreEgressIdentityLookup>(store, clock, ttl, sign_pending);
}

}  // namespace herald::sending
