#include "sending/feedback_service.h"

#include <arpa/inet.h>

#include <cctype>
#include <ctime>
#include <map>
#include <utility>

#include "base/log.h"
#include "base/strings.h"
#include "mail/verp.h"
#include "sending/ses_events.h"

namespace herald::sending {
namespace {

using feedback::FeedbackKind;
using feedback::Report;

nlohmann::json MailObject(const SentMessage& m) {
  nlohmann::json j = nlohmann::json::parse(m.mail_json, nullptr, false);
  if (!j.is_object()) j = {{"messageId", m.message_id}};
  return j;
}

std::string FeedbackId() { return NewUuid() + "-000000"; }

// "dns; mx.example.org" as SES writes it; "" when the report names no MTA.
std::string ReportingMta(std::string_view mta) {
  mta = TrimWhitespace(mta);
  if (mta.empty()) return "";
  const size_t semi = mta.find(';');
  if (semi == std::string_view::npos) return "dns; " + std::string(mta);
  return AsciiLower(TrimWhitespace(mta.substr(0, semi))) + "; " +
         std::string(TrimWhitespace(mta.substr(semi + 1)));
}

// The IP address of a Remote-MTA value ("dns; 192.0.2.1", "[192.0.2.1]", "IPv6:..."), or
// "" when it names a host.
std::string RemoteIp(std::string_view mta) {
  const size_t semi = mta.find(';');
  if (semi != std::string_view::npos) mta = mta.substr(semi + 1);
  mta = TrimWhitespace(mta);
  if (mta.size() >= 2 && mta.front() == '[' && mta.back() == ']') {
    mta = mta.substr(1, mta.size() - 2);
  }
  if (StartsWithIgnoreCase(mta, "IPv6:")) mta = mta.substr(5);
  const std::string s(mta);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    return s;
  }
  return "";
}

// An RFC 5322 date ("Thu, 5 Mar 2026 14:00:00 -0500", obsolete zone names too) or an ISO
// 8601 one ("2026-03-05T19:00:00Z"); false when it is neither.
bool ParseDate(std::string_view text, SysTime* out) {
  std::string s(TrimWhitespace(text));
  const size_t comma = s.find(',');
  if (comma != std::string::npos && comma <= 4) s = s.substr(comma + 1);
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                  "jul", "aug", "sep", "oct", "nov", "dec"};
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  char month[4] = {0};
  char zone[16] = {0};
  std::tm tm{};
  int64_t offset_minutes = 0;
  if (std::sscanf(s.c_str(), " %d %3s %d %d:%d%n", &day, month, &year, &hour, &minute, &consumed) ==
      5) {
    std::string rest = s.substr(static_cast<size_t>(consumed));
    if (!rest.empty() && rest[0] == ':') {
      int n = 0;
      if (std::sscanf(rest.c_str(), ":%d%n", &second, &n) != 1) return false;
      rest = rest.substr(static_cast<size_t>(n));
    }
    if (std::sscanf(rest.c_str(), " %15s", zone) == 1) {
      const std::string z = AsciiLower(zone);
      if ((z[0] == '+' || z[0] == '-') && z.size() == 5 &&
          z.find_first_not_of("0123456789", 1) == std::string::npos) {
        const int hh = std::stoi(z.substr(1, 2));
        const int mm = std::stoi(z.substr(3, 2));
        offset_minutes = (z[0] == '-' ? -1 : 1) * (hh * 60 + mm);
      } else {
        static const std::map<std::string, int> kZones = {
            {"ut", 0},     {"gmt", 0},    {"z", 0},      {"utc", 0},
            {"est", -300}, {"edt", -240}, {"cst", -360}, {"cdt", -300},
            {"mst", -420}, {"mdt", -360}, {"pst", -480}, {"pdt", -420}};
        auto it = kZones.find(z);
        offset_minutes = it == kZones.end() ? 0 : it->second;
      }
    }
    int mon = -1;
    const std::string m = AsciiLower(month);
    for (int i = 0; i < 12; ++i) {
      if (m == kMonths[i]) mon = i;
    }
    if (mon < 0) return false;
    if (year < 100) year += year < 50 ? 2000 : 1900;
    tm.tm_mon = mon;
  } else {
    int mon = 0;
    if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &year, &mon, &day, &hour, &minute, &second) !=
        6) {
      return false;
    }
    tm.tm_mon = mon - 1;
    const size_t tpos = s.find('T');
    const size_t zpos = s.find_first_of("+-Z", tpos);
    if (zpos != std::string::npos && s[zpos] != 'Z' && s.size() >= zpos + 6) {
      const int hh = std::atoi(s.substr(zpos + 1, 2).c_str());
      const int mm = std::atoi(s.substr(zpos + 4, 2).c_str());
      offset_minutes = (s[zpos] == '-' ? -1 : 1) * (hh * 60 + mm);
    }
  }
  if (year < 1970 || year > 9999 || tm.tm_mon < 0 || tm.tm_mon > 11 || day < 1 || day > 31 ||
      hour > 23 || minute > 59 || second > 60 || hour < 0 || minute < 0 || second < 0) {
    return false;
  }
  tm.tm_year = year - 1900;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return false;
  *out = FromUnixMillis((static_cast<int64_t>(t) - offset_minutes * 60) * 1000);
  return true;
}

