#include "events/kafka_producer.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string_view>
#include <thread>

#include "base/log.h"

namespace herald::events {
namespace {

// How long ProduceBatch waits beyond delivery_timeout for librdkafka's own timeout reports
// (it scans for expired records about once a second), so that the caller gets librdkafka's
// reason rather than a bare "not confirmed".
constexpr std::chrono::milliseconds kReportGrace{1500};
// How long the destructor lets librdkafka hand back purged records.
constexpr int kCloseFlushMs = 2000;
constexpr std::chrono::milliseconds kMaxDeliveryTimeout{24 * 3600 * 1000};

// Properties whose values carry herald's guarantees; a caller may not set them.
constexpr std::array<std::string_view, 9> kReservedProperties = {
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "delivery.report.only.error",
    "bootstrap.servers",
    "metadata.broker.list",
    "transactional.id",
};

// The outcome of one batch, shared by the caller and the delivery-report callbacks (each
// in-flight record holds a reference, so a caller that gave up leaves nothing dangling).
struct BatchState {
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;  // records without a delivery report yet
  size_t failed = 0;
  std::string first_error;
};
using BatchRef = std::shared_ptr<BatchState>;

std::string ErrorText(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
}

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* /*opaque*/) {
  auto* ref = static_cast<BatchRef*>(msg->_private);
  if (ref == nullptr) return;
  {
    BatchState& s = **ref;
    std::lock_guard<std::mutex> lock(s.mu);
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++s.failed;
      if (s.first_error.empty()) s.first_error = ErrorText(msg->err);
    }
    if (s.pending > 0) --s.pending;
    if (s.pending == 0 || msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) s.cv.notify_all();
  }
  delete ref;
}

void OnLog(const rd_kafka_t* /*rk*/, int level, const char* facility, const char* buf) {
  // syslog levels: 0..3 error, 4 warning, 5..6 notice/info, 7 debug.
  LogLevel l = level <= 3   ? LogLevel::kError
               : level == 4 ? LogLevel::kWarn
               : level <= 6 ? LogLevel::kInfo
                            : LogLevel::kDebug;
  Log(l, "kafka", {{"facility", facility}, {"detail", buf}});
}

// One librdkafka producer instance and the thread that serves its delivery reports.
class Instance {
 public:
  static StatusOr<std::shared_ptr<Instance>> Create(const KafkaOptions& options) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[512] = {0};
    auto set = [&](const std::string& name, const std::string& value) -> Status {
      if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
          RD_KAFKA_CONF_OK) {
        return InvalidArgumentError("kafka property " + name + ": " + errstr);
      }
      return Status::Ok();
    };
    Status s;
    if (!options.bootstrap_servers.empty()) s = set("bootstrap.servers", options.bootstrap_servers);
    if (s.ok()) s = set("acks", "all");
    if (s.ok()) s = set("enable.idempotence", "true");
    if (s.ok()) s = set("message.timeout.ms", std::to_string(options.delivery_timeout.count()));
    for (const auto& [name, value] : options.properties) {
      if (!s.ok()) break;
      s = set(name, value);
    }
    if (!s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
    rd_kafka_conf_set_log_cb(conf, OnLog);
    // rd_kafka_new takes the configuration on success only.
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);
      return InvalidArgumentError(std::string("kafka producer: ") + errstr);
    }
    return std::shared_ptr<Instance>(new Instance(rk));
  }

  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  ~Instance() {
    stop_.store(true);
    poller_.join();
    // Records still queued or in flight belong to batches whose callers have given up:
    // fail them now so their delivery reports release the batch state, then close.
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_, kCloseFlushMs);
    rd_kafka_destroy(rk_);
  }

  rd_kafka_t* rk() const { return rk_; }

  // librdkafka's fatal error (the instance can produce nothing more), or empty.
  std::string FatalError() const {
    char buf[512] = {0};
    rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_, buf, sizeof(buf));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return {};
    return std::string(rd_kafka_err2name(err)) + ": " + buf;
  }

 private:
  explicit Instance(rd_kafka_t* rk) : rk_(rk) {
    poller_ = std::thread([this] {
      while (!stop_.load()) rd_kafka_poll(rk_, 100);
    });
  }

  rd_kafka_t* const rk_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

class RdKafkaProducer : public KafkaProducer {
 public:
  RdKafkaProducer(const KafkaOptions& options, std::shared_ptr<Instance> instance)
      : options_(options), instance_(std::move(instance)) {}

