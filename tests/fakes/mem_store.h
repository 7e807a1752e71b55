// tests/fakes/mem_store.h: an in-memory Store for unit tests.
//
// Contract: the same observable semantics as store/sqlite/SqliteStore (the conformance
// test in src/store/store_conformance_test.cc runs the same checks against both):
// kAlreadyExists for duplicates (checked before the account's existence), kNotFound for
// missing rows and for keys/identities/configuration sets/sends of a missing account,
// kInvalidArgument via the shared Validate* checks, ids from 1 upwards, list orderings as
// documented in store.h, times truncated to milliseconds, per-minute send buckets pruned like the
// real store, suppression lists keyed and listed like the real store. Nothing is persisted.
// FailAllForTest(status) makes every method return `status` (e.g. kUnavailable) until cleared with
// Status::Ok(), to test callers' error paths. Thread-safety: safe from any thread (one mutex).
// Trust: test-only. Link herald_store (for the shared helpers in store.h).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"
#include "tests/fakes/mem_audience_store.h"
#include "tests/fakes/mem_publishing_store.h"
#include "tests/fakes/mem_reputation_store.h"

namespace herald::store {

class MemStore final : public Store {
 public:
  MemStore() {
    pub_.account_exists = [this](int64_t id) { return Exists(id); };
    pub_.set_exists = [this](int64_t id, const std::string& set) {
      return GetConfigurationSet(id, set).status();
    };
    audience_.account_exists = [this](int64_t id) { return Exists(id); };
  }

  void FailAllForTest(Status status) {
    rep_.FailAllForTest(status);
    pub_.FailAllForTest(status);
    audience_.FailAllForTest(status);
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }

  StatusOr<Account> CreateAccount(const std::string& name, SysTime now) override {
    RETURN_IF_ERROR(ValidateAccountName(name));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (const auto& [id, a] : accounts_) {
      if (a.name == name) return AlreadyExistsError("store: account name exists");
    }
    Account a;
    a.id = next_account_id_++;
    a.name = name;
    a.created = Ms(now);
    accounts_[a.id] = a;
    return a;
  }

  StatusOr<Account> GetAccount(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = accounts_.find(id);
    if (it == accounts_.end()) return NotFoundError("store: account " + std::to_string(id));
    return it->second;
  }

  StatusOr<Account> GetAccountByName(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (const auto& [id, a] : accounts_) {
      if (a.name == name) return a;
    }
    return NotFoundError("store: no account with that name");
  }

  StatusOr<std::vector<Account>> ListAccounts() override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<Account> out;
    for (const auto& [id, a] : accounts_) out.push_back(a);
    return out;
  }

  Status SetProduction(int64_t account_id, bool production) override {
    return UpdateAccount(account_id, [&](Account& a) { a.production = production; });
  }
  Status SetSendingEnabled(int64_t account_id, bool enabled) override {
    return UpdateAccount(account_id, [&](Account& a) { a.sending_enabled = enabled; });
  }
  Status SetContactEmail(int64_t account_id, const std::string& email) override {
    RETURN_IF_ERROR(ValidateContactEmail(email));
    return UpdateAccount(account_id, [&](Account& a) { a.contact_email = email; });
  }

