// api/ses_v1.cc: the SES v1 Query API (2010-12-01) as members of SesV2Api.
//
// A v1 request is POST / with a form body (api/query_form.h), signed with SigV4 exactly
// as a v2 request (SesV2Api::Handle has verified it, body hash included, before
// DispatchV1 runs). Each action reuses what the v2 operation does: SendEmail and
// SendRawEmail become a SESv2 SendEmail body that ParseSendEmailRequest checks and the
// SendingService submits (channel kApiV1); the identity actions use the same records,
// normalisation and verification as Create/List/DeleteEmailIdentity. Replies are XML in
// the namespace of the 2010-12-01 model; errors use the v1 codes (V1ErrorFromV2).
//
// SECURITY: the form is hostile; it is bounded by QueryFormLimits, every list by its
// own limit, and everything that reaches a message goes through ParseSendEmailRequest's
// checks (header injection, addresses, sizes). Every text written into XML is escaped.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/query_form.h"
#include "api/send_email_request.h"
#include "api/sesv2_api.h"
#include "api/sesv2_internal.h"
#include "base/crypto.h"
#include "base/strings.h"

namespace herald::api {
namespace {

// SES v1's limits: 10 MB per message, 50 recipients.
constexpr size_t kV1MaxMessageBytes = 10 * 1024 * 1024;
constexpr int kV1MaxRecipients = 50;
// Members of each address list and of Tags.
constexpr size_t kV1MaxListMembers = 50;
// ListIdentities' MaxItems: 1 to 1000 (SES); absent: 1000.
constexpr int kV1MaxItems = 1000;
// GetSendStatistics: 15-minute data points over the time the per-minute send counters
// are kept (store::kSendBucketRetention).
constexpr std::chrono::minutes kStatisticsStep{15};

bool IsFormContentType(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (EqualsIgnoreCase(name, "Content-Type")) {
      std::string_view v = value;
      v = TrimWhitespace(v.substr(0, v.find(';')));
      return EqualsIgnoreCase(v, "application/x-www-form-urlencoded");
    }
  }
  return false;
}

const char* V1StatusName(store::VerificationStatus s) {
  switch (s) {
    case store::VerificationStatus::kPending:
      return "Pending";
    case store::VerificationStatus::kSuccess:
      return "Success";
    case store::VerificationStatus::kFailed:
      return "Failed";
    case store::VerificationStatus::kTemporaryFailure:
      return "TemporaryFailure";
    case store::VerificationStatus::kNotStarted:
      return "NotStarted";
  }
  return "NotStarted";
}

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s->find(from, pos)) != std::string::npos) {
    s->replace(pos, from.size(), to);
    pos += to.size();
  }
}

// A message of ParseSendEmailRequest in v1's parameter names: Content.Simple -> Message,
// Content.Raw.Data -> RawMessage.Data, FromEmailAddress -> Source, EmailTags -> Tags,
// (raw) Destination.ToAddresses -> Destinations, and "Name[i]" -> "Name.member.<i+1>".
std::string V1Wording(std::string message, bool raw) {
  ReplaceAll(&message, "Content.Simple", "Message");
  ReplaceAll(&message, "Content.Raw.Data", "RawMessage.Data");
  ReplaceAll(&message, "FromEmailAddress", "Source");
  ReplaceAll(&message, "EmailTags", "Tags");
  if (raw) {
    ReplaceAll(&message, "Destination.ToAddresses", "Destinations");
  }
  std::string out;
  out.reserve(message.size() + 16);
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    const size_t close = c == '[' ? message.find(']', i) : std::string::npos;
    const bool after_name = i > 0 && std::isalnum(static_cast<unsigned char>(message[i - 1]));
    if (close != std::string::npos && after_name && close > i + 1 && close - i <= 4 &&
        std::all_of(message.begin() + i + 1, message.begin() + close,
                    [](char d) { return d >= '0' && d <= '9'; })) {
      int index = 0;
      std::from_chars(message.data() + i + 1, message.data() + close, index);
      out += ".member." + std::to_string(index + 1);
      i = close;
      continue;
    }
    out += c;
  }
  return out;
}

