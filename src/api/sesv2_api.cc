#include "api/sesv2_api.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>
#include <variant>

#include "api/send_email_request.h"
#include "auth/sigv4.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/strings.h"
#include "mail/address.h"
#include "mail/dkim.h"
#include "sending/reply_mapping.h"

namespace herald::api {

using nlohmann::json;

namespace {

constexpr std::string_view kIdentitiesPath = "/v2/email/identities";
constexpr std::string_view kV1IdentitiesPath = "/v1/email/identities";
constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr size_t kMaxIdentityTags = 50;

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
std::string EncodeNextToken(const std::string& name) {
  std::string b = Base64Encode(name);
  while (!b.empty() && b.back() == '=') {
    b.pop_back();
  }
  for (char& c : b) {
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  }
  return b;
}

std::optional<std::string> DecodeNextToken(std::string_view token) {
  if (token.empty() || token.size() > 1024) {
    return std::nullopt;
  }
  std::string b(token);
  for (char& c : b) {
    if (c == '+' || c == '/' || c == '=') {
      return std::nullopt;
    }
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (b.size() % 4 != 0) {
    b.push_back('=');
  }
  std::optional<std::string> name = Base64Decode(b);
  if (!name || name->empty()) {
    return std::nullopt;
  }
  for (unsigned char c : *name) {
    if (c <= 0x20 || c >= 0x7f) {
      return std::nullopt;
    }
  }
  return name;
}

struct NormalizedIdentity {
  store::IdentityType type;
  std::string name;
};

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

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return true;
    }
  }
  return false;
}

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

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

HttpResponse HtmlPage(int status, std::string_view title, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + HtmlEscape(title) +
           "</title></head>\n<body><h1>" + HtmlEscape(title) + "</h1>\n<p>" + HtmlEscape(text) +
           "</p></body></html>\n";
  return r;
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

struct SesV2Api::Call {
  const HttpRequest& request;
  std::string_view path;   // raw, undecoded
  std::string_view query;  // raw, without '?'
  sending::Principal principal;
};

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
  if (path.starts_with("/_herald/")) {
    const bool get = request.method == "GET" || request.method == "HEAD";
    if (get && path == "/_herald/health") {
      response = Health();
    } else if (get && path == "/_herald/verify-email") {
      response = VerifyEmail(request);
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
      response = verified.ok ? ErrorResponse(ApiError{403, "UnrecognizedClientException",
                                                      "The security token included in the "
                                                      "request is invalid."})
                             : ErrorResponse(ApiError{f.http_status, f.code, f.message});
    } else {
      Call call{request, path, query, key->principal};
      call.principal.access_key_id = verified.ok->access_key_id;
      call.principal.source_ip = request.remote_addr;
      response = Dispatch(call);
    }
  }
  response.headers.emplace_back("x-amzn-RequestId", NewRequestId());
  return response;
}

HttpResponse SesV2Api::Dispatch(Call& call) {
  const std::string& method = call.request.method;
  const std::string_view path = call.path;
  if (path == "/v2/email/outbound-emails") {
    if (method == "POST") {
      return SendEmail(call);
    }
  } else if (path == "/v2/email/account") {
    if (method == "GET") {
      return GetAccount(call);
    }
  } else if (path == kIdentitiesPath) {
    if (method == "POST") {
      return CreateEmailIdentity(call);
    }
    if (method == "GET") {
      return ListEmailIdentities(call);
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
    }
  }
  return ErrorResponse(UnknownOperation(method, path));
}

