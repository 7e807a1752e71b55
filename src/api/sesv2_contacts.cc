// api/sesv2_contacts.cc: the SESv2 operations on contact lists and contacts (see
// sesv2_api.h for the contract): CreateContactList, GetContactList, UpdateContactList,
// DeleteContactList, ListContactLists, CreateContact, GetContact, UpdateContact,
// DeleteContact and ListContacts, all under /v2/email/contact-lists. ListContacts is
// routed both as the current model has it (POST .../contacts/list, everything in the body)
// and as older ones do (GET .../contacts, PageSize and NextToken in the query string).
#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/sesv2_api.h"
#include "api/sesv2_internal.h"
#include "base/strings.h"
#include "mail/address.h"
#include "store/audience_store.h"

namespace herald::api {
namespace {

constexpr std::string_view kContactsSuffix = "/contacts";
constexpr std::string_view kListContactsSuffix = "/contacts/list";
constexpr int kDefaultContactPageSize = 100;
// How many contacts ListContacts reads from the store per round while filtering.
constexpr int kContactScanBatch = 1000;

ApiError ContactListNotFound(std::string_view name) {
  return NotFound("List with name " + Truncated(name) + " does not exist.");
}

// The account's contact list `name`, or the reply for its absence (NotFound, also for a name
// no list can have) or for a store failure during `op`.
std::variant<store::ContactListRow, ApiError> FindContactList(store::Store& store, int64_t account,
                                                              const std::string& name,
                                                              std::string_view op) {
  if (!store::IsContactListName(name)) return ContactListNotFound(name);
  StatusOr<store::ContactListRow> list = store.GetContactList(account, name);
  if (list.status().code() == StatusCode::kNotFound) return ContactListNotFound(name);
  if (!list.ok()) return Internal(list.status(), op);
  return *std::move(list);
}

ApiError ContactNotFound(std::string_view email, std::string_view list) {
  return NotFound("Contact " + Truncated(email) + " does not exist in contact list " +
                  Truncated(list) + ".");
}

ApiError ContactListNameRule() {
  return BadRequest(
      "Invalid value for ContactListName: 1 to 64 ASCII letters, digits, '_' or '-' are "
      "required.");
}

// Characters of UTF-8 text (the request JSON was checked to be valid UTF-8).
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) {
      ++n;
    }
  }
  return n;
}

// A bounded text member (counted in characters), without NUL.
std::optional<ApiError> CheckText(const std::string& param, const std::string& value, size_t min,
                                  size_t max) {
  const size_t n = CodePoints(value);
  if (n < min || n > max || value.find('\0') != std::string::npos) {
    return BadRequest("Invalid value for " + param + ": " +
                      (min == 0 ? "at most " + std::to_string(max)
                                : std::to_string(min) + " to " + std::to_string(max)) +
                      " characters (no NUL) are required.");
  }
  return std::nullopt;
}

const char* StatusText(bool opted_in) { return opted_in ? "OPT_IN" : "OPT_OUT"; }

// The members of a list-valued parameter (absent or null: none).
std::optional<ApiError> OptList(const json& obj, const char* name, const json** out) {
  *out = Member(obj, name);
  if (*out != nullptr && !(*out)->is_array()) {
    return WrongType(name, "a list");
  }
  return std::nullopt;
}

