// events/kafka_producer.h: publishes batches of event records to a Kafka topic (the Kafka
// event destination, herald's stand-in for Kinesis Firehose and EventBridge).
//
// Contract: ProduceBatch returns OK only after every record of the batch has a successful
// delivery report from the brokers, which are configured for durability (acks=all: every
// in-sync replica has the record; enable.idempotence=true: librdkafka's own retries do not
// duplicate or reorder records within the producer's session). Records keep their order
// within a partition; the partition is chosen from the key by librdkafka's default
// partitioner. If any record fails (broker down, timeout, rejected by the broker), the
// result is kUnavailable with librdkafka's reason, and the caller retries the whole batch:
// records that did land are then written twice, which consumers absorb (every event
// carries a unique eventId). A record larger than the producer allows (message.max.bytes)
// and an empty topic name are kInvalidArgument: retrying cannot help. ProduceBatch waits at
// most delivery_timeout (librdkafka's message.timeout.ms is set to it) plus a short grace
// for the last delivery reports, and never blocks longer.
// After a fatal producer error (the idempotent producer's state is lost, e.g. fenced by
// the broker), the failing call is kUnavailable and the next call starts a fresh librdkafka
// instance, so a long-lived dispatcher recovers without a restart.
// Create: kInvalidArgument when librdkafka refuses a property (its errstr is the message)
// or a property would weaken the guarantees above (acks, enable.idempotence, the message
// timeout and delivery-report settings are herald's).
// Thread-safety: ProduceBatch is safe from any number of threads concurrently; batches
// from different threads may interleave in the topic. Destroying the producer while a
// ProduceBatch runs is not allowed.
// Trust: the brokers are the operator's; record keys and values are herald's event JSON
// and are passed through as bytes. librdkafka's log lines go to herald's log.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace herald::events {

struct KafkaRecord {
  std::string key;    // used for partitioning (e.g. the message id); may be empty
  std::string value;  // the payload (one event's JSON)
};

struct KafkaOptions {
  // Comma-separated "host:port" list of brokers to bootstrap from (librdkafka's
  // bootstrap.servers). Required unless a property supplies the cluster
  // (test.mock.num.brokers).
  std::string bootstrap_servers;
  // Further librdkafka configuration properties, applied in order (security.protocol,
  // sasl.*, ssl.*, compression.type, linger.ms, client.id, ...). Unknown names or bad
  // values are refused by Create.
  std::vector<std::pair<std::string, std::string>> properties;
  // How long one ProduceBatch may wait for its delivery reports; also librdkafka's
  // message.timeout.ms (the time a record may spend being retried). 1 ms .. 24 h.
  std::chrono::milliseconds delivery_timeout{30000};
};

class KafkaProducer {
 public:
  virtual ~KafkaProducer() = default;

  // Publishes `records` to `topic` and waits for all their delivery reports (see above).
  // An empty batch is OK at once.
  virtual Status ProduceBatch(const std::string& topic,
                              const std::vector<KafkaRecord>& records) = 0;

  // The librdkafka-backed producer. Connecting happens in the background: Create succeeds
  // while the brokers are down, and ProduceBatch reports the outage.
  static StatusOr<std::unique_ptr<KafkaProducer>> Create(const KafkaOptions& options);
};

using KafkaProducerPtr = std::unique_ptr<KafkaProducer>;

}  // namespace herald::events
