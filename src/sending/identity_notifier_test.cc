// Tests of IdentityNotifier over MemStore: which identity governs, the notification shape,
// headers on request, feedback forwarding, and what a failure does to the batch.
#include "sending/identity_notifier.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/strings.h"
#include "mail/message.h"
#include "sending/ses_events.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_store.h"

namespace herald::sending {
namespace {

using nlohmann::json;

class Sink final : public events::EventSink {
 public:
  Status Publish(const std::string& lines) override {
    ++calls;
    for (auto part : Split(lines, '\n')) {
      if (part.empty()) continue;
      json j = json::parse(part, nullptr, false);
      if (j.is_object()) {
        published.push_back(std::move(j));
      } else {
        unreadable.emplace_back(part);
      }
    }
    return Status::Ok();
  }
  std::vector<json> Notifications() const {
    std::vector<json> out;
    for (const json& j : published) {
      if (j.contains("notificationType")) out.push_back(j);
    }
    return out;
  }
  int calls = 0;
  std::vector<json> published;
  std::vector<std::string> unreadable;
};

class Forwarder final : public FeedbackForwarder {
 public:
  Status Forward(const json& event, const std::string& to) override {
    if (!fail.ok()) return fail;
    forwarded.emplace_back(event.value("eventType", ""), to);
    return Status::Ok();
  }
  Status fail;
  std::vector<std::pair<std::string, std::string>> forwarded;
};

class IdentityNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto acc = store_.CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(acc.ok());
    account_ = acc->id;
    ASSERT_TRUE(store_.CreateIdentity(Identity("example.com", store::IdentityType::kDomain)).ok());
  }

  store::Identity Identity(const std::string& name, store::IdentityType type) {
    store::Identity id;
    id.account_id = account_;
    id.name = name;
    id.type = type;
    id.status = store::VerificationStatus::kSuccess;
    id.verification_token = "token-" + name;
    id.created = id.token_expires = clock_.Now();
    return id;
  }

  // Changes the notification settings of an existing identity.
  void Configure(const std::string& name, const std::function<void(store::Identity&)>& change) {
    StatusOr<store::Identity> id = store_.GetIdentity(account_, name);
    ASSERT_TRUE(id.ok()) << name;
    change(*id);
    ASSERT_TRUE(store_.SetIdentityNotifications(*id).ok());
  }

  // An event line of `type` for a message from `source`, as the sending path builds it.
  std::string Event(const std::string& type, const std::string& source = "sender@example.com",
                    const std::string& event_id = "") {
    MailInfo info;
    info.timestamp = clock_.Now();
    info.message_id = "0100018c-test";
    info.source = source;
    info.source_arn = "arn:aws:ses:us-east-1:" + store::AccountNumber(account_) + ":identity/x";
    info.sending_account_id = store::AccountNumber(account_);
    info.destination = {"rcpt@dest.example"};
    info.tags = {{"ses:source-ip", "192.0.2.7"}, {"ses:caller-identity", "tenant"}};
    mail::ParsedMessage message;
    message.headers.push_back({"From", "From: " + source + "\r\n", source});
    message.headers.push_back({"Subject", "Subject: Hello\r\n", "Hello"});
    json mail = BuildMailObject(info, message);
    json detail;
    std::string key;
    if (type == "Bounce") {
      key = "bounce";
      detail = {{"bounceType", "Permanent"},
                {"bounceSubType", "General"},
                {"bouncedRecipients", {{{"emailAddress", "rcpt@dest.example"}}}}};
    } else if (type == "Complaint") {
      key = "complaint";
      detail = {{"complainedRecipients", {{{"emailAddress", "rcpt@dest.example"}}}}};
    } else if (type == "Delivery") {
      key = "delivery";
      detail = {{"recipients", {"rcpt@dest.example"}}, {"smtpResponse", "250 ok"}};
    } else {
      key = "send";
      detail = json::object();
    }
    json line = json::parse(EventLine(type, mail, key, detail));
    if (!event_id.empty()) line["eventId"] = event_id;
    return line.dump();
  }

  FakeClock clock_;
  store::MemStore store_;
  Sink sink_;
  Forwarder forwarder_;
  IdentityNotifier notifier_{sink_, store_, &forwarder_};
  int64_t account_ = 0;
};

