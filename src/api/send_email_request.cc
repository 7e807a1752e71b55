#include "api/send_email_request.h"

#include <string>
#include <utility>
#include <vector>

#include "base/crypto.h"
#include "base/strings.h"
#include "mail/address.h"
#include "mail/message.h"
#include "mail/mime_builder.h"
#include "mail/template.h"
#include "store/audience_store.h"

namespace herald::api {
namespace {

using nlohmann::json;

std::string Join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

ApiError MissingParameter(const std::string& path) {
  return BadRequest("Missing required parameter: " + path + ".");
}

ApiError WrongType(const std::string& path, const char* expected) {
  return BadRequest("Invalid type for parameter " + path + ": expected " + expected + ".");
}

bool HasCrLf(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return true;
    }
  }
  return false;
}

// [A-Za-z0-9_-]
bool IsTagText(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// Member access that checks types and records the first error. A JSON null counts as
// absent, as the AWS SDKs never send one.
class Reader {
 public:
  std::optional<ApiError> error;

  bool failed() const { return error.has_value(); }
  void Fail(ApiError e) {
    if (!error) {
      error = std::move(e);
    }
  }

  const json* Get(const json& obj, std::string_view name) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) {
      return nullptr;
    }
    return &*it;
  }

  // nullptr when absent (error set if required) or of the wrong type (error set).
  const json* Object(const json& parent, std::string_view name, const std::string& path,
                     bool required) {
    const json* v = Get(parent, name);
    if (v == nullptr) {
      if (required) {
        Fail(MissingParameter(path));
      }
      return nullptr;
    }
    if (!v->is_object()) {
      Fail(WrongType(path, "a structure"));
      return nullptr;
    }
    return v;
  }

  const json* List(const json& parent, std::string_view name, const std::string& path) {
    const json* v = Get(parent, name);
    if (v == nullptr) {
      return nullptr;
    }
    if (!v->is_array()) {
      Fail(WrongType(path, "a list"));
      return nullptr;
    }
    return v;
  }

  // Returns true when the string is present and well-typed.
  bool String(const json& parent, std::string_view name, const std::string& path, bool required,
              std::string* out) {
    const json* v = Get(parent, name);
    if (v == nullptr) {
      if (required) {
        Fail(MissingParameter(path));
      }
      return false;
    }
    if (!v->is_string()) {
      Fail(WrongType(path, "a string"));
      return false;
    }
    *out = v->get_ref<const std::string&>();
    return true;
  }

  // A list of strings.
  bool StringList(const json& parent, std::string_view name, const std::string& path,
                  std::vector<std::string>* out) {
    const json* list = List(parent, name, path);
    if (list == nullptr) {
      return false;
    }
    out->reserve(list->size());
    for (size_t i = 0; i < list->size(); ++i) {
      const json& item = (*list)[i];
      if (!item.is_string()) {
        Fail(WrongType(Index(path, i), "a string"));
        return false;
      }
      out->push_back(item.get_ref<const std::string&>());
    }
    return true;
  }
};

struct Addresses {
  std::vector<std::string> to, cc, bcc, reply_to;
};

// Validates one API address field; returns the parsed mailbox.
std::optional<mail::Mailbox> CheckAddress(Reader& r, const std::string& text,
                                          const std::string& path) {
  if (HasCrLf(text)) {
    r.Fail(BadRequest("Invalid address in " + path +
                      ": CR and LF are not allowed (header injection)."));
    return std::nullopt;
  }
  StatusOr<mail::Mailbox> mb = mail::ParseMailbox(text);
  if (!mb.ok()) {
    r.Fail(BadRequest("Illegal address in " + path + ": " + mb.status().message()));
    return std::nullopt;
  }
  return std::move(mb).value();
}

// What goes into a From/To/Cc/Reply-To header for an API address: the normalised address
// (Punycode domain) when there is no display name, else the address as given.
std::string HeaderAddress(const mail::Mailbox& mb, const std::string& given) {
  return mb.display_name.empty() ? mb.Address() : given;
}

