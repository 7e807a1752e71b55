#include "api/sesv2_api.h"

#include <algorithm>
#include <charconv>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "api/query_form.h"
#include "api/send_email_request.h"
#include "api/sesv2_internal.h"
#include "auth/sigv4.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/strings.h"
#include "mail/address.h"
#include "mail/dkim.h"
#include "sending/reply_mapping.h"

namespace herald::api {

// ---- Shared with the other sesv2_*.cc files (declared in api/sesv2_internal.h) ----

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = DumpJson(body);
  return r;
}

ApiError Internal(const Status& st, std::string_view what) {
  LogError("api store failure", {{"op", std::string(what)}, {"error", st.ToString()}});
  return ApiError{500, "InternalServiceErrorException", "Internal service error."};
}

ApiError UnknownOperation(std::string_view method, std::string_view path) {
  return ApiError{404, "UnknownOperationException",
                  "Unknown operation: " + Truncated(method, 16) + " " + Truncated(path)};
}

// Query string parameters, percent-decoded; the first occurrence of a name wins.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name,
                                      bool* malformed) {
  for (std::string_view part : Split(query, '&')) {
    const size_t eq = part.find('=');
    std::string key;
    if (!PercentDecode(part.substr(0, eq), &key)) {
      *malformed = true;
      return std::nullopt;
    }
    if (key != name) {
      continue;
    }
    std::string value;
    if (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), &value)) {
      *malformed = true;
      return std::nullopt;
    }
    return value;
  }
  return std::nullopt;
}

// NextToken: the last identity name of the page, base64url without padding.
std::string EncodeNextToken(const std::string& name) { return Base64UrlEncode(name); }

// The bytes of a base64url token without padding (EncodeNextToken); nullopt when it is not
// one or decodes to nothing.
std::optional<std::string> DecodeBase64UrlToken(std::string_view token) {
  if (token.size() > 1024) return std::nullopt;
  std::optional<std::string> name = Base64UrlDecode(token);
  if (!name || name->empty()) {
    return std::nullopt;
  }
  return name;
}

std::optional<std::string> DecodeNextToken(std::string_view token) {
  std::optional<std::string> name = DecodeBase64UrlToken(token);
  if (!name) {
    return std::nullopt;
  }
  for (unsigned char c : *name) {
    if (c <= 0x20 || c >= 0x7f) {
      return std::nullopt;
    }
  }
  return name;
}

// PageSize (0..1000; 0 or absent: kDefaultPageSize) and NextToken (the name to list after;
// empty for the first page) of a List* request.
std::optional<ApiError> ParsePageRequest(std::string_view query, int* page, std::string* after) {
  bool malformed = false;
  std::optional<std::string> page_text = QueryParam(query, "PageSize", &malformed);
  std::optional<std::string> token = QueryParam(query, "NextToken", &malformed);
  if (malformed) {
    return BadRequest("Invalid percent-encoding in the query string.");
  }
  *page = kDefaultPageSize;
  if (page_text) {
    int value = -1;
    const char* end = page_text->data() + page_text->size();
    auto [ptr, ec] = std::from_chars(page_text->data(), end, value);
    if (page_text->empty() || ec != std::errc() || ptr != end || value < 0 ||
        value > kMaxPageSize) {
      return BadRequest("Invalid value for PageSize: must be an integer from 0 to 1000.");
    }
    *page = value == 0 ? kDefaultPageSize : value;
  }
  after->clear();
  if (token) {
    std::optional<std::string> decoded = DecodeNextToken(*token);
    if (!decoded) {
      return BadRequest("Invalid NextToken.");
    }
    *after = std::move(*decoded);
  }
  return std::nullopt;
}

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

// The Tags member of a create request (absent: none), checked and normalised to
// [{"Key", "Value"}].
std::optional<ApiError> ParseTags(const json& request, json* tags) {
  *tags = json::array();
  auto t = request.find("Tags");
  if (t == request.end() || t->is_null()) {
    return std::nullopt;
  }
  if (!t->is_array()) {
    return BadRequest("Invalid type for parameter Tags: expected a list.");
  }
  if (t->size() > kMaxTags) {
    return BadRequest("Too many Tags: at most 50 are allowed.");
  }
  for (size_t i = 0; i < t->size(); ++i) {
    const json& tag = (*t)[i];
    const std::string path = "Tags[" + std::to_string(i) + "]";
    auto k = tag.is_object() ? tag.find("Key") : tag.end();
    auto v = tag.is_object() ? tag.find("Value") : tag.end();
    if (!tag.is_object() || k == tag.end() || v == tag.end() || !k->is_string() ||
        !v->is_string()) {
      return BadRequest("Invalid parameter " + path + ": Key and Value strings are required.");
    }
    const std::string& key = k->get_ref<const std::string&>();
    const std::string& value = v->get_ref<const std::string&>();
    if (key.empty() || key.size() > 128 || value.size() > 256 || HasControl(key) ||
        HasControl(value)) {
      return BadRequest("Invalid parameter " + path +
                        ": Key must be 1 to 128 characters and Value at most 256, without "
                        "control characters.");
    }
    tags->push_back(json{{"Key", key}, {"Value", value}});
  }
  return std::nullopt;
}

// The tags stored as JSON text, or [] when the text is unreadable.
json StoredTags(const std::string& text) {
  json tags = json::parse(text, nullptr, false);
  if (tags.is_discarded() || !tags.is_array()) {
    tags = json::array();
  }
  return tags;
}

std::string ConfigSetNotFound(std::string_view name) {
  return "Configuration set <" + Truncated(name) + "> does not exist.";
}

// "Prefix.Name", or "Name" at the top level of a request.
std::string Param(std::string_view prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : std::string(prefix) + "." + std::string(name);
}

// Member `name` of `obj`, or nullptr when absent or null (AWS clients send neither for an
// unset member, but hand-written requests may).
const json* Member(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

ApiError WrongType(std::string_view param, std::string_view expected) {
  return BadRequest("Invalid type for parameter " + std::string(param) + ": expected " +
                    std::string(expected) + ".");
}

ApiError MissingParam(std::string_view param) {
  return BadRequest("Missing required parameter: " + std::string(param) + ".");
}

std::optional<ApiError> OptBool(const json& obj, std::string_view prefix, const char* name,
                                std::optional<bool>* out) {
  if (const json* v = Member(obj, name)) {
    if (!v->is_boolean()) {
      return WrongType(Param(prefix, name), "a boolean");
    }
    *out = v->get<bool>();
  }
  return std::nullopt;
}

std::optional<ApiError> OptString(const json& obj, std::string_view prefix, const char* name,
                                  std::optional<std::string>* out) {
  if (const json* v = Member(obj, name)) {
    if (!v->is_string()) {
      return WrongType(Param(prefix, name), "a string");
    }
    *out = v->get<std::string>();
  }
  return std::nullopt;
}

// A string member restricted to `allowed` (SES enums are case-sensitive).
std::optional<ApiError> OptEnum(const json& obj, std::string_view prefix, const char* name,
                                std::initializer_list<std::string_view> allowed,
                                std::optional<std::string>* out) {
  RETURN_IF_API_ERROR(OptString(obj, prefix, name, out));
  if (*out && std::find(allowed.begin(), allowed.end(), **out) == allowed.end()) {
    std::string list;
    size_t i = 0;
    for (std::string_view a : allowed) {
      list += i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ";
      list += a;
      ++i;
    }
    return BadRequest("Invalid value for " + Param(prefix, name) + ": must be " + list + ".");
  }
  return std::nullopt;
}

std::optional<ApiError> OptStruct(const json& obj, std::string_view prefix, const char* name,
                                  const json** out) {
  *out = Member(obj, name);
  if (*out != nullptr && !(*out)->is_object()) {
    return WrongType(Param(prefix, name), "a structure");
  }
  return std::nullopt;
}

namespace {

constexpr std::string_view kIdentitiesPath = "/v2/email/identities";
constexpr std::string_view kV1IdentitiesPath = "/v1/email/identities";
constexpr std::string_view kConfigSetsPath = "/v2/email/configuration-sets";
constexpr std::string_view kSuppressionPath = "/v2/email/suppression/addresses";
constexpr std::string_view kTemplatesPath = "/v2/email/templates";
// The option groups of a configuration set, each with its own Put operation.
constexpr std::string_view kConfigSetOptions[] = {
    "/delivery-options",    "/sending",     "/reputation-options", "/tracking-options",
    "/suppression-options", "/vdm-options", "/archiving-options"};

bool IsConfigSetOption(std::string_view suffix) {
  return std::find(std::begin(kConfigSetOptions), std::end(kConfigSetOptions), suffix) !=
         std::end(kConfigSetOptions);
}

const char* TypeName(store::IdentityType t) {
  return t == store::IdentityType::kDomain ? "DOMAIN" : "EMAIL_ADDRESS";
}

const char* StatusName(store::VerificationStatus s) {
  switch (s) {
    case store::VerificationStatus::kPending:
      return "PENDING";
    case store::VerificationStatus::kSuccess:
      return "SUCCESS";
    case store::VerificationStatus::kFailed:
      return "FAILED";
    case store::VerificationStatus::kTemporaryFailure:
      return "TEMPORARY_FAILURE";
    case store::VerificationStatus::kNotStarted:
      return "NOT_STARTED";
  }
  return "NOT_STARTED";
}

}  // namespace

// An email address (lower-cased) or a domain (lower-cased Punycode).
std::optional<NormalizedIdentity> NormalizeIdentity(std::string_view text, std::string* why) {
  if (text.empty() || text.size() > 320) {
    *why = "must be 1 to 320 characters";
    return std::nullopt;
  }
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == ' ') {
      *why = "contains characters not allowed in an identity";
      return std::nullopt;
    }
  }
  if (text.find('@') != std::string_view::npos) {
    StatusOr<mail::Mailbox> mb = mail::ParseMailbox(text);
    if (!mb.ok()) {
      *why = mb.status().message();
      return std::nullopt;
    }
    return NormalizedIdentity{store::IdentityType::kEmailAddress, mb->Canonical()};
  }
  StatusOr<std::string> domain = mail::NormalizeDomain(text);
  if (!domain.ok()) {
    *why = domain.status().message();
    return std::nullopt;
  }
  if (domain->find('.') == std::string::npos) {
    *why = "a domain needs at least two labels";
    return std::nullopt;
  }
  return NormalizedIdentity{store::IdentityType::kDomain, std::move(domain).value()};
}