// Topics [{TopicName, DisplayName, Description, DefaultSubscriptionStatus}] (absent: none).
std::optional<ApiError> ParseTopics(const json& j, std::vector<store::ContactListTopic>* out) {
  const json* topics = nullptr;
  RETURN_IF_API_ERROR(OptList(j, "Topics", &topics));
  out->clear();
  if (topics == nullptr) {
    return std::nullopt;
  }
  if (topics->size() > store::kMaxContactListTopics) {
    return BadRequest("Invalid value for Topics: a contact list has at most " +
                      std::to_string(store::kMaxContactListTopics) + " topics.");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < topics->size(); ++i) {
    const json& t = (*topics)[i];
    const std::string prefix = "Topics[" + std::to_string(i) + "]";
    if (!t.is_object()) {
      return WrongType(prefix, "a structure");
    }
    std::optional<std::string> name;
    std::optional<std::string> display;
    std::optional<std::string> description;
    std::optional<std::string> status;
    RETURN_IF_API_ERROR(OptString(t, prefix, "TopicName", &name));
    RETURN_IF_API_ERROR(OptString(t, prefix, "DisplayName", &display));
    RETURN_IF_API_ERROR(OptString(t, prefix, "Description", &description));
    RETURN_IF_API_ERROR(
        OptEnum(t, prefix, "DefaultSubscriptionStatus", {"OPT_IN", "OPT_OUT"}, &status));
    if (!name) {
      return MissingParam(Param(prefix, "TopicName"));
    }
    if (!display) {
      return MissingParam(Param(prefix, "DisplayName"));
    }
    if (!status) {
      return MissingParam(Param(prefix, "DefaultSubscriptionStatus"));
    }
    if (!store::IsContactTopicName(*name)) {
      return BadRequest("Invalid value for " + Param(prefix, "TopicName") +
                        ": 1 to 64 ASCII letters, digits, '_' or '-' are required.");
    }
    if (!names.insert(*name).second) {
      return BadRequest("Invalid value for " + Param(prefix, "TopicName") + ": topic " + *name +
                        " appears more than once.");
    }
    RETURN_IF_API_ERROR(
        CheckText(Param(prefix, "DisplayName"), *display, 1, store::kMaxTopicDisplayNameLength));
    RETURN_IF_API_ERROR(CheckText(Param(prefix, "Description"), description.value_or(""), 0,
                                  store::kMaxDescriptionLength));
    out->push_back({*name, *display, description.value_or(""), *status == "OPT_IN"});
  }
  return std::nullopt;
}

std::optional<ApiError> ParseListDescription(const json& j, std::string* out) {
  std::optional<std::string> description;
  RETURN_IF_API_ERROR(OptString(j, "", "Description", &description));
  *out = description.value_or("");
  return CheckText("Description", *out, 0, store::kMaxDescriptionLength);
}

json TopicsJson(const std::vector<store::ContactListTopic>& topics) {
  json out = json::array();
  for (const store::ContactListTopic& t : topics) {
    json topic = {{"TopicName", t.name},
                  {"DisplayName", t.display_name},
                  {"DefaultSubscriptionStatus", StatusText(t.default_opt_in)}};
    if (!t.description.empty()) {
      topic["Description"] = t.description;
    }
    out.push_back(std::move(topic));
  }
  return out;
}

double Seconds(SysTime t) { return static_cast<double>(UnixMillis(t)) / 1000; }

// The contact's explicit preferences for topics the list has (SES ignores the others), and
// the default of every topic of the list.
json PreferencesJson(const store::ContactListRow& list, const store::ContactRow& c) {
  json out = json::array();
  for (const auto& pref : c.topic_preferences) {
    const bool known =
        std::any_of(list.topics.begin(), list.topics.end(),
                    [&](const store::ContactListTopic& t) { return t.name == pref.first; });
    if (known) {
      out.push_back({{"TopicName", pref.first}, {"SubscriptionStatus", StatusText(pref.second)}});
    }
  }
  return out;
}

json DefaultPreferencesJson(const store::ContactListRow& list) {
  json out = json::array();
  for (const store::ContactListTopic& t : list.topics) {
    out.push_back({{"TopicName", t.name}, {"SubscriptionStatus", StatusText(t.default_opt_in)}});
  }
  return out;
}