bool CheckText(Reader& r, std::string_view value, const std::string& path, size_t max_len,
               bool allow_empty) {
  if (!allow_empty && value.empty()) {
    r.Fail(BadRequest("Invalid value for " + path + ": must not be empty."));
    return false;
  }
  if (value.size() > max_len) {
    r.Fail(BadRequest("Invalid value for " + path + ": at most " + std::to_string(max_len) +
                      " characters are allowed."));
    return false;
  }
  if (HasCrLf(value)) {
    r.Fail(BadRequest("Invalid value for " + path +
                      ": CR and LF are not allowed (header injection)."));
    return false;
  }
  if (HasControl(value)) {
    r.Fail(BadRequest("Invalid value for " + path + ": control characters are not allowed."));
    return false;
  }
  return true;
}

// Content.{Simple,Template}.Headers: [{Name, Value}], at most limits.max_headers.
void ReadHeaders(Reader& r, const json& parent, const std::string& path,
                 const SendEmailLimits& limits,
                 std::vector<std::pair<std::string, std::string>>* out) {
  const std::string hpath = Join(path, "Headers");
  const json* list = r.List(parent, "Headers", hpath);
  if (list == nullptr) {
    return;
  }
  if (list->size() > limits.max_headers) {
    r.Fail(BadRequest("Too many headers in " + hpath + ": at most " +
                      std::to_string(limits.max_headers) + " are allowed."));
    return;
  }
  for (size_t i = 0; i < list->size() && !r.failed(); ++i) {
    const std::string ipath = Index(hpath, i);
    const json& item = (*list)[i];
    if (!item.is_object()) {
      r.Fail(WrongType(ipath, "a structure"));
      return;
    }
    std::string name;
    std::string value;
    r.String(item, "Name", Join(ipath, "Name"), true, &name);
    r.String(item, "Value", Join(ipath, "Value"), true, &value);
    if (r.failed()) {
      return;
    }
    // RFC 5322 field name: printable US-ASCII except ':' (the model's ^[!-9;-@A-~]+$).
    bool name_ok = !name.empty() && name.size() <= 126;
    for (unsigned char c : name) {
      if (c < 33 || c > 126 || c == ':') {
        name_ok = false;
      }
    }
    if (!name_ok) {
      if (HasCrLf(name)) {
        r.Fail(BadRequest("Invalid header name in " + Join(ipath, "Name") +
                          ": CR and LF are not allowed (header injection)."));
      } else {
        r.Fail(BadRequest("Invalid header name in " + Join(ipath, "Name") +
                          ": 1 to 126 printable ASCII characters other than ':' are "
                          "required."));
      }
      return;
    }
    if (!CheckText(r, value, Join(ipath, "Value"), 870, /*allow_empty=*/true)) {
      return;
    }
    out->emplace_back(std::move(name), std::move(value));
  }
}

// Content.{Simple,Template}.Attachments.
void ReadAttachments(Reader& r, const json& parent, const std::string& path,
                     const SendEmailLimits& limits, std::vector<mail::Attachment>* out) {
  const std::string apath = Join(path, "Attachments");
  const json* list = r.List(parent, "Attachments", apath);
  if (list == nullptr) {
    return;
  }
  if (list->size() > limits.max_attachments) {
    r.Fail(BadRequest("Too many attachments in " + apath + ": at most " +
                      std::to_string(limits.max_attachments) + " are allowed."));
    return;
  }
  for (size_t i = 0; i < list->size() && !r.failed(); ++i) {
    const std::string ipath = Index(apath, i);
    const json& item = (*list)[i];
    if (!item.is_object()) {
      r.Fail(WrongType(ipath, "a structure"));
      return;
    }
    mail::Attachment a;
    std::string raw;
    std::string disposition;
    std::string encoding;
    r.String(item, "RawContent", Join(ipath, "RawContent"), true, &raw);
    r.String(item, "FileName", Join(ipath, "FileName"), true, &a.file_name);
    r.String(item, "ContentDisposition", Join(ipath, "ContentDisposition"), false, &disposition);
    r.String(item, "ContentTransferEncoding", Join(ipath, "ContentTransferEncoding"), false,
             &encoding);
    r.String(item, "ContentType", Join(ipath, "ContentType"), false, &a.content_type);
    r.String(item, "ContentId", Join(ipath, "ContentId"), false, &a.content_id);
    r.String(item, "ContentDescription", Join(ipath, "ContentDescription"), false, &a.description);
    if (r.failed()) {
      return;
    }
    if (!CheckText(r, a.file_name, Join(ipath, "FileName"), 255, false) ||
        !CheckText(r, a.content_type, Join(ipath, "ContentType"), 78, true) ||
        !CheckText(r, a.content_id, Join(ipath, "ContentId"), 78, true) ||
        !CheckText(r, a.description, Join(ipath, "ContentDescription"), 1000, true)) {
      return;
    }
    if (disposition.empty() || disposition == "ATTACHMENT") {
      a.disposition = "attachment";
    } else if (disposition == "INLINE") {
      a.disposition = "inline";
    } else {
      r.Fail(BadRequest("Invalid value for " + Join(ipath, "ContentDisposition") +
                        ": must be ATTACHMENT or INLINE."));
      return;
    }
    if (encoding.empty()) {
      a.transfer_encoding = "BASE64";
    } else if (encoding == "BASE64" || encoding == "QUOTED_PRINTABLE" || encoding == "SEVEN_BIT") {
      a.transfer_encoding = encoding;
    } else {
      r.Fail(BadRequest("Invalid value for " + Join(ipath, "ContentTransferEncoding") +
                        ": must be BASE64, QUOTED_PRINTABLE or SEVEN_BIT."));
      return;
    }
    std::optional<std::string> bytes = Base64Decode(raw, /*allow_whitespace=*/true);
    if (!bytes) {
      r.Fail(BadRequest("Invalid value for " + Join(ipath, "RawContent") + ": not valid base64."));
      return;
    }
    a.content = std::move(*bytes);
    out->push_back(std::move(a));
  }
}