void AppendLine(std::string* lines, const std::string& line) {
  if (!lines->empty()) lines->push_back('\n');
  lines->append(line);
}

// What the events of one report named, for the result and the counters.
struct Named {
  size_t bounce_events = 0;
  size_t bounced = 0;
  size_t delay_events = 0;
  size_t delayed = 0;
};

// The Bounce events of one correlated message, and the DeliveryDelay events of its
// recipients whose entry says "delayed" (the remote side still tries).
// What an OutcomeObserver is told about one recipient of a correlated message.
OutcomeFacts FactsFor(const MessageMatch& match, const nlohmann::json& mail, SysTime at,
                      OutcomeFacts::Kind kind, const std::string& recipient) {
  OutcomeFacts f;
  f.kind = kind;
  f.account_id = match.message->account_id;
  f.configuration_set = ConfigurationSetOf(mail);
  f.message_id = match.message->message_id;
  f.sent_at = match.message->accepted;
  f.at = at;
  f.recipient = recipient;
  f.sample = HeaderSampleOf(mail).substr(0, kMaxOutcomeSampleBytes);
  return f;
}

void BounceAndDelayEvents(const Report& r, const MessageMatch& match, SysTime at,
                          const std::string& ts, std::string* lines, Named* named,
                          std::vector<OutcomeFacts>* hard) {
  struct Group {
    nlohmann::json recipients = nlohmann::json::array();
    std::string remote_ip;
  };
  std::map<std::pair<std::string, std::string>, Group> groups;  // (type, sub-type)
  std::map<std::string, nlohmann::json> delays;                 // delayType -> recipients
  const feedback::Verdict unknown = feedback::MakeVerdict(feedback::Reason::kUnknown, true, "", "");
  for (const auto& rcpt : match.recipients) {
    const feedback::ReportedRecipient* entry =
        rcpt.report_index >= 0 && static_cast<size_t>(rcpt.report_index) < r.recipients.size()
            ? &r.recipients[static_cast<size_t>(rcpt.report_index)]
            : nullptr;
    const feedback::Verdict& v = entry != nullptr ? entry->verdict : unknown;
    if (v.action == "delayed") {
      nlohmann::json j = {{"emailAddress", rcpt.address}, {"status", v.status}};
      if (!v.diagnostic_code.empty()) j["diagnosticCode"] = ToValidUtf8(v.diagnostic_code);
      nlohmann::json& list = delays[v.delay_type.empty() ? "Undetermined" : v.delay_type];
      if (list.is_null()) list = nlohmann::json::array();
      list.push_back(std::move(j));
      ++named->delayed;
      continue;
    }
    nlohmann::json j = {{"emailAddress", rcpt.address},
                        {"action", v.action.empty() ? std::string("failed") : v.action},
                        {"status", v.status}};
    if (!v.diagnostic_code.empty()) j["diagnosticCode"] = ToValidUtf8(v.diagnostic_code);
    Group& g = groups[{v.bounce_type, v.bounce_sub_type}];
    g.recipients.push_back(std::move(j));
    if (g.remote_ip.empty() && entry != nullptr) g.remote_ip = RemoteIp(entry->remote_mta);
    ++named->bounced;
  }
  const nlohmann::json mail = MailObject(*match.message);
  const std::string reporting = ReportingMta(r.reporting_mta);
  for (auto& [type, g] : groups) {
    nlohmann::json detail = {{"feedbackId", FeedbackId()},
                             {"bounceType", type.first},
                             {"bounceSubType", type.second},
                             {"bouncedRecipients", std::move(g.recipients)},
                             {"timestamp", ts}};
    if (!reporting.empty()) detail["reportingMTA"] = ToValidUtf8(reporting);
    if (!g.remote_ip.empty()) detail["remoteMtaIp"] = g.remote_ip;
    if (type.first == "Permanent") {
      for (const nlohmann::json& j : detail["bouncedRecipients"]) {
        OutcomeFacts f = FactsFor(match, mail, at, OutcomeFacts::Kind::kHardBounce,
                                  j["emailAddress"].get<std::string>());
        f.feedback_id = detail["feedbackId"].get<std::string>();
        f.bounce_sub_type = type.second;
        f.status = j.value("status", "");
        f.diagnostic = j.value("diagnosticCode", "");
        hard->push_back(std::move(f));
      }
    }
    AppendLine(lines, EventLine("Bounce", mail, "bounce", std::move(detail)));
    ++named->bounce_events;
  }
  // SES's deliveryDelay object; no expirationTime (see the header).
  for (auto& [delay_type, recipients] : delays) {
    nlohmann::json detail = {{"delayType", ToValidUtf8(delay_type)},
                             {"delayedRecipients", std::move(recipients)},
                             {"timestamp", ts}};
    if (!reporting.empty()) detail["reportingMTA"] = ToValidUtf8(reporting);
    AppendLine(lines, EventLine("DeliveryDelay", mail, "deliveryDelay", std::move(detail)));
    ++named->delay_events;
  }
}