// An EmailAddress, checked as SendEmail checks recipients (an addr-spec without display
// name). *stored is the text as given when it is already in the send path's form but for
// case, else that form (the domain in lower-case Punycode), so that its key matches the
// recipients' ContactKey.
std::optional<ApiError> CheckContactAddress(const std::string& given, std::string* stored) {
  if (given.empty()) {
    return BadRequest("Invalid value for EmailAddress: the address is empty.");
  }
  StatusOr<mail::Mailbox> mb = mail::ParseMailbox(given);
  if (!mb.ok() || !mb->display_name.empty() || given.find('<') != std::string::npos) {
    return BadRequest(
        "Invalid value for EmailAddress: " + Truncated(given) + " is not an email address (" +
        (mb.ok() ? std::string("a display name is not allowed") : mb.status().message()) + ").");
  }
  *stored = AsciiLower(given) == mb->Canonical() ? given : mb->Address();
  if (!store::IsContactAddress(*stored)) {
    return BadRequest("Invalid value for EmailAddress: " + Truncated(given) +
                      " is not an address herald can keep on a contact list (no whitespace or "
                      "control characters).");
  }
  return std::nullopt;
}

// TopicPreferences [{TopicName, SubscriptionStatus}] naming topics of `list`, each once.
std::optional<ApiError> ParsePreferences(const json& j, const store::ContactListRow& list,
                                         std::vector<std::pair<std::string, bool>>* out) {
  const json* prefs = nullptr;
  RETURN_IF_API_ERROR(OptList(j, "TopicPreferences", &prefs));
  out->clear();
  if (prefs == nullptr) {
    return std::nullopt;
  }
  if (prefs->size() > store::kMaxContactListTopics) {
    return BadRequest("Invalid value for TopicPreferences: at most " +
                      std::to_string(store::kMaxContactListTopics) + " preferences are allowed.");
  }
  for (size_t i = 0; i < prefs->size(); ++i) {
    const json& p = (*prefs)[i];
    const std::string prefix = "TopicPreferences[" + std::to_string(i) + "]";
    if (!p.is_object()) {
      return WrongType(prefix, "a structure");
    }
    std::optional<std::string> topic;
    std::optional<std::string> status;
    RETURN_IF_API_ERROR(OptString(p, prefix, "TopicName", &topic));
    RETURN_IF_API_ERROR(OptEnum(p, prefix, "SubscriptionStatus", {"OPT_IN", "OPT_OUT"}, &status));
    if (!topic) {
      return MissingParam(Param(prefix, "TopicName"));
    }
    if (!status) {
      return MissingParam(Param(prefix, "SubscriptionStatus"));
    }
    const bool known =
        std::any_of(list.topics.begin(), list.topics.end(),
                    [&](const store::ContactListTopic& t) { return t.name == *topic; });
    if (!known) {
      return BadRequest("Invalid value for " + Param(prefix, "TopicName") + ": contact list " +
                        list.name + " has no topic " + Truncated(*topic, 64) + ".");
    }
    for (const auto& seen : *out) {
      if (seen.first == *topic) {
        return BadRequest("Invalid value for " + Param(prefix, "TopicName") + ": topic " + *topic +
                          " appears more than once.");
      }
    }
    out->emplace_back(*topic, *status == "OPT_IN");
  }
  return std::nullopt;
}

// AttributesData: a JSON object of at most kMaxContactAttributesLength bytes.
std::optional<ApiError> ParseAttributes(const json& j, std::optional<std::string>* out) {
  RETURN_IF_API_ERROR(OptString(j, "", "AttributesData", out));
  if (!*out) {
    return std::nullopt;
  }
  if ((*out)->size() > store::kMaxContactAttributesLength) {
    return BadRequest("Invalid value for AttributesData: at most " +
                      std::to_string(store::kMaxContactAttributesLength) + " bytes are allowed.");
  }
  json parsed;
  if (!(*out)->empty() && ParseJsonObject(**out, &parsed)) {
    return BadRequest("Invalid value for AttributesData: must be a JSON object.");
  }
  return std::nullopt;
}

// ListContacts' Filter.
struct ContactFilter {
  std::optional<bool> opted_in;  // FilteredStatus
  std::string topic;             // TopicFilter.TopicName; "" for none
  bool use_default = false;      // TopicFilter.UseDefaultIfPreferenceUnavailable

