// sending/feedback_correlator.h: ties a parsed feedback report (feedback/report.h) to the
// message herald sent and to that message's recipients.
//
// Contract: Correlate() tries, in order, and stops at the first method that names a
// message:
//   1. VERP: an envelope recipient of the report whose local part is a VERP token
//      (mail/verp.h) with a valid MAC names the message and, unless the message was sent
//      as one transaction for several recipients, the recipient. A valid token for a
//      message the lookup does not know makes an orphan ("message_unknown"): the token is
//      proof of the message, so no weaker method may guess another one.
//   2. Message-ID: a herald message id ("0100" + 12 hex + "-" + UUID + "-000000") inside
//      the report's original Message-ID or referenced ids.
//   3. Recipient and time: for each address the report names (failed recipients of a
//      bounce, Original-Rcpt-To of an unredacted complaint, the sender of an auto-reply),
//      the most recent message sent to it within `window` before the report arrived.
// Recipients: only recipients of the matched message are ever reported (compared
// case-insensitively, spelled as herald sent them); addresses the report names that the
// message did not have are listed in `ignored`. A bounce's recipient is paired with the
// report entry about it (report_index). With a per-recipient VERP token the token decides
// the recipient: the entry naming it, else the report's first failed entry (the remote
// side may rewrite addresses), else none (report_index -1). A complaint stands for its
// unredacted Original-Rcpt-To addresses; a redacted one (or one without them) for the
// message's recipients in the complaining organisation's domains (taken from the report's
// From, Reporting-MTA, redacted Original-Rcpt-To and the original's To), or for the only
// recipient of a single-recipient message. Whatever names no message or no recipient is an
// orphan with a reason: "message_unknown", "verp_recipient_out_of_range",
// "recipient_not_in_message", "recipient_not_identified", "complainer_not_identified",
// "redacted_uncorrelated", "uncorrelated".
// Thread-safety: Correlate() is const and safe from any thread if the lookup is.
// Trust: the report comes from anyone on the internet. Nothing in it is believed except
// a VERP token whose MAC verifies; message ids and addresses only select among messages
// herald really sent, and only their real recipients.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "feedback/report.h"
#include "sending/sent_index.h"

namespace herald::sending {

enum class CorrelationMethod { kNone, kVerp, kMessageId, kRecipientTime };
// "none", "verp", "message_id", "recipient_time".
const char* CorrelationMethodName(CorrelationMethod method);

struct MatchedRecipient {
  std::string address;    // as in the sent message's envelope
  int report_index = -1;  // the Report::recipients entry about it; -1: none
};

struct MessageMatch {
  SentMessagePtr message;
  std::vector<MatchedRecipient> recipients;  // non-empty; each address once
};

struct Correlation {
  CorrelationMethod method = CorrelationMethod::kNone;
  std::vector<MessageMatch> matches;  // empty: an orphan
  std::string orphan_reason;          // set when matches is empty
  std::vector<std::string> ignored;   // addresses named by the report, not recipients
};

struct CorrelatorConfig {
  std::string verp_secret;                                   // DATA_DIR/verp.key
  std::chrono::seconds window = std::chrono::hours(24 * 7);  // method 3's reach
};

class FeedbackCorrelator {
 public:
  FeedbackCorrelator(SentMessageLookup& sent, CorrelatorConfig config)
      : sent_(sent), config_(std::move(config)) {}

  // `envelope_recipients`: the RCPT TO addresses the report was sent to; `received`: when.
  Correlation Correlate(const feedback::Report& report,
                        const std::vector<std::string>& envelope_recipients,
                        SysTime received) const;

 private:
  SentMessageLookup& sent_;
  const CorrelatorConfig config_;
};

// Every herald message id inside `text` (hex folded to lower case), in order, no repeats.
std::vector<std::string> FindHeraldMessageIds(std::string_view text);

// The organisational part of a domain as far as the correlator needs it: the last two
// labels, or three under a two-letter country code with a short second level ("co.uk").
std::string OrganisationalDomain(std::string_view domain);

}  // namespace herald::sending
