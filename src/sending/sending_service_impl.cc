#include "sending/sending_service_impl.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "auth/sigv4.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/strings.h"
#include "mail/address.h"
#include "mail/message.h"
#include "mail/tracking.h"
#include "sending/ses_events.h"
#include "sending/simulator.h"
#include "sending/suppression.h"

namespace herald::sending {
namespace {

const char* const kSuspendedText =
    "Sending is suspended for this account after repeated pauses. For more information, "
    "please check the inbox of the email address associated with your account.";
const char* const kPausedText =
    "Sending paused for this account. For more information, please check the inbox of the "
    "email address associated with your account.";

bool IsTagText(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// X-SES-MESSAGE-TAGS: "k1=v1, k2=v2".
bool ParseTagHeader(std::string_view value, std::vector<std::pair<std::string, std::string>>* out) {
  for (std::string_view part : Split(value, ',')) {
    part = TrimWhitespace(part);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view k = TrimWhitespace(part.substr(0, eq));
    std::string_view v = TrimWhitespace(part.substr(eq + 1));
    if (!IsTagText(k) || !IsTagText(v)) return false;
    out->emplace_back(std::string(k), std::string(v));
  }
  return true;
}

std::string DomainOf(const std::string& address) {
  size_t at = address.rfind('@');
  return at == std::string::npos ? "" : address.substr(at + 1);
}

Rejection Reject(RejectKind kind, std::string message) {
  return Rejection{kind, std::move(message)};
}

// What the delivery engine needs from the message's configuration set.
struct DeliveryOptions {
  bool require_tls = false;
  int64_t max_delivery_seconds = 0;  // 0: the default
};

// Per recipient: nullopt, or why a suppression list stopped it at acceptance.
using Hits = std::vector<std::optional<SuppressionHit>>;

// Envelope stored with each spooled message (opaque to the spool). The delivery options
// and the suppressed recipients were added after version 1 without changing it: readers
// default the missing members. "suppressed" lists [index, BOUNCE|COMPLAINT|GLOBAL] pairs
// (only when a list stopped a recipient), so that Recover() replays what acceptance decided
// whatever the lists hold by then.
std::string EncodeEnvelope(int64_t account_id, const std::vector<std::string>& recipients,
                           const nlohmann::json& mail, const std::string& config_set,
                           const DeliveryOptions& delivery, const Hits& hits) {
  nlohmann::json env = {{"v", 1},
                        {"account_id", account_id},
                        {"recipients", recipients},
                        {"configuration_set", config_set},
                        {"require_tls", delivery.require_tls},
                        {"max_delivery_seconds", delivery.max_delivery_seconds},
                        {"mail", mail}};
  nlohmann::json suppressed = nlohmann::json::array();
  for (size_t i = 0; i < hits.size(); ++i) {
    if (hits[i]) suppressed.push_back({i, SuppressionHitName(*hits[i])});
  }
  if (!suppressed.empty()) env["suppressed"] = std::move(suppressed);
  return env.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The suppressed recipients of an envelope written by EncodeEnvelope, for `n` recipients
// (entries that do not make sense are ignored: such a recipient is delivered).
Hits DecodeHits(const nlohmann::json& env, size_t n) {
  Hits hits(n);
  auto it = env.find("suppressed");
  if (it == env.end() || !it->is_array()) return hits;
  for (const auto& pair : *it) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_unsigned() ||
        !pair[1].is_string()) {
      continue;
    }
    const uint64_t i = pair[0].get<uint64_t>();
    std::optional<SuppressionHit> hit = ParseSuppressionHit(pair[1].get_ref<const std::string&>());
    if (i < n && hit) hits[i] = hit;
  }
  return hits;
}

// What an observer is told about a recipient stopped by the global list: a hard bounce
// that counts (SES counts global-list bounces toward the bounce rate).
OutcomeFacts GlobalBounceFacts(int64_t account_id, const std::string& config_set,
                               const std::string& message_id, SysTime sent_at, SysTime at,
                               const std::string& recipient, const SuppressionEventInfo& ev,
                               const std::string& sample) {
  OutcomeFacts f;
  f.kind = OutcomeFacts::Kind::kHardBounce;
  f.account_id = account_id;
  f.configuration_set = config_set;
  f.message_id = message_id;
  f.sent_at = sent_at;
  f.at = at;
  f.recipient = recipient;
  f.feedback_id = ev.feedback_id;
  f.bounce_sub_type = "Suppressed";
  f.status = ev.status;
  f.diagnostic = ev.diagnostic;
  f.sample = sample;
  return f;
}

// The delivery options of an envelope written by EncodeEnvelope (defaults when absent or
// out of range).
DeliveryOptions DecodeDeliveryOptions(const nlohmann::json& env) {
  DeliveryOptions d;
  if (auto it = env.find("require_tls"); it != env.end() && it->is_boolean()) {
    d.require_tls = it->get<bool>();
  }
  if (auto it = env.find("max_delivery_seconds");
      it != env.end() && it->is_number_integer() && it->get<int64_t>() > 0 &&
      it->get<int64_t>() <= store::kMaxMaxDeliverySeconds) {
    d.max_delivery_seconds = it->get<int64_t>();
  }
  return d;
}

}  // namespace

std::string SendingAccountId(int64_t account_id) { return store::AccountNumber(account_id); }

std::optional<SysTime> MessageIdTime(std::string_view id) {
  if (id.size() < 16 || id.substr(0, 4) != "0100") return std::nullopt;
  uint64_t ms = 0;
  for (char c : id.substr(4, 12)) {
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    ms = ms * 16 + static_cast<uint64_t>(v);
  }
  return FromUnixMillis(static_cast<int64_t>(ms));
}

std::string NewMessageId(SysTime now) {
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "0100%012llx",
                static_cast<unsigned long long>(UnixMillis(now)) & 0xFFFFFFFFFFFFULL);
  return std::string(prefix) + "-" + NewUuid() + "-000000";
}

