#include "feedback/report_json.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace herald::feedback {
namespace {

std::set<std::string> Keys(const nlohmann::json& j) {
  std::set<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.insert(it.key());
  return keys;
}

ReportedRecipient Recipient(std::string address, Reason reason, bool hard, std::string status,
                            int reply_code) {
  ReportedRecipient r;
  r.address = std::move(address);
  r.verdict.reason = reason;
  r.verdict.hard = hard;
  r.verdict.permanent = status[0] == '5';
  r.verdict.bounce_type = hard ? "Permanent" : "Transient";
  r.verdict.bounce_sub_type = hard ? "NoEmail" : "MailboxFull";
  r.verdict.delay_type = r.verdict.permanent ? "" : "MailboxFull";
  r.verdict.status = std::move(status);
  r.verdict.action = r.verdict.permanent ? "failed" : "delayed";
  r.verdict.diagnostic_code = "smtp; " + std::to_string(reply_code) + " " + r.verdict.status;
  r.reply_code = reply_code;
  return r;
}

Report TwoRecipientBounce() {
  Report rep;
  rep.kind = FeedbackKind::kBounce;
  rep.format = "rfc3464";
  rep.reporting_mta = "mx.example.net";
  rep.arrival_date = "Mon, 2 Mar 2026 10:00:00 +0000";
  rep.subject = "Undelivered Mail Returned to Sender";
  rep.from = "MAILER-DAEMON@mx.example.net";
  ReportedRecipient a = Recipient("gone@example.net", Reason::kUserUnknown, true, "5.1.1", 550);
  a.original_recipient = "rfc822;Gone@example.net";
  a.remote_mta = "in.example.net";
  a.smtp_command = "RCPT";
  a.last_attempt_date = "Mon, 2 Mar 2026 09:59:58 +0000";
  rep.recipients.push_back(a);
  rep.recipients.push_back(
      Recipient("full@example.net", Reason::kMailboxFull, false, "4.2.2", 452));
  rep.original.message_id = "0100abc@herald.example";
  rep.original.from = "sender@example.com";
  rep.original.to = "gone@example.net";
  rep.original.subject = "Hello";
  rep.original.return_path = "b-token@bounce.example.com";
  rep.original.date = "Mon, 2 Mar 2026 09:59:00 +0000";
  rep.original.referenced_ids = {"0100abc@herald.example", "parent@example.com"};
  return rep;
}

TEST(ReportToJson, TopLevelShapeIsStable) {
  nlohmann::json j = ReportToJson(TwoRecipientBounce());
  EXPECT_EQ(Keys(j), (std::set<std::string>{"kind", "format", "reporting_mta", "arrival_date",
                                            "subject", "from", "recipients", "original"}));
  EXPECT_EQ(j["kind"], "bounce");
  EXPECT_EQ(j["format"], "rfc3464");
  EXPECT_EQ(j["reporting_mta"], "mx.example.net");
  EXPECT_EQ(j["arrival_date"], "Mon, 2 Mar 2026 10:00:00 +0000");
  EXPECT_EQ(j["subject"], "Undelivered Mail Returned to Sender");
  EXPECT_EQ(j["from"], "MAILER-DAEMON@mx.example.net");
}

TEST(ReportToJson, RecipientsKeepOrderAndEveryField) {
  nlohmann::json j = ReportToJson(TwoRecipientBounce());
  ASSERT_TRUE(j["recipients"].is_array());
  ASSERT_EQ(j["recipients"].size(), 2u);
  const nlohmann::json& a = j["recipients"][0];
  EXPECT_EQ(Keys(a),
            (std::set<std::string>{"address", "original_recipient", "reason", "hard", "permanent",
                                   "bounce_type", "bounce_sub_type", "delay_type", "status",
                                   "action", "diagnostic_code", "reply_code", "remote_mta",
                                   "smtp_command", "last_attempt_date"}));
  EXPECT_EQ(a["address"], "gone@example.net");
  EXPECT_EQ(a["original_recipient"], "rfc822;Gone@example.net");
  EXPECT_EQ(a["reason"], "user_unknown");
  EXPECT_EQ(a["hard"], true);
  EXPECT_EQ(a["permanent"], true);
  EXPECT_EQ(a["bounce_type"], "Permanent");
  EXPECT_EQ(a["bounce_sub_type"], "NoEmail");
  EXPECT_EQ(a["delay_type"], "");
  EXPECT_EQ(a["status"], "5.1.1");
  EXPECT_EQ(a["action"], "failed");
  EXPECT_EQ(a["diagnostic_code"], "smtp; 550 5.1.1");
  EXPECT_EQ(a["reply_code"], 550);
  EXPECT_TRUE(a["reply_code"].is_number_integer());
  EXPECT_EQ(a["remote_mta"], "in.example.net");
  EXPECT_EQ(a["smtp_command"], "RCPT");
  EXPECT_EQ(a["last_attempt_date"], "Mon, 2 Mar 2026 09:59:58 +0000");

  const nlohmann::json& b = j["recipients"][1];
  EXPECT_EQ(b["address"], "full@example.net");
  EXPECT_EQ(b["reason"], "mailbox_full");
  EXPECT_EQ(b["hard"], false);
  EXPECT_EQ(b["permanent"], false);
  EXPECT_EQ(b["bounce_type"], "Transient");
  EXPECT_EQ(b["delay_type"], "MailboxFull");
  EXPECT_EQ(b["status"], "4.2.2");
  EXPECT_EQ(b["action"], "delayed");
  EXPECT_EQ(b["reply_code"], 452);
  EXPECT_EQ(b["original_recipient"], "");
  EXPECT_EQ(b["smtp_command"], "");
}

TEST(ReportToJson, OriginalMessage) {
  nlohmann::json j = ReportToJson(TwoRecipientBounce());
  const nlohmann::json& o = j["original"];
  EXPECT_EQ(Keys(o), (std::set<std::string>{"message_id", "from", "to", "subject", "return_path",
                                            "date", "referenced_ids"}));
  EXPECT_EQ(o["message_id"], "0100abc@herald.example");
  EXPECT_EQ(o["from"], "sender@example.com");
  EXPECT_EQ(o["to"], "gone@example.net");
  EXPECT_EQ(o["subject"], "Hello");
  EXPECT_EQ(o["return_path"], "b-token@bounce.example.com");
  EXPECT_EQ(o["date"], "Mon, 2 Mar 2026 09:59:00 +0000");
  EXPECT_EQ(o["referenced_ids"],
            nlohmann::json::array({"0100abc@herald.example", "parent@example.com"}));
}

TEST(ReportToJson, EveryReasonNameIsPrinted) {
  // The scorer maps these names onto Sisimai's: each must come out as ReasonName says,
  // and distinct reasons must stay distinct.
  std::set<std::string> seen;
  for (int i = static_cast<int>(Reason::kUnknown); i <= static_cast<int>(Reason::kTlsRequired);
       ++i) {
    Report rep;
    rep.kind = FeedbackKind::kBounce;
    rep.recipients.push_back(
        Recipient("a@example.net", static_cast<Reason>(i), false, "5.0.0", 550));
    nlohmann::json j = ReportToJson(rep);
    std::string name = j["recipients"][0]["reason"];
    EXPECT_EQ(name, ReasonName(static_cast<Reason>(i)));
    EXPECT_EQ(ReasonFromName(name), static_cast<Reason>(i)) << name;
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(Reason::kTlsRequired) + 1);
}

TEST(ReportToJson, ComplaintOnlyForComplaints) {
  Report rep;
  rep.kind = FeedbackKind::kComplaint;
  rep.format = "arf";
  rep.complaint.feedback_type = "abuse";
  rep.complaint.user_agent = "SomeGenerator/1.0";
  rep.complaint.version = "1";
  rep.complaint.arrival_date = "Thu, 8 Mar 2005 14:00:00 EDT";
  rep.complaint.source_ip = "192.0.2.1";
  rep.complaint.original_mail_from = "somespammer@example.net";
  rep.complaint.original_rcpt_to = {"user@example.com", "other@example.com"};
  rep.complaint.reported_domain = "example.net";
  rep.complaint.redacted = true;
  nlohmann::json j = ReportToJson(rep);
  EXPECT_EQ(j["kind"], "complaint");
  ASSERT_TRUE(j.contains("complaint"));
  const nlohmann::json& c = j["complaint"];
  EXPECT_EQ(Keys(c), (std::set<std::string>{"feedback_type", "user_agent", "version",
                                            "arrival_date", "source_ip", "original_mail_from",
                                            "original_rcpt_to", "reported_domain", "redacted"}));
  EXPECT_EQ(c["feedback_type"], "abuse");
  EXPECT_EQ(c["user_agent"], "SomeGenerator/1.0");
  EXPECT_EQ(c["version"], "1");
  EXPECT_EQ(c["arrival_date"], "Thu, 8 Mar 2005 14:00:00 EDT");
  EXPECT_EQ(c["source_ip"], "192.0.2.1");
  EXPECT_EQ(c["original_mail_from"], "somespammer@example.net");
  EXPECT_EQ(c["original_rcpt_to"],
            nlohmann::json::array({"user@example.com", "other@example.com"}));
  EXPECT_EQ(c["reported_domain"], "example.net");
  EXPECT_EQ(c["redacted"], true);
  EXPECT_TRUE(j["recipients"].empty());

  // The same complaint fields on a report of another kind are not printed.
  for (FeedbackKind k :
       {FeedbackKind::kNotFeedback, FeedbackKind::kBounce, FeedbackKind::kUndetermined,
        FeedbackKind::kAutoReply, FeedbackKind::kDelivered}) {
    rep.kind = k;
    nlohmann::json other = ReportToJson(rep);
    EXPECT_FALSE(other.contains("complaint")) << FeedbackKindName(k);
    EXPECT_EQ(other["kind"], FeedbackKindName(k));
  }
}

TEST(ReportToJson, EmptyReportHasEveryMember) {
  nlohmann::json j = ReportToJson(Report{});
  EXPECT_EQ(j["kind"], "not_feedback");
  EXPECT_EQ(j["format"], "");
  EXPECT_TRUE(j["recipients"].is_array());
  EXPECT_TRUE(j["recipients"].empty());
  EXPECT_TRUE(j["original"]["referenced_ids"].is_array());
  EXPECT_EQ(j["original"]["message_id"], "");
  EXPECT_FALSE(j.contains("complaint"));
}

TEST(ReportToJson, DumpsUtf8AndRoundTrips) {
  Report rep = TwoRecipientBounce();
  rep.subject =
      "R\xC3\xBC"
      "ckl\xC3\xA4ufer \xE2\x80\x94 \"quoted\"";  // Rückläufer — "quoted"
  rep.recipients[0].verdict.diagnostic_code = "smtp; 550 \xE6\x9C\xAA\xE7\x9F\xA5";
  std::string text = ReportToJson(rep).dump();
  EXPECT_EQ(text.find('\n'), std::string::npos);  // one line per report
  nlohmann::json back = nlohmann::json::parse(text);
  EXPECT_EQ(back["subject"], rep.subject);
  EXPECT_EQ(back["recipients"][0]["diagnostic_code"], rep.recipients[0].verdict.diagnostic_code);
  EXPECT_EQ(back, ReportToJson(rep));
}

TEST(AppendReportJsonLine, ParsesToReportToJsonPlusFile) {
  Report bounce = TwoRecipientBounce();
  bounce.subject = "tab\there \"q\" back\\slash \xE2\x80\x94";
  bounce.original.referenced_ids = {"a@b", "c@d"};
  Report complaint;
  complaint.kind = FeedbackKind::kComplaint;
  complaint.complaint.feedback_type = "abuse";
  complaint.complaint.original_rcpt_to = {"x@y.example"};
  complaint.complaint.redacted = true;
  for (const Report& rep : {bounce, complaint, Report{}}) {
    std::string line;
    AppendReportJsonLine(rep, "dir/f\"1\".eml", &line);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    nlohmann::json got = nlohmann::json::parse(line);
    nlohmann::json want = ReportToJson(rep);
    want["file"] = "dir/f\"1\".eml";
    EXPECT_EQ(got, want) << line;
  }
  // A file name that is not UTF-8 still gives valid JSON.
  std::string line;
  AppendReportJsonLine(Report{}, "bad\xFF\xC3name", &line);
  nlohmann::json got = nlohmann::json::parse(line);
  EXPECT_EQ(got["file"], "bad\xEF\xBF\xBD\xEF\xBF\xBDname");
}

}  // namespace
}  // namespace herald::feedback
