// The behavioural contract of store/audience_store.h, run against the SQLite store and the
// in-memory fake, so that the fake stays honest.
#include <gtest/gtest.h>

#include <chrono>
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

using std::chrono::milliseconds;
using std::chrono::seconds;

struct SqliteAudienceFactory {
  TempDir dir;
  StorePtr Make() {
    auto s = SqliteStore::Open(dir.File("herald.db"));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
};

struct MemAudienceFactory {
  StorePtr Make() { return std::make_unique<MemStore>(); }
};

template <typename F>
class AudienceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_NE(store_, nullptr);
    auto a = store_->CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(a.ok());
    account_ = a->id;
    auto b = store_->CreateAccount("other", clock_.Now());
    ASSERT_TRUE(b.ok());
    other_ = b->id;
  }
  ContactListRow List(const std::string& name, int64_t account = 0) {
    ContactListRow l;
    l.account_id = account == 0 ? account_ : account;
    l.name = name;
    l.description = "Our newsletters";
    l.topics = {{"news", "Weekly news", "What happened", true},
                {"offers", "Special offers", "", false}};
    l.tags_json = R"([{"Key":"team","Value":"growth"}])";
    l.created = l.updated = clock_.Now();
    return l;
  }
  ContactRow Contact(const std::string& email, const std::string& list = "customers") {
    ContactRow c;
    c.account_id = account_;
    c.list_name = list;
    c.email = email;
    c.topic_preferences = {{"offers", true}};
    c.attributes_json = R"({"plan":"pro"})";
    c.created = c.updated = clock_.Now();
    return c;
  }
  EngagementRow Engagement(const std::string& message_id, const std::string& recipient,
                           EngagementRow::Kind kind, const std::string& set = "") {
    EngagementRow e;
    e.account_id = account_;
    e.configuration_set = set;
    e.message_id = message_id;
    e.recipient = recipient;
    e.kind = kind;
    e.at = clock_.Now();
    return e;
  }
  F factory_;
  FakeClock clock_;
  StorePtr store_;
  int64_t account_ = 0;
  int64_t other_ = 0;
};

using Factories = ::testing::Types<SqliteAudienceFactory, MemAudienceFactory>;
TYPED_TEST_SUITE(AudienceStoreTest, Factories);

TYPED_TEST(AudienceStoreTest, ContactListCreateGetUpdateListDelete) {
  Store& s = *this->store_;
  // Sub-millisecond parts are dropped.
  this->clock_.Advance(milliseconds(1));
  ContactListRow list = this->List("customers");
  list.created += std::chrono::microseconds(700);
  ASSERT_TRUE(s.CreateContactList(list).ok());

  auto got = s.GetContactList(this->account_, "customers");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->account_id, this->account_);
  EXPECT_EQ(got->name, "customers");
  EXPECT_EQ(got->description, "Our newsletters");
  EXPECT_EQ(got->topics, list.topics);
  EXPECT_EQ(got->tags_json, list.tags_json);
  EXPECT_EQ(UnixMillis(got->created), UnixMillis(this->clock_.Now()));
  EXPECT_EQ(got->created, got->updated);
  // Names are case-sensitive and per account.
  EXPECT_EQ(s.GetContactList(this->account_, "Customers").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.GetContactList(this->other_, "customers").status().code(), StatusCode::kNotFound);

  // Update replaces the description and topics (order kept), not the tags or creation.
  this->clock_.Advance(seconds(5));
  ContactListRow changed = this->List("customers");
  changed.description = "";
  changed.topics = {{"zeta", "Zeta", "z", false}, {"alpha", "Alpha", "", true}};
  changed.tags_json = "";
  changed.created = this->clock_.Now();
  changed.updated = this->clock_.Now();
  ASSERT_TRUE(s.UpdateContactList(changed).ok());
  got = s.GetContactList(this->account_, "customers");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->description, "");
  EXPECT_EQ(got->topics, changed.topics);
  EXPECT_EQ(got->tags_json, list.tags_json);
  EXPECT_EQ(got->updated - got->created, seconds(5));
  EXPECT_EQ(s.UpdateContactList(this->List("missing")).code(), StatusCode::kNotFound);

  // Lists of an account, in name order; the other account's are not among them.
  ASSERT_TRUE(s.CreateContactList(this->List("b-list", this->other_)).ok());
  auto mine = s.ListContactLists(this->account_);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].name, "customers");
  EXPECT_EQ((*mine)[0].topics, changed.topics);
  auto theirs = s.ListContactLists(this->other_);
  ASSERT_TRUE(theirs.ok());
  ASSERT_EQ(theirs->size(), 1u);
  EXPECT_EQ((*theirs)[0].name, "b-list");

  ASSERT_TRUE(s.DeleteContactList(this->account_, "customers").ok());
  EXPECT_EQ(s.DeleteContactList(this->account_, "customers").code(), StatusCode::kNotFound);
  EXPECT_EQ(s.GetContactList(this->account_, "customers").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(s.ListContactLists(this->account_)->empty());
  EXPECT_EQ(s.ListContactLists(this->other_)->size(), 1u);
}