SendingServiceImpl::SendingServiceImpl(const SendingConfig& config, Clock& clock,
                                       store::Store& store, spool::Spool& spool,
                                       events::EventSink& events)
    : config_(config), clock_(clock), store_(store), spool_(spool), events_(events) {
  publisher_ = std::thread([this] { PublisherLoop(); });
}

void SendingServiceImpl::PublisherLoop() {
  std::unique_lock<std::mutex> lock(pub_mu_);
  while (true) {
    pub_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) break;  // stopping, and nothing left
    std::vector<EventJob> jobs(std::make_move_iterator(jobs_.begin()),
                               std::make_move_iterator(jobs_.end()));
    jobs_.clear();
    in_flight_ = jobs.size();
    lock.unlock();
    PublishJobs(jobs);
    lock.lock();
    in_flight_ = 0;
    idle_cv_.notify_all();
  }
}

void SendingServiceImpl::PublishJobs(std::vector<EventJob>& jobs) {
  // The event log takes a few MiB per call; larger rounds go out in several calls.
  constexpr size_t kMaxChunk = 2 << 20;
  size_t i = 0;
  while (i < jobs.size()) {
    std::string chunk;
    std::vector<spool::DoneMark> marks;
    std::vector<OutcomeFacts> outcomes;
    size_t j = i;
    while (j < jobs.size() && (chunk.empty() || chunk.size() + jobs[j].lines.size() < kMaxChunk)) {
      if (!chunk.empty()) chunk += "\n";
      chunk += jobs[j].lines;
      marks.push_back({jobs[j].message_id, std::move(jobs[j].done)});
      for (auto& o : jobs[j].outcomes) outcomes.push_back(std::move(o));
      ++j;
    }
    Status es = events_.Publish(chunk);
    if (!es.ok()) {
      // The messages stay unmarked in the spool; the next start publishes them again.
      LogError("event log append failed",
               {{"messages", std::to_string(j - i)}, {"error", es.ToString()}});
    } else {
      Status ds = spool_.MarkDoneMany(marks);
      if (!ds.ok()) LogError("spool mark-done failed", {{"error", ds.ToString()}});
      // Global-list bounces count once their events are out (as every outcome does).
      if (observer_ != nullptr && !outcomes.empty()) observer_->OnOutcomes(outcomes);
    }
    i = j;
  }
}

void SendingServiceImpl::WaitForEvents() {
  std::unique_lock<std::mutex> lock(pub_mu_);
  idle_cv_.wait(lock, [this] { return jobs_.empty() && in_flight_ == 0; });
}

bool SendingServiceImpl::IsVerified(int64_t account_id, const std::string& address) {
  auto verified = [&](const std::string& name) {
    auto id = store_.GetIdentity(account_id, name);
    return id.ok() && id->status == store::VerificationStatus::kSuccess;
  };
  if (verified(address)) return true;
  // A verified domain covers its addresses and those of its subdomains.
  std::string domain = DomainOf(address);
  while (!domain.empty()) {
    if (verified(domain)) return true;
    size_t dot = domain.find('.');
    if (dot == std::string::npos) break;
    domain = domain.substr(dot + 1);
  }
  return false;
}

bool SendingServiceImpl::TakeRateTokens(int64_t account_id, double rate, int64_t n) {
  std::lock_guard<std::mutex> lock(rate_mu_);
  auto now = clock_.Monotonic();
  const double capacity = std::max(rate, 1.0);
  auto [it, inserted] = buckets_.try_emplace(account_id);
  Bucket& b = it->second;
  if (inserted) {
    b.tokens = capacity;
  } else {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(capacity, b.tokens + elapsed * rate);
  }
  b.last = now;
  if (b.tokens <= 0) return false;
  b.tokens -= static_cast<double>(n);
  return true;
}

