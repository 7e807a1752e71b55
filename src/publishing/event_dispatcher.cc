// publishing/event_dispatcher.cc: see event_dispatcher.h.
#include "publishing/event_dispatcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "base/crypto.h"
#include "base/log.h"
#include "base/strings.h"
#include "events/webhook.h"
#include "store/store.h"

namespace herald::publishing {
namespace {

using nlohmann::json;

// SES's eventType values and the MatchingEventTypes names they answer to.
const char* EventTypeName(std::string_view event_type) {
  static constexpr std::pair<std::string_view, const char*> kTypes[] = {
      {"Send", "SEND"},
      {"Reject", "REJECT"},
      {"Bounce", "BOUNCE"},
      {"Complaint", "COMPLAINT"},
      {"Delivery", "DELIVERY"},
      {"Open", "OPEN"},
      {"Click", "CLICK"},
      {"Rendering Failure", "RENDERING_FAILURE"},
      {"DeliveryDelay", "DELIVERY_DELAY"},
      {"Subscription", "SUBSCRIPTION"}};
  for (const auto& [name, type] : kTypes) {
    if (name == event_type) return type;
  }
  return nullptr;
}

// One parsed log line, or nothing when it is not an event publishing line.
struct ParsedEvent {
  std::string type;  // MatchingEventTypes name
  std::string account;
  std::string configuration_set;
  std::string event_id;
};

std::optional<ParsedEvent> ParseEvent(std::string_view line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto type = j.find("eventType");
  auto mail = j.find("mail");
  if (type == j.end() || !type->is_string() || mail == j.end() || !mail->is_object()) {
    return std::nullopt;
  }
  const char* name = EventTypeName(type->get_ref<const std::string&>());
  if (name == nullptr) return std::nullopt;
  ParsedEvent ev;
  ev.type = name;
  if (auto a = mail->find("sendingAccountId"); a != mail->end() && a->is_string()) {
    ev.account = a->get<std::string>();
  }
  if (auto tags = mail->find("tags"); tags != mail->end() && tags->is_object()) {
    auto set = tags->find("ses:configuration-set");
    if (set != tags->end() && set->is_array() && !set->empty() && (*set)[0].is_string()) {
      ev.configuration_set = (*set)[0].get<std::string>();
    }
  }
  if (auto id = j.find("eventId"); id != j.end() && id->is_string()) {
    ev.event_id = id->get<std::string>();
  }
  return ev;
}

// One identity notification line (sending/identity_notifier.h): its topic, its id, and the
// notification as subscribers receive it (without herald's routing members).
struct ParsedNotification {
  std::string topic_arn;
  std::string event_id;
  std::string payload;
};

std::optional<ParsedNotification> ParseNotification(std::string_view line) {
  // Cheap look first: most lines are events.
  if (line.find("\"heraldTopicArn\"") == std::string_view::npos) return std::nullopt;
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("notificationType")) return std::nullopt;
  auto topic = j.find("heraldTopicArn");
  if (topic == j.end() || !topic->is_string()) return std::nullopt;
  ParsedNotification n;
  n.topic_arn = topic->get<std::string>();
  j.erase("heraldTopicArn");
  if (auto id = j.find("eventId"); id != j.end() && id->is_string()) {
    n.event_id = id->get<std::string>();
  }
  j.erase("eventId");
  n.payload = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return n;
}

// A UUID-shaped id derived from `seed` (stable for the same seed).
std::string NewUuidLike(std::string_view seed) {
  const std::string h = Sha256Hex(seed);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t nl = s.find('\n', start);
    out.push_back(s.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) return out;
    start = nl + 1;
  }
}

bool Matches(const store::EventDestinationRow& d, const ParsedEvent& ev) {
  return ev.account == store::AccountNumber(d.account_id) &&
         ev.configuration_set == d.configuration_set &&
         std::find(d.matching_types.begin(), d.matching_types.end(), ev.type) !=
             d.matching_types.end();
}

// The resource after "<prefix>" in the last ':'-separated part of an ARN.
std::string ArnTail(const std::string& arn, std::string_view prefix) {
  const size_t colon = arn.rfind(':');
  std::string_view tail =
      colon == std::string::npos ? arn : std::string_view(arn).substr(colon + 1);
  if (!tail.starts_with(prefix)) return "";
  return std::string(tail.substr(prefix.size()));
}

}  // namespace