namespace {

std::string EmailIdentityNotFound(std::string_view name) {
  return "Email identity " + Truncated(name) + " does not exist.";
}

// DkimAttributes of an identity without DKIM (an address whose domain has no identity).
json NoDkimJson() {
  return json{{"SigningEnabled", false},
              {"Status", "NOT_STARTED"},
              {"SigningAttributesOrigin", "AWS_SES"},
              {"Tokens", json::array()}};
}

// DkimAttributes of a domain identity, as stored.
json DomainDkimJson(const store::Identity& id) {
  if (id.dkim_selector.empty()) {
    json j = NoDkimJson();
    j["SigningAttributesOrigin"] = id.dkim_origin;
    return j;
  }
  json j = {{"SigningEnabled", id.dkim_signing_enabled},
            {"Status", StatusName(id.dkim_status)},
            {"Tokens", json::array({id.dkim_selector})},
            {"SigningAttributesOrigin", id.dkim_origin}};
  if (id.dkim_origin == "AWS_SES") {
    j["NextSigningKeyLength"] = id.dkim_next_key_length;
    if (!id.dkim_key_length.empty()) {
      j["CurrentSigningKeyLength"] = id.dkim_key_length;
    }
    // rest-json timestamps are epoch seconds.
    j["LastKeyGenerationTimestamp"] = static_cast<double>(UnixMillis(id.dkim_generated_at)) / 1000;
  }
  return j;
}

bool IsDkimKeyLength(std::string_view s) { return s == "RSA_1024_BIT" || s == "RSA_2048_BIT"; }

// SES's Selector shape: 1 to 63 letters, digits and inner hyphens.
bool IsSelector(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}

// The members of a DkimSigningAttributes structure.
struct DkimSigningRequest {
  std::optional<std::string> selector;
  std::optional<std::string> private_key;
  std::optional<std::string> next_key_length;
};

std::optional<ApiError> ParseDkimSigningAttributes(const json& d, std::string_view param,
                                                   DkimSigningRequest* out) {
  if (!d.is_object()) {
    return BadRequest("Invalid type for parameter " + std::string(param) +
                      ": expected a structure.");
  }
  auto str = [&](const char* member, std::optional<std::string>* to) -> std::optional<ApiError> {
    auto it = d.find(member);
    if (it == d.end() || it->is_null()) {
      return std::nullopt;
    }
    if (!it->is_string()) {
      return BadRequest("Invalid type for parameter " + std::string(param) + "." + member +
                        ": expected a string.");
    }
    *to = it->get<std::string>();
    return std::nullopt;
  };
  if (auto e = str("DomainSigningSelector", &out->selector)) {
    return e;
  }
  if (auto e = str("DomainSigningPrivateKey", &out->private_key)) {
    return e;
  }
  if (auto e = str("NextSigningKeyLength", &out->next_key_length)) {
    return e;
  }
  if (out->selector && !IsSelector(*out->selector)) {
    return BadRequest("Invalid DomainSigningSelector " + Truncated(*out->selector, 70) +
                      ": use 1 to 63 letters, digits and inner hyphens.");
  }
  if (out->private_key && (out->private_key->empty() || out->private_key->size() > 20480)) {
    return BadRequest("Invalid DomainSigningPrivateKey: it must be 1 to 20480 characters.");
  }
  if (out->next_key_length && !IsDkimKeyLength(*out->next_key_length)) {
    return BadRequest(
        "Invalid value for NextSigningKeyLength: must be RSA_1024_BIT or "
        "RSA_2048_BIT.");
  }
  if (out->selector.has_value() != out->private_key.has_value()) {
    return BadRequest("DomainSigningSelector and DomainSigningPrivateKey must be given together.");
  }
  return std::nullopt;
}

// Puts a BYODKIM key on `id` (origin EXTERNAL, status PENDING), or says what is wrong.
std::optional<ApiError> ApplyExternalKey(const DkimSigningRequest& req, SysTime now,
                                         store::Identity* id) {
  StatusOr<mail::DkimKeyInfo> key = mail::ParseDkimPrivateKey(*req.private_key);
  if (!key.ok()) {
    return BadRequest("Invalid DomainSigningPrivateKey: " + key.status().message() + ".");
  }
  std::string length;
  if (key->algorithm == mail::DkimAlgorithm::kRsaSha256) {
    if (key->bits != 1024 && key->bits != 2048) {
      return BadRequest(
          "Invalid DomainSigningPrivateKey: an RSA key must have 1024 or 2048 "
          "bits, this one has " +
          std::to_string(key->bits) + ".");
    }
    length = key->bits == 1024 ? "RSA_1024_BIT" : "RSA_2048_BIT";
  }
  id->dkim_origin = "EXTERNAL";
  id->dkim_selector = *req.selector;
  id->dkim_private_key_pem = key->private_key_pem;
  id->dkim_algorithm = mail::DkimAlgorithmName(key->algorithm);
  id->dkim_key_length = length;
  id->dkim_status = store::VerificationStatus::kPending;
  id->dkim_generated_at = now;
  return std::nullopt;
}

json DnsRecordJson(const DnsRecord& r) {
  return json{{"Name", r.name}, {"Type", r.type}, {"Value", r.value}};
}

// A TXT string that is an SPF record (RFC 7208 4.5: "v=spf1" then a space or the end).
bool IsSpfRecord(std::string_view txt) {
  return StartsWithIgnoreCase(txt, "v=spf1") && (txt.size() == 6 || txt[6] == ' ');
}

json VerificationRecordJson(const store::Identity& id) {
  return json{{"Name", "_amazonses." + id.name}, {"Type", "TXT"}, {"Value", id.verification_token}};
}

// Status for listings: expiry is applied without DNS lookups.
store::VerificationStatus DisplayStatus(const store::Identity& id, SysTime now) {
  if (id.status == store::VerificationStatus::kPending && now > id.token_expires) {
    return store::VerificationStatus::kFailed;
  }
  return id.status;
}

// GetAccount's SuppressionAttributes: the account's reasons, and ValidationAttributes when set.
json SuppressionAttributesJson(const store::Account& account) {
  json reasons = json::array();
  if (account.suppressed_reasons.bounce) {
    reasons.push_back("BOUNCE");
  }
  if (account.suppressed_reasons.complaint) {
    reasons.push_back("COMPLAINT");
  }
  json out = {{"SuppressedReasons", std::move(reasons)}};
  if (!account.suppression_validation_json.empty()) {
    json v = json::parse(account.suppression_validation_json, nullptr, false);
    if (!v.is_discarded() && v.is_object()) {
      out["ValidationAttributes"] = std::move(v);
    }
  }
  return out;
}

}  // namespace

HttpResponse ErrorResponse(const ApiError& error) {
  HttpResponse r = JsonResponse(error.status, json{{"message", error.message}});
  r.headers.emplace_back("x-amzn-ErrorType", error.code);
  return r;
}

Status AssignNewDkimKey(store::Identity* identity, const std::string& key_length, SysTime now) {
  if (!IsDkimKeyLength(key_length)) {
    return InvalidArgumentError("DKIM key length must be RSA_1024_BIT or RSA_2048_BIT");
  }
  ASSIGN_OR_RETURN(mail::DkimKeyPair key,
                   mail::GenerateDkimKey(mail::DkimAlgorithm::kRsaSha256,
                                         key_length == "RSA_1024_BIT" ? 1024 : 2048));
  identity->dkim_origin = "AWS_SES";
  identity->dkim_selector = mail::RandomDkimSelector();
  identity->dkim_private_key_pem = std::move(key.private_key_pem);
  identity->dkim_algorithm = mail::DkimAlgorithmName(mail::DkimAlgorithm::kRsaSha256);
  identity->dkim_key_length = key_length;
  identity->dkim_next_key_length = key_length;
  identity->dkim_status = store::VerificationStatus::kPending;
  identity->dkim_generated_at = now;
  return Status::Ok();
}

StatusOr<DnsRecord> DkimRecordFor(const store::Identity& identity) {
  if (identity.dkim_selector.empty()) {
    return NotFoundError("identity has no DKIM key");
  }
  mail::DkimAlgorithm algorithm = mail::DkimAlgorithm::kRsaSha256;
  if (!mail::ParseDkimAlgorithm(identity.dkim_algorithm, &algorithm)) {
    return DataLossError("identity has an unknown DKIM algorithm");
  }
  ASSIGN_OR_RETURN(std::string p, mail::DkimPublicKeyBase64(identity.dkim_private_key_pem));
  DnsRecord r;
  r.name = identity.dkim_selector + "._domainkey." + identity.name;
  r.value = mail::DkimDnsRecord(algorithm, p);
  return r;
}

SesV2Api::SesV2Api(const ApiConfig& config, store::Store& store, sending::SendingService& sending,
                   sending::CredentialLookup& credentials, IdentityVerifier& verifier, Clock& clock)
    : config_(config),
      store_(store),
      sending_(sending),
      credentials_(credentials),
      verifier_(verifier),
      clock_(clock) {}

HttpResponse SesV2Api::Handle(const HttpRequest& request) {
  std::string_view target = request.target;
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);

  HttpResponse response;
  if (path == "/metrics" && (request.method == "GET" || request.method == "HEAD") &&
      config_.metrics_text) {
    response.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.body = config_.metrics_text();
  } else if (config_.engagement != nullptr &&
             (path.starts_with("/t/") || path.starts_with("/u/"))) {
    response = config_.engagement->Handle(request);
  } else if (path.starts_with("/_herald/")) {
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (get && path == "/_herald/health") {
      response = Health();
    } else if (get && path == "/_herald/verify-email") {
      response = VerifyEmail(request);
    } else if (get && path.starts_with("/_herald/sns/")) {
      response = SnsEndpoint(request, path, query);
    } else {
      response = ErrorResponse(UnknownOperation(request.method, path));
    }
  } else {
    auth::HttpRequestView view{request.method, request.target, request.headers, request.body};
    std::optional<sending::CredentialLookup::Key> key;
    auto lookup = [&](const std::string& id) -> std::optional<auth::KeyInfo> {
      key = credentials_.LookupAccessKey(id);
      if (!key) {
        return std::nullopt;
      }
      return auth::KeyInfo{key->secret, key->active};
    };
    auth::SigV4Expectation expect;
    expect.region = config_.region;
    expect.service = "ses";
    const auth::SigV4Result verified = auth::VerifySigV4(view, expect, clock_.Now(), lookup);
    if (!verified.ok || !key) {
      const auth::SigV4Failure& f = verified.failure;
      const ApiError error =
          verified.ok ? ApiError{403, "UnrecognizedClientException",
                                 "The security token included in the request is invalid."}
                      : ApiError{f.http_status, f.code, f.message};
      // The v1 Query API (POST /) answers in its own XML shape and codes.
      response = path == "/" ? QueryErrorResponse(V1ErrorFromV2(error)) : ErrorResponse(error);
    } else {
      Call call{request, path, query, key->principal};
      call.principal.access_key_id = verified.ok->access_key_id;
      call.principal.source_ip = request.remote_addr;
      response = Dispatch(call);
    }
  }
  if (response.FindHeader("x-amzn-RequestId") == nullptr) {  // v1 replies carry their own
    response.headers.emplace_back("x-amzn-RequestId", NewRequestId());
  }
  return response;
}