  // Whether `c` is listed: with a topic, by its status for the topic (OPT_OUT for a
  // contact that unsubscribed from everything; without a preference, the topic's default
  // when use_default, else no status: not listed); without one, by UnsubscribeAll.
  bool Matches(const store::ContactListRow& list, const store::ContactRow& c) const {
    if (topic.empty()) {
      return !opted_in || *opted_in == !c.unsubscribe_all;
    }
    std::optional<bool> status;
    for (const auto& [name, in] : c.topic_preferences) {
      if (name == topic) {
        status = in;
      }
    }
    if (!status && use_default) {
      for (const store::ContactListTopic& t : list.topics) {
        if (t.name == topic) {
          status = t.default_opt_in;
        }
      }
    }
    if (!status) {
      return false;
    }
    if (c.unsubscribe_all) {
      status = false;
    }
    return !opted_in || *opted_in == *status;
  }
};

std::optional<ApiError> ParseContactFilter(const json& j, ContactFilter* filter) {
  const json* f = nullptr;
  RETURN_IF_API_ERROR(OptStruct(j, "", "Filter", &f));
  if (f == nullptr) {
    return std::nullopt;
  }
  std::optional<std::string> status;
  RETURN_IF_API_ERROR(OptEnum(*f, "Filter", "FilteredStatus", {"OPT_IN", "OPT_OUT"}, &status));
  if (status) {
    filter->opted_in = *status == "OPT_IN";
  }
  const json* topic_filter = nullptr;
  RETURN_IF_API_ERROR(OptStruct(*f, "Filter", "TopicFilter", &topic_filter));
  if (topic_filter != nullptr) {
    std::optional<std::string> topic;
    std::optional<bool> use_default;
    RETURN_IF_API_ERROR(OptString(*topic_filter, "Filter.TopicFilter", "TopicName", &topic));
    RETURN_IF_API_ERROR(OptBool(*topic_filter, "Filter.TopicFilter",
                                "UseDefaultIfPreferenceUnavailable", &use_default));
    filter->topic = topic.value_or("");
    filter->use_default = use_default.value_or(false);
  }
  return std::nullopt;
}

// ListContacts' PageSize (0..1000; 0 or absent: 100) and NextToken (the key to list after).
std::optional<ApiError> ParseContactPage(const json& j, int* page, std::string* after) {
  *page = kDefaultContactPageSize;
  if (const json* size = Member(j, "PageSize")) {
    if (!size->is_number_integer()) {
      return WrongType("PageSize", "an integer");
    }
    const int64_t v = size->get<int64_t>();
    if (v < 0 || v > kMaxPageSize) {
      return BadRequest("Invalid value for PageSize: must be an integer from 0 to 1000.");
    }
    *page = v == 0 ? kDefaultContactPageSize : static_cast<int>(v);
  }
  std::optional<std::string> token;
  RETURN_IF_API_ERROR(OptString(j, "", "NextToken", &token));
  after->clear();
  if (token) {
    std::optional<std::string> key = DecodeBase64UrlToken(*token);
    if (!key || !store::IsContactAddress(*key) || store::ContactKey(*key) != *key) {
      return BadRequest("Invalid NextToken.");
    }
    *after = std::move(*key);
  }
  return std::nullopt;
}

json ContactSummaryJson(const store::ContactListRow& list, const store::ContactRow& c) {
  return json{{"EmailAddress", c.email},
              {"TopicPreferences", PreferencesJson(list, c)},
              {"TopicDefaultPreferences", DefaultPreferencesJson(list)},
              {"UnsubscribeAll", c.unsubscribe_all},
              {"LastUpdatedTimestamp", Seconds(c.updated)}};
}

}  // namespace

// ---- Routing ---------------------------------------------------------------------------------

