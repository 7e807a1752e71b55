#include "sending/feedback_correlator.h"

#include <gtest/gtest.h>

#include <map>

#include "mail/verp.h"
#include "sending/sending_service_impl.h"
#include "tests/fakes/fake_clock.h"

namespace herald::sending {
namespace {

using feedback::FeedbackKind;
using feedback::Report;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";
constexpr char kDomain[] = "bounces.herald.test";

// What herald "sent", without the event machinery.
class FakeSent final : public SentMessageLookup {
 public:
  SentMessagePtr Add(const std::string& id, std::vector<std::string> rcpts) {
    auto m = std::make_shared<SentMessage>();
    m->message_id = id;
    m->accepted = MessageIdTime(id).value();
    m->recipients = std::move(rcpts);
    m->mail_json = R"({"messageId":")" + id + R"("})";
    messages_[id] = m;
    order_.push_back(m);
    return m;
  }
  SentMessagePtr Find(std::string_view id) override {
    ++finds;
    auto it = messages_.find(std::string(id));
    return it == messages_.end() ? nullptr : it->second;
  }
  SentMessagePtr LatestTo(std::string_view address, SysTime since) override {
    SentMessagePtr best;
    for (const auto& m : order_) {
      for (const auto& r : m->recipients) {
        if (EqualsIgnoreCaseForTest(r, address) && m->accepted >= since &&
            (best == nullptr || m->accepted >= best->accepted)) {
          best = m;
        }
      }
    }
    return best;
  }
  int finds = 0;

 private:
  static bool EqualsIgnoreCaseForTest(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i]))) {
        return false;
      }
    }
    return true;
  }
  std::map<std::string, SentMessagePtr> messages_;
  std::vector<SentMessagePtr> order_;
};

feedback::ReportedRecipient Failed(const std::string& address,
                                   const std::string& status = "5.1.1") {
  feedback::ReportedRecipient r;
  r.address = address;
  r.verdict.action = "failed";
  r.verdict.status = status;
  return r;
}

class CorrelatorTest : public ::testing::Test {
 protected:
  std::string Verp(const std::string& id, uint32_t index, std::string_view secret = kSecret) {
    auto local = mail::EncodeVerpLocalPart({id, index}, secret);
    EXPECT_TRUE(local.ok());
    return *local + "@" + kDomain;
  }
  std::string NewId() {
    clock_.Advance(std::chrono::minutes(1));
    return NewMessageId(clock_.Now());
  }
  Correlation Run(const Report& r, std::vector<std::string> env = {"fbl@bounces.herald.test"}) {
    return correlator_.Correlate(r, env, clock_.Now());
  }

  FakeClock clock_;
  FakeSent sent_;
  FeedbackCorrelator correlator_{sent_, {kSecret, std::chrono::hours(24 * 7)}};
};

TEST_F(CorrelatorTest, VerpTokenNamesMessageAndRecipient) {
  const std::string id = NewId();
  sent_.Add(id, {"a@dest.test", "b@dest.test", "c@dest.test"});
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Failed("x@elsewhere.test"), Failed("B@dest.test")};
  Correlation c = Run(r, {Verp(id, 1)});
  EXPECT_EQ(c.method, CorrelationMethod::kVerp);
  ASSERT_EQ(c.matches.size(), 1u);
  EXPECT_EQ(c.matches[0].message->message_id, id);
  ASSERT_EQ(c.matches[0].recipients.size(), 1u);
  EXPECT_EQ(c.matches[0].recipients[0].address, "b@dest.test");  // herald's spelling
  EXPECT_EQ(c.matches[0].recipients[0].report_index, 1);
  EXPECT_EQ(c.ignored, std::vector<std::string>{"x@elsewhere.test"});
}

TEST_F(CorrelatorTest, VerpRecipientWinsOverARewrittenAddress) {
  const std::string id = NewId();
  sent_.Add(id, {"list@dest.test"});
  Report r;
  r.kind = FeedbackKind::kBounce;
  feedback::ReportedRecipient delayed = Failed("member1@internal.dest.test");
  delayed.verdict.action = "delayed";
  r.recipients = {delayed, Failed("member2@internal.dest.test")};
  Correlation c = Run(r, {Verp(id, 0)});
  ASSERT_EQ(c.matches.size(), 1u);
  ASSERT_EQ(c.matches[0].recipients.size(), 1u);
  EXPECT_EQ(c.matches[0].recipients[0].address, "list@dest.test");
  EXPECT_EQ(c.matches[0].recipients[0].report_index, 1);  // the first failed entry
}

