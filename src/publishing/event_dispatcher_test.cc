// EventDispatcher against a real events.jsonl in a temp dir, the in-memory store, a scripted
// HTTP poster and a fake clock: no sockets, no sleeping.
#include "publishing/event_dispatcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "events/webhook.h"
#include "store/store.h"
#include "store/store_test_util.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_http_poster.h"
#include "tests/fakes/mem_store.h"

namespace herald::publishing {
namespace {

using nlohmann::json;

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = store_.CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(a.ok());
    account_ = a->id;
    store::ConfigurationSet set;
    set.account_id = account_;
    set.name = "news";
    set.created = clock_.Now();
    ASSERT_TRUE(store_.CreateConfigurationSet(set).ok());
    auto signer = events::SnsSigner::LoadOrCreate(dir_.path());
    ASSERT_TRUE(signer.ok()) << signer.status().ToString();
    signer_ = std::move(signer).value();
    config_.events_path = dir_.File("events.jsonl");
    config_.public_url = "http://herald.test:8080";
    config_.min_backoff = std::chrono::milliseconds(1000);
    config_.max_backoff = std::chrono::milliseconds(8000);
    std::ofstream(config_.events_path).close();
    topic_id_ = *store_.CreateTopic(store::Topic{0, account_, "events", clock_.Now()});
  }

  std::unique_ptr<EventDispatcher> Make() {
    return std::make_unique<EventDispatcher>(config_, store_, clock_, http_, *signer_, nullptr,
                                             nullptr);
  }

  // Appends an event line; `partial` leaves its newline off.
  std::string Append(const std::string& type, const std::string& set, int64_t account,
                     bool partial = false) {
    const std::string id = "ev-" + std::to_string(++seq_);
    json line = {{"eventType", type},
                 {"eventId", id},
                 {"mail",
                  {{"messageId", "m" + std::to_string(seq_)},
                   {"sendingAccountId", store::AccountNumber(account)},
                   {"tags", {{"ses:configuration-set", {set}}}}}}};
    std::ofstream f(config_.events_path, std::ios::app);
    f << line.dump() << (partial ? "" : "\n");
    return id;
  }
  void FinishLine() { std::ofstream(config_.events_path, std::ios::app) << "\n"; }

  int64_t AddDestination(std::vector<std::string> types) {
    store::EventDestinationRow d;
    d.account_id = account_;
    d.configuration_set = "news";
    d.name = "to-topic";
    d.enabled = true;
    d.matching_types = std::move(types);
    d.kind = "sns";
    d.spec_json = json{{"TopicArn", TopicArn("us-east-1", account_, "events")}}.dump();
    d.created = d.updated = clock_.Now();
    return *store_.CreateEventDestination(d, 0);
  }
  int64_t Subscribe(const std::string& url, bool webhook, const std::string& token) {
    store::TopicSubscription s;
    s.topic_id = topic_id_;
    s.endpoint = url;
    s.token = token;
    s.raw = webhook;
    s.confirmed = webhook;
    s.created = clock_.Now();
    return *store_.CreateSubscription(s);
  }
  std::vector<std::string> PostedEventIds(size_t from = 0) {
    std::vector<std::string> out;
    auto calls = http_.requests();
    for (size_t i = from; i < calls.size(); ++i) {
      json body = json::parse(calls[i].request.body, nullptr, false);
      if (body.contains("Type")) body = json::parse(body["Message"].get<std::string>());
      out.push_back(body.value("eventId", "?"));
    }
    return out;
  }

  store::TempDir dir_;
  FakeClock clock_;
  store::MemStore store_;
  events::FakeHttpPoster http_;
  std::unique_ptr<events::SnsSigner> signer_;
  DispatcherConfig config_;
  int64_t account_ = 0;
  int64_t topic_id_ = 0;
  int seq_ = 0;
};

