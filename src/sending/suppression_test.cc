// The SuppressionRecorder over the in-memory store, and the pure helpers of suppression.h.
#include "sending/suppression.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/fakes/fake_clock.h"
#include "tests/fakes/mem_store.h"

namespace herald::sending {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

class SuppressionRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = store_.CreateAccount("tenant", clock_.Now());
    ASSERT_TRUE(a.ok());
    account_ = a->id;
  }

  OutcomeFacts Bounce(const std::string& rcpt, const std::string& subtype = "General") {
    OutcomeFacts f;
    f.kind = OutcomeFacts::Kind::kHardBounce;
    f.account_id = account_;
    f.message_id = "0100018c0000aaaa-msg-" + rcpt;
    f.sent_at = clock_.Now() - minutes(3);
    f.at = clock_.Now();
    f.recipient = rcpt;
    f.feedback_id = "fb-" + rcpt;
    f.bounce_sub_type = subtype;
    f.status = "5.1.1";
    f.diagnostic = "smtp; 550 5.1.1 <" + rcpt + ">: no such user";
    return f;
  }

  OutcomeFacts Complaint(const std::string& rcpt) {
    OutcomeFacts f = Bounce(rcpt);
    f.kind = OutcomeFacts::Kind::kComplaint;
    f.bounce_sub_type.clear();
    f.status.clear();
    f.diagnostic.clear();
    f.feedback_type = "abuse";
    return f;
  }

  void MakeSet(const std::string& name, const std::string& suppression_options_json) {
    store::ConfigurationSet set;
    set.account_id = account_;
    set.name = name;
    set.suppression_options_json = suppression_options_json;
    ASSERT_TRUE(store_.CreateConfigurationSet(set).ok());
  }

  bool OnAccountList(const std::string& address) {
    return store_.GetSuppressedDestination(account_, address).ok();
  }
  bool Global(const std::string& address) {
    auto r = store_.FindGloballySuppressed({address}, clock_.Now());
    return r.ok() && !r->empty();
  }

  FakeClock clock_;
  store::MemStore store_;
  int64_t account_ = 0;
  SuppressionConfig config_;
};

TEST_F(SuppressionRecorderTest, HardBouncesAndComplaintsAddEntriesThatKeepTheirOrigin) {
  SuppressionRecorder recorder(config_, store_);
  recorder.OnOutcomes({Bounce("Gone@Example.org"), Complaint("angry@example.org")});

  auto bounced = store_.GetSuppressedDestination(account_, "gone@example.org");
  ASSERT_TRUE(bounced.ok()) << bounced.status().ToString();
  EXPECT_EQ(bounced->address, "Gone@Example.org");
  EXPECT_EQ(bounced->reason, store::SuppressionReason::kBounce);
  EXPECT_EQ(bounced->message_id, "0100018c0000aaaa-msg-Gone@Example.org");
  EXPECT_EQ(bounced->feedback_id, "fb-Gone@Example.org");
  EXPECT_EQ(bounced->diagnostic, "smtp; 550 5.1.1 <Gone@Example.org>: no such user");
  EXPECT_EQ(bounced->last_update, clock_.Now());

  auto complained = store_.GetSuppressedDestination(account_, "angry@example.org");
  ASSERT_TRUE(complained.ok());
  EXPECT_EQ(complained->reason, store::SuppressionReason::kComplaint);
  EXPECT_EQ(complained->feedback_id, "fb-angry@example.org");
  EXPECT_EQ(complained->diagnostic, "");

  // A hard bounce lists the address globally, with its diagnostic; a complaint does not.
  auto g = store_.GetGlobalSuppression("gone@example.org");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->listed_until, clock_.Now() + hours(24));
  EXPECT_EQ(g->diagnostic, "smtp; 550 5.1.1 <Gone@Example.org>: no such user");
  EXPECT_FALSE(Global("angry@example.org"));
}

TEST_F(SuppressionRecorderTest, TheAccountsReasonsDecideWhatIsAdded) {
  ASSERT_TRUE(store_.SetSuppressionAttributes(account_, {true, false}, "").ok());
  SuppressionRecorder recorder(config_, store_);
  recorder.OnOutcomes({Bounce("b@example.org"), Complaint("c@example.org")});
  EXPECT_TRUE(OnAccountList("b@example.org"));
  EXPECT_FALSE(OnAccountList("c@example.org"));

  ASSERT_TRUE(store_.SetSuppressionAttributes(account_, {false, false}, "").ok());
  recorder.OnOutcomes({Bounce("b2@example.org"), Complaint("c2@example.org")});
  EXPECT_FALSE(OnAccountList("b2@example.org"));
  EXPECT_FALSE(OnAccountList("c2@example.org"));
  // The global list is not the account's to switch off.
  EXPECT_TRUE(Global("b2@example.org"));
}

