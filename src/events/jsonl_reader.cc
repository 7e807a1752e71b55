#include "events/jsonl_reader.h"

#include <algorithm>

namespace herald::events {
namespace {

constexpr size_t kChunk = 64u << 10;
constexpr uint64_t kMaxTailReadBytes = 256ull << 20;

}  // namespace

StatusOr<uint64_t> CompleteLinesEnd(spool::File& file, uint64_t size) {
  std::string buf;
  uint64_t end = size;
  while (end > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, end));
    buf.resize(n);
    ASSIGN_OR_RETURN(size_t got, file.ReadAt(end - n, n, buf.data()));
    if (got != n) {
      return UnavailableError("short read while scanning for the last line");
    }
    size_t nl = buf.rfind('\n');
    if (nl != std::string::npos) {
      return end - n + nl + 1;
    }
    end -= n;
  }
  return uint64_t{0};
}

StatusOr<std::vector<std::string>> ReadLastLines(spool::Fs& fs, const std::string& path, size_t n,
                                                 size_t max_line_bytes) {
  n = std::min(n, kMaxTailLines);
  std::vector<std::string> out;
  if (n == 0) {
    return out;
  }
  ASSIGN_OR_RETURN(spool::FilePtr file, fs.Open(path, spool::OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  ASSIGN_OR_RETURN(const uint64_t end, CompleteLinesEnd(*file, size));
  const uint64_t budget =
      std::min<uint64_t>(kMaxTailReadBytes, static_cast<uint64_t>(n) * (max_line_bytes + 1));

  // Read backwards until n + 1 newlines (n lines and the end of the one before) are seen.
  std::vector<std::string> chunks;  // newest first
  uint64_t start = end;
  size_t newlines = 0;
  while (start > 0 && newlines <= n && end - start < budget) {
    size_t len = static_cast<size_t>(std::min<uint64_t>({kChunk, start, budget - (end - start)}));
    std::string chunk(len, '\0');
    ASSIGN_OR_RETURN(size_t got, file->ReadAt(start - len, len, chunk.data()));
    if (got != len) {
      return UnavailableError("short read of " + path);
    }
    newlines += static_cast<size_t>(std::count(chunk.begin(), chunk.end(), '\n'));
    start -= len;
    chunks.push_back(std::move(chunk));
  }
  std::string text;
  text.reserve(end - start);
  for (auto it = chunks.rbegin(); it != chunks.rend(); ++it) {
    text += *it;
  }
  // Unless we reached the start of the file, the first piece is the tail of an older line.
  size_t pos = 0;
  if (start > 0) {
    size_t first_nl = text.find('\n');
    pos = first_nl == std::string::npos ? text.size() : first_nl + 1;
  }
  std::vector<std::string> lines;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);  // text ends with "\n"
    if (nl - pos <= max_line_bytes) {
      lines.emplace_back(text, pos, nl - pos);
    }
    pos = nl + 1;
  }
  if (lines.size() > n) {
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(n));
  }
  return lines;
}

FollowAction DecideFollow(const FollowCursor& cursor, uint64_t file_size) {
  if (file_size < cursor.offset) {
    return FollowAction::kRestart;
  }
  return file_size == cursor.offset ? FollowAction::kNothing : FollowAction::kRead;
}

std::vector<std::string> ConsumeAppended(FollowCursor& cursor, std::string_view bytes,
                                         size_t max_line_bytes) {
  cursor.offset += bytes.size();
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= bytes.size()) {
    size_t nl = bytes.find('\n', start);
    if (nl == std::string_view::npos) {
      std::string_view rest = bytes.substr(start);
      if (!cursor.skipping) {
        if (cursor.partial.size() + rest.size() > max_line_bytes) {
          cursor.partial.clear();
          cursor.skipping = true;
          ++cursor.dropped_lines;
        } else {
          cursor.partial.append(rest);
        }
      }
      break;
    }
    std::string_view piece = bytes.substr(start, nl - start);
    if (cursor.skipping) {
      cursor.skipping = false;
    } else if (cursor.partial.size() + piece.size() > max_line_bytes) {
      cursor.partial.clear();
      ++cursor.dropped_lines;
    } else {
      cursor.partial.append(piece);
      lines.push_back(std::move(cursor.partial));
      cursor.partial.clear();
    }
    start = nl + 1;
  }
  return lines;
}

StatusOr<FollowCursor> CursorAtEnd(spool::Fs& fs, const std::string& path) {
  FollowCursor cursor;
  StatusOr<spool::FilePtr> file = fs.Open(path, spool::OpenMode::kRead);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound) {
      return cursor;  // not there yet: follow from its start
    }
    return file.status();
  }
  ASSIGN_OR_RETURN(uint64_t size, (*file)->Size());
  ASSIGN_OR_RETURN(cursor.offset, CompleteLinesEnd(**file, size));
  return cursor;
}

StatusOr<std::vector<std::string>> PollNewLines(spool::Fs& fs, const std::string& path,
                                                FollowCursor& cursor, size_t max_line_bytes,
                                                size_t max_read_bytes) {
  std::vector<std::string> lines;
  StatusOr<spool::FilePtr> file = fs.Open(path, spool::OpenMode::kRead);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kNotFound) {
      return lines;
    }
    return file.status();
  }
  ASSIGN_OR_RETURN(uint64_t size, (*file)->Size());
  switch (DecideFollow(cursor, size)) {
    case FollowAction::kNothing:
      return lines;
    case FollowAction::kRestart: {
      uint64_t dropped = cursor.dropped_lines;
      cursor = FollowCursor{};
      cursor.dropped_lines = dropped;
      break;
    }
    case FollowAction::kRead:
      break;
  }
  size_t len = static_cast<size_t>(std::min<uint64_t>(size - cursor.offset, max_read_bytes));
  std::string buf(len, '\0');
  ASSIGN_OR_RETURN(size_t got, (*file)->ReadAt(cursor.offset, len, buf.data()));
  buf.resize(got);
  return ConsumeAppended(cursor, buf, max_line_bytes);
}

StatusOr<std::vector<std::string>> ReadLastLines(const std::string& path, size_t n) {
  return ReadLastLines(spool::PosixFs(), path, n);
}

Status EventFollower::SkipToEnd() {
  ASSIGN_OR_RETURN(cursor_, CursorAtEnd(fs_, path_));
  return Status::Ok();
}

StatusOr<std::vector<std::string>> EventFollower::Poll() {
  return PollNewLines(fs_, path_, cursor_, max_line_bytes_);
}

}  // namespace herald::events