TEST_F(DispatcherTest, WebhookGetsOnlyMatchingEventsSignedWithItsToken) {
  Subscribe("http://hooks.test/in", true, "secret-token");
  AddDestination({"SEND", "DELIVERY"});
  auto d = Make();
  ASSERT_EQ(*d->RunOnce(), 0u);  // a new target starts at the log's end
  const std::string send = Append("Send", "news", account_);
  Append("Bounce", "news", account_);            // type not matched
  Append("Send", "other", account_);             // another set
  Append("Send", "news", account_ + 1);          // another account
  Append("ReputationNotice", "news", account_);  // not an SES event
  const std::string delivery = Append("Delivery", "news", account_);
  ASSERT_EQ(*d->RunOnce(), 2u);
  EXPECT_EQ(PostedEventIds(), (std::vector<std::string>{send, delivery}));
  for (const auto& call : http_.requests()) {
    std::string sig;
    for (const auto& [name, value] : call.request.headers) {
      if (name == events::kWebhookSignatureHeaderName) sig = value;
    }
    const int64_t now = UnixMillis(clock_.Now()) / 1000;
    EXPECT_TRUE(
        events::VerifyWebhookSignature("secret-token", sig, call.request.body, now, 300).ok());
    EXPECT_FALSE(events::VerifyWebhookSignature("other", sig, call.request.body, now, 300).ok());
  }
  ASSERT_EQ(*d->RunOnce(), 0u);  // nothing twice
  EXPECT_EQ(http_.request_count(), 2u);
}

TEST_F(DispatcherTest, DownReceiverBacksOffAndLosesNothing) {
  Subscribe("http://hooks.test/in", true, "tok");
  AddDestination({"SEND"});
  auto d = Make();
  ASSERT_TRUE(d->RunOnce().ok());
  const std::string a = Append("Send", "news", account_);
  const std::string b = Append("Send", "news", account_);
  http_.Reply(200).Fail(UnavailableError("connection refused"));
  ASSERT_EQ(*d->RunOnce(), 1u);  // a arrives, b fails
  EXPECT_EQ(PostedEventIds(), (std::vector<std::string>{a, b}));
  ASSERT_EQ(*d->RunOnce(), 0u);  // backing off: not even tried
  EXPECT_EQ(http_.request_count(), 2u);
  clock_.Advance(std::chrono::milliseconds(999));
  ASSERT_EQ(*d->RunOnce(), 0u);
  EXPECT_EQ(http_.request_count(), 2u);
  http_.Reply(503);
  clock_.Advance(std::chrono::milliseconds(1));
  ASSERT_EQ(*d->RunOnce(), 0u);  // tried, refused: the back-off doubles
  EXPECT_EQ(http_.request_count(), 3u);
  clock_.Advance(std::chrono::milliseconds(1999));
  ASSERT_EQ(*d->RunOnce(), 0u);
  EXPECT_EQ(http_.request_count(), 3u);
  clock_.Advance(std::chrono::milliseconds(1));
  ASSERT_EQ(*d->RunOnce(), 1u);
  EXPECT_EQ(PostedEventIds(), (std::vector<std::string>{a, b, b, b}));
  EXPECT_EQ(d->Stats().failures, 2u);
  EXPECT_EQ(d->Stats().delivered, 2u);
}

TEST_F(DispatcherTest, ARestartResumesAtTheSavedCursor) {
  Subscribe("http://hooks.test/in", true, "tok");
  AddDestination({"SEND"});
  {
    auto d = Make();
    ASSERT_TRUE(d->RunOnce().ok());
    Append("Send", "news", account_);
    ASSERT_EQ(*d->RunOnce(), 1u);
  }
  // Published while no dispatcher ran (herald down or restarting).
  const std::string later = Append("Send", "news", account_);
  auto d = Make();
  ASSERT_EQ(*d->RunOnce(), 1u);
  EXPECT_EQ(PostedEventIds(1), (std::vector<std::string>{later}));
}

TEST_F(DispatcherTest, PartialLastLineWaitsForItsEnd) {
  Subscribe("http://hooks.test/in", true, "tok");
  AddDestination({"SEND"});
  auto d = Make();
  ASSERT_TRUE(d->RunOnce().ok());
  const std::string id = Append("Send", "news", account_, /*partial=*/true);
  ASSERT_EQ(*d->RunOnce(), 0u);
  FinishLine();
  ASSERT_EQ(*d->RunOnce(), 1u);
  EXPECT_EQ(PostedEventIds(), (std::vector<std::string>{id}));
}