struct EventDispatcher::Target {
  std::string key;     // backoff and cursor key: "<destination id>/<target>"
  std::string cursor;  // the store's target name: "" or "sub:<id>"
  // Null for an identity-notification target: a subscription of a topic that identities
  // name, with its own cursor (the store's subscription cursor) and the notification
  // lines for that topic as its events.
  const store::EventDestinationRow* dest = nullptr;
  int64_t subscription_id = 0;
  enum Kind { kSns, kWebhook, kKafka } kind = kSns;
  std::string topic_arn;         // kSns/kWebhook
  std::string subscription_arn;  // kSns/kWebhook
  std::string endpoint;          // kSns/kWebhook
  std::string token;             // kWebhook: the HMAC secret
  uint64_t start_offset = 0;     // the subscription's
  std::string kafka_topic;       // kKafka
};

EventDispatcher::EventDispatcher(const DispatcherConfig& config, store::PublishingStore& store,
                                 Clock& clock, events::HttpPoster& http,
                                 const events::SnsSigner& signer, events::KafkaProducer* kafka,
                                 events::EventMetrics* metrics)
    : config_(config),
      store_(store),
      clock_(clock),
      http_(http),
      signer_(signer),
      kafka_(kafka),
      metrics_(metrics) {}

EventDispatcher::~EventDispatcher() { Stop(); }

void EventDispatcher::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(run_mu_);
    while (!stopping_) {
      lock.unlock();
      StatusOr<size_t> n = RunOnce();
      if (!n.ok()) LogWarn("event dispatch pass failed", {{"error", n.status().ToString()}});
      lock.lock();
      // A pass that delivered may have stopped at its batch limit: go on at once.
      if (n.ok() && *n > 0) continue;
      run_cv_.wait_for(lock, config_.poll, [this] { return stopping_; });
    }
  });
}

void EventDispatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(run_mu_);
    stopping_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

DispatcherStats EventDispatcher::Stats() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return stats_;
}