HttpResponse SesV2Api::Dispatch(Call& call) {
  const std::string& method = call.request.method;
  const std::string_view path = call.path;
  if (path == "/") {
    return DispatchV1(call);  // the SES v1 Query API (ses_v1.cc)
  }
  if (path == "/v2/email/outbound-emails") {
    if (method == "POST") {
      return SendEmail(call);
    }
  } else if (path == "/v2/email/outbound-bulk-emails") {
    if (method == "POST") {
      return SendBulkEmail(call);
    }
  } else if (path == kTemplatesPath) {
    if (method == "POST") {
      return CreateEmailTemplate(call);
    }
    if (method == "GET") {
      return ListEmailTemplates(call);
    }
  } else if (path.starts_with(kTemplatesPath) && path[kTemplatesPath.size()] == '/') {
    // /v2/email/templates/{TemplateName}[/render]
    std::string_view rest = path.substr(kTemplatesPath.size() + 1);
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const std::string_view suffix =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    std::string name;
    if (segment.empty()) {
      return ErrorResponse(UnknownOperation(method, path));
    }
    if (!PercentDecode(segment, &name)) {
      return ErrorResponse(BadRequest("Invalid percent-encoding in the request path."));
    }
    if (suffix.empty()) {
      if (method == "GET") {
        return GetEmailTemplate(call, name);
      }
      if (method == "PUT") {
        return UpdateEmailTemplate(call, name);
      }
      if (method == "DELETE") {
        return DeleteEmailTemplate(call, name);
      }
    } else if (suffix == "/render" && method == "POST") {
      return TestRenderEmailTemplate(call, name);
    }
  } else if (path == kContactListsPath ||
             (path.starts_with(kContactListsPath) && path[kContactListsPath.size()] == '/')) {
    return DispatchContacts(call);
  } else if (path == "/v2/email/account") {
    if (method == "GET") {
      return GetAccount(call);
    }
  } else if (path == "/v2/email/account/suppression") {
    if (method == "PUT") {
      return PutAccountSuppressionAttributes(call);
    }
  } else if (path == "/v2/email/account/sending") {
    if (method == "PUT") {
      return PutAccountSendingAttributes(call);
    }
  } else if (path == kSuppressionPath) {
    if (method == "PUT") {
      return PutSuppressedDestination(call);
    }
    if (method == "GET") {
      return ListSuppressedDestinations(call);
    }
  } else if (path.starts_with(kSuppressionPath) && path[kSuppressionPath.size()] == '/') {
    // /v2/email/suppression/addresses/{EmailAddress}
    const std::string_view segment = path.substr(kSuppressionPath.size() + 1);
    std::string address;
    if (segment.empty() || segment.find('/') != std::string_view::npos) {
      return ErrorResponse(UnknownOperation(method, path));
    }
    if (!PercentDecode(segment, &address)) {
      return ErrorResponse(BadRequest("Invalid percent-encoding in the request path."));
    }
    if (method == "GET") {
      return GetSuppressedDestination(call, address);
    }
    if (method == "DELETE") {
      return DeleteSuppressedDestination(call, address);
    }
  } else if (path == kIdentitiesPath) {
    if (method == "POST") {
      return CreateEmailIdentity(call);
    }
    if (method == "GET") {
      return ListEmailIdentities(call);
    }
  } else if (path == kConfigSetsPath) {
    if (method == "POST") {
      return CreateConfigurationSet(call);
    }
    if (method == "GET") {
      return ListConfigurationSets(call);
    }
  } else if (path.starts_with(kConfigSetsPath) && path[kConfigSetsPath.size()] == '/') {
    // /v2/email/configuration-sets/{ConfigurationSetName}[/<option group>]
    std::string_view rest = path.substr(kConfigSetsPath.size() + 1);
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const std::string_view suffix =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    std::string name;
    if (segment.empty()) {
      return ErrorResponse(UnknownOperation(method, path));
    }
    if (!PercentDecode(segment, &name)) {
      return ErrorResponse(BadRequest("Invalid percent-encoding in the request path."));
    }
    if (suffix.empty()) {
      if (method == "GET") {
        return GetConfigurationSet(call, name);
      }
      if (method == "DELETE") {
        return DeleteConfigurationSet(call, name);
      }
    } else if (method == "PUT" && IsConfigSetOption(suffix)) {
      return PutConfigurationSetOptions(call, name, suffix);
    } else if (suffix == "/event-destinations") {
      if (method == "POST") {
        return CreateConfigurationSetEventDestination(call, name);
      }
      if (method == "GET") {
        return GetConfigurationSetEventDestinations(call, name);
      }
    } else if (suffix.starts_with("/event-destinations/") &&
               suffix.size() > std::string_view("/event-destinations/").size() &&
               suffix.find('/', 1 + std::string_view("event-destinations/").size()) ==
                   std::string_view::npos) {
      std::string dest;
      if (!PercentDecode(suffix.substr(std::string_view("/event-destinations/").size()), &dest)) {
        return ErrorResponse(BadRequest("Invalid percent-encoding in the request path."));
      }
      if (method == "PUT") {
        return UpdateConfigurationSetEventDestination(call, name, dest);
      }
      if (method == "DELETE") {
        return DeleteConfigurationSetEventDestination(call, name, dest);
      }
    }
  } else if (path.starts_with(kIdentitiesPath) || path.starts_with(kV1IdentitiesPath)) {
    // /v2/email/identities/{EmailIdentity}[/dkim | /dkim/signing | /mail-from]; older
    // models send PutEmailIdentityDkimSigningAttributes to /v1/....
    const bool v1 = path.starts_with(kV1IdentitiesPath);
    std::string_view rest = path.substr((v1 ? kV1IdentitiesPath : kIdentitiesPath).size());
    if (rest.size() < 2 || rest[0] != '/') {
      return ErrorResponse(UnknownOperation(method, path));
    }
    rest.remove_prefix(1);
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const std::string_view suffix =
        slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    std::string name;
    if (segment.empty()) {
      return ErrorResponse(UnknownOperation(method, path));
    }
    if (!PercentDecode(segment, &name)) {
      return ErrorResponse(BadRequest("Invalid percent-encoding in the request path."));
    }
    if (suffix.empty() && !v1) {
      if (method == "GET") {
        return GetEmailIdentity(call, name);
      }
      if (method == "DELETE") {
        return DeleteEmailIdentity(call, name);
      }
    } else if (suffix == "/dkim" && !v1 && method == "PUT") {
      return PutEmailIdentityDkimAttributes(call, name);
    } else if (suffix == "/dkim/signing" && method == "PUT") {
      return PutEmailIdentityDkimSigningAttributes(call, name);
    } else if (suffix == "/mail-from" && !v1 && method == "PUT") {
      return PutEmailIdentityMailFromAttributes(call, name);
    } else if (suffix == "/feedback" && !v1 && method == "PUT") {
      return PutEmailIdentityFeedbackAttributes(call, name);
    }
  }
  return ErrorResponse(UnknownOperation(method, path));
}

HttpResponse SesV2Api::SendEmail(Call& call) {
  SendEmailLimits limits;
  limits.max_recipients = config_.max_recipients;
  limits.max_message_bytes = config_.max_message_bytes;
  sending::Submission sub;
  const int64_t account_id = call.principal.account_id;
  TemplateLookup lookup = [this, account_id](const std::string& name) -> StatusOr<TemplateParts> {
    ASSIGN_OR_RETURN(store::EmailTemplate t, store_.GetTemplate(account_id, name));
    return TemplateParts{t.subject, t.text, t.html};
  };
  if (std::optional<ApiError> e = ParseSendEmailRequest(call.request.body, limits, &sub, &lookup)) {
    return ErrorResponse(*e);
  }
  sub.principal = std::move(call.principal);
  sub.channel = sending::Channel::kApiV2;
  sending::SubmitResult result = sending_.Submit(sub);
  if (const auto* accepted = std::get_if<sending::Accepted>(&result)) {
    return JsonResponse(200, json{{"MessageId", accepted->message_id}});
  }
  const sending::HttpError e = sending::HttpErrorFor(std::get<sending::Rejection>(result));
  return ErrorResponse(ApiError{e.status, e.code, e.message});
}

StatusOr<SesV2Api::SendQuotaFigures> SesV2Api::SendQuotaOf(int64_t account_id) {
  SendQuotaFigures f;
  ASSIGN_OR_RETURN(f.account, store_.GetAccount(account_id));
  ASSIGN_OR_RETURN(f.sent_last_24h, sending_.SentLast24Hours(account_id));
  f.limits = f.account.production ? config_.production : config_.sandbox;
  return f;
}

HttpResponse SesV2Api::GetAccount(Call& call) {
  StatusOr<SendQuotaFigures> figures = SendQuotaOf(call.principal.account_id);
  if (!figures.ok()) {
    return ErrorResponse(Internal(figures.status(), "GetAccount"));
  }
  const store::Account& account = figures->account;
  const SendQuotaLimits& q = figures->limits;
  json body = {
      {"DedicatedIpAutoWarmupEnabled", false},
      {"EnforcementStatus", account.enforcement_status},
      {"ProductionAccessEnabled", account.production},
      {"SendQuota",
       {{"Max24HourSend", q.max_24h_send},
        {"MaxSendRate", q.max_send_rate},
        {"SentLast24Hours", static_cast<double>(figures->sent_last_24h)}}},
      // False while the account is paused by herald (enforcement) or by itself.
      {"SendingEnabled", account.sending_enabled && account.enforcement_status != "SHUTDOWN"},
      {"SuppressionAttributes", SuppressionAttributesJson(account)},
  };
  return JsonResponse(200, body);
}