TEST_F(CorrelatorTest, ValidTokenForAnUnknownMessageIsAnOrphanNotAGuess) {
  const std::string known = NewId();
  sent_.Add(known, {"a@dest.test"});
  const std::string forgotten = NewId();
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Failed("a@dest.test")};
  r.original.message_id = known + "@herald.test";  // would match by id, and by time
  Correlation c = Run(r, {Verp(forgotten, 0)});
  EXPECT_TRUE(c.matches.empty());
  EXPECT_EQ(c.orphan_reason, "message_unknown");
}

TEST_F(CorrelatorTest, ForgedTokenIsIgnoredAndTheMessageIdDecides) {
  const std::string id = NewId();
  sent_.Add(id, {"a@dest.test", "b@dest.test"});
  const std::string other = NewId();
  sent_.Add(other, {"a@dest.test"});
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Failed("a@dest.test")};
  r.original.referenced_ids = {"<" + id + "@herald.test>"};
  Correlation c = Run(r, {Verp(other, 0, "another secret entirely, not ours")});
  EXPECT_EQ(c.method, CorrelationMethod::kMessageId);
  ASSERT_EQ(c.matches.size(), 1u);
  EXPECT_EQ(c.matches[0].message->message_id, id);
}

TEST_F(CorrelatorTest, MessageTokenReportsOnlyTheMessagesRecipients) {
  const std::string id = NewId();
  sent_.Add(id, {"a@dest.test", "b@dest.test"});
  const std::string foreign = NewId();
  sent_.Add(foreign, {"victim@other-account.test"});  // another account's recipient
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Failed("victim@other-account.test"), Failed("b@dest.test"),
                  Failed("B@DEST.TEST")};
  Correlation c = Run(r, {Verp(id, UINT32_MAX)});
  EXPECT_EQ(c.method, CorrelationMethod::kVerp);
  ASSERT_EQ(c.matches.size(), 1u);
  EXPECT_EQ(c.matches[0].message->message_id, id);
  ASSERT_EQ(c.matches[0].recipients.size(), 1u);
  EXPECT_EQ(c.matches[0].recipients[0].address, "b@dest.test");
  EXPECT_EQ(c.matches[0].recipients[0].report_index, 1);
  EXPECT_EQ(c.ignored, std::vector<std::string>{"victim@other-account.test"});

  r.recipients = {Failed("victim@other-account.test")};
  c = Run(r, {Verp(id, UINT32_MAX)});
  EXPECT_TRUE(c.matches.empty());
  EXPECT_EQ(c.orphan_reason, "recipient_not_in_message");
}

TEST_F(CorrelatorTest, MessageIdInReturnedHeadersAnyCase) {
  const std::string id = NewId();
  sent_.Add(id, {"a@dest.test"});
  Report r;
  r.kind = FeedbackKind::kUndetermined;  // no recipient entries at all
  std::string upper = id;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  r.original.message_id = upper + "@herald.test";
  Correlation c = Run(r);
  EXPECT_EQ(c.method, CorrelationMethod::kMessageId);
  ASSERT_EQ(c.matches.size(), 1u);
  ASSERT_EQ(c.matches[0].recipients.size(), 1u);
  EXPECT_EQ(c.matches[0].recipients[0].address, "a@dest.test");  // the only recipient
  EXPECT_EQ(c.matches[0].recipients[0].report_index, -1);
}

TEST_F(CorrelatorTest, NoEntriesAndSeveralRecipientsIsNotAGuess) {
  const std::string id = NewId();
  sent_.Add(id, {"a@dest.test", "b@dest.test"});
  Report r;
  r.kind = FeedbackKind::kUndetermined;
  r.original.message_id = id + "@herald.test";
  Correlation c = Run(r);
  EXPECT_TRUE(c.matches.empty());
  EXPECT_EQ(c.orphan_reason, "recipient_not_identified");
}

TEST_F(CorrelatorTest, RecipientAndTimeFindsTheLatestMessageInTheWindow) {
  const std::string old_id = NewId();
  sent_.Add(old_id, {"a@dest.test"});
  const std::string new_id = NewId();
  sent_.Add(new_id, {"a@dest.test", "z@dest.test"});
  const std::string other = NewId();
  sent_.Add(other, {"q@dest.test"});
  Report r;
  r.kind = FeedbackKind::kBounce;
  r.recipients = {Failed("A@dest.test"), Failed("q@dest.test"), Failed("unknown@dest.test")};
  Correlation c = Run(r);
  EXPECT_EQ(c.method, CorrelationMethod::kRecipientTime);
  ASSERT_EQ(c.matches.size(), 2u);
  EXPECT_EQ(c.matches[0].message->message_id, new_id);
  EXPECT_EQ(c.matches[0].recipients[0].address, "a@dest.test");
  EXPECT_EQ(c.matches[0].recipients[0].report_index, 0);
  EXPECT_EQ(c.matches[1].message->message_id, other);
  EXPECT_EQ(c.matches[1].recipients[0].report_index, 1);
  EXPECT_EQ(c.ignored, std::vector<std::string>{"unknown@dest.test"});

  clock_.Advance(std::chrono::hours(24 * 8));  // beyond the window
  c = Run(r);
  EXPECT_TRUE(c.matches.empty());
  EXPECT_EQ(c.orphan_reason, "uncorrelated");
}