StatusOr<uint64_t> EventDispatcher::LogSize() {
  struct stat st;
  if (::stat(config_.events_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return uint64_t{0};
    return UnavailableError("stat " + config_.events_path + ": " + std::strerror(errno));
  }
  return static_cast<uint64_t>(st.st_size);
}

bool EventDispatcher::Due(const std::string& key, SysTime now) const {
  auto it = backoff_.find(key);
  return it == backoff_.end() || now >= it->second.next_attempt;
}

void EventDispatcher::Failed(const std::string& key, SysTime now) {
  Backoff& b = backoff_[key];
  b.delay = b.delay.count() == 0 ? config_.min_backoff : std::min(b.delay * 2, config_.max_backoff);
  b.next_attempt = now + b.delay;
  std::lock_guard<std::mutex> lock(stats_mu_);
  ++stats_.failures;
}

void EventDispatcher::Succeeded(const std::string& key) { backoff_.erase(key); }

namespace {

// Reads [offset, offset + max) of the file; fewer bytes at its end.
StatusOr<std::string> ReadAt(const std::string& path, uint64_t offset, size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return UnavailableError("open " + path + ": " + std::strerror(errno));
  std::string buf(max, '\0');
  size_t got = 0;
  while (got < max) {
    ssize_t n = ::pread(fd, buf.data() + got, max - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return UnavailableError("read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  buf.resize(got);
  return buf;
}

}  // namespace

StatusOr<uint64_t> EventDispatcher::TargetCursor(const Target& target, uint64_t log_size) {
  constexpr uint64_t kNone = ~uint64_t{0};
  if (target.dest == nullptr) {
    // A notification subscription starts where it was confirmed.
    ASSIGN_OR_RETURN(uint64_t cursor, store_.GetSubscriptionCursor(target.subscription_id, kNone));
    if (cursor == kNone) {
      cursor = std::min(target.start_offset, log_size);
      RETURN_IF_ERROR(store_.SetSubscriptionCursor(target.subscription_id, cursor));
    }
    return cursor;
  }
  const store::EventDestinationRow& dest = *target.dest;
  ASSIGN_OR_RETURN(uint64_t cursor, store_.GetCursor(dest.id, target.cursor, kNone));
  if (cursor == kNone) {
    // A target seen for the first time (a subscription) starts where both it and its
    // destination existed: events published before either never reach it.
    ASSIGN_OR_RETURN(uint64_t dest_start, store_.GetCursor(dest.id, "", 0));
    cursor = std::min(std::max(dest_start, target.start_offset), log_size);
    RETURN_IF_ERROR(store_.SetCursor(dest.id, target.cursor, cursor));
  }
  return cursor;
}

Status EventDispatcher::SetTargetCursor(const Target& target, uint64_t offset) {
  if (target.dest == nullptr) return store_.SetSubscriptionCursor(target.subscription_id, offset);
  return store_.SetCursor(target.dest->id, target.cursor, offset);
}

StatusOr<size_t> EventDispatcher::Drain(const Target& target, uint64_t log_size) {
  ASSIGN_OR_RETURN(uint64_t cursor, TargetCursor(target, log_size));
  const std::string& name = target.dest != nullptr ? target.dest->name : target.topic_arn;
  if (cursor > log_size) {
    LogWarn("event log is shorter than a cursor; starting again from its beginning",
            {{"destination", name}, {"target", target.cursor}});
    cursor = 0;
    RETURN_IF_ERROR(SetTargetCursor(target, 0));
  }
  if (cursor == log_size) return size_t{0};
  const size_t want =
      static_cast<size_t>(std::min<uint64_t>(log_size - cursor, config_.max_read_bytes));
  ASSIGN_OR_RETURN(std::string chunk, ReadAt(config_.events_path, cursor, want));

  // Complete lines only; what matches is collected, what does not is passed over.
  struct Pending {
    std::string line;  // what the receiver gets
    std::string event_id;
    uint64_t end;  // the offset just after the line
  };
  std::vector<Pending> batch;
  uint64_t scanned_to = cursor;
  size_t pos = 0;
  while (pos < chunk.size() && batch.size() < config_.max_batch_events) {
    const size_t nl = chunk.find('\n', pos);
    if (nl == std::string::npos) {
      // A line longer than the whole read: skip it; otherwise wait for its end.
      if (pos == 0 && chunk.size() >= config_.max_read_bytes) scanned_to = cursor + chunk.size();
      break;
    }
    std::string_view line(chunk.data() + pos, nl - pos);
    const uint64_t end = cursor + nl + 1;
    pos = nl + 1;
    scanned_to = end;
    if (line.size() > config_.max_line_bytes) continue;
    if (target.dest == nullptr) {
      std::optional<ParsedNotification> n = ParseNotification(line);
      if (!n || n->topic_arn != target.topic_arn) continue;
      batch.push_back({std::move(n->payload),
                       n->event_id.empty() ? NewUuidLike(line) : std::move(n->event_id), end});
      continue;
    }
    std::optional<ParsedEvent> ev = ParseEvent(line);
    if (!ev || !Matches(*target.dest, *ev)) continue;
    batch.push_back(
        {std::string(line), ev->event_id.empty() ? NewUuidLike(line) : ev->event_id, end});
  }

  const SysTime now = clock_.Now();
  uint64_t delivered_to = cursor;
  size_t delivered = 0;
  Status failure;
  if (target.kind == Target::kKafka) {
    std::vector<events::KafkaRecord> records;
    records.reserve(batch.size());
    for (const Pending& p : batch) records.push_back({p.event_id, p.line});
    if (kafka_ == nullptr) {
      failure = FailedPreconditionError("no Kafka cluster is configured");
    } else if (!records.empty()) {
      failure = kafka_->ProduceBatch(target.kafka_topic, records);
    }
    if (failure.ok()) {
      delivered = batch.size();
      delivered_to = scanned_to;
    }
  } else {
    for (const Pending& p : batch) {
      events::HttpRequest req;
      req.url = target.endpoint;
      if (target.kind == Target::kWebhook) {
        req.body = p.line;
        req.content_type = "application/json";
        const int64_t unix_s = UnixMillis(now) / 1000;
        req.headers = {{events::kWebhookSignatureHeaderName,
                        events::WebhookSignatureHeader(target.token, unix_s, req.body)},
                       {"X-Herald-Event-Id", p.event_id}};
      } else {
        events::SnsMessage msg;
        msg.type = events::kSnsNotification;
        msg.message_id = p.event_id;
        msg.topic_arn = target.topic_arn;
        msg.message = p.line;
        msg.timestamp = now;
        msg.unsubscribe_url = config_.public_url + "/_herald/sns/unsubscribe?SubscriptionArn=" +
                              PercentEncode(target.subscription_arn);
        msg.signing_cert_url = config_.public_url + "/_herald/sns/SimpleNotificationService.pem";
        msg.signature_version = config_.signature_version;
        StatusOr<std::string> body = events::EnvelopeJson(msg, signer_);
        if (!body.ok()) {
          // Not deliverable as SNS JSON (e.g. invalid UTF-8): passed over, never retried.
          LogWarn("event not deliverable over SNS", {{"error", body.status().ToString()}});
          delivered_to = p.end;
          continue;
        }
        req.body = std::move(body).value();
        req.content_type = events::kSnsContentType;
        req.headers = events::SnsHeaders(msg, target.subscription_arn);
      }
      StatusOr<events::HttpReply> reply = http_.Post(req);
      if (!reply.ok()) {
        failure = reply.status();
        break;
      }
      if (reply->status < 200 || reply->status > 299) {
        failure = UnavailableError("HTTP " + std::to_string(reply->status));
        break;
      }
      ++delivered;
      delivered_to = p.end;
    }
    if (failure.ok()) delivered_to = scanned_to;
  }
  if (delivered_to != cursor) {
    RETURN_IF_ERROR(SetTargetCursor(target, delivered_to));
  }
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_.delivered += delivered;
  }
  if (!failure.ok()) {
    LogWarn("event destination unreachable; will retry",
            {{"destination", name}, {"target", target.cursor}, {"error", failure.ToString()}});
    Failed(target.key, now);
  } else {
    Succeeded(target.key);
  }
  return delivered;
}

void EventDispatcher::SendConfirmations(SysTime now) {
  StatusOr<std::vector<std::pair<store::Topic, store::TopicSubscription>>> pending =
      store_.ListPendingSubscriptions();
  if (!pending.ok()) {
    LogWarn("cannot list pending subscriptions", {{"error", pending.status().ToString()}});
    return;
  }
  for (const auto& [topic, sub] : *pending) {
    const std::string key = "confirm/" + std::to_string(sub.id);
    if (!Due(key, now)) continue;
    const std::string arn = TopicArn(config_.region, topic.account_id, topic.name);
    events::SnsMessage msg;
    msg.type = events::kSnsSubscriptionConfirmation;
    msg.message_id = NewUuidLike(sub.token + std::to_string(UnixMillis(now)));
    msg.topic_arn = arn;
    msg.token = sub.token;
    msg.message = "You have chosen to subscribe to the topic " + arn +
                  ".\nTo confirm the subscription, visit the SubscribeURL included in this "
                  "message.";
    msg.subscribe_url = config_.public_url + "/_herald/sns/confirm?TopicArn=" + PercentEncode(arn) +
                        "&Token=" + PercentEncode(sub.token);
    msg.timestamp = now;
    msg.signing_cert_url = config_.public_url + "/_herald/sns/SimpleNotificationService.pem";
    msg.signature_version = config_.signature_version;
    StatusOr<std::string> body = events::EnvelopeJson(msg, signer_);
    if (!body.ok()) continue;
    events::HttpRequest req;
    req.url = sub.endpoint;
    req.body = std::move(body).value();
    req.content_type = events::kSnsContentType;
    req.headers = events::SnsHeaders(msg, "");
    StatusOr<events::HttpReply> reply = http_.Post(req);
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      ++stats_.confirmations_sent;
    }
    // Sent again later until it is confirmed: on the failure back-off when it did not
    // arrive, else every max_backoff.
    if (!reply.ok() || reply->status < 200 || reply->status > 299) {
      Failed(key, now);
    } else {
      Backoff& b = backoff_[key];
      b.delay = config_.max_backoff;
      b.next_attempt = now + config_.max_backoff;
    }
  }
}

void EventDispatcher::SyncMetrics(const std::vector<store::EventDestinationRow>& dests) {
  if (metrics_ == nullptr) return;
  std::map<std::string, std::string> wanted;
  for (const auto& d : dests) {
    if (d.kind != "metrics" || !d.enabled) continue;
    std::string types;
    for (const auto& t : d.matching_types) types += t + ",";
    wanted[std::to_string(d.account_id) + "\n" + d.configuration_set + "\n" + d.name] =
        d.spec_json + "\n" + types;
  }
  for (auto it = metric_dests_.begin(); it != metric_dests_.end();) {
    if (wanted.count(it->first) == 0) {
      std::vector<std::string> parts = SplitLines(it->first);
      if (parts.size() == 3) {
        (void)metrics_->RemoveDestination(store::AccountNumber(std::stoll(parts[0])), parts[1],
                                          parts[2]);
      }
      it = metric_dests_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& d : dests) {
    if (d.kind != "metrics" || !d.enabled) continue;
    const std::string key =
        std::to_string(d.account_id) + "\n" + d.configuration_set + "\n" + d.name;
    auto have = metric_dests_.find(key);
    if (have != metric_dests_.end() && have->second == wanted[key]) continue;
    std::vector<events::Dimension> dims;
    json spec = json::parse(d.spec_json, nullptr, false);
    if (spec.is_object() && spec.contains("DimensionConfigurations") &&
        spec["DimensionConfigurations"].is_array()) {
      for (const json& c : spec["DimensionConfigurations"]) {
        events::Dimension dim;
        dim.name = c.value("DimensionName", "");
        const std::string source = c.value("DimensionValueSource", "");
        dim.source = source == "EMAIL_HEADER" ? events::DimensionValueSource::kEmailHeader
                     : source == "LINK_TAG"   ? events::DimensionValueSource::kLinkTag
                                              : events::DimensionValueSource::kMessageTag;
        dim.default_value = c.value("DefaultDimensionValue", "");
        dims.push_back(std::move(dim));
      }
    }
    Status st = metrics_->AddDestination(store::AccountNumber(d.account_id), d.configuration_set,
                                         d.name, std::move(dims), d.matching_types);
    if (!st.ok()) {
      LogWarn("metrics destination refused", {{"destination", d.name}, {"error", st.ToString()}});
    }
    metric_dests_[key] = wanted[key];
  }
}

Status EventDispatcher::FeedMetrics(uint64_t log_size) {
  if (metrics_ == nullptr) return Status::Ok();
  if (!metrics_started_ || metrics_offset_ > log_size) {
    metrics_started_ = true;
    metrics_offset_ = log_size;  // counters count what is published from now on
    return Status::Ok();
  }
  while (metrics_offset_ < log_size) {
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>(log_size - metrics_offset_, config_.max_read_bytes));
    ASSIGN_OR_RETURN(std::string chunk, ReadAt(config_.events_path, metrics_offset_, want));
    size_t pos = 0;
    size_t consumed = 0;
    while (true) {
      const size_t nl = chunk.find('\n', pos);
      if (nl == std::string::npos) break;
      metrics_->Observe(std::string_view(chunk).substr(pos, nl - pos));
      pos = nl + 1;
      consumed = pos;
    }
    if (consumed == 0) {
      if (chunk.size() >= config_.max_read_bytes)
        consumed = chunk.size();  // over-long line
      else
        break;  // partial line
    }
    metrics_offset_ += consumed;
  }
  return Status::Ok();
}

StatusOr<size_t> EventDispatcher::RunOnce() {
  const SysTime now = clock_.Now();
  ASSIGN_OR_RETURN(uint64_t log_size, LogSize());
  ASSIGN_OR_RETURN(std::vector<store::EventDestinationRow> dests,
                   store_.ListAllEventDestinations());
  SyncMetrics(dests);
  Status fed = FeedMetrics(log_size);
  if (!fed.ok()) LogWarn("metrics feed failed", {{"error", fed.ToString()}});
  SendConfirmations(now);

  size_t delivered = 0;
  for (const auto& d : dests) {
    if (!d.enabled || d.kind == "metrics" || d.kind == "pinpoint") continue;
    std::vector<Target> targets;
    json spec = json::parse(d.spec_json, nullptr, false);
    if (!spec.is_object()) continue;
    if (d.kind == "sns") {
      const std::string arn = spec.value("TopicArn", "");
      const size_t colon = arn.rfind(':');
      if (colon == std::string::npos) continue;
      StatusOr<store::Topic> topic = store_.GetTopic(d.account_id, arn.substr(colon + 1));
      if (!topic.ok()) continue;  // deleted: events wait at the cursor for a new topic
      ASSIGN_OR_RETURN(std::vector<store::TopicSubscription> subs,
                       store_.ListSubscriptions(topic->id));
      for (const auto& s : subs) {
        if (!s.confirmed) continue;
        Target t;
        t.cursor = "sub:" + std::to_string(s.id);
        t.key = std::to_string(d.id) + "/" + t.cursor;
        t.kind = s.raw ? Target::kWebhook : Target::kSns;
        t.topic_arn = arn;
        t.subscription_arn = SubscriptionArn(arn, s.token);
        t.endpoint = s.endpoint;
        t.token = s.token;
        t.start_offset = s.start_offset;
        targets.push_back(std::move(t));
      }
    } else if (d.kind == "firehose" || d.kind == "eventbridge") {
      Target t;
      t.kind = Target::kKafka;
      t.key = std::to_string(d.id) + "/";
      t.kafka_topic = d.kind == "firehose"
                          ? ArnTail(spec.value("DeliveryStreamArn", ""), "deliverystream/")
                          : ArnTail(spec.value("EventBusArn", ""), "event-bus/");
      if (t.kafka_topic.empty()) continue;
      targets.push_back(std::move(t));
    }
    for (Target& t : targets) {
      if (!Due(t.key, now)) continue;
      t.dest = &d;
      StatusOr<size_t> n = Drain(t, log_size);
      if (!n.ok()) {
        if (n.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
        return n.status();
      }
      delivered += *n;
    }
  }
  ASSIGN_OR_RETURN(size_t notified, DrainNotifications(now, log_size));
  return delivered + notified;
}

StatusOr<size_t> EventDispatcher::DrainNotifications(SysTime now, uint64_t log_size) {
  if (!config_.notification_topics) return size_t{0};
  StatusOr<std::vector<std::string>> topics = config_.notification_topics();
  if (!topics.ok()) return topics.status();
  size_t delivered = 0;
  for (const std::string& arn : *topics) {
    // arn:aws:sns:<region>:<account number>:<name>; topics of other shapes have no
    // subscribers here.
    std::vector<std::string> parts;
    size_t start = 0;
    while (parts.size() < 5) {
      const size_t colon = arn.find(':', start);
      if (colon == std::string::npos) break;
      parts.push_back(arn.substr(start, colon - start));
      start = colon + 1;
    }
    if (parts.size() != 5 || parts[0] != "arn" || parts[2] != "sns") continue;
    std::optional<int64_t> account = store::AccountIdOfNumber(parts[4]);
    if (!account) continue;
    StatusOr<store::Topic> topic = store_.GetTopic(*account, arn.substr(start));
    if (!topic.ok()) continue;  // deleted: its notifications are not kept for a new one
    ASSIGN_OR_RETURN(std::vector<store::TopicSubscription> subs,
                     store_.ListSubscriptions(topic->id));
    for (const auto& s : subs) {
      if (!s.confirmed) continue;
      Target t;
      t.cursor = "notify:" + std::to_string(s.id);
      t.key = t.cursor;
      t.kind = s.raw ? Target::kWebhook : Target::kSns;
      t.topic_arn = arn;
      t.subscription_arn = SubscriptionArn(arn, s.token);
      t.endpoint = s.endpoint;
      t.token = s.token;
      t.start_offset = s.start_offset;
      t.subscription_id = s.id;
      if (!Due(t.key, now)) continue;
      StatusOr<size_t> n = Drain(t, log_size);
      if (!n.ok()) {
        if (n.status().code() == StatusCode::kNotFound) continue;  // deleted meanwhile
        return n.status();
      }
      delivered += *n;
    }
  }
  return delivered;
}

}  // namespace herald::publishing
