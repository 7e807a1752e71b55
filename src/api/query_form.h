// api/query_form.h: the wire format of the SES v1 Query API (2010-12-01): the
// application/x-www-form-urlencoded request body, the XML response and error envelopes,
// and how a SESv2-shaped error (or a sending rejection) reads as a v1 error.
//
// Contract: ParseQueryForm() accepts a body of at most limits.max_body_bytes holding at
// most limits.max_params "name=value" pairs separated by '&' (empty pairs are skipped);
// '+' is a space, "%XX" a byte, any other '%' is an error, and so are an empty or
// repeated name, a name longer than limits.max_name_bytes or with bytes outside printable
// ASCII, and a value that is not UTF-8 once decoded. Errors are the v1 error to send
// (400 InvalidQueryParameter). QueryForm::List() reads the query protocol's lists,
// "Prefix.member.1", "Prefix.member.2", ...: indices are decimal without leading zeros,
// must run from 1 without a gap and may not exceed `max` (400 InvalidParameterValue
// otherwise); "Prefix=" alone is the empty list. The XML helpers escape every text they
// write (XmlEscape: markup characters, and bytes XML 1.0 cannot carry become U+FFFD), so
// their output is well-formed whatever the input. QueryResultXml/QueryErrorXml build the
// envelopes botocore's query parser reads, in the namespace kSesXmlNamespace.
// V1ErrorFromV2() maps the SESv2 handlers' errors to the v1 codes (see its comment);
// V1ErrorForRejection() does the same for a SendingService rejection.
// Thread-safety: pure functions and value types.
// Trust: the body is hostile network input; every error echoes client text only
// truncated, and every XML text is escaped.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/api_common.h"
#include "api/http_handler.h"
#include "sending/sending_service.h"

namespace herald::api {

inline constexpr std::string_view kSesApiVersion = "2010-12-01";
inline constexpr std::string_view kSesXmlNamespace = "http://ses.amazonaws.com/doc/2010-12-01/";

struct QueryFormLimits {
  // The whole body. A 10 MB raw message is about 14 MB of base64, and percent-encoding
  // its '+', '/' and '=' adds a little more.
  size_t max_body_bytes = 48 * 1024 * 1024;
  // Name/value pairs (SendEmail with 50 recipients, 50 Reply-To and 50 tags needs ~210).
  size_t max_params = 1000;
  size_t max_name_bytes = 256;
};

// What a v1 action handler answers: the inner XML of <ActionResult> (nullopt: the action
// has no Result element), or the v1 error.
struct QueryReply {
  std::optional<ApiError> error;
  std::optional<std::string> result;

  static QueryReply Error(ApiError e) { return QueryReply{std::move(e), std::nullopt}; }
  static QueryReply Result(std::string xml) { return QueryReply{std::nullopt, std::move(xml)}; }
  static QueryReply NoResult() { return QueryReply{}; }
};

// The decoded parameters of one request.
class QueryForm {
 public:
  // The value of `name`, or nullptr when absent.
  const std::string* Get(std::string_view name) const;
  // The members of the list `prefix` ("Destination.ToAddresses"): Prefix.member.1..N.
  // nullopt on success.
  std::optional<ApiError> List(std::string_view prefix, size_t max,
                               std::vector<std::string>* out) const;
  // The number of members of a list of structures ("Tags" with Tags.member.N.Name...):
  // the same index rules as List(); the members' fields are read with Get().
  std::optional<ApiError> CountMembers(std::string_view prefix, size_t max, size_t* n) const;
  size_t size() const { return params_.size(); }

  // For ParseQueryForm and tests: false when `name` is already present.
  bool Add(std::string name, std::string value);

 private:
  std::map<std::string, std::string, std::less<>> params_;
};

// nullopt on success (then `*out` holds the parameters); otherwise the v1 error to send.
std::optional<ApiError> ParseQueryForm(std::string_view body, const QueryFormLimits& limits,
                                       QueryForm* out);

// The v1 "missing required member" error: 400 MissingParameter.
ApiError MissingQueryParameter(std::string_view name);
// 400 InvalidParameterValue with `message`.
ApiError InvalidParameterValue(std::string message);

// Text escaped for XML element content and attribute values.
std::string XmlEscape(std::string_view text);
// "<tag>escaped text</tag>".
std::string XmlElement(std::string_view tag, std::string_view text);
// A double as botocore reads it: "200.0", "0.5", "-1.0".
std::string XmlDouble(double value);

// <ActionResponse xmlns=...><ActionResult>result_xml</ActionResult><ResponseMetadata>
// <RequestId>request_id</RequestId></ResponseMetadata></ActionResponse>; without the
// Result element when `result_xml` is nullopt (actions without output, e.g.
// VerifyEmailAddress). `result_xml` is inserted as is: the caller escaped its texts.
std::string QueryResultXml(std::string_view action, const std::optional<std::string>& result_xml,
                           std::string_view request_id);
// <ErrorResponse xmlns=...><Error><Type>Sender|Receiver</Type><Code>..</Code><Message>..
// </Message></Error><RequestId>..</RequestId></ErrorResponse>; Receiver for 5xx.
std::string QueryErrorXml(const ApiError& error, std::string_view request_id);

// The HTTP reply carrying `xml` (Content-Type text/xml) and x-amzn-RequestId.
HttpResponse QueryXmlResponse(int status, std::string xml, const std::string& request_id);
// The HTTP reply for a v1 error (already in v1 terms), with a fresh request id.
HttpResponse QueryErrorResponse(const ApiError& error);

// A SESv2 error as the v1 API words it:
//   BadRequestException                -> InvalidParameterValue
//   NotFoundException                  -> ConfigurationSetDoesNotExist when the message is
//                                         about a configuration set, else InvalidParameterValue
//   SendingPausedException             -> ConfigurationSetSendingPausedException when the
//                                         message is about a configuration set, else
//                                         AccountSendingPausedException
//   AccountSuspendedException          -> AccountSendingPausedException (v1 has no code for a
//                                         suspension; sending is disabled for the whole
//                                         account, which is what that code says; the message
//                                         still says "suspended")
//   TooManyRequestsException,
//   LimitExceededException             -> Throttling, "Daily message quota exceeded." when the
//                                         message is about the daily quota, else "Maximum
//                                         sending rate exceeded."
//   MessageRejected, MailFromDomainNotVerifiedException: unchanged
//   AlreadyExistsException             -> AlreadyExists
//   the SigV4 failures                 -> IncompleteSignature, SignatureDoesNotMatch,
//                                         MissingAuthenticationToken, InvalidClientTokenId
//   any 5xx                            -> 500 InternalFailure
// Every v1 error except the SigV4 ones (403) and InternalFailure is 400, as the botocore
// ses model declares them (Throttling included, as SES sends it).
ApiError V1ErrorFromV2(const ApiError& v2);
// A rejection from SendingService::Submit as a v1 error (the kind decides where the v2
// mapping would have to read the message: a paused configuration set, the daily quota).
ApiError V1ErrorForRejection(const sending::Rejection& rejection);

}  // namespace herald::api
