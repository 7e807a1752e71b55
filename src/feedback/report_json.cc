#include "feedback/report_json.h"

#include <array>

#include "mail/message.h"

namespace herald::feedback {
namespace {

// Bytes a JSON string cannot hold as they are (RFC 8259 section 7), and DEL.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = t['\\'] = t[0x7F] = true;
  return t;
}();

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string fixed;
  if (!mail::IsValidUtf8(s)) {
    // Replace each byte that does not start a valid sequence (rare: file names only).
    for (size_t i = 0; i < s.size();) {
      size_t len = 1;
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0xC2 && c <= 0xF4) len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      if (c < 0x80 || (i + len <= s.size() && mail::IsValidUtf8(s.substr(i, len)))) {
        fixed.append(s.substr(i, c < 0x80 ? 1 : len));
        i += c < 0x80 ? 1 : len;
      } else {
        fixed.append("\xEF\xBF\xBD");
        ++i;
      }
    }
    s = fixed;
  }
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied; copied in runs (this is hot)
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (!kNeedsEscape[c]) continue;
    out->append(s.substr(run, i - run));
    run = i + 1;
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.substr(run));
  out->push_back('"');
}

void Key(std::string_view k, std::string* out) {
  out->push_back('"');
  out->append(k);
  out->append("\":");
}

void Member(std::string_view k, std::string_view v, std::string* out, bool comma = true) {
  Key(k, out);
  AppendJsonString(v, out);
  if (comma) out->push_back(',');
}

void StringArray(const std::vector<std::string>& v, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(v[i], out);
  }
  out->push_back(']');
}

}  // namespace

void AppendReportJsonLine(const Report& report, std::string_view file, std::string* out) {
  out->push_back('{');
  Member("file", file, out);
  Member("kind", FeedbackKindName(report.kind), out);
  Member("format", report.format, out);
  Member("reporting_mta", report.reporting_mta, out);
  Member("arrival_date", report.arrival_date, out);
  Member("subject", report.subject, out);
  Member("from", report.from, out);
  Key("recipients", out);
  out->push_back('[');
  for (size_t i = 0; i < report.recipients.size(); ++i) {
    const ReportedRecipient& r = report.recipients[i];
    const Verdict& v = r.verdict;
    if (i > 0) out->push_back(',');
    out->push_back('{');
    Member("address", r.address, out);
    Member("original_recipient", r.original_recipient, out);
    Member("reason", ReasonName(v.reason), out);
    Key("hard", out);
    out->append(v.hard ? "true," : "false,");
    Key("permanent", out);
    out->append(v.permanent ? "true," : "false,");
    Member("bounce_type", v.bounce_type, out);
    Member("bounce_sub_type", v.bounce_sub_type, out);
    Member("delay_type", v.delay_type, out);
    Member("status", v.status, out);
    Member("action", v.action, out);
    Member("diagnostic_code", v.diagnostic_code, out);
    Key("reply_code", out);
    out->append(std::to_string(r.reply_code));
    out->push_back(',');
    Member("remote_mta", r.remote_mta, out);
    Member("smtp_command", r.smtp_command, out);
    Member("last_attempt_date", r.last_attempt_date, out, false);
    out->push_back('}');
  }
  out->append("],");
  if (report.kind == FeedbackKind::kComplaint) {
    const ComplaintReport& c = report.complaint;
    Key("complaint", out);
    out->push_back('{');
    Member("feedback_type", c.feedback_type, out);
    Member("user_agent", c.user_agent, out);
    Member("version", c.version, out);
    Member("arrival_date", c.arrival_date, out);
    Member("source_ip", c.source_ip, out);
    Member("original_mail_from", c.original_mail_from, out);
    Key("original_rcpt_to", out);
    StringArray(c.original_rcpt_to, out);
    out->push_back(',');
    Member("reported_domain", c.reported_domain, out);
    Key("redacted", out);
    out->append(c.redacted ? "true" : "false");
    out->append("},");
  }
  const OriginalMessage& o = report.original;
  Key("original", out);
  out->push_back('{');
  Member("message_id", o.message_id, out);
  Member("from", o.from, out);
  Member("to", o.to, out);
  Member("subject", o.subject, out);
  Member("return_path", o.return_path, out);
  Member("date", o.date, out);
  Key("referenced_ids", out);
  StringArray(o.referenced_ids, out);
  out->append("}}");
}

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