HttpResponse SesV2Api::DispatchContacts(Call& call) {
  const std::string& method = call.request.method;
  const std::string_view path = call.path;
  if (path == kContactListsPath) {
    if (method == "POST") {
      return CreateContactList(call);
    }
    if (method == "GET") {
      return ListContactLists(call);
    }
    return ErrorResponse(UnknownOperation(method, path));
  }
  // /v2/email/contact-lists/{ContactListName}[/contacts[/list | /{EmailAddress}]]
  const std::string_view rest = path.substr(kContactListsPath.size() + 1);
  const size_t slash = rest.find('/');
  const std::string_view segment = rest.substr(0, slash);
  const std::string_view suffix =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  std::string list;
  if (segment.empty()) {
    return ErrorResponse(UnknownOperation(method, path));
  }
  if (!PercentDecode(segment, &list)) {
    return ErrorResponse(BadRequest("Invalid percent-encoding in the request path."));
  }
  if (suffix.empty()) {
    if (method == "GET") {
      return GetContactList(call, list);
    }
    if (method == "PUT") {
      return UpdateContactList(call, list);
    }
    if (method == "DELETE") {
      return DeleteContactList(call, list);
    }
  } else if (suffix == kContactsSuffix) {
    if (method == "POST") {
      return CreateContact(call, list);
    }
    if (method == "GET") {
      return ListContacts(call, list);  // as botocore models before 2023 route it
    }
  } else if (suffix == kListContactsSuffix && method == "POST") {
    return ListContacts(call, list);
  } else if (suffix.starts_with(kContactsSuffix) && suffix[kContactsSuffix.size()] == '/' &&
             suffix.size() > kContactsSuffix.size() + 1 &&
             suffix.find('/', kContactsSuffix.size() + 1) == std::string_view::npos) {
    std::string email;
    if (!PercentDecode(suffix.substr(kContactsSuffix.size() + 1), &email)) {
      return ErrorResponse(BadRequest("Invalid percent-encoding in the request path."));
    }
    if (method == "GET") {
      return GetContact(call, list, email);
    }
    if (method == "PUT") {
      return UpdateContact(call, list, email);
    }
    if (method == "DELETE") {
      return DeleteContact(call, list, email);
    }
  }
  return ErrorResponse(UnknownOperation(method, path));
}

// ---- Contact lists ---------------------------------------------------------------------------