size_t ComplaintEvent(const Report& r, const MessageMatch& match, SysTime at, const std::string& ts,
                      std::string* lines, std::vector<OutcomeFacts>* complaints) {
  nlohmann::json rcpts = nlohmann::json::array();
  for (const auto& rcpt : match.recipients) rcpts.push_back({{"emailAddress", rcpt.address}});
  nlohmann::json detail = {{"feedbackId", FeedbackId()},
                           {"complainedRecipients", std::move(rcpts)},
                           {"timestamp", ts},
                           {"complaintSubType", nullptr}};
  const auto& c = r.complaint;
  if (!c.feedback_type.empty()) detail["complaintFeedbackType"] = ToValidUtf8(c.feedback_type);
  if (!c.user_agent.empty()) detail["userAgent"] = ToValidUtf8(c.user_agent);
  SysTime arrival;
  const std::string& date = c.arrival_date.empty() ? r.arrival_date : c.arrival_date;
  if (!date.empty() && ParseDate(date, &arrival)) {
    detail["arrivalDate"] = FormatIso8601Millis(arrival);
  }
  const nlohmann::json mail = MailObject(*match.message);
  for (const auto& rcpt : match.recipients) {
    OutcomeFacts f = FactsFor(match, mail, at, OutcomeFacts::Kind::kComplaint, rcpt.address);
    f.feedback_id = detail["feedbackId"].get<std::string>();
    f.feedback_type = c.feedback_type;
    complaints->push_back(std::move(f));
  }
  AppendLine(lines, EventLine("Complaint", mail, "complaint", std::move(detail)));
  return match.recipients.size();
}