HttpResponse SesV2Api::SendEmail(Call& call) {
  SendEmailLimits limits;
  limits.max_recipients = config_.max_recipients;
  limits.max_message_bytes = config_.max_message_bytes;
  sending::Submission sub;
  if (std::optional<ApiError> e = ParseSendEmailRequest(call.request.body, limits, &sub)) {
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

HttpResponse SesV2Api::GetAccount(Call& call) {
  StatusOr<store::Account> account = store_.GetAccount(call.principal.account_id);
  if (!account.ok()) {
    return ErrorResponse(Internal(account.status(), "GetAccount"));
  }
  StatusOr<int64_t> sent = sending_.SentLast24Hours(call.principal.account_id);
  if (!sent.ok()) {
    return ErrorResponse(Internal(sent.status(), "SentLast24Hours"));
  }
  const SendQuotaLimits& q = account->production ? config_.production : config_.sandbox;
  json body = {
      {"DedicatedIpAutoWarmupEnabled", false},
      {"EnforcementStatus", account->enforcement_status},
      {"ProductionAccessEnabled", account->production},
      {"SendQuota",
       {{"Max24HourSend", q.max_24h_send},
        {"MaxSendRate", q.max_send_rate},
        {"SentLast24Hours", static_cast<double>(*sent)}}},
      {"SendingEnabled", account->sending_enabled},
      {"SuppressionAttributes", {{"SuppressedReasons", json::array({"BOUNCE", "COMPLAINT"})}}},
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

  json tags = json::array();
  if (auto t = j.find("Tags"); t != j.end() && !t->is_null()) {
    if (!t->is_array()) {
      return ErrorResponse(BadRequest("Invalid type for parameter Tags: expected a list."));
    }
    if (t->size() > kMaxIdentityTags) {
      return ErrorResponse(BadRequest("Too many Tags: at most 50 are allowed."));
    }
    for (size_t i = 0; i < t->size(); ++i) {
      const json& tag = (*t)[i];
      const std::string path = "Tags[" + std::to_string(i) + "]";
      auto k = tag.is_object() ? tag.find("Key") : tag.end();
      auto v = tag.is_object() ? tag.find("Value") : tag.end();
      if (!tag.is_object() || k == tag.end() || v == tag.end() || !k->is_string() ||
          !v->is_string()) {
        return ErrorResponse(
            BadRequest("Invalid parameter " + path + ": Key and Value strings are required."));
      }
      const std::string& key = k->get_ref<const std::string&>();
      const std::string& value = v->get_ref<const std::string&>();
      if (key.empty() || key.size() > 128 || value.size() > 256 || HasControl(key) ||
          HasControl(value)) {
        return ErrorResponse(BadRequest("Invalid parameter " + path +
                                        ": Key must be 1 to 128 characters and Value at "
                                        "most 256, without control characters."));
      }
      tags.push_back(json{{"Key", key}, {"Value", value}});
    }
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

  const SysTime now = clock_.Now();
  store::Identity identity;
  identity.account_id = call.principal.account_id;
  identity.name = norm->name;
  identity.type = norm->type;
  identity.status = store::VerificationStatus::kPending;
  identity.verification_token = RandomBase64Url(32);
  identity.token_expires =
      now + (norm->type == store::IdentityType::kDomain ? config_.domain_token_ttl
                                                        : config_.email_token_ttl);
  identity.created = now;
  identity.tags_json = DumpJson(tags);
  if (identity.type == store::IdentityType::kDomain) {
    if (dkim.private_key) {
      if (std::optional<ApiError> e = ApplyExternalKey(dkim, now, &identity)) {
        return ErrorResponse(*e);
      }
    } else {
      Status key = AssignNewDkimKey(
          &identity, dkim.next_key_length.value_or(config_.default_dkim_key_length), now);
      if (!key.ok()) {
        return ErrorResponse(Internal(key, "AssignNewDkimKey"));
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
  Status st = store_.CreateIdentity(identity);
  if (st.code() == StatusCode::kAlreadyExists) {
    return ErrorResponse(ApiError{400, "AlreadyExistsException",
                                  "Email identity " + identity.name + " already exists."});
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "CreateIdentity"));
  }
  if (identity.type == store::IdentityType::kEmailAddress) {
    verifier_.SendVerificationEmail(call.principal, identity.name, identity.verification_token);
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
  json tags = json::parse(id.tags_json, nullptr, false);
  if (tags.is_discarded() || !tags.is_array()) {
    tags = json::array();
  }
  const bool verified = id.status == store::VerificationStatus::kSuccess;
  json body = {{"IdentityType", TypeName(id.type)},
               {"FeedbackForwardingStatus", true},
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
  bool malformed = false;
  std::optional<std::string> page_text = QueryParam(call.query, "PageSize", &malformed);
  std::optional<std::string> token = QueryParam(call.query, "NextToken", &malformed);
  if (malformed) {
    return ErrorResponse(BadRequest("Invalid percent-encoding in the query string."));
  }
  int page = kDefaultPageSize;
  if (page_text) {
    int value = -1;
    const char* end = page_text->data() + page_text->size();
    auto [ptr, ec] = std::from_chars(page_text->data(), end, value);
    if (page_text->empty() || ec != std::errc() || ptr != end || value < 0 ||
        value > kMaxPageSize) {
      return ErrorResponse(
          BadRequest("Invalid value for PageSize: must be an integer from 0 to 1000."));
    }
    page = value == 0 ? kDefaultPageSize : value;
  }
  std::string after;
  if (token) {
    std::optional<std::string> decoded = DecodeNextToken(*token);
    if (!decoded) {
      return ErrorResponse(BadRequest("Invalid NextToken."));
    }
    after = std::move(*decoded);
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

HttpResponse SesV2Api::DeleteEmailIdentity(Call& call, const std::string& given) {
  std::string why;
  std::optional<NormalizedIdentity> norm = NormalizeIdentity(given, &why);
  if (!norm) {
    return ErrorResponse(NotFound(EmailIdentityNotFound(given)));
  }
  Status st = store_.DeleteIdentity(call.principal.account_id, norm->name);
  if (st.code() == StatusCode::kNotFound) {
    return ErrorResponse(NotFound(EmailIdentityNotFound(norm->name)));
  }
  if (!st.ok()) {
    return ErrorResponse(Internal(st, "DeleteIdentity"));
  }
  return JsonResponse(200, json::object());
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