SubmitResult SendingServiceImpl::Submit(const Submission& sub) {
  const SysTime now = clock_.Now();
  if (static_cast<int64_t>(sub.message.size()) > config_.max_message_bytes) {
    return Reject(RejectKind::kTooLarge, "Message is too long.");
  }

  // The account decides what is admitted.
  auto account = store_.GetAccount(sub.principal.account_id);
  if (!account.ok()) {
    if (account.status().code() == StatusCode::kNotFound) {
      return Reject(RejectKind::kBadRequest, "The account does not exist.");
    }
    LogError("store unavailable", {{"error", account.status().ToString()}});
    return Reject(RejectKind::kTemporary, "Temporary service failure");
  }
  if (account->enforcement_state == "suspended") {
    return Reject(RejectKind::kAccountSuspended, kSuspendedText);
  }
  if (account->enforcement_status == "SHUTDOWN" || !account->sending_enabled) {
    return Reject(RejectKind::kSendingPaused, kPausedText);
  }

  // ParseEntity: the From check is ours, to answer with SES's text.
  auto parsed_or = mail::ParseEntity(sub.message);
  if (!parsed_or.ok()) {
    return Reject(RejectKind::kBadRequest, parsed_or.status().message());
  }
  mail::ParsedMessage parsed = std::move(parsed_or).value();

  // X-SES-* control fields: honoured, then removed from the message.
  std::string config_set = sub.configuration_set;
  std::vector<std::pair<std::string, std::string>> user_tags = sub.tags;
  std::vector<mail::HeaderField> kept;
  kept.reserve(parsed.headers.size() + 2);
  for (const auto& h : parsed.headers) {
    if (EqualsIgnoreCase(h.name, "X-SES-CONFIGURATION-SET")) {
      if (config_set.empty()) config_set = std::string(TrimWhitespace(h.value));
      continue;
    }
    if (EqualsIgnoreCase(h.name, "X-SES-MESSAGE-TAGS")) {
      if (!ParseTagHeader(h.value, &user_tags)) {
        return Reject(RejectKind::kBadRequest,
                      "Invalid X-SES-MESSAGE-TAGS header: tags must be name=value pairs of "
                      "letters, digits, '_' and '-'.");
      }
      continue;
    }
    if (StartsWithIgnoreCase(h.name, "X-SES-")) continue;  // ARN and list-management controls
    kept.push_back(h);
  }
  DeliveryOptions delivery;
  std::optional<store::ConfigurationSet> set_row;
  if (!config_set.empty()) {
    // The name is looked up exactly as given (a header's value could be anything; no
    // set has a name outside IsConfigurationSetName, so such a value is simply unknown).
    StatusOr<store::ConfigurationSet> set = store_.GetConfigurationSet(account->id, config_set);
    if (set.status().code() == StatusCode::kNotFound) {
      return Reject(RejectKind::kConfigSetNotFound,
                    "Configuration set <" + config_set + "> does not exist.");
    }
    if (!set.ok()) {
      LogError("store unavailable", {{"error", set.status().ToString()}});
      return Reject(RejectKind::kTemporary, "Temporary service failure");
    }
    if (!set->sending_enabled) {
      return Reject(RejectKind::kConfigSetPaused,
                    "Sending is paused for configuration set " + config_set + ".");
    }
    delivery.require_tls = set->tls_policy == "REQUIRE";
    delivery.max_delivery_seconds = set->max_delivery_seconds;
    set_row = *std::move(set);
  }

  // Who the message claims to be from: every such identity must be verified.
  auto from = mail::HeaderAddresses(parsed, "From");
  if (!from.ok()) {
    return Reject(RejectKind::kBadRequest,
                  "Illegal address in From header: " + from.status().message());
  }
  if (from->empty()) return Reject(RejectKind::kBadRequest, "Missing required header 'From'.");
  std::string source = sub.source;
  if (source.empty()) source = (*from)[0].Address();
  std::vector<std::string> to_check;
  auto add_check = [&](const std::string& a) {
    std::string c = AsciiLower(a);
    if (std::find(to_check.begin(), to_check.end(), c) == to_check.end()) to_check.push_back(c);
  };
  add_check(source);
  for (const auto& m : *from) add_check(m.Address());
  for (const char* field : {"Sender", "Return-Path"}) {
    auto extra = mail::HeaderAddresses(parsed, field);
    if (extra.ok()) {
      for (const auto& m : *extra) add_check(m.Address());
    }
  }

  // Recipients: deduplicated, counted per recipient.
  std::vector<std::string> recipients;
  std::set<std::string> seen;
  for (const auto& r : sub.recipients) {
    std::string c = AsciiLower(r);
    if (seen.insert(c).second) recipients.push_back(r);
  }
  if (recipients.empty()) {
    return Reject(RejectKind::kBadRequest, "Missing final '@domain'");
  }
  if (static_cast<int64_t>(recipients.size()) > config_.max_recipients) {
    return Reject(RejectKind::kBadRequest,
                  "Recipient count exceeds " + std::to_string(config_.max_recipients) + ".");
  }

  if (sub.list_management && recipients.size() != 1) {
    return Reject(RejectKind::kBadRequest,
                  "ListManagementOptions can be used only with a single recipient.");
  }

  std::vector<std::string> failed;
  for (const auto& a : to_check) {
    if (!IsVerified(account->id, a)) failed.push_back(a);
  }
  int64_t simulator_count = 0;
  std::vector<SimOutcome> outcomes;
  outcomes.reserve(recipients.size());
  for (const auto& r : recipients) {
    SimOutcome o = ClassifySimulator(r);
    outcomes.push_back(o);
    if (o != SimOutcome::kNotSimulator) {
      ++simulator_count;
    } else if (!account->production && !IsVerified(account->id, AsciiLower(r))) {
      failed.push_back(AsciiLower(r));
    }
  }
  if (!failed.empty()) {
    std::string list;
    for (size_t i = 0; i < failed.size() && i < 3; ++i) {
      if (i > 0) list += ", ";
      list += failed[i];
    }
    if (failed.size() > 3) list += "...";
    return Reject(RejectKind::kNotVerified,
                  "Email address is not verified. The following identities failed the check in "
                  "region " +
                      AsciiUpper(config_.region) + ": " + list);
  }

  // The suppression lists: which recipients are accepted but not sent.
  Hits hits(recipients.size());
  if (std::optional<Rejection> r = CheckSuppression(*account, recipients, outcomes, now, &hits)) {
    return *r;
  }

  // List management: a contact who opted out is not sent to (nothing is spooled).
  if (sub.list_management) {
    auto wants = CheckListManagement(*account, *sub.list_management, recipients[0], now);
    if (auto* r = std::get_if<Rejection>(&wants)) return *r;
    if (!std::get<bool>(wants)) {
      const std::string id = NewMessageId(now);
      LogInfo("not sent: the contact opted out",
              {{"message_id", id}, {"contact_list", sub.list_management->contact_list}});
      return Accepted{id};
    }
  }

  // Admission: rate (every recipient) and the rolling daily quota (simulator excluded;
  // suppressed recipients count, as SES counts them).
  const int64_t n_total = static_cast<int64_t>(recipients.size());
  const int64_t n_quota = n_total - simulator_count;
  const double rate =
      account->production ? config_.production_max_send_rate : config_.sandbox_max_send_rate;
  const int64_t daily =
      account->production ? config_.production_max_24h_send : config_.sandbox_max_24h_send;
  if (n_quota > 0) {
    StatusOr<bool> reserved = ReserveQuota(account->id, now, daily, n_quota);
    if (!reserved.ok()) {
      LogError("store unavailable", {{"error", reserved.status().ToString()}});
      return Reject(RejectKind::kTemporary, "Temporary service failure");
    }
    if (!*reserved) return Reject(RejectKind::kDailyQuota, "");
  }
  if (!TakeRateTokens(account->id, rate, n_total)) {
    ReleaseQuota(account->id, n_quota);
    return Reject(RejectKind::kMaxSendRate, "");
  }

  // The final message: herald's Message-ID and Date when the client gave none.
  const std::string message_id = NewMessageId(now);
  std::vector<mail::HeaderField> added;
  if (parsed.Find("Message-ID") == nullptr) {
    auto f = mail::MakeHeaderField("Message-ID", "<" + message_id + "@" + config_.hostname + ">");
    if (f.ok()) added.push_back(std::move(f).value());
  }
  if (parsed.Find("Date") == nullptr) {
    auto f = mail::MakeHeaderField("Date", FormatRfc5322Date(now));
    if (f.ok()) added.push_back(std::move(f).value());
  }
  std::string unsubscribe_url;
  if (sub.list_management) {
    const std::string base = engagement_.base_url ? engagement_.base_url() : std::string();
    if (engagement_.key.empty() || base.empty()) {
      LogError("list management needs a tracking key and base URL", {});
      ReleaseQuota(account->id, n_quota);
      return Reject(RejectKind::kTemporary, "Temporary service failure");
    }
    mail::TrackingToken t;
    t.kind = mail::TrackingToken::kUnsubscribe;
    t.account_id = SendingAccountId(account->id);
    t.configuration_set = config_set;
    t.message_id = message_id;
    t.recipient = recipients[0];
    t.link = sub.list_management->contact_list;
    if (!sub.list_management->topic.empty()) {
      t.link_tags.emplace_back("topic", sub.list_management->topic);
    }
    t.issued_at = UnixMillis(now) / 1000;
    unsubscribe_url = base + "/u/" + mail::SealToken(t, engagement_.key);
    // herald's unsubscribe fields replace the client's own.
    std::erase_if(kept, [](const mail::HeaderField& h) {
      return EqualsIgnoreCase(h.name, "List-Unsubscribe") ||
             EqualsIgnoreCase(h.name, "List-Unsubscribe-Post");
    });
    for (auto [name, value] :
         {std::pair<const char*, std::string>{"List-Unsubscribe", "<" + unsubscribe_url + ">"},
          {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}}) {
      auto f = mail::MakeHeaderField(name, value);
      if (f.ok()) added.push_back(std::move(f).value());
    }
  }
  added.insert(added.end(), std::make_move_iterator(kept.begin()),
               std::make_move_iterator(kept.end()));
  std::string final_message = mail::Serialize(added, parsed.body);
  {
    StatusOr<std::string> engaged =
        AddEngagement(std::move(final_message), *account, set_row ? &*set_row : nullptr, message_id,
                      recipients, unsubscribe_url, now);
    if (!engaged.ok()) {
      LogError("store unavailable", {{"error", engaged.status().ToString()}});
      ReleaseQuota(account->id, n_quota);
      return Reject(RejectKind::kTemporary, "Temporary service failure");
    }
    final_message = *std::move(engaged);
  }
  // The final header is `added` (parsed fields plus ones MakeHeaderField built): no need to
  // scan the whole message a second time. The mail object reads only the header.
  mail::ParsedMessage final_header;
  final_header.headers = std::move(added);

  MailInfo info;
  info.timestamp = now;
  info.message_id = message_id;
  info.source = source;
  info.sending_account_id = SendingAccountId(account->id);
  info.source_arn = "arn:aws:ses:" + config_.region + ":" + info.sending_account_id + ":identity/" +
                    DomainOf(AsciiLower(source));
  info.destination = recipients;
  info.feedback_address = sub.feedback_address;
  info.tags = user_tags;
  const char* op = sub.operation.empty() ? "SendEmail" : sub.operation.c_str();
  info.tags.emplace_back("ses:operation", op);
  if (!config_set.empty()) info.tags.emplace_back("ses:configuration-set", config_set);
  info.tags.emplace_back("ses:source-ip", sub.principal.source_ip);
  info.tags.emplace_back("ses:from-domain", DomainOf(AsciiLower((*from)[0].Address())));
  info.tags.emplace_back("ses:caller-identity", sub.principal.account_name);
  nlohmann::json mail_obj = BuildMailObject(info, final_header);

  // Viruses: the message is accepted and not sent; the Reject event is its outcome.
  bool rejected_content = false;
  if (scanner_ != nullptr && !sub.rendering_failure) {
    StatusOr<mail::ScanVerdict> verdict = scanner_->Scan(sub.message);
    if (verdict.ok()) {
      rejected_content = verdict->infected;
      if (verdict->infected) {
        LogInfo("message rejected: virus",
                {{"message_id", message_id}, {"signature", verdict->signature}});
      }
    } else if (verdict.status().code() == StatusCode::kResourceExhausted) {
      rejected_content = true;  // cannot be scanned completely: treated as bad content
      LogInfo("message rejected: not scannable",
              {{"message_id", message_id}, {"error", verdict.status().ToString()}});
    } else if (!scan_fail_open_) {
      LogError("virus scanner unavailable", {{"error", verdict.status().ToString()}});
      ReleaseQuota(account->id, n_quota);
      return Reject(RejectKind::kTemporary, "Temporary service failure");
    } else {
      LogWarn("virus scanner unavailable; accepted unscanned",
              {{"message_id", message_id}, {"error", verdict.status().ToString()}});
    }
  }
  if (rejected_content) {
    Status es = events_.Publish(
        EventLine("Reject", mail_obj, "reject", nlohmann::json{{"reason", "Bad content"}}));
    if (!es.ok()) {
      LogError("event log write failed", {{"error", es.ToString()}});
      ReleaseQuota(account->id, n_quota);
      return Reject(RejectKind::kTemporary, "Temporary service failure");
    }
    return Accepted{message_id};
  }

  if (sub.rendering_failure) {
    // Nothing to deliver: the event is the whole outcome, durable before the reply.
    nlohmann::json failure = {{"templateName", sub.rendering_failure->template_name},
                              {"errorMessage", sub.rendering_failure->error_message}};
    Status es = events_.Publish(EventLine("Rendering Failure", mail_obj, "failure", failure));
    if (!es.ok()) {
      LogError("event log write failed", {{"error", es.ToString()}});
      ReleaseQuota(account->id, n_quota);
      return Reject(RejectKind::kTemporary, "Temporary service failure");
    }
    return Accepted{message_id};
  }

  spool::SpoolRecord rec;
  rec.id = message_id;
  // One more than the recipients: the last index marks "events published".
  rec.recipient_count = static_cast<uint32_t>(recipients.size()) + 1;
  rec.envelope = EncodeEnvelope(account->id, recipients, mail_obj, config_set, delivery, hits);
  rec.body = std::move(final_message);
  Status st = spool_.Store(rec);
  if (!st.ok()) {
    LogError("spool store failed", {{"error", st.ToString()}});
    ReleaseQuota(account->id, n_quota);
    return Reject(RejectKind::kTemporary, "Temporary service failure");
  }
  // From here on the message is accepted: failures below are logged, never reported.
  if (observer_ != nullptr) {
    SendFacts facts;
    facts.account_id = account->id;
    facts.configuration_set = config_set;
    facts.message_id = message_id;
    facts.sent_at = now;
    facts.recipients.reserve(recipients.size());
    for (size_t i = 0; i < recipients.size(); ++i) {
      SentRecipient r;
      r.address = recipients[i];
      r.simulator = outcomes[i] != SimOutcome::kNotSimulator;
      // Stopped by the account's list: not eligible. A global-list stop is an eligible send
      // whose hard bounce is reported once its event is published.
      r.suppressed = hits[i].has_value() && *hits[i] != SuppressionHit::kGlobal;
      facts.recipients.push_back(std::move(r));
    }
    observer_->OnSend(facts);
  }
  if (delivery_hook_) {
    QueuedDelivery qd;
    qd.message_id = message_id;
    qd.account_id = account->id;
    qd.accepted = now;
    qd.configuration_set = config_set;
    qd.require_tls = delivery.require_tls;
    qd.max_delivery = std::chrono::seconds(delivery.max_delivery_seconds);
    for (size_t i = 0; i < recipients.size(); ++i) {
      if (outcomes[i] == SimOutcome::kNotSimulator && !hits[i]) {
        qd.recipients.emplace_back(static_cast<uint32_t>(i), recipients[i]);
      }
    }
    if (!qd.recipients.empty()) delivery_hook_(std::move(qd));
  }

  EventJob job;
  job.message_id = message_id;
  job.lines = EventLine("Send", mail_obj, "send", nlohmann::json::object());
  const SysTime outcome_time = clock_.Now();
  for (size_t i = 0; i < recipients.size(); ++i) {
    if (hits[i]) {
      SuppressionEventInfo ev =
          SuppressionEvent(*hits[i], mail_obj, recipients[i], outcome_time, config_.hostname);
      job.lines += "\n";
      job.lines += ev.line;
      job.done.push_back(static_cast<uint32_t>(i));
      if (*hits[i] == SuppressionHit::kGlobal) {
        // The review sample: the start of the message as spooled.
        job.outcomes.push_back(GlobalBounceFacts(
            account->id, config_set, message_id, now, outcome_time, recipients[i], ev,
            ToValidUtf8(std::string_view(rec.body).substr(0, kMaxOutcomeSampleBytes))));
      }
      continue;
    }
    if (outcomes[i] == SimOutcome::kNotSimulator) continue;
    for (auto& line : SimulatorOutcomeEvents(outcomes[i], mail_obj, recipients[i], now,
                                             outcome_time, config_.hostname)) {
      job.lines += "\n";
      job.lines += line;
    }
    job.done.push_back(static_cast<uint32_t>(i));
  }
  job.done.push_back(static_cast<uint32_t>(recipients.size()));
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    jobs_.push_back(std::move(job));
  }
  pub_cv_.notify_one();
  return Accepted{message_id};
}

