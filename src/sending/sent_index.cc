#include "sending/sent_index.h"

#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "events/jsonl_reader.h"
#include "sending/sending_service_impl.h"

namespace herald::sending {
namespace {

constexpr std::string_view kSendMarker = "\"eventType\":\"Send\"";
constexpr int64_t kAccountNumberBase = 100000000000LL;  // SendingAccountId(0)
constexpr size_t kEntryOverhead = 160;                  // maps, pointers, strings

// The message of one Send event line, or nothing.
bool ParseSendEvent(std::string_view line, SentMessage* out) {
  if (line.find(kSendMarker) == std::string_view::npos) return false;  // cheap pre-filter
  nlohmann::json ev = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!ev.is_object()) return false;
  auto type = ev.find("eventType");
  auto mail = ev.find("mail");
  if (type == ev.end() || *type != "Send" || mail == ev.end() || !mail->is_object()) return false;
  auto id = mail->find("messageId");
  auto dest = mail->find("destination");
  if (id == mail->end() || !id->is_string() || dest == mail->end() || !dest->is_array()) {
    return false;
  }
  out->message_id = id->get<std::string>();
  std::optional<SysTime> t = MessageIdTime(out->message_id);
  if (!t.has_value()) return false;
  out->accepted = *t;
  out->recipients.clear();
  for (const auto& r : *dest) {
    out->recipients.push_back(r.is_string() ? r.get<std::string>() : std::string());
  }
  out->account_id = 0;
  auto acct = mail->find("sendingAccountId");
  if (acct != mail->end() && acct->is_string()) {
    const std::string& s = acct->get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 15 && s.find_first_not_of("0123456789") == std::string::npos) {
      out->account_id = std::stoll(s) - kAccountNumberBase;
    }
  }
  out->mail_json = mail->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return true;
}

}  // namespace

size_t SentIndex::Cost(const SentMessage& m) {
  size_t n = kEntryOverhead + m.message_id.size() + m.mail_json.size();
  for (const auto& r : m.recipients) n += r.size() + kEntryOverhead;
  return n;
}

void SentIndex::Add(SentMessage message) {
  auto entry = std::make_shared<const SentMessage>(std::move(message));
  const size_t cost = Cost(*entry);
  std::lock_guard<std::mutex> lock(mu_);
  order_.push_back(entry);
  bytes_ += cost;
  by_id_[entry->message_id] = entry;
  for (const auto& r : entry->recipients) {
    if (r.empty()) continue;
    SentMessagePtr& slot = latest_to_[AsciiLower(r)];
    if (slot == nullptr || slot->accepted <= entry->accepted) slot = entry;
  }
  while (bytes_ > max_bytes_ && order_.size() > 1) {
    SentMessagePtr old = std::move(order_.front());
    order_.pop_front();
    bytes_ -= Cost(*old);
    auto it = by_id_.find(old->message_id);
    if (it != by_id_.end() && it->second == old) by_id_.erase(it);
    for (const auto& r : old->recipients) {
      auto jt = latest_to_.find(AsciiLower(r));
      if (jt != latest_to_.end() && jt->second == old) latest_to_.erase(jt);
    }
  }
}

size_t SentIndex::ObserveEvents(std::string_view lines) {
  size_t learnt = 0;
  while (!lines.empty()) {
    const size_t nl = lines.find('\n');
    const std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view() : lines.substr(nl + 1);
    SentMessage m;
    if (ParseSendEvent(line, &m)) {
      Add(std::move(m));
      ++learnt;
    }
  }
  return learnt;
}

StatusOr<size_t> SentIndex::ReplayEventLog(spool::Fs& fs, const std::string& path,
                                           size_t max_lines) {
  if (max_lines == 0) return size_t{0};
  StatusOr<std::vector<std::string>> lines = events::ReadLastLines(fs, path, max_lines);
  if (!lines.ok()) {
    if (lines.status().code() == StatusCode::kNotFound) return size_t{0};
    return lines.status();
  }
  size_t learnt = 0;
  for (const auto& line : *lines) learnt += ObserveEvents(line);
  return learnt;
}

SentMessagePtr SentIndex::Find(std::string_view message_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(std::string(message_id));
  return it == by_id_.end() ? nullptr : it->second;
}

SentMessagePtr SentIndex::LatestTo(std::string_view address, SysTime since) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = latest_to_.find(AsciiLower(address));
  if (it == latest_to_.end() || it->second->accepted < since) return nullptr;
  return it->second;
}

size_t SentIndex::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return by_id_.size();
}

size_t SentIndex::bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

Status IndexingEventSink::Publish(const std::string& json_lines) {
  RETURN_IF_ERROR(inner_.Publish(json_lines));
  index_.ObserveEvents(json_lines);
  return Status::Ok();
}

}  // namespace herald::sending