// Tags.member.N.Name / .Value as SESv2 EmailTags.
std::optional<ApiError> ReadTags(const QueryForm& form, json* req) {
  size_t n = 0;
  if (auto e = form.CountMembers("Tags", kV1MaxListMembers, &n)) {
    return e;
  }
  if (n == 0) {
    return std::nullopt;
  }
  json tags = json::array();
  for (size_t i = 1; i <= n; ++i) {
    const std::string base = "Tags.member." + std::to_string(i);
    const std::string* name = form.Get(base + ".Name");
    const std::string* value = form.Get(base + ".Value");
    if (name == nullptr) {
      return MissingQueryParameter(base + ".Name");
    }
    if (value == nullptr) {
      return MissingQueryParameter(base + ".Value");
    }
    tags.push_back(json{{"Name", *name}, {"Value", *value}});
  }
  (*req)["EmailTags"] = std::move(tags);
  return std::nullopt;
}

// Message.<part>.Data / .Charset as a SESv2 Content {Data, Charset}; nullopt result with no
// error when the part is absent.
std::optional<ApiError> ReadContent(const QueryForm& form, const std::string& part,
                                    std::optional<json>* out) {
  const std::string* data = form.Get(part + ".Data");
  const std::string* charset = form.Get(part + ".Charset");
  if (data == nullptr) {
    if (charset != nullptr) {
      return MissingQueryParameter(part + ".Data");
    }
    return std::nullopt;
  }
  json c = {{"Data", *data}};
  if (charset != nullptr) {
    c["Charset"] = *charset;
  }
  *out = std::move(c);
  return std::nullopt;
}

}  // namespace

HttpResponse SesV2Api::DispatchV1(Call& call) {
  // The action table.
  struct Action {
    std::string_view name;
    V1Handler handler;
  };
  static constexpr Action kV1Actions[] = {
      {"SendEmail", &SesV2Api::V1SendEmail},
      {"SendRawEmail", &SesV2Api::V1SendRawEmail},
      {"GetSendQuota", &SesV2Api::V1GetSendQuota},
      {"GetSendStatistics", &SesV2Api::V1GetSendStatistics},
      {"VerifyEmailIdentity", &SesV2Api::V1VerifyEmailIdentity},
      {"VerifyEmailAddress", &SesV2Api::V1VerifyEmailAddress},
      {"VerifyDomainIdentity", &SesV2Api::V1VerifyDomainIdentity},
      {"ListIdentities", &SesV2Api::V1ListIdentities},
      {"GetIdentityVerificationAttributes", &SesV2Api::V1GetIdentityVerificationAttributes},
      {"DeleteIdentity", &SesV2Api::V1DeleteIdentity},
      // Identity notifications (ses_v1_notifications.cc).
      {"SetIdentityNotificationTopic", &SesV2Api::V1SetIdentityNotificationTopic},
      {"SetIdentityHeadersInNotificationsEnabled",
       &SesV2Api::V1SetIdentityHeadersInNotificationsEnabled},
      {"SetIdentityFeedbackForwardingEnabled", &SesV2Api::V1SetIdentityFeedbackForwardingEnabled},
      {"GetIdentityNotificationAttributes", &SesV2Api::V1GetIdentityNotificationAttributes},
  };

  const std::string request_id = NewRequestId();
  auto error = [&](const ApiError& e) {
    return QueryXmlResponse(e.status, QueryErrorXml(e, request_id), request_id);
  };
  if (call.request.method != "POST" || !IsFormContentType(call.request)) {
    return error(ApiError{400, "InvalidQueryParameter",
                          "The SES v1 Query API takes POST requests to / with Content-Type "
                          "application/x-www-form-urlencoded."});
  }
  QueryForm form;
  if (std::optional<ApiError> e = ParseQueryForm(call.request.body, QueryFormLimits{}, &form)) {
    return error(*e);
  }
  const std::string* action = form.Get("Action");
  if (action == nullptr || action->empty()) {
    return error(ApiError{400, "MissingAction", "The request must contain the parameter Action."});
  }
  const std::string* version = form.Get("Version");
  const Action* found = nullptr;
  if (version == nullptr || *version == kSesApiVersion) {
    for (const Action& a : kV1Actions) {
      if (a.name == *action) {
        found = &a;
        break;
      }
    }
  }
  if (found == nullptr) {
    return error(ApiError{
        400, "InvalidAction",
        "Could not find operation " + Truncated(*action, 64) + " for version " +
            (version == nullptr ? std::string(kSesApiVersion) : Truncated(*version, 32)) + "."});
  }
  const QueryReply reply = (this->*(found->handler))(call, form);
  if (reply.error) {
    return error(*reply.error);
  }
  return QueryXmlResponse(200, QueryResultXml(found->name, reply.result, request_id), request_id);
}

