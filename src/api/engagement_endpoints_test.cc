#include "api/engagement_endpoints.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace herald::api {
namespace {

// Records calls; answers what it is told.
class FakeEngagement final : public sending::Engagement {
 public:
  Status Open(std::string_view token, const sending::Visit& visit) override {
    calls.push_back("open " + std::string(token) + " " + visit.ip + " " + visit.user_agent);
    return status;
  }
  StatusOr<std::string> Click(std::string_view token, const sending::Visit&) override {
    calls.push_back("click " + std::string(token));
    if (!status.ok()) return status;
    return link;
  }
  StatusOr<sending::UnsubscribeView> ShowUnsubscribe(std::string_view token) override {
    calls.push_back("show " + std::string(token));
    if (!status.ok()) return status;
    return view;
  }
  StatusOr<sending::UnsubscribeView> Unsubscribe(std::string_view token, bool all, bool one_click,
                                                 const sending::Visit&) override {
    calls.push_back("unsubscribe " + std::string(token) + (all ? " all" : "") +
                    (one_click ? " one-click" : ""));
    if (!status.ok()) return status;
    return view;
  }

  Status status = Status::Ok();
  std::string link = "https://example.com/a?b=1";
  sending::UnsubscribeView view{"<script>@example.org", "readers", "weekly",
                                "The <Weekly>",         false,     false};
  std::vector<std::string> calls;
};

HttpRequest Req(std::string method, std::string target, std::string body = "",
                std::string content_type = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.remote_addr = "192.0.2.5";
  r.headers = {{"user-agent", "UA/1"}};
  if (!content_type.empty()) r.headers.emplace_back("Content-Type", content_type);
  return r;
}

TEST(EngagementEndpointsTest, OpenPixel) {
  FakeEngagement fake;
  EngagementEndpoints ep(fake);
  HttpResponse r = ep.Handle(Req("GET", "/t/o/TOKEN?cache=1"));
  EXPECT_EQ(r.status, 200);
  ASSERT_NE(r.FindHeader("Content-Type"), nullptr);
  EXPECT_EQ(*r.FindHeader("Content-Type"), "image/gif");
  EXPECT_TRUE(r.body.starts_with("GIF89a"));
  EXPECT_EQ(fake.calls, std::vector<std::string>{"open TOKEN 192.0.2.5 UA/1"});

  fake.status = PermissionDeniedError("bad");
  EXPECT_EQ(ep.Handle(Req("GET", "/t/o/TOKEN")).status, 404);
  fake.status = UnavailableError("db down");
  EXPECT_EQ(ep.Handle(Req("GET", "/t/o/TOKEN")).status, 503);
}

TEST(EngagementEndpointsTest, ClickRedirectsOnlyToSafeLinks) {
  FakeEngagement fake;
  EngagementEndpoints ep(fake);
  HttpResponse r = ep.Handle(Req("GET", "/t/c/TOKEN"));
  EXPECT_EQ(r.status, 302);
  ASSERT_NE(r.FindHeader("Location"), nullptr);
  EXPECT_EQ(*r.FindHeader("Location"), "https://example.com/a?b=1");
  for (const char* bad : {"https://example.com/\r\nSet-Cookie: x=1", "javascript:alert(1)",
                          "https://example.com/a b", ""}) {
    fake.link = bad;
    EXPECT_EQ(ep.Handle(Req("GET", "/t/c/TOKEN")).status, 404) << bad;
  }
}

TEST(EngagementEndpointsTest, RoutingAndMethods) {
  FakeEngagement fake;
  EngagementEndpoints ep(fake);
  EXPECT_EQ(ep.Handle(Req("GET", "/t/o/")).status, 404);
  EXPECT_EQ(ep.Handle(Req("GET", "/t/o/A/B")).status, 404);
  EXPECT_EQ(ep.Handle(Req("GET", "/t/x/A")).status, 404);
  EXPECT_EQ(ep.Handle(Req("POST", "/t/o/A")).status, 405);
  EXPECT_EQ(ep.Handle(Req("DELETE", "/u/A")).status, 405);
  EXPECT_TRUE(fake.calls.empty());
}

TEST(EngagementEndpointsTest, UnsubscribePageEscapesWhatItShows) {
  FakeEngagement fake;
  EngagementEndpoints ep(fake);
  HttpResponse r = ep.Handle(Req("GET", "/u/TOKEN"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("<script>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("&lt;script&gt;@example.org"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("The &lt;Weekly&gt;"), std::string::npos);
  EXPECT_NE(r.body.find("action=\"/u/TOKEN\""), std::string::npos);
  fake.status = NotFoundError("list gone");
  EXPECT_EQ(ep.Handle(Req("GET", "/u/TOKEN")).status, 404);
}

TEST(EngagementEndpointsTest, OneClickAndFormChoices) {
  FakeEngagement fake;
  EngagementEndpoints ep(fake);
  EXPECT_EQ(ep.Handle(Req("POST", "/u/T", "List-Unsubscribe=One-Click",
                          "application/x-www-form-urlencoded"))
                .status,
            200);
  EXPECT_EQ(ep.Handle(Req("POST", "/u/T", "a=b&List-Unsubscribe%3DOne-Click",
                          "application/x-www-form-urlencoded"))
                .status,
            200);
  const std::string multipart =
      "--xyz\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
      "One-Click\r\n--xyz--\r\n";
  EXPECT_EQ(ep.Handle(Req("POST", "/u/T", multipart, "multipart/form-data; boundary=xyz")).status,
            200);
  EXPECT_EQ(ep.Handle(Req("POST", "/u/T", "choice=all")).status, 200);
  EXPECT_EQ(ep.Handle(Req("POST", "/u/T", "choice=topic")).status, 200);
  EXPECT_EQ(fake.calls, (std::vector<std::string>{
                            "unsubscribe T one-click", "unsubscribe T one-click",
                            "unsubscribe T one-click", "unsubscribe T all", "unsubscribe T"}));
  fake.calls.clear();
  // Neither: 400 without a call.
  for (const char* body : {"", "List-Unsubscribe=Two-Clicks", "choice=everything", "One-Click"}) {
    EXPECT_EQ(ep.Handle(Req("POST", "/u/T", body)).status, 400) << body;
  }
  EXPECT_TRUE(fake.calls.empty());
  fake.status = UnavailableError("db down");
  HttpResponse r = ep.Handle(Req("POST", "/u/T", "List-Unsubscribe=One-Click"));
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.FindHeader("Retry-After"), nullptr);
}

}  // namespace
}  // namespace herald::api