TYPED_TEST(AudienceStoreTest, OneListPerAccountAndDuplicatesFirst) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.CreateContactList(this->List("first")).ok());
  EXPECT_EQ(s.CreateContactList(this->List("first")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.CreateContactList(this->List("second")).code(), StatusCode::kResourceExhausted);
  // Another account has its own quota.
  EXPECT_TRUE(s.CreateContactList(this->List("second", this->other_)).ok());
  // A deleted list frees its place.
  ASSERT_TRUE(s.DeleteContactList(this->account_, "first").ok());
  EXPECT_TRUE(s.CreateContactList(this->List("second")).ok());
  // A missing account.
  EXPECT_EQ(s.CreateContactList(this->List("orphan", this->other_ + 100)).code(),
            StatusCode::kNotFound);
}

TYPED_TEST(AudienceStoreTest, ContactListBounds) {
  Store& s = *this->store_;
  auto code = [&](const ContactListRow& l) { return s.CreateContactList(l).code(); };
  ContactListRow l = this->List("ok");
  for (const char* bad : {"", "has space", "dot.name", "ümlaut"}) {
    l.name = bad;
    EXPECT_EQ(code(l), StatusCode::kInvalidArgument) << bad;
  }
  l.name = std::string(64, 'n');
  l.description = std::string(501, 'd');
  EXPECT_EQ(code(l), StatusCode::kInvalidArgument);
  l = this->List(std::string(65, 'n'));
  EXPECT_EQ(code(l), StatusCode::kInvalidArgument);

  l = this->List("topics");
  l.topics.clear();
  for (size_t i = 0; i <= kMaxContactListTopics; ++i) {
    l.topics.push_back({"t" + std::to_string(i), "Topic", "", false});
  }
  EXPECT_EQ(code(l), StatusCode::kInvalidArgument);
  l.topics.pop_back();
  ContactListRow dup = l;
  dup.topics.back().name = "t0";
  EXPECT_EQ(code(dup), StatusCode::kInvalidArgument);
  ContactListRow bad_topic = l;
  bad_topic.topics[3].name = "no/slash";
  EXPECT_EQ(code(bad_topic), StatusCode::kInvalidArgument);
  bad_topic.topics[3].name = std::string(65, 't');
  EXPECT_EQ(code(bad_topic), StatusCode::kInvalidArgument);
  ContactListRow display = l;
  display.topics[0].display_name = "";
  EXPECT_EQ(code(display), StatusCode::kInvalidArgument);
  display.topics[0].display_name = std::string(129, 'x');
  EXPECT_EQ(code(display), StatusCode::kInvalidArgument);
  ContactListRow topic_description = l;
  topic_description.topics[0].description = std::string(501, 'x');
  EXPECT_EQ(code(topic_description), StatusCode::kInvalidArgument);
  ContactListRow nul = l;
  nul.description = std::string("a\0b", 3);
  EXPECT_EQ(code(nul), StatusCode::kInvalidArgument);
  EXPECT_TRUE(s.ListContactLists(this->account_)->empty());

  // The limits themselves are allowed; lengths count characters, not bytes.
  l.name = std::string(64, 'n');
  l.description.clear();
  for (int i = 0; i < 500; ++i) l.description += "\xc3\xa9";  // é
  l.topics[0].display_name.clear();
  for (int i = 0; i < 128; ++i) l.topics[0].display_name += "\xe2\x82\xac";  // €
  l.topics[1].name = std::string(64, 'x');
  ASSERT_TRUE(s.CreateContactList(l).ok());
  auto got = s.GetContactList(this->account_, l.name);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->description, l.description);
  EXPECT_EQ(got->topics, l.topics);
  EXPECT_EQ(got->topics.size(), kMaxContactListTopics);
  // Update checks the same bounds.
  ContactListRow too_many = l;
  too_many.topics.push_back({"extra", "Extra", "", true});
  EXPECT_EQ(s.UpdateContactList(too_many).code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(AudienceStoreTest, ContactsAreKeyedByLowerCaseAddress) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.CreateContactList(this->List("customers")).ok());
  EXPECT_EQ(s.CreateContact(this->Contact("Ana@Example.COM", "nolist")).code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(s.CreateContact(this->Contact("Ana@Example.COM")).ok());
  EXPECT_EQ(s.CreateContact(this->Contact("ana@example.com")).code(), StatusCode::kAlreadyExists);

  for (const char* key : {"ana@example.com", "ANA@EXAMPLE.COM", "Ana@Example.COM"}) {
    auto got = s.GetContact(this->account_, "customers", key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_EQ(got->email, "Ana@Example.COM");  // the case it was created with
    EXPECT_EQ(got->list_name, "customers");
    EXPECT_EQ(got->account_id, this->account_);
    EXPECT_FALSE(got->unsubscribe_all);
    EXPECT_EQ(got->topic_preferences,
              (std::vector<std::pair<std::string, bool>>{{"offers", true}}));
    EXPECT_EQ(got->attributes_json, R"({"plan":"pro"})");
  }
  EXPECT_EQ(s.GetContact(this->account_, "Customers", "ana@example.com").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(s.GetContact(this->other_, "customers", "ana@example.com").status().code(),
            StatusCode::kNotFound);

  // Update through another case: the fields change, the address keeps its case.
  this->clock_.Advance(seconds(3));
  ContactRow changed = this->Contact("ANA@example.com");
  changed.unsubscribe_all = true;
  changed.topic_preferences = {{"news", false}, {"offers", false}};
  changed.attributes_json = "";
  changed.updated = this->clock_.Now();
  ASSERT_TRUE(s.UpdateContact(changed).ok());
  auto got = s.GetContact(this->account_, "customers", "ana@example.com");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->email, "Ana@Example.COM");
  EXPECT_TRUE(got->unsubscribe_all);
  EXPECT_EQ(got->topic_preferences, changed.topic_preferences);
  EXPECT_EQ(got->attributes_json, "");
  EXPECT_EQ(got->updated - got->created, seconds(3));
  EXPECT_EQ(s.UpdateContact(this->Contact("nobody@example.com")).code(), StatusCode::kNotFound);
  EXPECT_EQ(s.UpdateContact(this->Contact("ana@example.com", "nolist")).code(),
            StatusCode::kNotFound);

  EXPECT_EQ(s.DeleteContact(this->account_, "customers", "nobody@example.com").code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(s.DeleteContact(this->account_, "customers", "aNa@eXample.com").ok());
  EXPECT_EQ(s.GetContact(this->account_, "customers", "ana@example.com").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(s.DeleteContact(this->account_, "customers", "ana@example.com").code(),
            StatusCode::kNotFound);
}

TYPED_TEST(AudienceStoreTest, ContactBounds) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.CreateContactList(this->List("customers")).ok());
  auto code = [&](const ContactRow& c) { return s.CreateContact(c).code(); };
  for (const char* bad : {"", "a@", "@b", "ab", "no-at-sign", "sp ace@example.com",
                          "tab\t@example.com", "del\x7f@example.com"}) {
    EXPECT_EQ(code(this->Contact(bad)), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(code(this->Contact(std::string(310, 'a') + "@example.com")),
            StatusCode::kInvalidArgument);  // 322 octets
  ContactRow c = this->Contact("b@example.com");
  c.list_name = "bad name";
  EXPECT_EQ(code(c), StatusCode::kInvalidArgument);
  c = this->Contact("b@example.com");
  c.topic_preferences = {{"news", true}, {"news", false}};
  EXPECT_EQ(code(c), StatusCode::kInvalidArgument);
  c.topic_preferences = {{"bad topic", true}};
  EXPECT_EQ(code(c), StatusCode::kInvalidArgument);
  c.topic_preferences.clear();
  for (size_t i = 0; i <= kMaxTopicPreferences; ++i) {
    c.topic_preferences.emplace_back("t" + std::to_string(i), true);
  }
  EXPECT_EQ(code(c), StatusCode::kInvalidArgument);
  c = this->Contact("b@example.com");
  c.attributes_json = std::string(kMaxContactAttributesLength + 1, 'x');
  EXPECT_EQ(code(c), StatusCode::kInvalidArgument);
  EXPECT_TRUE(s.ListContacts(this->account_, "customers", "", 10)->empty());

  // At the limits.
  c.attributes_json = std::string(kMaxContactAttributesLength, 'x');
  c.email = std::string(308, 'a') + "@example.com";  // 320 octets
  ASSERT_TRUE(s.CreateContact(c).ok());
  EXPECT_EQ(s.GetContact(this->account_, "customers", c.email)->attributes_json, c.attributes_json);
  // Update checks the same bounds.
  c.attributes_json.push_back('x');
  EXPECT_EQ(s.UpdateContact(c).code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(AudienceStoreTest, PreferencesForUnknownTopicsAreDroppedOnWrite) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.CreateContactList(this->List("customers")).ok());
  ContactRow c = this->Contact("a@example.com");
  c.topic_preferences = {{"gone", true}, {"offers", true}, {"news", false}};
  ASSERT_TRUE(s.CreateContact(c).ok());
  auto got = s.GetContact(this->account_, "customers", "a@example.com");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->topic_preferences,
            (std::vector<std::pair<std::string, bool>>{{"offers", true}, {"news", false}}));

  // The list drops "offers": the preference is kept until the contact is written again.
  ContactListRow l = this->List("customers");
  l.topics = {{"news", "News", "", true}, {"events", "Events", "", false}};
  ASSERT_TRUE(s.UpdateContactList(l).ok());
  got = s.GetContact(this->account_, "customers", "a@example.com");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->topic_preferences,
            (std::vector<std::pair<std::string, bool>>{{"offers", true}, {"news", false}}));
  ContactRow again = *got;
  again.topic_preferences.emplace_back("events", true);
  ASSERT_TRUE(s.UpdateContact(again).ok());
  got = s.GetContact(this->account_, "customers", "a@example.com");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->topic_preferences,
            (std::vector<std::pair<std::string, bool>>{{"news", false}, {"events", true}}));
}