HttpResponse SesV2Api::CreateEmailIdentity(Call& call) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  auto it = j.find("EmailIdentity");
  if (it == j.end() || it->is_null()) {
    return ErrorResponse(BadRequest("Missing required parameter: EmailIdentity."));
  }
  if (!it->is_string()) {
    return ErrorResponse(
        BadRequest("Invalid type for parameter EmailIdentity: expected a string."));
  }
  const std::string& given = it->get_ref<const std::string&>();

  json tags;
  if (std::optional<ApiError> e = ParseTags(j, &tags)) {
    return ErrorResponse(*e);
  }
  DkimSigningRequest dkim;
  bool dkim_given = false;
  if (auto d = j.find("DkimSigningAttributes"); d != j.end() && !d->is_null()) {
    if (std::optional<ApiError> e =
            ParseDkimSigningAttributes(*d, "DkimSigningAttributes", &dkim)) {
      return ErrorResponse(*e);
    }
    dkim_given = !d->empty();
  }
  if (auto c = j.find("ConfigurationSetName"); c != j.end() && !c->is_null() && !c->is_string()) {
    return ErrorResponse(
        BadRequest("Invalid type for parameter ConfigurationSetName: expected a string."));
  }

  std::string why;
  std::optional<NormalizedIdentity> norm = NormalizeIdentity(given, &why);
  if (!norm) {
    const bool email = given.find('@') != std::string::npos;
    return ErrorResponse(
        BadRequest(std::string(email ? "Invalid email address " : "Invalid domain name ") +
                   Truncated(given) + ": " + why + "."));
  }

  store::Identity identity;
  identity.account_id = call.principal.account_id;
  identity.name = norm->name;
  identity.type = norm->type;
  identity.tags_json = DumpJson(tags);
  if (identity.type == store::IdentityType::kDomain) {
    if (dkim.private_key) {
      if (std::optional<ApiError> e = ApplyExternalKey(dkim, clock_.Now(), &identity)) {
        return ErrorResponse(*e);
      }
    }
    if (dkim.next_key_length) {
      identity.dkim_next_key_length = *dkim.next_key_length;
    }
  } else if (dkim_given) {
    return ErrorResponse(BadRequest(
        "DkimSigningAttributes can be set only for a domain identity; an address is signed "
        "with its domain's key."));
  }
  Status st = CreateIdentityRecord(call.principal, &identity,
                                   dkim.next_key_length.value_or(config_.default_dkim_key_length));
  if (st.code() == StatusCode::kAlreadyExists) {
    return ErrorResponse(ApiError{400, "AlreadyExistsException",
                                  "Email identity " + identity.name + " already exists."});
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "CreateIdentity"));
  }
  StatusOr<json> dkim_json = DkimAttributes(identity);
  if (!dkim_json.ok()) {
    return ErrorResponse(Internal(dkim_json.status(), "DkimAttributes"));
  }
  json body = {{"IdentityType", TypeName(identity.type)},
               {"VerifiedForSendingStatus", false},
               {"DkimAttributes", std::move(dkim_json).value()}};
  if (identity.type == store::IdentityType::kDomain) {
    body["HeraldVerificationRecord"] = VerificationRecordJson(identity);
    if (StatusOr<DnsRecord> r = DkimRecordFor(identity); r.ok()) {
      body["HeraldDkimRecord"] = DnsRecordJson(*r);
    }
  }
  return JsonResponse(200, body);
}

Status SesV2Api::CreateIdentityRecord(const sending::Principal& principal,
                                      store::Identity* identity,
                                      const std::string& dkim_key_length) {
  const SysTime now = clock_.Now();
  identity->account_id = principal.account_id;
  identity->status = store::VerificationStatus::kPending;
  identity->verification_token = RandomBase64Url(32);
  identity->token_expires =
      now + (identity->type == store::IdentityType::kDomain ? config_.domain_token_ttl
                                                            : config_.email_token_ttl);
  identity->created = now;
  if (identity->type == store::IdentityType::kDomain && identity->dkim_selector.empty()) {
    RETURN_IF_ERROR(AssignNewDkimKey(identity, dkim_key_length, now));
  }
  RETURN_IF_ERROR(store_.CreateIdentity(*identity));
  if (identity->type == store::IdentityType::kEmailAddress) {
    verifier_.SendVerificationEmail(principal, identity->name, identity->verification_token);
  }
  return Status::Ok();
}

StatusOr<json> SesV2Api::DkimAttributes(const store::Identity& identity) {
  if (identity.type == store::IdentityType::kDomain) {
    return DomainDkimJson(identity);
  }
  const size_t at = identity.name.rfind('@');
  if (at == std::string::npos) {
    return NoDkimJson();
  }
  ASSIGN_OR_RETURN(
      std::optional<store::Identity> domain,
      store::FindDomainIdentity(store_, identity.account_id, identity.name.substr(at + 1)));
  return domain ? DomainDkimJson(*domain) : NoDkimJson();
}

StatusOr<store::Identity> SesV2Api::RefreshDkim(store::Identity identity) {
  using VS = store::VerificationStatus;
  if (identity.type != store::IdentityType::kDomain) {
    return identity;
  }
  const SysTime now = clock_.Now();
  if (identity.dkim_selector.empty()) {
    // A domain identity from before DKIM existed (or whose key was never made).
    if (identity.dkim_origin != "AWS_SES") {
      return identity;
    }
    store::Identity keyed = identity;
    std::string length = identity.dkim_next_key_length;
    RETURN_IF_ERROR(AssignNewDkimKey(&keyed, length, now));
    RETURN_IF_ERROR(store_.SetIdentityDkim(keyed));
    LogInfo("DKIM key generated", {{"identity", identity.name}});
    identity = std::move(keyed);
  }
  const bool expired = now > identity.dkim_generated_at + config_.dkim_search_window;
  if (identity.dkim_status == VS::kSuccess || (identity.dkim_status == VS::kFailed && expired)) {
    return identity;
  }
  StatusOr<std::string> ours = mail::DkimPublicKeyBase64(identity.dkim_private_key_pem);
  if (!ours.ok()) {
    LogError("stored DKIM key unusable",
             {{"identity", identity.name}, {"error", ours.status().ToString()}});
    return identity;
  }
  VS next;
  StatusOr<std::vector<std::string>> txt =
      verifier_.LookupTxt(identity.dkim_selector + "._domainkey." + identity.name);
  if (!txt.ok()) {
    next = VS::kTemporaryFailure;
  } else {
    bool match = false;
    bool other = false;
    for (const std::string& t : *txt) {
      StatusOr<mail::DkimKeyRecord> record = mail::ParseDkimKeyRecord(t);
      if (!record.ok()) {
        continue;
      }
      (record->public_key == *ours ? match : other) = true;
    }
    next = match ? VS::kSuccess : other ? VS::kFailed : expired ? VS::kFailed : VS::kPending;
  }
  if (next != identity.dkim_status) {
    Status st = store_.SetIdentityDkimStatus(identity.account_id, identity.name,
                                             identity.dkim_selector, next);
    if (st.code() == StatusCode::kFailedPrecondition) {
      return identity;  // the key changed meanwhile: its own status stands
    }
    RETURN_IF_ERROR(st);
    identity.dkim_status = next;
  }
  return identity;
}

StatusOr<store::Identity> SesV2Api::RefreshMailFrom(store::Identity identity) {
  using VS = store::VerificationStatus;
  if (identity.mail_from_domain.empty() || identity.mail_from_status == VS::kSuccess) {
    return identity;
  }
  const bool expired = clock_.Now() > identity.mail_from_set_at + config_.dkim_search_window;
  if (identity.mail_from_status == VS::kFailed && expired) {
    return identity;
  }
  VS next;
  StatusOr<std::vector<std::string>> txt = verifier_.LookupTxt(identity.mail_from_domain);
  if (!txt.ok()) {
    next = VS::kTemporaryFailure;
  } else {
    const bool spf = std::any_of(txt->begin(), txt->end(), IsSpfRecord);
    next = spf ? VS::kSuccess : expired ? VS::kFailed : VS::kPending;
  }
  if (next != identity.mail_from_status) {
    Status st = store_.SetIdentityMailFromStatus(identity.account_id, identity.name,
                                                 identity.mail_from_domain, next);
    if (st.code() == StatusCode::kFailedPrecondition) {
      return identity;
    }
    RETURN_IF_ERROR(st);
    identity.mail_from_status = next;
  }
  return identity;
}

StatusOr<store::Identity> SesV2Api::Refresh(store::Identity identity) {
  using VS = store::VerificationStatus;
  if (identity.status != VS::kPending && identity.status != VS::kTemporaryFailure) {
    return identity;
  }
  const SysTime now = clock_.Now();
  VS next = identity.status;
  if (identity.type == store::IdentityType::kDomain) {
    const VS dns = verifier_.CheckDomain(identity.name, identity.verification_token);
    if (dns == VS::kSuccess) {
      next = VS::kSuccess;
    } else if (now > identity.token_expires) {
      next = VS::kFailed;
    } else {
      next = dns == VS::kTemporaryFailure ? VS::kTemporaryFailure : VS::kPending;
    }
  } else if (now > identity.token_expires) {
    next = VS::kFailed;
  }
  if (next != identity.status) {
    RETURN_IF_ERROR(store_.SetIdentityStatus(identity.account_id, identity.name, next));
    identity.status = next;
  }
  return identity;
}

HttpResponse SesV2Api::GetEmailIdentity(Call& call, const std::string& given) {
  std::string why;
  std::optional<NormalizedIdentity> norm = NormalizeIdentity(given, &why);
  if (!norm) {
    return ErrorResponse(NotFound(EmailIdentityNotFound(given)));
  }
  StatusOr<store::Identity> found = store_.GetIdentity(call.principal.account_id, norm->name);
  if (found.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(EmailIdentityNotFound(norm->name)));
  }
  if (!found.ok()) {
    return ErrorResponse(Internal(found.status(), "GetIdentity"));
  }
  StatusOr<store::Identity> refreshed = Refresh(std::move(found).value());
  if (refreshed.ok()) {
    refreshed = RefreshDkim(std::move(refreshed).value());
  }
  if (refreshed.ok()) {
    refreshed = RefreshMailFrom(std::move(refreshed).value());
  }
  if (!refreshed.ok()) {
    return ErrorResponse(Internal(refreshed.status(), "RefreshIdentity"));
  }
  const store::Identity& id = *refreshed;
  StatusOr<json> dkim_json = DkimAttributes(id);
  if (!dkim_json.ok()) {
    return ErrorResponse(Internal(dkim_json.status(), "DkimAttributes"));
  }
  json tags = StoredTags(id.tags_json);
  const bool verified = id.status == store::VerificationStatus::kSuccess;
  json body = {{"IdentityType", TypeName(id.type)},
               {"FeedbackForwardingStatus", id.feedback_forwarding},
               {"VerifiedForSendingStatus", verified},
               {"VerificationStatus", StatusName(id.status)},
               {"DkimAttributes", std::move(dkim_json).value()},
               {"Policies", json::object()},
               {"Tags", std::move(tags)}};
  if (!id.mail_from_domain.empty()) {
    body["MailFromAttributes"] = {{"MailFromDomain", id.mail_from_domain},
                                  {"MailFromDomainStatus", StatusName(id.mail_from_status)},
                                  {"BehaviorOnMxFailure", id.mail_from_behavior}};
  }
  if (id.type == store::IdentityType::kDomain) {
    body["HeraldVerificationRecord"] = VerificationRecordJson(id);
    if (StatusOr<DnsRecord> r = DkimRecordFor(id); r.ok()) {
      body["HeraldDkimRecord"] = DnsRecordJson(*r);
    }
  }
  return JsonResponse(200, body);
}