  Status ProduceBatch(const std::string& topic, const std::vector<KafkaRecord>& records) override;

 private:
  // The live instance; a fatally failed one is replaced by a fresh instance.
  StatusOr<std::shared_ptr<Instance>> CurrentInstance();

  const KafkaOptions options_;
  std::mutex mu_;
  std::shared_ptr<Instance> instance_;  // guarded by mu_
};

StatusOr<std::shared_ptr<Instance>> RdKafkaProducer::CurrentInstance() {
  std::shared_ptr<Instance> retired;  // destroyed (flushed) after the lock is released
  std::lock_guard<std::mutex> lock(mu_);
  if (instance_ != nullptr && !instance_->FatalError().empty()) {
    LogWarn("kafka producer restarted after a fatal error", {{"error", instance_->FatalError()}});
    retired = std::move(instance_);
  }
  if (instance_ == nullptr) {
    ASSIGN_OR_RETURN(instance_, Instance::Create(options_));
  }
  return instance_;
}

Status RdKafkaProducer::ProduceBatch(const std::string& topic,
                                     const std::vector<KafkaRecord>& records) {
  if (topic.empty()) return InvalidArgumentError("kafka topic name is empty");
  if (records.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(std::shared_ptr<Instance> instance, CurrentInstance());
  rd_kafka_t* rk = instance->rk();

  const auto deadline = std::chrono::steady_clock::now() + options_.delivery_timeout + kReportGrace;
  auto state = std::make_shared<BatchState>();
  state->pending = records.size();

  for (size_t i = 0; i < records.size(); ++i) {
    const KafkaRecord& r = records[i];
    auto* ref = new BatchRef(state);
    rd_kafka_resp_err_t err;
    for (;;) {
      err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                              RD_KAFKA_V_KEY(r.key.empty() ? nullptr : r.key.data(), r.key.size()),
                              RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(ref),
                              RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() >= deadline) {
        break;
      }
      // The local queue is full: wait for delivery reports to make room.
      std::unique_lock<std::mutex> lock(state->mu);
      state->cv.wait_for(lock, std::chrono::milliseconds(10));
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      delete ref;  // not enqueued: no delivery report will come for it
      const std::string what = "kafka record " + std::to_string(i) + " of " +
                               std::to_string(records.size()) + " to " + topic + ": ";
      if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
        return InvalidArgumentError(what + ErrorText(err));
      }
      if (err == RD_KAFKA_RESP_ERR__FATAL) {
        return UnavailableError(what + instance->FatalError());
      }
      return UnavailableError(what + ErrorText(err));
    }
  }

  std::unique_lock<std::mutex> lock(state->mu);
  const bool settled = state->cv.wait_until(
      lock, deadline, [&] { return state->pending == 0 || state->failed > 0; });
  if (state->failed > 0) {
    std::string reason = state->first_error;
    lock.unlock();
    std::string fatal = instance->FatalError();
    if (!fatal.empty()) reason += " (fatal: " + fatal + ")";
    return UnavailableError("kafka delivery to " + topic + " failed: " + reason);
  }
  if (!settled) {
    return UnavailableError("kafka delivery to " + topic + ": " + std::to_string(state->pending) +
                            " of " + std::to_string(records.size()) +
                            " records not confirmed within " +
                            std::to_string(options_.delivery_timeout.count()) + " ms");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Create(const KafkaOptions& options) {
  if (options.delivery_timeout.count() <= 0 || options.delivery_timeout > kMaxDeliveryTimeout) {
    return InvalidArgumentError("kafka delivery_timeout must be 1 ms .. 24 h");
  }
  bool has_cluster = !options.bootstrap_servers.empty();
  for (const auto& [name, value] : options.properties) {
    if (std::find(kReservedProperties.begin(), kReservedProperties.end(), name) !=
        kReservedProperties.end()) {
      return InvalidArgumentError("kafka property " + name +
                                  " is set by herald (see KafkaOptions)");
    }
    if (name == "test.mock.num.brokers") has_cluster = true;
  }
  if (!has_cluster) return InvalidArgumentError("kafka bootstrap_servers is required");
  ASSIGN_OR_RETURN(std::shared_ptr<Instance> instance, Instance::Create(options));
  return std::unique_ptr<KafkaProducer>(new RdKafkaProducer(options, std::move(instance)));
}

}  // namespace herald::events