TEST_F(SuppressionRecorderTest, AConfigurationSetsSuppressionOptionsOverrideTheAccount) {
  MakeSet("none", R"({"SuppressedReasons":[]})");
  MakeSet("complaints", R"({"SuppressedReasons":["COMPLAINT"]})");
  MakeSet("unset", "");
  ASSERT_TRUE(store_.SetSuppressionAttributes(account_, {true, false}, "").ok());
  SuppressionRecorder recorder(config_, store_);

  auto in_set = [](OutcomeFacts f, const std::string& set) {
    f.configuration_set = set;
    return f;
  };
  recorder.OnOutcomes(
      {in_set(Bounce("n1@example.org"), "none"), in_set(Complaint("c1@example.org"), "complaints"),
       in_set(Bounce("c2@example.org"), "complaints"), in_set(Bounce("u1@example.org"), "unset"),
       in_set(Complaint("u2@example.org"), "unset"),
       in_set(Bounce("d1@example.org"), "deleted-since")});
  EXPECT_FALSE(OnAccountList("n1@example.org"));  // the set suppresses nothing
  EXPECT_TRUE(Global("n1@example.org"));
  EXPECT_TRUE(OnAccountList("c1@example.org"));   // the set adds complaints...
  EXPECT_FALSE(OnAccountList("c2@example.org"));  // ...and only complaints
  EXPECT_TRUE(OnAccountList("u1@example.org"));   // no group: the account's BOUNCE
  EXPECT_FALSE(OnAccountList("u2@example.org"));
  EXPECT_TRUE(OnAccountList("d1@example.org"));  // a set that is gone: the account's
}

TEST_F(SuppressionRecorderTest, GlobalListBouncesGoToTheAccountListOnly) {
  SuppressionRecorder recorder(config_, store_);
  recorder.OnOutcomes({Bounce("listed@example.org", "Suppressed")});
  EXPECT_TRUE(OnAccountList("listed@example.org"));
  // herald's own Suppressed bounce must not extend the global listing that caused it.
  EXPECT_EQ(store_.GetGlobalSuppression("listed@example.org").status().code(),
            StatusCode::kNotFound);
}

TEST_F(SuppressionRecorderTest, GlobalListCanBeSwitchedOffAndItsPolicyIsUsed) {
  SuppressionConfig off = config_;
  off.global_enabled = false;
  SuppressionRecorder(off, store_).OnOutcomes({Bounce("x@example.org")});
  EXPECT_TRUE(OnAccountList("x@example.org"));
  EXPECT_FALSE(Global("x@example.org"));

  SuppressionConfig shorter = config_;
  shorter.global_policy.first_listing = hours(2);
  SuppressionRecorder(shorter, store_).OnOutcomes({Bounce("y@example.org")});
  auto g = store_.GetGlobalSuppression("y@example.org");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->listed_until, clock_.Now() + hours(2));
}

TEST_F(SuppressionRecorderTest, LongDiagnosticsAreCutAndStoreFailuresAreOnlyLogged) {
  SuppressionRecorder recorder(config_, store_);
  OutcomeFacts f = Bounce("long@example.org");
  // Multi-byte characters across the cut: the stored text stays valid UTF-8.
  f.diagnostic = "550 " + std::string(store::kMaxSuppressionDiagnosticLength, 'x') + "\xC3\xA9";
  f.diagnostic.replace(store::kMaxSuppressionDiagnosticLength - 1, 2, "\xC3\xA9");
  recorder.OnOutcomes({f});
  auto e = store_.GetSuppressedDestination(account_, "long@example.org");
  ASSERT_TRUE(e.ok());
  EXPECT_LE(e->diagnostic.size(), store::kMaxSuppressionDiagnosticLength);
  EXPECT_EQ(e->diagnostic, f.diagnostic.substr(0, store::kMaxSuppressionDiagnosticLength - 1));

  store_.FailAllForTest(UnavailableError("disk on fire"));
  recorder.OnOutcomes({Bounce("lost@example.org"), Complaint("lost2@example.org")});
  store_.FailAllForTest(Status::Ok());
  EXPECT_FALSE(OnAccountList("lost@example.org"));
  // The recorder holds nothing over: the next outcomes are recorded.
  recorder.OnOutcomes({Bounce("next@example.org")});
  EXPECT_TRUE(OnAccountList("next@example.org"));
  recorder.OnOutcomes({});
  recorder.OnSend(SendFacts{});
}