StatusOr<store::Identity> SesV2Api::FindIdentity(Call& call, const std::string& given,
                                                 HttpResponse* error) {
  std::string why;
  std::optional<NormalizedIdentity> norm = NormalizeIdentity(given, &why);
  if (!norm) {
    *error = ErrorResponse(NotFound(EmailIdentityNotFound(given)));
    return NotFoundError("identity");
  }
  StatusOr<store::Identity> found = store_.GetIdentity(call.principal.account_id, norm->name);
  if (found.status().code() == StatusCode::kNotFound) {
    *error = ErrorResponse(NotFound(EmailIdentityNotFound(norm->name)));
  } else if (!found.ok()) {
    *error = ErrorResponse(Internal(found.status(), "GetIdentity"));
  }
  return found;
}

namespace {

ApiError PerDomainOnly(const store::Identity& id, std::string_view what) {
  const size_t at = id.name.rfind('@');
  const std::string domain = at == std::string::npos ? id.name : id.name.substr(at + 1);
  return BadRequest(std::string(what) + " can be set only for a domain identity in herald; " +
                    "set it on " + domain + " instead.");
}

}  // namespace

HttpResponse SesV2Api::PutEmailIdentityDkimAttributes(Call& call, const std::string& given) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  bool enabled = false;
  if (auto it = j.find("SigningEnabled"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) {
      return ErrorResponse(
          BadRequest("Invalid type for parameter SigningEnabled: expected a boolean."));
    }
    enabled = it->get<bool>();
  }
  HttpResponse error;
  StatusOr<store::Identity> found = FindIdentity(call, given, &error);
  if (!found.ok()) {
    return error;
  }
  if (found->type != store::IdentityType::kDomain) {
    return ErrorResponse(PerDomainOnly(*found, "DKIM signing"));
  }
  found->dkim_signing_enabled = enabled;
  Status st = store_.SetIdentityDkim(*found);
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "SetIdentityDkim"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::PutEmailIdentityDkimSigningAttributes(Call& call, const std::string& given) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  auto origin_it = j.find("SigningAttributesOrigin");
  if (origin_it == j.end() || origin_it->is_null()) {
    return ErrorResponse(BadRequest("Missing required parameter: SigningAttributesOrigin."));
  }
  if (!origin_it->is_string()) {
    return ErrorResponse(
        BadRequest("Invalid type for parameter SigningAttributesOrigin: expected a string."));
  }
  const std::string origin = origin_it->get<std::string>();
  if (origin != "AWS_SES" && origin != "EXTERNAL") {
    if (origin.starts_with("AWS_SES_")) {
      return ErrorResponse(BadRequest("SigningAttributesOrigin " + Truncated(origin, 40) +
                                      " (Easy DKIM from another region) is not supported."));
    }
    return ErrorResponse(
        BadRequest("Invalid value for SigningAttributesOrigin: must be AWS_SES or EXTERNAL."));
  }
  DkimSigningRequest req;
  if (auto a = j.find("SigningAttributes"); a != j.end() && !a->is_null()) {
    if (std::optional<ApiError> e = ParseDkimSigningAttributes(*a, "SigningAttributes", &req)) {
      return ErrorResponse(*e);
    }
  }
  if (origin == "EXTERNAL" && !req.private_key) {
    return ErrorResponse(
        BadRequest("SigningAttributesOrigin EXTERNAL needs "
                   "SigningAttributes.DomainSigningSelector and "
                   "DomainSigningPrivateKey."));
  }
  if (origin == "AWS_SES" && req.private_key) {
    return ErrorResponse(
        BadRequest("DomainSigningSelector and DomainSigningPrivateKey need "
                   "SigningAttributesOrigin EXTERNAL."));
  }
  HttpResponse error;
  StatusOr<store::Identity> found = FindIdentity(call, given, &error);
  if (!found.ok()) {
    return error;
  }
  store::Identity& id = *found;
  if (id.type != store::IdentityType::kDomain) {
    return ErrorResponse(PerDomainOnly(id, "DKIM signing attributes"));
  }
  const SysTime now = clock_.Now();
  if (origin == "EXTERNAL") {
    if (std::optional<ApiError> e = ApplyExternalKey(req, now, &id)) {
      return ErrorResponse(*e);
    }
  } else if (id.dkim_origin != "AWS_SES" || id.dkim_selector.empty()) {
    // Back to (or first time) Easy DKIM: a fresh key under a fresh selector.
    Status key = AssignNewDkimKey(&id, req.next_key_length.value_or(id.dkim_next_key_length), now);
    if (!key.ok()) {
      return ErrorResponse(Internal(key, "AssignNewDkimKey"));
    }
  } else if (req.next_key_length) {
    id.dkim_next_key_length = *req.next_key_length;  // used by the next key generated
  }
  Status st = store_.SetIdentityDkim(id);
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "SetIdentityDkim"));
  }
  return JsonResponse(200, json{{"DkimStatus", StatusName(id.dkim_status)},
                                {"DkimTokens", json::array({id.dkim_selector})}});
}

// SESv2 has no notification topics (its events go to event destinations), so it lets
// forwarding be switched off without them, unlike the v1 action.
HttpResponse SesV2Api::PutEmailIdentityFeedbackAttributes(Call& call, const std::string& given) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<bool> enabled;
  if (std::optional<ApiError> e = OptBool(j, "", "EmailForwardingEnabled", &enabled)) {
    return ErrorResponse(*e);
  }
  HttpResponse error;
  StatusOr<store::Identity> found = FindIdentity(call, given, &error);
  if (!found.ok()) {
    return error;
  }
  found->feedback_forwarding = enabled.value_or(false);  // absent: false, as the model says
  Status st = store_.SetIdentityNotifications(*found);
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "PutEmailIdentityFeedbackAttributes"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::PutEmailIdentityMailFromAttributes(Call& call, const std::string& given) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::string domain_given;
  if (auto it = j.find("MailFromDomain"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) {
      return ErrorResponse(
          BadRequest("Invalid type for parameter MailFromDomain: expected a string."));
    }
    domain_given = it->get<std::string>();
  }
  std::string behavior = "USE_DEFAULT_VALUE";
  if (auto it = j.find("BehaviorOnMxFailure"); it != j.end() && !it->is_null()) {
    if (!it->is_string() || (it->get<std::string>() != "USE_DEFAULT_VALUE" &&
                             it->get<std::string>() != "REJECT_MESSAGE")) {
      return ErrorResponse(BadRequest(
          "Invalid value for BehaviorOnMxFailure: must be USE_DEFAULT_VALUE or REJECT_MESSAGE."));
    }
    behavior = it->get<std::string>();
  }
  HttpResponse error;
  StatusOr<store::Identity> found = FindIdentity(call, given, &error);
  if (!found.ok()) {
    return error;
  }
  store::Identity& id = *found;
  if (id.type != store::IdentityType::kDomain) {
    return ErrorResponse(PerDomainOnly(id, "A MAIL FROM domain"));
  }
  std::string domain;
  if (!domain_given.empty()) {
    StatusOr<std::string> normalized = mail::NormalizeDomain(domain_given);
    if (!normalized.ok() || !normalized->ends_with("." + id.name)) {
      return ErrorResponse(BadRequest("Invalid MailFromDomain " + Truncated(domain_given) +
                                      ": it must be a subdomain of " + id.name + "."));
    }
    domain = std::move(normalized).value();
  }
  id.mail_from_domain = domain;
  id.mail_from_behavior = behavior;
  id.mail_from_status = store::VerificationStatus::kPending;
  id.mail_from_set_at = clock_.Now();
  Status st = store_.SetIdentityMailFrom(id);
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "SetIdentityMailFrom"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::ListEmailIdentities(Call& call) {
  int page = 0;
  std::string after;
  if (std::optional<ApiError> e = ParsePageRequest(call.query, &page, &after)) {
    return ErrorResponse(*e);
  }
  // One more than a page tells whether another page follows; when the store's cap
  // prevents that, a full page gets a NextToken (the next page may then be empty).
  const int limit = std::min(page + 1, store::kMaxListLimit);
  StatusOr<std::vector<store::Identity>> list =
      store_.ListIdentities(call.principal.account_id, after, limit);
  if (!list.ok()) {
    return ErrorResponse(Internal(list.status(), "ListIdentities"));
  }
  const SysTime now = clock_.Now();
  const size_t n = std::min(list->size(), static_cast<size_t>(page));
  const bool more = list->size() > n || (limit == page && list->size() == n && n > 0);
  json items = json::array();
  for (size_t i = 0; i < n; ++i) {
    const store::Identity& id = (*list)[i];
    const store::VerificationStatus status = DisplayStatus(id, now);
    items.push_back(json{{"IdentityType", TypeName(id.type)},
                         {"IdentityName", id.name},
                         {"SendingEnabled", status == store::VerificationStatus::kSuccess},
                         {"VerificationStatus", StatusName(status)}});
  }
  json body = {{"EmailIdentities", std::move(items)}};
  if (more) {
    body["NextToken"] = EncodeNextToken((*list)[n - 1].name);
  }
  return JsonResponse(200, body);
}

Status SesV2Api::DeleteIdentityNamed(int64_t account_id, const std::string& given,
                                     std::string* name) {
  std::string why;
  std::optional<NormalizedIdentity> norm = NormalizeIdentity(given, &why);
  if (!norm) {
    *name = given;
    return NotFoundError("not an identity name");
  }
  *name = norm->name;
  return store_.DeleteIdentity(account_id, norm->name);
}

HttpResponse SesV2Api::DeleteEmailIdentity(Call& call, const std::string& given) {
  std::string name;
  Status st = DeleteIdentityNamed(call.principal.account_id, given, &name);
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(EmailIdentityNotFound(name)));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "DeleteIdentity"));
  }
  return JsonResponse(200, json::object());
}

// ---------------------------------------------------------------- configuration sets