// ---------------------------------------------------------------- sending

QueryReply SesV2Api::V1Submit(Call& call, const std::string& v2_body, std::string_view operation) {
  const bool raw = operation == "SendRawEmail";
  SendEmailLimits limits;
  limits.max_recipients = std::min(config_.max_recipients, kV1MaxRecipients);
  limits.max_message_bytes = std::min(config_.max_message_bytes, kV1MaxMessageBytes);
  sending::Submission sub;
  if (std::optional<ApiError> e = ParseSendEmailRequest(v2_body, limits, &sub)) {
    ApiError v1 = V1ErrorFromV2(*e);
    v1.message = V1Wording(std::move(v1.message), raw);
    return QueryReply::Error(std::move(v1));
  }
  sub.operation = std::string(operation);
  sub.principal = call.principal;
  sub.channel = sending::Channel::kApiV1;
  sending::SubmitResult result = sending_.Submit(sub);
  if (const auto* accepted = std::get_if<sending::Accepted>(&result)) {
    return QueryReply::Result(XmlElement("MessageId", accepted->message_id));
  }
  return QueryReply::Error(V1ErrorForRejection(std::get<sending::Rejection>(result)));
}

QueryReply SesV2Api::V1SendEmail(Call& call, const QueryForm& form) {
  json req = json::object();
  const std::string* source = form.Get("Source");
  if (source == nullptr) {
    return QueryReply::Error(MissingQueryParameter("Source"));
  }
  req["FromEmailAddress"] = *source;
  json dest = json::object();
  for (const auto& [v1, v2] : {std::pair{"Destination.ToAddresses", "ToAddresses"},
                               std::pair{"Destination.CcAddresses", "CcAddresses"},
                               std::pair{"Destination.BccAddresses", "BccAddresses"}}) {
    std::vector<std::string> list;
    if (std::optional<ApiError> e = form.List(v1, kV1MaxListMembers, &list)) {
      return QueryReply::Error(*e);
    }
    if (!list.empty()) {
      dest[v2] = std::move(list);
    }
  }
  req["Destination"] = std::move(dest);
  std::vector<std::string> reply_to;
  if (std::optional<ApiError> e = form.List("ReplyToAddresses", kV1MaxListMembers, &reply_to)) {
    return QueryReply::Error(*e);
  }
  if (!reply_to.empty()) {
    req["ReplyToAddresses"] = std::move(reply_to);
  }
  if (const std::string* return_path = form.Get("ReturnPath")) {
    // Where SES forwards feedback when forwarding is on (herald's envelope return path
    // stays its own VERP address).
    req["FeedbackForwardingEmailAddress"] = *return_path;
  }
  std::optional<json> subject;
  std::optional<json> text;
  std::optional<json> html;
  for (auto [part, out] :
       {std::pair{"Message.Subject", &subject}, std::pair{"Message.Body.Text", &text},
        std::pair{"Message.Body.Html", &html}}) {
    if (std::optional<ApiError> e = ReadContent(form, part, out)) {
      return QueryReply::Error(*e);
    }
  }
  if (!subject) {
    return QueryReply::Error(MissingQueryParameter("Message.Subject.Data"));
  }
  json body = json::object();
  if (text) {
    body["Text"] = std::move(*text);
  }
  if (html) {
    body["Html"] = std::move(*html);
  }
  req["Content"] = {{"Simple", {{"Subject", std::move(*subject)}, {"Body", std::move(body)}}}};
  if (std::optional<ApiError> e = ReadTags(form, &req)) {
    return QueryReply::Error(*e);
  }
  if (const std::string* set = form.Get("ConfigurationSetName")) {
    req["ConfigurationSetName"] = *set;
  }
  // SourceArn and ReturnPathArn (sending authorization) are accepted and ignored.
  return V1Submit(call, DumpJson(req), "SendEmail");
}

