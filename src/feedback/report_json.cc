#include "feedback/report_json.h"

namespace herald::feedback {

nlohmann::json RecipientToJson(const ReportedRecipient& r) {
  const Verdict& v = r.verdict;
  return nlohmann::json{
      {"address", r.address},
      {"original_recipient", r.original_recipient},
      {"reason", ReasonName(v.reason)},
      {"hard", v.hard},
      {"permanent", v.permanent},
      {"bounce_type", v.bounce_type},
      {"bounce_sub_type", v.bounce_sub_type},
      {"delay_type", v.delay_type},
      {"status", v.status},
      {"action", v.action},
      {"diagnostic_code", v.diagnostic_code},
      {"reply_code", r.reply_code},
      {"remote_mta", r.remote_mta},
      {"smtp_command", r.smtp_command},
      {"last_attempt_date", r.last_attempt_date},
  };
}

nlohmann::json ReportToJson(const Report& report) {
  nlohmann::json out = nlohmann::json::object();
  out["kind"] = FeedbackKindName(report.kind);
  out["format"] = report.format;
  out["reporting_mta"] = report.reporting_mta;
  out["arrival_date"] = report.arrival_date;
  out["subject"] = report.subject;
  out["from"] = report.from;

  nlohmann::json recipients = nlohmann::json::array();
  for (const auto& r : report.recipients) recipients.push_back(RecipientToJson(r));
  out["recipients"] = std::move(recipients);

  if (report.kind == FeedbackKind::kComplaint) {
    const ComplaintReport& c = report.complaint;
    out["complaint"] = {
        {"feedback_type", c.feedback_type},
        {"user_agent", c.user_agent},
        {"version", c.version},
        {"arrival_date", c.arrival_date},
        {"source_ip", c.source_ip},
        {"original_mail_from", c.original_mail_from},
        {"original_rcpt_to", c.original_rcpt_to},
        {"reported_domain", c.reported_domain},
        {"redacted", c.redacted},
    };
  }

  const OriginalMessage& o = report.original;
  out["original"] = {
      {"message_id", o.message_id},
      {"from", o.from},
      {"to", o.to},
      {"subject", o.subject},
      {"return_path", o.return_path},
      {"date", o.date},
      {"referenced_ids", o.referenced_ids},
  };
  return out;
}

}  // namespace herald::feedback