std::variant<bool, Rejection> SendingServiceImpl::CheckListManagement(
    const store::Account& account, const Submission::ListManagement& lm,
    const std::string& recipient, SysTime now) {
  auto unavailable = [](const Status& st) {
    LogError("store unavailable", {{"error", st.ToString()}});
    return Reject(RejectKind::kTemporary, "Temporary service failure");
  };
  StatusOr<store::ContactListRow> list = store_.GetContactList(account.id, lm.contact_list);
  if (list.status().code() == StatusCode::kNotFound) {
    return Reject(RejectKind::kNotFound, "List with name " + lm.contact_list + " does not exist.");
  }
  if (!list.ok()) return unavailable(list.status());
  if (!lm.topic.empty() &&
      std::none_of(list->topics.begin(), list->topics.end(),
                   [&](const store::ContactListTopic& t) { return t.name == lm.topic; })) {
    return Reject(RejectKind::kNotFound,
                  "Topic " + lm.topic + " does not exist in list " + lm.contact_list + ".");
  }
  StatusOr<store::ContactRow> contact = store_.GetContact(account.id, lm.contact_list, recipient);
  if (contact.status().code() == StatusCode::kNotFound) {
    // SES adds a recipient it does not know to the list, with the topics' defaults.
    store::ContactRow c;
    c.account_id = account.id;
    c.list_name = lm.contact_list;
    c.email = recipient;
    c.created = now;
    c.updated = now;
    Status st = store_.CreateContact(c);
    if (!st.ok() && st.code() != StatusCode::kAlreadyExists) return unavailable(st);
    contact = store_.GetContact(account.id, lm.contact_list, recipient);
  }
  if (!contact.ok()) return unavailable(contact.status());
  return store::ContactWantsTopic(*list, *contact, lm.topic);
}