TYPED_TEST(AudienceStoreTest, ListContactsPagesInKeyOrder) {
  Store& s = *this->store_;
  EXPECT_EQ(s.ListContacts(this->account_, "customers", "", 10).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(s.CreateContactList(this->List("customers")).ok());
  EXPECT_TRUE(s.ListContacts(this->account_, "customers", "", 10)->empty());
  for (const char* e : {"d@example.com", "B@example.com", "a@example.com", "C@example.com"}) {
    ASSERT_TRUE(s.CreateContact(this->Contact(e)).ok()) << e;
  }
  ASSERT_TRUE(s.CreateContactList(this->List("theirs", this->other_)).ok());
  ContactRow theirs = this->Contact("0@example.com", "theirs");
  theirs.account_id = this->other_;
  ASSERT_TRUE(s.CreateContact(theirs).ok());

  auto page = s.ListContacts(this->account_, "customers", "", 2);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].email, "a@example.com");
  EXPECT_EQ((*page)[1].email, "B@example.com");
  EXPECT_EQ((*page)[1].topic_preferences,
            (std::vector<std::pair<std::string, bool>>{{"offers", true}}));
  // `after` is compared lower-cased.
  page = s.ListContacts(this->account_, "customers", "B@EXAMPLE.COM", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].email, "C@example.com");
  EXPECT_EQ((*page)[1].email, "d@example.com");
  page = s.ListContacts(this->account_, "customers", "d@example.com", 2);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->empty());
  // The limit is clamped to 1..1000.
  page = s.ListContacts(this->account_, "customers", "", 0);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 1u);
  page = s.ListContacts(this->account_, "customers", "", 5000);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 4u);
  page = s.ListContacts(this->other_, "theirs", "", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].email, "0@example.com");
}