  Status CreateAccessKey(const AccessKey& key) override {
    RETURN_IF_ERROR(ValidateAccessKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (keys_.count(key.access_key_id) != 0) {
      return AlreadyExistsError("store: access key id exists");
    }
    if (accounts_.count(key.account_id) == 0) {
      return NotFoundError("store: create access key: account not found");
    }
    AccessKey k = key;
    k.created = Ms(k.created);
    keys_[k.access_key_id] = k;
    return Status::Ok();
  }

  StatusOr<AccessKey> GetAccessKey(const std::string& access_key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = keys_.find(access_key_id);
    if (it == keys_.end()) return NotFoundError("store: no such access key");
    return it->second;
  }

  StatusOr<std::vector<AccessKey>> ListAccessKeys(int64_t account_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<AccessKey> out;
    for (const auto& [id, k] : keys_) {
      if (k.account_id == account_id) out.push_back(k);
    }
    std::stable_sort(out.begin(), out.end(), [](const AccessKey& a, const AccessKey& b) {
      return a.created < b.created;  // ties keep access_key_id order (the map's)
    });
    return out;
  }

  Status SetAccessKeyStatus(const std::string& access_key_id, KeyStatus status) override {
    if (!ParseKeyStatus(KeyStatusName(status))) {
      return InvalidArgumentError("unknown access key status");
    }
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = keys_.find(access_key_id);
    if (it == keys_.end()) return NotFoundError("store: no such access key");
    it->second.status = status;
    return Status::Ok();
  }

  Status DeleteAccessKey(const std::string& access_key_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (keys_.erase(access_key_id) == 0) return NotFoundError("store: no such access key");
    return Status::Ok();
  }

  Status CreateIdentity(const Identity& identity) override {
    RETURN_IF_ERROR(ValidateIdentity(identity));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto key = std::make_pair(identity.account_id, identity.name);
    if (identities_.count(key) != 0) return AlreadyExistsError("store: identity exists");
    if (accounts_.count(identity.account_id) == 0) {
      return NotFoundError("store: create identity: account not found");
    }
    Identity copy = identity;
    copy.created = Ms(copy.created);
    copy.token_expires = Ms(copy.token_expires);
    copy.dkim_generated_at = Ms(copy.dkim_generated_at);
    copy.mail_from_set_at = Ms(copy.mail_from_set_at);
    identities_[key] = copy;
    return Status::Ok();
  }

  StatusOr<Identity> GetIdentity(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = identities_.find(std::make_pair(account_id, name));
    if (it == identities_.end()) return NotFoundError("store: no such identity");
    return it->second;
  }

  StatusOr<std::vector<Identity>> ListIdentities(int64_t account_id, const std::string& after,
                                                 int limit) override {
    ASSIGN_OR_RETURN(int bounded, ValidateListLimit(limit));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<Identity> out;
    for (auto it = identities_.upper_bound(std::make_pair(account_id, after));
         it != identities_.end() && it->first.first == account_id &&
         static_cast<int>(out.size()) < bounded;
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  Status DeleteIdentity(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (identities_.erase(std::make_pair(account_id, name)) == 0) {
      return NotFoundError("store: no such identity");
    }
    return Status::Ok();
  }

  Status SetIdentityStatus(int64_t account_id, const std::string& name,
                           VerificationStatus status) override {
    if (!ParseVerificationStatus(VerificationStatusName(status))) {
      return InvalidArgumentError("unknown verification status");
    }
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = identities_.find(std::make_pair(account_id, name));
    if (it == identities_.end()) return NotFoundError("store: no such identity");
    it->second.status = status;
    return Status::Ok();
  }

  Status SetIdentityDkim(const Identity& identity) override {
    RETURN_IF_ERROR(ValidateIdentityDkim(identity));
    return UpdateIdentity(identity.account_id, identity.name, [&](Identity& id) {
      id.dkim_signing_enabled = identity.dkim_signing_enabled;
      id.dkim_origin = identity.dkim_origin;
      id.dkim_selector = identity.dkim_selector;
      id.dkim_private_key_pem = identity.dkim_private_key_pem;
      id.dkim_algorithm = identity.dkim_algorithm;
      id.dkim_key_length = identity.dkim_key_length;
      id.dkim_next_key_length = identity.dkim_next_key_length;
      id.dkim_status = identity.dkim_status;
      id.dkim_generated_at = Ms(identity.dkim_generated_at);
      return Status::Ok();
    });
  }

  Status SetIdentityDkimStatus(int64_t account_id, const std::string& name,
                               const std::string& selector, VerificationStatus status) override {
    if (!ParseVerificationStatus(VerificationStatusName(status))) {
      return InvalidArgumentError("unknown verification status");
    }
    return UpdateIdentity(account_id, name, [&](Identity& id) {
      if (id.dkim_selector != selector) {
        return FailedPreconditionError("store: the identity changed meanwhile");
      }
      id.dkim_status = status;
      return Status::Ok();
    });
  }

  Status SetIdentityMailFrom(const Identity& identity) override {
    RETURN_IF_ERROR(ValidateIdentityMailFrom(identity));
    return UpdateIdentity(identity.account_id, identity.name, [&](Identity& id) {
      id.mail_from_domain = identity.mail_from_domain;
      id.mail_from_behavior = identity.mail_from_behavior;
      id.mail_from_status = identity.mail_from_status;
      id.mail_from_set_at = Ms(identity.mail_from_set_at);
      return Status::Ok();
    });
  }

  Status SetIdentityMailFromStatus(int64_t account_id, const std::string& name,
                                   const std::string& domain, VerificationStatus status) override {
    if (!ParseVerificationStatus(VerificationStatusName(status))) {
      return InvalidArgumentError("unknown verification status");
    }
    return UpdateIdentity(account_id, name, [&](Identity& id) {
      if (id.mail_from_domain != domain) {
        return FailedPreconditionError("store: the identity changed meanwhile");
      }
      id.mail_from_status = status;
      return Status::Ok();
    });
  }

  Status SetIdentityNotifications(const Identity& identity) override {
    RETURN_IF_ERROR(ValidateIdentityNotifications(identity));
    return UpdateIdentity(identity.account_id, identity.name, [&](Identity& id) {
      id.bounce_topic = identity.bounce_topic;
      id.complaint_topic = identity.complaint_topic;
      id.delivery_topic = identity.delivery_topic;
      id.bounce_headers = identity.bounce_headers;
      id.complaint_headers = identity.complaint_headers;
      id.delivery_headers = identity.delivery_headers;
      id.feedback_forwarding = identity.feedback_forwarding;
      return Status::Ok();
    });
  }

  StatusOr<std::vector<std::string>> ListIdentityNotificationTopics() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> topics;
    for (const auto& entry : identities_) {
      const Identity& id = entry.second;
      for (const std::string* t : {&id.bounce_topic, &id.complaint_topic, &id.delivery_topic}) {
        if (!t->empty()) topics.insert(*t);
      }
    }
    return std::vector<std::string>(topics.begin(), topics.end());
  }

  StatusOr<Identity> FindIdentityByToken(const std::string& token) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (!token.empty()) {
      for (const auto& [key, id] : identities_) {
        if (id.type == IdentityType::kEmailAddress && id.verification_token == token) return id;
      }
    }
    return NotFoundError("store: no identity with that token");
  }

  Status CreateConfigurationSet(const ConfigurationSet& set) override {
    RETURN_IF_ERROR(ValidateConfigurationSet(set));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto key = std::make_pair(set.account_id, set.name);
    if (config_sets_.count(key) != 0) {
      return AlreadyExistsError("store: configuration set exists");
    }
    if (accounts_.count(set.account_id) == 0) {
      return NotFoundError("store: create configuration set: account not found");
    }
    ConfigurationSet copy = set;
    copy.created = Ms(copy.created);
    copy.last_fresh_start = Ms(copy.last_fresh_start);
    config_sets_[key] = copy;
    return Status::Ok();
  }

  StatusOr<ConfigurationSet> GetConfigurationSet(int64_t account_id,
                                                 const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = config_sets_.find(std::make_pair(account_id, name));
    if (it == config_sets_.end()) return NotFoundError("store: no such configuration set");
    return it->second;
  }

  StatusOr<std::vector<ConfigurationSet>> ListConfigurationSets(int64_t account_id,
                                                                const std::string& after,
                                                                int limit) override {
    ASSIGN_OR_RETURN(int bounded, ValidateListLimit(limit));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<ConfigurationSet> out;
    for (auto it = config_sets_.upper_bound(std::make_pair(account_id, after));
         it != config_sets_.end() && it->first.first == account_id &&
         static_cast<int>(out.size()) < bounded;
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  Status UpdateConfigurationSet(const ConfigurationSet& set) override {
    RETURN_IF_ERROR(ValidateConfigurationSet(set));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = config_sets_.find(std::make_pair(set.account_id, set.name));
    if (it == config_sets_.end()) return NotFoundError("store: no such configuration set");
    const SysTime created = it->second.created;
    it->second = set;
    it->second.created = created;
    it->second.last_fresh_start = Ms(set.last_fresh_start);
    return Status::Ok();
  }

  Status DeleteConfigurationSet(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (config_sets_.erase(std::make_pair(account_id, name)) == 0) {
      return NotFoundError("store: no such configuration set");
    }
    pub_.DropSet(account_id, name);  // lock order: mu_, then pub_'s own
    return Status::Ok();
  }

  Status RecordSends(int64_t account_id, SysTime at, int64_t count) override {
    RETURN_IF_ERROR(ValidateSendCount(count));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (count == 0) return Status::Ok();
    if (accounts_.count(account_id) == 0) {
      return NotFoundError("store: record sends: account not found");
    }
    const int64_t minute = SendBucketMinute(at);
    buckets_[{account_id, minute}] += count;
    auto last = last_prune_minute_.find(account_id);
    if (last == last_prune_minute_.end() || minute - last->second >= 60) {
      const int64_t keep_from =
          minute - std::chrono::duration_cast<std::chrono::minutes>(kSendBucketRetention).count();
      buckets_.erase(buckets_.lower_bound({account_id, std::numeric_limits<int64_t>::min()}),
                     buckets_.lower_bound({account_id, keep_from}));
      last_prune_minute_[account_id] = minute;
    }
    return Status::Ok();
  }

  StatusOr<int64_t> CountSendsSince(int64_t account_id, SysTime since) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    int64_t total = 0;
    for (auto it = buckets_.lower_bound({account_id, SendBucketMinute(since)});
         it != buckets_.end() && it->first.first == account_id; ++it) {
      total += it->second;
    }
    return total;
  }

  Status SetSuppressionAttributes(int64_t account_id, SuppressionReasons reasons,
                                  const std::string& validation_json) override {
    RETURN_IF_ERROR(ValidateSuppressionValidationJson(validation_json));
    return UpdateAccount(account_id, [&](Account& a) {
      a.suppressed_reasons = reasons;
      a.suppression_validation_json = validation_json;
    });
  }

  Status PutSuppressedDestination(const SuppressedDestination& entry) override {
    return PutSuppressedDestinations({entry});
  }

  Status PutSuppressedDestinations(const std::vector<SuppressedDestination>& entries) override {
    RETURN_IF_ERROR(ValidateBatchSize(entries.size(), kMaxSuppressionBatch, "suppression batch"));
    for (const auto& e : entries) RETURN_IF_ERROR(ValidateSuppressedDestination(e));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (const auto& e : entries) {
      if (accounts_.count(e.account_id) == 0) {
        return NotFoundError("store: put suppressed destination: account not found");
      }
    }
    for (const auto& e : entries) {
      SuppressedDestination copy = e;
      copy.last_update = Ms(copy.last_update);
      suppressed_[{e.account_id, SuppressionKey(e.address)}] = std::move(copy);
    }
    return Status::Ok();
  }

  StatusOr<SuppressedDestination> GetSuppressedDestination(int64_t account_id,
                                                           const std::string& address) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = suppressed_.find({account_id, SuppressionKey(address)});
    if (it == suppressed_.end()) return NotFoundError("store: address not on the suppression list");
    return it->second;
  }

  Status DeleteSuppressedDestination(int64_t account_id, const std::string& address) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (suppressed_.erase({account_id, SuppressionKey(address)}) == 0) {
      return NotFoundError("store: address not on the suppression list");
    }
    return Status::Ok();
  }