StatusOr<std::string> SendingServiceImpl::AddEngagement(
    std::string message, const store::Account& account, const store::ConfigurationSet* set,
    const std::string& message_id, const std::vector<std::string>& recipients,
    const std::string& unsubscribe_url, SysTime now) {
  mail::TrackingPlan plan;
  plan.open = false;
  plan.clicks = false;
  plan.unsubscribe_url = unsubscribe_url;
  if (set != nullptr && !engagement_.key.empty()) {
    // SES tracks opens (clicks) only for a set that publishes them somewhere.
    ASSIGN_OR_RETURN(std::vector<store::EventDestinationRow> dests,
                     store_.ListEventDestinations(account.id, set->name));
    for (const auto& d : dests) {
      if (!d.enabled) continue;
      for (const auto& type : d.matching_types) {
        if (type == "OPEN") plan.open = true;
        if (type == "CLICK") plan.clicks = true;
      }
    }
  }
  if (!plan.open && !plan.clicks && unsubscribe_url.empty()) return message;
  plan.key = engagement_.key;
  plan.base_url = engagement_.base_url ? engagement_.base_url() : std::string();
  if (set != nullptr && !set->tracking_options_json.empty()) {
    nlohmann::json t = nlohmann::json::parse(set->tracking_options_json, nullptr, false);
    if (t.is_object() && t.contains("CustomRedirectDomain") &&
        t["CustomRedirectDomain"].is_string()) {
      const std::string domain = t["CustomRedirectDomain"].get<std::string>();
      const std::string policy = t.value("HttpsPolicy", std::string("OPTIONAL"));
      plan.base_url = (policy == "REQUIRE" ? "https://" : "http://") + domain;
      if (policy == "REQUIRE_OPEN_ONLY") plan.open_base_url = "https://" + domain;
    }
  }
  if ((plan.open || plan.clicks) && plan.base_url.empty()) {
    plan.open = false;
    plan.clicks = false;
    if (unsubscribe_url.empty()) return message;
  }
  plan.token_template.account_id = SendingAccountId(account.id);
  plan.token_template.configuration_set = set != nullptr ? set->name : "";
  plan.token_template.message_id = message_id;
  plan.token_template.recipient = recipients.size() == 1 ? recipients[0] : "";
  plan.token_template.issued_at = UnixMillis(now) / 1000;
  mail::TrackingStats stats;
  StatusOr<std::string> out = mail::AddTracking(message, plan, &stats);
  if (!out.ok()) {
    // A plan herald built itself: a bad one is a configuration mistake, not the sender's.
    LogWarn("engagement tracking skipped",
            {{"message_id", message_id}, {"error", out.status().ToString()}});
    return message;
  }
  return out;
}

