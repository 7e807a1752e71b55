// The behavioural contract of store/publishing_store.h, run against the SQLite store and
// the in-memory fake, so that the fake stays honest.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_util.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_store.h"

namespace herald::store {
namespace {

struct SqlitePubFactory {
  TempDir dir;
  StorePtr Make() {
    auto s = SqliteStore::Open(dir.File("herald.db"));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
};

struct MemPubFactory {
  StorePtr Make() { return std::make_unique<MemStore>(); }
};

template <typename F>
class PublishingStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_NE(store_, nullptr);
    auto a = store_->CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(a.ok());
    account_ = a->id;
    ConfigurationSet set;
    set.account_id = account_;
    set.name = "marketing";
    set.created = clock_.Now();
    ASSERT_TRUE(store_->CreateConfigurationSet(set).ok());
  }
  EmailTemplate Template(const std::string& name) {
    EmailTemplate t;
    t.account_id = account_;
    t.name = name;
    t.subject = "Hello {{name}}";
    t.text = "Hi {{name}}";
    t.html = "<p>Hi {{name}}</p>";
    t.created = t.updated = clock_.Now();
    return t;
  }
  EventDestinationRow Destination(const std::string& name) {
    EventDestinationRow d;
    d.account_id = account_;
    d.configuration_set = "marketing";
    d.name = name;
    d.enabled = true;
    d.matching_types = {"SEND", "BOUNCE"};
    d.kind = "webhook";
    d.spec_json = R"({"Url":"http://127.0.0.1:9/"})";
    d.created = d.updated = clock_.Now();
    return d;
  }
  F factory_;
  FakeClock clock_;
  StorePtr store_;
  int64_t account_ = 0;
};

using Factories = ::testing::Types<SqlitePubFactory, MemPubFactory>;
TYPED_TEST_SUITE(PublishingStoreTest, Factories);

TYPED_TEST(PublishingStoreTest, TemplatesCreateGetUpdateListDelete) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.CreateTemplate(this->Template("welcome")).ok());
  ASSERT_TRUE(s.CreateTemplate(this->Template("alpha")).ok());
  ASSERT_TRUE(s.CreateTemplate(this->Template("zeta")).ok());
  EXPECT_EQ(s.CreateTemplate(this->Template("welcome")).code(), StatusCode::kAlreadyExists);
  EmailTemplate bad = this->Template("bad name");
  EXPECT_EQ(s.CreateTemplate(bad).code(), StatusCode::kInvalidArgument);
  EmailTemplate orphan = this->Template("orphan");
  orphan.account_id = this->account_ + 100;
  EXPECT_EQ(s.CreateTemplate(orphan).code(), StatusCode::kNotFound);

  auto got = s.GetTemplate(this->account_, "welcome");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->subject, "Hello {{name}}");
  EXPECT_EQ(got->html, "<p>Hi {{name}}</p>");
  EXPECT_EQ(s.GetTemplate(this->account_, "Welcome").status().code(), StatusCode::kNotFound);

  EmailTemplate changed = this->Template("welcome");
  changed.subject = "New";
  changed.text = "";
  this->clock_.Advance(std::chrono::seconds(5));
  changed.updated = this->clock_.Now();
  ASSERT_TRUE(s.UpdateTemplate(changed).ok());
  got = s.GetTemplate(this->account_, "welcome");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->subject, "New");
  EXPECT_EQ(got->text, "");
  EXPECT_GT(got->updated, got->created);
  EXPECT_EQ(s.UpdateTemplate(this->Template("missing")).code(), StatusCode::kNotFound);

  auto page = s.ListTemplates(this->account_, "", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].name, "alpha");
  EXPECT_EQ((*page)[1].name, "welcome");
  page = s.ListTemplates(this->account_, "welcome", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].name, "zeta");

  ASSERT_TRUE(s.DeleteTemplate(this->account_, "alpha").ok());
  EXPECT_EQ(s.DeleteTemplate(this->account_, "alpha").code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ListTemplates(this->account_, "", 10)->size(), 2u);
}

TYPED_TEST(PublishingStoreTest, DestinationsBelongToTheirSetAndKeepCursors) {
  Store& s = *this->store_;
  auto id = s.CreateEventDestination(this->Destination("hook"), 1234);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(s.CreateEventDestination(this->Destination("hook"), 0).status().code(),
            StatusCode::kAlreadyExists);
  EventDestinationRow elsewhere = this->Destination("hook");
  elsewhere.configuration_set = "nosuchset";
  EXPECT_EQ(s.CreateEventDestination(elsewhere, 0).status().code(), StatusCode::kNotFound);
  EventDestinationRow bad = this->Destination("hook2");
  bad.matching_types = {"SEND", "OPENED"};
  EXPECT_EQ(s.CreateEventDestination(bad, 0).status().code(), StatusCode::kInvalidArgument);
  bad = this->Destination("hook2");
  bad.kind = "carrier-pigeon";
  EXPECT_EQ(s.CreateEventDestination(bad, 0).status().code(), StatusCode::kInvalidArgument);

  auto list = s.ListEventDestinations(this->account_, "marketing");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, *id);
  EXPECT_EQ((*list)[0].matching_types, (std::vector<std::string>{"SEND", "BOUNCE"}));
  EXPECT_TRUE((*list)[0].enabled);
  EXPECT_EQ(s.ListEventDestinations(this->account_, "nosuchset").status().code(),
            StatusCode::kNotFound);

  // The single target starts where the destination was created; other targets fall back.
  EXPECT_EQ(*s.GetCursor(*id, "", 0), 1234u);
  EXPECT_EQ(*s.GetCursor(*id, "sub:7", 999), 999u);
  ASSERT_TRUE(s.SetCursor(*id, "", 5000).ok());
  ASSERT_TRUE(s.SetCursor(*id, "sub:7", 4000).ok());
  EXPECT_EQ(*s.GetCursor(*id, "", 0), 5000u);
  EXPECT_EQ(*s.GetCursor(*id, "sub:7", 999), 4000u);
  EXPECT_EQ(s.GetCursor(*id + 50, "", 0).status().code(), StatusCode::kNotFound);

  EventDestinationRow update = this->Destination("hook");
  update.enabled = false;
  update.matching_types = {"CLICK"};
  update.kind = "sns";
  ASSERT_TRUE(s.UpdateEventDestination(update).ok());
  list = s.ListEventDestinations(this->account_, "marketing");
  ASSERT_TRUE(list.ok());
  EXPECT_FALSE((*list)[0].enabled);
  EXPECT_EQ((*list)[0].kind, "sns");
  EXPECT_EQ(*s.GetCursor(*id, "", 0), 5000u);  // kept across an update
  EXPECT_EQ(s.UpdateEventDestination(this->Destination("nope")).code(), StatusCode::kNotFound);

  auto all = s.ListAllEventDestinations();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);

  // Deleting the configuration set deletes its destinations and cursors.
  ASSERT_TRUE(s.DeleteConfigurationSet(this->account_, "marketing").ok());
  EXPECT_TRUE(s.ListAllEventDestinations()->empty());
  EXPECT_EQ(s.GetCursor(*id, "", 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.SetCursor(*id, "", 1).code(), StatusCode::kNotFound);
}