  StatusOr<std::vector<SuppressedDestination>> ListSuppressedDestinations(
      int64_t account_id, const SuppressionListFilter& filter, const std::string& after,
      int limit) override {
    ASSIGN_OR_RETURN(int bounded, ValidateListLimit(limit));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<SuppressedDestination> out;
    for (auto it = suppressed_.upper_bound({account_id, after});
         it != suppressed_.end() && it->first.first == account_id &&
         static_cast<int>(out.size()) < bounded;
         ++it) {
      const SuppressedDestination& e = it->second;
      if (!filter.reasons.Has(e.reason)) continue;
      if (filter.start && e.last_update < Ms(*filter.start)) continue;
      if (filter.end && e.last_update > Ms(*filter.end)) continue;
      out.push_back(e);
    }
    return out;
  }

  StatusOr<std::vector<SuppressedDestination>> FindSuppressedDestinations(
      int64_t account_id, const std::vector<std::string>& addresses) override {
    RETURN_IF_ERROR(
        ValidateBatchSize(addresses.size(), kMaxSuppressionLookup, "suppression lookup"));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::map<std::string, SuppressedDestination> found;
    for (const auto& a : addresses) {
      auto it = suppressed_.find({account_id, SuppressionKey(a)});
      if (it != suppressed_.end()) found.emplace(it->first.second, it->second);
    }
    std::vector<SuppressedDestination> out;
    for (auto& [key, e] : found) out.push_back(std::move(e));
    return out;
  }

