// The behavioural contract of store/reputation_store.h, run against the SQLite store and
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

struct SqliteRepFactory {
  TempDir dir;
  StorePtr Make() {
    auto s = SqliteStore::Open(dir.File("herald.db"));
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
};

struct MemRepFactory {
  StorePtr Make() { return std::make_unique<MemStore>(); }
};

template <typename F>
class ReputationStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = factory_.Make();
    ASSERT_NE(store_, nullptr);
    auto a = store_->CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(a.ok());
    account_ = a->id;
  }
  F factory_;
  FakeClock clock_;
  StorePtr store_;
  int64_t account_ = 0;
};

using Factories = ::testing::Types<SqliteRepFactory, MemRepFactory>;
TYPED_TEST_SUITE(ReputationStoreTest, Factories);

TYPED_TEST(ReputationStoreTest, BucketsUpsertPerScopeAndDropOld) {
  Store& s = *this->store_;
  const int64_t a = this->account_;
  ASSERT_TRUE(s.SaveRepBuckets(a, "", {{10, 5, 1, 0, 0, 1000}, {11, 7, 2, 1, 0, 2000}}, 0).ok());
  ASSERT_TRUE(s.SaveRepBuckets(a, "set1", {{11, 3, 0, 0, 0, 2500}}, 0).ok());
  // An update of hour 11 and a new hour 12, dropping everything before 11.
  ASSERT_TRUE(s.SaveRepBuckets(a, "", {{11, 9, 2, 2, 1, 2000}, {12, 1, 0, 0, 0, 3000}}, 11).ok());
  auto rows = s.LoadRepBuckets(a, "");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].hour, 11);
  EXPECT_EQ((*rows)[0].sends, 9);
  EXPECT_EQ((*rows)[0].hard_bounces, 2);
  EXPECT_EQ((*rows)[0].complaints, 1);
  EXPECT_EQ((*rows)[0].first_sent_ms, 2000);
  EXPECT_EQ((*rows)[1].hour, 12);
  auto set_rows = s.LoadRepBuckets(a, "set1");
  ASSERT_TRUE(set_rows.ok());
  ASSERT_EQ(set_rows->size(), 1u) << "scopes are apart";
  EXPECT_EQ((*set_rows)[0].sends, 3);
  EXPECT_TRUE(s.LoadRepBuckets(a, "other")->empty());

  // Several scopes at once; a batch for a missing account fails the whole call.
  ASSERT_TRUE(s.SaveRepBucketsMany(
                   {{a, "", {{13, 4, 0, 0, 0, 0}}, 0}, {a, "set2", {{13, 2, 0, 1, 0, 0}}, 0}})
                  .ok());
  EXPECT_EQ(s.LoadRepBuckets(a, "")->size(), 3u);
  EXPECT_EQ((*s.LoadRepBuckets(a, "set2"))[0].hard_bounces, 1);
  EXPECT_FALSE(s.SaveRepBucketsMany(
                    {{a, "", {{14, 1, 0, 0, 0, 0}}, 0}, {a + 100, "", {{14, 1, 0, 0, 0, 0}}, 0}})
                   .ok());
}

TYPED_TEST(ReputationStoreTest, StateSetsTheAccountsEnforcementStatus) {
  Store& s = *this->store_;
  const int64_t a = this->account_;
  auto none = s.GetReputation(a);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ReputationRow row{R"({"state":"paused"})", "paused", FromUnixMillis(1795000000123)};
  ASSERT_TRUE(s.PutReputation(a, row, "SHUTDOWN").ok());
  auto got = s.GetReputation(a);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->state_json, row.state_json);
  EXPECT_EQ((*got)->state_name, "paused");
  EXPECT_EQ(UnixMillis((*got)->fresh_start), 1795000000123);
  auto acct = s.GetAccount(a);
  ASSERT_TRUE(acct.ok());
  EXPECT_EQ(acct->enforcement_status, "SHUTDOWN");
  EXPECT_EQ(acct->enforcement_state, "paused");
  EXPECT_EQ(s.PutReputation(a, row, "BROKEN").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.PutReputation(a + 100, row, "HEALTHY").code(), StatusCode::kNotFound);
  EXPECT_EQ(s.GetAccount(a)->enforcement_status, "SHUTDOWN") << "a refused put changes nothing";
}

TYPED_TEST(ReputationStoreTest, NoticesAndCasesNewestFirst) {
  Store& s = *this->store_;
  const int64_t a = this->account_;
  NoticeRow n;
  n.account_id = a;
  n.created = this->clock_.Now();
  n.kind = "review_opened";
  n.subject = "s1";
  n.text = "t1";
  n.json = "{}";
  auto id1 = s.AddNotice(n);
  n.kind = "paused";
  n.subject = "s2";
  auto id2 = s.AddNotice(n);
  ASSERT_TRUE(id1.ok() && id2.ok());
  EXPECT_GT(*id2, *id1);
  auto list = s.ListNotices(a, 10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].subject, "s2");
  EXPECT_EQ((*list)[1].kind, "review_opened");
  EXPECT_EQ(s.ListNotices(a, 1)->size(), 1u);
  n.account_id = a + 100;
  EXPECT_EQ(s.AddNotice(n).status().code(), StatusCode::kNotFound);

  ReviewCaseRow c;
  c.account_id = a;
  c.opened = c.updated = this->clock_.Now();
  c.status = "open";
  c.json = R"({"history":[]})";
  auto cid = s.CreateReviewCase(c);
  ASSERT_TRUE(cid.ok());
  c.id = *cid;
  c.status = "accepted";
  c.json = R"({"history":[1]})";
  ASSERT_TRUE(s.UpdateReviewCase(c).ok());
  auto cases = s.ListReviewCases(a, 5);
  ASSERT_TRUE(cases.ok());
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ((*cases)[0].status, "accepted");
  EXPECT_EQ((*cases)[0].json, R"({"history":[1]})");
  c.id = 999;
  EXPECT_EQ(s.UpdateReviewCase(c).code(), StatusCode::kNotFound);
}

TYPED_TEST(ReputationStoreTest, GuardCases) {
  Store& s = *this->store_;
  ASSERT_TRUE(s.PutGuardCase(3, "{\"a\":1}").ok());
  ASSERT_TRUE(s.PutGuardCase(1, "{}").ok());
  ASSERT_TRUE(s.PutGuardCase(3, "{\"a\":2}").ok());
  auto all = s.ListGuardCases();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, 1u);
  EXPECT_EQ((*all)[1].second, "{\"a\":2}");
  ASSERT_TRUE(s.DeleteGuardCase(1).ok());
  EXPECT_EQ(s.ListGuardCases()->size(), 1u);
}

}  // namespace
}  // namespace herald::store
