// store/audience_store.cc: the argument checks and the topic rule of
// store/audience_store.h.
#include "store/audience_store.h"

#include <set>
#include <string>
#include <string_view>

#include "base/strings.h"
#include "store/store.h"

namespace herald::store {
namespace {

constexpr size_t kMaxContactTopicNameLength = 64;

// Characters of UTF-8 text (bytes that do not continue a sequence); invalid UTF-8 counts
// its lead and stray bytes, which is enough for a bound.
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

Status CheckChars(const std::string& what, const std::string& value, size_t min, size_t max) {
  const size_t n = CodePoints(value);
  if (n < min || n > max) {
    return InvalidArgumentError(what + " must be " + std::to_string(min) + " to " +
                                std::to_string(max) + " characters");
  }
  if (value.find('\0') != std::string::npos) {
    return InvalidArgumentError(what + " contains a NUL byte");
  }
  return Status::Ok();
}

}  // namespace

bool IsContactListName(std::string_view name) {
  return IsPlainName(name, kMaxContactListNameLength);
}

bool IsContactTopicName(std::string_view name) {
  return IsPlainName(name, kMaxContactTopicNameLength);
}

bool IsContactAddress(std::string_view address) {
  if (address.size() < 3 || address.size() > kMaxEmailLength) return false;
  const size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) return false;
  for (unsigned char c : address) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string ContactKey(std::string_view address) { return AsciiLower(address); }

Status ValidateContactList(const ContactListRow& list) {
  if (!IsContactListName(list.name)) {
    return InvalidArgumentError("contact list name must be 1 to 64 letters, digits, '_' or '-'");
  }
  RETURN_IF_ERROR(
      CheckChars("contact list description", list.description, 0, kMaxDescriptionLength));
  if (list.topics.size() > kMaxContactListTopics) {
    return InvalidArgumentError("a contact list has at most " +
                                std::to_string(kMaxContactListTopics) + " topics");
  }
  std::set<std::string_view> names;
  for (const ContactListTopic& t : list.topics) {
    if (!IsContactTopicName(t.name)) {
      return InvalidArgumentError("topic name must be 1 to 64 letters, digits, '_' or '-'");
    }
    if (!names.insert(t.name).second) {
      return InvalidArgumentError("topic " + t.name + " appears more than once");
    }
    RETURN_IF_ERROR(
        CheckChars("topic display name", t.display_name, 1, kMaxTopicDisplayNameLength));
    RETURN_IF_ERROR(CheckChars("topic description", t.description, 0, kMaxDescriptionLength));
  }
  if (list.tags_json.size() > kMaxTagsJsonLength ||
      list.tags_json.find('\0') != std::string::npos) {
    return InvalidArgumentError("contact list tags are too long or contain a NUL byte");
  }
  return Status::Ok();
}

Status ValidateContact(const ContactRow& contact) {
  if (!IsContactListName(contact.list_name)) {
    return InvalidArgumentError("contact list name must be 1 to 64 letters, digits, '_' or '-'");
  }
  if (!IsContactAddress(contact.email)) {
    return InvalidArgumentError(
        "contact address must be 3 to 320 octets with an '@', without "
        "whitespace or control characters");
  }
  if (contact.topic_preferences.size() > kMaxTopicPreferences) {
    return InvalidArgumentError("too many topic preferences");
  }
  std::set<std::string_view> names;
  for (const auto& [topic, opted_in] : contact.topic_preferences) {
    if (!IsContactTopicName(topic)) {
      return InvalidArgumentError("topic name must be 1 to 64 letters, digits, '_' or '-'");
    }
    if (!names.insert(topic).second) {
      return InvalidArgumentError("topic " + topic + " has more than one preference");
    }
  }
  if (contact.attributes_json.size() > kMaxContactAttributesLength ||
      contact.attributes_json.find('\0') != std::string::npos) {
    return InvalidArgumentError("contact attributes are longer than " +
                                std::to_string(kMaxContactAttributesLength) +
                                " bytes or contain a NUL byte");
  }
  return Status::Ok();
}

Status ValidateEngagement(const EngagementRow& row) {
  if (row.message_id.empty() || row.message_id.size() > kMaxSuppressionIdLength ||
      row.message_id.find('\0') != std::string::npos) {
    return InvalidArgumentError("engagement message id must be 1 to 256 bytes without NUL");
  }
  if (row.recipient.size() > kMaxEmailLength || row.recipient.find('\0') != std::string::npos) {
    return InvalidArgumentError("engagement recipient is too long or contains a NUL byte");
  }
  if (!row.configuration_set.empty() && !IsConfigurationSetName(row.configuration_set)) {
    return InvalidArgumentError("bad configuration set name");
  }
  if (row.kind != EngagementRow::kOpen && row.kind != EngagementRow::kClick) {
    return InvalidArgumentError("unknown engagement kind");
  }
  return Status::Ok();
}

const char* EngagementKindName(EngagementRow::Kind kind) {
  return kind == EngagementRow::kClick ? "CLICK" : "OPEN";
}

bool ContactWantsTopic(const ContactListRow& list, const ContactRow& contact,
                       std::string_view topic) {
  if (contact.unsubscribe_all) return false;
  if (topic.empty()) return true;
  for (const ContactListTopic& t : list.topics) {
    if (t.name != topic) continue;
    for (const auto& [name, opted_in] : contact.topic_preferences) {
      if (name == topic) return opted_in;
    }
    return t.default_opt_in;
  }
  return false;
}

}  // namespace herald::store
