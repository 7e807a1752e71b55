#include "sending/ses_events.h"

#include "base/crypto.h"
#include "base/strings.h"
#include "mail/address.h"

namespace herald::sending {
namespace {

constexpr size_t kMaxHeaderBytes = 10 * 1024;  // SES truncates the headers list at 10 KB

// The addresses of a header as SES shows them in commonHeaders: the field text split into
// its mailboxes ("Name <a@b>" or "a@b"), display names decoded.
nlohmann::json AddressStrings(const mail::ParsedMessage& msg, std::string_view name) {
  nlohmann::json out = nlohmann::json::array();
  auto boxes = mail::HeaderAddresses(msg, name);
  if (!boxes.ok()) {
    for (const auto* f : msg.FindAll(name)) out.push_back(ToValidUtf8(f->value));
    return out;
  }
  for (const auto& b : *boxes) {
    if (b.display_name.empty()) {
      out.push_back(b.Address());
    } else {
      out.push_back(ToValidUtf8(b.display_name) + " <" + b.Address() + ">");
    }
  }
  return out;
}

}  // namespace

std::string ToValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if ((c & 0xE0) == 0xC0 && c >= 0xC2) {
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
    } else if ((c & 0xF8) == 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    }
    if (ok && len == 3) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) ok = false;
    }
    if (ok && len == 4) {
      unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) ok = false;
    }
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string NewUuid() {
  std::string b = RandomBytes(16);
  b[6] = static_cast<char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3F) | 0x80);
  std::string h = HexEncode(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

nlohmann::json BuildMailObject(const MailInfo& info, const mail::ParsedMessage& message) {
  nlohmann::json mail;
  mail["timestamp"] = FormatIso8601Millis(info.timestamp);
  mail["source"] = info.source;
  mail["sourceArn"] = info.source_arn;
  mail["sendingAccountId"] = info.sending_account_id;
  mail["messageId"] = info.message_id;
  mail["destination"] = info.destination;
  if (!info.feedback_address.empty()) {
    mail["feedbackForwardingEmailAddress"] = info.feedback_address;
  }

  nlohmann::json headers = nlohmann::json::array();
  size_t total = 0;
  bool truncated = false;
  for (const auto& h : message.headers) {
    total += h.name.size() + h.value.size();
    if (total > kMaxHeaderBytes) {
      truncated = true;
      break;
    }
    headers.push_back({{"name", ToValidUtf8(h.name)}, {"value", ToValidUtf8(h.value)}});
  }
  mail["headersTruncated"] = truncated;
  mail["headers"] = std::move(headers);

  nlohmann::json common = nlohmann::json::object();
  common["from"] = AddressStrings(message, "From");
  if (message.Find("To") != nullptr) common["to"] = AddressStrings(message, "To");
  if (message.Find("Cc") != nullptr) common["cc"] = AddressStrings(message, "Cc");
  if (message.Find("Reply-To") != nullptr) common["replyTo"] = AddressStrings(message, "Reply-To");
  if (const auto* f = message.Find("Date")) common["date"] = ToValidUtf8(f->value);
  if (const auto* f = message.Find("Message-ID")) {
    std::string_view id = TrimWhitespace(f->value);
    if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
    common["messageId"] = ToValidUtf8(id);
  }
  if (const auto* f = message.Find("Subject")) {
    common["subject"] = ToValidUtf8(mail::DecodeEncodedWords(f->value));
  }
  mail["commonHeaders"] = std::move(common);

  nlohmann::json tags = nlohmann::json::object();
  for (const auto& [k, v] : info.tags) tags[k].push_back(v);
  mail["tags"] = std::move(tags);
  return mail;
}

std::string EventLine(const std::string& event_type, const nlohmann::json& mail,
                      const std::string& detail_key, nlohmann::json detail) {
  nlohmann::json ev;
  ev["eventType"] = event_type;
  ev["mail"] = mail;
  ev[detail_key] = std::move(detail);
  ev["eventId"] = NewUuid();
  return ev.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ConfigurationSetOf(const nlohmann::json& mail) {
  if (!mail.is_object()) return {};
  auto tags = mail.find("tags");
  if (tags == mail.end() || !tags->is_object()) return {};
  auto set = tags->find("ses:configuration-set");
  if (set == tags->end() || !set->is_array() || set->empty() || !(*set)[0].is_string()) return {};
  return (*set)[0].get<std::string>();
}

std::string HeaderSampleOf(const nlohmann::json& mail) {
  if (!mail.is_object()) return {};
  auto ch = mail.find("commonHeaders");
  if (ch == mail.end() || !ch->is_object()) return {};
  std::string out;
  auto line = [&out](const char* name, const nlohmann::json& v) {
    std::string value;
    if (v.is_string()) {
      value = v.get<std::string>();
    } else if (v.is_array()) {
      for (const auto& e : v) {
        if (!e.is_string()) continue;
        if (!value.empty()) value += ", ";
        value += e.get<std::string>();
      }
    }
    for (char& c : value) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    if (!value.empty()) out += std::string(name) + ": " + value + "\n";
  };
  for (const auto& [key, name] : {std::pair<const char*, const char*>{"from", "From"},
                                  {"to", "To"},
                                  {"subject", "Subject"},
                                  {"date", "Date"},
                                  {"messageId", "Message-ID"}}) {
    if (auto v = ch->find(key); v != ch->end()) line(name, *v);
  }
  return out;
}

}  // namespace herald::sending
