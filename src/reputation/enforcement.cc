#include "reputation/enforcement.h"

#include <algorithm>
#include <utility>

namespace herald::reputation {
namespace {

constexpr char kBounce[] = "bounce";
constexpr char kComplaint[] = "complaint";
constexpr char kOperator[] = "operator";

enum Level { kNone = 0, kReview = 1, kPause = 2, kSevere = 3 };

struct Metric {
  Level level = kNone;
  bool healed = true;
};

Metric Assess(double rate, bool measured, double review, double pause, double severe,
              double fraction) {
  Metric m;
  if (!measured) {
    return m;
  }
  if (rate >= severe) {
    m.level = kSevere;
  } else if (rate >= pause) {
    m.level = kPause;
  } else if (rate >= review) {
    m.level = kReview;
  }
  m.healed = rate < review * fraction;
  return m;
}

Metric AssessBounce(const Figures& f, const EnforcementPolicy& p) {
  return Assess(f.bounce_rate, f.sends >= p.min_sends, p.review_bounce, p.pause_bounce,
                p.severe_bounce, p.almost_healed_fraction);
}

Metric AssessComplaint(const Figures& f, const EnforcementPolicy& p) {
  return Assess(f.complaint_rate, f.fbl_sends >= p.min_fbl_sends, p.review_complaint,
                p.pause_complaint, p.severe_complaint, p.almost_healed_fraction);
}

struct Assessment {
  Metric bounce, complaint;
  Level level = kNone;  // the worse of the two
  std::string cause;    // the metric at that level ("" at kNone); bounce on a tie
};

Assessment AssessBoth(const Figures& f, const EnforcementPolicy& p) {
  Assessment a;
  a.bounce = AssessBounce(f, p);
  a.complaint = AssessComplaint(f, p);
  if (a.bounce.level >= a.complaint.level) {
    a.level = a.bounce.level;
    a.cause = kBounce;
  } else {
    a.level = a.complaint.level;
    a.cause = kComplaint;
  }
  if (a.level == kNone) {
    a.cause.clear();
  }
  return a;
}

Transition MoveTo(AccountState& st, State to, std::string cause, const Figures& f, SysTime now,
                  Trigger trigger) {
  Transition t;
  t.from = st.state;
  t.to = to;
  t.cause = std::move(cause);
  t.figures = f;
  t.at = now;
  t.trigger = trigger;
  st.state = to;
  st.since = now;
  st.cause = t.cause;
  if (to == State::kHealthy) {
    st.review_deadline = SysTime{};
    st.pause_at = SysTime{};
    st.operator_hold = false;
    st.reason.clear();
  }
  return t;
}

// A transition that changes nothing (an action that does not apply in this state).
Transition Unchanged(const AccountState& st, const Figures& f, SysTime now, Trigger trigger) {
  Transition t;
  t.from = st.state;
  t.to = st.state;
  t.cause = st.cause;
  t.figures = f;
  t.at = now;
  t.trigger = trigger;
  return t;
}

// Enters paused by enforcement: remembered for the suspension rule.
Transition EnterPaused(AccountState& st, std::string cause, const Figures& f, SysTime now,
                       Trigger trigger, const EnforcementPolicy& p) {
  const SysTime horizon = now - p.suspension_memory;
  std::erase_if(st.pauses, [&](SysTime t) { return t < horizon; });
  st.pauses.push_back(now);
  st.pause_at = SysTime{};
  st.review_deadline = SysTime{};
  return MoveTo(st, State::kPaused, std::move(cause), f, now, trigger);
}

Transition EnterPendingPause(AccountState& st, std::string cause, const Figures& f, SysTime now,
                             const EnforcementPolicy& p) {
  st.pause_at = now + p.pause_grace;
  st.review_deadline = SysTime{};
  Transition t = MoveTo(st, State::kPendingSendingPause, std::move(cause), f, now, Trigger::kRates);
  t.deadline = st.pause_at;
  return t;
}

int PausesWithinMemory(const AccountState& st, SysTime now, const EnforcementPolicy& p) {
  const SysTime horizon = now - p.suspension_memory;
  return static_cast<int>(
      std::count_if(st.pauses.begin(), st.pauses.end(), [&](SysTime t) { return t >= horizon; }));
}

// One rule application; nullopt when no rule applies.
std::optional<Transition> Step(AccountState& st, const Figures& f, SysTime now,
                               const EnforcementPolicy& p) {
  const Assessment a = AssessBoth(f, p);
  switch (st.state) {
    case State::kHealthy:
      if (a.level == kSevere) {
        return EnterPaused(st, a.cause, f, now, Trigger::kRates, p);
      }
      if (a.level == kPause) {
        return EnterPendingPause(st, a.cause, f, now, p);
      }
      if (a.level == kReview) {
        st.review_deadline = now + p.review_period;
        Transition t = MoveTo(st, State::kUnderReview, a.cause, f, now, Trigger::kRates);
        t.deadline = st.review_deadline;
        return t;
      }
      return std::nullopt;

    case State::kUnderReview:
      if (a.level == kSevere) {
        return EnterPaused(st, a.cause, f, now, Trigger::kRates, p);
      }
      if (a.level == kPause) {
        return EnterPendingPause(st, a.cause, f, now, p);
      }
      if (now < st.review_deadline) {
        return std::nullopt;
      }
      if (a.bounce.healed && a.complaint.healed) {
        return MoveTo(st, State::kHealthy, "", f, now, Trigger::kReviewDeadline);
      } else {
        // Name the metric that did not heal; keep the review's cause when it is one.
        std::string cause = st.cause;
        if (cause == kBounce && a.bounce.healed) {
          cause = kComplaint;
        } else if (cause == kComplaint && a.complaint.healed) {
          cause = kBounce;
        } else if (cause != kBounce && cause != kComplaint) {
          cause = a.bounce.healed ? kComplaint : kBounce;
        }
        st.pause_at = now + p.decision_period;
        Transition t = MoveTo(st, State::kPendingEndOfReviewDecision, std::move(cause), f, now,
                              Trigger::kReviewDeadline);
        t.deadline = st.pause_at;
        return t;
      }

    case State::kPendingEndOfReviewDecision:
    case State::kPendingSendingPause:
      if (a.level == kSevere) {
        return EnterPaused(st, a.cause, f, now, Trigger::kRates, p);
      }
      if (now >= st.pause_at) {
        return EnterPaused(st, st.cause, f, now, Trigger::kPauseDue, p);
      }
      return std::nullopt;

    case State::kPaused:
      if (p.pauses_before_suspension > 0 &&
          PausesWithinMemory(st, now, p) >= p.pauses_before_suspension) {
        return MoveTo(st, State::kSuspended, st.cause, f, now, Trigger::kRepeatedPauses);
      }
      return std::nullopt;

    case State::kSuspended:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

Status ValidateEnforcementPolicy(const EnforcementPolicy& p) {
  auto rates_ok = [](double review, double pause, double severe) {
    return review > 0 && review <= pause && pause <= severe && severe <= 1.0;
  };
  if (!rates_ok(p.review_bounce, p.pause_bounce, p.severe_bounce)) {
    return InvalidArgumentError(
        "bounce thresholds must satisfy 0 < review <= pause <= severe <= 1");
  }
  if (!rates_ok(p.review_complaint, p.pause_complaint, p.severe_complaint)) {
    return InvalidArgumentError(
        "complaint thresholds must satisfy 0 < review <= pause <= severe <= 1");
  }
  if (p.min_sends < 0 || p.min_fbl_sends < 0) {
    return InvalidArgumentError("min_sends and min_fbl_sends must not be negative");
  }
  if (p.review_period.count() < 0 || p.pause_grace.count() < 0 || p.decision_period.count() < 0 ||
      p.suspension_memory.count() < 0) {
    return InvalidArgumentError("enforcement periods must not be negative");
  }
  if (!(p.almost_healed_fraction > 0 && p.almost_healed_fraction <= 1.0)) {
    return InvalidArgumentError("almost_healed_fraction must be in (0, 1]");
  }
  if (p.pauses_before_suspension < 0) {
    return InvalidArgumentError("pauses_before_suspension must not be negative (0 disables)");
  }
  return Status::Ok();
}

std::vector<Transition> Evaluate(AccountState& st, const Figures& f, SysTime now,
                                 const EnforcementPolicy& p) {
  std::vector<Transition> out;
  // Each step moves towards paused/suspended or back to healthy, so a handful of steps
  // is the most one call can make; the bound only guards against a rule cycle.
  for (int i = 0; i < 8; ++i) {
    std::optional<Transition> t = Step(st, f, now, p);
    if (!t) {
      break;
    }
    out.push_back(std::move(*t));
  }
  return out;
}

Transition OperatorPause(AccountState& st, const Figures& f, SysTime now, std::string reason) {
  if (st.state == State::kSuspended) {
    return Unchanged(st, f, now, Trigger::kOperatorPause);
  }
  st.operator_hold = true;
  st.reason = reason;
  if (st.state == State::kPaused) {
    Transition t = Unchanged(st, f, now, Trigger::kOperatorPause);
    t.reason = std::move(reason);
    return t;
  }
  st.pause_at = SysTime{};
  st.review_deadline = SysTime{};
  Transition t = MoveTo(st, State::kPaused, kOperator, f, now, Trigger::kOperatorPause);
  t.reason = std::move(reason);
  return t;
}

Transition OperatorResume(AccountState& st, const Figures& f, SysTime now) {
  if (st.state == State::kHealthy) {
    return Unchanged(st, f, now, Trigger::kOperatorResume);
  }
  if (st.state == State::kSuspended) {
    st.pauses.clear();
  }
  return MoveTo(st, State::kHealthy, "", f, now, Trigger::kOperatorResume);
}

Transition AcceptReinstatement(AccountState& st, const Figures& f, SysTime now) {
  if (st.state == State::kHealthy || st.state == State::kSuspended) {
    return Unchanged(st, f, now, Trigger::kReinstatementAccepted);
  }
  return MoveTo(st, State::kHealthy, "", f, now, Trigger::kReinstatementAccepted);
}

Transition RejectReinstatement(AccountState& st, const Figures& f, SysTime now) {
  switch (st.state) {
    case State::kPaused:
      return Unchanged(st, f, now, Trigger::kReinstatementRejected);
    case State::kPendingEndOfReviewDecision:
    case State::kPendingSendingPause: {
      // An enforcement pause: remembered; the next Evaluate applies the suspension rule
      // (and trims the history).
      st.pauses.push_back(now);
      st.pause_at = SysTime{};
      st.review_deadline = SysTime{};
      return MoveTo(st, State::kPaused, st.cause, f, now, Trigger::kReinstatementRejected);
    }
    default:
      return Unchanged(st, f, now, Trigger::kReinstatementRejected);
  }
}

namespace {

MetricStatus StatusOf(const char* metric, const Metric& m, const AccountState& st) {
  if (st.cause == metric) {
    switch (st.state) {
      case State::kPaused:
      case State::kSuspended:
        return MetricStatus::kSendingPause;
      case State::kPendingSendingPause:
        return MetricStatus::kPendingSendingPause;
      case State::kUnderReview:
      case State::kPendingEndOfReviewDecision:
        return m.healed ? MetricStatus::kAlmostHealed : MetricStatus::kUnderReview;
      case State::kHealthy:
        break;
    }
  }
  if (m.level >= kPause) {
    return MetricStatus::kPendingSendingPause;
  }
  if (m.level >= kReview) {
    return MetricStatus::kUnderReview;
  }
  return MetricStatus::kHealthy;
}

}  // namespace

MetricStatus BounceStatus(const AccountState& st, const Figures& f, const EnforcementPolicy& p) {
  return StatusOf(kBounce, AssessBounce(f, p), st);
}

MetricStatus ComplaintStatus(const AccountState& st, const Figures& f, const EnforcementPolicy& p) {
  return StatusOf(kComplaint, AssessComplaint(f, p), st);
}

const char* ApiEnforcementStatus(State s) {
  switch (s) {
    case State::kHealthy:
      return "HEALTHY";
    case State::kUnderReview:
    case State::kPendingEndOfReviewDecision:
    case State::kPendingSendingPause:
      return "PROBATION";
    case State::kPaused:
    case State::kSuspended:
      return "SHUTDOWN";
  }
  return "HEALTHY";
}

bool SendingAllowed(State s) { return s != State::kPaused && s != State::kSuspended; }

const char* StateName(State s) {
  switch (s) {
    case State::kHealthy:
      return "healthy";
    case State::kUnderReview:
      return "under_review";
    case State::kPendingEndOfReviewDecision:
      return "pending_end_of_review_decision";
    case State::kPendingSendingPause:
      return "pending_sending_pause";
    case State::kPaused:
      return "paused";
    case State::kSuspended:
      return "suspended";
  }
  return "healthy";
}

std::optional<State> StateFromName(std::string_view name) {
  for (State s : {State::kHealthy, State::kUnderReview, State::kPendingEndOfReviewDecision,
                  State::kPendingSendingPause, State::kPaused, State::kSuspended}) {
    if (name == StateName(s)) {
      return s;
    }
  }
  return std::nullopt;
}

const char* MetricStatusName(MetricStatus s) {
  switch (s) {
    case MetricStatus::kHealthy:
      return "healthy";
    case MetricStatus::kAlmostHealed:
      return "almost_healed";
    case MetricStatus::kUnderReview:
      return "under_review";
    case MetricStatus::kPendingSendingPause:
      return "pending_sending_pause";
    case MetricStatus::kSendingPause:
      return "sending_pause";
  }
  return "healthy";
}

const char* TriggerName(Trigger t) {
  switch (t) {
    case Trigger::kRates:
      return "rates";
    case Trigger::kReviewDeadline:
      return "review_deadline";
    case Trigger::kPauseDue:
      return "pause_due";
    case Trigger::kRepeatedPauses:
      return "repeated_pauses";
    case Trigger::kOperatorPause:
      return "operator_pause";
    case Trigger::kOperatorResume:
      return "operator_resume";
    case Trigger::kReinstatementAccepted:
      return "reinstatement_accepted";
    case Trigger::kReinstatementRejected:
      return "reinstatement_rejected";
  }
  return "rates";
}

}  // namespace herald::reputation
