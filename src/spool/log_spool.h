// spool/log_spool.h: LogSpool, the Spool as an append-only log of segment files.
//
// Contract (beyond spool/spool.h): messages and DONE marks are records appended to the
// newest segment file `seg-<16 digits>.log` in the spool directory; Store() and MarkDone()
// are group-committed (spool/group_commit.h): one writev and one fdatasync per batch, plus
// an fsync of the directory when the batch starts a new segment, before anyone in the
// batch returns. A new segment is started at every Open and when the current one would
// exceed options.segment_bytes. Segments are deleted oldest first once every message whose
// newest copy they hold is done; a few live messages pinning an old, mostly dead segment
// are copied forward (with their done marks) so it can go. Deletion in log order keeps it
// safe across crashes: a DONE record only ever refers to a message in its own or an older
// segment. The in-memory index is small per message (id, location, done bits); bodies stay
// on disk and Read() preads and re-verifies them.
// Open() scans every segment: a bad tail of the newest segment is truncated (it was never
// acknowledged); any other bad region is skipped, logged and counted in Stats(); a segment
// with a bad header is renamed to `<name>.corrupt`. With options.read_only nothing is
// truncated, renamed, deleted, locked or written (for `herald spool list`).
// Errors: kUnavailable once unhealthy (any failed write/fsync/dir fsync: never retried);
// kInvalidArgument for a bad id/recipient count/size; kAlreadyExists for a live id;
// kNotFound for an unknown id; kDataLoss when a body fails its checksum on read;
// kFailedPrecondition for writes in read-only mode, or when another process holds the lock.
// Thread-safety: all methods are safe from any thread.
// Trust: reads only files it wrote; every record is CRC-checked and bounds-checked before
// use; record CRCs are seeded with a per-segment random salt so that bytes inside a
// client's body can never be mistaken for a record.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "spool/fs.h"
#include "spool/group_commit.h"
#include "spool/segment_format.h"
#include "spool/spool.h"

namespace herald::spool {

struct LogSpoolOptions {
  // Filesystem seam; nullptr means PosixFs(). Must outlive the spool.
  Fs* fs = nullptr;
  // A segment is closed and a new one started once the next batch would take it past
  // this size (a single larger record gets a segment of its own). 4 KiB .. 4 GiB.
  uint64_t segment_bytes = 64ull << 20;
  // Most bytes written by one group commit (a single larger record is its own batch).
  size_t max_batch_bytes = 8u << 20;
  // Largest encoded MESSAGE record Store() accepts (id + envelope + body + ~30 bytes).
  size_t max_record_bytes = 64u << 20;
  // An old segment whose live messages take at most this fraction of its size is emptied
  // by copying them forward when a new segment starts. 0 disables copying forward.
  double compact_live_fraction = 0.25;
  // Scan and report only: no lock, no truncation, no deletion, no writes.
  bool read_only = false;
};

struct LogSpoolStats {
  uint64_t segments = 0;            // segment files currently in use
  uint64_t live_messages = 0;       // messages with a recipient not done
  uint64_t corrupt_regions = 0;     // kDataLoss: bad regions skipped at Open or on read
  uint64_t corrupt_bytes = 0;       // bytes in those regions
  uint64_t corrupt_segments = 0;    // segments with a bad header (renamed .corrupt)
  uint64_t truncated_bytes = 0;     // torn tail removed at Open
  uint64_t batches = 0;             // group commits (each one write + one fdatasync)
  uint64_t records_written = 0;     // records in those batches
  uint64_t relocated_messages = 0;  // copied forward out of a nearly dead segment
  uint64_t deleted_segments = 0;
};

class LogSpool final : public Spool {
 public:
  // Opens (creating unless read-only) the spool directory and recovers its index.
  static StatusOr<std::unique_ptr<LogSpool>> Open(const std::string& dir,
                                                  const LogSpoolOptions& options);
  ~LogSpool() override;

  Status Store(const SpoolRecord& record) override;
  // Idempotent for recipients already done. kNotFound once the message is fully done.
  Status MarkDone(std::string_view id, const std::vector<uint32_t>& recipients) override;
  Status MarkDoneMany(const std::vector<DoneMark>& marks) override;
  StatusOr<SpoolRecord> Read(std::string_view id) override;
  // Live messages in log order. May be called again; envelopes are re-read from disk.
  StatusOr<std::vector<RecoveredMessage>> Recover() override;
  const char* UnhealthyReason() const override;

  LogSpoolStats Stats() const;

 private:
  struct Segment {
    uint64_t number = 0;
    std::string path;
    uint32_t salt = 0;
    uint64_t size = 0;        // bytes of valid data
    uint64_t live = 0;        // messages whose newest copy is here and not fully done
    uint64_t live_bytes = 0;  // their record bytes
    std::shared_ptr<File> reader;
  };
  struct Entry {
    uint64_t segment = 0;
    uint64_t offset = 0;
    uint64_t length = 0;  // whole record
    uint32_t recipient_count = 0;
    uint32_t done_count = 0;
    bool pending = false;  // Store() in flight
    std::vector<bool> done;
  };
  struct WriteRequest;  // a GroupCommitter::Request with one record

  LogSpool(std::string dir, const LogSpoolOptions& options);
  Status Load();
  void CommitBatch(std::span<GroupCommitter::Request* const> batch);
  void AfterBatch();
  // Writes records as one batch to the active segment (rolling it first if needed).
  Status WriteRecords(std::span<WriteRequest* const> records);
  Status StartSegment();
  void MarkUnhealthy(const char* reason, const Status& cause);
  // Index maintenance; mu_ held.
  void ApplyMessageLocked(std::string_view id, uint32_t recipient_count, uint64_t segment,
                          uint64_t offset, uint64_t length);
  void ApplyDoneLocked(std::string_view id, const std::vector<uint32_t>& recipients);
  // Deletes the fully-done segments at the old end of the log.
  void DeleteDeadSegments();
  void RelocateOldestIfSparse();
  // Reads and verifies the MESSAGE record of an entry.
  StatusOr<std::string> ReadRecord(uint64_t segment, uint64_t offset, uint64_t length,
                                   uint32_t* salt);
  std::string SegmentPath(uint64_t number) const;

  const std::string dir_;
  const LogSpoolOptions options_;
  Fs& fs_;
  std::unique_ptr<FileLock> lock_;
  GroupCommitter committer_;
  std::atomic<const char*> unhealthy_{nullptr};

  // Writer state: touched only by the group-commit leader (and Load before any writer).
  std::unique_ptr<File> active_;
  uint64_t active_number_ = 0;
  uint32_t active_salt_ = 0;
  uint64_t active_size_ = 0;
  uint64_t next_segment_ = 1;
  bool rolled_ = false;  // a segment was started since the last AfterBatch

  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> index_;  // guarded by mu_
  std::map<uint64_t, Segment> segments_;          // guarded by mu_
  LogSpoolStats stats_;                           // guarded by mu_
};

}  // namespace herald::spool
