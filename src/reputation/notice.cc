#include "reputation/notice.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace herald::reputation {
namespace {

constexpr char kBounce[] = "bounce";
constexpr char kComplaint[] = "complaint";

std::string OneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\r' || c == '\n') {
      c = ' ';
    }
  }
  return out;
}

std::string HoursText(std::chrono::hours h) {
  if (h.count() % 24 == 0 && h.count() != 0) {
    const int64_t days = h.count() / 24;
    return FormatCount(days) + (days == 1 ? " day" : " days");
  }
  return FormatCount(h.count()) + (h.count() == 1 ? " hour" : " hours");
}

std::string Ordinal(int64_t n) {
  const int64_t tens = n % 100;
  const int64_t ones = n % 10;
  const char* suffix = "th";
  if (tens < 11 || tens > 13) {
    suffix = ones == 1 ? "st" : ones == 2 ? "nd" : ones == 3 ? "rd" : "th";
  }
  return FormatCount(n) + suffix;
}

std::string MetricWord(std::string_view metric) {
  return metric == kComplaint ? "complaint" : "bounce";
}

// The paragraph stating one metric's figures.
std::string FiguresParagraph(std::string_view metric, const Figures& f,
                             const EnforcementPolicy& p) {
  std::string s;
  if (metric == kComplaint) {
    if (f.fbl_sends < p.min_fbl_sends) {
      s = "Complaint rate: not enforced yet. Over the last " + FormatDays(f.covered_days) +
          " days, " + FormatCount(f.fbl_sends) +
          " eligible emails went to mailbox providers that report complaints; herald "
          "enforces the complaint rate from " +
          FormatCount(p.min_fbl_sends) + " such emails on (" + FormatCount(f.complaints) +
          " complaints so far, " + FormatPercent(f.complaint_rate) + ").\n";
      return s;
    }
    s = "Complaint rate: " + FormatPercent(f.complaint_rate) + ". Herald looked at the last " +
        FormatCount(f.fbl_sends) +
        " eligible emails sent to mailbox providers that report complaints, covering " +
        FormatDays(f.covered_days) + " days (from " + FormatNoticeTime(f.oldest_send) + "); " +
        FormatCount(f.complaints) + " of their recipients marked them as spam. " +
        "A review opens at " + FormatPercent(p.review_complaint) + ", sending is paused at " +
        FormatPercent(p.pause_complaint) + ", and at once at " + FormatPercent(p.severe_complaint) +
        ".\n";
    return s;
  }
  if (f.sends < p.min_sends) {
    s = "Bounce rate: not enforced yet. Over the last " + FormatDays(f.covered_days) + " days, " +
        FormatCount(f.sends) + " eligible emails were sent; herald enforces the bounce rate from " +
        FormatCount(p.min_sends) + " eligible emails on (" + FormatCount(f.hard_bounces) +
        " hard bounces so far, " + FormatPercent(f.bounce_rate) + ").\n";
    return s;
  }
  s = "Bounce rate: " + FormatPercent(f.bounce_rate) + ". Herald looked at the last " +
      FormatCount(f.sends) + " eligible emails, covering " + FormatDays(f.covered_days) +
      " days (from " + FormatNoticeTime(f.oldest_send) + "); " + FormatCount(f.hard_bounces) +
      " of them bounced permanently (the address does not exist or refuses mail for good). " +
      "A review opens at " + FormatPercent(p.review_bounce) + ", sending is paused at " +
      FormatPercent(p.pause_bounce) + ", and at once at " + FormatPercent(p.severe_bounce) + ".\n";
  return s;
}

std::string AllFigures(std::string_view metric, const Figures& f, const EnforcementPolicy& p) {
  if (metric == kBounce || metric == kComplaint) {
    return FiguresParagraph(metric, f, p);
  }
  return FiguresParagraph(kBounce, f, p) + "\n" + FiguresParagraph(kComplaint, f, p);
}

std::string ThreeQuestions(std::string_view metric) {
  std::string what = metric == kBounce      ? "the bounces"
                     : metric == kComplaint ? "the complaints"
                                            : "the problem";
  return "Please answer three questions:\n"
         "  1. What caused " +
         what +
         "? (for example an old or purchased list, a signup form without confirmation, "
         "a change in what or how often you send)\n"
         "  2. What have you changed since, and from what date?\n"
         "  3. How do those changes keep it from happening again?\n"
         "Send your answers with `herald review respond` or through herald's admin API. "
         "Give the date your changes took effect: when your answers are accepted, the "
         "rates start afresh and only emails sent from that date on count.\n";
}

