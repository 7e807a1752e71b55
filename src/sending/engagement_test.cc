// Engagement tracking and subscription management: the send path (SendingServiceImpl with
// SetEngagement) and the endpoints' service (EngagementService), over MemStore, MemSpool,
// a fake clock and a recording event sink.
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>

#include "base/strings.h"
#include "mail/message.h"
#include "mail/tracking.h"
#include "sending/engagement_service.h"
#include "sending/sending_service_impl.h"
#include "sending/sent_index.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_spool.h"
#include "tests/fakes/mem_store.h"

namespace herald::sending {
namespace {

using nlohmann::json;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-key";
constexpr char kBase[] = "http://herald.test:8080";

class Sink final : public events::EventSink {
 public:
  Status Publish(const std::string& lines) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail) return UnavailableError("disk full");
    for (auto part : Split(lines, '\n')) {
      if (!part.empty()) events.push_back(json::parse(part));
    }
    return Status::Ok();
  }
  std::vector<json> Of(const std::string& type) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<json> out;
    for (const auto& e : events) {
      if (e["eventType"] == type) out.push_back(e);
    }
    return out;
  }
  std::vector<json> events;
  bool fail = false;

 private:
  std::mutex mu_;
};

const Accepted* AsAccepted(const SubmitResult& r) { return std::get_if<Accepted>(&r); }
const Rejection* AsRejected(const SubmitResult& r) { return std::get_if<Rejection>(&r); }

// Every token after `prefix` in `s`.
std::vector<std::string> TokensAfter(const std::string& s, const std::string& prefix) {
  std::vector<std::string> out;
  size_t pos = 0;
  while ((pos = s.find(prefix, pos)) != std::string::npos) {
    pos += prefix.size();
    size_t end = pos;
    while (end < s.size() &&
           (isalnum(static_cast<unsigned char>(s[end])) || s[end] == '-' || s[end] == '_')) {
      ++end;
    }
    out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

class EngagementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto acc = store_.CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(acc.ok());
    account_ = *acc;
    ASSERT_TRUE(store_.SetProduction(account_.id, true).ok());
    store::Identity id;
    id.account_id = account_.id;
    id.name = "example.com";
    id.type = store::IdentityType::kDomain;
    id.status = store::VerificationStatus::kSuccess;
    id.verification_token = "t";
    id.created = id.token_expires = clock_.Now();
    ASSERT_TRUE(store_.CreateIdentity(id).ok());
    store::ConfigurationSet set;
    set.account_id = account_.id;
    set.name = "news";
    ASSERT_TRUE(store_.CreateConfigurationSet(set).ok());

    config_.sandbox_max_send_rate = config_.production_max_send_rate = 1000;
    config_.hostname = "herald.test";
    service_ = std::make_unique<SendingServiceImpl>(config_, clock_, store_, spool_, indexing_);
    EngagementSettings es;
    es.key = kKey;
    es.base_url = [] { return std::string(kBase); };
    service_->SetEngagement(es);

    EngagementConfig ec;
    ec.keys = {kKey};
    ec.max_token_age_seconds = 86400;
    engagement_ = std::make_unique<EngagementService>(ec, clock_, store_, &index_, indexing_);
  }

  void AddDestination(std::vector<std::string> types) {
    store::EventDestinationRow d;
    d.account_id = account_.id;
    d.configuration_set = "news";
    d.name = "d" + std::to_string(++destinations_);
    d.enabled = true;
    d.matching_types = std::move(types);
    d.kind = "metrics";
    d.spec_json = "{}";
    d.created = d.updated = clock_.Now();
    ASSERT_TRUE(store_.CreateEventDestination(d, 0).ok());
  }

  void AddList(bool default_opt_in) {
    store::ContactListRow list;
    list.account_id = account_.id;
    list.name = "readers";
    list.topics = {{"weekly", "The Weekly", "", default_opt_in}, {"offers", "Offers", "", true}};
    list.created = list.updated = clock_.Now();
    ASSERT_TRUE(store_.CreateContactList(list).ok());
  }

  Submission Html(std::vector<std::string> rcpts, const std::string& html) {
    Submission s;
    s.principal.account_id = account_.id;
    s.principal.account_name = account_.name;
    s.principal.source_ip = "192.0.2.7";
    s.recipients = std::move(rcpts);
    s.configuration_set = "news";
    s.message =
        "From: sender@example.com\r\nTo: reader@example.org\r\nSubject: hi\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" +
        html + "\r\n";
    return s;
  }

  // The spooled body of an accepted message ("" when nothing was spooled).
  std::string Spooled(const std::string& id) {
    auto body = spool_.ReadBody(id);
    return body.ok() ? *body : "";
  }

  std::string Submit(const Submission& s) {
    SubmitResult r = service_->Submit(s);
    service_->WaitForEvents();
    const Accepted* a = AsAccepted(r);
    EXPECT_NE(a, nullptr) << (AsRejected(r) ? AsRejected(r)->message : "");
    return a ? a->message_id : "";
  }

  mail::TrackingToken Open(const std::string& sealed) {
    auto t = mail::OpenToken(sealed, kKey, UnixMillis(clock_.Now()) / 1000, -1);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : mail::TrackingToken();
  }

  int64_t Count(store::EngagementRow::Kind kind) {
    auto n = store_.CountEngagement(account_.id, "", kind, clock_.Now() - std::chrono::hours(1),
                                    clock_.Now() + std::chrono::hours(1));
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : -1;
  }

  FakeClock clock_;
  store::MemStore store_;
  spool::MemSpool spool_;
  Sink sink_;
  SentIndex index_{1 << 20};
  IndexingEventSink indexing_{sink_, index_};
  SendingConfig config_;
  store::Account account_;
  std::unique_ptr<SendingServiceImpl> service_;
  std::unique_ptr<EngagementService> engagement_;
  int destinations_ = 0;
};