TEST_F(IdentityNotifierTest, DefaultsForwardBouncesAndComplaintsAndPublishNoNotification) {
  const std::string batch =
      Event("Bounce") + "\n" + Event("Complaint") + "\n" + Event("Delivery") + "\n" + Event("Send");
  ASSERT_TRUE(notifier_.Publish(batch).ok());
  EXPECT_EQ(sink_.published.size(), 4u);
  EXPECT_TRUE(sink_.Notifications().empty());
  ASSERT_EQ(forwarder_.forwarded.size(), 2u);
  EXPECT_EQ(forwarder_.forwarded[0],
            std::make_pair(std::string("Bounce"), std::string("sender@example.com")));
  EXPECT_EQ(forwarder_.forwarded[1].first, "Complaint");
}

TEST_F(IdentityNotifierTest, DomainTopicGivesTheNotificationShape) {
  const std::string topic = "arn:aws:sns:us-east-1:" + store::AccountNumber(account_) + ":bounces";
  Configure("example.com", [&](store::Identity& id) { id.bounce_topic = topic; });
  ASSERT_TRUE(notifier_.Publish(Event("Bounce", "sender@example.com", "ev-1")).ok());
  ASSERT_EQ(sink_.calls, 1);  // the event and its notification land together
  ASSERT_EQ(sink_.published.size(), 2u);
  EXPECT_EQ(sink_.published[0]["eventType"], "Bounce");
  const json& n = sink_.published[1];
  EXPECT_EQ(n["notificationType"], "Bounce");
  EXPECT_EQ(n["heraldTopicArn"], topic);
  EXPECT_EQ(n["bounce"], sink_.published[0]["bounce"]);
  EXPECT_FALSE(n.contains("eventType"));
  const json& mail = n["mail"];
  EXPECT_EQ(mail["source"], "sender@example.com");
  EXPECT_EQ(mail["sourceIp"], "192.0.2.7");
  EXPECT_EQ(mail["callerIdentity"], "tenant");
  EXPECT_EQ(mail["sendingAccountId"], store::AccountNumber(account_));
  EXPECT_EQ(mail["destination"], json::array({"rcpt@dest.example"}));
  EXPECT_FALSE(mail.contains("tags"));
  EXPECT_FALSE(mail.contains("headers"));
  EXPECT_FALSE(mail.contains("commonHeaders"));
  EXPECT_FALSE(mail.contains("headersTruncated"));

  // The same event again (a retried batch) gives the same notification id.
  const std::string first_id = n["eventId"];
  ASSERT_TRUE(notifier_.Publish(Event("Bounce", "sender@example.com", "ev-1")).ok());
  EXPECT_EQ(sink_.published.back()["eventId"], first_id);
  ASSERT_TRUE(notifier_.Publish(Event("Bounce", "sender@example.com", "ev-2")).ok());
  EXPECT_NE(sink_.published.back()["eventId"], first_id);

  // Other types have no topic: no notification.
  ASSERT_TRUE(notifier_.Publish(Event("Delivery") + "\n" + Event("Complaint")).ok());
  EXPECT_EQ(sink_.Notifications().size(), 3u);
}

TEST_F(IdentityNotifierTest, HeadersOnlyWhenTheTypeIncludesThem) {
  Configure("example.com", [](store::Identity& id) {
    id.delivery_topic = "arn:aws:sns:us-east-1:100000000001:deliveries";
    id.complaint_topic = "arn:aws:sns:us-east-1:100000000001:complaints";
    id.delivery_headers = true;
  });
  ASSERT_TRUE(notifier_.Publish(Event("Delivery") + "\n" + Event("Complaint") + "\n").ok());
  std::vector<json> n = sink_.Notifications();
  ASSERT_EQ(n.size(), 2u);
  EXPECT_EQ(n[0]["notificationType"], "Delivery");
  EXPECT_EQ(n[0]["mail"]["headers"][1]["value"], "Hello");
  EXPECT_EQ(n[0]["mail"]["commonHeaders"]["subject"], "Hello");
  EXPECT_EQ(n[0]["mail"]["headersTruncated"], false);
  EXPECT_EQ(n[1]["notificationType"], "Complaint");
  EXPECT_FALSE(n[1]["mail"].contains("headers"));
}

