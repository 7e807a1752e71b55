// sending/ses_events.h: builds SES event-publishing JSON (ses-reference.md section 4).
//
// Contract: pure functions from values to one-line JSON objects. The `mail` object is built
// once per message (BuildMailObject) and embedded in every event of that message. Each
// event gets a fresh "eventId" (herald's addition for de-duplication; SES consumers ignore
// unknown fields). Header values are kept as raw bytes made valid UTF-8 (invalid bytes are
// replaced) and the header list is cut once it passes 10 KB, with headersTruncated set.
// Thread-safety: pure.
// Trust: header values come from clients; nlohmann escapes them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "mail/message.h"

namespace herald::sending {

struct MailInfo {
  SysTime timestamp;
  std::string message_id;
  std::string source;
  std::string source_arn;
  std::string sending_account_id;
  std::vector<std::string> destination;
  std::vector<std::pair<std::string, std::string>> tags;  // in order, may repeat names
  // Submission::feedback_address; when set it is kept in the mail object as
  // "feedbackForwardingEmailAddress" (herald's addition, like eventId) for the notifier.
  std::string feedback_address;
};

nlohmann::json BuildMailObject(const MailInfo& info, const mail::ParsedMessage& message);

// A complete event line: {"eventType": type, "mail": mail, <detail_key>: detail, "eventId"}.
std::string EventLine(const std::string& event_type, const nlohmann::json& mail,
                      const std::string& detail_key, nlohmann::json detail);

// Makes a byte string valid UTF-8 for JSON (invalid sequences become U+FFFD).
std::string ToValidUtf8(std::string_view bytes);

// A fresh random UUID (version 4), lower-case.
std::string NewUuid();

// The configuration set a mail object names in its ses:configuration-set tag ("" when
// none or when the object is not one).
std::string ConfigurationSetOf(const nlohmann::json& mail);

// The common header fields of a mail object as header lines ("From: ...\nSubject: ...\n"),
// for review samples when the message itself is gone; "" when it has none.
std::string HeaderSampleOf(const nlohmann::json& mail);

}  // namespace herald::sending