TEST_F(DispatcherTest, SnsSubscriptionIsConfirmedThenGetsSignedEnvelopes) {
  const int64_t sub = Subscribe("http://sns-sub.test/endpoint", false, "confirm-token-1");
  AddDestination({"SEND"});
  auto d = Make();
  ASSERT_TRUE(d->RunOnce().ok());
  ASSERT_EQ(http_.request_count(), 1u);
  const auto confirm = http_.requests()[0].request;
  EXPECT_EQ(confirm.url, "http://sns-sub.test/endpoint");
  EXPECT_EQ(confirm.content_type, events::kSnsContentType);
  json c = json::parse(confirm.body);
  EXPECT_EQ(c["Type"], "SubscriptionConfirmation");
  EXPECT_EQ(c["Token"], "confirm-token-1");
  const std::string topic_arn = TopicArn("us-east-1", account_, "events");
  EXPECT_EQ(c["TopicArn"], topic_arn);
  EXPECT_NE(c["SubscribeURL"].get<std::string>().find("Token=confirm-token-1"), std::string::npos);
  EXPECT_TRUE(events::VerifyEnvelope(confirm.body, signer_->CertPem()).ok());
  // Unconfirmed: no events, and the confirmation is not repeated at once.
  Append("Send", "news", account_);
  ASSERT_EQ(*d->RunOnce(), 0u);
  EXPECT_EQ(http_.request_count(), 1u);

  // Confirmed now: the Send above, published before, never reaches it.
  ASSERT_TRUE(
      store_.ConfirmSubscription(sub, std::filesystem::file_size(config_.events_path)).ok());
  ASSERT_EQ(*d->RunOnce(), 0u);
  const std::string id = Append("Send", "news", account_);
  ASSERT_EQ(*d->RunOnce(), 1u);
  const auto note = http_.requests().back().request;
  json n = json::parse(note.body);
  EXPECT_EQ(n["Type"], "Notification");
  EXPECT_EQ(n["MessageId"], id);
  EXPECT_EQ(n["TopicArn"], topic_arn);
  EXPECT_EQ(json::parse(n["Message"].get<std::string>())["eventId"], id);
  EXPECT_EQ(n["SigningCertURL"],
            "http://herald.test:8080/_herald/sns/SimpleNotificationService.pem");
  EXPECT_NE(n["UnsubscribeURL"].get<std::string>().find("SubscriptionArn="), std::string::npos);
  EXPECT_TRUE(events::VerifyEnvelope(note.body, signer_->CertPem()).ok());
  bool has_sub_arn = false;
  for (const auto& [name, value] : note.headers) {
    if (name == "x-amz-sns-subscription-arn") {
      has_sub_arn = value == SubscriptionArn(topic_arn, "confirm-token-1");
    }
  }
  EXPECT_TRUE(has_sub_arn);
}

TEST_F(DispatcherTest, DisabledOrDeletedDestinationsSendNothing) {
  Subscribe("http://hooks.test/in", true, "tok");
  AddDestination({"SEND"});
  auto d = Make();
  ASSERT_TRUE(d->RunOnce().ok());
  store::EventDestinationRow off;
  off.account_id = account_;
  off.configuration_set = "news";
  off.name = "to-topic";
  off.enabled = false;
  off.matching_types = {"SEND"};
  off.kind = "sns";
  off.spec_json = json{{"TopicArn", TopicArn("us-east-1", account_, "events")}}.dump();
  ASSERT_TRUE(store_.UpdateEventDestination(off).ok());
  Append("Send", "news", account_);
  ASSERT_EQ(*d->RunOnce(), 0u);
  ASSERT_TRUE(store_.DeleteEventDestination(account_, "news", "to-topic").ok());
  ASSERT_EQ(*d->RunOnce(), 0u);
  EXPECT_EQ(http_.request_count(), 0u);
}

// A destination created (at offset X) before the dispatcher first sees its subscription
// still gets the events published in between: the subscription starts where both existed.
TEST_F(DispatcherTest, EventsBeforeTheFirstPassAreNotSkipped) {
  Subscribe("http://hooks.test/in", true, "tok");
  AddDestination({"SEND"});
  const std::string early = Append("Send", "news", account_);
  auto d = Make();
  ASSERT_EQ(*d->RunOnce(), 1u);
  EXPECT_EQ(PostedEventIds(), (std::vector<std::string>{early}));
}

class RecordingKafka final : public events::KafkaProducer {
 public:
  Status ProduceBatch(const std::string& topic,
                      const std::vector<events::KafkaRecord>& records) override {
    if (!fail.ok()) return fail;
    for (const auto& r : records) produced.emplace_back(topic, r.key);
    return Status::Ok();
  }
  Status fail;
  std::vector<std::pair<std::string, std::string>> produced;  // (topic, key)
};