void AutoReplyEvent(const Report& r, const MessageMatch& match, const std::string& ts,
                    std::string* lines) {
  nlohmann::json rcpts = nlohmann::json::array();
  for (const auto& rcpt : match.recipients) rcpts.push_back({{"emailAddress", rcpt.address}});
  nlohmann::json detail = {{"feedbackId", FeedbackId()},
                           {"timestamp", ts},
                           {"recipients", std::move(rcpts)},
                           {"from", ToValidUtf8(r.from)},
                           {"subject", ToValidUtf8(r.subject)}};
  AppendLine(lines,
             EventLine("AutoReply", MailObject(*match.message), "autoReply", std::move(detail)));
}

}  // namespace

const char* FeedbackOutcomeName(FeedbackOutcome outcome) {
  switch (outcome) {
    case FeedbackOutcome::kBounce:
      return "bounce";
    case FeedbackOutcome::kComplaint:
      return "complaint";
    case FeedbackOutcome::kAutoReply:
      return "auto_reply";
    case FeedbackOutcome::kDelivered:
      return "delivered";
    case FeedbackOutcome::kDelayed:
      return "delayed";
    case FeedbackOutcome::kNotFeedback:
      return "not_feedback";
    case FeedbackOutcome::kOrphan:
      return "orphan";
  }
  return "not_feedback";
}

StatusOr<ProcessResult> FeedbackProcessor::Process(const InboundFeedback& m) const {
  const Report report = parser_(std::string_view(m.message).substr(0, feedback::kMaxFeedbackBytes));
  ProcessResult result;
  result.kind = report.kind;
  result.format = report.format;
  if (report.kind == FeedbackKind::kNotFeedback) {
    result.outcome = FeedbackOutcome::kNotFeedback;
    return result;
  }
  if (report.kind == FeedbackKind::kDelivered) {
    result.outcome = FeedbackOutcome::kDelivered;
    return result;
  }
  const Correlation c = correlator_.Correlate(report, m.recipients, m.received);
  result.method = c.method;
  if (c.matches.empty()) {
    result.outcome = FeedbackOutcome::kOrphan;
    result.orphan_reason = c.orphan_reason;
    return result;
  }
  const std::string ts = FormatIso8601Millis(m.received);
  std::string lines;
  Named named;
  std::vector<OutcomeFacts> counted;
  for (const auto& match : c.matches) {
    result.message_ids.push_back(match.message->message_id);
    switch (report.kind) {
      case FeedbackKind::kComplaint:
        result.recipients += ComplaintEvent(report, match, m.received, ts, &lines, &counted);
        ++result.events;
        break;
      case FeedbackKind::kAutoReply:
        AutoReplyEvent(report, match, ts, &lines);
        result.recipients += match.recipients.size();
        ++result.events;
        break;
      default:
        BounceAndDelayEvents(report, match, m.received, ts, &lines, &named, &counted);
        break;
    }
  }
  result.events += named.bounce_events + named.delay_events;
  result.recipients += named.bounced + named.delayed;
  result.delay_events = named.delay_events;
  result.delayed_recipients = named.delayed;
  if (report.kind == FeedbackKind::kComplaint) {
    result.outcome = FeedbackOutcome::kComplaint;
  } else if (report.kind == FeedbackKind::kAutoReply) {
    result.outcome = FeedbackOutcome::kAutoReply;
  } else {
    result.outcome = named.bounce_events > 0 ? FeedbackOutcome::kBounce : FeedbackOutcome::kDelayed;
  }
  if (!lines.empty()) RETURN_IF_ERROR(events_.Publish(lines));
  if (observer_ != nullptr) observer_->OnOutcomes(counted);
  return result;
}

FeedbackService::FeedbackService(FeedbackServiceConfig config, Clock& clock, FeedbackInbox& inbox,
                                 const FeedbackProcessor& processor, DomainSource dynamic_domains)
    : config_(std::move(config)),
      clock_(clock),
      inbox_(inbox),
      processor_(processor),
      dynamic_source_(std::move(dynamic_domains)) {
  for (const auto& d : config_.domains) {
    if (!d.empty()) static_domains_.insert(AsciiLower(d));
  }
}

