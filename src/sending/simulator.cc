#include "sending/simulator.h"

#include "base/strings.h"
#include "sending/ses_events.h"

namespace herald::sending {

SimOutcome ClassifySimulator(std::string_view address) {
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return SimOutcome::kNotSimulator;
  if (!EqualsIgnoreCase(address.substr(at + 1), kSimulatorDomain)) {
    return SimOutcome::kNotSimulator;
  }
  std::string local = AsciiLower(address.substr(0, at));
  size_t plus = local.find('+');
  if (plus != std::string::npos) local.resize(plus);
  if (local == "bounce") return SimOutcome::kBounce;
  if (local == "ooto") return SimOutcome::kOoto;
  if (local == "complaint") return SimOutcome::kComplaint;
  if (local == "suppressionlist") return SimOutcome::kSuppressionList;
  return SimOutcome::kSuccess;
}

namespace {

nlohmann::json Delivery(const std::string& rcpt, SysTime accepted, SysTime now,
                        const std::string& hostname) {
  int64_t ms = UnixMillis(now) - UnixMillis(accepted);
  return {{"timestamp", FormatIso8601Millis(now)},
          {"processingTimeMillis", ms < 0 ? 0 : ms},
          {"recipients", {rcpt}},
          {"smtpResponse", "250 2.6.0 Message received"},
          {"reportingMTA", hostname}};
}

nlohmann::json Bounce(const std::string& type, const std::string& subtype, nlohmann::json recipient,
                      SysTime now, const std::string& hostname) {
  return {{"feedbackId", NewUuid() + "-000000"},
          {"bounceType", type},
          {"bounceSubType", subtype},
          {"bouncedRecipients", nlohmann::json::array({std::move(recipient)})},
          {"timestamp", FormatIso8601Millis(now)},
          {"reportingMTA", "dsn; " + hostname}};
}

}  // namespace

std::vector<std::string> SimulatorOutcomeEvents(SimOutcome outcome, const nlohmann::json& mail,
                                                const std::string& rcpt, SysTime accepted,
                                                SysTime now, const std::string& hostname) {
  std::vector<std::string> out;
  switch (outcome) {
    case SimOutcome::kNotSimulator:
      break;
    case SimOutcome::kSuccess:
      out.push_back(
          EventLine("Delivery", mail, "delivery", Delivery(rcpt, accepted, now, hostname)));
      break;
    case SimOutcome::kBounce:
      out.push_back(EventLine("Bounce", mail, "bounce",
                              Bounce("Permanent", "General",
                                     {{"emailAddress", rcpt},
                                      {"action", "failed"},
                                      {"status", "5.1.1"},
                                      {"diagnosticCode", "smtp; 550 5.1.1 user unknown"}},
                                     now, hostname)));
      break;
    case SimOutcome::kOoto:
      out.push_back(
          EventLine("Delivery", mail, "delivery", Delivery(rcpt, accepted, now, hostname)));
      out.push_back(
          EventLine("Bounce", mail, "bounce",
                    Bounce("Transient", "General", {{"emailAddress", rcpt}}, now, hostname)));
      break;
    case SimOutcome::kComplaint:
      out.push_back(
          EventLine("Delivery", mail, "delivery", Delivery(rcpt, accepted, now, hostname)));
      out.push_back(
          EventLine("Complaint", mail, "complaint",
                    {{"feedbackId", NewUuid() + "-000000"},
                     {"complainedRecipients", nlohmann::json::array({{{"emailAddress", rcpt}}})},
                     {"timestamp", FormatIso8601Millis(now)},
                     {"userAgent", "herald mailbox simulator"},
                     {"complaintFeedbackType", "abuse"},
                     {"arrivalDate", FormatIso8601Millis(now)}}));
      break;
    case SimOutcome::kSuppressionList:
      out.push_back(EventLine(
          "Bounce", mail, "bounce",
          Bounce("Permanent", "Suppressed",
                 {{"emailAddress", rcpt},
                  {"action", "failed"},
                  {"status", "5.1.1"},
                  {"diagnosticCode",
                   "The mailbox simulator treats this address as one on the global suppression "
                   "list of addresses with a recent history of hard bounces."}},
                 now, hostname)));
      break;
  }
  return out;
}

}  // namespace herald::sending
