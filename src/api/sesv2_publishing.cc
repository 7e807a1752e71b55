// api/sesv2_publishing.cc: the SESv2 operations on templates, bulk sending and
// configuration set event destinations (see sesv2_api.h for the contract).
#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/send_email_request.h"
#include "api/sesv2_api.h"
#include "api/sesv2_internal.h"
#include "base/strings.h"
#include "mail/mime_builder.h"
#include "store/publishing_store.h"

namespace herald::api {
namespace {

constexpr int kMaxTemplatePageSize = 100;  // ListEmailTemplates (SES's model)
constexpr int kDefaultTemplatePageSize = 10;
constexpr size_t kMaxBulkEntries = 50;  // SES: at most 50 entries per SendBulkEmail
constexpr size_t kMaxDimensions = 10;   // herald's bound per CloudWatch destination

std::string TemplateNotFound(std::string_view name) {
  return "Template " + Truncated(name) + " does not exist.";
}

// TemplateContent {Subject, Text, Html}: at least one part, each a bounded string.
std::optional<ApiError> ParseTemplateContent(const json& j, std::string_view prefix,
                                             store::EmailTemplate* t) {
  const json* content = nullptr;
  RETURN_IF_API_ERROR(OptStruct(j, "", "TemplateContent", &content));
  if (content == nullptr) {
    return MissingParam("TemplateContent");
  }
  std::optional<std::string> subject;
  std::optional<std::string> text;
  std::optional<std::string> html;
  RETURN_IF_API_ERROR(OptString(*content, prefix, "Subject", &subject));
  RETURN_IF_API_ERROR(OptString(*content, prefix, "Text", &text));
  RETURN_IF_API_ERROR(OptString(*content, prefix, "Html", &html));
  if (!subject && !text && !html) {
    return BadRequest("Invalid value for " + std::string(prefix) +
                      ": at least one of Subject, Text or Html is required.");
  }
  t->subject = subject.value_or("");
  t->text = text.value_or("");
  t->html = html.value_or("");
  for (const std::string* part : {&t->subject, &t->text, &t->html}) {
    if (part->size() > store::kMaxTemplatePartLength) {
      return BadRequest("Invalid value for " + std::string(prefix) +
                        ": a template part is larger than 500 KB.");
    }
    if (part->find('\0') != std::string::npos) {
      return BadRequest("Invalid value for " + std::string(prefix) + ": NUL is not allowed.");
    }
  }
  return std::nullopt;
}

json TemplateContentJson(const store::EmailTemplate& t) {
  json c = json::object();
  if (!t.subject.empty()) c["Subject"] = t.subject;
  if (!t.text.empty()) c["Text"] = t.text;
  if (!t.html.empty()) c["Html"] = t.html;
  return c;
}

// The ten SES event types, in the model's order.
constexpr std::string_view kEventTypes[] = {
    "SEND",           "REJECT",      "BOUNCE", "COMPLAINT",
    "DELIVERY",       "OPEN",        "CLICK",  "RENDERING_FAILURE",
    "DELIVERY_DELAY", "SUBSCRIPTION"};

bool IsDimensionName(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// "arn:aws:<service>:<region>:<account>:<resource>": the resource when the other parts
// match, else nullopt.
std::optional<std::string> ArnResource(std::string_view arn, std::string_view service,
                                       std::string_view region, std::string_view account) {
  const std::string prefix = "arn:aws:" + std::string(service) + ":" + std::string(region) + ":" +
                             std::string(account) + ":";
  if (!arn.starts_with(prefix) || arn.size() == prefix.size() || arn.size() > 2048) {
    return std::nullopt;
  }
  return std::string(arn.substr(prefix.size()));
}

// DefaultDimensionValue: letters, digits, '_', '-', '@' and '.', at most 256 (SESv2's
// documentation of CloudWatchDimensionConfiguration).
bool IsDimensionValue(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '@' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsStreamName(std::string_view s) {
  if (s.empty() || s.size() > 249) return false;  // Kafka's topic name limit
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

// ---- Templates ---------------------------------------------------------------------------

HttpResponse SesV2Api::CreateEmailTemplate(Call& call) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<std::string> name;
  if (std::optional<ApiError> e = OptString(j, "", "TemplateName", &name)) {
    return ErrorResponse(*e);
  }
  if (!name) {
    return ErrorResponse(MissingParam("TemplateName"));
  }
  if (!store::IsTemplateName(*name)) {
    return ErrorResponse(BadRequest(
        "Invalid value for TemplateName: 1 to 64 ASCII letters, digits, '_' or '-' are required."));
  }
  store::EmailTemplate t;
  t.account_id = call.principal.account_id;
  t.name = *name;
  t.created = t.updated = clock_.Now();
  if (std::optional<ApiError> e = ParseTemplateContent(j, "TemplateContent", &t)) {
    return ErrorResponse(*e);
  }
  json tags;
  if (std::optional<ApiError> e = ParseTags(j, &tags)) {
    return ErrorResponse(*e);
  }
  if (!tags.empty()) t.tags_json = DumpJson(tags);
  Status st = store_.CreateTemplate(t);
  if (st.code() == StatusCode::kAlreadyExists) {
    return ErrorResponse(ApiError{400, "AlreadyExistsException",
                                  "Template " + Truncated(*name) + " already exists."});
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "CreateEmailTemplate"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::GetEmailTemplate(Call& call, const std::string& name) {
  StatusOr<store::EmailTemplate> t = store_.GetTemplate(call.principal.account_id, name);
  if (t.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(TemplateNotFound(name)));
  }
  if (!t.ok()) {
    return ErrorResponse(Internal(t.status(), "GetEmailTemplate"));
  }
  json body = {{"TemplateName", t->name}, {"TemplateContent", TemplateContentJson(*t)}};
  if (!t->tags_json.empty()) body["Tags"] = StoredTags(t->tags_json);
  return JsonResponse(200, body);
}

HttpResponse SesV2Api::UpdateEmailTemplate(Call& call, const std::string& name) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  store::EmailTemplate t;
  t.account_id = call.principal.account_id;
  t.name = name;
  t.updated = clock_.Now();
  if (std::optional<ApiError> e = ParseTemplateContent(j, "TemplateContent", &t)) {
    return ErrorResponse(*e);
  }
  Status st =
      store::IsTemplateName(name) ? store_.UpdateTemplate(t) : NotFoundError("not a template name");
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(TemplateNotFound(name)));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "UpdateEmailTemplate"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::DeleteEmailTemplate(Call& call, const std::string& name) {
  Status st = store_.DeleteTemplate(call.principal.account_id, name);
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(TemplateNotFound(name)));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "DeleteEmailTemplate"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::ListEmailTemplates(Call& call) {
  bool malformed = false;
  int page = kDefaultTemplatePageSize;
  std::optional<std::string> size = QueryParam(call.query, "PageSize", &malformed);
  if (size) {
    int v = 0;
    const auto [end, ec] = std::from_chars(size->data(), size->data() + size->size(), v);
    if (ec != std::errc() || end != size->data() + size->size() || v < 1 ||
        v > kMaxTemplatePageSize) {
      return ErrorResponse(BadRequest("Invalid value for PageSize: it must be between 1 and 100."));
    }
    page = v;
  }
  std::string after;
  std::optional<std::string> token = QueryParam(call.query, "NextToken", &malformed);
  if (malformed) {
    return ErrorResponse(BadRequest("Invalid percent-encoding in the query string."));
  }
  if (token) {
    std::optional<std::string> decoded = DecodeNextToken(*token);
    if (!decoded) {
      return ErrorResponse(BadRequest("Invalid NextToken."));
    }
    after = *decoded;
  }
  StatusOr<std::vector<store::EmailTemplate>> list =
      store_.ListTemplates(call.principal.account_id, after, page + 1);
  if (!list.ok()) {
    return ErrorResponse(Internal(list.status(), "ListEmailTemplates"));
  }
  const size_t n = std::min(list->size(), static_cast<size_t>(page));
  json items = json::array();
  for (size_t i = 0; i < n; ++i) {
    items.push_back({{"TemplateName", (*list)[i].name},
                     {"CreatedTimestamp", UnixMillis((*list)[i].created) / 1000.0}});
  }
  json body = {{"TemplatesMetadata", std::move(items)}};
  if (list->size() > n) {
    body["NextToken"] = EncodeNextToken((*list)[n - 1].name);
  }
  return JsonResponse(200, body);
}

HttpResponse SesV2Api::TestRenderEmailTemplate(Call& call, const std::string& name) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<std::string> data_text;
  if (std::optional<ApiError> e = OptString(j, "", "TemplateData", &data_text)) {
    return ErrorResponse(*e);
  }
  if (!data_text) {
    return ErrorResponse(MissingParam("TemplateData"));
  }
  if (data_text->size() > SendEmailLimits{}.max_template_data_bytes) {
    return ErrorResponse(BadRequest("Invalid value for TemplateData: it is too large."));
  }
  json data;
  if (ParseJsonObject(*data_text, &data)) {
    return ErrorResponse(BadRequest("Invalid value for TemplateData: must be a JSON object."));
  }
  StatusOr<store::EmailTemplate> t = store_.GetTemplate(call.principal.account_id, name);
  if (t.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(TemplateNotFound(name)));
  }
  if (!t.ok()) {
    return ErrorResponse(Internal(t.status(), "TestRenderEmailTemplate"));
  }
  TemplateParts rendered;
  std::string failure;
  RenderTemplateParts(TemplateParts{t->subject, t->text, t->html}, data, config_.max_message_bytes,
                      &rendered, &failure);
  if (!failure.empty()) {
    return ErrorResponse(BadRequest(failure));
  }
  // The MIME message SES shows: the rendered subject and parts, without sender or
  // recipients (none are known here).
  mail::SimpleMessage msg;
  msg.from = "render@herald.invalid";  // BuildMime needs one; removed below
  msg.subject = rendered.subject;
  msg.text = rendered.text;
  msg.html = rendered.html;
  StatusOr<std::string> mime = mail::BuildMime(msg);
  if (!mime.ok()) {
    return ErrorResponse(
        BadRequest("The rendered template is not a valid message: " + mime.status().message()));
  }
  std::string text = std::move(mime).value();
  const std::string from_line = "From: render@herald.invalid\r\n";
  if (size_t at = text.find(from_line); at != std::string::npos) text.erase(at, from_line.size());
  return JsonResponse(200, json{{"RenderedTemplate", std::move(text)}});
}

// ---- SendBulkEmail -------------------------------------------------------------------------

namespace {

// BulkEmailEntryResult.Status for a rejected entry.
const char* BulkStatusFor(sending::RejectKind kind) {
  using sending::RejectKind;
  switch (kind) {
    case RejectKind::kMessageRejected:
    case RejectKind::kNotVerified:
    case RejectKind::kTooLarge:
      return "MESSAGE_REJECTED";
    case RejectKind::kBadRequest:
    case RejectKind::kNotFound:
      return "INVALID_PARAMETER";
    case RejectKind::kSendingPaused:
      return "ACCOUNT_SENDING_PAUSED";
    case RejectKind::kConfigSetPaused:
      return "CONFIGURATION_SET_SENDING_PAUSED";
    case RejectKind::kAccountSuspended:
      return "ACCOUNT_SUSPENDED";
    case RejectKind::kConfigSetNotFound:
      return "CONFIGURATION_SET_NOT_FOUND";
    case RejectKind::kMaxSendRate:
      return "ACCOUNT_THROTTLED";
    case RejectKind::kDailyQuota:
      return "ACCOUNT_DAILY_QUOTA_EXCEEDED";
    case RejectKind::kTemporary:
      return "TRANSIENT_FAILURE";
  }
  return "FAILED";
}

}  // namespace

HttpResponse SesV2Api::SendBulkEmail(Call& call) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  const json* default_content = nullptr;
  if (std::optional<ApiError> e = OptStruct(j, "", "DefaultContent", &default_content)) {
    return ErrorResponse(*e);
  }
  if (default_content == nullptr) {
    return ErrorResponse(MissingParam("DefaultContent"));
  }
  const json* tmpl = nullptr;
  if (std::optional<ApiError> e =
          OptStruct(*default_content, "DefaultContent", "Template", &tmpl)) {
    return ErrorResponse(*e);
  }
  if (tmpl == nullptr) {
    return ErrorResponse(MissingParam("DefaultContent.Template"));
  }
  const json* entries = Member(j, "BulkEmailEntries");
  if (entries == nullptr) {
    return ErrorResponse(MissingParam("BulkEmailEntries"));
  }
  if (!entries->is_array()) {
    return ErrorResponse(WrongType("BulkEmailEntries", "a list"));
  }
  if (entries->empty()) {
    return ErrorResponse(BadRequest("BulkEmailEntries must contain at least one entry."));
  }
  if (entries->size() > kMaxBulkEntries) {
    return ErrorResponse(
        ApiError{400, "BadRequestException", "Too many BulkEmailEntries: at most 50 are allowed."});
  }
  std::optional<std::string> default_data_text;
  if (std::optional<ApiError> e =
          OptString(*tmpl, "DefaultContent.Template", "TemplateData", &default_data_text)) {
    return ErrorResponse(*e);
  }
  json default_data = json::object();
  if (default_data_text && ParseJsonObject(*default_data_text, &default_data)) {
    return ErrorResponse(BadRequest(
        "Invalid value for DefaultContent.Template.TemplateData: must be a JSON object."));
  }