std::optional<Rejection> SendingServiceImpl::CheckSuppression(
    const store::Account& account, const std::vector<std::string>& recipients,
    const std::vector<SimOutcome>& outcomes, SysTime now,
    std::vector<std::optional<SuppressionHit>>* hits) {
  std::vector<std::string> candidates;  // recipients that could leave by SMTP
  for (size_t i = 0; i < recipients.size(); ++i) {
    if (outcomes[i] == SimOutcome::kNotSimulator) candidates.push_back(recipients[i]);
  }
  if (candidates.empty()) return std::nullopt;
  auto unavailable = [](const Status& st) {
    LogError("store unavailable", {{"error", st.ToString()}});
    return Reject(RejectKind::kTemporary, "Temporary service failure");
  };
  // The account's list: an entry stops the send when the account suppresses its reason
  // (SES: an entry whose reason the account's settings do not name is sent to).
  std::map<std::string, SuppressionHit> stopped;  // SuppressionKey -> why
  if (!account.suppressed_reasons.empty()) {
    StatusOr<std::vector<store::SuppressedDestination>> listed =
        store_.FindSuppressedDestinations(account.id, candidates);
    if (!listed.ok()) return unavailable(listed.status());
    for (const auto& e : *listed) {
      if (!account.suppressed_reasons.Has(e.reason)) continue;
      stopped[store::SuppressionKey(e.address)] = e.reason == store::SuppressionReason::kBounce
                                                      ? SuppressionHit::kAccountBounce
                                                      : SuppressionHit::kAccountComplaint;
    }
  }
  // The global list, for the others.
  if (config_.global_suppression_enabled) {
    std::vector<std::string> rest;
    for (const auto& c : candidates) {
      if (stopped.count(store::SuppressionKey(c)) == 0) rest.push_back(c);
    }
    if (!rest.empty()) {
      StatusOr<std::vector<store::GlobalSuppression>> listed =
          store_.FindGloballySuppressed(rest, now);
      if (!listed.ok()) return unavailable(listed.status());
      for (const auto& g : *listed) stopped.emplace(g.address, SuppressionHit::kGlobal);
    }
  }
  if (stopped.empty()) return std::nullopt;
  for (size_t i = 0; i < recipients.size(); ++i) {
    if (outcomes[i] != SimOutcome::kNotSimulator) continue;
    auto it = stopped.find(store::SuppressionKey(recipients[i]));
    if (it != stopped.end()) (*hits)[i] = it->second;
  }
  return std::nullopt;
}

