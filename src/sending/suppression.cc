#include "sending/suppression.h"

#include <map>
#include <utility>

#include "base/log.h"
#include "base/strings.h"
#include "mail/address.h"
#include "sending/ses_events.h"

namespace herald::sending {
namespace {

constexpr const char* kSuppressedStatus = "5.1.1";

const char* const kAccountListDiagnostic =
    "herald did not send the message to this address because it is on the suppression list "
    "of the sending account. Remove it from that list (DeleteSuppressedDestination) to send "
    "to it again.";
const char* const kGlobalListDiagnostic =
    "herald did not send the message to this address because it is on herald's global "
    "suppression list: mail to it bounced recently. The listing ends by itself.";

// `text` cut to at most `max` bytes without splitting a UTF-8 sequence.
std::string CutUtf8(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return text.substr(0, n);
}

nlohmann::json BounceDetail(const std::string& subtype, const std::string& recipient,
                            const std::string& diagnostic, const std::string& feedback_id,
                            SysTime now, const std::string& hostname) {
  return {{"feedbackId", feedback_id},
          {"bounceType", "Permanent"},
          {"bounceSubType", subtype},
          {"bouncedRecipients", nlohmann::json::array({{{"emailAddress", recipient},
                                                        {"action", "failed"},
                                                        {"status", kSuppressedStatus},
                                                        {"diagnosticCode", diagnostic}}})},
          {"timestamp", FormatIso8601Millis(now)},
          {"reportingMTA", "dsn; " + hostname}};
}

}  // namespace

const char* SuppressionHitName(SuppressionHit hit) {
  switch (hit) {
    case SuppressionHit::kAccountBounce:
      return "BOUNCE";
    case SuppressionHit::kAccountComplaint:
      return "COMPLAINT";
    case SuppressionHit::kGlobal:
      return "GLOBAL";
  }
  return "GLOBAL";
}

std::optional<SuppressionHit> ParseSuppressionHit(std::string_view name) {
  for (SuppressionHit h : {SuppressionHit::kAccountBounce, SuppressionHit::kAccountComplaint,
                           SuppressionHit::kGlobal}) {
    if (name == SuppressionHitName(h)) return h;
  }
  return std::nullopt;
}

SuppressionEventInfo SuppressionEvent(SuppressionHit hit, const nlohmann::json& mail,
                                      const std::string& recipient, SysTime now,
                                      const std::string& hostname) {
  SuppressionEventInfo info;
  info.feedback_id = NewUuid() + "-000000";
  switch (hit) {
    case SuppressionHit::kAccountComplaint:
      info.line = EventLine(
          "Complaint", mail, "complaint",
          {{"feedbackId", info.feedback_id},
           {"complaintSubType", "OnAccountSuppressionList"},
           {"complainedRecipients", nlohmann::json::array({{{"emailAddress", recipient}}})},
           {"timestamp", FormatIso8601Millis(now)}});
      return info;
    case SuppressionHit::kAccountBounce:
      info.status = kSuppressedStatus;
      info.diagnostic = kAccountListDiagnostic;
      info.line = EventLine("Bounce", mail, "bounce",
                            BounceDetail("OnAccountSuppressionList", recipient, info.diagnostic,
                                         info.feedback_id, now, hostname));
      return info;
    case SuppressionHit::kGlobal:
      break;
  }
  info.status = kSuppressedStatus;
  info.diagnostic = kGlobalListDiagnostic;
  info.line = EventLine(
      "Bounce", mail, "bounce",
      BounceDetail("Suppressed", recipient, info.diagnostic, info.feedback_id, now, hostname));
  return info;
}

std::optional<store::SuppressionReasons> SetSuppressedReasons(const std::string& options_json) {
  if (options_json.empty()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(options_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  store::SuppressionReasons out{false, false};
  auto it = j.find("SuppressedReasons");
  if (it == j.end() || it->is_null()) return out;  // the group without reasons: none
  if (!it->is_array()) return std::nullopt;
  for (const auto& r : *it) {
    if (!r.is_string()) return std::nullopt;
    std::optional<store::SuppressionReason> reason =
        store::ParseSuppressionReason(r.get_ref<const std::string&>());
    if (!reason) return std::nullopt;
    (*reason == store::SuppressionReason::kBounce ? out.bounce : out.complaint) = true;
  }
  return out;
}

store::SuppressionReasons AdditionReasons(const store::Account& account,
                                          const store::ConfigurationSet* set) {
  if (set != nullptr) {
    if (std::optional<store::SuppressionReasons> r =
            SetSuppressedReasons(set->suppression_options_json)) {
      return *r;
    }
  }
  return account.suppressed_reasons;
}

StatusOr<std::string> SuppressionAddress(std::string_view given) {
  if (given.empty()) return InvalidArgumentError("the address is empty");
  StatusOr<mail::Mailbox> mb = mail::ParseMailbox(given);
  if (!mb.ok()) return mb.status();
  if (!mb->display_name.empty() || given.find('<') != std::string_view::npos) {
    return InvalidArgumentError("a display name is not allowed");
  }
  if (AsciiLower(given) == mb->Canonical()) return std::string(given);
  return mb->Address();
}

ImportParse ParseSuppressionImport(std::string_view text, size_t max_entries) {
  ImportParse out;
  size_t more_errors = 0;
  auto error = [&](size_t line, const std::string& why) {
    if (out.errors.size() < kMaxImportErrors) {
      out.errors.push_back("line " + std::to_string(line) + ": " + why);
    } else {
      ++more_errors;
    }
  };
  size_t line_no = 0;
  bool first = true;  // the first non-blank line may be a CSV header
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = TrimWhitespace(text.substr(start, end - start));
    start = end + 1;
    ++line_no;
    if (line.empty()) continue;
    const bool was_first = first;
    first = false;
    std::string address;
    std::string reason_text;
    if (line.front() == '{') {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) {
        error(line_no, "not a JSON object");
        continue;
      }
      auto member = [&](const char* a, const char* b) -> const nlohmann::json* {
        for (const char* name : {a, b}) {
          auto it = j.find(name);
          if (it != j.end()) return &*it;
        }
        return nullptr;
      };
      const nlohmann::json* addr = member("EmailAddress", "emailAddress");
      const nlohmann::json* reason = member("Reason", "reason");
      if (addr == nullptr || !addr->is_string() || reason == nullptr || !reason->is_string()) {
        error(line_no, "EmailAddress and Reason strings are required");
        continue;
      }
      address = addr->get<std::string>();
      reason_text = reason->get<std::string>();
    } else {
      const size_t comma = line.find(',');
      if (comma == std::string_view::npos) {
        error(line_no, "expected \"address,BOUNCE\" or \"address,COMPLAINT\"");
        continue;
      }
      std::string_view a = TrimWhitespace(line.substr(0, comma));
      std::string_view r = TrimWhitespace(line.substr(comma + 1));
      if (was_first && a.find('@') == std::string_view::npos &&
          !store::ParseSuppressionReason(AsciiUpper(r))) {
        continue;  // a header ("EmailAddress,Reason")
      }
      if (r.find(',') != std::string_view::npos) {
        error(line_no, "too many fields");
        continue;
      }
      address = std::string(a);
      reason_text = AsciiUpper(r);
    }
    std::optional<store::SuppressionReason> reason = store::ParseSuppressionReason(reason_text);
    if (!reason) {
      error(line_no, "the reason must be BOUNCE or COMPLAINT");
      continue;
    }
    StatusOr<std::string> stored = SuppressionAddress(address);
    if (!stored.ok()) {
      error(line_no, "invalid email address: " + stored.status().message());
      continue;
    }
    if (out.entries.size() == max_entries) {
      error(line_no, "more than " + std::to_string(max_entries) + " entries in one import");
      break;
    }
    out.entries.push_back({std::move(stored).value(), *reason});
  }
  if (more_errors > 0) {
    out.errors.push_back("... and " + std::to_string(more_errors) + " more bad lines");
  }
  return out;
}

void SuppressionRecorder::OnOutcomes(const std::vector<OutcomeFacts>& outcomes) {
  // The reasons of each (account, configuration set) the outcomes name, read once per call;
  // nullopt when the account could not be read (its outcomes add nothing to its list).
  std::map<std::pair<int64_t, std::string>, std::optional<store::SuppressionReasons>> reasons;
  auto reasons_for = [&](const OutcomeFacts& o) -> std::optional<store::SuppressionReasons> {
    auto key = std::make_pair(o.account_id, o.configuration_set);
    auto it = reasons.find(key);
    if (it != reasons.end()) return it->second;
    std::optional<store::SuppressionReasons> r;
    StatusOr<store::Account> account = store_.GetAccount(o.account_id);
    if (!account.ok()) {
      LogError("suppression: account not readable", {{"account_id", std::to_string(o.account_id)},
                                                     {"error", account.status().ToString()}});
    } else if (o.configuration_set.empty()) {
      r = AdditionReasons(*account, nullptr);
    } else {
      StatusOr<store::ConfigurationSet> set =
          store_.GetConfigurationSet(o.account_id, o.configuration_set);
      if (!set.ok() && set.status().code() != StatusCode::kNotFound) {
        LogError("suppression: configuration set not readable",
                 {{"configuration_set", o.configuration_set}, {"error", set.status().ToString()}});
      }
      r = AdditionReasons(*account, set.ok() ? &*set : nullptr);
    }
    reasons.emplace(key, r);
    return r;
  };

  std::vector<store::SuppressedDestination> entries;
  std::vector<store::GlobalBounce> global;
  for (const OutcomeFacts& o : outcomes) {
    if (o.recipient.empty() || o.recipient.size() > store::kMaxEmailLength) {
      LogWarn("suppression: outcome without a usable recipient", {{"message_id", o.message_id}});
      continue;
    }
    const bool bounce = o.kind == OutcomeFacts::Kind::kHardBounce;
    const std::string diagnostic = CutUtf8(o.diagnostic, store::kMaxSuppressionDiagnosticLength);
    if (bounce && config_.global_enabled && o.bounce_sub_type != "Suppressed") {
      global.push_back({o.recipient, o.at, diagnostic});
    }
    if (o.account_id <= 0) continue;  // herald's own mail has no account list
    const store::SuppressionReason reason =
        bounce ? store::SuppressionReason::kBounce : store::SuppressionReason::kComplaint;
    std::optional<store::SuppressionReasons> wanted = reasons_for(o);
    if (!wanted || !wanted->Has(reason)) continue;
    store::SuppressedDestination e;
    e.account_id = o.account_id;
    e.address = o.recipient;
    e.reason = reason;
    e.last_update = o.at;
    e.message_id = CutUtf8(o.message_id, store::kMaxSuppressionIdLength);
    e.feedback_id = CutUtf8(o.feedback_id, store::kMaxSuppressionIdLength);
    e.diagnostic = bounce ? diagnostic : std::string();
    entries.push_back(std::move(e));
  }
  if (!entries.empty()) {
    Status st = store_.PutSuppressedDestinations(entries);
    if (!st.ok()) {
      LogError("suppression: account list not updated",
               {{"entries", std::to_string(entries.size())}, {"error", st.ToString()}});
    }
  }
  if (!global.empty()) {
    Status st = store_.RecordGlobalHardBounces(global, config_.global_policy);
    if (!st.ok()) {
      LogError("suppression: global list not updated",
               {{"bounces", std::to_string(global.size())}, {"error", st.ToString()}});
    }
  }
}

}  // namespace herald::sending