  // Each entry becomes one SendEmail request: the shared members, the entry's destination,
  // its tags (replacing the defaults), its headers (added to the defaults) and its data
  // merged over the default data (top-level keys of the entry win).
  TemplateLookup lookup = [this, &call](const std::string& name) -> StatusOr<TemplateParts> {
    ASSIGN_OR_RETURN(store::EmailTemplate t, store_.GetTemplate(call.principal.account_id, name));
    return TemplateParts{t.subject, t.text, t.html};
  };
  SendEmailLimits limits;
  limits.max_recipients = config_.max_recipients;
  limits.max_message_bytes = config_.max_message_bytes;
  json results = json::array();
  for (const json& entry : *entries) {
    json one = json::object();
    for (const char* member : {"FromEmailAddress", "ReplyToAddresses",
                               "FeedbackForwardingEmailAddress", "ConfigurationSetName"}) {
      if (const json* v = Member(j, member)) one[member] = *v;
    }
    json content_template = *tmpl;
    json data = default_data;
    if (!entry.is_object()) {
      return ErrorResponse(WrongType("BulkEmailEntries[]", "a structure"));
    }
    if (const json* d = Member(entry, "Destination")) {
      one["Destination"] = *d;
    } else {
      return ErrorResponse(MissingParam("BulkEmailEntries[].Destination"));
    }
    if (const json* tags = Member(entry, "ReplacementTags")) {
      one["EmailTags"] = *tags;
    } else if (const json* tags = Member(j, "DefaultEmailTags")) {
      one["EmailTags"] = *tags;
    }
    if (const json* headers = Member(entry, "ReplacementHeaders")) {
      if (!headers->is_array()) {
        return ErrorResponse(WrongType("BulkEmailEntries[].ReplacementHeaders", "a list"));
      }
      json merged = content_template.contains("Headers") && content_template["Headers"].is_array()
                        ? content_template["Headers"]
                        : json::array();
      for (const json& h : *headers) merged.push_back(h);
      content_template["Headers"] = std::move(merged);
    }
    if (const json* rc = Member(entry, "ReplacementEmailContent")) {
      const json* rt = rc->is_object() ? Member(*rc, "ReplacementTemplate") : nullptr;
      const json* rd =
          rt != nullptr && rt->is_object() ? Member(*rt, "ReplacementTemplateData") : nullptr;
      if (rd != nullptr) {
        json entry_data;
        if (!rd->is_string() || ParseJsonObject(rd->get<std::string>(), &entry_data)) {
          results.push_back(
              {{"Status", "INVALID_PARAMETER"},
               {"Error", "ReplacementTemplateData must be a JSON object in a string."}});
          continue;
        }
        for (auto& [k, v] : entry_data.items()) data[k] = v;
      }
    }
    content_template["TemplateData"] = DumpJson(data);
    one["Content"] = {{"Template", std::move(content_template)}};

    sending::Submission sub;
    if (std::optional<ApiError> e = ParseSendEmailRequest(DumpJson(one), limits, &sub, &lookup)) {
      const char* status = e->code == "NotFoundException" ? "TEMPLATE_NOT_FOUND"
                           : e->status >= 500             ? "TRANSIENT_FAILURE"
                                                          : "INVALID_PARAMETER";
      results.push_back({{"Status", status}, {"Error", e->message}});
      continue;
    }
    sub.operation = "SendBulkEmail";
    sub.principal = call.principal;
    sending::SubmitResult result = sending_.Submit(sub);
    if (const auto* accepted = std::get_if<sending::Accepted>(&result)) {
      results.push_back({{"Status", "SUCCESS"}, {"MessageId", accepted->message_id}});
    } else {
      const auto& rejection = std::get<sending::Rejection>(result);
      results.push_back({{"Status", BulkStatusFor(rejection.kind)}, {"Error", rejection.message}});
    }
  }
  return JsonResponse(200, json{{"BulkEmailEntryResults", std::move(results)}});
}

// ---- Event destinations --------------------------------------------------------------------

std::optional<ApiError> SesV2Api::ParseEventDestination(const json& def, std::string_view prefix,
                                                        int64_t account_id,
                                                        store::EventDestinationRow* row) {
  std::optional<bool> enabled;
  RETURN_IF_API_ERROR(OptBool(def, prefix, "Enabled", &enabled));
  row->enabled = enabled.value_or(false);
  row->matching_types.clear();
  if (const json* types = Member(def, "MatchingEventTypes")) {
    if (!types->is_array()) {
      return WrongType(Param(prefix, "MatchingEventTypes"), "a list");
    }
    for (const json& t : *types) {
      if (!t.is_string()) {
        return WrongType(Param(prefix, "MatchingEventTypes[]"), "a string");
      }
      const std::string v = t.get<std::string>();
      if (std::find(std::begin(kEventTypes), std::end(kEventTypes), v) == std::end(kEventTypes)) {
        return BadRequest("Invalid value for " + Param(prefix, "MatchingEventTypes") + ": " +
                          Truncated(v) + " is not an event type.");
      }
      if (std::find(row->matching_types.begin(), row->matching_types.end(), v) ==
          row->matching_types.end()) {
        row->matching_types.push_back(v);
      }
    }
  }
  if (row->matching_types.empty()) {
    return BadRequest("Invalid value for " + Param(prefix, "MatchingEventTypes") +
                      ": at least one event type is required.");
  }
  static constexpr const char* kKinds[][2] = {{"SnsDestination", "sns"},
                                              {"KinesisFirehoseDestination", "firehose"},
                                              {"EventBridgeDestination", "eventbridge"},
                                              {"CloudWatchDestination", "metrics"},
                                              {"PinpointDestination", "pinpoint"}};
  const json* given = nullptr;
  const char* member = nullptr;
  for (const auto& [m, kind] : kKinds) {
    const json* g = nullptr;
    RETURN_IF_API_ERROR(OptStruct(def, prefix, m, &g));
    if (g == nullptr) continue;
    if (given != nullptr) {
      return BadRequest("An event destination must have exactly one destination type.");
    }
    given = g;
    member = m;
    row->kind = kind;
  }
  if (given == nullptr) {
    return BadRequest("An event destination must have exactly one destination type.");
  }
  const std::string p = Param(prefix, member);
  const std::string account = store::AccountNumber(account_id);
  json spec = json::object();
  if (row->kind == "sns") {
    std::optional<std::string> arn;
    RETURN_IF_API_ERROR(OptString(*given, p, "TopicArn", &arn));
    if (!arn) return MissingParam(Param(p, "TopicArn"));
    std::optional<std::string> topic = ArnResource(*arn, "sns", config_.region, account);
    if (!topic || !store::IsTopicName(*topic)) {
      return BadRequest("Invalid value for " + Param(p, "TopicArn") + ": " + Truncated(*arn) +
                        " is not a topic ARN of this account and region.");
    }
    StatusOr<store::Topic> t = store_.GetTopic(account_id, *topic);
    if (t.status().code() == StatusCode::kNotFound) {
      return BadRequest("Could not access SNS topic " + Truncated(*arn) + ": it does not exist.");
    }
    if (!t.ok()) return Internal(t.status(), "GetTopic");
    spec["TopicArn"] = *arn;
  } else if (row->kind == "firehose" || row->kind == "eventbridge") {
    const bool firehose = row->kind == "firehose";
    const char* arn_member = firehose ? "DeliveryStreamArn" : "EventBusArn";
    std::optional<std::string> arn;
    RETURN_IF_API_ERROR(OptString(*given, p, arn_member, &arn));
    if (!arn) return MissingParam(Param(p, arn_member));
    std::optional<std::string> role;
    if (firehose) {
      RETURN_IF_API_ERROR(OptString(*given, p, "IamRoleArn", &role));
      if (!role) return MissingParam(Param(p, "IamRoleArn"));
    }
    std::optional<std::string> resource =
        ArnResource(*arn, firehose ? "firehose" : "events", config_.region, account);
    const std::string_view kind_prefix = firehose ? "deliverystream/" : "event-bus/";
    if (!resource || !resource->starts_with(kind_prefix) ||
        !IsStreamName(std::string_view(*resource).substr(kind_prefix.size()))) {
      return BadRequest("Invalid value for " + Param(p, arn_member) + ": " + Truncated(*arn) +
                        " is not an ARN of this account and region.");
    }
    if (!config_.kafka_enabled) {
      return BadRequest("Invalid value for " + p +
                        ": this herald has no Kafka cluster configured ([events] kafka_brokers).");
    }
    spec[arn_member] = *arn;
    if (role) spec["IamRoleArn"] = *role;
  } else if (row->kind == "metrics") {
    const json* dims = Member(*given, "DimensionConfigurations");
    if (dims == nullptr) return MissingParam(Param(p, "DimensionConfigurations"));
    if (!dims->is_array()) return WrongType(Param(p, "DimensionConfigurations"), "a list");
    if (dims->size() > kMaxDimensions) {
      return BadRequest("Invalid value for " + Param(p, "DimensionConfigurations") +
                        ": at most 10 dimensions are allowed.");
    }
    json out = json::array();
    const std::string dp = Param(p, "DimensionConfigurations[]");
    for (const json& d : *dims) {
      if (!d.is_object()) return WrongType(dp, "a structure");
      std::optional<std::string> name;
      std::optional<std::string> source;
      std::optional<std::string> def_value;
      RETURN_IF_API_ERROR(OptString(d, dp, "DimensionName", &name));
      RETURN_IF_API_ERROR(OptEnum(d, dp, "DimensionValueSource",
                                  {"MESSAGE_TAG", "EMAIL_HEADER", "LINK_TAG"}, &source));
      RETURN_IF_API_ERROR(OptString(d, dp, "DefaultDimensionValue", &def_value));
      if (!name) return MissingParam(Param(dp, "DimensionName"));
      if (!source) return MissingParam(Param(dp, "DimensionValueSource"));
      if (!def_value) return MissingParam(Param(dp, "DefaultDimensionValue"));
      if (!IsDimensionName(*name)) {
        return BadRequest("Invalid value for " + Param(dp, "DimensionName") +
                          ": 1 to 255 letters, digits, '_', '-' or ':' are required.");
      }
      if (!IsDimensionValue(*def_value)) {
        return BadRequest("Invalid value for " + Param(dp, "DefaultDimensionValue") +
                          ": 1 to 256 letters, digits, '_', '-', '@' or '.' are required.");
      }
      out.push_back({{"DimensionName", *name},
                     {"DimensionValueSource", *source},
                     {"DefaultDimensionValue", *def_value}});
    }
    spec["DimensionConfigurations"] = std::move(out);
  } else {
    return BadRequest("Invalid value for " + p +
                      ": herald does not publish to Amazon Pinpoint; use SnsDestination, "
                      "KinesisFirehoseDestination, EventBridgeDestination or "
                      "CloudWatchDestination.");
  }
  row->spec_json = DumpJson(spec);
  if (row->spec_json.size() > store::kMaxDestinationSpecLength) {
    return BadRequest("Invalid value for " + p + ": it is too large.");
  }
  return std::nullopt;
}

HttpResponse SesV2Api::CreateConfigurationSetEventDestination(Call& call, const std::string& set) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<std::string> name;
  if (std::optional<ApiError> e = OptString(j, "", "EventDestinationName", &name)) {
    return ErrorResponse(*e);
  }
  if (!name) {
    return ErrorResponse(MissingParam("EventDestinationName"));
  }
  if (!store::IsConfigurationSetName(*name)) {
    return ErrorResponse(BadRequest(
        "Invalid value for EventDestinationName: 1 to 64 ASCII letters, digits, '_' or '-' are "
        "required."));
  }
  const json* def = nullptr;
  if (std::optional<ApiError> e = OptStruct(j, "", "EventDestination", &def)) {
    return ErrorResponse(*e);
  }
  if (def == nullptr) {
    return ErrorResponse(MissingParam("EventDestination"));
  }
  store::EventDestinationRow row;
  row.account_id = call.principal.account_id;
  row.configuration_set = set;
  row.name = *name;
  row.created = row.updated = clock_.Now();
  if (std::optional<ApiError> e =
          ParseEventDestination(*def, "EventDestination", call.principal.account_id, &row)) {
    return ErrorResponse(*e);
  }
  StatusOr<std::vector<store::EventDestinationRow>> existing =
      store::IsConfigurationSetName(set)
          ? store_.ListEventDestinations(call.principal.account_id, set)
          : StatusOr<std::vector<store::EventDestinationRow>>(NotFoundError("bad name"));
  if (existing.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(ConfigSetNotFound(set)));
  }
  if (!existing.ok()) {
    return ErrorResponse(Internal(existing.status(), "CreateConfigurationSetEventDestination"));
  }
  for (const auto& d : *existing) {
    if (d.name == *name) {
      return ErrorResponse(ApiError{400, "AlreadyExistsException",
                                    "Event destination " + *name + " already exists."});
    }
  }
  if (existing->size() >= static_cast<size_t>(config_.max_event_destinations)) {
    return ErrorResponse(ApiError{
        400, "LimitExceededException",
        "Maximum number of event destinations for configuration set " + set + " exceeded."});
  }
  const uint64_t start = config_.event_log_end ? config_.event_log_end() : 0;
  StatusOr<int64_t> id = store_.CreateEventDestination(row, start);
  if (id.status().code() == StatusCode::kAlreadyExists) {
    return ErrorResponse(
        ApiError{400, "AlreadyExistsException", "Event destination " + *name + " already exists."});
  }
  if (id.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(ConfigSetNotFound(set)));
  }
  if (!id.ok()) {
    return ErrorResponse(Internal(id.status(), "CreateConfigurationSetEventDestination"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::GetConfigurationSetEventDestinations(Call& call, const std::string& set) {
  StatusOr<std::vector<store::EventDestinationRow>> list =
      store::IsConfigurationSetName(set)
          ? store_.ListEventDestinations(call.principal.account_id, set)
          : StatusOr<std::vector<store::EventDestinationRow>>(NotFoundError("bad name"));
  if (list.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(ConfigSetNotFound(set)));
  }
  if (!list.ok()) {
    return ErrorResponse(Internal(list.status(), "GetConfigurationSetEventDestinations"));
  }
  static constexpr const char* kMembers[][2] = {{"sns", "SnsDestination"},
                                                {"firehose", "KinesisFirehoseDestination"},
                                                {"eventbridge", "EventBridgeDestination"},
                                                {"metrics", "CloudWatchDestination"}};
  json out = json::array();
  for (const auto& d : *list) {
    json e = {{"Name", d.name}, {"Enabled", d.enabled}, {"MatchingEventTypes", d.matching_types}};
    json spec = json::parse(d.spec_json, nullptr, false);
    if (spec.is_discarded()) spec = json::object();
    for (const auto& [kind, member] : kMembers) {
      if (d.kind == kind) e[member] = spec;
    }
    out.push_back(std::move(e));
  }
  return JsonResponse(200, json{{"EventDestinations", std::move(out)}});
}

HttpResponse SesV2Api::UpdateConfigurationSetEventDestination(Call& call, const std::string& set,
                                                              const std::string& name) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  const json* def = nullptr;
  if (std::optional<ApiError> e = OptStruct(j, "", "EventDestination", &def)) {
    return ErrorResponse(*e);
  }
  if (def == nullptr) {
    return ErrorResponse(MissingParam("EventDestination"));
  }
  store::EventDestinationRow row;
  row.account_id = call.principal.account_id;
  row.configuration_set = set;
  row.name = name;
  row.updated = clock_.Now();
  if (std::optional<ApiError> e =
          ParseEventDestination(*def, "EventDestination", call.principal.account_id, &row)) {
    return ErrorResponse(*e);
  }
  Status st = store::IsConfigurationSetName(set) && store::IsConfigurationSetName(name)
                  ? store_.UpdateEventDestination(row)
                  : NotFoundError("bad name");
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound("Event destination " + Truncated(name) + " does not exist."));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "UpdateConfigurationSetEventDestination"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::DeleteConfigurationSetEventDestination(Call& call, const std::string& set,
                                                              const std::string& name) {
  Status st = store_.DeleteEventDestination(call.principal.account_id, set, name);
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound("Event destination " + Truncated(name) + " does not exist."));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "DeleteConfigurationSetEventDestination"));
  }
  return JsonResponse(200, json::object());
}

