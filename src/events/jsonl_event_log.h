// events/jsonl_event_log.h: JsonlEventLog, the EventSink that appends to a JSONL file
// (herald uses <data_dir>/events.jsonl).
//
// Contract: Publish(lines) appends the lines, each ending in "\n", and returns OK only once
// they are durable: concurrent publishers are group-committed (spool/group_commit.h), one
// writev and one fdatasync per batch; the file's directory entry is fsync'd at Open when
// the file is new. `lines` is one or more JSON objects separated by "\n" (a trailing "\n"
// is allowed); the lines of one call are written contiguously, in one writev. Every line
// must be a JSON object with a non-empty string "eventId", without CR, at most
// options.max_line_bytes, and a call holds at most max_batch_bytes: anything else is
// kInvalidArgument and nothing is written.
// Open() repairs a torn last line (bytes after the last "\n", never acknowledged) by
// truncating them away. A failed write or fdatasync makes the log unhealthy: that call and
// every later Publish() return kUnavailable (a failed fsync is never retried).
// Thread-safety: Publish() is safe from any thread.
// Trust: lines are built by herald from validated data; they are still parsed here so a
// bug upstream cannot split or corrupt the log.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "events/event_sink.h"
#include "spool/fs.h"
#include "spool/group_commit.h"

namespace herald::events {

struct JsonlEventLogOptions {
  // Filesystem seam; nullptr means spool::PosixFs(). Must outlive the log.
  spool::Fs* fs = nullptr;
  // Longest accepted line (SES events are a few KB). 1 KiB .. 16 MiB.
  size_t max_line_bytes = 1u << 20;
  // Most bytes per group commit (a longer single line is its own batch).
  size_t max_batch_bytes = 4u << 20;
};

class JsonlEventLog final : public EventSink {
 public:
  static constexpr std::string_view kFileName = "events.jsonl";

  // Opens (creating it and its directory if missing) the log file at path.
  static StatusOr<std::unique_ptr<JsonlEventLog>> Open(const std::string& path,
                                                       const JsonlEventLogOptions& options = {});
  ~JsonlEventLog() override;

  Status Publish(const std::string& json_lines) override;
  // nullptr while healthy. No I/O, no locks.
  const char* UnhealthyReason() const { return unhealthy_.load(); }
  const std::string& path() const { return path_; }
  uint64_t batches() const { return committer_.batches(); }

 private:
  struct LineRequest;
  JsonlEventLog(std::string path, const JsonlEventLogOptions& options, spool::Fs& fs);
  void CommitBatch(std::span<spool::GroupCommitter::Request* const> batch);

  const std::string path_;
  const JsonlEventLogOptions options_;
  spool::Fs& fs_;
  spool::FilePtr file_;  // used only by the group-commit leader
  spool::GroupCommitter committer_;
  std::atomic<const char*> unhealthy_{nullptr};
};

}  // namespace herald::events
