#include "api/query_form.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <utility>

#include "base/strings.h"
#include "mail/message.h"
#include "sending/reply_mapping.h"

namespace herald::api {
namespace {

constexpr size_t kMaxListIndexDigits = 9;

ApiError InvalidQuery(std::string message) {
  return ApiError{400, "InvalidQueryParameter", std::move(message)};
}

// A list index: decimal, no sign, no leading zero, at least 1.
std::optional<size_t> ParseIndex(std::string_view text) {
  if (text.empty() || text.size() > kMaxListIndexDigits || text[0] == '0') {
    return std::nullopt;
  }
  size_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// Appends the UTF-8 form of U+FFFD.
void AppendReplacement(std::string* out) { out->append("\xEF\xBF\xBD"); }

// The length of the well-formed UTF-8 sequence at s[i] whose code point XML 1.0 allows,
// or 0.
size_t XmlCharLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t len = 0;
  uint32_t cp = 0;
  if (c < 0x80) {
    return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  const bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
  const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
  if (overlong || surrogate || cp > 0x10FFFF || cp == 0xFFFE || cp == 0xFFFF) {
    return 0;
  }
  return len;
}

bool MentionsConfigurationSet(std::string_view message) {
  return AsciiLower(message).find("configuration set") != std::string::npos;
}

bool MentionsDailyQuota(std::string_view message) {
  return AsciiLower(message).find("daily") != std::string::npos;
}

}  // namespace

const std::string* QueryForm::Get(std::string_view name) const {
  auto it = params_.find(name);
  return it == params_.end() ? nullptr : &it->second;
}

bool QueryForm::Add(std::string name, std::string value) {
  return params_.emplace(std::move(name), std::move(value)).second;
}

std::optional<ApiError> QueryForm::CountMembers(std::string_view prefix, size_t max,
                                                size_t* n) const {
  *n = 0;
  const std::string head = std::string(prefix) + ".member.";
  std::set<size_t> seen;
  for (auto it = params_.lower_bound(head); it != params_.end() && it->first.starts_with(head);
       ++it) {
    std::string_view rest = std::string_view(it->first).substr(head.size());
    const std::string_view digits = rest.substr(0, rest.find('.'));
    std::optional<size_t> index = ParseIndex(digits);
    if (!index) {
      return InvalidParameterValue("Invalid list index in parameter " + Truncated(it->first, 80) +
                                   ": members are numbered from 1.");
    }
    if (*index > max) {
      return InvalidParameterValue("Too many members in " + Truncated(prefix, 80) + ": at most " +
                                   std::to_string(max) + " are allowed.");
    }
    seen.insert(*index);
  }
  if (const std::string* bare = Get(prefix)) {
    if (!bare->empty() || !seen.empty()) {
      return InvalidParameterValue("Invalid parameter " + Truncated(prefix, 80) +
                                   ": expected a list (" + Truncated(prefix, 80) + ".member.N).");
    }
  }
  // Contiguous from 1: the largest index equals the number of distinct indices.
  if (!seen.empty() && *seen.rbegin() != seen.size()) {
    return InvalidParameterValue("Invalid list " + Truncated(prefix, 80) +
                                 ": member numbers must run from 1 without a gap.");
  }
  *n = seen.size();
  return std::nullopt;
}

std::optional<ApiError> QueryForm::List(std::string_view prefix, size_t max,
                                        std::vector<std::string>* out) const {
  out->clear();
  size_t n = 0;
  if (auto e = CountMembers(prefix, max, &n)) {
    return e;
  }
  const std::string head = std::string(prefix) + ".member.";
  for (size_t i = 1; i <= n; ++i) {
    const std::string* v = Get(head + std::to_string(i));
    if (v == nullptr) {
      // Only sub-fields were given (Prefix.member.1.Name): not a list of strings.
      return InvalidParameterValue("Invalid list " + Truncated(prefix, 80) +
                                   ": expected strings as members.");
    }
    out->push_back(*v);
  }
  return std::nullopt;
}

std::optional<ApiError> ParseQueryForm(std::string_view body, const QueryFormLimits& limits,
                                       QueryForm* out) {
  *out = QueryForm();
  if (body.size() > limits.max_body_bytes) {
    return InvalidQuery("The request body is larger than " + std::to_string(limits.max_body_bytes) +
                        " bytes.");
  }
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    const std::string_view pair = body.substr(start, end - start);
    start = end + 1;
    if (pair.empty()) {
      continue;
    }
    if (out->size() >= limits.max_params) {
      return InvalidQuery("The request has more than " + std::to_string(limits.max_params) +
                          " parameters.");
    }
    const size_t eq = pair.find('=');
    const std::string_view raw_name = pair.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    std::string name;
    std::string value;
    if (raw_name.size() > 3 * limits.max_name_bytes ||
        !PercentDecode(raw_name, &name, /*plus_is_space=*/true) ||
        !PercentDecode(raw_value, &value, /*plus_is_space=*/true)) {
      return InvalidQuery(
          "The request body is not valid application/x-www-form-urlencoded: "
          "bad percent-encoding in parameter " +
          Truncated(raw_name, 40) + ".");
    }
    if (name.empty() || name.size() > limits.max_name_bytes) {
      return InvalidQuery("Invalid parameter name: 1 to " + std::to_string(limits.max_name_bytes) +
                          " characters are required.");
    }
    for (unsigned char c : name) {
      if (c <= 0x20 || c >= 0x7f) {
        return InvalidQuery("Invalid parameter name " + Truncated(PercentEncode(name), 80) +
                            ": only printable ASCII is allowed.");
      }
    }
    if (!mail::IsValidUtf8(value)) {
      return InvalidQuery("The value of parameter " + Truncated(name, 80) + " is not valid UTF-8.");
    }
    std::string shown = Truncated(name, 80);
    if (!out->Add(std::move(name), std::move(value))) {
      return InvalidQuery("The parameter " + shown + " appears more than once.");
    }
  }
  return std::nullopt;
}

ApiError MissingQueryParameter(std::string_view name) {
  return ApiError{400, "MissingParameter",
                  "The request must contain the parameter " + std::string(name) + "."};
}

ApiError InvalidParameterValue(std::string message) {
  return ApiError{400, "InvalidParameterValue", std::move(message)};
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    switch (c) {
      case '&':
        out += "&amp;";
        ++i;
        continue;
      case '<':
        out += "&lt;";
        ++i;
        continue;
      case '>':
        out += "&gt;";
        ++i;
        continue;
      case '"':
        out += "&quot;";
        ++i;
        continue;
      case '\'':
        out += "&apos;";
        ++i;
        continue;
      case '\r':
        out += "&#13;";  // a literal CR would be normalised away by the reader
        ++i;
        continue;
      default:
        break;
    }
    const size_t len = XmlCharLength(text, i);
    if (len == 0) {
      AppendReplacement(&out);
      ++i;
      continue;
    }
    out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

std::string XmlElement(std::string_view tag, std::string_view text) {
  std::string out;
  out.reserve(tag.size() * 2 + text.size() + 5);
  out.append("<").append(tag).append(">");
  out += XmlEscape(text);
  out.append("</").append(tag).append(">");
  return out;
}

std::string XmlDouble(double value) {
  if (!std::isfinite(value)) {
    return "0.0";
  }
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  std::string out(buf, ec == std::errc() ? ptr : buf);
  if (out.find_first_of(".eE") == std::string::npos) {
    out += ".0";
  }
  return out;
}

std::string QueryResultXml(std::string_view action, const std::optional<std::string>& result_xml,
                           std::string_view request_id) {
  std::string out = "<";
  out.append(action).append("Response xmlns=\"").append(kSesXmlNamespace).append("\">");
  if (result_xml) {
    out.append("<").append(action).append("Result>");
    out += *result_xml;
    out.append("</").append(action).append("Result>");
  }
  out += "<ResponseMetadata>";
  out += XmlElement("RequestId", request_id);
  out += "</ResponseMetadata>";
  out.append("</").append(action).append("Response>\n");
  return out;
}

std::string QueryErrorXml(const ApiError& error, std::string_view request_id) {
  std::string out = "<ErrorResponse xmlns=\"";
  out.append(kSesXmlNamespace).append("\"><Error>");
  out += XmlElement("Type", error.status >= 500 ? "Receiver" : "Sender");
  out += XmlElement("Code", error.code);
  out += XmlElement("Message", error.message);
  out += "</Error>";
  out += XmlElement("RequestId", request_id);
  out += "</ErrorResponse>\n";
  return out;
}

HttpResponse QueryXmlResponse(int status, std::string xml, const std::string& request_id) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "text/xml");
  r.headers.emplace_back("x-amzn-RequestId", request_id);
  r.body = std::move(xml);
  return r;
}