FeedbackService::~FeedbackService() { Stop(); }

bool FeedbackService::OwnDomain(const std::string& domain) {
  if (static_domains_.count(domain) != 0) return true;
  if (!dynamic_source_) return false;
  std::lock_guard<std::mutex> lock(domains_mu_);
  const auto now = clock_.Monotonic();
  if (!dynamic_loaded_ || now >= dynamic_expires_) {
    StatusOr<std::vector<std::string>> got = dynamic_source_();
    if (got.ok()) {
      dynamic_domains_.clear();
      for (const auto& d : *got) dynamic_domains_.insert(AsciiLower(d));
      dynamic_loaded_ = true;
    } else {
      LogWarn("feedback domains not refreshed", {{"error", got.status().ToString()}});
    }
    dynamic_expires_ = now + config_.dynamic_ttl;
  }
  return dynamic_domains_.count(domain) != 0;
}

std::string FeedbackService::CheckRecipient(const std::string& address) {
  const size_t at = address.rfind('@');
  const std::string domain = at == std::string::npos ? "" : AsciiLower(address.substr(at + 1));
  std::string refusal;
  if (domain.empty() || !OwnDomain(domain)) {
    refusal = "550 5.7.1 <" + address + ">: Relay access denied";
  } else {
    const std::string local = address.substr(0, at);
    if (StartsWithIgnoreCase(local, mail::kVerpPrefix) && !config_.verp_secret.empty() &&
        !mail::DecodeVerpLocalPart(local, config_.verp_secret).ok()) {
      refusal = "550 5.1.1 <" + address + ">: Recipient address rejected: unknown return path";
    }
  }
  if (!refusal.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.refused_recipients;
  }
  return refusal;
}

Status FeedbackService::Receive(InboundFeedback& message) {
  message.received = clock_.Now();
  Status st = inbox_.Store(message);
  std::lock_guard<std::mutex> lock(mu_);
  if (!st.ok()) {
    ++counters_.store_failures;
    return st;
  }
  ++counters_.received;
  queue_.push_back(message.id);
  queued_.insert(message.id);
  cv_.notify_one();
  return Status::Ok();
}

Status FeedbackService::QueuePending() {
  ASSIGN_OR_RETURN(std::vector<std::string> ids, inbox_.Pending());
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& id : ids) {
    if (queued_.insert(id).second) queue_.push_back(std::move(id));
  }
  cv_.notify_one();
  return Status::Ok();
}

Status FeedbackService::Start() {
  RETURN_IF_ERROR(QueuePending());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return FailedPreconditionError("feedback worker already started");
    stopping_ = false;
    started_ = true;
  }
  worker_ = std::thread([this] { WorkerLoop(); });
  return Status::Ok();
}

void FeedbackService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mu_);
  started_ = false;
}

void FeedbackService::WorkerLoop() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
    }
    ProcessQueued();
  }
}

size_t FeedbackService::ProcessQueued() {
  size_t n = 0;
  while (true) {
    std::string id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty() || (stopping_ && started_)) return n;
      id = std::move(queue_.front());
      queue_.pop_front();
    }
    ProcessOne(id);
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued_.erase(id);
    }
    ++n;
  }
}

