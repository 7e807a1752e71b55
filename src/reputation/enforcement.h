// reputation/enforcement.h: the enforcement state machine of one sender (account or
// configuration set): healthy, under review, pending end-of-review decision, pending
// sending pause, paused, suspended; per-metric statuses as SES's console shows them; and
// the operator's and sender's actions. Pure: figures and time come in as values, the
// caller persists AccountState and sends the notices (notice.h).
//
// Contract (the rules; SES publishes thresholds but no periods, so the periods, the
// suspension rule and the "almost healed" margin are herald's choices, all configurable):
// - Volume floor: the bounce rate is enforced only once the window holds at least
//   min_sends eligible sends; the complaint rate only once it holds min_fbl_sends sends to
//   feedback-loop domains (its own denominator). Below the floor a metric counts as
//   healthy whatever its rate.
// - Levels per metric: review (rate >= review_*), pause (>= pause_*), severe
//   (>= severe_*). The worse metric decides; on a tie, bounce is named as the cause.
// - healthy -> under review at review level (review_deadline = now + review_period);
//   healthy or under review -> pending sending pause at pause level (pause_at = now +
//   pause_grace); any state short of paused -> paused at once at severe level.
// - under review, at review_deadline: healed (every metric below review_* x
//   almost_healed_fraction, or below its volume floor) -> healthy; otherwise -> pending
//   end-of-review decision (pause_at = now + decision_period: the sender always gets the
//   whole decision period after the notice, even when Evaluate runs late). A review is
//   not closed early; a metric that has healed before the deadline shows "almost healed".
// - pending end-of-review decision -> paused at pause_at unless AcceptReinstatement (or
//   OperatorResume) came first. Rates at pause level do not shorten it; severe ones do.
// - pending sending pause -> paused at pause_at; it does not lift by itself when the
//   rates fall (only AcceptReinstatement or OperatorResume lift it).
// - paused is lifted only by AcceptReinstatement (the caller also fresh-starts the
//   window) or OperatorResume (no fresh start: if the rates are still bad, the next
//   Evaluate starts over from healthy).
// - Suspension: every pause taken by enforcement (not an operator's pause) is remembered
//   in AccountState::pauses; the pauses_before_suspension-th pause within
//   suspension_memory moves paused -> suspended in the same Evaluate (0 disables it).
//   Suspended is final for the rates and for reinstatement requests; only an explicit
//   OperatorResume lifts it, and that resume is a pardon: the pause history is cleared.
// - Evaluate applies rules until none applies, so one call may make several transitions
//   (healthy -> pending sending pause -> paused when pause_grace is zero, paused ->
//   suspended). Every transition sets `since` and `cause`.
// - Action functions always return a Transition; from == to means nothing changed
//   (except RejectReinstatement, whose paused -> paused is a decision to tell the sender).
//
// Thread-safety: pure functions over caller-owned values.
// Trust: Figures come from RepWindow; operator reasons are free text shown to the sender
// as-is (the notice is plain text).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "reputation/window.h"