QueryReply SesV2Api::V1SendRawEmail(Call& call, const QueryForm& form) {
  json req = json::object();
  const std::string* data = form.Get("RawMessage.Data");
  if (data == nullptr) {
    return QueryReply::Error(MissingQueryParameter("RawMessage.Data"));
  }
  if (const std::string* source = form.Get("Source")) {
    req["FromEmailAddress"] = *source;
  }
  std::vector<std::string> destinations;
  if (std::optional<ApiError> e = form.List("Destinations", kV1MaxListMembers, &destinations)) {
    return QueryReply::Error(*e);
  }
  if (!destinations.empty()) {
    req["Destination"] = {{"ToAddresses", std::move(destinations)}};
  }
  req["Content"] = {{"Raw", {{"Data", *data}}}};
  if (std::optional<ApiError> e = ReadTags(form, &req)) {
    return QueryReply::Error(*e);
  }
  if (const std::string* set = form.Get("ConfigurationSetName")) {
    req["ConfigurationSetName"] = *set;
  }
  // FromArn, SourceArn and ReturnPathArn (sending authorization) are accepted and ignored.
  return V1Submit(call, DumpJson(req), "SendRawEmail");
}

QueryReply SesV2Api::V1GetSendQuota(Call& call, const QueryForm& /*form*/) {
  StatusOr<SendQuotaFigures> figures = SendQuotaOf(call.principal.account_id);
  if (!figures.ok()) {
    return QueryReply::Error(V1ErrorFromV2(Internal(figures.status(), "GetSendQuota")));
  }
  return QueryReply::Result(
      XmlElement("SentLast24Hours", XmlDouble(static_cast<double>(figures->sent_last_24h))) +
      XmlElement("Max24HourSend", XmlDouble(figures->limits.max_24h_send)) +
      XmlElement("MaxSendRate", XmlDouble(figures->limits.max_send_rate)));
}