StatusOr<bool> SendingServiceImpl::ReserveQuota(int64_t account_id, SysTime now, int64_t daily,
                                                int64_t n) {
  std::lock_guard<std::mutex> lock(count_mu_);
  QuotaCount& q = counts_[account_id];
  // Once a second per account: write the sends counted since, and re-read the 24-hour sum,
  // so the store sees one write per second per account instead of one per message.
  if (!q.loaded || now - q.refreshed >= std::chrono::seconds(1)) {
    if (q.unflushed > 0) {
      RETURN_IF_ERROR(store_.RecordSends(account_id, q.unflushed_at, q.unflushed));
      q.unflushed = 0;
    }
    ASSIGN_OR_RETURN(q.store_count,
                     store_.CountSendsSince(account_id, now - std::chrono::hours(24)));
    q.refreshed = now;
    q.loaded = true;
  }
  if (q.store_count + q.unflushed + n > daily) return false;
  if (q.unflushed == 0) q.unflushed_at = now;
  q.unflushed += n;
  return true;
}

StatusOr<int64_t> SendingServiceImpl::SentLast24Hours(int64_t account_id) {
  const SysTime now = clock_.Now();
  ASSIGN_OR_RETURN(int64_t stored,
                   store_.CountSendsSince(account_id, now - std::chrono::hours(24)));
  std::lock_guard<std::mutex> lock(count_mu_);
  auto it = counts_.find(account_id);
  return stored + (it == counts_.end() ? 0 : it->second.unflushed);
}

void SendingServiceImpl::ReleaseQuota(int64_t account_id, int64_t n) {
  if (n <= 0) return;
  std::lock_guard<std::mutex> lock(count_mu_);
  QuotaCount& q = counts_[account_id];
  q.unflushed = std::max<int64_t>(0, q.unflushed - n);
}

Status SendingServiceImpl::FlushSendCounts() {
  std::lock_guard<std::mutex> lock(count_mu_);
  for (auto& [account_id, q] : counts_) {
    if (q.unflushed > 0) {
      RETURN_IF_ERROR(store_.RecordSends(account_id, q.unflushed_at, q.unflushed));
      q.unflushed = 0;
    }
    q.loaded = false;
  }
  return Status::Ok();
}

