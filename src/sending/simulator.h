// sending/simulator.h: the SES mailbox simulator, handled inside herald with no network.
//
// Contract: Classify() recognises success, bounce, ooto, complaint and suppressionlist at
// simulator.amazonses.com, with +label variants, case-insensitively. Any other local part
// at that domain behaves as success (the simulator never delivers anywhere). OutcomeEvents()
// gives the event lines SES publishes for one simulator recipient (after the Send event):
//   success         -> Delivery
//   bounce          -> Bounce Permanent/General, 5.1.1, "smtp; 550 5.1.1 user unknown"
//   ooto            -> Delivery, then Bounce Transient/General (the auto-reply; SES counts
//                      it as a soft bounce that never affects reputation)
//   complaint       -> Delivery, then Complaint (feedback type abuse)
//   suppressionlist -> Bounce Permanent/Suppressed
// Simulator recipients count toward the max send rate, never toward the daily quota or
// reputation (callers enforce that).
// Thread-safety: pure. Trust: addresses were validated by the caller.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"

namespace herald::sending {

inline constexpr std::string_view kSimulatorDomain = "simulator.amazonses.com";

enum class SimOutcome { kNotSimulator, kSuccess, kBounce, kOoto, kComplaint, kSuppressionList };

SimOutcome ClassifySimulator(std::string_view address);

std::vector<std::string> SimulatorOutcomeEvents(SimOutcome outcome, const nlohmann::json& mail,
                                                const std::string& recipient, SysTime accepted,
                                                SysTime now, const std::string& hostname);

}  // namespace herald::sending
