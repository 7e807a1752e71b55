// api/sesv2_internal.h: helpers shared by the files of the SESv2 handler (sesv2_api.cc,
// sesv2_publishing.cc, sesv2_contacts.cc, and the v1 Query API in ses_v1.cc): the
// per-request Call, JSON replies, identity names, request member readers with SES's
// error texts, paging and tags.
//
// Contract: as each comment says; the readers return the BadRequestException to send, or
// nullopt. Thread-safety: pure functions. Trust: they read hostile request JSON; every
// error echoes client text only truncated.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "api/api_common.h"
#include "api/http_handler.h"
#include "api/sesv2_api.h"
#include "base/status.h"

namespace herald::api {

// Returns the ApiError of an std::optional<ApiError> expression, if it holds one.
#define RETURN_IF_API_ERROR(expr)                      \
  do {                                                 \
    if (std::optional<ApiError> api_error_ = (expr)) { \
      return api_error_;                               \
    }                                                  \
  } while (false)

struct SesV2Api::Call {
  const HttpRequest& request;
  std::string_view path;   // raw, undecoded
  std::string_view query;  // raw, without '?'
  sending::Principal principal;
};

using json = nlohmann::json;

inline constexpr std::string_view kContactListsPath = "/v2/email/contact-lists";

inline constexpr int kDefaultPageSize = 100;
inline constexpr int kMaxPageSize = 1000;
inline constexpr size_t kMaxTags = 50;

HttpResponse JsonResponse(int status, const json& body);

ApiError Internal(const Status& st, std::string_view what);

ApiError UnknownOperation(std::string_view method, std::string_view path);

// Query string parameters, percent-decoded; the first occurrence of a name wins.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name,
                                      bool* malformed);

// NextToken: the last identity name of the page, base64url without padding.
std::string EncodeNextToken(const std::string& name);

// The bytes of a base64url token without padding (EncodeNextToken); nullopt when it is not
// one or decodes to nothing.
std::optional<std::string> DecodeBase64UrlToken(std::string_view token);

std::optional<std::string> DecodeNextToken(std::string_view token);

// PageSize (0..1000; 0 or absent: kDefaultPageSize) and NextToken (the name to list after;
// empty for the first page) of a List* request.
std::optional<ApiError> ParsePageRequest(std::string_view query, int* page, std::string* after);

bool HasControl(std::string_view s);

// The Tags member of a create request (absent: none), checked and normalised to
// [{"Key", "Value"}].
std::optional<ApiError> ParseTags(const json& request, json* tags);

// The tags stored as JSON text, or [] when the text is unreadable.
json StoredTags(const std::string& text);

std::string ConfigSetNotFound(std::string_view name);

struct NormalizedIdentity {
  store::IdentityType type;
  std::string name;
};
// An identity name as the store keeps it: an email address (lower-cased) or a domain
// (lower-cased Punycode, at least two labels); nullopt with the reason in `*why`.
std::optional<NormalizedIdentity> NormalizeIdentity(std::string_view text, std::string* why);

// "Prefix.Name", or "Name" at the top level of a request.
std::string Param(std::string_view prefix, std::string_view name);

// Member `name` of `obj`, or nullptr when absent or null (AWS clients send neither for an
// unset member, but hand-written requests may).
const json* Member(const json& obj, const char* name);

ApiError WrongType(std::string_view param, std::string_view expected);

ApiError MissingParam(std::string_view param);

std::optional<ApiError> OptBool(const json& obj, std::string_view prefix, const char* name,
                                std::optional<bool>* out);

std::optional<ApiError> OptString(const json& obj, std::string_view prefix, const char* name,
                                  std::optional<std::string>* out);

// A string member restricted to `allowed` (SES enums are case-sensitive).
std::optional<ApiError> OptEnum(const json& obj, std::string_view prefix, const char* name,
                                std::initializer_list<std::string_view> allowed,
                                std::optional<std::string>* out);

std::optional<ApiError> OptStruct(const json& obj, std::string_view prefix, const char* name,
                                  const json** out);

}  // namespace herald::api