QueryReply SesV2Api::V1GetSendStatistics(Call& call, const QueryForm& /*form*/) {
  // DeliveryAttempts: the recipients counted against the daily quota, from the per-minute
  // send counters, in 15-minute intervals over the time those are kept (48 hours). Bounces
  // and Complaints: the account's reputation window (hard bounces and feedback-loop
  // complaints of eligible recipients, counted in the hour of the send), at the interval
  // that starts the hour. Rejects: herald does not count them per account (always 0).
  const int64_t account_id = call.principal.account_id;
  const int64_t step_ms = std::chrono::milliseconds(kStatisticsStep).count();
  const int64_t now_ms = UnixMillis(clock_.Now());
  const int64_t oldest_ms = now_ms - std::chrono::milliseconds(store::kSendBucketRetention).count();
  const int64_t first_ms = (oldest_ms / step_ms + 1) * step_ms;  // first boundary kept
  const int64_t intervals = (now_ms - first_ms) / step_ms + 1;   // the last one holds now

  struct Point {
    int64_t attempts = 0;
    int64_t bounces = 0;
    int64_t complaints = 0;
  };
  std::map<int64_t, Point> points;  // interval start (ms) -> counts

  // Sends in interval i = CountSendsSince(start i) - CountSendsSince(start i+1). Halving
  // a range only while it holds sends keeps the store calls few for a quiet account.
  std::map<int64_t, int64_t> since;  // boundary index -> CountSendsSince(boundary)
  auto count_since = [&](int64_t i) -> StatusOr<int64_t> {
    if (auto it = since.find(i); it != since.end()) {
      return it->second;
    }
    ASSIGN_OR_RETURN(int64_t n,
                     store_.CountSendsSince(account_id, FromUnixMillis(first_ms + i * step_ms)));
    since.emplace(i, n);
    return n;
  };
  std::function<Status(int64_t, int64_t)> fill = [&](int64_t lo, int64_t hi) -> Status {
    ASSIGN_OR_RETURN(int64_t from_lo, count_since(lo));
    ASSIGN_OR_RETURN(int64_t from_hi, count_since(hi));
    if (from_lo - from_hi <= 0) {
      return Status::Ok();
    }
    if (hi - lo == 1) {
      points[first_ms + lo * step_ms].attempts = from_lo - from_hi;
      return Status::Ok();
    }
    const int64_t mid = lo + (hi - lo) / 2;
    RETURN_IF_ERROR(fill(lo, mid));
    return fill(mid, hi);
  };
  if (Status st = fill(0, intervals); !st.ok()) {
    return QueryReply::Error(V1ErrorFromV2(Internal(st, "GetSendStatistics")));
  }
  StatusOr<std::vector<store::RepBucketRow>> buckets = store_.LoadRepBuckets(account_id, "");
  if (!buckets.ok()) {
    return QueryReply::Error(V1ErrorFromV2(Internal(buckets.status(), "GetSendStatistics")));
  }
  constexpr int64_t kHourMs = 3600 * 1000;
  for (const store::RepBucketRow& b : *buckets) {
    const int64_t start = b.hour * kHourMs;
    if (start < first_ms || start > now_ms || (b.hard_bounces == 0 && b.complaints == 0)) {
      continue;
    }
    Point& p = points[start];
    p.bounces += b.hard_bounces;
    p.complaints += b.complaints;
  }
  std::string members;
  for (const auto& [start, p] : points) {
    members += "<member>";
    members += XmlElement("Timestamp", FormatIso8601Millis(FromUnixMillis(start)));
    members += XmlElement("DeliveryAttempts", std::to_string(p.attempts));
    members += XmlElement("Bounces", std::to_string(p.bounces));
    members += XmlElement("Complaints", std::to_string(p.complaints));
    members += XmlElement("Rejects", "0");
    members += "</member>";
  }
  return QueryReply::Result("<SendDataPoints>" + members + "</SendDataPoints>");
}

// ---------------------------------------------------------------- identities