  StatusOr<int64_t> DeleteAllSuppressedDestinations(int64_t account_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto first = suppressed_.lower_bound({account_id, std::string()});
    auto last = suppressed_.lower_bound({account_id + 1, std::string()});
    const int64_t n = static_cast<int64_t>(std::distance(first, last));
    suppressed_.erase(first, last);
    return n;
  }

  Status RecordGlobalHardBounces(const std::vector<GlobalBounce>& bounces,
                                 const GlobalListingPolicy& policy) override {
    RETURN_IF_ERROR(ValidateBatchSize(bounces.size(), kMaxSuppressionBatch, "global bounces"));
    for (const auto& b : bounces) RETURN_IF_ERROR(ValidateGlobalBounce(b));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (const auto& b : bounces) {
      auto it = global_.find(SuppressionKey(b.address));
      GlobalSuppression next =
          NextGlobalListing(it == global_.end() ? nullptr : &it->second, b, policy);
      global_[next.address] = std::move(next);
    }
    return Status::Ok();
  }

  StatusOr<std::vector<GlobalSuppression>> FindGloballySuppressed(
      const std::vector<std::string>& addresses, SysTime now) override {
    RETURN_IF_ERROR(
        ValidateBatchSize(addresses.size(), kMaxSuppressionLookup, "global suppression lookup"));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::map<std::string, GlobalSuppression> found;
    for (const auto& a : addresses) {
      auto it = global_.find(SuppressionKey(a));
      if (it != global_.end() && Ms(now) < it->second.listed_until) {
        found.emplace(it->first, it->second);
      }
    }
    std::vector<GlobalSuppression> out;
    for (auto& [key, g] : found) out.push_back(std::move(g));
    return out;
  }

