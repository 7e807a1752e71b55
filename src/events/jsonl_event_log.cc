#include "events/jsonl_event_log.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "events/jsonl_reader.h"

namespace herald::events {

struct JsonlEventLog::LineRequest : spool::GroupCommitter::Request {
  std::string_view text;  // one or more lines, without the final "\n"
};

JsonlEventLog::JsonlEventLog(std::string path, const JsonlEventLogOptions& options, spool::Fs& fs)
    : path_(std::move(path)),
      options_(options),
      fs_(fs),
      committer_([this](std::span<spool::GroupCommitter::Request* const> b) { CommitBatch(b); },
                 nullptr, options.max_batch_bytes) {}

JsonlEventLog::~JsonlEventLog() = default;

StatusOr<std::unique_ptr<JsonlEventLog>> JsonlEventLog::Open(const std::string& path,
                                                             const JsonlEventLogOptions& options) {
  if (path.empty() || path.back() == '/') {
    return InvalidArgumentError("event log path must name a file");
  }
  if (options.max_line_bytes < 1024 || options.max_line_bytes > (16u << 20) ||
      options.max_batch_bytes < options.max_line_bytes) {
    return InvalidArgumentError("event log max_line_bytes/max_batch_bytes out of range");
  }
  spool::Fs& fs = options.fs != nullptr ? *options.fs : spool::PosixFs();
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  RETURN_IF_ERROR(fs.CreateDir(dir));

  bool created = false;
  StatusOr<spool::FilePtr> existing = fs.Open(path, spool::OpenMode::kRead);
  if (!existing.ok()) {
    if (existing.status().code() != StatusCode::kNotFound) {
      return existing.status();
    }
    created = true;
  } else {
    ASSIGN_OR_RETURN(uint64_t size, (*existing)->Size());
    ASSIGN_OR_RETURN(uint64_t keep, CompleteLinesEnd(**existing, size));
    if (keep < size) {
      LogWarn("event log: truncating torn last line",
              {{"path", path}, {"bytes", std::to_string(size - keep)}});
      RETURN_IF_ERROR(fs.Truncate(path, keep));
    }
  }
  std::unique_ptr<JsonlEventLog> log(new JsonlEventLog(path, options, fs));
  ASSIGN_OR_RETURN(log->file_, fs.Open(path, spool::OpenMode::kAppend));
  if (created) {
    RETURN_IF_ERROR(fs.SyncDir(dir));
  }
  return log;
}

Status JsonlEventLog::Publish(const std::string& json_lines) {
  if (const char* reason = unhealthy_.load()) {
    return UnavailableError(reason);
  }
  std::string_view text = json_lines;
  if (!text.empty() && text.back() == '\n') {
    text.remove_suffix(1);
  }
  if (text.empty() || text.size() + 1 > options_.max_batch_bytes) {
    return InvalidArgumentError("event lines are empty or longer than " +
                                std::to_string(options_.max_batch_bytes) + " bytes");
  }
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    if (line.empty() || line.size() > options_.max_line_bytes) {
      return InvalidArgumentError("event line is empty or longer than " +
                                  std::to_string(options_.max_line_bytes) + " bytes");
    }
    if (line.find('\r') != std::string_view::npos) {
      return InvalidArgumentError("event line contains a carriage return");
    }
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      return InvalidArgumentError("event line is not a JSON object");
    }
    auto id = j.find("eventId");
    if (id == j.end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
      return InvalidArgumentError("event line has no string eventId");
    }
    pos = nl + 1;
  }
  LineRequest req;
  req.text = text;
  req.bytes = text.size() + 1;
  return committer_.Commit(&req);
}

void JsonlEventLog::CommitBatch(std::span<spool::GroupCommitter::Request* const> batch) {
  Status s;
  if (const char* reason = unhealthy_.load()) {
    s = UnavailableError(reason);
  } else {
    std::vector<std::string_view> parts;
    parts.reserve(batch.size() * 2);
    for (auto* r : batch) {
      parts.push_back(static_cast<LineRequest*>(r)->text);
      parts.push_back("\n");
    }
    s = file_->Append(parts);
    const char* why = "event log write failed";
    if (s.ok()) {
      s = file_->Sync();
      why = "event log fdatasync failed";
    }
    if (!s.ok()) {
      const char* expected = nullptr;
      if (unhealthy_.compare_exchange_strong(expected, why)) {
        LogError("event log: unhealthy", {{"reason", why}, {"cause", s.ToString()}});
      }
      s = UnavailableError(std::string(why) + ": " + s.message());
    }
  }
  for (auto* r : batch) {
    r->status = s;
  }
}

}  // namespace herald::events
