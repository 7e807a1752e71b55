// feedback/report_json.h: turns a parsed feedback Report into JSON, the shape that
// `herald classify` prints and that bench/classify_score.py reads.
//
// Contract: ReportToJson is pure and never fails. The shape is stable (scripts depend on
// it; add members, never rename or remove them). Every member below is always present,
// with "" / 0 / false / [] when the report did not say, except "complaint", which is
// present only when kind is "complaint":
//   {
//     "kind": FeedbackKindName(kind),  // "bounce", "undetermined", "complaint", ...
//     "format": "rfc3464",             // which reading recognised the mail
//     "reporting_mta": "", "arrival_date": "", "subject": "", "from": "",
//     "recipients": [{                 // one per failed or delayed recipient, in order
//       "address": "", "original_recipient": "",
//       "reason": ReasonName(reason),  // "user_unknown", "mailbox_full", ...
//       "hard": true,                  // counts as a hard bounce (bounce_type Permanent)
//       "permanent": true,             // stop retrying (the failure was 5xx)
//       "bounce_type": "Permanent", "bounce_sub_type": "NoEmail", "delay_type": "",
//       "status": "5.1.1", "action": "failed", "diagnostic_code": "smtp; 550 ...",
//       "reply_code": 550,             // 0 when the report gave none
//       "remote_mta": "", "smtp_command": "RCPT", "last_attempt_date": ""}],
//     "complaint": {                   // complaints only
//       "feedback_type": "abuse", "user_agent": "", "version": "", "arrival_date": "",
//       "source_ip": "", "original_mail_from": "", "original_rcpt_to": [""],
//       "reported_domain": "", "redacted": false},
//     "original": {"message_id": "", "from": "", "to": "", "subject": "",
//                  "return_path": "", "date": "", "referenced_ids": [""]}
//   }
// Thread-safety: pure; safe from any thread.
// Trust: the Report comes from ParseFeedback, whose strings are promised valid UTF-8; the
// JSON is built as given. Callers that serialise it should still dump with
// nlohmann::json::error_handler_t::replace so a broken promise cannot throw.
#pragma once

#include <nlohmann/json.hpp>

#include "feedback/report.h"

namespace herald::feedback {

nlohmann::json RecipientToJson(const ReportedRecipient& r);
nlohmann::json ReportToJson(const Report& report);

// Appends ReportToJson(report) with a leading "file": `file` member, as one line of
// compact JSON (no newline), written directly rather than through nlohmann::json: `herald
// classify` prints one per file and building the json tree cost more than the parse
// (bench/classify_corpus.sh). Any string that is not valid UTF-8 (only `file` can be) has
// its invalid bytes replaced by U+FFFD. report_json_test checks that the result parses to
// exactly ReportToJson(report) plus "file".
void AppendReportJsonLine(const Report& report, std::string_view file, std::string* out);

}  // namespace herald::feedback
