// reputation/notice.h: the notices herald sends an account's owner when its enforcement
// state changes (review opened, pause pending, paused, reinstated...), in herald's own
// words, stating the figures the way SES's notices do: the rate, over how many eligible
// emails, covering how many days.
//
// Contract: NoticeFor() maps a Transition (enforcement.h) to one Notice. The kind follows
// from the transition's trigger and target state:
//   review_opened          -> under review
//   review_healed          -> healthy at the review deadline
//   review_ended_unhealed  -> pending end-of-review decision
//   pause_pending          -> pending sending pause
//   paused                 -> paused (rates, a pending pause falling due, an operator)
//   reinstated             AcceptReinstatement
//   resumed                OperatorResume
//   reinstatement_rejected RejectReinstatement
//   suspended              -> suspended
// A transition that changed nothing (from == to, other than a rejection) gets an empty
// kind: there is nothing to tell, and the caller sends nothing.
// Every text states the figures of the metric concerned (both when none is): the rate
// ("10.16%"), the eligible email count ("10,001") and the days covered ("39.6"); says what
// happens next (the review's length and end, when a pause takes effect, how to be
// reinstated); and, for a review or a pause, asks the three questions (what caused it,
// what was changed, how that prevents a recurrence), answered with `herald review
// respond` or through the admin API.
// Thread-safety: pure functions.
// Trust: the account name and an operator's reason are inserted verbatim into plain
// text; the caller that renders notices as HTML or puts the subject in a header must
// escape or fold them. Neither may contain CR or LF in a subject line: NoticeFor
// replaces them with spaces there.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "reputation/enforcement.h"
#include "reputation/window.h"

namespace herald::reputation {

struct Notice {
  // "review_opened", "review_healed", "review_ended_unhealed", "pause_pending", "paused",
  // "reinstated", "resumed", "reinstatement_rejected", "suspended"; "" = send nothing.
  std::string kind;
  std::string subject;  // one line
  std::string text;     // plain text, several paragraphs, lines end in "\n"
  Figures figures;
  std::string metric;  // "bounce" | "complaint" | ""
};

Notice NoticeFor(const Transition& t, std::string_view account_name, const EnforcementPolicy& p);

std::string FormatPercent(double rate);  // 0.1016 -> "10.16%"
std::string FormatCount(int64_t n);      // 10001 -> "10,001"
std::string FormatDays(double d);        // 39.64 -> "39.6"
// Addition: "2026-11-22 10:04 UTC", the dates in notices.
std::string FormatNoticeTime(SysTime t);

}  // namespace herald::reputation
