// store/publishing_store.cc: the argument checks of store/publishing_store.h.
#include "store/publishing_store.h"

#include <string>
#include <string_view>

#include "base/crypto.h"
#include "store/store.h"

namespace herald::store {
namespace {

Status CheckPart(std::string_view what, const std::string& text, size_t max) {
  if (text.size() > max) return InvalidArgumentError(std::string(what) + " is too long");
  if (text.find('\0') != std::string::npos) {
    return InvalidArgumentError(std::string(what) + " contains a NUL byte");
  }
  return Status::Ok();
}

}  // namespace

std::string TopicArn(const std::string& region, int64_t account_id, const std::string& topic) {
  return "arn:aws:sns:" + region + ":" + AccountNumber(account_id) + ":" + topic;
}

std::string SubscriptionArn(const std::string& topic_arn, const std::string& token) {
  const std::string h = Sha256Hex("herald-subscription:" + token);
  return topic_arn + ":" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
         h.substr(16, 4) + "-" + h.substr(20, 12);
}

std::optional<int64_t> AccountIdOfNumber(std::string_view number) {
  if (number.size() != 12) return std::nullopt;
  int64_t n = 0;
  for (char c : number) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  const int64_t id = n - 100000000000LL;
  if (id <= 0 || AccountNumber(id) != number) return std::nullopt;
  return id;
}

bool IsTemplateName(std::string_view name) { return IsPlainName(name, kMaxTemplateNameLength); }

bool IsTopicName(std::string_view name) { return IsPlainName(name, kMaxTopicNameLength); }

Status ValidateTemplate(const EmailTemplate& t) {
  if (!IsTemplateName(t.name)) {
    return InvalidArgumentError("template name must be 1 to 64 letters, digits, '_' or '-'");
  }
  RETURN_IF_ERROR(CheckPart("template subject", t.subject, kMaxTemplatePartLength));
  RETURN_IF_ERROR(CheckPart("template text", t.text, kMaxTemplatePartLength));
  RETURN_IF_ERROR(CheckPart("template html", t.html, kMaxTemplatePartLength));
  return CheckPart("template tags", t.tags_json, kMaxTagsJsonLength);
}

Status ValidateEventDestination(const EventDestinationRow& d) {
  if (!IsConfigurationSetName(d.configuration_set)) {
    return InvalidArgumentError("bad configuration set name");
  }
  if (!IsPlainName(d.name, kMaxConfigurationSetNameLength)) {
    return InvalidArgumentError(
        "event destination name must be 1 to 64 letters, digits, '_' or '-'");
  }
  static constexpr std::string_view kKinds[] = {"sns",      "webhook",     "kafka",   "metrics",
                                                "firehose", "eventbridge", "pinpoint"};
  bool known = false;
  for (std::string_view k : kKinds) known = known || d.kind == k;
  if (!known) return InvalidArgumentError("unknown event destination kind");
  static constexpr std::string_view kTypes[] = {
      "SEND",           "REJECT",      "BOUNCE", "COMPLAINT",
      "DELIVERY",       "OPEN",        "CLICK",  "RENDERING_FAILURE",
      "DELIVERY_DELAY", "SUBSCRIPTION"};
  if (d.matching_types.size() > std::size(kTypes)) {
    return InvalidArgumentError("too many event types");
  }
  for (const std::string& t : d.matching_types) {
    bool ok = false;
    for (std::string_view k : kTypes) ok = ok || t == k;
    if (!ok) return InvalidArgumentError("unknown event type " + t);
  }
  return CheckPart("event destination", d.spec_json, kMaxDestinationSpecLength);
}

}  // namespace herald::store
