// tests/fakes/mem_audience_store.h: an in-memory AudienceStore for unit tests.
//
// Contract: the semantics of store/audience_store.h (the conformance test runs the same
// checks against it and SQLite): the shared Validate* checks, kAlreadyExists before
// kResourceExhausted, contacts keyed by ContactKey, preferences for topics the list does
// not have dropped on write, rows listed in name/key order, times truncated to
// milliseconds. It does not know accounts itself: the owner (MemStore) installs
// `account_exists` (accounts are never deleted, so nothing else needs telling). The check
// is called before this store's mutex is taken, so it may lock its owner.
// FailAllForTest(status) makes every method return `status` until cleared.
// Thread-safety: safe from any thread (one mutex). Trust: test-only.
#pragma once

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/audience_store.h"
#include "store/store.h"

namespace herald::store {

class MemAudienceStore final : public AudienceStore {
 public:
  std::function<Status(int64_t)> account_exists = [](int64_t) { return Status::Ok(); };

  void FailAllForTest(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }

  Status CreateContactList(const ContactListRow& list) override {
    RETURN_IF_ERROR(ValidateContactList(list));
    RETURN_IF_ERROR(account_exists(list.account_id));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (lists_.count({list.account_id, list.name})) {
      return AlreadyExistsError("store: contact list exists");
    }
    int count = 0;
    for (const auto& [key, l] : lists_) count += key.first == list.account_id ? 1 : 0;
    if (count >= kMaxContactListsPerAccount) {
      return ResourceExhaustedError("store: the account has the most contact lists allowed");
    }
    ContactListRow copy = list;
    copy.created = Ms(list.created);
    copy.updated = Ms(list.updated);
    lists_[{list.account_id, list.name}] = std::move(copy);
    return Status::Ok();
  }
  StatusOr<ContactListRow> GetContactList(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = lists_.find({account_id, name});
    if (it == lists_.end()) return NotFoundError("store: no such contact list");
    return it->second;
  }
  Status UpdateContactList(const ContactListRow& list) override {
    RETURN_IF_ERROR(ValidateContactList(list));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = lists_.find({list.account_id, list.name});
    if (it == lists_.end()) return NotFoundError("store: no such contact list");
    it->second.description = list.description;
    it->second.topics = list.topics;
    it->second.updated = Ms(list.updated);
    return Status::Ok();
  }
  Status DeleteContactList(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (lists_.erase({account_id, name}) == 0) return NotFoundError("store: no such contact list");
    for (auto it = contacts_.begin(); it != contacts_.end();) {
      const bool on_list = std::get<0>(it->first) == account_id && std::get<1>(it->first) == name;
      it = on_list ? contacts_.erase(it) : std::next(it);
    }
    return Status::Ok();
  }
  StatusOr<std::vector<ContactListRow>> ListContactLists(int64_t account_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<ContactListRow> out;
    for (const auto& [key, l] : lists_) {
      if (key.first == account_id) out.push_back(l);
    }
    return out;
  }

  Status CreateContact(const ContactRow& contact) override {
    RETURN_IF_ERROR(ValidateContact(contact));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto list = lists_.find({contact.account_id, contact.list_name});
    if (list == lists_.end()) return NotFoundError("store: no such contact list");
    const auto key =
        std::make_tuple(contact.account_id, contact.list_name, ContactKey(contact.email));
    if (contacts_.count(key)) return AlreadyExistsError("store: contact exists");
    ContactRow copy = contact;
    copy.topic_preferences = Kept(contact, list->second);
    copy.created = Ms(contact.created);
    copy.updated = Ms(contact.updated);
    contacts_[key] = std::move(copy);
    return Status::Ok();
  }
  StatusOr<ContactRow> GetContact(int64_t account_id, const std::string& list_name,
                                  const std::string& email) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = contacts_.find({account_id, list_name, ContactKey(email)});
    if (it == contacts_.end()) return NotFoundError("store: no such contact");
    return it->second;
  }
  Status UpdateContact(const ContactRow& contact) override {
    RETURN_IF_ERROR(ValidateContact(contact));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto list = lists_.find({contact.account_id, contact.list_name});
    if (list == lists_.end()) return NotFoundError("store: no such contact list");
    auto it = contacts_.find({contact.account_id, contact.list_name, ContactKey(contact.email)});
    if (it == contacts_.end()) return NotFoundError("store: no such contact");
    it->second.unsubscribe_all = contact.unsubscribe_all;
    it->second.topic_preferences = Kept(contact, list->second);
    it->second.attributes_json = contact.attributes_json;
    it->second.updated = Ms(contact.updated);
    return Status::Ok();
  }
  Status DeleteContact(int64_t account_id, const std::string& list_name,
                       const std::string& email) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (contacts_.erase({account_id, list_name, ContactKey(email)}) == 0) {
      return NotFoundError("store: no such contact");
    }
    return Status::Ok();
  }
  StatusOr<std::vector<ContactRow>> ListContacts(int64_t account_id, const std::string& list_name,
                                                 const std::string& after, int limit) override {
    const size_t bounded = static_cast<size_t>(std::clamp(limit, 1, kMaxListLimit));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (lists_.count({account_id, list_name}) == 0) {
      return NotFoundError("store: no such contact list");
    }
    std::vector<ContactRow> out;
    for (auto it = contacts_.upper_bound({account_id, list_name, ContactKey(after)});
         it != contacts_.end() && std::get<0>(it->first) == account_id &&
         std::get<1>(it->first) == list_name && out.size() < bounded;
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  StatusOr<bool> RecordEngagement(const EngagementRow& row) override {
    RETURN_IF_ERROR(ValidateEngagement(row));
    RETURN_IF_ERROR(account_exists(row.account_id));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    const auto key = std::make_tuple(row.message_id, row.recipient, row.kind);
    if (engagement_.count(key)) return false;
    EngagementRow copy = row;
    copy.at = Ms(row.at);
    engagement_[key] = std::move(copy);
    return true;
  }
  StatusOr<int64_t> CountEngagement(int64_t account_id, const std::string& set,
                                    EngagementRow::Kind kind, SysTime since,
                                    SysTime until) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    const SysTime from = Ms(since);
    const SysTime to = Ms(until);
    int64_t n = 0;
    for (const auto& [key, e] : engagement_) {
      if (e.account_id == account_id && e.kind == kind && e.at >= from && e.at < to &&
          (set.empty() || e.configuration_set == set)) {
        ++n;
      }
    }
    return n;
  }

 private:
  static SysTime Ms(SysTime t) { return FromUnixMillis(UnixMillis(t)); }
  static std::vector<std::pair<std::string, bool>> Kept(const ContactRow& contact,
                                                        const ContactListRow& list) {
    std::vector<std::pair<std::string, bool>> out;
    for (const auto& pref : contact.topic_preferences) {
      for (const ContactListTopic& t : list.topics) {
        if (t.name == pref.first) {
          out.push_back(pref);
          break;
        }
      }
    }
    return out;
  }

  std::mutex mu_;
  Status fail_;
  std::map<std::pair<int64_t, std::string>, ContactListRow> lists_;
  // (account, list, ContactKey) -> contact
  std::map<std::tuple<int64_t, std::string, std::string>, ContactRow> contacts_;
  // (message id, recipient, kind) -> the first one
  std::map<std::tuple<std::string, std::string, EngagementRow::Kind>, EngagementRow> engagement_;
};

}  // namespace herald::store