TEST_F(IdentityNotifierTest, AnAddressIdentityOverridesItsDomain) {
  Configure("example.com", [](store::Identity& id) {
    id.bounce_topic = "arn:aws:sns:us-east-1:100000000001:domain";
  });
  ASSERT_TRUE(
      store_.CreateIdentity(Identity("alerts@example.com", store::IdentityType::kEmailAddress))
          .ok());
  // The address identity has no topic and forwarding off: neither happens for its mail,
  // while other addresses of the domain follow the domain.
  Configure("alerts@example.com", [](store::Identity& id) { id.feedback_forwarding = false; });
  ASSERT_TRUE(notifier_.Publish(Event("Bounce", "Alerts@Example.com")).ok());
  EXPECT_TRUE(sink_.Notifications().empty());
  EXPECT_TRUE(forwarder_.forwarded.empty());

  ASSERT_TRUE(notifier_.Publish(Event("Bounce", "other@sub.example.com")).ok());
  ASSERT_EQ(sink_.Notifications().size(), 1u);  // the parent domain covers the subdomain
  EXPECT_EQ(sink_.Notifications()[0]["heraldTopicArn"],
            "arn:aws:sns:us-east-1:100000000001:domain");
  EXPECT_EQ(forwarder_.forwarded.size(), 1u);
}

TEST_F(IdentityNotifierTest, ForwardingGoesToTheAddressTheSendNamed) {
  json event = json::parse(Event("Bounce"));
  event["mail"]["feedbackForwardingEmailAddress"] = "bounces@example.com";
  json complaint = json::parse(Event("Complaint"));
  complaint["mail"]["feedbackForwardingEmailAddress"] = 7;  // not a string: the sender
  ASSERT_TRUE(notifier_.Publish(event.dump() + "\n" + complaint.dump()).ok());
  ASSERT_EQ(forwarder_.forwarded.size(), 2u);
  EXPECT_EQ(forwarder_.forwarded[0].second, "bounces@example.com");
  EXPECT_EQ(forwarder_.forwarded[1].second, "sender@example.com");
}

TEST_F(IdentityNotifierTest, ForwardingOffMeansNoMail) {
  Configure("example.com", [](store::Identity& id) {
    id.bounce_topic = "arn:aws:sns:us-east-1:100000000001:b";
    id.complaint_topic = "arn:aws:sns:us-east-1:100000000001:c";
    id.feedback_forwarding = false;
  });
  ASSERT_TRUE(notifier_.Publish(Event("Bounce") + "\n" + Event("Complaint")).ok());
  EXPECT_TRUE(forwarder_.forwarded.empty());
  EXPECT_EQ(sink_.Notifications().size(), 2u);
}

TEST_F(IdentityNotifierTest, ATransientForwardingFailureFailsTheBatch) {
  forwarder_.fail = UnavailableError("spool full");
  Status st = notifier_.Publish(Event("Bounce"));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable);
  EXPECT_EQ(sink_.calls, 0);  // nothing published: the caller retries the whole batch

  // A message that cannot be forwarded at all does not hold the events back.
  forwarder_.fail = InvalidArgumentError("no usable address");
  ASSERT_TRUE(notifier_.Publish(Event("Bounce")).ok());
  EXPECT_EQ(sink_.published.size(), 1u);
}

TEST_F(IdentityNotifierTest, OtherLinesPassUntouched) {
  const std::string batch = std::string("{\"eventType\":\"Bounce\",broken\n") + Event("Open") +
                            "\n" + Event("Bounce", "x@unknown.example");
  ASSERT_TRUE(notifier_.Publish(batch).ok());
  // The broken line reaches the sink as it was.
  EXPECT_EQ(sink_.calls, 1);
  ASSERT_EQ(sink_.unreadable.size(), 1u);
  EXPECT_EQ(sink_.unreadable[0], "{\"eventType\":\"Bounce\",broken");
  EXPECT_EQ(sink_.published.size(), 2u);
  EXPECT_TRUE(sink_.Notifications().empty());
  // No identity covers unknown.example: SES's defaults (forwarding on) apply.
  EXPECT_EQ(forwarder_.forwarded.size(), 1u);
}

TEST(NotificationForTest, NotANotifyingEvent) {
  EXPECT_TRUE(
      NotificationFor(json{{"eventType", "Send"}, {"mail", json::object()}}, true).is_null());
  EXPECT_TRUE(NotificationFor(json{{"eventType", "Bounce"}, {"mail", json::object()}}, true)
                  .is_null());  // no bounce object
  EXPECT_TRUE(NotificationFor(json::array(), true).is_null());
}

}  // namespace
}  // namespace herald::sending