std::optional<ApiError> SesV2Api::V1StartVerification(Call& call, const std::string& given,
                                                      bool domain, store::Identity* identity) {
  using VS = store::VerificationStatus;
  std::string why;
  std::optional<NormalizedIdentity> norm = NormalizeIdentity(given, &why);
  if (norm && (norm->type == store::IdentityType::kDomain) != domain) {
    norm.reset();
    why = domain ? "a domain has no '@'" : "an email address needs an '@'";
  }
  if (!norm) {
    return InvalidParameterValue(
        std::string(domain ? "Invalid domain name " : "Invalid email address ") + Truncated(given) +
        ": " + why + ".");
  }
  const int64_t account_id = call.principal.account_id;
  StatusOr<store::Identity> found = store_.GetIdentity(account_id, norm->name);
  if (found.status().code() == StatusCode::kNotFound) {
    store::Identity fresh;
    fresh.name = norm->name;
    fresh.type = norm->type;
    Status st = CreateIdentityRecord(call.principal, &fresh, config_.default_dkim_key_length);
    if (st.ok()) {
      *identity = std::move(fresh);
      return std::nullopt;
    }
    if (st.code() != StatusCode::kAlreadyExists) {
      return V1ErrorFromV2(Internal(st, "CreateIdentity"));
    }
    found = store_.GetIdentity(account_id, norm->name);  // created meanwhile
  }
  if (!found.ok()) {
    return V1ErrorFromV2(Internal(found.status(), "GetIdentity"));
  }
  StatusOr<store::Identity> current = Refresh(std::move(found).value());
  if (!current.ok()) {
    return V1ErrorFromV2(Internal(current.status(), "RefreshIdentity"));
  }
  const SysTime now = clock_.Now();
  const bool email = current->type == store::IdentityType::kEmailAddress;
  if (current->status == VS::kSuccess ||
      (current->status != VS::kFailed && now <= current->token_expires)) {
    // Verified, or still within its deadline: an address gets its link again (SES mails
    // it again too), a domain keeps its token.
    if (email && current->status != VS::kSuccess) {
      verifier_.SendVerificationEmail(call.principal, current->name, current->verification_token);
    }
    *identity = std::move(current).value();
    return std::nullopt;
  }
  // Failed (deadline passed): start again with a fresh deadline, and for an address a
  // fresh link, keeping everything else (DKIM key, MAIL FROM, notifications, tags).
  store::Identity again = std::move(current).value();
  again.status = VS::kPending;
  again.token_expires = now + (email ? config_.email_token_ttl : config_.domain_token_ttl);
  if (email) {
    again.verification_token = RandomBase64Url(32);
  }
  Status st = store_.DeleteIdentity(account_id, again.name);
  if (st.ok() || st.code() == StatusCode::kNotFound) {
    st = store_.CreateIdentity(again);
  }
  if (!st.ok() && st.code() != StatusCode::kAlreadyExists) {
    return V1ErrorFromV2(Internal(st, "RestartVerification"));
  }
  if (email) {
    verifier_.SendVerificationEmail(call.principal, again.name, again.verification_token);
  }
  *identity = std::move(again);
  return std::nullopt;
}

QueryReply SesV2Api::V1VerifyEmailIdentity(Call& call, const QueryForm& form) {
  const std::string* address = form.Get("EmailAddress");
  if (address == nullptr) {
    return QueryReply::Error(MissingQueryParameter("EmailAddress"));
  }
  store::Identity identity;
  if (std::optional<ApiError> e = V1StartVerification(call, *address, false, &identity)) {
    return QueryReply::Error(*e);
  }
  return QueryReply::Result("");
}

QueryReply SesV2Api::V1VerifyEmailAddress(Call& call, const QueryForm& form) {
  QueryReply reply = V1VerifyEmailIdentity(call, form);
  if (!reply.error) {
    reply.result.reset();  // the old action has no output
  }
  return reply;
}

QueryReply SesV2Api::V1VerifyDomainIdentity(Call& call, const QueryForm& form) {
  const std::string* domain = form.Get("Domain");
  if (domain == nullptr) {
    return QueryReply::Error(MissingQueryParameter("Domain"));
  }
  store::Identity identity;
  if (std::optional<ApiError> e = V1StartVerification(call, *domain, true, &identity)) {
    return QueryReply::Error(*e);
  }
  return QueryReply::Result(XmlElement("VerificationToken", identity.verification_token));
}

