// tests/fakes/mem_publishing_store.h: an in-memory PublishingStore for unit tests.
//
// Contract: the semantics of store/publishing_store.h (the conformance test runs the same
// checks against it and SQLite). It does not know accounts or configuration sets itself:
// the owner (MemStore) installs `account_exists` and `set_exists` checks and calls
// DropSet() when a configuration set is deleted. The checks are called before this
// store's mutex is taken, so they may lock their owner. FailAllForTest(status) makes every
// method return `status` until cleared.
// Thread-safety: safe from any thread (one mutex). Trust: test-only.
#pragma once

#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/publishing_store.h"
#include "store/store.h"

namespace herald::store {

class MemPublishingStore final : public PublishingStore {
 public:
  std::function<Status(int64_t)> account_exists = [](int64_t) { return Status::Ok(); };
  std::function<Status(int64_t, const std::string&)> set_exists = [](int64_t, const std::string&) {
    return Status::Ok();
  };

  void FailAllForTest(Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }

  // Deletes a configuration set's destinations and their cursors.
  void DropSet(int64_t account_id, const std::string& set) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = destinations_.begin(); it != destinations_.end();) {
      if (it->second.account_id == account_id && it->second.configuration_set == set) {
        DropCursors(it->first);
        it = destinations_.erase(it);
      } else {
        ++it;
      }
    }
  }

  Status CreateTemplate(const EmailTemplate& t) override {
    RETURN_IF_ERROR(ValidateTemplate(t));
    RETURN_IF_ERROR(account_exists(t.account_id));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (templates_.count({t.account_id, t.name})) {
      return AlreadyExistsError("store: template exists");
    }
    EmailTemplate copy = t;
    copy.created = Ms(t.created);
    copy.updated = Ms(t.updated);
    templates_[{t.account_id, t.name}] = copy;
    return Status::Ok();
  }
  StatusOr<EmailTemplate> GetTemplate(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = templates_.find({account_id, name});
    if (it == templates_.end()) return NotFoundError("store: no such template");
    return it->second;
  }
  Status UpdateTemplate(const EmailTemplate& t) override {
    RETURN_IF_ERROR(ValidateTemplate(t));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = templates_.find({t.account_id, t.name});
    if (it == templates_.end()) return NotFoundError("store: no such template");
    it->second.subject = t.subject;
    it->second.text = t.text;
    it->second.html = t.html;
    it->second.updated = Ms(t.updated);
    return Status::Ok();
  }
  Status DeleteTemplate(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (templates_.erase({account_id, name}) == 0) return NotFoundError("store: no such template");
    return Status::Ok();
  }
  StatusOr<std::vector<EmailTemplate>> ListTemplates(int64_t account_id, const std::string& after,
                                                     int limit) override {
    ASSIGN_OR_RETURN(int bounded, ValidateListLimit(limit));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<EmailTemplate> out;
    for (auto it = templates_.upper_bound({account_id, after});
         it != templates_.end() && it->first.first == account_id &&
         static_cast<int>(out.size()) < bounded;
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  StatusOr<int64_t> CreateEventDestination(const EventDestinationRow& d,
                                           uint64_t start_offset) override {
    RETURN_IF_ERROR(ValidateEventDestination(d));
    {
      std::lock_guard<std::mutex> lock(mu_);
      RETURN_IF_ERROR(fail_);
      for (const auto& [id, e] : destinations_) {
        if (e.account_id == d.account_id && e.configuration_set == d.configuration_set &&
            e.name == d.name) {
          return AlreadyExistsError("store: event destination exists");
        }
      }
    }
    RETURN_IF_ERROR(set_exists(d.account_id, d.configuration_set));
    std::lock_guard<std::mutex> lock(mu_);
    EventDestinationRow copy = d;
    copy.id = next_id_++;
    copy.created = Ms(d.created);
    copy.updated = Ms(d.updated);
    destinations_[copy.id] = copy;
    cursors_[{copy.id, ""}] = start_offset;
    return copy.id;
  }
  Status UpdateEventDestination(const EventDestinationRow& d) override {
    RETURN_IF_ERROR(ValidateEventDestination(d));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (auto& [id, e] : destinations_) {
      if (e.account_id == d.account_id && e.configuration_set == d.configuration_set &&
          e.name == d.name) {
        e.enabled = d.enabled;
        e.matching_types = d.matching_types;
        e.kind = d.kind;
        e.spec_json = d.spec_json;
        e.updated = Ms(d.updated);
        return Status::Ok();
      }
    }
    return NotFoundError("store: no such event destination");
  }
  Status DeleteEventDestination(int64_t account_id, const std::string& set,
                                const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (auto it = destinations_.begin(); it != destinations_.end(); ++it) {
      if (it->second.account_id == account_id && it->second.configuration_set == set &&
          it->second.name == name) {
        DropCursors(it->first);
        destinations_.erase(it);
        return Status::Ok();
      }
    }
    return NotFoundError("store: no such event destination");
  }
  StatusOr<std::vector<EventDestinationRow>> ListEventDestinations(
      int64_t account_id, const std::string& set) override {
    RETURN_IF_ERROR(set_exists(account_id, set));
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<EventDestinationRow> out;
    for (const auto& [id, e] : destinations_) {
      if (e.account_id == account_id && e.configuration_set == set) out.push_back(e);
    }
    return out;
  }
  StatusOr<std::vector<EventDestinationRow>> ListAllEventDestinations() override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<EventDestinationRow> out;
    for (const auto& [id, e] : destinations_) out.push_back(e);
    return out;
  }
  StatusOr<uint64_t> GetCursor(int64_t destination_id, const std::string& target,
                               uint64_t fallback) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (destinations_.count(destination_id) == 0) {
      return NotFoundError("store: no such event destination");
    }
    auto it = cursors_.find({destination_id, target});
    return it == cursors_.end() ? fallback : it->second;
  }
  Status SetCursor(int64_t destination_id, const std::string& target, uint64_t offset) override {
    if (offset > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgumentError("offset out of range");
    }
    if (target.size() > kMaxTokenLength) return InvalidArgumentError("bad cursor target");
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (destinations_.count(destination_id) == 0) {
      return NotFoundError("store: no such event destination");
    }
    cursors_[{destination_id, target}] = offset;
    return Status::Ok();
  }

  StatusOr<uint64_t> GetSubscriptionCursor(int64_t subscription_id, uint64_t fallback) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (subscriptions_.count(subscription_id) == 0) {
      return NotFoundError("store: no such subscription");
    }
    auto it = subscription_cursors_.find(subscription_id);
    return it == subscription_cursors_.end() ? fallback : it->second;
  }
  Status SetSubscriptionCursor(int64_t subscription_id, uint64_t offset) override {
    if (offset > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgumentError("offset out of range");
    }
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (subscriptions_.count(subscription_id) == 0) {
      return NotFoundError("store: no such subscription");
    }
    subscription_cursors_[subscription_id] = offset;
    return Status::Ok();
  }

  StatusOr<int64_t> CreateTopic(const Topic& t) override {
    if (!IsTopicName(t.name)) return InvalidArgumentError("bad topic name");
    {
      std::lock_guard<std::mutex> lock(mu_);
      RETURN_IF_ERROR(fail_);
      for (const auto& [id, e] : topics_) {
        if (e.account_id == t.account_id && e.name == t.name) {
          return AlreadyExistsError("store: topic exists");
        }
      }
    }
    RETURN_IF_ERROR(account_exists(t.account_id));
    std::lock_guard<std::mutex> lock(mu_);
    Topic copy = t;
    copy.id = next_id_++;
    copy.created = Ms(t.created);
    topics_[copy.id] = copy;
    return copy.id;
  }
  StatusOr<Topic> GetTopic(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (const auto& [id, e] : topics_) {
      if (e.account_id == account_id && e.name == name) return e;
    }
    return NotFoundError("store: no such topic");
  }
  StatusOr<std::vector<Topic>> ListTopics(int64_t account_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::map<std::string, Topic> by_name;
    for (const auto& [id, e] : topics_) {
      if (e.account_id == account_id) by_name[e.name] = e;
    }
    std::vector<Topic> out;
    for (auto& [name, t] : by_name) out.push_back(t);
    return out;
  }
  Status DeleteTopic(int64_t account_id, const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (auto it = topics_.begin(); it != topics_.end(); ++it) {
      if (it->second.account_id == account_id && it->second.name == name) {
        for (auto s = subscriptions_.begin(); s != subscriptions_.end();) {
          s = s->second.topic_id == it->first ? subscriptions_.erase(s) : std::next(s);
        }
        topics_.erase(it);
        return Status::Ok();
      }
    }
    return NotFoundError("store: no such topic");
  }

  StatusOr<int64_t> CreateSubscription(const TopicSubscription& s) override {
    if (s.endpoint.empty() || s.endpoint.size() > kMaxEndpointLength ||
        s.endpoint.find('\0') != std::string::npos || s.token.empty() ||
        s.token.size() > kMaxTokenLength) {
      return InvalidArgumentError("bad subscription");
    }
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (topics_.count(s.topic_id) == 0) return NotFoundError("store: no such topic");
    for (const auto& [id, e] : subscriptions_) {
      if (e.token == s.token) return AlreadyExistsError("store: token exists");
    }
    TopicSubscription copy = s;
    copy.id = next_id_++;
    copy.created = Ms(s.created);
    subscriptions_[copy.id] = copy;
    return copy.id;
  }
  StatusOr<TopicSubscription> GetSubscription(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return NotFoundError("store: no such subscription");
    return it->second;
  }
  StatusOr<TopicSubscription> FindSubscriptionByToken(const std::string& token) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    for (const auto& [id, e] : subscriptions_) {
      if (e.token == token) return e;
    }
    return NotFoundError("store: no such subscription");
  }
  Status ConfirmSubscription(int64_t id, uint64_t start_offset) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return NotFoundError("store: no such subscription");
    if (!it->second.confirmed) it->second.start_offset = start_offset;
    it->second.confirmed = true;
    return Status::Ok();
  }
  Status DeleteSubscription(int64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    if (subscriptions_.erase(id) == 0) return NotFoundError("store: no such subscription");
    return Status::Ok();
  }
  StatusOr<std::vector<TopicSubscription>> ListSubscriptions(int64_t topic_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<TopicSubscription> out;
    for (const auto& [id, e] : subscriptions_) {
      if (e.topic_id == topic_id) out.push_back(e);
    }
    return out;
  }
  StatusOr<std::vector<std::pair<Topic, TopicSubscription>>> ListPendingSubscriptions() override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(fail_);
    std::vector<std::pair<Topic, TopicSubscription>> out;
    for (const auto& [id, e] : subscriptions_) {
      if (!e.confirmed) out.emplace_back(topics_.at(e.topic_id), e);
    }
    return out;
  }

 private:
  static SysTime Ms(SysTime t) { return FromUnixMillis(UnixMillis(t)); }
  void DropCursors(int64_t destination_id) {
    for (auto it = cursors_.begin(); it != cursors_.end();) {
      it = it->first.first == destination_id ? cursors_.erase(it) : std::next(it);
    }
  }

  std::mutex mu_;
  Status fail_;
  int64_t next_id_ = 1;
  std::map<std::pair<int64_t, std::string>, EmailTemplate> templates_;
  std::map<int64_t, EventDestinationRow> destinations_;
  std::map<std::pair<int64_t, std::string>, uint64_t> cursors_;
  std::map<int64_t, uint64_t> subscription_cursors_;  // by subscription id (ids never reused)
  std::map<int64_t, Topic> topics_;
  std::map<int64_t, TopicSubscription> subscriptions_;
};

}  // namespace herald::store