TYPED_TEST(AudienceStoreTest, DeletingAListDeletesItsContacts) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.CreateContactList(this->List("customers")).ok());
  ASSERT_TRUE(s.CreateContact(this->Contact("a@example.com")).ok());
  ASSERT_TRUE(s.CreateContact(this->Contact("b@example.com")).ok());
  ASSERT_TRUE(s.CreateContactList(this->List("customers", this->other_)).ok());
  ContactRow theirs = this->Contact("a@example.com");
  theirs.account_id = this->other_;
  ASSERT_TRUE(s.CreateContact(theirs).ok());

  ASSERT_TRUE(s.DeleteContactList(this->account_, "customers").ok());
  EXPECT_EQ(s.GetContact(this->account_, "customers", "a@example.com").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(s.DeleteContact(this->account_, "customers", "b@example.com").code(),
            StatusCode::kNotFound);
  // A list of the same name starts empty.
  ASSERT_TRUE(s.CreateContactList(this->List("customers")).ok());
  EXPECT_TRUE(s.ListContacts(this->account_, "customers", "", 10)->empty());
  EXPECT_EQ(s.GetContact(this->account_, "customers", "a@example.com").status().code(),
            StatusCode::kNotFound);
  // The other account's list of the same name is untouched.
  EXPECT_TRUE(s.GetContact(this->other_, "customers", "a@example.com").ok());
}

