#include "sending/delivery_outcomes.h"

#include <map>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "sending/ses_events.h"

namespace herald::sending {

using delivery::Decision;

void DeliveryOutcomeRecorder::Record(const std::vector<Decision>& decisions) {
  if (decisions.empty()) return;
  const SysTime now = clock_.Now();
  std::map<std::string, std::vector<const Decision*>> by_message;
  for (const auto& d : decisions) by_message[d.message->id].push_back(&d);

  std::string lines;
  std::vector<spool::DoneMark> marks;
  std::vector<OutcomeFacts> hard;
  for (const auto& [id, ds] : by_message) {
    spool::DoneMark mark;
    mark.id = id;
    for (const Decision* d : ds) {
      if (d->kind != Decision::Kind::kDeferred) mark.recipients.push_back(d->recipient.index);
    }
    if (ds.front()->message->account_id != 0) {
      auto rec = spool_.Read(id);
      std::string sample;  // for review cases: the start of the message
      if (rec.ok())
        sample = ToValidUtf8(std::string_view(rec->body).substr(0, kMaxOutcomeSampleBytes));
      nlohmann::json mail;
      if (rec.ok()) {
        nlohmann::json env = nlohmann::json::parse(rec->envelope, nullptr, false);
        if (env.is_object() && env.contains("mail")) mail = env["mail"];
      }
      if (!mail.is_object()) {
        LogError("envelope unreadable for events", {{"message_id", id}});
        mail = {{"messageId", id}};
      }
      for (const Decision* d : ds) {
        const std::string ts = FormatIso8601Millis(now);
        std::string line;
        if (d->kind == Decision::Kind::kDelivered) {
          int64_t ms = UnixMillis(now) - UnixMillis(d->message->accepted);
          nlohmann::json detail = {{"timestamp", ts},
                                   {"processingTimeMillis", ms < 0 ? 0 : ms},
                                   {"recipients", {d->recipient.address}},
                                   {"smtpResponse", ToValidUtf8(d->smtp_response)},
                                   {"reportingMTA", hostname_}};
          if (!d->remote_address.empty()) detail["remoteMtaIp"] = d->remote_address;
          line = EventLine("Delivery", mail, "delivery", std::move(detail));
        } else if (d->kind == Decision::Kind::kBounced) {
          const auto& v = *d->verdict;
          nlohmann::json r = {{"emailAddress", d->recipient.address},
                              {"action", "failed"},
                              {"status", v.status},
                              {"diagnosticCode", ToValidUtf8(v.diagnostic_code)}};
          nlohmann::json detail = {{"feedbackId", NewUuid() + "-000000"},
                                   {"bounceType", v.bounce_type},
                                   {"bounceSubType", v.bounce_sub_type},
                                   {"bouncedRecipients", nlohmann::json::array({r})},
                                   {"timestamp", ts},
                                   {"reportingMTA", "dsn; " + hostname_}};
          if (!d->remote_address.empty()) detail["remoteMtaIp"] = d->remote_address;
          if (observer_ != nullptr && v.bounce_type == "Permanent") {
            OutcomeFacts f;
            f.kind = OutcomeFacts::Kind::kHardBounce;
            f.account_id = d->message->account_id;
            f.configuration_set = ConfigurationSetOf(mail);
            f.message_id = id;
            f.sent_at = d->message->accepted;
            f.at = now;
            f.recipient = d->recipient.address;
            f.feedback_id = detail["feedbackId"].get<std::string>();
            f.bounce_sub_type = v.bounce_sub_type;
            f.status = v.status;
            f.diagnostic = r["diagnosticCode"].get<std::string>();
            f.sample = sample;
            hard.push_back(std::move(f));
          }
          line = EventLine("Bounce", mail, "bounce", std::move(detail));
        } else {
          const auto& v = *d->verdict;
          nlohmann::json r = {{"emailAddress", d->recipient.address},
                              {"status", v.status},
                              {"diagnosticCode", ToValidUtf8(v.diagnostic_code)}};
          nlohmann::json detail = {
              {"delayType", v.delay_type.empty() ? std::string("Undetermined") : v.delay_type},
              {"delayedRecipients", nlohmann::json::array({r})},
              {"expirationTime", FormatIso8601Millis(d->expiration)},
              {"reportingMTA", hostname_},
              {"timestamp", ts}};
          line = EventLine("DeliveryDelay", mail, "deliveryDelay", std::move(detail));
        }
        if (!lines.empty()) lines += "\n";
        lines += line;
      }
    }
    if (!mark.recipients.empty()) marks.push_back(std::move(mark));
  }
  if (!lines.empty()) {
    Status st = events_.Publish(lines);
    if (!st.ok()) {
      // Unmarked recipients are delivered again after a restart; never lost.
      LogError("delivery events not published", {{"error", st.ToString()}});
      return;
    }
  }
  if (observer_ != nullptr) observer_->OnOutcomes(hard);
  if (!marks.empty()) {
    Status st = spool_.MarkDoneMany(marks);
    if (!st.ok()) LogError("spool marks failed", {{"error", st.ToString()}});
  }
}

}  // namespace herald::sending