namespace herald::reputation {

enum class State {
  kHealthy,
  kUnderReview,
  kPendingEndOfReviewDecision,
  kPendingSendingPause,
  kPaused,
  kSuspended,
};

// Per metric, as SES's console shows it.
enum class MetricStatus {
  kHealthy,
  kAlmostHealed,
  kUnderReview,
  kPendingSendingPause,
  kSendingPause,
};

// Every threshold and period is configuration. Rates are fractions (0.05 = 5%).
struct EnforcementPolicy {
  double review_bounce = 0.05, pause_bounce = 0.10, severe_bounce = 0.25;
  double review_complaint = 0.001, pause_complaint = 0.005, severe_complaint = 0.02;
  int64_t min_sends = 1000;      // below this many eligible sends: bounce rate not enforced
  int64_t min_fbl_sends = 1000;  // same for the complaint rate (its own denominator)
  std::chrono::hours review_period{24 * 14};   // review length (SES does not publish it)
  std::chrono::hours pause_grace{24};          // pending sending pause -> paused
  std::chrono::hours decision_period{24 * 3};  // pending end-of-review decision -> paused
  // A metric has healed when its rate is below review threshold x this fraction. 1.0
  // (default): below the review threshold, the brief's rule. A smaller value (say 0.8)
  // asks for a margin, so that a rate hovering just under the threshold neither shows
  // "almost healed" nor closes the review. Must be in (0, 1].
  double almost_healed_fraction = 1.0;
  int pauses_before_suspension = 3;  // the 3rd pause within suspension_memory suspends
  std::chrono::hours suspension_memory{24 * 365};
};

// review <= pause <= severe, each in (0, 1]; non-negative floors and periods;
// almost_healed_fraction in (0, 1]; pauses_before_suspension >= 0.
Status ValidateEnforcementPolicy(const EnforcementPolicy& p);

// What the wiring persists per account (plain values).
struct AccountState {
  State state = State::kHealthy;
  SysTime since{};              // when the current state began
  SysTime review_deadline{};    // end of the review period (under review)
  SysTime pause_at{};           // when a pending pause takes effect
  std::vector<SysTime> pauses;  // when each enforcement pause began (for suspension)
  std::string cause;            // "bounce" | "complaint" | "operator" | "" (what triggered)
  bool operator_hold = false;   // paused by an operator decision (rates do not lift it)
  // Addition to the brief's interface: the operator's reason for an OperatorPause.
  std::string reason;
};

// Addition to the brief's interface: what made a transition (NoticeFor picks the notice
// from it; logs and the CLI print TriggerName()).
enum class Trigger {
  kRates,                  // Evaluate: a rate reached a threshold
  kReviewDeadline,         // Evaluate: the review period ended
  kPauseDue,               // Evaluate: pause_at passed (pending sending pause or decision)
  kRepeatedPauses,         // Evaluate: the Nth pause within suspension_memory
  kOperatorPause,          // OperatorPause
  kOperatorResume,         // OperatorResume
  kReinstatementAccepted,  // AcceptReinstatement
  kReinstatementRejected,  // RejectReinstatement
};

struct Transition {
  State from = State::kHealthy;
  State to = State::kHealthy;
  std::string cause;  // the AccountState::cause after the transition
  Figures figures;
  SysTime at{};
  // Additions to the brief's interface.
  Trigger trigger = Trigger::kRates;
  SysTime deadline{};  // review_deadline (to under review) or pause_at (to a pending state)
  std::string reason;  // the operator's reason (OperatorPause)
};

// The next state given the figures now. Call it after recording outcomes and
// periodically (deadlines pass without any outcome). Returns the transitions made, in
// order (none when nothing changed).
std::vector<Transition> Evaluate(AccountState& st, const Figures& f, SysTime now,
                                 const EnforcementPolicy& p);

// Operator and sender actions (each returns its transition).
// Any state but suspended -> paused, with operator_hold (rates never lift it). Does not
// count towards suspension. On an already paused account it only sets the hold.
Transition OperatorPause(AccountState& st, const Figures& f, SysTime now, std::string reason);
// Any state but healthy -> healthy, no fresh start. From suspended it also clears the
// pause history (see the header comment).
Transition OperatorResume(AccountState& st, const Figures& f, SysTime now);
// Accepting a review case: under review, pending end-of-review decision, pending sending
// pause or paused -> healthy. The caller also calls RepWindow::FreshStart with the change
// date the sender gave. Suspended stays suspended (from == to).
Transition AcceptReinstatement(AccountState& st, const Figures& f, SysTime now);
// Refusing a review case: paused stays paused (paused -> paused, told to the sender);
// a pending end-of-review decision or pending sending pause is decided at once: -> paused
// (an enforcement pause, counted towards suspension: the next Evaluate suspends when it
// is the Nth). Other states: from == to, nothing.
Transition RejectReinstatement(AccountState& st, const Figures& f, SysTime now);

MetricStatus BounceStatus(const AccountState& st, const Figures& f, const EnforcementPolicy& p);
MetricStatus ComplaintStatus(const AccountState& st, const Figures& f, const EnforcementPolicy& p);

const char* ApiEnforcementStatus(State s);  // HEALTHY | PROBATION | SHUTDOWN (GetAccount)
bool SendingAllowed(State s);               // false when paused or suspended
// "healthy", "under_review", "pending_end_of_review_decision", "pending_sending_pause",
// "paused", "suspended".
const char* StateName(State s);
// Addition: the reverse of StateName, for the wiring reading its table.
std::optional<State> StateFromName(std::string_view name);
// Addition: "healthy", "almost_healed", "under_review", "pending_sending_pause",
// "sending_pause".
const char* MetricStatusName(MetricStatus s);
// Addition: "rates", "review_deadline", "pause_due", "repeated_pauses", "operator_pause",
// "operator_resume", "reinstatement_accepted", "reinstatement_rejected".
const char* TriggerName(Trigger t);

}  // namespace herald::reputation