TEST_F(DispatcherTest, FirehoseAndEventBridgeGoToTheirKafkaTopics) {
  RecordingKafka kafka;
  auto add = [&](const std::string& name, const std::string& kind, const std::string& spec) {
    store::EventDestinationRow d;
    d.account_id = account_;
    d.configuration_set = "news";
    d.name = name;
    d.enabled = true;
    d.matching_types = {"DELIVERY"};
    d.kind = kind;
    d.spec_json = spec;
    ASSERT_TRUE(store_.CreateEventDestination(d, 0).ok());
  };
  const std::string acct = store::AccountNumber(account_);
  add("fh", "firehose",
      json{{"DeliveryStreamArn", "arn:aws:firehose:us-east-1:" + acct + ":deliverystream/ses-fh"},
           {"IamRoleArn", "arn:aws:iam::1:role/r"}}
          .dump());
  add("eb", "eventbridge",
      json{{"EventBusArn", "arn:aws:events:us-east-1:" + acct + ":event-bus/ses-bus"}}.dump());
  auto d =
      std::make_unique<EventDispatcher>(config_, store_, clock_, http_, *signer_, &kafka, nullptr);
  Append("Send", "news", account_);
  const std::string id = Append("Delivery", "news", account_);
  kafka.fail = UnavailableError("all brokers down");
  ASSERT_EQ(*d->RunOnce(), 0u);
  EXPECT_TRUE(kafka.produced.empty());
  kafka.fail = Status::Ok();
  clock_.Advance(std::chrono::milliseconds(1000));
  ASSERT_EQ(*d->RunOnce(), 2u);
  std::sort(kafka.produced.begin(), kafka.produced.end());
  EXPECT_EQ(kafka.produced,
            (std::vector<std::pair<std::string, std::string>>{{"ses-bus", id}, {"ses-fh", id}}));
  ASSERT_EQ(*d->RunOnce(), 0u);
}

// Identity notifications: lines naming a topic reach that topic's confirmed subscriptions
// without herald's routing members, with no event destination involved; a subscription
// keeps its own cursor across a restart.
TEST_F(DispatcherTest, IdentityNotificationsReachTheirTopicOnly) {
  const std::string topic_arn = TopicArn("us-east-1", account_, "events");
  const int64_t other_topic = *store_.CreateTopic(store::Topic{0, account_, "other", clock_.Now()});
  const int64_t sub = Subscribe("http://sns-sub.test/n", false, "notify-token");
  ASSERT_TRUE(store_.ConfirmSubscription(sub, 0).ok());
  store::TopicSubscription hook;
  hook.topic_id = other_topic;
  hook.endpoint = "http://hook.test/other";
  hook.token = "other-token";
  hook.raw = hook.confirmed = true;
  hook.created = clock_.Now();
  ASSERT_TRUE(store_.CreateSubscription(hook).ok());
  int topic_calls = 0;
  config_.notification_topics = [&]() -> StatusOr<std::vector<std::string>> {
    ++topic_calls;
    return std::vector<std::string>{topic_arn, "arn:aws:sns:us-east-1:not-a-number:x"};
  };
  auto Notify = [&](const std::string& id, const std::string& arn) {
    json line = {{"notificationType", "Bounce"},
                 {"mail", {{"messageId", "m-" + id}}},
                 {"bounce", {{"bounceType", "Permanent"}}},
                 {"eventId", id},
                 {"heraldTopicArn", arn}};
    std::ofstream(config_.events_path, std::ios::app) << line.dump() << "\n";
  };
  Append("Bounce", "news", account_);  // an event: no destination wants it
  Notify("n-1", topic_arn);
  Notify("n-2", TopicArn("us-east-1", account_, "other"));  // not in the list
  {
    auto d = Make();
    ASSERT_EQ(*d->RunOnce(), 1u);
  }
  EXPECT_GE(topic_calls, 1);
  ASSERT_EQ(http_.request_count(), 1u);
  const auto req = http_.requests()[0].request;
  EXPECT_EQ(req.url, "http://sns-sub.test/n");
  json envelope = json::parse(req.body);
  EXPECT_EQ(envelope["Type"], "Notification");
  EXPECT_EQ(envelope["MessageId"], "n-1");
  EXPECT_EQ(envelope["TopicArn"], topic_arn);
  EXPECT_TRUE(events::VerifyEnvelope(req.body, signer_->CertPem()).ok());
  json message = json::parse(envelope["Message"].get<std::string>());
  EXPECT_EQ(message["notificationType"], "Bounce");
  EXPECT_EQ(message["mail"]["messageId"], "m-n-1");
  EXPECT_FALSE(message.contains("heraldTopicArn"));
  EXPECT_FALSE(message.contains("eventId"));

  // A new dispatcher (a restart) resumes after n-1.
  Notify("n-3", topic_arn);
  auto d = Make();
  ASSERT_EQ(*d->RunOnce(), 1u);
  EXPECT_EQ(json::parse(http_.requests()[1].request.body)["MessageId"], "n-3");
  ASSERT_EQ(*d->RunOnce(), 0u);
}

}  // namespace
}  // namespace herald::publishing