const char kPage[] =
    "<html><body><a href=\"https://shop.example.com/a\" ses:tags=\"campaign:spring\">A</a>"
    "<a ses:no-track href=\"https://example.com/keep\">K</a></body></html>";

TEST_F(EngagementTest, NoDestinationForOpensOrClicksMeansNoTracking) {
  AddDestination({"SEND", "DELIVERY"});
  const std::string id = Submit(Html({"reader@example.org"}, kPage));
  const std::string body = Spooled(id);
  EXPECT_NE(body.find("href=\"https://shop.example.com/a\""), std::string::npos) << body;
  EXPECT_EQ(body.find("/t/"), std::string::npos) << body;
}

TEST_F(EngagementTest, OpensAndClicksAreTrackedThenRecorded) {
  AddDestination({"OPEN", "CLICK"});
  const std::string id = Submit(Html({"reader@example.org"}, kPage));
  const std::string body = Spooled(id);
  auto opens = TokensAfter(body, std::string(kBase) + "/t/o/");
  auto clicks = TokensAfter(body, std::string(kBase) + "/t/c/");
  ASSERT_EQ(opens.size(), 1u) << body;
  ASSERT_EQ(clicks.size(), 1u) << body;
  EXPECT_NE(body.find("href=\"https://example.com/keep\""), std::string::npos);
  mail::TrackingToken t = Open(clicks[0]);
  EXPECT_EQ(t.kind, mail::TrackingToken::kClick);
  EXPECT_EQ(t.message_id, id);
  EXPECT_EQ(t.recipient, "reader@example.org");
  EXPECT_EQ(t.configuration_set, "news");
  EXPECT_EQ(t.link, "https://shop.example.com/a");

  // Two opens: two events, one unique open.
  Visit v{"198.51.100.9", "Mozilla/5.0 (test)"};
  ASSERT_TRUE(engagement_->Open(opens[0], v).ok());
  clock_.Advance(std::chrono::seconds(30));
  ASSERT_TRUE(engagement_->Open(opens[0], v).ok());
  auto events = sink_.Of("Open");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["open"]["ipAddress"], "198.51.100.9");
  EXPECT_EQ(events[0]["open"]["userAgent"], "Mozilla/5.0 (test)");
  // The mail object is the Send event's.
  EXPECT_EQ(events[0]["mail"], sink_.Of("Send").at(0)["mail"]);
  EXPECT_NE(events[0]["eventId"], events[1]["eventId"]);
  EXPECT_EQ(Count(store::EngagementRow::kOpen), 1);

  StatusOr<std::string> link = engagement_->Click(clicks[0], v);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(*link, "https://shop.example.com/a");
  auto click = sink_.Of("Click");
  ASSERT_EQ(click.size(), 1u);
  EXPECT_EQ(click[0]["click"]["link"], "https://shop.example.com/a");
  EXPECT_EQ(click[0]["click"]["linkTags"], json::parse(R"({"campaign":["spring"]})"));
  EXPECT_EQ(Count(store::EngagementRow::kClick), 1);
}