TYPED_TEST(PublishingStoreTest, DeleteDestinationDropsIt) {
  Store& s = *this->store_;
  auto id = s.CreateEventDestination(this->Destination("a"), 0);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(s.CreateEventDestination(this->Destination("b"), 0).ok());
  ASSERT_TRUE(s.DeleteEventDestination(this->account_, "marketing", "a").ok());
  EXPECT_EQ(s.DeleteEventDestination(this->account_, "marketing", "a").code(),
            StatusCode::kNotFound);
  auto list = s.ListEventDestinations(this->account_, "marketing");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "b");
  EXPECT_EQ(s.GetCursor(*id, "", 0).status().code(), StatusCode::kNotFound);
}

TYPED_TEST(PublishingStoreTest, TopicsAndSubscriptions) {
  Store& s = *this->store_;
  Topic t;
  t.account_id = this->account_;
  t.name = "ses-events";
  t.created = this->clock_.Now();
  auto topic_id = s.CreateTopic(t);
  ASSERT_TRUE(topic_id.ok()) << topic_id.status().ToString();
  EXPECT_EQ(s.CreateTopic(t).status().code(), StatusCode::kAlreadyExists);
  Topic bad = t;
  bad.name = "no spaces";
  EXPECT_EQ(s.CreateTopic(bad).status().code(), StatusCode::kInvalidArgument);
  Topic other = t;
  other.name = "another";
  ASSERT_TRUE(s.CreateTopic(other).ok());
  auto topics = s.ListTopics(this->account_);
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[0].name, "another");
  EXPECT_EQ(s.GetTopic(this->account_, "ses-events")->id, *topic_id);

  TopicSubscription sub;
  sub.topic_id = *topic_id;
  sub.endpoint = "http://127.0.0.1:9/sns";
  sub.token = "tok-1";
  sub.created = this->clock_.Now();
  auto sub_id = s.CreateSubscription(sub);
  ASSERT_TRUE(sub_id.ok());
  EXPECT_EQ(s.CreateSubscription(sub).status().code(), StatusCode::kAlreadyExists);
  TopicSubscription orphan = sub;
  orphan.topic_id = *topic_id + 100;
  orphan.token = "tok-2";
  EXPECT_EQ(s.CreateSubscription(orphan).status().code(), StatusCode::kNotFound);

  auto found = s.FindSubscriptionByToken("tok-1");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, *sub_id);
  EXPECT_FALSE(found->confirmed);
  auto pending = s.ListPendingSubscriptions();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].first.name, "ses-events");
  EXPECT_EQ((*pending)[0].first.account_id, this->account_);
  EXPECT_EQ((*pending)[0].second.token, "tok-1");
  ASSERT_TRUE(s.ConfirmSubscription(*sub_id, 4096).ok());
  EXPECT_TRUE(s.ListPendingSubscriptions()->empty());
  EXPECT_TRUE(s.GetSubscription(*sub_id)->confirmed);
  EXPECT_EQ(s.GetSubscription(*sub_id)->start_offset, 4096u);
  ASSERT_TRUE(s.ConfirmSubscription(*sub_id, 9999).ok());  // a second visit changes nothing
  EXPECT_EQ(s.GetSubscription(*sub_id)->start_offset, 4096u);
  EXPECT_EQ(s.FindSubscriptionByToken("tok-x").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ListSubscriptions(*topic_id)->size(), 1u);

  // The subscription's own notification cursor.
  EXPECT_EQ(*s.GetSubscriptionCursor(*sub_id, 77), 77u);
  ASSERT_TRUE(s.SetSubscriptionCursor(*sub_id, 5000).ok());
  ASSERT_TRUE(s.SetSubscriptionCursor(*sub_id, 6000).ok());
  EXPECT_EQ(*s.GetSubscriptionCursor(*sub_id, 77), 6000u);
  EXPECT_EQ(s.GetSubscriptionCursor(*sub_id + 100, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.SetSubscriptionCursor(*sub_id + 100, 1).code(), StatusCode::kNotFound);

  ASSERT_TRUE(s.DeleteTopic(this->account_, "ses-events").ok());
  EXPECT_EQ(s.GetSubscription(*sub_id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.GetSubscriptionCursor(*sub_id, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.DeleteTopic(this->account_, "ses-events").code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace herald::store
