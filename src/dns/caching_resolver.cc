// The caching decorator of dns/resolver.h (NewCachingResolver).
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <variant>

#include "base/strings.h"
#include "dns/resolver.h"

namespace herald::dns {
namespace {

class CachingResolver final : public Resolver {
 public:
  CachingResolver(Resolver& inner, Clock& clock, std::chrono::seconds ttl, size_t max_entries)
      : inner_(inner), clock_(clock), ttl_(ttl), max_entries_(max_entries) {}

  StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) override {
    return inner_.LookupTxt(name);
  }

  StatusOr<MxAnswer> LookupMx(const std::string& domain) override {
    return Cached<MxAnswer>("mx:" + Key(domain), [&] { return inner_.LookupMx(domain); });
  }

  StatusOr<AddressAnswer> LookupAddresses(const std::string& host) override {
    return Cached<AddressAnswer>("addr:" + Key(host), [&] { return inner_.LookupAddresses(host); });
  }

 private:
  using Answer = std::variant<MxAnswer, AddressAnswer>;
  struct Entry {
    std::chrono::steady_clock::time_point expires;
    Answer answer;
    std::list<std::string>::iterator order;  // position in order_
  };

  static std::string Key(const std::string& name) {
    std::string key = AsciiLower(name);
    if (!key.empty() && key.back() == '.') key.pop_back();
    return key;
  }

  template <typename T, typename Fetch>
  StatusOr<T> Cached(const std::string& key, Fetch fetch) {
    if (std::optional<T> hit = Find<T>(key)) return *std::move(hit);
    StatusOr<T> fresh = fetch();  // outside the mutex
    if (fresh.ok()) Store(key, *fresh);
    return fresh;
  }

  template <typename T>
  std::optional<T> Find(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return std::nullopt;
    if (clock_.Monotonic() >= it->second.expires) {
      order_.erase(it->second.order);
      entries_.erase(it);
      return std::nullopt;
    }
    return std::get<T>(it->second.answer);
  }

  void Store(const std::string& key, Answer answer) {
    if (max_entries_ == 0 || ttl_.count() <= 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      // Another thread fetched the same name meanwhile: keep the newer answer.
      order_.erase(it->second.order);
      entries_.erase(it);
    }
    // Every entry lives for the same ttl, so insertion order is expiry order: the front is
    // both the oldest and the first to expire.
    const auto now = clock_.Monotonic();
    while (!order_.empty() &&
           (entries_.size() >= max_entries_ || entries_.at(order_.front()).expires <= now)) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    entries_.emplace(key, Entry{now + ttl_, std::move(answer), std::prev(order_.end())});
  }

  Resolver& inner_;
  Clock& clock_;
  const std::chrono::seconds ttl_;
  const size_t max_entries_;

  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
  std::list<std::string> order_;                    // guarded by mu_; oldest first
};

}  // namespace

std::unique_ptr<Resolver> NewCachingResolver(Resolver& inner, Clock& clock,
                                             std::chrono::seconds ttl, size_t max_entries) {
  return std::make_unique<CachingResolver>(inner, clock, ttl, max_entries);
}

}  // namespace herald::dns