namespace {

// DeliveryOptions {TlsPolicy, SendingPoolName, MaxDeliverySeconds}: replaces the group.
std::optional<ApiError> ApplyDeliveryOptions(const json& g, std::string_view prefix,
                                             store::ConfigurationSet* set) {
  std::optional<std::string> tls;
  std::optional<std::string> pool;
  RETURN_IF_API_ERROR(OptEnum(g, prefix, "TlsPolicy", {"REQUIRE", "OPTIONAL"}, &tls));
  RETURN_IF_API_ERROR(OptString(g, prefix, "SendingPoolName", &pool));
  // Pool names follow SES's rule for dedicated IP pools, the same as set names.
  if (pool && !pool->empty() && !store::IsConfigurationSetName(*pool)) {
    return BadRequest("Invalid value for " + Param(prefix, "SendingPoolName") +
                      ": 1 to 64 ASCII letters, digits, '_' or '-' are required.");
  }
  int64_t max_delivery = 0;
  if (const json* m = Member(g, "MaxDeliverySeconds")) {
    if (!m->is_number_integer()) {
      return WrongType(Param(prefix, "MaxDeliverySeconds"), "an integer");
    }
    const bool in_range =
        m->is_number_unsigned()
            ? m->get<uint64_t>() >= static_cast<uint64_t>(store::kMinMaxDeliverySeconds) &&
                  m->get<uint64_t>() <= static_cast<uint64_t>(store::kMaxMaxDeliverySeconds)
            : m->get<int64_t>() >= store::kMinMaxDeliverySeconds &&
                  m->get<int64_t>() <= store::kMaxMaxDeliverySeconds;
    if (!in_range) {
      return BadRequest("Invalid value for " + Param(prefix, "MaxDeliverySeconds") +
                        ": must be an integer from 300 to 50400.");
    }
    max_delivery = m->get<int64_t>();
  }
  set->tls_policy = tls.value_or("OPTIONAL");
  set->sending_pool_name = pool.value_or("");
  set->max_delivery_seconds = max_delivery;
  return std::nullopt;
}

// SendingOptions {SendingEnabled}; an absent value is false, as for other SES booleans.
std::optional<ApiError> ApplySendingOptions(const json& g, std::string_view prefix,
                                            store::ConfigurationSet* set) {
  std::optional<bool> enabled;
  RETURN_IF_API_ERROR(OptBool(g, prefix, "SendingEnabled", &enabled));
  set->sending_enabled = enabled.value_or(false);
  return std::nullopt;
}

// ReputationOptions {ReputationMetricsEnabled, LastFreshStart}. LastFreshStart (epoch
// seconds) is taken only at creation: its Put operation has no such member.
std::optional<ApiError> ApplyReputationOptions(const json& g, std::string_view prefix,
                                               bool with_fresh_start,
                                               store::ConfigurationSet* set) {
  std::optional<bool> enabled;
  RETURN_IF_API_ERROR(OptBool(g, prefix, "ReputationMetricsEnabled", &enabled));
  if (const json* t = with_fresh_start ? Member(g, "LastFreshStart") : nullptr) {
    // Up to the end of year 9999, as AWS timestamps go.
    constexpr double kMaxEpochSeconds = 253402300799.0;
    if (!t->is_number()) {
      return WrongType(Param(prefix, "LastFreshStart"), "a timestamp in epoch seconds");
    }
    const double seconds = t->get<double>();
    if (!(seconds >= 0 && seconds <= kMaxEpochSeconds)) {
      return BadRequest("Invalid value for " + Param(prefix, "LastFreshStart") + ".");
    }
    set->last_fresh_start = FromUnixMillis(static_cast<int64_t>(seconds * 1000));
  }
  set->reputation_metrics_enabled = enabled.value_or(false);
  return std::nullopt;
}

// TrackingOptions {CustomRedirectDomain*, HttpsPolicy}. Without a domain (allowed only by
// PutConfigurationSetTrackingOptions) the tracking options are removed.
std::optional<ApiError> ApplyTrackingOptions(const json& g, std::string_view prefix,
                                             bool domain_required, store::ConfigurationSet* set) {
  std::optional<std::string> domain;
  std::optional<std::string> https;
  RETURN_IF_API_ERROR(OptString(g, prefix, "CustomRedirectDomain", &domain));
  RETURN_IF_API_ERROR(
      OptEnum(g, prefix, "HttpsPolicy", {"REQUIRE", "REQUIRE_OPEN_ONLY", "OPTIONAL"}, &https));
  if (!domain) {
    if (domain_required || https) {
      return MissingParam(Param(prefix, "CustomRedirectDomain"));
    }
    set->tracking_options_json.clear();
    return std::nullopt;
  }
  StatusOr<std::string> normalized = mail::NormalizeDomain(*domain);
  if (!normalized.ok() || normalized->find('.') == std::string::npos) {
    return BadRequest("Invalid value for " + Param(prefix, "CustomRedirectDomain") + ": " +
                      Truncated(*domain) + " is not a domain name.");
  }
  json t = {{"CustomRedirectDomain", std::move(normalized).value()}};
  if (https) {
    t["HttpsPolicy"] = *https;
  }
  set->tracking_options_json = DumpJson(t);
  return std::nullopt;
}

// A SuppressionOptions.ValidationOptions or SuppressionAttributes.ValidationAttributes
// member `name` of `g` ({ConditionThreshold {ConditionThresholdEnabled,
// OverallConfidenceThreshold {ConfidenceVerdictThreshold}}}), checked and normalised into
// *out; null when absent.
std::optional<ApiError> ParseSuppressionValidation(const json& g, std::string_view prefix,
                                                   const char* name, json* out) {
  *out = json();
  const json* validation = nullptr;
  RETURN_IF_API_ERROR(OptStruct(g, prefix, name, &validation));
  if (validation == nullptr) {
    return std::nullopt;
  }
  const std::string vp = Param(prefix, name);
  const json* condition = nullptr;
  RETURN_IF_API_ERROR(OptStruct(*validation, vp, "ConditionThreshold", &condition));
  if (condition == nullptr) {
    return MissingParam(Param(vp, "ConditionThreshold"));
  }
  const std::string cp = Param(vp, "ConditionThreshold");
  std::optional<std::string> enabled;
  RETURN_IF_API_ERROR(
      OptEnum(*condition, cp, "ConditionThresholdEnabled", {"ENABLED", "DISABLED"}, &enabled));
  if (!enabled) {
    return MissingParam(Param(cp, "ConditionThresholdEnabled"));
  }
  json c = {{"ConditionThresholdEnabled", *enabled}};
  const json* overall = nullptr;
  RETURN_IF_API_ERROR(OptStruct(*condition, cp, "OverallConfidenceThreshold", &overall));
  if (overall != nullptr) {
    const std::string op = Param(cp, "OverallConfidenceThreshold");
    std::optional<std::string> verdict;
    RETURN_IF_API_ERROR(OptEnum(*overall, op, "ConfidenceVerdictThreshold",
                                {"MEDIUM", "HIGH", "MANAGED"}, &verdict));
    if (!verdict) {
      return MissingParam(Param(op, "ConfidenceVerdictThreshold"));
    }
    c["OverallConfidenceThreshold"] = {{"ConfidenceVerdictThreshold", *verdict}};
  }
  *out = {{"ConditionThreshold", std::move(c)}};
  return std::nullopt;
}

// A list of suppression reasons (member `name` of `g`; absent: none), without duplicates.
std::optional<ApiError> ParseReasonList(const json& g, std::string_view prefix, const char* name,
                                        store::SuppressionReasons* out) {
  *out = {false, false};
  if (const json* r = Member(g, name)) {
    const std::string param = Param(prefix, name);
    if (!r->is_array()) {
      return WrongType(param, "a list");
    }
    for (size_t i = 0; i < r->size(); ++i) {
      const json& reason = (*r)[i];
      std::optional<store::SuppressionReason> parsed =
          reason.is_string() ? store::ParseSuppressionReason(reason.get_ref<const std::string&>())
                             : std::nullopt;
      if (!parsed) {
        return BadRequest("Invalid value for " + param + "[" + std::to_string(i) +
                          "]: must be BOUNCE or COMPLAINT.");
      }
      (*parsed == store::SuppressionReason::kBounce ? out->bounce : out->complaint) = true;
    }
  }
  return std::nullopt;
}

// SuppressionOptions {SuppressedReasons, ValidationOptions}. An absent or empty list of
// reasons is stored as [] (the set suppresses nothing), unlike a set without the group.
std::optional<ApiError> ApplySuppressionOptions(const json& g, std::string_view prefix,
                                                store::ConfigurationSet* set) {
  json out = {{"SuppressedReasons", json::array()}};
  if (const json* r = Member(g, "SuppressedReasons")) {
    const std::string param = Param(prefix, "SuppressedReasons");
    if (!r->is_array()) {
      return WrongType(param, "a list");
    }
    for (size_t i = 0; i < r->size(); ++i) {
      const json& reason = (*r)[i];
      if (!reason.is_string() || (reason != "BOUNCE" && reason != "COMPLAINT")) {
        return BadRequest("Invalid value for " + param + "[" + std::to_string(i) +
                          "]: must be BOUNCE or COMPLAINT.");
      }
      if (std::find(out["SuppressedReasons"].begin(), out["SuppressedReasons"].end(), reason) ==
          out["SuppressedReasons"].end()) {
        out["SuppressedReasons"].push_back(reason);
      }
    }
  }
  json validation;
  RETURN_IF_API_ERROR(ParseSuppressionValidation(g, prefix, "ValidationOptions", &validation));
  if (!validation.is_null()) {
    out["ValidationOptions"] = std::move(validation);
  }
  set->suppression_options_json = DumpJson(out);
  return std::nullopt;
}

// VdmOptions {DashboardOptions {EngagementMetrics}, GuardianOptions {OptimizedSharedDelivery}}.
std::optional<ApiError> ApplyVdmOptions(const json& g, std::string_view prefix,
                                        store::ConfigurationSet* set) {
  json out = json::object();
  struct Part {
    const char* group;
    const char* member;
  };
  for (const Part& part : {Part{"DashboardOptions", "EngagementMetrics"},
                           Part{"GuardianOptions", "OptimizedSharedDelivery"}}) {
    const json* sub = nullptr;
    RETURN_IF_API_ERROR(OptStruct(g, prefix, part.group, &sub));
    if (sub == nullptr) {
      continue;
    }
    std::optional<std::string> status;
    RETURN_IF_API_ERROR(
        OptEnum(*sub, Param(prefix, part.group), part.member, {"ENABLED", "DISABLED"}, &status));
    out[part.group] = json::object();
    if (status) {
      out[part.group][part.member] = *status;
    }
  }
  set->vdm_options_json = DumpJson(out);
  return std::nullopt;
}

// ArchivingOptions {ArchiveArn}: the ARN of a MailManager archive; absent removes it.
std::optional<ApiError> ApplyArchivingOptions(const json& g, std::string_view prefix,
                                              store::ConfigurationSet* set) {
  std::optional<std::string> arn;
  RETURN_IF_API_ERROR(OptString(g, prefix, "ArchiveArn", &arn));
  if (arn &&
      (arn->size() < 20 || arn->size() > store::kMaxArchiveArnLength || !arn->starts_with("arn:") ||
       arn->find(":mailmanager-archive/a-") == std::string::npos || HasControl(*arn))) {
    return BadRequest("Invalid value for " + Param(prefix, "ArchiveArn") +
                      ": must be the ARN of a MailManager archive.");
  }
  set->archive_arn = arn.value_or("");
  return std::nullopt;
}

// The stored JSON of an option group, or null when unset or unreadable.
json StoredOptions(const std::string& text) {
  if (text.empty()) {
    return json();
  }
  json j = json::parse(text, nullptr, false);
  return j.is_discarded() || !j.is_object() ? json() : j;
}

// GetConfigurationSet's response body.
json ConfigurationSetJson(const store::ConfigurationSet& set) {
  json delivery = {{"TlsPolicy", set.tls_policy}};
  if (!set.sending_pool_name.empty()) {
    delivery["SendingPoolName"] = set.sending_pool_name;
  }
  if (set.max_delivery_seconds != 0) {
    delivery["MaxDeliverySeconds"] = set.max_delivery_seconds;
  }
  json reputation = {{"ReputationMetricsEnabled", set.reputation_metrics_enabled}};
  if (UnixMillis(set.last_fresh_start) != 0) {
    reputation["LastFreshStart"] = static_cast<double>(UnixMillis(set.last_fresh_start)) / 1000;
  }
  json body = {{"ConfigurationSetName", set.name},
               {"DeliveryOptions", std::move(delivery)},
               {"ReputationOptions", std::move(reputation)},
               {"SendingOptions", {{"SendingEnabled", set.sending_enabled}}},
               {"Tags", StoredTags(set.tags_json)}};
  if (json t = StoredOptions(set.tracking_options_json); !t.is_null()) {
    body["TrackingOptions"] = std::move(t);
  }
  if (json s = StoredOptions(set.suppression_options_json); !s.is_null()) {
    body["SuppressionOptions"] = std::move(s);
  }
  if (json v = StoredOptions(set.vdm_options_json); !v.is_null()) {
    body["VdmOptions"] = std::move(v);
  }
  if (!set.archive_arn.empty()) {
    body["ArchivingOptions"] = {{"ArchiveArn", set.archive_arn}};
  }
  return body;
}

}  // namespace