TEST_F(SuppressionRecorderTest, OutcomesOfUnknownAccountsStillFeedTheGlobalList) {
  SuppressionRecorder recorder(config_, store_);
  OutcomeFacts f = Bounce("orphan@example.org");
  f.account_id = account_ + 99;
  recorder.OnOutcomes({f, Bounce("mine@example.org")});
  EXPECT_TRUE(Global("orphan@example.org"));
  EXPECT_TRUE(OnAccountList("mine@example.org"));
}

TEST(SuppressionEventTest, ShapesOfTheThreeKinds) {
  const nlohmann::json mail = {{"messageId", "m-1"}};
  const SysTime now = FromUnixMillis(1795000000123);
  auto parse = [](const SuppressionEventInfo& info) { return nlohmann::json::parse(info.line); };

  SuppressionEventInfo b =
      SuppressionEvent(SuppressionHit::kAccountBounce, mail, "A@x.test", now, "herald.test");
  nlohmann::json e = parse(b);
  EXPECT_EQ(e["eventType"], "Bounce");
  EXPECT_EQ(e["mail"]["messageId"], "m-1");
  EXPECT_EQ(e["bounce"]["bounceType"], "Permanent");
  EXPECT_EQ(e["bounce"]["bounceSubType"], "OnAccountSuppressionList");
  EXPECT_EQ(e["bounce"]["feedbackId"], b.feedback_id);
  EXPECT_EQ(e["bounce"]["timestamp"], "2026-11-18T11:06:40.123Z");
  EXPECT_EQ(e["bounce"]["reportingMTA"], "dsn; herald.test");
  const auto& r = e["bounce"]["bouncedRecipients"][0];
  EXPECT_EQ(r["emailAddress"], "A@x.test");
  EXPECT_EQ(r["action"], "failed");
  EXPECT_EQ(r["status"], b.status);
  EXPECT_EQ(r["diagnosticCode"], b.diagnostic);
  EXPECT_NE(b.diagnostic.find("suppression list of the sending account"), std::string::npos);

  SuppressionEventInfo c =
      SuppressionEvent(SuppressionHit::kAccountComplaint, mail, "A@x.test", now, "herald.test");
  e = parse(c);
  EXPECT_EQ(e["eventType"], "Complaint");
  EXPECT_EQ(e["complaint"]["complaintSubType"], "OnAccountSuppressionList");
  EXPECT_EQ(e["complaint"]["complainedRecipients"][0]["emailAddress"], "A@x.test");
  EXPECT_EQ(e["complaint"]["feedbackId"], c.feedback_id);
  EXPECT_FALSE(e["complaint"].contains("complaintFeedbackType"));
  EXPECT_TRUE(c.diagnostic.empty());

  SuppressionEventInfo g =
      SuppressionEvent(SuppressionHit::kGlobal, mail, "A@x.test", now, "herald.test");
  e = parse(g);
  EXPECT_EQ(e["bounce"]["bounceSubType"], "Suppressed");
  EXPECT_NE(g.diagnostic.find("global suppression list"), std::string::npos);
  EXPECT_NE(g.feedback_id, b.feedback_id);

  for (SuppressionHit h : {SuppressionHit::kAccountBounce, SuppressionHit::kAccountComplaint,
                           SuppressionHit::kGlobal}) {
    EXPECT_EQ(ParseSuppressionHit(SuppressionHitName(h)), h);
  }
  EXPECT_FALSE(ParseSuppressionHit("bounce").has_value());
}

TEST(SuppressionReasonsTest, SetOptionsOverrideOnlyWhenTheGroupIsThere) {
  EXPECT_FALSE(SetSuppressedReasons("").has_value());
  EXPECT_FALSE(SetSuppressedReasons("not json").has_value());
  EXPECT_FALSE(SetSuppressedReasons(R"({"SuppressedReasons":["SPAM"]})").has_value());
  EXPECT_EQ(SetSuppressedReasons(R"({"SuppressedReasons":[]})"),
            (store::SuppressionReasons{false, false}));
  EXPECT_EQ(SetSuppressedReasons(R"({"SuppressedReasons":["COMPLAINT","BOUNCE"]})"),
            (store::SuppressionReasons{true, true}));
  store::Account account;
  account.suppressed_reasons = {true, false};
  store::ConfigurationSet set;
  EXPECT_EQ(AdditionReasons(account, nullptr), (store::SuppressionReasons{true, false}));
  EXPECT_EQ(AdditionReasons(account, &set), (store::SuppressionReasons{true, false}));
  set.suppression_options_json = R"({"SuppressedReasons":["COMPLAINT"]})";
  EXPECT_EQ(AdditionReasons(account, &set), (store::SuppressionReasons{false, true}));
}