void FeedbackService::ProcessOne(const std::string& id) {
  StatusOr<InboundFeedback> m = inbox_.Read(id);
  if (!m.ok()) {
    LogError("feedback message unreadable", {{"id", id}, {"error", m.status().ToString()}});
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.failed;
    return;
  }
  StatusOr<ProcessResult> r = processor_.Process(*m);
  if (!r.ok()) {
    // The events were not published: the message stays and is processed after a restart.
    LogError("feedback not processed", {{"id", id}, {"error", r.status().ToString()}});
    std::lock_guard<std::mutex> lock(mu_);
    ++counters_.failed;
    return;
  }
  Status disposed;
  if (r->outcome == FeedbackOutcome::kOrphan) {
    nlohmann::json why = {{"id", id},
                          {"received", FormatIso8601Millis(m->received)},
                          {"peer", m->peer_ip},
                          {"mail_from", m->mail_from},
                          {"recipients", m->recipients},
                          {"kind", feedback::FeedbackKindName(r->kind)},
                          {"format", r->format},
                          {"reason", r->orphan_reason}};
    disposed =
        inbox_.KeepOrphan(id, why.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    disposed = inbox_.Remove(id);
  }
  if (!disposed.ok()) {
    LogWarn("feedback file not disposed of", {{"id", id}, {"error", disposed.ToString()}});
  }
  std::string ids;
  for (const auto& mid : r->message_ids) ids += (ids.empty() ? "" : ",") + mid;
  LogInfo("feedback processed", {{"id", id},
                                 {"peer", m->peer_ip},
                                 {"kind", feedback::FeedbackKindName(r->kind)},
                                 {"format", r->format},
                                 {"outcome", FeedbackOutcomeName(r->outcome)},
                                 {"correlation", CorrelationMethodName(r->method)},
                                 {"orphan_reason", r->orphan_reason},
                                 {"message_ids", ids},
                                 {"events", std::to_string(r->events)},
                                 {"recipients", std::to_string(r->recipients)}});
  std::lock_guard<std::mutex> lock(mu_);
  FeedbackCounters& c = counters_;
  switch (r->outcome) {
    case FeedbackOutcome::kBounce:
      ++c.bounce;
      c.bounce_events += r->events - r->delay_events;
      c.bounced_recipients += r->recipients - r->delayed_recipients;
      break;
    case FeedbackOutcome::kComplaint:
      ++c.complaint;
      c.complaint_events += r->events;
      c.complained_recipients += r->recipients;
      break;
    case FeedbackOutcome::kAutoReply:
      ++c.auto_reply;
      break;
    case FeedbackOutcome::kDelivered:
      ++c.delivered;
      break;
    case FeedbackOutcome::kDelayed:
      ++c.delayed;
      break;
    case FeedbackOutcome::kNotFeedback:
      ++c.not_feedback;
      break;
    case FeedbackOutcome::kOrphan:
      ++c.orphan;
      break;
  }
  c.delay_events += r->delay_events;  // kDelayed, and kBounce for a mixed report
  c.delayed_recipients += r->delayed_recipients;
  if (r->outcome != FeedbackOutcome::kOrphan) {
    const uint64_t n = r->message_ids.size();
    if (r->method == CorrelationMethod::kVerp) c.by_verp += n;
    if (r->method == CorrelationMethod::kMessageId) c.by_message_id += n;
    if (r->method == CorrelationMethod::kRecipientTime) c.by_recipient_time += n;
  }
}

FeedbackCounters FeedbackService::Counters() const {
  std::lock_guard<std::mutex> lock(mu_);
  return counters_;
}

nlohmann::json FeedbackService::CountersJson() const {
  const FeedbackCounters c = Counters();
  return {{"received", c.received},
          {"refused_recipients", c.refused_recipients},
          {"store_failures", c.store_failures},
          {"outcomes",
           {{"bounce", c.bounce},
            {"complaint", c.complaint},
            {"auto_reply", c.auto_reply},
            {"delivered", c.delivered},
            {"delayed", c.delayed},
            {"not_feedback", c.not_feedback},
            {"orphan", c.orphan},
            {"failed", c.failed}}},
          {"events",
           {{"bounce", c.bounce_events},
            {"bounced_recipients", c.bounced_recipients},
            {"delivery_delay", c.delay_events},
            {"delayed_recipients", c.delayed_recipients},
            {"complaint", c.complaint_events},
            {"complained_recipients", c.complained_recipients}}},
          {"correlated_by",
           {{"verp", c.by_verp},
            {"message_id", c.by_message_id},
            {"recipient_time", c.by_recipient_time}}},
          {"orphans_kept", inbox_.orphans()},
          {"orphans_pruned", inbox_.pruned()}};
}

}  // namespace herald::sending
