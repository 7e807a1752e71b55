// api/send_email_request.h: parsing and validation of the SESv2 SendEmail request body.
//
// Contract: ParseSendEmailRequest() checks the body against the botocore sesv2 model
// (required members, member types, exactly one of Content.Simple/Raw/Template, at most
// 15 Headers, EmailTags names and values of [A-Za-z0-9_-] up to 256 characters, at most
// `max_recipients` addresses across To+Cc+Bcc) and herald's own safety rules (no CR/LF
// in anything that becomes a header: header injection). On success it fills every field
// of the Submission except principal and channel: source (FromEmailAddress's address,
// empty for Raw without it), recipients (each address with its local part as written and
// its domain lower-cased Punycode), the whole message (built by mail::BuildMime for
// Simple and inline-Template content, without Message-ID/Date, which the sending service
// adds; Raw bytes exactly as decoded), configuration_set, tags and simple_content.
// A Raw request without Destination takes its recipients from the message's To, Cc and
// Bcc header fields, as SES does. Template content names a stored template
// (TemplateName, or the name at the end of TemplateArn) looked up through `templates`
// (nullptr: none exists), or carries its own TemplateContent; TemplateData fills it. A
// template that does not render (a missing attribute, a syntax error) is not an error here:
// the Submission's rendering_failure is set and the message is built from what rendered.
// ListManagementOptions becomes list_management; a ContactListName or TopicName that no
// list or topic could have is NotFound here, the rest is checked by the sending service.
// Unknown members are ignored (newer SDKs send fields
// herald does not know). Errors are returned as the AWS reply to send.
// Thread-safety: pure function.
// Trust: `body` is hostile network input; every list and string is bounded.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/api_common.h"
#include "sending/sending_service.h"

namespace herald::api {

struct SendEmailLimits {
  int max_recipients = 50;                      // To+Cc+Bcc
  size_t max_message_bytes = 40 * 1024 * 1024;  // the built or decoded message
  size_t max_headers = 15;                      // Simple/Template Headers
  size_t max_template_data_bytes = 262144;      // Template.TemplateData
  size_t max_email_tags = 50;
  size_t max_attachments = 100;
};

// A stored template's parts.
struct TemplateParts {
  std::string subject;
  std::string text;
  std::string html;
};
// Finds the caller's template by name: kNotFound when there is none of that name.
using TemplateLookup = std::function<StatusOr<TemplateParts>(const std::string& name)>;

// nullopt on success (then `*out` is filled); otherwise the error to reply with.
std::optional<ApiError> ParseSendEmailRequest(std::string_view body, const SendEmailLimits& limits,
                                              sending::Submission* out,
                                              const TemplateLookup* templates = nullptr);

// Renders the three parts with `data` (a JSON object). Sets *failure (and leaves the
// part that failed empty) when one does not render; the subject must not contain CR/LF
// after rendering (header injection), which is also a failure.
void RenderTemplateParts(const TemplateParts& tmpl, const nlohmann::json& data, size_t max_output,
                         TemplateParts* out, std::string* failure);

}  // namespace herald::api