SendingServiceImpl::~SendingServiceImpl() {
  {
    std::lock_guard<std::mutex> lock(pub_mu_);
    stopping_ = true;
  }
  pub_cv_.notify_all();
  publisher_.join();  // publishes whatever is still queued
  Status s = FlushSendCounts();
  if (!s.ok()) LogWarn("send counts not flushed", {{"error", s.ToString()}});
}

StatusOr<int64_t> SendingServiceImpl::Recover() {
  ASSIGN_OR_RETURN(auto messages, spool_.Recover());
  int64_t queued = 0;
  for (const auto& m : messages) {
    nlohmann::json env = nlohmann::json::parse(m.envelope, nullptr, false);
    if (env.is_discarded() || !env.is_object() || !env.contains("recipients") ||
        !env["recipients"].is_array() || !env.contains("mail")) {
      LogError("spool envelope unreadable", {{"message_id", m.id}});
      continue;
    }
    const auto& rcpts = env["recipients"];
    std::set<uint32_t> done(m.done.begin(), m.done.end());
    std::vector<uint32_t> newly_done;
    std::string batch;
    // Messages accepted by Submit() carry the "events published" index after the
    // recipients; herald's own mail (identity verification) does not.
    const bool has_marker = m.recipient_count == rcpts.size() + 1;
    const uint32_t marker = static_cast<uint32_t>(rcpts.size());
    if (has_marker && done.count(marker) == 0) {
      batch = EventLine("Send", env["mail"], "send", nlohmann::json::object());
      newly_done.push_back(marker);
    }
    bool pending_real = false;
    QueuedDelivery qd;
    qd.message_id = m.id;
    qd.account_id = env.value("account_id", int64_t{0});
    qd.accepted = MessageIdTime(m.id).value_or(clock_.Now());
    if (env.contains("configuration_set") && env["configuration_set"].is_string()) {
      qd.configuration_set = env["configuration_set"].get<std::string>();
    }
    const DeliveryOptions delivery = DecodeDeliveryOptions(env);
    qd.require_tls = delivery.require_tls;
    qd.max_delivery = std::chrono::seconds(delivery.max_delivery_seconds);
    const Hits hits = DecodeHits(env, rcpts.size());
    std::vector<OutcomeFacts> outcomes;
    for (uint32_t i = 0; i < rcpts.size() && i < m.recipient_count; ++i) {
      if (done.count(i) != 0 || !rcpts[i].is_string()) continue;
      const std::string r = rcpts[i].get<std::string>();
      if (hits[i]) {
        // Stopped at acceptance: the same event again, never a delivery.
        const SysTime ts = clock_.Now();
        SuppressionEventInfo ev = SuppressionEvent(*hits[i], env["mail"], r, ts, config_.hostname);
        if (!batch.empty()) batch += "\n";
        batch += ev.line;
        newly_done.push_back(i);
        if (*hits[i] == SuppressionHit::kGlobal) {
          outcomes.push_back(GlobalBounceFacts(qd.account_id, qd.configuration_set, m.id,
                                               qd.accepted, ts, r, ev,
                                               HeaderSampleOf(env["mail"])));
        }
        continue;
      }
      SimOutcome o = ClassifySimulator(r);
      if (o == SimOutcome::kNotSimulator) {
        pending_real = true;
        qd.recipients.emplace_back(i, r);
        continue;
      }
      SysTime ts = clock_.Now();
      for (auto& line : SimulatorOutcomeEvents(o, env["mail"], r, ts, ts, config_.hostname)) {
        if (!batch.empty()) batch += "\n";
        batch += line;
      }
      newly_done.push_back(i);
    }
    if (!newly_done.empty()) {
      RETURN_IF_ERROR(events_.Publish(batch));
      RETURN_IF_ERROR(spool_.MarkDone(m.id, newly_done));
      if (observer_ != nullptr && !outcomes.empty()) observer_->OnOutcomes(outcomes);
    }
    if (pending_real) {
      ++queued;
      if (delivery_hook_) delivery_hook_(std::move(qd));
    }
  }
  return queued;
}

std::optional<CredentialLookup::Key> StoreCredentialLookup::LookupAccessKey(
    const std::string& access_key_id) {
  auto key = store_.GetAccessKey(access_key_id);
  if (!key.ok()) return std::nullopt;
  auto account = store_.GetAccount(key->account_id);
  if (!account.ok()) return std::nullopt;
  Key out;
  out.secret = key->secret;
  out.active = key->status == store::KeyStatus::kActive;
  out.principal.account_id = account->id;
  out.principal.account_name = account->name;
  out.principal.access_key_id = access_key_id;
  return out;
}

std::optional<Principal> StoreCredentialLookup::AuthenticateSmtp(const std::string& user,
                                                                 const std::string& password) {
  auto key = LookupAccessKey(user);
  if (!key || !key->active) return std::nullopt;
  if (!ConstantTimeEquals(auth::DeriveSmtpPasswordV4(key->secret, region_), password)) {
    return std::nullopt;
  }
  return key->principal;
}

}  // namespace herald::sending