QueryReply SesV2Api::V1ListIdentities(Call& call, const QueryForm& form) {
  std::optional<store::IdentityType> type;
  if (const std::string* t = form.Get("IdentityType")) {
    if (*t == "EmailAddress") {
      type = store::IdentityType::kEmailAddress;
    } else if (*t == "Domain") {
      type = store::IdentityType::kDomain;
    } else {
      return QueryReply::Error(
          InvalidParameterValue("Invalid value for IdentityType: must be EmailAddress or Domain."));
    }
  }
  int max_items = kV1MaxItems;
  if (const std::string* m = form.Get("MaxItems")) {
    int value = 0;
    const char* end = m->data() + m->size();
    auto [ptr, ec] = std::from_chars(m->data(), end, value);
    if (m->empty() || ec != std::errc() || ptr != end || value < 1 || value > kV1MaxItems) {
      return QueryReply::Error(
          InvalidParameterValue("Invalid value for MaxItems: must be an integer from 1 to 1000."));
    }
    max_items = value;
  }
  std::string after;
  if (const std::string* token = form.Get("NextToken")) {
    std::optional<std::string> decoded = DecodeNextToken(*token);
    if (!decoded) {
      return QueryReply::Error(InvalidParameterValue("Invalid NextToken."));
    }
    after = std::move(*decoded);
  }
  std::vector<std::string> names;
  bool more = false;
  while (!more) {
    StatusOr<std::vector<store::Identity>> page =
        store_.ListIdentities(call.principal.account_id, after, store::kMaxListLimit);
    if (!page.ok()) {
      return QueryReply::Error(V1ErrorFromV2(Internal(page.status(), "ListIdentities")));
    }
    for (const store::Identity& id : *page) {
      if (type && id.type != *type) {
        continue;
      }
      if (names.size() == static_cast<size_t>(max_items)) {
        more = true;
        break;
      }
      names.push_back(id.name);
    }
    if (page->size() < static_cast<size_t>(store::kMaxListLimit)) {
      break;
    }
    after = page->back().name;
  }
  std::string xml = "<Identities>";
  for (const std::string& name : names) {
    xml += XmlElement("member", name);
  }
  xml += "</Identities>";
  if (more) {
    xml += XmlElement("NextToken", EncodeNextToken(names.back()));
  }
  return QueryReply::Result(std::move(xml));
}

QueryReply SesV2Api::V1GetIdentityVerificationAttributes(Call& call, const QueryForm& form) {
  std::vector<std::pair<std::string, store::Identity>> listed;
  if (std::optional<ApiError> e = V1ListedIdentities(call, form, &listed)) {
    return QueryReply::Error(*e);
  }
  std::string entries;
  for (auto& [name, identity] : listed) {
    StatusOr<store::Identity> found = Refresh(std::move(identity));
    if (!found.ok()) {
      return QueryReply::Error(
          V1ErrorFromV2(Internal(found.status(), "GetIdentityVerificationAttributes")));
    }
    entries += "<entry>" + XmlElement("key", name) + "<value>";
    entries += XmlElement("VerificationStatus", V1StatusName(found->status));
    if (found->type == store::IdentityType::kDomain) {
      entries += XmlElement("VerificationToken", found->verification_token);
    }
    entries += "</value></entry>";
  }
  return QueryReply::Result("<VerificationAttributes>" + entries + "</VerificationAttributes>");
}

QueryReply SesV2Api::V1DeleteIdentity(Call& call, const QueryForm& form) {
  const std::string* given = form.Get("Identity");
  if (given == nullptr) {
    return QueryReply::Error(MissingQueryParameter("Identity"));
  }
  std::string name;
  Status st = DeleteIdentityNamed(call.principal.account_id, *given, &name);
  // Deleting an identity the caller does not have succeeds, as at SES.
  if (!st.ok() && st.code() != StatusCode::kNotFound) {
    return QueryReply::Error(V1ErrorFromV2(Internal(st, "DeleteIdentity")));
  }
  return QueryReply::Result("");
}

}  // namespace herald::api
