// api/ses_v1_notifications.cc: the SES v1 identity-notification actions
// (SetIdentityNotificationTopic, SetIdentityHeadersInNotificationsEnabled,
// SetIdentityFeedbackForwardingEnabled, GetIdentityNotificationAttributes), members of
// SesV2Api routed by DispatchV1 (ses_v1.cc). The settings are kept with each identity
// (store::Identity) and acted on by sending::IdentityNotifier and the event dispatcher.
//
// SES's rules, as herald applies them: the identity (a name, or its ARN
// "arn:aws:ses:<region>:<account>:identity/<name>") must be one of the caller's verified
// identities; a topic must be one of the caller's herald topics, named by its ARN in this
// region; removing a topic also stops the headers for that type; headers can be switched
// on only while the type has a topic; feedback forwarding can be switched off only while
// both the Bounce and the Complaint types have topics, and neither of those topics can be
// removed while it is off. Every refusal is 400 InvalidParameterValue and changes nothing.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/query_form.h"
#include "api/sesv2_api.h"
#include "api/sesv2_internal.h"
#include "base/strings.h"
#include "store/publishing_store.h"

namespace herald::api {
namespace {

constexpr size_t kMaxListedIdentities = 100;  // SES's limit per call

// The identity name in `given`: itself, or the resource of an SES identity ARN.
std::string IdentityNameOf(const std::string& given) {
  constexpr std::string_view kPrefix = "arn:aws:ses:";
  if (!std::string_view(given).starts_with(kPrefix)) return given;
  const size_t slash = given.find(":identity/");
  if (slash == std::string::npos) return given;
  return given.substr(slash + std::string_view(":identity/").size());
}

// The notification type parameter: "Bounce", "Complaint" or "Delivery".
std::optional<ApiError> ReadType(const QueryForm& form, std::string* type) {
  const std::string* t = form.Get("NotificationType");
  if (t == nullptr) return MissingQueryParameter("NotificationType");
  if (*t != "Bounce" && *t != "Complaint" && *t != "Delivery") {
    return InvalidParameterValue("Invalid notification type: " + Truncated(*t, 64) +
                                 ". Valid values are Bounce, Complaint and Delivery.");
  }
  *type = *t;
  return std::nullopt;
}

// A boolean parameter ("true" or "false", as botocore writes them).
std::optional<ApiError> ReadBool(const QueryForm& form, const char* name, bool* out) {
  const std::string* v = form.Get(name);
  if (v == nullptr) return MissingQueryParameter(name);
  const std::string lower = AsciiLower(*v);
  if (lower != "true" && lower != "false") {
    return InvalidParameterValue(std::string("Invalid value for ") + name + ": " +
                                 Truncated(*v, 32) + ". Expected true or false.");
  }
  *out = lower == "true";
  return std::nullopt;
}

std::string* TopicOf(store::Identity& id, const std::string& type) {
  if (type == "Bounce") return &id.bounce_topic;
  if (type == "Complaint") return &id.complaint_topic;
  return &id.delivery_topic;
}

bool* HeadersOf(store::Identity& id, const std::string& type) {
  if (type == "Bounce") return &id.bounce_headers;
  if (type == "Complaint") return &id.complaint_headers;
  return &id.delivery_headers;
}

const char* Bool(bool b) { return b ? "true" : "false"; }

}  // namespace

std::optional<ApiError> SesV2Api::V1FindVerifiedIdentity(Call& call, const QueryForm& form,
                                                         store::Identity* out) {
  const std::string* given = form.Get("Identity");
  if (given == nullptr) return MissingQueryParameter("Identity");
  const std::string name = IdentityNameOf(*given);
  std::string why;
  std::optional<NormalizedIdentity> norm = NormalizeIdentity(name, &why);
  const ApiError invalid =
      InvalidParameterValue("Identity " + Truncated(*given, 256) +
                            " is invalid. Must be a verified email address or domain.");
  if (!norm) return invalid;
  StatusOr<store::Identity> found = store_.GetIdentity(call.principal.account_id, norm->name);
  if (found.status().code() == StatusCode::kNotFound) return invalid;
  if (found.ok()) found = Refresh(std::move(found).value());
  if (!found.ok()) return V1ErrorFromV2(Internal(found.status(), "GetIdentity"));
  if (found->status != store::VerificationStatus::kSuccess) return invalid;
  *out = std::move(found).value();
  return std::nullopt;
}

QueryReply SesV2Api::V1SetIdentityNotificationTopic(Call& call, const QueryForm& form) {
  store::Identity id;
  if (std::optional<ApiError> e = V1FindVerifiedIdentity(call, form, &id)) {
    return QueryReply::Error(*e);
  }
  std::string type;
  if (std::optional<ApiError> e = ReadType(form, &type)) return QueryReply::Error(*e);
  const std::string* given = form.Get("SnsTopic");
  const std::string topic = given == nullptr ? "" : *given;
  if (!topic.empty()) {
    // arn:aws:sns:<this region>:<the caller's account number>:<one of its topics>
    const std::string prefix = "arn:aws:sns:" + config_.region + ":" +
                               store::AccountNumber(call.principal.account_id) + ":";
    const ApiError bad =
        InvalidParameterValue("Invalid SNS topic: " + Truncated(topic, 256) +
                              ". It must be one of your topics in " + config_.region + ".");
    if (!topic.starts_with(prefix)) return QueryReply::Error(bad);
    StatusOr<store::Topic> t =
        store_.GetTopic(call.principal.account_id, topic.substr(prefix.size()));
    if (t.status().code() == StatusCode::kNotFound) return QueryReply::Error(bad);
    if (!t.ok()) return QueryReply::Error(V1ErrorFromV2(Internal(t.status(), "GetTopic")));
  } else if (!id.feedback_forwarding && type != "Delivery") {
    return QueryReply::Error(InvalidParameterValue(
        "Cannot remove the " + type +
        " topic while feedback forwarding is disabled. Enable feedback forwarding first."));
  }
  *TopicOf(id, type) = topic;
  if (topic.empty()) *HeadersOf(id, type) = false;
  Status st = store_.SetIdentityNotifications(id);
  if (!st.ok()) {
    return QueryReply::Error(V1ErrorFromV2(Internal(st, "SetIdentityNotificationTopic")));
  }
  return QueryReply::Result("");
}

QueryReply SesV2Api::V1SetIdentityHeadersInNotificationsEnabled(Call& call, const QueryForm& form) {
  store::Identity id;
  if (std::optional<ApiError> e = V1FindVerifiedIdentity(call, form, &id)) {
    return QueryReply::Error(*e);
  }
  std::string type;
  if (std::optional<ApiError> e = ReadType(form, &type)) return QueryReply::Error(*e);
  bool enabled = false;
  if (std::optional<ApiError> e = ReadBool(form, "Enabled", &enabled)) {
    return QueryReply::Error(*e);
  }
  if (enabled && TopicOf(id, type)->empty()) {
    return QueryReply::Error(InvalidParameterValue(
        "Headers can be included only in notifications that have an SNS topic; set the " + type +
        " topic first."));
  }
  *HeadersOf(id, type) = enabled;
  Status st = store_.SetIdentityNotifications(id);
  if (!st.ok()) {
    return QueryReply::Error(
        V1ErrorFromV2(Internal(st, "SetIdentityHeadersInNotificationsEnabled")));
  }
  return QueryReply::Result("");
}

QueryReply SesV2Api::V1SetIdentityFeedbackForwardingEnabled(Call& call, const QueryForm& form) {
  store::Identity id;
  if (std::optional<ApiError> e = V1FindVerifiedIdentity(call, form, &id)) {
    return QueryReply::Error(*e);
  }
  bool enabled = false;
  if (std::optional<ApiError> e = ReadBool(form, "ForwardingEnabled", &enabled)) {
    return QueryReply::Error(*e);
  }
  if (!enabled && (id.bounce_topic.empty() || id.complaint_topic.empty())) {
    return QueryReply::Error(InvalidParameterValue(
        "Feedback forwarding can be disabled only when both bounce and complaint "
        "notifications have an SNS topic."));
  }
  id.feedback_forwarding = enabled;
  Status st = store_.SetIdentityNotifications(id);
  if (!st.ok()) {
    return QueryReply::Error(V1ErrorFromV2(Internal(st, "SetIdentityFeedbackForwardingEnabled")));
  }
  return QueryReply::Result("");
}

std::optional<ApiError> SesV2Api::V1ListedIdentities(
    Call& call, const QueryForm& form, std::vector<std::pair<std::string, store::Identity>>* out) {
  std::vector<std::string> given;
  if (std::optional<ApiError> e = form.List("Identities", kMaxListedIdentities, &given)) {
    return e;
  }
  if (given.empty() && form.Get("Identities") == nullptr) {
    return MissingQueryParameter("Identities");
  }
  // Identities the caller does not have (or that cannot be identities) are left out, as
  // SES does; each one is kept with the name as given.
  std::set<std::string> seen;
  for (const std::string& name : given) {
    if (!seen.insert(name).second) continue;
    std::string why;
    std::optional<NormalizedIdentity> norm = NormalizeIdentity(IdentityNameOf(name), &why);
    if (!norm) continue;
    StatusOr<store::Identity> found = store_.GetIdentity(call.principal.account_id, norm->name);
    if (found.status().code() == StatusCode::kNotFound) continue;
    if (!found.ok()) return V1ErrorFromV2(Internal(found.status(), "GetIdentity"));
    out->emplace_back(name, std::move(found).value());
  }
  return std::nullopt;
}

QueryReply SesV2Api::V1GetIdentityNotificationAttributes(Call& call, const QueryForm& form) {
  std::vector<std::pair<std::string, store::Identity>> listed;
  if (std::optional<ApiError> e = V1ListedIdentities(call, form, &listed)) {
    return QueryReply::Error(*e);
  }
  std::string entries;
  for (const auto& [name, id] : listed) {
    entries += "<entry>" + XmlElement("key", name) + "<value>";
    // A type without a topic has no member, as at SES.
    if (!id.bounce_topic.empty()) entries += XmlElement("BounceTopic", id.bounce_topic);
    if (!id.complaint_topic.empty()) entries += XmlElement("ComplaintTopic", id.complaint_topic);
    if (!id.delivery_topic.empty()) entries += XmlElement("DeliveryTopic", id.delivery_topic);
    entries += XmlElement("ForwardingEnabled", Bool(id.feedback_forwarding));
    entries += XmlElement("HeadersInBounceNotificationsEnabled", Bool(id.bounce_headers));
    entries += XmlElement("HeadersInComplaintNotificationsEnabled", Bool(id.complaint_headers));
    entries += XmlElement("HeadersInDeliveryNotificationsEnabled", Bool(id.delivery_headers));
    entries += "</value></entry>";
  }
  return QueryReply::Result("<NotificationAttributes>" + entries + "</NotificationAttributes>");
}

}  // namespace herald::api