// A Content structure {Data*, Charset}: returns Data.
bool ReadContentData(Reader& r, const json& parent, std::string_view name, const std::string& path,
                     bool required, std::string* data) {
  const std::string cpath = Join(path, name);
  const json* c = r.Object(parent, name, cpath, required);
  if (c == nullptr) {
    return false;
  }
  std::string charset;
  r.String(*c, "Charset", Join(cpath, "Charset"), false, &charset);
  return r.String(*c, "Data", Join(cpath, "Data"), true, data);
}

std::optional<ApiError> MessageTooLong(size_t limit, size_t actual) {
  return ApiError{400, "MessageRejected",
                  "Message length is more than " + std::to_string(limit) + " bytes long: '" +
                      std::to_string(actual) + "'."};
}

// Builds the MIME message for Simple or Template content.
std::optional<ApiError> Build(mail::SimpleMessage& msg, const SendEmailLimits& limits,
                              std::string* out) {
  StatusOr<std::string> mime = mail::BuildMime(msg);
  if (!mime.ok()) {
    return BadRequest(mime.status().message());
  }
  if (mime->size() > limits.max_message_bytes) {
    return MessageTooLong(limits.max_message_bytes, mime->size());
  }
  *out = std::move(mime).value();
  return std::nullopt;
}

// Recipients of a Raw message sent without Destination: its To, Cc and Bcc fields.
std::optional<ApiError> RawHeaderRecipients(std::string_view message,
                                            std::vector<std::string>* out) {
  StatusOr<mail::ParsedMessage> parsed = mail::ParseMessage(message);
  if (!parsed.ok()) {
    return BadRequest("Invalid raw message: " + parsed.status().message());
  }
  for (const char* field : {"To", "Cc", "Bcc"}) {
    for (const mail::HeaderField* h : parsed->FindAll(field)) {
      StatusOr<std::vector<mail::Mailbox>> list = mail::ParseAddressList(h->value);
      if (!list.ok()) {
        return BadRequest(std::string("Illegal address in the raw message's ") + field +
                          " header: " + list.status().message());
      }
      for (const mail::Mailbox& mb : *list) {
        out->push_back(mb.Address());
      }
    }
  }
  return std::nullopt;
}

}  // namespace

void RenderTemplateParts(const TemplateParts& tmpl, const json& data, size_t max_output,
                         TemplateParts* out, std::string* failure) {
  struct Part {
    const std::string* tmpl;
    std::string* out;
  };
  for (const Part& p : {Part{&tmpl.subject, &out->subject}, Part{&tmpl.text, &out->text},
                        Part{&tmpl.html, &out->html}}) {
    if (p.tmpl->empty()) {
      continue;
    }
    StatusOr<std::string> rendered = mail::RenderTemplate(*p.tmpl, data, max_output);
    if (!rendered.ok()) {
      if (failure->empty()) {
        *failure = rendered.status().message();
      }
      continue;
    }
    *p.out = std::move(rendered).value();
  }
  if (HasCrLf(out->subject)) {
    out->subject.clear();
    if (failure->empty()) {
      *failure = "The rendered subject contains a line break.";
    }
  }
}

