// spool/spool.h: the durable message store between acceptance and delivery.
//
// Contract: Store() returns OK only after the record (envelope and body) is on stable
// storage (data fsync'd, and the directory entry of any new file fsync'd). Concurrent
// Store() calls are group-committed: they share fsyncs, and none returns before its own
// data is synced. MarkDone() is durable when it returns. Once every recipient of a message
// is done the message is gone from Recover() and its space can be reclaimed.
// Recover() returns every stored message with at least one recipient not done; it is
// called once, at start, before any Store().
// Errors: kUnavailable once the spool is unhealthy (a failed write or fsync: callers reply
// 451 / 500 and accept nothing); kDataLoss for a record that fails its checksum (it is
// skipped and counted, never half-read).
// Thread-safety: all methods are safe from any thread.
// Trust: reads only files it wrote itself; never interprets the envelope or the body.
// Format: docs/spool-format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace herald::spool {

struct SpoolRecord {
  std::string id;                // herald message id, unique, <= 255 bytes
  uint32_t recipient_count = 0;  // recipients are numbered 0..recipient_count-1
  std::string envelope;          // opaque to the spool (the caller's serialised envelope)
  std::string body;              // the message as it will be delivered
};

struct DoneMark {
  std::string id;
  std::vector<uint32_t> recipients;
};

struct RecoveredMessage {
  std::string id;
  uint32_t recipient_count = 0;
  std::string envelope;
  std::vector<uint32_t> done;  // recipients already finished, ascending
};

class Spool {
 public:
  virtual ~Spool() = default;

  virtual Status Store(const SpoolRecord& record) = 0;
  virtual Status MarkDone(std::string_view id, const std::vector<uint32_t>& recipients) = 0;
  // Several messages' marks at once (one group commit for all of them where the
  // implementation can). Validated first: an unknown id or index changes nothing.
  virtual Status MarkDoneMany(const std::vector<DoneMark>& marks) {
    for (const auto& m : marks) {
      RETURN_IF_ERROR(MarkDone(m.id, m.recipients));
    }
    return Status::Ok();
  }
  // The live message's envelope and body (recipient_count as stored), re-verified.
  virtual StatusOr<SpoolRecord> Read(std::string_view id) = 0;
  StatusOr<std::string> ReadBody(std::string_view id) {
    ASSIGN_OR_RETURN(SpoolRecord r, Read(id));
    return std::move(r.body);
  }
  virtual StatusOr<std::vector<RecoveredMessage>> Recover() = 0;

  // nullptr while healthy; otherwise why not. Cheap: no I/O, no locks held for long.
  virtual const char* UnhealthyReason() const = 0;
};

using SpoolPtr = std::unique_ptr<Spool>;

}  // namespace herald::spool