HttpResponse SesV2Api::CreateContactList(Call& call) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<std::string> name;
  if (std::optional<ApiError> e = OptString(j, "", "ContactListName", &name)) {
    return ErrorResponse(*e);
  }
  if (!name) {
    return ErrorResponse(MissingParam("ContactListName"));
  }
  if (!store::IsContactListName(*name)) {
    return ErrorResponse(ContactListNameRule());
  }
  store::ContactListRow list;
  list.account_id = call.principal.account_id;
  list.name = *name;
  list.created = list.updated = clock_.Now();
  if (std::optional<ApiError> e = ParseTopics(j, &list.topics)) {
    return ErrorResponse(*e);
  }
  if (std::optional<ApiError> e = ParseListDescription(j, &list.description)) {
    return ErrorResponse(*e);
  }
  json tags;
  if (std::optional<ApiError> e = ParseTags(j, &tags)) {
    return ErrorResponse(*e);
  }
  if (!tags.empty()) {
    list.tags_json = DumpJson(tags);
  }
  Status st = store_.CreateContactList(list);
  if (st.code() == StatusCode::kAlreadyExists) {
    return ErrorResponse(ApiError{400, "AlreadyExistsException",
                                  "Contact list " + Truncated(*name) + " already exists."});
  }
  if (st.code() == StatusCode::kResourceExhausted) {
    return ErrorResponse(ApiError{400, "LimitExceededException",
                                  "An account can have at most " +
                                      std::to_string(store::kMaxContactListsPerAccount) +
                                      " contact list; delete the existing one first."});
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "CreateContactList"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::GetContactList(Call& call, const std::string& name) {
  StatusOr<store::ContactListRow> list =
      store::IsContactListName(name) ? store_.GetContactList(call.principal.account_id, name)
                                     : NotFoundError("not a contact list name");
  if (list.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(ContactListNotFound(name));
  }
  if (!list.ok()) {
    return ErrorResponse(Internal(list.status(), "GetContactList"));
  }
  json body = {{"ContactListName", list->name},
               {"Topics", TopicsJson(list->topics)},
               {"CreatedTimestamp", Seconds(list->created)},
               {"LastUpdatedTimestamp", Seconds(list->updated)},
               {"Tags", list->tags_json.empty() ? json::array() : StoredTags(list->tags_json)}};
  if (!list->description.empty()) {
    body["Description"] = list->description;
  }
  return JsonResponse(200, body);
}

HttpResponse SesV2Api::UpdateContactList(Call& call, const std::string& name) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  store::ContactListRow list;
  list.account_id = call.principal.account_id;
  list.name = name;
  list.updated = clock_.Now();
  if (std::optional<ApiError> e = ParseTopics(j, &list.topics)) {
    return ErrorResponse(*e);
  }
  if (std::optional<ApiError> e = ParseListDescription(j, &list.description)) {
    return ErrorResponse(*e);
  }
  Status st = store::IsContactListName(name) ? store_.UpdateContactList(list)
                                             : NotFoundError("not a contact list name");
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(ContactListNotFound(name));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "UpdateContactList"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::DeleteContactList(Call& call, const std::string& name) {
  Status st = store::IsContactListName(name)
                  ? store_.DeleteContactList(call.principal.account_id, name)
                  : NotFoundError("not a contact list name");
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(ContactListNotFound(name));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "DeleteContactList"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::ListContactLists(Call& call) {
  int page = 0;
  std::string after;
  if (std::optional<ApiError> e = ParsePageRequest(call.query, &page, &after)) {
    return ErrorResponse(*e);
  }
  StatusOr<std::vector<store::ContactListRow>> lists =
      store_.ListContactLists(call.principal.account_id);
  if (!lists.ok()) {
    return ErrorResponse(Internal(lists.status(), "ListContactLists"));
  }
  json items = json::array();
  std::string last;
  bool more = false;
  for (const store::ContactListRow& l : *lists) {
    if (l.name <= after) {
      continue;  // ordered by name
    }
    if (static_cast<int>(items.size()) == page) {
      more = true;
      break;
    }
    items.push_back({{"ContactListName", l.name}, {"LastUpdatedTimestamp", Seconds(l.updated)}});
    last = l.name;
  }
  json body = {{"ContactLists", std::move(items)}};
  if (more) {
    body["NextToken"] = EncodeNextToken(last);
  }
  return JsonResponse(200, body);
}

// ---- Contacts --------------------------------------------------------------------------------

HttpResponse SesV2Api::CreateContact(Call& call, const std::string& list_name) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<std::string> given;
  if (std::optional<ApiError> e = OptString(j, "", "EmailAddress", &given)) {
    return ErrorResponse(*e);
  }
  if (!given) {
    return ErrorResponse(MissingParam("EmailAddress"));
  }
  store::ContactRow contact;
  contact.account_id = call.principal.account_id;
  contact.list_name = list_name;
  contact.created = contact.updated = clock_.Now();
  if (std::optional<ApiError> e = CheckContactAddress(*given, &contact.email)) {
    return ErrorResponse(*e);
  }
  std::optional<bool> unsubscribe_all;
  if (std::optional<ApiError> e = OptBool(j, "", "UnsubscribeAll", &unsubscribe_all)) {
    return ErrorResponse(*e);
  }
  contact.unsubscribe_all = unsubscribe_all.value_or(false);
  std::optional<std::string> attributes;
  if (std::optional<ApiError> e = ParseAttributes(j, &attributes)) {
    return ErrorResponse(*e);
  }
  contact.attributes_json = attributes.value_or("");
  auto found = FindContactList(store_, call.principal.account_id, list_name, "CreateContact");
  if (const ApiError* e = std::get_if<ApiError>(&found)) {
    return ErrorResponse(*e);
  }
  const store::ContactListRow* list = &std::get<store::ContactListRow>(found);
  if (std::optional<ApiError> e = ParsePreferences(j, *list, &contact.topic_preferences)) {
    return ErrorResponse(*e);
  }
  Status st = store_.CreateContact(contact);
  if (st.code() == StatusCode::kAlreadyExists) {
    return ErrorResponse(ApiError{
        400, "AlreadyExistsException",
        "Contact " + Truncated(*given) + " already exists in contact list " + list_name + "."});
  }
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(ContactListNotFound(list_name));  // deleted meanwhile
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "CreateContact"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::GetContact(Call& call, const std::string& list_name,
                                  const std::string& given) {
  std::string email;
  if (std::optional<ApiError> e = CheckContactAddress(given, &email)) {
    return ErrorResponse(*e);
  }
  auto found = FindContactList(store_, call.principal.account_id, list_name, "GetContact");
  if (const ApiError* e = std::get_if<ApiError>(&found)) {
    return ErrorResponse(*e);
  }
  const store::ContactListRow* list = &std::get<store::ContactListRow>(found);
  StatusOr<store::ContactRow> c = store_.GetContact(call.principal.account_id, list_name, email);
  if (c.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(ContactNotFound(given, list_name));
  }
  if (!c.ok()) {
    return ErrorResponse(Internal(c.status(), "GetContact"));
  }
  json body = {{"ContactListName", list->name},
               {"EmailAddress", c->email},
               {"TopicPreferences", PreferencesJson(*list, *c)},
               {"TopicDefaultPreferences", DefaultPreferencesJson(*list)},
               {"UnsubscribeAll", c->unsubscribe_all},
               {"CreatedTimestamp", Seconds(c->created)},
               {"LastUpdatedTimestamp", Seconds(c->updated)}};
  if (!c->attributes_json.empty()) {
    body["AttributesData"] = c->attributes_json;
  }
  return JsonResponse(200, body);
}

// A complete replacement of TopicPreferences and UnsubscribeAll (absent: none, false), as
// SES documents; AttributesData is kept when absent.
HttpResponse SesV2Api::UpdateContact(Call& call, const std::string& list_name,
                                     const std::string& given) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::string email;
  if (std::optional<ApiError> e = CheckContactAddress(given, &email)) {
    return ErrorResponse(*e);
  }
  std::optional<bool> unsubscribe_all;
  if (std::optional<ApiError> e = OptBool(j, "", "UnsubscribeAll", &unsubscribe_all)) {
    return ErrorResponse(*e);
  }
  std::optional<std::string> attributes;
  if (std::optional<ApiError> e = ParseAttributes(j, &attributes)) {
    return ErrorResponse(*e);
  }
  auto found = FindContactList(store_, call.principal.account_id, list_name, "UpdateContact");
  if (const ApiError* e = std::get_if<ApiError>(&found)) {
    return ErrorResponse(*e);
  }
  const store::ContactListRow* list = &std::get<store::ContactListRow>(found);
  store::ContactRow contact;
  if (std::optional<ApiError> e = ParsePreferences(j, *list, &contact.topic_preferences)) {
    return ErrorResponse(*e);
  }
  StatusOr<store::ContactRow> existing =
      store_.GetContact(call.principal.account_id, list_name, email);
  if (existing.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(ContactNotFound(given, list_name));
  }
  if (!existing.ok()) {
    return ErrorResponse(Internal(existing.status(), "UpdateContact"));
  }
  contact.account_id = call.principal.account_id;
  contact.list_name = list_name;
  contact.email = existing->email;
  contact.unsubscribe_all = unsubscribe_all.value_or(false);
  contact.attributes_json = attributes.value_or(existing->attributes_json);
  contact.updated = clock_.Now();
  Status st = store_.UpdateContact(contact);
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(ContactNotFound(given, list_name));  // deleted meanwhile
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "UpdateContact"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::DeleteContact(Call& call, const std::string& list_name,
                                     const std::string& given) {
  std::string email;
  if (std::optional<ApiError> e = CheckContactAddress(given, &email)) {
    return ErrorResponse(*e);
  }
  if (!store::IsContactListName(list_name)) {
    return ErrorResponse(ContactListNotFound(list_name));
  }
  Status st = store_.DeleteContact(call.principal.account_id, list_name, email);
  if (st.code() == StatusCode::kNotFound) {
    // Which one is missing: the list or the contact?
    StatusOr<store::ContactListRow> list =
        store_.GetContactList(call.principal.account_id, list_name);
    if (list.status().code() == StatusCode::kNotFound) {
      return ErrorResponse(ContactListNotFound(list_name));
    }
    return ErrorResponse(ContactNotFound(given, list_name));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "DeleteContact"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::ListContacts(Call& call, const std::string& list_name) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  if (call.request.method == "GET") {
    // Older models: PageSize and NextToken in the query string (Filter stays in the body).
    bool malformed = false;
    std::optional<std::string> size = QueryParam(call.query, "PageSize", &malformed);
    std::optional<std::string> token = QueryParam(call.query, "NextToken", &malformed);
    if (malformed) {
      return ErrorResponse(BadRequest("Invalid percent-encoding in the query string."));
    }
    if (size) {
      int value = -1;
      const char* end = size->data() + size->size();
      auto [ptr, ec] = std::from_chars(size->data(), end, value);
      if (size->empty() || ec != std::errc() || ptr != end) {
        return ErrorResponse(
            BadRequest("Invalid value for PageSize: must be an integer from 0 to 1000."));
      }
      j["PageSize"] = value;
    }
    if (token) {
      j["NextToken"] = *token;
    }
  }
  ContactFilter filter;
  if (std::optional<ApiError> e = ParseContactFilter(j, &filter)) {
    return ErrorResponse(*e);
  }
  int page = 0;
  std::string after;
  if (std::optional<ApiError> e = ParseContactPage(j, &page, &after)) {
    return ErrorResponse(*e);
  }
  auto found = FindContactList(store_, call.principal.account_id, list_name, "ListContacts");
  if (const ApiError* e = std::get_if<ApiError>(&found)) {
    return ErrorResponse(*e);
  }
  const store::ContactListRow* list = &std::get<store::ContactListRow>(found);
  if (!filter.topic.empty() &&
      std::none_of(list->topics.begin(), list->topics.end(),
                   [&](const store::ContactListTopic& t) { return t.name == filter.topic; })) {
    return ErrorResponse(
        BadRequest("Invalid value for Filter.TopicFilter.TopicName: contact list " + list_name +
                   " has no topic " + Truncated(filter.topic, 64) + "."));
  }
  // Reads the list in key order until the page and one more match are found (the one more
  // tells whether a NextToken is due).
  std::vector<store::ContactRow> matches;
  std::string cursor = after;
  while (static_cast<int>(matches.size()) <= page) {
    StatusOr<std::vector<store::ContactRow>> batch =
        store_.ListContacts(call.principal.account_id, list_name, cursor, kContactScanBatch);
    if (batch.status().code() == StatusCode::kNotFound) {
      return ErrorResponse(ContactListNotFound(list_name));  // deleted meanwhile
    }
    if (!batch.ok()) {
      return ErrorResponse(Internal(batch.status(), "ListContacts"));
    }
    if (batch->empty()) {
      break;
    }
    cursor = store::ContactKey(batch->back().email);
    const bool last_batch = static_cast<int>(batch->size()) < kContactScanBatch;
    for (store::ContactRow& c : *batch) {
      if (filter.Matches(*list, c) && static_cast<int>(matches.size()) <= page) {
        matches.push_back(std::move(c));
      }
    }
    if (last_batch) {
      break;
    }
  }
  const size_t n = std::min(matches.size(), static_cast<size_t>(page));
  json items = json::array();
  for (size_t i = 0; i < n; ++i) {
    items.push_back(ContactSummaryJson(*list, matches[i]));
  }
  json body = {{"Contacts", std::move(items)}};
  if (matches.size() > n) {
    body["NextToken"] = EncodeNextToken(store::ContactKey(matches[n - 1].email));
  }
  return JsonResponse(200, body);
}

}  // namespace herald::api