// ---- SNS-style subscription endpoints (unsigned) --------------------------------------------

namespace {

HttpResponse XmlResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/xml");
  r.body = "<?xml version=\"1.0\"?>\n" + std::move(body);
  return r;
}

// SNS's error document: <ErrorResponse><Error><Type>Sender</Type><Code>..</Code>...
HttpResponse SnsError(int status, std::string_view code, std::string_view message) {
  return XmlResponse(status,
                     "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
                     "<Error><Type>Sender</Type><Code>" +
                         std::string(code) + "</Code><Message>" + std::string(message) +
                         "</Message></Error><RequestId>" + NewRequestId() +
                         "</RequestId></ErrorResponse>");
}

// "arn:aws:sns:<region>:<account>:<topic>[:<suffix>]" split into account id and topic
// name (and suffix), for this region.
struct SnsArnParts {
  int64_t account_id = 0;
  std::string topic;
  std::string suffix;
};
std::optional<SnsArnParts> ParseSnsArn(std::string_view arn, std::string_view region,
                                       bool subscription) {
  const std::string prefix = "arn:aws:sns:" + std::string(region) + ":";
  if (!arn.starts_with(prefix) || arn.size() > 2048) return std::nullopt;
  std::string_view rest = arn.substr(prefix.size());
  const size_t c1 = rest.find(':');
  if (c1 == std::string_view::npos) return std::nullopt;
  std::optional<int64_t> account = store::AccountIdOfNumber(rest.substr(0, c1));
  if (!account) return std::nullopt;
  rest.remove_prefix(c1 + 1);
  const size_t c2 = rest.find(':');
  SnsArnParts out;
  out.account_id = *account;
  out.topic = std::string(rest.substr(0, c2));
  if (subscription) {
    if (c2 == std::string_view::npos) return std::nullopt;
    out.suffix = std::string(rest.substr(c2 + 1));
  } else if (c2 != std::string_view::npos) {
    return std::nullopt;
  }
  if (!store::IsTopicName(out.topic)) return std::nullopt;
  return out;
}

}  // namespace