TEST(SuppressionImportTest, CsvWithAHeaderAndJsonLines) {
  ImportParse p = ParseSuppressionImport(
      "EmailAddress,Reason\r\n"
      "one@example.com,BOUNCE\r\n"
      "\r\n"
      "  Two@Example.COM ,  complaint \r\n"
      "{\"EmailAddress\":\"three@example.com\",\"Reason\":\"COMPLAINT\"}\n"
      "{\"emailAddress\":\"four@B\xC3\xBC"
      "cher.example\",\"reason\":\"BOUNCE\"}");
  EXPECT_TRUE(p.errors.empty()) << p.errors[0];
  ASSERT_EQ(p.entries.size(), 4u);
  EXPECT_EQ(p.entries[0].address, "one@example.com");
  EXPECT_EQ(p.entries[0].reason, store::SuppressionReason::kBounce);
  EXPECT_EQ(p.entries[1].address, "Two@Example.COM");
  EXPECT_EQ(p.entries[1].reason, store::SuppressionReason::kComplaint);
  EXPECT_EQ(p.entries[2].address, "three@example.com");
  EXPECT_EQ(p.entries[2].reason, store::SuppressionReason::kComplaint);
  EXPECT_EQ(p.entries[3].address, "four@xn--bcher-kva.example");  // as the send path sees it

  // Without a header the first line is an entry.
  p = ParseSuppressionImport("a@example.com,BOUNCE\nb@example.com,COMPLAINT\n");
  EXPECT_TRUE(p.errors.empty());
  EXPECT_EQ(p.entries.size(), 2u);
  EXPECT_TRUE(ParseSuppressionImport("").entries.empty());
  EXPECT_TRUE(ParseSuppressionImport("").errors.empty());
}

TEST(SuppressionImportTest, BadLinesAreReportedWithTheirNumbers) {
  ImportParse p = ParseSuppressionImport(
      "ok@example.com,BOUNCE\n"
      "no-comma@example.com\n"
      "bad address,BOUNCE\n"
      "x@example.com,SPAM\n"
      "\n"
      "{\"EmailAddress\":\"y@example.com\"}\n"
      "{not json\n"
      "Name <z@example.com>,BOUNCE\n"
      "w@example.com,BOUNCE,extra\n"
      "nohdr,BOUNCE\n");
  ASSERT_EQ(p.errors.size(), 8u) << ::testing::PrintToString(p.errors);
  EXPECT_EQ(p.errors[0], "line 2: expected \"address,BOUNCE\" or \"address,COMPLAINT\"");
  EXPECT_EQ(p.errors[1].rfind("line 3: invalid email address: ", 0), 0u) << p.errors[1];
  EXPECT_EQ(p.errors[2], "line 4: the reason must be BOUNCE or COMPLAINT");
  EXPECT_EQ(p.errors[3], "line 6: EmailAddress and Reason strings are required");
  EXPECT_EQ(p.errors[4], "line 7: not a JSON object");
  EXPECT_EQ(p.errors[5], "line 8: invalid email address: a display name is not allowed");
  EXPECT_EQ(p.errors[6], "line 9: too many fields");
  EXPECT_EQ(p.errors[7].rfind("line 10: invalid email address: ", 0), 0u) << p.errors[7];
  ASSERT_EQ(p.entries.size(), 1u);  // the caller imports nothing, but the parse is complete
  // A header is recognised on the first line only.
  p = ParseSuppressionImport("a@example.com,BOUNCE\nEmailAddress,Reason\n");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0], "line 2: the reason must be BOUNCE or COMPLAINT");
}

TEST(SuppressionImportTest, EntryAndErrorCountsAreBounded) {
  std::string text;
  for (int i = 0; i < 4; ++i) text += "u" + std::to_string(i) + "@example.com,BOUNCE\n";
  ImportParse p = ParseSuppressionImport(text, 3);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0], "line 4: more than 3 entries in one import");
  EXPECT_TRUE(ParseSuppressionImport(text, 4).errors.empty());

  std::string bad;
  for (size_t i = 0; i < kMaxImportErrors + 5; ++i) bad += "nope\n";
  p = ParseSuppressionImport(bad);
  ASSERT_EQ(p.errors.size(), kMaxImportErrors + 1);
  EXPECT_EQ(p.errors.back(), "... and 5 more bad lines");
}

TEST(SuppressionAddressTest, KeepsTheGivenCaseAndRefusesWhatTheSendPathRefuses) {
  EXPECT_EQ(*SuppressionAddress("Some.One@Example.COM"), "Some.One@Example.COM");
  EXPECT_FALSE(SuppressionAddress("").ok());
  EXPECT_FALSE(SuppressionAddress("no-at-sign").ok());
  EXPECT_FALSE(SuppressionAddress("Name <a@example.com>").ok());
  EXPECT_FALSE(SuppressionAddress("<a@example.com>").ok());
}

}  // namespace
}  // namespace herald::sending
