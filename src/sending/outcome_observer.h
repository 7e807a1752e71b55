// sending/outcome_observer.h: what the reputation machinery (the representative windows,
// enforcement, the account and global suppression lists) is told about each accepted
// message and each outcome that counts.
//
// Contract: the sending path calls OnSend() once per accepted message, after the message is
// durable, with every envelope recipient and how it was handled at acceptance (a mailbox
// simulator address, or stopped by the account suppression list). The delivery outcome
// recorder (synchronous refusals) and the feedback processor (bounce reports and
// complaints from the feedback MX) call OnOutcomes() after the matching events were
// published, with the hard bounces and complaints only: soft bounces, delays and
// auto-replies never count, and the outcomes of simulator or suppressed recipients are not
// reported (the simulator and the suppression check publish their own events).
// An observer decides for itself what is eligible beyond that (for example sends to the
// account's own verified domains). `sent_at` is the acceptance time of the original
// message: an outcome counts against the send it belongs to, however late it arrives.
// A message whose events are published again after a crash may be reported again;
// observers bound the damage (an outcome cannot push a count past its sends).
// Thread-safety: implementations must accept calls from any thread.
// Trust: addresses were validated at acceptance; diagnostics come from remote servers and
// are data, never interpreted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"

namespace herald::sending {

struct SentRecipient {
  std::string address;
  bool simulator = false;   // a mailbox simulator address: never counted
  bool suppressed = false;  // stopped by the account suppression list: not counted
};

struct SendFacts {
  int64_t account_id = 0;
  std::string configuration_set;  // empty: none
  std::string message_id;
  SysTime sent_at;
  std::vector<SentRecipient> recipients;
};

struct OutcomeFacts {
  enum class Kind { kHardBounce, kComplaint };
  Kind kind = Kind::kHardBounce;
  int64_t account_id = 0;
  std::string configuration_set;
  std::string message_id;
  SysTime sent_at;  // when the original message was accepted
  SysTime at;       // when the outcome was learned
  std::string recipient;
  std::string feedback_id;
  std::string bounce_sub_type;  // hard bounces: General, NoEmail, Suppressed, ...
  std::string status;           // hard bounces: enhanced status ("5.1.1")
  std::string diagnostic;       // hard bounces: the diagnostic code as published
  std::string feedback_type;    // complaints: abuse, fraud, ... (may be empty)
  // For review cases: the start of the message as far as the reporter knows it (header
  // fields and the first bytes of the body), at most kMaxOutcomeSampleBytes; may be empty.
  std::string sample;
};

inline constexpr size_t kMaxOutcomeSampleBytes = 2048;

class OutcomeObserver {
 public:
  virtual ~OutcomeObserver() = default;
  virtual void OnSend(const SendFacts& send) = 0;
  virtual void OnOutcomes(const std::vector<OutcomeFacts>& outcomes) = 0;
};

// Hands every call to each observer in turn (none: does nothing).
class ObserverList final : public OutcomeObserver {
 public:
  void Add(OutcomeObserver* observer) { observers_.push_back(observer); }
  bool empty() const { return observers_.empty(); }
  void OnSend(const SendFacts& send) override {
    for (OutcomeObserver* o : observers_) o->OnSend(send);
  }
  void OnOutcomes(const std::vector<OutcomeFacts>& outcomes) override {
    if (outcomes.empty()) return;
    for (OutcomeObserver* o : observers_) o->OnOutcomes(outcomes);
  }

 private:
  std::vector<OutcomeObserver*> observers_;
};

}  // namespace herald::sending
