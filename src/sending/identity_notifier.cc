// sending/identity_notifier.cc: see identity_notifier.h.
#include "sending/identity_notifier.h"

#include <optional>
#include <string_view>
#include <vector>

#include "base/crypto.h"
#include "base/log.h"
#include "base/strings.h"
#include "sending/ses_events.h"

namespace herald::sending {
namespace {

using nlohmann::json;

// The detail member of each notifying event type.
const char* DetailKey(std::string_view type) {
  if (type == "Bounce") return "bounce";
  if (type == "Complaint") return "complaint";
  if (type == "Delivery") return "delivery";
  return nullptr;
}

// The first value of a mail object's tag, or "".
std::string TagValue(const json& mail, const char* name) {
  auto tags = mail.find("tags");
  if (tags == mail.end() || !tags->is_object()) return "";
  auto t = tags->find(name);
  if (t == tags->end() || !t->is_array() || t->empty() || !(*t)[0].is_string()) return "";
  return (*t)[0].get<std::string>();
}

// A string member of `obj`, or "" when it is absent or not a string (no exceptions).
std::string Str(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Worth a retry of the whole batch: the failure may pass.
bool Transient(const Status& st) {
  return st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kResourceExhausted ||
         st.code() == StatusCode::kInternal;
}

// The identity whose settings govern a message from `source` in `account_id`: its address
// identity, else the domain identity covering its domain; nullopt when neither exists.
StatusOr<std::optional<store::Identity>> GoverningIdentity(store::Store& store, int64_t account_id,
                                                           const std::string& source) {
  const std::string address = AsciiLower(source);
  StatusOr<store::Identity> own = store.GetIdentity(account_id, address);
  if (own.ok()) return std::optional<store::Identity>(std::move(own).value());
  if (own.status().code() != StatusCode::kNotFound) return own.status();
  const size_t at = address.rfind('@');
  if (at == std::string::npos) return std::optional<store::Identity>();
  return store::FindDomainIdentity(store, account_id, address.substr(at + 1));
}

}  // namespace

json NotificationFor(const json& event, bool include_headers) {
  if (!event.is_object()) return nullptr;
  auto type = event.find("eventType");
  auto mail = event.find("mail");
  if (type == event.end() || !type->is_string() || mail == event.end() || !mail->is_object()) {
    return nullptr;
  }
  const std::string& t = type->get_ref<const std::string&>();
  const char* key = DetailKey(t);
  if (key == nullptr || !event.contains(key)) return nullptr;

  json m = json::object();
  for (const char* name : {"timestamp", "messageId", "source", "sourceArn"}) {
    if (auto it = mail->find(name); it != mail->end()) m[name] = *it;
  }
  m["sourceIp"] = TagValue(*mail, "ses:source-ip");
  if (auto it = mail->find("sendingAccountId"); it != mail->end()) m["sendingAccountId"] = *it;
  m["callerIdentity"] = TagValue(*mail, "ses:caller-identity");
  if (auto it = mail->find("destination"); it != mail->end()) m["destination"] = *it;
  if (include_headers) {
    for (const char* name : {"headersTruncated", "headers", "commonHeaders"}) {
      if (auto it = mail->find(name); it != mail->end()) m[name] = *it;
    }
  }
  return json{{"notificationType", t}, {"mail", std::move(m)}, {key, event[key]}};
}

Status IdentityNotifier::Publish(const std::string& json_lines) {
  std::string extra;
  size_t start = 0;
  while (start <= json_lines.size()) {
    size_t nl = json_lines.find('\n', start);
    if (nl == std::string::npos) nl = json_lines.size();
    const std::string_view line(json_lines.data() + start, nl - start);
    start = nl + 1;
    // Only the three notifying types are parsed (a cheap look first).
    if (line.find("\"eventType\":\"Bounce\"") == std::string_view::npos &&
        line.find("\"eventType\":\"Complaint\"") == std::string_view::npos &&
        line.find("\"eventType\":\"Delivery\"") == std::string_view::npos) {
      continue;
    }
    json event = json::parse(line, nullptr, false);
    if (!event.is_object() || !event.contains("mail") || !event["mail"].is_object()) continue;
    const json& mail = event["mail"];
    const std::string type = Str(event, "eventType");
    const std::string source = Str(mail, "source");
    std::optional<int64_t> account = store::AccountIdOfNumber(Str(mail, "sendingAccountId"));
    if (!account || source.empty() || DetailKey(type) == nullptr) continue;

    StatusOr<std::optional<store::Identity>> identity = GoverningIdentity(store_, *account, source);
    if (!identity.ok()) {
      if (Transient(identity.status())) return identity.status();
      LogWarn("identity notification skipped", {{"error", identity.status().ToString()}});
      continue;
    }
    // Without an identity (deleted since the send) SES's defaults apply: no topics,
    // forwarding on.
    const store::Identity defaults;
    const store::Identity& id = identity->has_value() ? **identity : defaults;

    if (forwarder_ != nullptr && id.feedback_forwarding && type != "Delivery") {
      // The address the sender named for feedback, else the sender.
      std::string to = Str(mail, "feedbackForwardingEmailAddress");
      if (to.empty()) to = source;
      Status st = forwarder_->Forward(event, to);
      if (!st.ok()) {
        if (Transient(st)) return st;
        LogWarn("feedback not forwarded",
                {{"message_id", Str(mail, "messageId")}, {"error", st.ToString()}});
      }
    }
    const std::string* topic = nullptr;
    bool headers = false;
    if (type == "Bounce") {
      topic = &id.bounce_topic;
      headers = id.bounce_headers;
    } else if (type == "Complaint") {
      topic = &id.complaint_topic;
      headers = id.complaint_headers;
    } else {
      topic = &id.delivery_topic;
      headers = id.delivery_headers;
    }
    if (topic->empty()) continue;
    json n = NotificationFor(event, headers);
    if (n.is_null()) continue;
    // Stable across a retried batch: derived from the event's own id.
    std::string seed = Str(event, "eventId");
    if (seed.empty()) seed = std::string(line);
    const std::string h = Sha256Hex(seed + "/notification");
    n["eventId"] = h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
                   h.substr(16, 4) + "-" + h.substr(20, 12);
    n["heraldTopicArn"] = *topic;
    extra += '\n';
    extra += n.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (extra.empty()) return inner_.Publish(json_lines);
  if (!json_lines.empty() && json_lines.back() == '\n') extra.erase(0, 1);
  return inner_.Publish(json_lines + extra);
}

}  // namespace herald::sending