TEST_F(CorrelatorTest, RedactedComplaintStandsForRecipientsAtTheComplainingDomain) {
  const std::string id = NewId();
  sent_.Add(id, {"a@yahoo.test", "b@mail.yahoo.test", "c@gmail.test"});
  Report r;
  r.kind = FeedbackKind::kComplaint;
  r.from = "Yahoo! Feedback <feedback@arf.yahoo.test>";
  r.complaint.redacted = true;
  r.complaint.original_rcpt_to = {"redacted@yahoo.test"};
  r.original.message_id = id + "@herald.test";
  Correlation c = Run(r);
  ASSERT_EQ(c.matches.size(), 1u);
  std::vector<std::string> got;
  for (const auto& m : c.matches[0].recipients) got.push_back(m.address);
  EXPECT_EQ(got, (std::vector<std::string>{"a@yahoo.test", "b@mail.yahoo.test"}));
}

TEST_F(CorrelatorTest, UnredactedComplaintNamesOnlyRealRecipients) {
  const std::string id = NewId();
  sent_.Add(id, {"a@isp.test", "b@isp.test"});
  Report r;
  r.kind = FeedbackKind::kComplaint;
  r.from = "fbl@isp.test";
  r.complaint.original_rcpt_to = {"B@isp.test"};
  r.original.message_id = id + "@herald.test";
  Correlation c = Run(r);
  ASSERT_EQ(c.matches.size(), 1u);
  ASSERT_EQ(c.matches[0].recipients.size(), 1u);
  EXPECT_EQ(c.matches[0].recipients[0].address, "b@isp.test");

  r.complaint.original_rcpt_to = {"stranger@isp.test"};
  c = Run(r);
  EXPECT_TRUE(c.matches.empty());
  EXPECT_EQ(c.orphan_reason, "recipient_not_in_message");

  // Without a message id, a redacted complaint has nothing to go on.
  r.original.message_id.clear();
  r.complaint.redacted = true;
  c = Run(r);
  EXPECT_EQ(c.orphan_reason, "redacted_uncorrelated");
}

TEST_F(CorrelatorTest, AutoReplyByItsSender) {
  const std::string id = NewId();
  sent_.Add(id, {"away@dest.test", "other@dest.test"});
  Report r;
  r.kind = FeedbackKind::kAutoReply;
  r.from = "\"On Holiday\" <Away@dest.test>";
  Correlation c = Run(r);
  EXPECT_EQ(c.method, CorrelationMethod::kRecipientTime);
  ASSERT_EQ(c.matches.size(), 1u);
  EXPECT_EQ(c.matches[0].recipients[0].address, "away@dest.test");
}

TEST_F(CorrelatorTest, TokenIndexBeyondTheMessageIsAnOrphan) {
  const std::string id = NewId();
  sent_.Add(id, {"a@dest.test"});
  Report r;
  r.kind = FeedbackKind::kBounce;
  Correlation c = Run(r, {Verp(id, 5)});
  EXPECT_EQ(c.orphan_reason, "verp_recipient_out_of_range");
}

TEST(CorrelatorHelpersTest, FindsHeraldIds) {
  const std::string id = "0100019a2b3c4d5e-1b2c3d4e-5f60-4718-a9b0-c1d2e3f4a5b6-000000";
  std::string upper = id;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_EQ(FindHeraldMessageIds("<" + upper + "@herald.test> <" + id + "@x>"),
            std::vector<std::string>{id});
  EXPECT_TRUE(FindHeraldMessageIds("<" + id.substr(0, 59) + "@herald.test>").empty());
  EXPECT_TRUE(
      FindHeraldMessageIds("0100019a2b3c4d5e-1b2c3d4e-5f60-4718-a9b0-c1d2e3f4a5bg-000000").empty());
  EXPECT_TRUE(FindHeraldMessageIds("").empty());
}

TEST(CorrelatorHelpersTest, OrganisationalDomain) {
  EXPECT_EQ(OrganisationalDomain("arf.mail.Yahoo.com"), "yahoo.com");
  EXPECT_EQ(OrganisationalDomain("yahoo.com"), "yahoo.com");
  EXPECT_EQ(OrganisationalDomain("mx.example.co.uk"), "example.co.uk");
  EXPECT_EQ(OrganisationalDomain("localhost"), "localhost");
}

}  // namespace
}  // namespace herald::sending