  StatusOr<GlobalSuppression> GetGlobalSuppression(const std::string& address) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = global_.find(SuppressionKey(address));
    if (it == global_.end()) return NotFoundError("store: address not on the global list");
    return it->second;
  }

  Status DeleteGlobalSuppression(const std::string& address) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (global_.erase(SuppressionKey(address)) == 0) {
      return NotFoundError("store: address not on the global list");
    }
    return Status::Ok();
  }

  // Number of send buckets held for an account (mirrors SqliteStore's hook).
  int64_t SendBucketCountForTest(int64_t account_id) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t n = 0;
    for (const auto& [key, count] : buckets_) n += key.first == account_id ? 1 : 0;
    return n;
  }

  // ReputationStore: kept by a MemReputationStore; PutReputation also sets the account's
  // enforcement status and state, and rows for a missing account are kNotFound.
  StatusOr<std::vector<RepBucketRow>> LoadRepBuckets(int64_t account_id,
                                                     const std::string& scope) override {
    RETURN_IF_ERROR(Exists(account_id));
    return rep_.LoadRepBuckets(account_id, scope);
  }
  Status SaveRepBuckets(int64_t account_id, const std::string& scope,
                        const std::vector<RepBucketRow>& rows,
                        int64_t delete_before_hour) override {
    RETURN_IF_ERROR(Exists(account_id));
    return rep_.SaveRepBuckets(account_id, scope, rows, delete_before_hour);
  }
  Status SaveRepBucketsMany(const std::vector<RepBucketBatch>& batches) override {
    for (const auto& b : batches) RETURN_IF_ERROR(Exists(b.account_id));
    return rep_.SaveRepBucketsMany(batches);
  }
  StatusOr<std::optional<ReputationRow>> GetReputation(int64_t account_id) override {
    RETURN_IF_ERROR(Exists(account_id));
    return rep_.GetReputation(account_id);
  }
  Status PutReputation(int64_t account_id, const ReputationRow& row,
                       const std::string& api_status) override {
    if (row.state_name.empty() ||
        (api_status != "HEALTHY" && api_status != "PROBATION" && api_status != "SHUTDOWN")) {
      return InvalidArgumentError("store: bad reputation state");
    }
    RETURN_IF_ERROR(rep_.PutReputation(account_id, row, api_status));
    return UpdateAccount(account_id, [&](Account& a) {
      a.enforcement_status = api_status;
      a.enforcement_state = row.state_name;
    });
  }
  StatusOr<int64_t> AddNotice(const NoticeRow& notice) override {
    RETURN_IF_ERROR(Exists(notice.account_id));
    return rep_.AddNotice(notice);
  }
  StatusOr<std::vector<NoticeRow>> ListNotices(int64_t account_id, int limit) override {
    ASSIGN_OR_RETURN(limit, ValidateListLimit(limit));
    return rep_.ListNotices(account_id, limit);
  }
  StatusOr<int64_t> CreateReviewCase(const ReviewCaseRow& c) override {
    RETURN_IF_ERROR(Exists(c.account_id));
    return rep_.CreateReviewCase(c);
  }
  Status UpdateReviewCase(const ReviewCaseRow& c) override { return rep_.UpdateReviewCase(c); }
  StatusOr<std::vector<ReviewCaseRow>> ListReviewCases(int64_t account_id, int limit) override {
    ASSIGN_OR_RETURN(limit, ValidateListLimit(limit));
    return rep_.ListReviewCases(account_id, limit);
  }
  Status PutGuardCase(uint64_t id, const std::string& json) override {
    return rep_.PutGuardCase(id, json);
  }
  Status DeleteGuardCase(uint64_t id) override { return rep_.DeleteGuardCase(id); }
  StatusOr<std::vector<std::pair<uint64_t, std::string>>> ListGuardCases() override {
    return rep_.ListGuardCases();
  }

  // PublishingStore: kept by a MemPublishingStore that asks this store about accounts and
  // configuration sets.
  Status CreateTemplate(const EmailTemplate& t) override { return pub_.CreateTemplate(t); }
  StatusOr<EmailTemplate> GetTemplate(int64_t a, const std::string& n) override {
    return pub_.GetTemplate(a, n);
  }
  Status UpdateTemplate(const EmailTemplate& t) override { return pub_.UpdateTemplate(t); }
  Status DeleteTemplate(int64_t a, const std::string& n) override {
    return pub_.DeleteTemplate(a, n);
  }
  StatusOr<std::vector<EmailTemplate>> ListTemplates(int64_t a, const std::string& after,
                                                     int limit) override {
    return pub_.ListTemplates(a, after, limit);
  }
  StatusOr<int64_t> CreateEventDestination(const EventDestinationRow& d,
                                           uint64_t start_offset) override {
    return pub_.CreateEventDestination(d, start_offset);
  }
  Status UpdateEventDestination(const EventDestinationRow& d) override {
    return pub_.UpdateEventDestination(d);
  }
  Status DeleteEventDestination(int64_t a, const std::string& set,
                                const std::string& name) override {
    return pub_.DeleteEventDestination(a, set, name);
  }
  StatusOr<std::vector<EventDestinationRow>> ListEventDestinations(
      int64_t a, const std::string& set) override {
    return pub_.ListEventDestinations(a, set);
  }
  StatusOr<std::vector<EventDestinationRow>> ListAllEventDestinations() override {
    return pub_.ListAllEventDestinations();
  }
  StatusOr<uint64_t> GetCursor(int64_t d, const std::string& target, uint64_t fallback) override {
    return pub_.GetCursor(d, target, fallback);
  }
  Status SetCursor(int64_t d, const std::string& target, uint64_t offset) override {
    return pub_.SetCursor(d, target, offset);
  }
  StatusOr<uint64_t> GetSubscriptionCursor(int64_t s, uint64_t fallback) override {
    return pub_.GetSubscriptionCursor(s, fallback);
  }
  Status SetSubscriptionCursor(int64_t s, uint64_t offset) override {
    return pub_.SetSubscriptionCursor(s, offset);
  }
  StatusOr<int64_t> CreateTopic(const Topic& t) override { return pub_.CreateTopic(t); }
  StatusOr<Topic> GetTopic(int64_t a, const std::string& n) override { return pub_.GetTopic(a, n); }
  StatusOr<std::vector<Topic>> ListTopics(int64_t a) override { return pub_.ListTopics(a); }
  Status DeleteTopic(int64_t a, const std::string& n) override { return pub_.DeleteTopic(a, n); }
  StatusOr<int64_t> CreateSubscription(const TopicSubscription& s) override {
    return pub_.CreateSubscription(s);
  }
  StatusOr<TopicSubscription> GetSubscription(int64_t id) override {
    return pub_.GetSubscription(id);
  }
  StatusOr<TopicSubscription> FindSubscriptionByToken(const std::string& token) override {
    return pub_.FindSubscriptionByToken(token);
  }
  Status ConfirmSubscription(int64_t id, uint64_t start_offset) override {
    return pub_.ConfirmSubscription(id, start_offset);
  }
  Status DeleteSubscription(int64_t id) override { return pub_.DeleteSubscription(id); }
  StatusOr<std::vector<TopicSubscription>> ListSubscriptions(int64_t topic_id) override {
    return pub_.ListSubscriptions(topic_id);
  }
  StatusOr<std::vector<std::pair<Topic, TopicSubscription>>> ListPendingSubscriptions() override {
    return pub_.ListPendingSubscriptions();
  }

  // AudienceStore: kept by a MemAudienceStore that asks this store about accounts.
  Status CreateContactList(const ContactListRow& l) override {
    return audience_.CreateContactList(l);
  }
  StatusOr<ContactListRow> GetContactList(int64_t a, const std::string& n) override {
    return audience_.GetContactList(a, n);
  }
  Status UpdateContactList(const ContactListRow& l) override {
    return audience_.UpdateContactList(l);
  }
  Status DeleteContactList(int64_t a, const std::string& n) override {
    return audience_.DeleteContactList(a, n);
  }
  StatusOr<std::vector<ContactListRow>> ListContactLists(int64_t a) override {
    return audience_.ListContactLists(a);
  }
  Status CreateContact(const ContactRow& c) override { return audience_.CreateContact(c); }
  StatusOr<ContactRow> GetContact(int64_t a, const std::string& list,
                                  const std::string& email) override {
    return audience_.GetContact(a, list, email);
  }
  Status UpdateContact(const ContactRow& c) override { return audience_.UpdateContact(c); }
  Status DeleteContact(int64_t a, const std::string& list, const std::string& email) override {
    return audience_.DeleteContact(a, list, email);
  }
  StatusOr<std::vector<ContactRow>> ListContacts(int64_t a, const std::string& list,
                                                 const std::string& after, int limit) override {
    return audience_.ListContacts(a, list, after, limit);
  }
  StatusOr<bool> RecordEngagement(const EngagementRow& row) override {
    return audience_.RecordEngagement(row);
  }
  StatusOr<int64_t> CountEngagement(int64_t a, const std::string& set, EngagementRow::Kind kind,
                                    SysTime since, SysTime until) override {
    return audience_.CountEngagement(a, set, kind, since, until);
  }

 private:
  static SysTime Ms(SysTime t) { return FromUnixMillis(UnixMillis(t)); }

  Status Exists(int64_t account_id) {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (accounts_.count(account_id) == 0) {
      return NotFoundError("store: account " + std::to_string(account_id));
    }
    return Status::Ok();
  }

  template <typename F>
  Status UpdateAccount(int64_t account_id, F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = accounts_.find(account_id);
    if (it == accounts_.end()) return NotFoundError("store: account " + std::to_string(account_id));
    f(it->second);
    return Status::Ok();
  }

  template <typename F>
  Status UpdateIdentity(int64_t account_id, const std::string& name, F&& f) {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = identities_.find(std::make_pair(account_id, name));
    if (it == identities_.end()) return NotFoundError("store: no such identity");
    return f(it->second);
  }

  std::mutex mu_;
  Status fail_;  // guarded by mu_
  int64_t next_account_id_ = 1;
  std::map<int64_t, Account> accounts_;
  std::map<std::string, AccessKey> keys_;
  std::map<std::pair<int64_t, std::string>, Identity> identities_;
  std::map<std::pair<int64_t, std::string>, ConfigurationSet> config_sets_;
  std::map<std::pair<int64_t, int64_t>, int64_t> buckets_;  // (account, minute) -> count
  std::map<int64_t, int64_t> last_prune_minute_;
  // (account, SuppressionKey) -> entry
  std::map<std::pair<int64_t, std::string>, SuppressedDestination> suppressed_;
  std::map<std::string, GlobalSuppression> global_;  // SuppressionKey -> record
  MemReputationStore rep_;
  MemPublishingStore pub_;
  MemAudienceStore audience_;
};

}  // namespace herald::store