HttpResponse SesV2Api::CreateConfigurationSet(Call& call) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<std::string> name;
  if (std::optional<ApiError> e = OptString(j, "", "ConfigurationSetName", &name)) {
    return ErrorResponse(*e);
  }
  if (!name) {
    return ErrorResponse(MissingParam("ConfigurationSetName"));
  }
  if (!store::IsConfigurationSetName(*name)) {
    return ErrorResponse(
        BadRequest("Invalid value for ConfigurationSetName: 1 to 64 ASCII letters, digits, '_' "
                   "or '-' are required."));
  }
  store::ConfigurationSet set;
  set.account_id = call.principal.account_id;
  set.name = *name;
  set.created = clock_.Now();
  // Each option group, when given, is read exactly as its Put operation reads it.
  auto group = [&](const char* member, auto apply) -> std::optional<ApiError> {
    const json* g = nullptr;
    RETURN_IF_API_ERROR(OptStruct(j, "", member, &g));
    return g == nullptr ? std::nullopt : apply(*g, member);
  };
  std::optional<ApiError> error = group("DeliveryOptions", [&](const json& g, const char* p) {
    return ApplyDeliveryOptions(g, p, &set);
  });
  if (!error) {
    error = group("SendingOptions",
                  [&](const json& g, const char* p) { return ApplySendingOptions(g, p, &set); });
  }
  if (!error) {
    error = group("ReputationOptions", [&](const json& g, const char* p) {
      return ApplyReputationOptions(g, p, true, &set);
    });
  }
  if (!error) {
    error = group("TrackingOptions", [&](const json& g, const char* p) {
      return ApplyTrackingOptions(g, p, true, &set);
    });
  }
  if (!error) {
    error = group("SuppressionOptions", [&](const json& g, const char* p) {
      return ApplySuppressionOptions(g, p, &set);
    });
  }
  if (!error) {
    error = group("VdmOptions",
                  [&](const json& g, const char* p) { return ApplyVdmOptions(g, p, &set); });
  }
  if (!error) {
    error = group("ArchivingOptions",
                  [&](const json& g, const char* p) { return ApplyArchivingOptions(g, p, &set); });
  }
  json tags;
  if (!error) {
    error = ParseTags(j, &tags);
  }
  if (error) {
    return ErrorResponse(*error);
  }
  set.tags_json = DumpJson(tags);
  Status st = store_.CreateConfigurationSet(set);
  if (st.code() == StatusCode::kAlreadyExists) {
    return ErrorResponse(ApiError{400, "AlreadyExistsException",
                                  "Configuration set <" + set.name + "> already exists."});
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "CreateConfigurationSet"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::GetConfigurationSet(Call& call, const std::string& name) {
  if (!store::IsConfigurationSetName(name)) {
    return ErrorResponse(NotFound(ConfigSetNotFound(name)));
  }
  StatusOr<store::ConfigurationSet> set =
      store_.GetConfigurationSet(call.principal.account_id, name);
  if (set.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(ConfigSetNotFound(name)));
  }
  if (!set.ok()) {
    return ErrorResponse(Internal(set.status(), "GetConfigurationSet"));
  }
  return JsonResponse(200, ConfigurationSetJson(*set));
}

HttpResponse SesV2Api::ListConfigurationSets(Call& call) {
  int page = 0;
  std::string after;
  if (std::optional<ApiError> e = ParsePageRequest(call.query, &page, &after)) {
    return ErrorResponse(*e);
  }
  // As ListEmailIdentities: one more than a page tells whether another follows.
  const int limit = std::min(page + 1, store::kMaxListLimit);
  StatusOr<std::vector<store::ConfigurationSet>> list =
      store_.ListConfigurationSets(call.principal.account_id, after, limit);
  if (!list.ok()) {
    return ErrorResponse(Internal(list.status(), "ListConfigurationSets"));
  }
  const size_t n = std::min(list->size(), static_cast<size_t>(page));
  const bool more = list->size() > n || (limit == page && list->size() == n && n > 0);
  json names = json::array();
  for (size_t i = 0; i < n; ++i) {
    names.push_back((*list)[i].name);
  }
  json body = {{"ConfigurationSets", std::move(names)}};
  if (more) {
    body["NextToken"] = EncodeNextToken((*list)[n - 1].name);
  }
  return JsonResponse(200, body);
}

HttpResponse SesV2Api::DeleteConfigurationSet(Call& call, const std::string& name) {
  if (!store::IsConfigurationSetName(name)) {
    return ErrorResponse(NotFound(ConfigSetNotFound(name)));
  }
  Status st;
  {
    std::lock_guard<std::mutex> lock(config_set_mu_);
    st = store_.DeleteConfigurationSet(call.principal.account_id, name);
  }
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(ConfigSetNotFound(name)));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "DeleteConfigurationSet"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::PutConfigurationSetOptions(Call& call, const std::string& name,
                                                  std::string_view option) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  // The change to make to the set; members are at the top level of these requests,
  // except VdmOptions, which stays a structure.
  std::function<std::optional<ApiError>(store::ConfigurationSet*)> apply;
  if (option == "/delivery-options") {
    apply = [&](store::ConfigurationSet* s) { return ApplyDeliveryOptions(j, "", s); };
  } else if (option == "/sending") {
    apply = [&](store::ConfigurationSet* s) { return ApplySendingOptions(j, "", s); };
  } else if (option == "/reputation-options") {
    apply = [&](store::ConfigurationSet* s) { return ApplyReputationOptions(j, "", false, s); };
  } else if (option == "/tracking-options") {
    apply = [&](store::ConfigurationSet* s) { return ApplyTrackingOptions(j, "", false, s); };
  } else if (option == "/suppression-options") {
    apply = [&](store::ConfigurationSet* s) { return ApplySuppressionOptions(j, "", s); };
  } else if (option == "/vdm-options") {
    apply = [&](store::ConfigurationSet* s) -> std::optional<ApiError> {
      const json* g = nullptr;
      RETURN_IF_API_ERROR(OptStruct(j, "", "VdmOptions", &g));
      if (g == nullptr) {
        s->vdm_options_json.clear();
        return std::nullopt;
      }
      return ApplyVdmOptions(*g, "VdmOptions", s);
    };
  } else {
    apply = [&](store::ConfigurationSet* s) { return ApplyArchivingOptions(j, "", s); };
  }
  // The request is checked before the set is looked up (a bad request is BadRequest
  // whether or not the set exists).
  store::ConfigurationSet scratch;
  if (std::optional<ApiError> e = apply(&scratch)) {
    return ErrorResponse(*e);
  }
  if (!store::IsConfigurationSetName(name)) {
    return ErrorResponse(NotFound(ConfigSetNotFound(name)));
  }
  std::lock_guard<std::mutex> lock(config_set_mu_);
  StatusOr<store::ConfigurationSet> set =
      store_.GetConfigurationSet(call.principal.account_id, name);
  Status st = set.status();
  if (set.ok()) {
    apply(&*set);  // checked above: cannot fail
    st = store_.UpdateConfigurationSet(*set);
  }
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(ConfigSetNotFound(name)));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "UpdateConfigurationSet"));
  }
  return JsonResponse(200, json::object());
}

// ---------------------------------------------------------------- suppression list

namespace {

constexpr int kDefaultSuppressionPageSize = 100;

std::string NotOnList(std::string_view address) {
  return "Email address " + Truncated(address) + " does not exist on your suppression list.";
}

// An EmailAddress of the suppression operations, checked as the send path checks
// recipients (an addr-spec: no display name). *stored is what the list keeps: the text as
// given when it is already in the send path's form but for case, else that form (local part
// as written, the domain in lower-case Punycode), so that its key matches the recipients'.
std::optional<ApiError> CheckSuppressionAddress(const std::string& given, std::string* stored) {
  if (given.empty()) {
    return BadRequest("Invalid email address: the address is empty.");
  }
  StatusOr<mail::Mailbox> mb = mail::ParseMailbox(given);
  if (!mb.ok() || !mb->display_name.empty() || given.find('<') != std::string::npos) {
    return BadRequest(
        "Invalid email address " + Truncated(given) + ": " +
        (mb.ok() ? std::string("a display name is not allowed") : mb.status().message()) + ".");
  }
  *stored = AsciiLower(given) == mb->Canonical() ? given : mb->Address();
  return std::nullopt;
}

// Every value of a repeated query parameter, percent-decoded, in order.
std::vector<std::string> QueryParams(std::string_view query, std::string_view name,
                                     bool* malformed) {
  std::vector<std::string> out;
  for (std::string_view part : Split(query, '&')) {
    const size_t eq = part.find('=');
    std::string key;
    if (!PercentDecode(part.substr(0, eq), &key)) {
      *malformed = true;
      return {};
    }
    if (key != name) {
      continue;
    }
    std::string value;
    if (eq != std::string_view::npos && !PercentDecode(part.substr(eq + 1), &value)) {
      *malformed = true;
      return {};
    }
    out.push_back(std::move(value));
  }
  return out;
}

json SuppressedSummaryJson(const store::SuppressedDestination& e) {
  return json{{"EmailAddress", e.address},
              {"Reason", store::SuppressionReasonName(e.reason)},
              {"LastUpdateTime", static_cast<double>(UnixMillis(e.last_update)) / 1000}};
}

}  // namespace