HttpResponse QueryErrorResponse(const ApiError& error) {
  const std::string id = NewRequestId();
  return QueryXmlResponse(error.status, QueryErrorXml(error, id), id);
}

ApiError V1ErrorFromV2(const ApiError& v2) {
  const std::string& code = v2.code;
  const std::string& msg = v2.message;
  if (v2.status >= 500) {
    return ApiError{500, "InternalFailure", msg};
  }
  if (code == "BadRequestException") {
    return InvalidParameterValue(msg);
  }
  if (code == "NotFoundException") {
    return MentionsConfigurationSet(msg) ? ApiError{400, "ConfigurationSetDoesNotExist", msg}
                                         : InvalidParameterValue(msg);
  }
  if (code == "SendingPausedException") {
    return ApiError{400,
                    MentionsConfigurationSet(msg) ? "ConfigurationSetSendingPausedException"
                                                  : "AccountSendingPausedException",
                    msg};
  }
  if (code == "AccountSuspendedException") {
    return ApiError{400, "AccountSendingPausedException", msg};
  }
  if (code == "TooManyRequestsException" || code == "LimitExceededException") {
    return ApiError{400, "Throttling",
                    MentionsDailyQuota(msg) ? "Daily message quota exceeded."
                                            : "Maximum sending rate exceeded."};
  }
  if (code == "AlreadyExistsException") {
    return ApiError{400, "AlreadyExists", msg};
  }
  if (code == "IncompleteSignatureException") {
    return ApiError{403, "IncompleteSignature", msg};
  }
  if (code == "InvalidSignatureException") {
    return ApiError{403, "SignatureDoesNotMatch", msg};
  }
  if (code == "MissingAuthenticationTokenException") {
    return ApiError{403, "MissingAuthenticationToken", msg};
  }
  if (code == "UnrecognizedClientException") {
    return ApiError{403, "InvalidClientTokenId", msg};
  }
  // MessageRejected, MailFromDomainNotVerifiedException and the v1 codes themselves.
  return ApiError{400, code, msg};
}

ApiError V1ErrorForRejection(const sending::Rejection& rejection) {
  using sending::RejectKind;
  switch (rejection.kind) {
    case RejectKind::kConfigSetPaused:
      return ApiError{400, "ConfigurationSetSendingPausedException", rejection.message};
    case RejectKind::kSendingPaused:
      return ApiError{400, "AccountSendingPausedException", rejection.message};
    case RejectKind::kMaxSendRate:
      return ApiError{400, "Throttling", "Maximum sending rate exceeded."};
    case RejectKind::kDailyQuota:
      return ApiError{400, "Throttling", "Daily message quota exceeded."};
    default:
      break;
  }
  const sending::HttpError e = sending::HttpErrorFor(rejection);
  return V1ErrorFromV2(ApiError{e.status, e.code, e.message});
}

}  // namespace herald::api