void SetSubject(Notice& n, std::string_view account_name, const std::string& what) {
  n.subject = "herald: " + what + " for account " + OneLine(account_name);
}

}  // namespace

std::string FormatPercent(double rate) {
  if (!std::isfinite(rate) || rate < 0) {
    rate = 0;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%%", rate * 100.0);
  return buf;
}

std::string FormatCount(int64_t n) {
  const bool negative = n < 0;
  // Work on the magnitude as unsigned so that INT64_MIN does not overflow.
  uint64_t m = negative ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  std::string digits = std::to_string(m);
  std::string out;
  const size_t lead = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out.append(digits, 0, lead);
  for (size_t i = lead; i < digits.size(); i += 3) {
    out.push_back(',');
    out.append(digits, i, 3);
  }
  return negative ? "-" + out : out;
}

std::string FormatDays(double d) {
  if (!std::isfinite(d) || d < 0) {
    d = 0;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", d);
  return buf;
}

std::string FormatNoticeTime(SysTime t) {
  const std::time_t secs =
      std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min);
  return buf;
}

Notice NoticeFor(const Transition& t, std::string_view account_name, const EnforcementPolicy& p) {
  Notice n;
  n.figures = t.figures;
  if (t.cause == kBounce || t.cause == kComplaint) {
    n.metric = t.cause;
  }
  const std::string account(account_name);
  const std::string metric_word = MetricWord(n.metric);
  const std::string at = FormatNoticeTime(t.at);
  const std::string figures = AllFigures(n.metric, t.figures, p);
  const bool changed = t.from != t.to;

  if (t.trigger == Trigger::kReinstatementRejected) {
    n.kind = "reinstatement_rejected";
    SetSubject(n, account, "reinstatement request not accepted, sending stays paused");
    n.text = "Your response about account " + account +
             " was reviewed and not accepted. Sending stays paused" +
             (changed ? " as of " + at : std::string()) +
             ": herald refuses new messages from this account.\n\n" + figures + "\n" +
             "You can respond again. Say more about each point than last time:\n\n" +
             ThreeQuestions(n.metric);
    return n;
  }
  if (!changed) {
    return n;  // nothing to tell
  }
  if (t.trigger == Trigger::kReinstatementAccepted) {
    n.kind = "reinstated";
    n.metric.clear();
    SetSubject(n, account, "sending reinstated");
    n.text = "Your response about account " + account + " was accepted on " + at +
             ". Sending is allowed again.\n\n"
             "The bounce and complaint rates start afresh: only emails sent on or after the "
             "date of your changes count. Herald keeps measuring them; if they "
             "reach the review level again, a new review opens.\n";
    return n;
  }
  if (t.trigger == Trigger::kOperatorResume) {
    n.kind = "resumed";
    n.metric.clear();
    SetSubject(n, account, "sending resumed by an operator");
    n.text = "An operator of this herald service resumed sending for account " + account + " on " +
             at +
             ". Sending is allowed again.\n\n"
             "The rates were not reset: they still cover the emails below. If they are at "
             "or above the review or pause levels, herald will start a review or a pause "
             "again.\n\n" +
             AllFigures("", t.figures, p);
    return n;
  }
  switch (t.to) {
    case State::kUnderReview: {
      n.kind = "review_opened";
      SetSubject(n, account,
                 metric_word + " rate " +
                     FormatPercent(n.metric == kComplaint ? t.figures.complaint_rate
                                                          : t.figures.bounce_rate) +
                     ", sending under review");
      const double review = n.metric == kComplaint ? p.review_complaint : p.review_bounce;
      const double pause = n.metric == kComplaint ? p.pause_complaint : p.pause_bounce;
      n.text = "On " + at + " herald opened a review of account " + account + " because its " +
               metric_word + " rate reached the review level.\n\n" + figures + "\n" +
               "You can keep sending during the review. It lasts " + HoursText(p.review_period) +
               ", until " + FormatNoticeTime(t.deadline) + ". If by then the " + metric_word +
               " rate is below " + FormatPercent(review) +
               ", the review closes and nothing more happens. If it is not, sending will be "
               "paused " +
               HoursText(p.decision_period) +
               " later unless your answers have been accepted. If the rate reaches " +
               FormatPercent(pause) + " during the review, sending will be paused " +
               HoursText(p.pause_grace) + " after that.\n\n" + ThreeQuestions(n.metric);
      return n;
    }
    case State::kPendingSendingPause:
      n.kind = "pause_pending";
      SetSubject(n, account, "sending will be paused on " + FormatNoticeTime(t.deadline));
      n.text = "On " + at + " the " + metric_word + " rate of account " + account +
               " reached the level at which herald pauses sending.\n\n" + figures + "\n" +
               "Sending will be paused on " + FormatNoticeTime(t.deadline) + " (" +
               HoursText(p.pause_grace) +
               " from this notice). The pause takes effect even if the rate falls before "
               "then; only an accepted response (or an operator) stops it. While paused, "
               "herald refuses new messages from this account. To be reinstated:\n\n" +
               ThreeQuestions(n.metric);
      return n;
    case State::kPendingEndOfReviewDecision:
      n.kind = "review_ended_unhealed";
      SetSubject(n, account,
                 "review ended, sending will be paused on " + FormatNoticeTime(t.deadline));
      n.text = "The review of account " + account + " ended on " + at + " and its " + metric_word +
               " rate is still at or above the review level.\n\n" + figures + "\n" +
               "Sending will be paused on " + FormatNoticeTime(t.deadline) + " (" +
               HoursText(p.decision_period) +
               " from this notice) unless your answers are accepted before then.\n\n" +
               ThreeQuestions(n.metric);
      return n;
    case State::kPaused: {
      n.kind = "paused";
      SetSubject(n, account, "sending paused");
      std::string why;
      if (t.trigger == Trigger::kOperatorPause) {
        why = "An operator of this herald service paused sending for account " + account + " on " +
              at + (t.reason.empty() ? "." : ", giving this reason: \"" + t.reason + "\".") +
              "\n\n";
      } else if (t.from == State::kPendingEndOfReviewDecision) {
        why = "Herald paused sending for account " + account + " on " + at +
              ": the review of its " + metric_word +
              " rate ended without the rate falling below the review level, " +
              "and no response was accepted in time.\n\n";
      } else if (t.from == State::kPendingSendingPause) {
        why = "Herald paused sending for account " + account + " on " + at +
              ", as announced: its " + metric_word + " rate had reached the pause level.\n\n";
      } else {
        why = "Herald paused sending for account " + account + " on " + at +
              " without notice: its " + metric_word +
              " rate reached the level at which herald pauses at once.\n\n";
      }
      const std::string resumes = t.trigger == Trigger::kOperatorPause
                                      ? "Sending resumes when the operator lifts the pause "
                                        "or accepts your answers:\n\n"
                                      : "Sending resumes when your answers are accepted:\n\n";
      n.text = why + figures + "\n" +
               "While paused, herald refuses new messages from this account. " + resumes +
               ThreeQuestions(n.metric);
      return n;
    }
    case State::kSuspended:
      n.kind = "suspended";
      SetSubject(n, account, "sending suspended");
      n.text = "Herald suspended sending for account " + account + " on " + at + ": this is its " +
               Ordinal(p.pauses_before_suspension) + " sending pause within " +
               HoursText(p.suspension_memory) + ".\n\n" + figures + "\n" +
               "A suspension is permanent. Better rates do not lift it and a reinstatement "
               "request is not considered; only the operator of this herald service can "
               "decide otherwise. Contact them if you believe this is a mistake.\n";
      return n;
    case State::kHealthy:
      if (t.trigger == Trigger::kReviewDeadline) {
        n.kind = "review_healed";
        SetSubject(n, account, "review closed, sending healthy");
        n.text = "The review of account " + account + " closed on " + at +
                 ": its rates are back below their review levels. Nothing more is needed "
                 "from you.\n\n" +
                 AllFigures("", t.figures, p) +
                 "\nHerald keeps measuring both rates; a new review opens if either reaches "
                 "its review level again.\n";
      }
      return n;
  }
  return n;
}

}  // namespace herald::reputation
