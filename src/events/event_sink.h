// events/event_sink.h: where SES-shaped event JSON goes once an outcome is known.
//
// Contract: Publish() returns OK once the events are durable (for the JSONL log: appended
// and fsync'd, group-committed across callers). `json_lines` holds one or more complete
// JSON objects separated by '\n' (no trailing newline needed): the events of one message
// are published together and land together. Each object has a unique "eventId" field
// that consumers use to de-duplicate.
// Thread-safety: implementations are safe from any thread.
// Trust: events are built by herald from validated data; header values inside them came
// from clients and are JSON-escaped by the builder.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

namespace herald::events {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual Status Publish(const std::string& json_lines) = 0;
};

using EventSinkPtr = std::unique_ptr<EventSink>;

}  // namespace herald::events