HttpResponse SesV2Api::SnsEndpoint(const HttpRequest& request, std::string_view path,
                                   std::string_view query) {
  if (path == "/_herald/sns/SimpleNotificationService.pem") {
    if (config_.sns_cert_pem.empty()) {
      return SnsError(404, "NotFound", "No signing certificate is configured.");
    }
    HttpResponse r;
    r.headers.emplace_back("Content-Type", "application/x-pem-file");
    r.body = config_.sns_cert_pem;
    return r;
  }
  bool malformed = false;
  if (path == "/_herald/sns/confirm") {
    std::optional<std::string> token = QueryParam(query, "Token", &malformed);
    std::optional<std::string> topic_arn = QueryParam(query, "TopicArn", &malformed);
    if (malformed || !token || !topic_arn || token->empty() || token->size() > 256) {
      return SnsError(400, "InvalidParameter", "Token and TopicArn are required.");
    }
    std::optional<SnsArnParts> arn = ParseSnsArn(*topic_arn, config_.region, false);
    StatusOr<store::TopicSubscription> sub = store_.FindSubscriptionByToken(*token);
    StatusOr<store::Topic> topic = arn ? store_.GetTopic(arn->account_id, arn->topic)
                                       : StatusOr<store::Topic>(NotFoundError(""));
    if (sub.status().code() == StatusCode::kNotFound ||
        topic.status().code() == StatusCode::kNotFound ||
        (sub.ok() && topic.ok() && sub->topic_id != topic->id)) {
      return SnsError(404, "NotFound", "Invalid token or topic.");
    }
    if (!sub.ok() || !topic.ok()) {
      Internal(sub.ok() ? topic.status() : sub.status(), "ConfirmSubscription");
      return SnsError(500, "InternalError", "Please try again later.");
    }
    if (!sub->confirmed) {
      Status st =
          store_.ConfirmSubscription(sub->id, config_.event_log_end ? config_.event_log_end() : 0);
      if (!st.ok()) {
        Internal(st, "ConfirmSubscription");
        return SnsError(500, "InternalError", "Please try again later.");
      }
    }
    (void)request;
    return XmlResponse(
        200,
        "<ConfirmSubscriptionResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
        "<ConfirmSubscriptionResult><SubscriptionArn>" +
            store::SubscriptionArn(*topic_arn, sub->token) +
            "</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata><RequestId>" +
            NewRequestId() + "</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>");
  }
  if (path == "/_herald/sns/unsubscribe") {
    std::optional<std::string> sub_arn = QueryParam(query, "SubscriptionArn", &malformed);
    std::optional<SnsArnParts> arn =
        sub_arn && !malformed ? ParseSnsArn(*sub_arn, config_.region, true) : std::nullopt;
    if (!arn) return SnsError(400, "InvalidParameter", "SubscriptionArn is not valid.");
    StatusOr<store::Topic> topic = store_.GetTopic(arn->account_id, arn->topic);
    if (topic.status().code() == StatusCode::kNotFound) {
      return SnsError(404, "NotFound", "Subscription does not exist.");
    }
    StatusOr<std::vector<store::TopicSubscription>> subs =
        topic.ok() ? store_.ListSubscriptions(topic->id)
                   : StatusOr<std::vector<store::TopicSubscription>>(topic.status());
    if (!subs.ok()) {
      Internal(subs.status(), "Unsubscribe");
      return SnsError(500, "InternalError", "Please try again later.");
    }
    const std::string topic_arn = store::TopicArn(config_.region, arn->account_id, arn->topic);
    for (const auto& s : *subs) {
      if (store::SubscriptionArn(topic_arn, s.token) != *sub_arn) continue;
      Status st = store_.DeleteSubscription(s.id);
      if (!st.ok() && st.code() != StatusCode::kNotFound) {
        Internal(st, "Unsubscribe");
        return SnsError(500, "InternalError", "Please try again later.");
      }
      return XmlResponse(200,
                         "<UnsubscribeResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">"
                         "<ResponseMetadata><RequestId>" +
                             NewRequestId() +
                             "</RequestId></ResponseMetadata></UnsubscribeResponse>");
    }
    return SnsError(404, "NotFound", "Subscription does not exist.");
  }
  return ErrorResponse(UnknownOperation(request.method, path));
}

}  // namespace herald::api