TYPED_TEST(AudienceStoreTest, RecordEngagementIsIdempotent) {
  Store& s = *this->store_;
  using K = EngagementRow;
  auto first = s.RecordEngagement(this->Engagement("m1", "a@example.com", K::kOpen, "set1"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  // The same (message, recipient, kind) later, from another set: not the first, not kept.
  this->clock_.Advance(seconds(10));
  auto again = s.RecordEngagement(this->Engagement("m1", "a@example.com", K::kOpen, "set2"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(*s.CountEngagement(this->account_, "set2", K::kOpen, FromUnixMillis(0),
                               this->clock_.Now() + seconds(1)),
            0);
  // Another kind, recipient or message is a first of its own.
  EXPECT_TRUE(*s.RecordEngagement(this->Engagement("m1", "a@example.com", K::kClick, "set1")));
  EXPECT_TRUE(*s.RecordEngagement(this->Engagement("m1", "b@example.com", K::kOpen, "set1")));
  EXPECT_TRUE(*s.RecordEngagement(this->Engagement("m2", "a@example.com", K::kOpen)));
  EXPECT_TRUE(*s.RecordEngagement(this->Engagement("m3", "", K::kOpen)));
  EXPECT_FALSE(*s.RecordEngagement(this->Engagement("m3", "", K::kOpen)));
  EXPECT_EQ(*s.CountEngagement(this->account_, "", K::kOpen, FromUnixMillis(0),
                               this->clock_.Now() + seconds(1)),
            4);
  EXPECT_EQ(*s.CountEngagement(this->account_, "", K::kClick, FromUnixMillis(0),
                               this->clock_.Now() + seconds(1)),
            1);

  // Bounds and a missing account.
  EXPECT_EQ(s.RecordEngagement(this->Engagement("", "a@example.com", K::kOpen)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(s.RecordEngagement(this->Engagement(std::string(257, 'm'), "a@example.com", K::kOpen))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      s.RecordEngagement(this->Engagement("m9", std::string(321, 'r'), K::kOpen)).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(s.RecordEngagement(this->Engagement("m9", "a@example.com", K::kOpen, "bad set"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EngagementRow orphan = this->Engagement("m9", "a@example.com", K::kOpen);
  orphan.account_id = this->other_ + 100;
  EXPECT_EQ(s.RecordEngagement(orphan).status().code(), StatusCode::kNotFound);
  // A refused row was not kept: recording it properly now is a first.
  EXPECT_TRUE(*s.RecordEngagement(this->Engagement("m9", "a@example.com", K::kOpen)));
}

TYPED_TEST(AudienceStoreTest, CountEngagementRangesAndFilters) {
  Store& s = *this->store_;
  using K = EngagementRow;
  const SysTime t0 = this->clock_.Now();
  // Opens at t0, t0+1s, t0+2s (set "a"), t0+3s (set "b"); a click at t0+1s; the other
  // account's open at t0+1s.
  for (int i = 0; i < 4; ++i) {
    EngagementRow e =
        this->Engagement("m" + std::to_string(i), "r@example.com", K::kOpen, i < 3 ? "a" : "b");
    e.at = t0 + seconds(i);
    ASSERT_TRUE(*s.RecordEngagement(e));
  }
  EngagementRow click = this->Engagement("m1", "r@example.com", K::kClick, "a");
  click.at = t0 + seconds(1);
  ASSERT_TRUE(*s.RecordEngagement(click));
  EngagementRow theirs = this->Engagement("x1", "r@example.com", K::kOpen, "a");
  theirs.account_id = this->other_;
  theirs.at = t0 + seconds(1);
  ASSERT_TRUE(*s.RecordEngagement(theirs));

  auto count = [&](const std::string& set, K::Kind kind, SysTime since, SysTime until) {
    auto n = s.CountEngagement(this->account_, set, kind, since, until);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  };
  EXPECT_EQ(count("", K::kOpen, t0, t0 + seconds(4)), 4);
  // [since, until): the start is in, the end is out.
  EXPECT_EQ(count("", K::kOpen, t0 + seconds(1), t0 + seconds(3)), 2);
  EXPECT_EQ(count("", K::kOpen, t0 + seconds(1), t0 + seconds(3) + milliseconds(1)), 3);
  EXPECT_EQ(count("", K::kOpen, t0 + milliseconds(1), t0 + seconds(1)), 0);
  EXPECT_EQ(count("", K::kOpen, t0 + seconds(4), t0 + seconds(5)), 0);
  EXPECT_EQ(count("", K::kOpen, t0 + seconds(2), t0 + seconds(1)), 0);
  // One configuration set.
  EXPECT_EQ(count("a", K::kOpen, t0, t0 + seconds(4)), 3);
  EXPECT_EQ(count("b", K::kOpen, t0, t0 + seconds(4)), 1);
  EXPECT_EQ(count("c", K::kOpen, t0, t0 + seconds(4)), 0);
  EXPECT_EQ(count("a", K::kClick, t0, t0 + seconds(4)), 1);
  EXPECT_EQ(count("b", K::kClick, t0, t0 + seconds(4)), 0);
  auto other = s.CountEngagement(this->other_, "", K::kOpen, t0, t0 + seconds(4));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, 1);
}

// ContactWantsTopic is pure: one implementation for every store.
TEST(ContactWantsTopicTest, FollowsPreferenceThenDefault) {
  ContactListRow list;
  list.name = "l";
  list.topics = {{"news", "News", "", true}, {"offers", "Offers", "", false}};
  ContactRow c;
  c.list_name = "l";
  c.email = "a@example.com";
  EXPECT_TRUE(ContactWantsTopic(list, c, ""));
  EXPECT_TRUE(ContactWantsTopic(list, c, "news"));     // default OPT_IN
  EXPECT_FALSE(ContactWantsTopic(list, c, "offers"));  // default OPT_OUT
  EXPECT_FALSE(ContactWantsTopic(list, c, "unknown"));
  c.topic_preferences = {{"news", false}, {"offers", true}, {"unknown", true}};
  EXPECT_FALSE(ContactWantsTopic(list, c, "news"));
  EXPECT_TRUE(ContactWantsTopic(list, c, "offers"));
  EXPECT_FALSE(ContactWantsTopic(list, c, "unknown"));  // not a topic of the list
  EXPECT_TRUE(ContactWantsTopic(list, c, ""));
  c.unsubscribe_all = true;
  EXPECT_FALSE(ContactWantsTopic(list, c, ""));
  EXPECT_FALSE(ContactWantsTopic(list, c, "offers"));
}

TEST(AudienceValidationTest, ContactAddressesAndNames) {
  EXPECT_TRUE(IsContactAddress("a@b"));
  EXPECT_TRUE(IsContactAddress("\"a@b\"@example.com"));
  EXPECT_FALSE(IsContactAddress("a@"));
  EXPECT_FALSE(IsContactAddress("a b@example.com"));
  EXPECT_FALSE(IsContactAddress(std::string("a\0@example.com", 15)));
  EXPECT_TRUE(IsContactListName("A-z_09"));
  EXPECT_FALSE(IsContactListName("a.b"));
  EXPECT_TRUE(IsContactTopicName(std::string(64, 't')));
  EXPECT_FALSE(IsContactTopicName(std::string(65, 't')));
  EXPECT_EQ(ContactKey("Ana@Example.COM"), "ana@example.com");
}

}  // namespace
}  // namespace herald::store