HttpResponse SesV2Api::PutAccountSuppressionAttributes(Call& call) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  store::SuppressionReasons reasons;
  if (std::optional<ApiError> e = ParseReasonList(j, "", "SuppressedReasons", &reasons)) {
    return ErrorResponse(*e);
  }
  json validation;
  if (std::optional<ApiError> e =
          ParseSuppressionValidation(j, "", "ValidationAttributes", &validation)) {
    return ErrorResponse(*e);
  }
  Status st = store_.SetSuppressionAttributes(call.principal.account_id, reasons,
                                              validation.is_null() ? "" : DumpJson(validation));
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "SetSuppressionAttributes"));
  }
  return JsonResponse(200, json::object());
}

// The account pausing (false) or resuming (true; absent: true, as in SES's model, where
// the member is optional) its own sending. Enforcement by herald is separate: resuming
// does not lift a pause for reputation.
HttpResponse SesV2Api::PutAccountSendingAttributes(Call& call) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<bool> enabled;
  if (std::optional<ApiError> e = OptBool(j, "", "SendingEnabled", &enabled)) {
    return ErrorResponse(*e);
  }
  Status st = store_.SetSendingEnabled(call.principal.account_id, enabled.value_or(true));
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "SetSendingEnabled"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::PutSuppressedDestination(Call& call) {
  json j;
  if (std::optional<ApiError> e = ParseJsonObject(call.request.body, &j)) {
    return ErrorResponse(*e);
  }
  std::optional<std::string> address;
  std::optional<std::string> reason;
  if (std::optional<ApiError> e = OptString(j, "", "EmailAddress", &address)) {
    return ErrorResponse(*e);
  }
  if (std::optional<ApiError> e = OptEnum(j, "", "Reason", {"BOUNCE", "COMPLAINT"}, &reason)) {
    return ErrorResponse(*e);
  }
  if (!address) {
    return ErrorResponse(MissingParam("EmailAddress"));
  }
  if (!reason) {
    return ErrorResponse(MissingParam("Reason"));
  }
  store::SuppressedDestination entry;
  if (std::optional<ApiError> e = CheckSuppressionAddress(*address, &entry.address)) {
    return ErrorResponse(*e);
  }
  entry.account_id = call.principal.account_id;
  entry.reason = *store::ParseSuppressionReason(*reason);
  entry.last_update = clock_.Now();
  Status st = store_.PutSuppressedDestination(entry);
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "PutSuppressedDestination"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::GetSuppressedDestination(Call& call, const std::string& given) {
  std::string address;
  if (std::optional<ApiError> e = CheckSuppressionAddress(given, &address)) {
    return ErrorResponse(*e);
  }
  StatusOr<store::SuppressedDestination> entry =
      store_.GetSuppressedDestination(call.principal.account_id, address);
  if (entry.status().code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(NotOnList(given)));
  }
  if (!entry.ok()) {
    return ErrorResponse(Internal(entry.status(), "GetSuppressedDestination"));
  }
  json d = SuppressedSummaryJson(*entry);
  json attributes = json::object();
  if (!entry->message_id.empty()) {
    attributes["MessageId"] = entry->message_id;
  }
  if (!entry->feedback_id.empty()) {
    attributes["FeedbackId"] = entry->feedback_id;
  }
  if (!attributes.empty()) {
    d["Attributes"] = std::move(attributes);
  }
  return JsonResponse(200, json{{"SuppressedDestination", std::move(d)}});
}

HttpResponse SesV2Api::DeleteSuppressedDestination(Call& call, const std::string& given) {
  std::string address;
  if (std::optional<ApiError> e = CheckSuppressionAddress(given, &address)) {
    return ErrorResponse(*e);
  }
  Status st = store_.DeleteSuppressedDestination(call.principal.account_id, address);
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(NotOnList(given)));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "DeleteSuppressedDestination"));
  }
  return JsonResponse(200, json::object());
}

HttpResponse SesV2Api::ListSuppressedDestinations(Call& call) {
  bool malformed = false;
  std::vector<std::string> reasons = QueryParams(call.query, "Reason", &malformed);
  std::optional<std::string> start_text = QueryParam(call.query, "StartDate", &malformed);
  std::optional<std::string> end_text = QueryParam(call.query, "EndDate", &malformed);
  std::optional<std::string> page_text = QueryParam(call.query, "PageSize", &malformed);
  std::optional<std::string> token = QueryParam(call.query, "NextToken", &malformed);
  if (malformed) {
    return ErrorResponse(BadRequest("Invalid percent-encoding in the query string."));
  }
  store::SuppressionListFilter filter;
  if (!reasons.empty()) {
    filter.reasons = {false, false};
    for (const std::string& r : reasons) {
      std::optional<store::SuppressionReason> parsed = store::ParseSuppressionReason(r);
      if (!parsed) {
        return ErrorResponse(BadRequest("Invalid value for Reason: " + Truncated(r, 32) +
                                        " is not BOUNCE or COMPLAINT."));
      }
      (*parsed == store::SuppressionReason::kBounce ? filter.reasons.bounce
                                                    : filter.reasons.complaint) = true;
    }
  }
  if (start_text) {
    filter.start = ParseTimestamp(*start_text);
    if (!filter.start) {
      return ErrorResponse(BadRequest("Invalid value for StartDate: " + Truncated(*start_text, 48) +
                                      " is not a timestamp."));
    }
  }
  if (end_text) {
    filter.end = ParseTimestamp(*end_text);
    if (!filter.end) {
      return ErrorResponse(BadRequest("Invalid value for EndDate: " + Truncated(*end_text, 48) +
                                      " is not a timestamp."));
    }
  }
  if (filter.start && filter.end && *filter.start > *filter.end) {
    return ErrorResponse(BadRequest("StartDate must not be later than EndDate."));
  }
  int page = kDefaultSuppressionPageSize;
  if (page_text) {
    int value = -1;
    const char* end = page_text->data() + page_text->size();
    auto [ptr, ec] = std::from_chars(page_text->data(), end, value);
    if (page_text->empty() || ec != std::errc() || ptr != end || value < 0 ||
        value > kMaxPageSize) {
      return ErrorResponse(
          BadRequest("Invalid value for PageSize: must be an integer from 0 to 1000."));
    }
    page = value == 0 ? kDefaultSuppressionPageSize : value;
  }
  std::string after;
  if (token) {
    std::optional<std::string> key = DecodeBase64UrlToken(*token);
    if (!key || key->size() > store::kMaxEmailLength || key->find('\0') != std::string::npos ||
        store::SuppressionKey(*key) != *key) {
      return ErrorResponse(ApiError{400, "InvalidNextTokenException", "Invalid NextToken."});
    }
    after = std::move(*key);
  }
  // As ListEmailIdentities: one more than a page tells whether another follows.
  const int limit = std::min(page + 1, store::kMaxListLimit);
  StatusOr<std::vector<store::SuppressedDestination>> list =
      store_.ListSuppressedDestinations(call.principal.account_id, filter, after, limit);
  if (!list.ok()) {
    return ErrorResponse(Internal(list.status(), "ListSuppressedDestinations"));
  }
  const size_t n = std::min(list->size(), static_cast<size_t>(page));
  const bool more = list->size() > n || (limit == page && list->size() == n && n > 0);
  json items = json::array();
  for (size_t i = 0; i < n; ++i) {
    items.push_back(SuppressedSummaryJson((*list)[i]));
  }
  json body = {{"SuppressedDestinationSummaries", std::move(items)}};
  if (more) {
    body["NextToken"] = EncodeNextToken(store::SuppressionKey((*list)[n - 1].address));
  }
  return JsonResponse(200, body);
}

HttpResponse SesV2Api::Health() { return JsonResponse(200, json{{"status", "ok"}}); }

HttpResponse SesV2Api::VerifyEmail(const HttpRequest& request) {
  std::string_view target = request.target;
  const size_t q = target.find('?');
  const std::string_view query =
      q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  bool malformed = false;
  std::optional<std::string> token = QueryParam(query, "token", &malformed);
  if (malformed || !token || token->empty() || token->size() > 256) {
    return HtmlPage(400, "Invalid verification link",
                    "This link is not a valid herald verification link.");
  }
  StatusOr<store::Identity> found = store_.FindIdentityByToken(*token);
  if (found.status().code() == StatusCode::kNotFound ||
      (found.ok() && found->type != store::IdentityType::kEmailAddress)) {
    return HtmlPage(404, "Unknown verification link",
                    "This verification link is unknown. The identity may have been deleted "
                    "or created again with a new link.");
  }
  if (!found.ok()) {
    Internal(found.status(), "FindIdentityByToken");
    return HtmlPage(500, "Temporary failure", "Please try the link again later.");
  }
  const store::Identity& id = *found;
  if (id.status == store::VerificationStatus::kSuccess) {
    return HtmlPage(200, "Address verified", id.name + " is already verified.");
  }
  if (clock_.Now() > id.token_expires || id.status == store::VerificationStatus::kFailed) {
    if (id.status != store::VerificationStatus::kFailed) {
      Status st =
          store_.SetIdentityStatus(id.account_id, id.name, store::VerificationStatus::kFailed);
      if (!st.ok()) {
        Internal(st, "SetIdentityStatus");
      }
    }
    return HtmlPage(400, "Verification link expired",
                    "This link has expired. Create the identity again to receive a new one.");
  }
  Status st = store_.SetIdentityStatus(id.account_id, id.name, store::VerificationStatus::kSuccess);
  if (!st.ok()) {
    Internal(st, "SetIdentityStatus");
    return HtmlPage(500, "Temporary failure", "Please try the link again later.");
  }
  LogInfo("email identity verified", {{"identity", id.name}});
  return HtmlPage(200, "Address verified",
                  id.name + " is now verified and can be used to send email.");
}

}  // namespace herald::api
