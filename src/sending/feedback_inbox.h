// sending/feedback_inbox.h: the durable store of mail received by the feedback MX, between
// the 250 and its processing, and of the orphans kept afterwards.
//
// Contract: Store() returns OK only once the message and its envelope are on stable
// storage: written to DIR/incoming/<id>.tmp, fdatasync'd, renamed to <id>.msg, and the
// directory fsync'd; only then may the MX reply 250. A crash before that leaves at most a
// .tmp file, removed by the next Open() (the client got no 250 and sends again). Pending()
// lists what is stored and not yet processed (after a restart: what the last run left),
// oldest first. Remove() drops a processed message (not synced: a crash may bring it back
// and it is processed again: at least once). KeepOrphan() moves the message to
// DIR/orphans/<id>.msg beside <id>.json (the caller's description: why it is an orphan),
// both durable; beyond max_orphans the oldest orphans are deleted (counted in pruned()).
// File format (<id>.msg): one line of JSON {"v":1,"id","received" (ISO 8601),"peer",
// "mail_from","recipients":[...]} ending in "\n", then the message exactly as received
// (dot-unstuffed, CRLF line ends). Ids are "<16 hex: Unix ms>-<16 hex random>": names
// sort by arrival.
// Errors: kUnavailable for I/O failures (the MX then replies 451), kDataLoss for a file
// whose envelope line does not parse, kInvalidArgument for an id of the wrong shape.
// Thread-safety: every method is safe from any thread (an id is handled by one caller at a
// time; the orphan list has a mutex).
// Trust: the message bytes are hostile but never interpreted here; ids and paths are made
// here, and ids given back are checked against their shape before use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "spool/fs.h"

namespace herald::sending {

struct InboundFeedback {
  std::string id;  // set by FeedbackInbox::Store
  SysTime received;
  std::string peer_ip;
  std::string mail_from;                // "" for the null reverse-path
  std::vector<std::string> recipients;  // RCPT TO, as accepted
  std::string message;
};

class FeedbackInbox {
 public:
  // Creates DIR, DIR/incoming and DIR/orphans when missing; removes stale .tmp files.
  static StatusOr<std::unique_ptr<FeedbackInbox>> Open(spool::Fs& fs, std::string dir,
                                                       size_t max_orphans);

  // Makes `m` durable and sets m.id.
  Status Store(InboundFeedback& m);
  StatusOr<std::vector<std::string>> Pending();
  StatusOr<InboundFeedback> Read(const std::string& id);
  Status Remove(const std::string& id);
  Status KeepOrphan(const std::string& id, const std::string& description_json);

  size_t orphans() const;
  uint64_t pruned() const;
  const std::string& dir() const { return dir_; }

  // Whether `id` has the shape Store() gives ids.
  static bool ValidId(const std::string& id);

 private:
  FeedbackInbox(spool::Fs& fs, std::string dir, size_t max_orphans)
      : fs_(fs), dir_(std::move(dir)), max_orphans_(max_orphans) {}
  std::string Incoming(const std::string& name) const { return dir_ + "/incoming/" + name; }
  std::string Orphans(const std::string& name) const { return dir_ + "/orphans/" + name; }
  Status WriteDurably(const std::string& path, const std::vector<std::string_view>& parts);

  spool::Fs& fs_;
  const std::string dir_;
  const size_t max_orphans_;
  mutable std::mutex mu_;
  std::deque<std::string> orphan_ids_;  // guarded by mu_, oldest first
  uint64_t pruned_ = 0;                 // guarded by mu_
};

}  // namespace herald::sending
