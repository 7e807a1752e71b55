// events/jsonl_reader.h: reading events.jsonl for `herald events tail [-f]`.
//
// Contract: only complete lines (ending in "\n") are ever returned; a partial last line is
// a write in progress (or a torn one) and is left for later. ReadLastLines returns the last
// n complete lines, oldest first, reading at most n * (max_line_bytes + 1) bytes (and
// 256 MiB) from the end: a line beyond that budget is not returned. Follow mode is split so it can
// be tested without sleeping: DecideFollow and ConsumeAppended are pure; PollNewLines does one
// stat+read and the caller decides how long to wait between polls. A file that shrank was truncated
// or replaced: following restarts from its beginning. Lines longer than max_line_bytes are dropped
// (counted in the cursor), never buffered without bound. Thread-safety: functions are safe from any
// thread; a FollowCursor belongs to one caller. Trust: the file is herald's own, but it is read
// defensively (bounded reads, no parsing).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "spool/fs.h"

namespace herald::events {

inline constexpr size_t kDefaultMaxLineBytes = 1u << 20;
inline constexpr size_t kMaxTailLines = 100000;

// The offset just past the last "\n" at or before size (0 if none).
StatusOr<uint64_t> CompleteLinesEnd(spool::File& file, uint64_t size);

// The last n (<= kMaxTailLines) complete lines, oldest first.
StatusOr<std::vector<std::string>> ReadLastLines(spool::Fs& fs, const std::string& path, size_t n,
                                                 size_t max_line_bytes = kDefaultMaxLineBytes);

// The same on the real filesystem.
StatusOr<std::vector<std::string>> ReadLastLines(const std::string& path, size_t n);

struct FollowCursor {
  uint64_t offset = 0;         // bytes of the file consumed so far (including `partial`)
  std::string partial;         // the start of a line whose "\n" has not arrived yet
  bool skipping = false;       // inside an over-long line: drop bytes until "\n"
  uint64_t dropped_lines = 0;  // over-long lines dropped
};

enum class FollowAction {
  kNothing,  // no new bytes
  kRead,     // read [offset, file_size)
  kRestart,  // the file shrank (truncated or replaced): reset and read from 0
};

FollowAction DecideFollow(const FollowCursor& cursor, uint64_t file_size);

// Feeds bytes appended after cursor.offset; returns the lines they complete.
std::vector<std::string> ConsumeAppended(FollowCursor& cursor, std::string_view bytes,
                                         size_t max_line_bytes = kDefaultMaxLineBytes);

// A cursor positioned after the last complete line (so a partial line in progress is
// picked up once finished).
StatusOr<FollowCursor> CursorAtEnd(spool::Fs& fs, const std::string& path);

// One poll: new complete lines since the cursor (reads at most max_read_bytes at a time).
StatusOr<std::vector<std::string>> PollNewLines(spool::Fs& fs, const std::string& path,
                                                FollowCursor& cursor,
                                                size_t max_line_bytes = kDefaultMaxLineBytes,
                                                size_t max_read_bytes = 4u << 20);

// Follow mode as an object (for `herald events tail -f`): SkipToEnd() once, then Poll()
// on whatever schedule the caller likes.
class EventFollower {
 public:
  explicit EventFollower(std::string path, spool::Fs& fs = spool::PosixFs(),
                         size_t max_line_bytes = kDefaultMaxLineBytes)
      : path_(std::move(path)), fs_(fs), max_line_bytes_(max_line_bytes) {}

  // Start after the last complete line now in the file (from 0 if there is no file).
  Status SkipToEnd();
  // Complete lines appended since the last call.
  StatusOr<std::vector<std::string>> Poll();
  const FollowCursor& cursor() const { return cursor_; }

 private:
  std::string path_;
  spool::Fs& fs_;
  size_t max_line_bytes_;
  FollowCursor cursor_;
};

}  // namespace herald::events
