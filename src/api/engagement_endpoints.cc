#include "api/engagement_endpoints.h"

#include <string>
#include <string_view>

#include "api/api_common.h"
#include "base/log.h"
#include "base/strings.h"

namespace herald::api {
namespace {

// A 1x1 transparent GIF89a.
constexpr unsigned char kPixel[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xFF, 0xFF, 0xFF, 0x21, 0xF9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2C, 0x00, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B};

constexpr size_t kMaxUserAgent = 1024;

const std::string* RequestHeader(const HttpRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

sending::Visit VisitOf(const HttpRequest& r) {
  sending::Visit v;
  v.ip = r.remote_addr;
  if (const std::string* ua = RequestHeader(r, "User-Agent")) {
    v.user_agent = ua->substr(0, kMaxUserAgent);
  }
  return v;
}

HttpResponse Invalid() {
  return HtmlPage(404, "Link not valid", "This link is not valid or has expired.");
}

HttpResponse Unavailable() {
  HttpResponse r = HtmlPage(503, "Try again later",
                            "The request could not be completed. Please try again later.");
  r.headers.emplace_back("Retry-After", "60");
  return r;
}

// The response for a failed call: 404 for refused tokens and missing rows, else 503.
HttpResponse Failure(const Status& st, std::string_view what) {
  if (st.code() == StatusCode::kPermissionDenied || st.code() == StatusCode::kNotFound) {
    return Invalid();
  }
  LogError("engagement endpoint failed",
           {{"endpoint", std::string(what)}, {"error", st.ToString()}});
  return Unavailable();
}

// A Location value must be one line of visible ASCII (the link came from a sealed token,
// but a header is no place to trust that).
bool IsSafeLocation(std::string_view url) {
  if (url.empty() || url.size() > 8192) return false;
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) return false;
  }
  return StartsWithIgnoreCase(url, "http://") || StartsWithIgnoreCase(url, "https://");
}

// Whether a form body asks for RFC 8058's one-click unsubscribe: the urlencoded
// "List-Unsubscribe=One-Click" pair, or a multipart field of that name and value.
bool IsOneClick(const HttpRequest& r) {
  const std::string_view body = r.body;
  for (std::string_view pair : Split(body, '&')) {
    std::string decoded;
    if (PercentDecode(TrimWhitespace(pair), &decoded, /*plus_is_space=*/true) &&
        decoded == "List-Unsubscribe=One-Click") {
      return true;
    }
  }
  const std::string* ct = RequestHeader(r, "Content-Type");
  if (ct != nullptr && StartsWithIgnoreCase(*ct, "multipart/form-data")) {
    const size_t name = body.find("name=\"List-Unsubscribe\"");
    if (name == std::string_view::npos) return false;
    const size_t blank = body.find("\r\n\r\n", name);
    return blank != std::string_view::npos && body.substr(blank + 4).starts_with("One-Click");
  }
  return false;
}

// The page form's choice: "all", "topic", or "" when the body has none.
std::string FormChoice(std::string_view body) {
  for (std::string_view pair : Split(body, '&')) {
    std::string decoded;
    if (!PercentDecode(TrimWhitespace(pair), &decoded, /*plus_is_space=*/true)) continue;
    if (decoded == "choice=all") return "all";
    if (decoded == "choice=topic") return "topic";
  }
  return "";
}

HttpResponse UnsubscribePage(const sending::UnsubscribeView& v, std::string_view action) {
  HttpResponse r;
  r.headers.emplace_back("Content-Type", "text/html; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  std::string what = v.topic.empty()
                         ? "all mail from the list " + v.contact_list
                         : "\"" + v.topic_display_name + "\" from the list " + v.contact_list;
  std::string state;
  if (v.unsubscribed_all) {
    state = "This address is unsubscribed from every topic of this list.";
  } else if (v.topic_opted_out) {
    state = "This address no longer receives this topic.";
  }
  r.body =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Unsubscribe</title>"
      "</head>\n<body><h1>Unsubscribe</h1>\n<p>" +
      HtmlEscape(v.email) + ": " + HtmlEscape(what) + "</p>\n";
  if (!state.empty()) r.body += "<p>" + HtmlEscape(state) + "</p>\n";
  r.body += "<form method=\"post\" action=\"" + HtmlEscape(action) + "\">\n";
  if (!v.topic.empty()) {
    r.body += "<button type=\"submit\" name=\"choice\" value=\"topic\">Unsubscribe from " +
              HtmlEscape(v.topic_display_name) + "</button>\n";
  }
  r.body +=
      "<button type=\"submit\" name=\"choice\" value=\"all\">Unsubscribe from everything</button>\n"
      "</form></body></html>\n";
  return r;
}

}  // namespace

HttpResponse EngagementEndpoints::Handle(const HttpRequest& request) {
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  std::string_view token;
  enum { kOpen, kClick, kUnsubscribe } kind;
  if (path.starts_with("/t/o/")) {
    kind = kOpen;
    token = path.substr(5);
  } else if (path.starts_with("/t/c/")) {
    kind = kClick;
    token = path.substr(5);
  } else if (path.starts_with("/u/")) {
    kind = kUnsubscribe;
    token = path.substr(3);
  } else {
    return Invalid();
  }
  if (token.empty() || token.find('/') != std::string_view::npos) return Invalid();
  if (!(get || (post && kind == kUnsubscribe))) {
    HttpResponse r = HtmlPage(405, "Method not allowed", "This link only answers GET.");
    r.headers.emplace_back("Allow", kind == kUnsubscribe ? "GET, HEAD, POST" : "GET, HEAD");
    return r;
  }
  const sending::Visit visit = VisitOf(request);

  switch (kind) {
    case kOpen: {
      Status st = engagement_.Open(token, visit);
      if (!st.ok()) return Failure(st, "open");
      HttpResponse r;
      r.headers.emplace_back("Content-Type", "image/gif");
      r.headers.emplace_back("Cache-Control", "no-cache, no-store, must-revalidate");
      r.body.assign(reinterpret_cast<const char*>(kPixel), sizeof kPixel);
      return r;
    }
    case kClick: {
      StatusOr<std::string> link = engagement_.Click(token, visit);
      if (!link.ok()) return Failure(link.status(), "click");
      if (!IsSafeLocation(*link)) return Invalid();
      HttpResponse r;
      r.status = 302;
      r.headers.emplace_back("Location", *link);
      r.headers.emplace_back("Cache-Control", "no-store");
      return r;
    }
    case kUnsubscribe:
      break;
  }
  const std::string action(path);
  if (get) {
    StatusOr<sending::UnsubscribeView> view = engagement_.ShowUnsubscribe(token);
    if (!view.ok()) return Failure(view.status(), "unsubscribe page");
    return UnsubscribePage(*view, action);
  }
  const bool one_click = IsOneClick(request);
  const std::string choice = one_click ? "" : FormChoice(request.body);
  if (!one_click && choice.empty()) {
    return HtmlPage(400, "Bad request",
                    "Send List-Unsubscribe=One-Click, or choose on the unsubscribe page.");
  }
  StatusOr<sending::UnsubscribeView> view =
      engagement_.Unsubscribe(token, choice == "all", one_click, visit);
  if (!view.ok()) return Failure(view.status(), "unsubscribe");
  const std::string what = view->unsubscribed_all || view->topic.empty()
                               ? "every topic of " + view->contact_list
                               : "\"" + view->topic_display_name + "\" of " + view->contact_list;
  return HtmlPage(200, "Unsubscribed", view->email + " is unsubscribed from " + what + ".");
}

}  // namespace herald::api
