// sending/sent_index.h: what herald remembers of the messages it sent, so that a bounce
// report or a complaint arriving days later can be tied to its message and recipients.
//
// Contract: SentMessageLookup is the small read interface the feedback correlator uses
// (sending/feedback_correlator.h); tests give it a fake. SentIndex is the in-memory
// implementation: it learns a message from its Send event (every message the sending path
// accepts publishes one, with the "mail" object SES events embed), through
// IndexingEventSink, a decorator of the real EventSink that hands each successfully
// published batch to ObserveEvents. It keeps, per message, the id, the account, the
// acceptance time (from the id, sending::MessageIdTime), the envelope recipients in
// order (index i is the recipient a VERP token names as i) and the mail object as
// compact JSON. Entries are dropped oldest first once their total size passes
// max_bytes. Find() is by message id; LatestTo() gives the most recent message whose
// envelope held an address (compared case-insensitively), if it was accepted at or after
// `since`.
// The index is memory only: what a restart forgets is learnt again, as far as it goes,
// by ReplayEventLog, which reads the Send events among the last lines of events.jsonl.
// Messages older than that (or herald's own mail, which publishes no events) cannot be
// found: their feedback becomes an orphan.
// Thread-safety: every method is safe from any thread (one mutex, held for map work only).
// Trust: the lines are herald's own events; they are still parsed defensively (a line
// that is not a well-formed Send event is skipped).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "events/event_sink.h"
#include "spool/fs.h"

namespace herald::sending {

struct SentMessage {
  std::string message_id;
  int64_t account_id = 0;
  SysTime accepted;
  std::vector<std::string> recipients;  // the envelope's, in order (To, Cc, Bcc)
  std::string mail_json;                // the events' "mail" object, compact JSON
};

using SentMessagePtr = std::shared_ptr<const SentMessage>;

class SentMessageLookup {
 public:
  virtual ~SentMessageLookup() = default;
  // The message with this herald message id, or nullptr.
  virtual SentMessagePtr Find(std::string_view message_id) = 0;
  // The most recent message sent to `address` (any letter case) accepted at or after
  // `since`, or nullptr.
  virtual SentMessagePtr LatestTo(std::string_view address, SysTime since) = 0;
};

class SentIndex final : public SentMessageLookup {
 public:
  explicit SentIndex(size_t max_bytes) : max_bytes_(max_bytes) {}

  void Add(SentMessage message);
  // One EventSink::Publish batch ('\n'-separated JSON objects): remembers each Send event.
  // Returns how many messages it learnt.
  size_t ObserveEvents(std::string_view json_lines);
  // Learns the Send events among the last `max_lines` lines of the JSONL event log at
  // `path` (a missing file is fine). Returns how many messages it learnt.
  StatusOr<size_t> ReplayEventLog(spool::Fs& fs, const std::string& path, size_t max_lines);

  SentMessagePtr Find(std::string_view message_id) override;
  SentMessagePtr LatestTo(std::string_view address, SysTime since) override;

  size_t size() const;
  size_t bytes() const;

 private:
  static size_t Cost(const SentMessage& m);

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::deque<SentMessagePtr> order_;                           // guarded by mu_, oldest first
  std::unordered_map<std::string, SentMessagePtr> by_id_;      // guarded by mu_
  std::unordered_map<std::string, SentMessagePtr> latest_to_;  // guarded by mu_; lower case
  size_t bytes_ = 0;                                           // guarded by mu_
};

// Publishes to `inner`; once that succeeded, lets `index` learn the batch's Send events.
class IndexingEventSink final : public events::EventSink {
 public:
  IndexingEventSink(events::EventSink& inner, SentIndex& index) : inner_(inner), index_(index) {}
  Status Publish(const std::string& json_lines) override;

 private:
  events::EventSink& inner_;
  SentIndex& index_;
};

}  // namespace herald::sending