TEST_F(EngagementTest, ForgedWrongKindAndExpiredTokensChangeNothing) {
  AddDestination({"OPEN", "CLICK"});
  const std::string body = Spooled(Submit(Html({"reader@example.org"}, kPage)));
  const std::string open = TokensAfter(body, std::string(kBase) + "/t/o/").at(0);
  const std::string click = TokensAfter(body, std::string(kBase) + "/t/c/").at(0);
  const size_t before = sink_.events.size();
  Visit v{"203.0.113.1", "x"};
  std::string forged = open;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(engagement_->Open(forged, v).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engagement_->Open("", v).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engagement_->Open(click, v).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engagement_->Click(open, v).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engagement_->ShowUnsubscribe(click).status().code(), StatusCode::kPermissionDenied);
  // Another key's token.
  mail::TrackingToken t = Open(open);
  EXPECT_EQ(engagement_->Open(mail::SealToken(t, "another-key-another-key-another"), v).code(),
            StatusCode::kPermissionDenied);
  // Replayed after its validity (a day here).
  clock_.Advance(std::chrono::hours(25));
  EXPECT_EQ(engagement_->Open(open, v).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(engagement_->Click(click, v).status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(sink_.events.size(), before);
  EXPECT_EQ(Count(store::EngagementRow::kOpen), 0);
}

TEST_F(EngagementTest, CustomRedirectDomainAndHttpsPolicy) {
  AddDestination({"OPEN", "CLICK"});
  auto set = store_.GetConfigurationSet(account_.id, "news");
  ASSERT_TRUE(set.ok());
  set->tracking_options_json =
      R"({"CustomRedirectDomain":"t.example.com","HttpsPolicy":"REQUIRE_OPEN_ONLY"})";
  ASSERT_TRUE(store_.UpdateConfigurationSet(*set).ok());
  std::string body = Spooled(Submit(Html({"reader@example.org"}, kPage)));
  EXPECT_EQ(TokensAfter(body, "https://t.example.com/t/o/").size(), 1u) << body;
  EXPECT_EQ(TokensAfter(body, "http://t.example.com/t/c/").size(), 1u) << body;
  set->tracking_options_json =
      R"({"CustomRedirectDomain":"t.example.com","HttpsPolicy":"REQUIRE"})";
  ASSERT_TRUE(store_.UpdateConfigurationSet(*set).ok());
  body = Spooled(Submit(Html({"reader@example.org"}, kPage)));
  EXPECT_EQ(TokensAfter(body, "https://t.example.com/t/c/").size(), 1u) << body;
  // Several recipients: one rewrite for all, tokens without a recipient.
  std::string id = Submit(Html({"a@example.org", "b@example.org"}, kPage));
  body = Spooled(id);
  EXPECT_EQ(Open(TokensAfter(body, "https://t.example.com/t/o/").at(0)).recipient, "");
}

TEST_F(EngagementTest, ListManagementErrors) {
  Submission s = Html({"reader@example.org"}, "<p>x</p>");
  s.list_management = Submission::ListManagement{"readers", ""};
  auto r = service_->Submit(s);
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kNotFound);
  EXPECT_EQ(AsRejected(r)->message, "List with name readers does not exist.");
  AddList(true);
  s.list_management->topic = "daily";
  r = service_->Submit(s);
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kNotFound);
  s.list_management->topic = "weekly";
  s.recipients = {"a@example.org", "b@example.org"};
  r = service_->Submit(s);
  ASSERT_NE(AsRejected(r), nullptr);
  EXPECT_EQ(AsRejected(r)->kind, RejectKind::kBadRequest);
  EXPECT_TRUE(spool_.Recover()->empty());
}