std::optional<ApiError> ParseSendEmailRequest(std::string_view body, const SendEmailLimits& limits,
                                              sending::Submission* out,
                                              const TemplateLookup* templates) {
  json j;
  if (auto e = ParseJsonObject(body, &j)) {
    return e;
  }
  Reader r;

  // Content first: whether it is Raw decides what else is required.
  const json* content = r.Object(j, "Content", "Content", true);
  if (r.failed()) {
    return r.error;
  }
  const json* simple = r.Object(*content, "Simple", "Content.Simple", false);
  const json* raw = r.Object(*content, "Raw", "Content.Raw", false);
  const json* tmpl = r.Object(*content, "Template", "Content.Template", false);
  if (r.failed()) {
    return r.error;
  }
  if ((simple != nullptr) + (raw != nullptr) + (tmpl != nullptr) != 1) {
    return BadRequest("Content must contain exactly one of Simple, Raw or Template.");
  }

  // Sender.
  std::string from;
  const bool has_from = r.String(j, "FromEmailAddress", "FromEmailAddress", false, &from);
  std::string ignored;
  r.String(j, "FromEmailAddressIdentityArn", "FromEmailAddressIdentityArn", false, &ignored);
  std::string feedback;
  const bool has_feedback = r.String(j, "FeedbackForwardingEmailAddress",
                                     "FeedbackForwardingEmailAddress", false, &feedback);
  r.String(j, "FeedbackForwardingEmailAddressIdentityArn",
           "FeedbackForwardingEmailAddressIdentityArn", false, &ignored);
  if (r.failed()) {
    return r.error;
  }
  if (has_feedback) {
    std::optional<mail::Mailbox> mb = CheckAddress(r, feedback, "FeedbackForwardingEmailAddress");
    if (!mb) {
      return r.error;
    }
    out->feedback_address = mb->Address();
  }
  std::optional<mail::Mailbox> from_mb;
  if (has_from) {
    from_mb = CheckAddress(r, from, "FromEmailAddress");
    if (r.failed()) {
      return r.error;
    }
  } else if (raw == nullptr) {
    return MissingParameter("FromEmailAddress");
  }

  // Destination and Reply-To.
  Addresses given;
  const json* dest = r.Object(j, "Destination", "Destination", false);
  if (dest != nullptr) {
    r.StringList(*dest, "ToAddresses", "Destination.ToAddresses", &given.to);
    r.StringList(*dest, "CcAddresses", "Destination.CcAddresses", &given.cc);
    r.StringList(*dest, "BccAddresses", "Destination.BccAddresses", &given.bcc);
  }
  r.StringList(j, "ReplyToAddresses", "ReplyToAddresses", &given.reply_to);
  if (r.failed()) {
    return r.error;
  }
  const size_t count = given.to.size() + given.cc.size() + given.bcc.size();
  if (count > static_cast<size_t>(limits.max_recipients)) {
    return ApiError{400, "BadRequestException",
                    "Recipient count exceeds " + std::to_string(limits.max_recipients) + "."};
  }
  std::vector<std::string> recipients;
  recipients.reserve(count);
  std::vector<std::string> to_headers;
  std::vector<std::string> cc_headers;
  std::vector<std::string> reply_headers;
  struct Field {
    const std::vector<std::string>* list;
    const char* path;
    std::vector<std::string>* headers;  // nullptr: not a header (Bcc)
    bool recipient;
  };
  for (const Field& f : {Field{&given.to, "Destination.ToAddresses", &to_headers, true},
                         Field{&given.cc, "Destination.CcAddresses", &cc_headers, true},
                         Field{&given.bcc, "Destination.BccAddresses", nullptr, true},
                         Field{&given.reply_to, "ReplyToAddresses", &reply_headers, false}}) {
    for (size_t i = 0; i < f.list->size(); ++i) {
      const std::string& text = (*f.list)[i];
      std::optional<mail::Mailbox> mb = CheckAddress(r, text, Index(f.path, i));
      if (!mb) {
        return r.error;
      }
      if (f.recipient) {
        recipients.push_back(mb->Address());
      }
      if (f.headers != nullptr) {
        f.headers->push_back(HeaderAddress(*mb, text));
      }
    }
  }
  if (recipients.empty() && raw == nullptr) {
    return BadRequest("Destination must contain at least one recipient address.");
  }

  // Tags and configuration set.
  std::vector<std::pair<std::string, std::string>> tags;
  if (const json* list = r.List(j, "EmailTags", "EmailTags")) {
    if (list->size() > limits.max_email_tags) {
      return BadRequest("Too many EmailTags: at most " + std::to_string(limits.max_email_tags) +
                        " are allowed.");
    }
    for (size_t i = 0; i < list->size(); ++i) {
      const std::string ipath = Index("EmailTags", i);
      const json& item = (*list)[i];
      if (!item.is_object()) {
        return WrongType(ipath, "a structure");
      }
      std::string name;
      std::string value;
      r.String(item, "Name", Join(ipath, "Name"), true, &name);
      r.String(item, "Value", Join(ipath, "Value"), true, &value);
      if (r.failed()) {
        return r.error;
      }
      if (name.empty() || name.size() > 256 || !IsTagText(name)) {
        return BadRequest("Invalid value for " + Join(ipath, "Name") +
                          ": 1 to 256 ASCII letters, digits, '_' or '-' are required.");
      }
      if (value.size() > 256 || !IsTagText(value)) {
        return BadRequest("Invalid value for " + Join(ipath, "Value") +
                          ": at most 256 ASCII letters, digits, '_' or '-' are allowed.");
      }
      tags.emplace_back(std::move(name), std::move(value));
    }
  }
  std::string config_set;
  if (r.String(j, "ConfigurationSetName", "ConfigurationSetName", false, &config_set)) {
    if (config_set.empty() || config_set.size() > 64 || !IsTagText(config_set)) {
      return BadRequest(
          "Invalid value for ConfigurationSetName: 1 to 64 ASCII letters, digits, '_' or '-' "
          "are required.");
    }
  }
  std::optional<sending::Submission::ListManagement> list_management;
  if (const json* lmo = r.Object(j, "ListManagementOptions", "ListManagementOptions", false)) {
    sending::Submission::ListManagement lm;
    if (r.String(*lmo, "ContactListName", "ListManagementOptions.ContactListName", true,
                 &lm.contact_list) &&
        !store::IsContactListName(lm.contact_list)) {
      // No list can have such a name: SES answers as for any list that does not exist.
      return NotFound("List with name " + Truncated(lm.contact_list) + " does not exist.");
    }
    if (r.String(*lmo, "TopicName", "ListManagementOptions.TopicName", false, &lm.topic) &&
        (lm.topic.empty() || lm.topic.size() > 64 || !IsTagText(lm.topic))) {
      return NotFound("Topic " + Truncated(lm.topic) + " does not exist.");
    }
    list_management = std::move(lm);
  }
  if (r.failed()) {
    return r.error;
  }

  // The message itself.
  std::string message;
  if (raw != nullptr) {
    std::string data;
    if (!r.String(*raw, "Data", "Content.Raw.Data", true, &data)) {
      return r.error;
    }
    // Bound the decoded size before decoding.
    if (data.size() / 4 * 3 > limits.max_message_bytes + 3) {
      return MessageTooLong(limits.max_message_bytes, data.size() / 4 * 3);
    }
    std::optional<std::string> bytes = Base64Decode(data, /*allow_whitespace=*/true);
    if (!bytes) {
      return BadRequest("Invalid value for Content.Raw.Data: not valid base64.");
    }
    if (bytes->empty()) {
      return BadRequest("Invalid value for Content.Raw.Data: the message is empty.");
    }
    if (bytes->size() > limits.max_message_bytes) {
      return MessageTooLong(limits.max_message_bytes, bytes->size());
    }
    message = std::move(*bytes);
    if (dest == nullptr) {
      if (auto e = RawHeaderRecipients(message, &recipients)) {
        return e;
      }
      if (recipients.size() > static_cast<size_t>(limits.max_recipients)) {
        return ApiError{400, "BadRequestException",
                        "Recipient count exceeds " + std::to_string(limits.max_recipients) + "."};
      }
    }
    if (recipients.empty()) {
      return BadRequest("Destination must contain at least one recipient address.");
    }
  } else {
    mail::SimpleMessage msg;
    msg.from = HeaderAddress(*from_mb, from);
    msg.to = std::move(to_headers);
    msg.cc = std::move(cc_headers);
    msg.reply_to = std::move(reply_headers);
    const std::string base = simple != nullptr ? "Content.Simple" : "Content.Template";
    const json& part = simple != nullptr ? *simple : *tmpl;
    ReadHeaders(r, part, base, limits, &msg.headers);
    ReadAttachments(r, part, base, limits, &msg.attachments);
    if (r.failed()) {
      return r.error;
    }
    if (simple != nullptr) {
      ReadContentData(r, *simple, "Subject", base, true, &msg.subject);
      const json* body_obj = r.Object(*simple, "Body", Join(base, "Body"), true);
      if (body_obj != nullptr) {
        ReadContentData(r, *body_obj, "Text", Join(base, "Body"), false, &msg.text);
        ReadContentData(r, *body_obj, "Html", Join(base, "Body"), false, &msg.html);
      }
      if (r.failed()) {
        return r.error;
      }
    } else {
      std::string name;
      std::string arn;
      r.String(*tmpl, "TemplateName", "Content.Template.TemplateName", false, &name);
      r.String(*tmpl, "TemplateArn", "Content.Template.TemplateArn", false, &arn);
      const json* tc =
          r.Object(*tmpl, "TemplateContent", "Content.Template.TemplateContent", false);
      std::string data_text;
      const bool has_data =
          r.String(*tmpl, "TemplateData", "Content.Template.TemplateData", false, &data_text);
      if (r.failed()) {
        return r.error;
      }
      if ((!name.empty()) + (!arn.empty()) + (tc != nullptr) != 1) {
        return BadRequest(
            "Content.Template must contain exactly one of TemplateName, TemplateArn or "
            "TemplateContent.");
      }
      TemplateParts parts;
      std::string template_name = name;
      if (tc == nullptr) {
        if (template_name.empty()) {
          const size_t slash = arn.rfind('/');
          template_name = slash == std::string::npos ? arn : arn.substr(slash + 1);
        }
        StatusOr<TemplateParts> found = templates == nullptr || *templates == nullptr
                                            ? StatusOr<TemplateParts>(NotFoundError("none"))
                                            : (*templates)(template_name);
        if (found.status().code() == StatusCode::kNotFound) {
          return NotFound("Template " + Truncated(template_name) + " does not exist.");
        }
        if (!found.ok()) {
          return ApiError{500, "InternalServiceErrorException",
                          "The request failed because of an internal error."};
        }
        parts = std::move(found).value();
      } else {
        const std::string tpath = "Content.Template.TemplateContent";
        r.String(*tc, "Subject", Join(tpath, "Subject"), false, &parts.subject);
        r.String(*tc, "Text", Join(tpath, "Text"), false, &parts.text);
        r.String(*tc, "Html", Join(tpath, "Html"), false, &parts.html);
        if (r.failed()) {
          return r.error;
        }
      }
      if (data_text.size() > limits.max_template_data_bytes) {
        return BadRequest("Invalid value for Content.Template.TemplateData: at most " +
                          std::to_string(limits.max_template_data_bytes) + " bytes are allowed.");
      }
      json data = json::object();
      if (has_data) {
        if (ParseJsonObject(data_text, &data)) {
          return BadRequest(
              "Invalid value for Content.Template.TemplateData: must be a JSON object.");
        }
      }
      TemplateParts rendered;
      std::string failure;
      RenderTemplateParts(parts, data, limits.max_message_bytes, &rendered, &failure);
      msg.subject = std::move(rendered.subject);
      msg.text = std::move(rendered.text);
      msg.html = std::move(rendered.html);
      if (!failure.empty()) {
        out->rendering_failure = sending::Submission::RenderingFailure{
            template_name.empty() ? "" : template_name, failure};
      }
    }
    if (HasCrLf(msg.subject)) {
      return BadRequest("Invalid value for " + base +
                        ".Subject: CR and LF are not allowed (header injection).");
    }
    if (auto e = Build(msg, limits, &message)) {
      return e;
    }
  }

  out->operation = "SendEmail";
  out->source = from_mb ? from_mb->Address() : std::string();
  out->recipients = std::move(recipients);
  out->message = std::move(message);
  out->configuration_set = std::move(config_set);
  out->tags = std::move(tags);
  out->simple_content = raw == nullptr;
  out->list_management = std::move(list_management);
  return std::nullopt;
}

}  // namespace herald::api
