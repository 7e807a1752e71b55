// tests/fakes/recording_observer.h: an OutcomeObserver that keeps what it is told, for
// tests of the code that reports sends and outcomes.
// Thread-safety: calls are serialised by a mutex; read the vectors after the calls.
#pragma once

#include <mutex>
#include <vector>

#include "sending/outcome_observer.h"

namespace herald::sending {

class RecordingObserver final : public OutcomeObserver {
 public:
  void OnSend(const SendFacts& send) override {
    std::lock_guard<std::mutex> lock(mu_);
    sends.push_back(send);
  }
  void OnOutcomes(const std::vector<OutcomeFacts>& outcomes) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++outcome_calls;
    this->outcomes.insert(this->outcomes.end(), outcomes.begin(), outcomes.end());
  }

  std::vector<SendFacts> sends;
  std::vector<OutcomeFacts> outcomes;
  int outcome_calls = 0;

 private:
  std::mutex mu_;
};

}  // namespace herald::sending