TEST_F(EngagementTest, ListManagementAddsHeadersFillsPlaceholdersAndHonoursOptOut) {
  AddList(/*default_opt_in=*/true);
  Submission s =
      Html({"Reader@Example.org"}, "<p>Bye: <a href=\"{{amazonSESUnsubscribeUrl}}\">leave</a></p>");
  s.message = "List-Unsubscribe: <mailto:evil@example.net>\r\n" + s.message;
  s.list_management = Submission::ListManagement{"readers", "weekly"};
  const std::string id = Submit(s);
  const std::string body = Spooled(id);
  auto parsed = mail::ParseMessage(body);
  ASSERT_TRUE(parsed.ok());
  const mail::HeaderField* lu = parsed->Find("List-Unsubscribe");
  ASSERT_NE(lu, nullptr);
  EXPECT_TRUE(lu->value.starts_with(std::string("<") + kBase + "/u/")) << lu->value;
  int count = 0;
  for (const auto& h : parsed->headers) count += EqualsIgnoreCase(h.name, "List-Unsubscribe");
  EXPECT_EQ(count, 1);  // the client's own field is gone
  const mail::HeaderField* post = parsed->Find("List-Unsubscribe-Post");
  ASSERT_NE(post, nullptr);
  EXPECT_EQ(post->value, "List-Unsubscribe=One-Click");
  const std::string token = TokensAfter(lu->value, std::string(kBase) + "/u/").at(0);
  EXPECT_NE(body.find("href=\"" + std::string(kBase) + "/u/" + token + "\""), std::string::npos)
      << body;
  mail::TrackingToken t = Open(token);
  EXPECT_EQ(t.kind, mail::TrackingToken::kUnsubscribe);
  EXPECT_EQ(t.link, "readers");
  EXPECT_EQ(t.message_id, id);
  // The unknown recipient became a contact with the topics' defaults.
  auto contact = store_.GetContact(account_.id, "readers", "reader@example.org");
  ASSERT_TRUE(contact.ok());
  EXPECT_FALSE(contact->unsubscribe_all);

  // The page, then the one-click POST: the topic is opted out, once.
  auto view = engagement_->ShowUnsubscribe(token);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->topic_display_name, "The Weekly");
  EXPECT_FALSE(view->topic_opted_out);
  Visit v{"198.51.100.3", "mail client"};
  auto done = engagement_->Unsubscribe(token, /*all=*/false, /*one_click=*/true, v);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->topic_opted_out);
  EXPECT_FALSE(done->unsubscribed_all);
  ASSERT_TRUE(engagement_->Unsubscribe(token, false, true, v).ok());
  auto subs = sink_.Of("Subscription");
  ASSERT_EQ(subs.size(), 1u);
  const json& d = subs[0]["subscription"];
  EXPECT_EQ(d["contactList"], "readers");
  EXPECT_EQ(d["source"], "UnsubscribeHeader");
  EXPECT_EQ(d["oldTopicPreferences"], json::parse(R"({"unsubscribeAll":false,
      "topicSubscriptionStatus":[{"topicName":"weekly","subscriptionStatus":"OptIn"},
                                 {"topicName":"offers","subscriptionStatus":"OptIn"}]})"));
  EXPECT_EQ(d["newTopicPreferences"]["topicSubscriptionStatus"][0]["subscriptionStatus"], "OptOut");
  EXPECT_EQ(subs[0]["mail"]["messageId"], id);

  // The next weekly mail is accepted and not sent; offers still go out.
  const size_t events_before = sink_.events.size();
  std::string again = Submit(s);
  EXPECT_FALSE(again.empty());
  EXPECT_EQ(Spooled(again), "");
  EXPECT_EQ(sink_.events.size(), events_before);
  s.list_management->topic = "offers";
  EXPECT_NE(Spooled(Submit(s)), "");

  // From the page, everything: the offers stop too.
  auto all = engagement_->Unsubscribe(token, /*all=*/true, /*one_click=*/false, v);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->unsubscribed_all);
  subs = sink_.Of("Subscription");
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[1]["subscription"]["source"], "UnsubscribeLink");
  EXPECT_EQ(subs[1]["subscription"]["newTopicPreferences"]["unsubscribeAll"], true);
  EXPECT_EQ(Spooled(Submit(s)), "");
}

TEST_F(EngagementTest, UnsubscribeOfADeletedContactRecreatesItOptedOut) {
  AddList(true);
  Submission s = Html({"reader@example.org"}, "<p>x</p>");
  s.list_management = Submission::ListManagement{"readers", ""};
  const std::string body = Spooled(Submit(s));
  auto parsed = mail::ParseMessage(body);
  ASSERT_TRUE(parsed.ok());
  const std::string token =
      TokensAfter(parsed->Find("List-Unsubscribe")->value, std::string(kBase) + "/u/").at(0);
  ASSERT_TRUE(store_.DeleteContact(account_.id, "readers", "reader@example.org").ok());
  ASSERT_TRUE(engagement_->Unsubscribe(token, false, true, Visit{}).ok());
  auto contact = store_.GetContact(account_.id, "readers", "reader@example.org");
  ASSERT_TRUE(contact.ok());
  EXPECT_TRUE(contact->unsubscribe_all);  // no topic named: everything
  // A list deleted since: the link is no longer valid.
  ASSERT_TRUE(store_.DeleteContactList(account_.id, "readers").ok());
  EXPECT_EQ(engagement_->Unsubscribe(token, false, true, Visit{}).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace herald::sending
