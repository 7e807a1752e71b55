#include "spool/log_spool.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>

#include "base/crypto.h"
#include "base/log.h"

namespace herald::spool {
namespace {

constexpr std::string_view kSegPrefix = "seg-";
constexpr std::string_view kSegSuffix = ".log";
constexpr size_t kSegDigits = 16;
// Refuse to load a segment file larger than this (a real one is at most segment_bytes
// plus one record).
constexpr uint64_t kMaxSegmentFileBytes = 8ull << 30;

std::optional<uint64_t> ParseSegmentName(std::string_view name) {
  if (name.size() != kSegPrefix.size() + kSegDigits + kSegSuffix.size() ||
      name.substr(0, kSegPrefix.size()) != kSegPrefix ||
      name.substr(name.size() - kSegSuffix.size()) != kSegSuffix) {
    return std::nullopt;
  }
  uint64_t n = 0;
  for (char c : name.substr(kSegPrefix.size(), kSegDigits)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n == 0) {
    return std::nullopt;
  }
  return n;
}

uint32_t RandomSalt() {
  std::string b = RandomBytes(4);
  uint32_t v = 0;
  std::memcpy(&v, b.data(), 4);
  return v;
}

}  // namespace

struct LogSpool::WriteRequest : GroupCommitter::Request {
  RecordType type = RecordType::kMessage;
  std::string id;
  uint32_t recipient_count = 0;
  std::string prefix;                // MESSAGE: id..envelope; DONE: the whole payload
  std::string_view body;             // MESSAGE body (owned by the caller or by owned_body)
  std::string owned_body;            // relocation only
  uint32_t payload_crc = 0;          // CRC-32C of prefix + body
  std::vector<uint32_t> recipients;  // DONE

  // Set by WriteRecords.
  std::string header;
  uint64_t segment = 0;
  uint64_t offset = 0;

  uint64_t record_size() const { return kRecordHeaderSize + prefix.size() + body.size(); }
};

LogSpool::LogSpool(std::string dir, const LogSpoolOptions& options)
    : dir_(std::move(dir)),
      options_(options),
      fs_(options.fs != nullptr ? *options.fs : PosixFs()),
      committer_([this](std::span<GroupCommitter::Request* const> b) { CommitBatch(b); },
                 [this] { AfterBatch(); }, options.max_batch_bytes) {}

LogSpool::~LogSpool() = default;

StatusOr<std::unique_ptr<LogSpool>> LogSpool::Open(const std::string& dir,
                                                   const LogSpoolOptions& options) {
  if (dir.empty()) {
    return InvalidArgumentError("spool directory is empty");
  }
  if (options.segment_bytes < 4096 || options.segment_bytes > (4ull << 30)) {
    return InvalidArgumentError("spool segment_bytes must be between 4 KiB and 4 GiB");
  }
  if (options.max_batch_bytes == 0 || options.max_record_bytes < 1024 ||
      options.max_record_bytes > kMaxRecordPayload) {
    return InvalidArgumentError("spool max_batch_bytes/max_record_bytes out of range");
  }
  if (options.compact_live_fraction < 0 || options.compact_live_fraction > 0.9) {
    return InvalidArgumentError("spool compact_live_fraction must be in [0, 0.9]");
  }
  std::unique_ptr<LogSpool> spool(new LogSpool(dir, options));
  RETURN_IF_ERROR(spool->Load());
  return spool;
}

std::string LogSpool::SegmentPath(uint64_t number) const {
  char name[64];
  std::snprintf(name, sizeof(name), "seg-%016llu.log", static_cast<unsigned long long>(number));
  return dir_ + "/" + name;
}

Status LogSpool::Load() {
  if (!options_.read_only) {
    RETURN_IF_ERROR(fs_.CreateDir(dir_));
    ASSIGN_OR_RETURN(lock_, fs_.Lock(dir_ + "/LOCK"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs_.List(dir_));
  std::vector<uint64_t> numbers;
  for (const std::string& name : names) {
    if (std::optional<uint64_t> n = ParseSegmentName(name)) {
      numbers.push_back(*n);
    }
  }
  std::sort(numbers.begin(), numbers.end());

  for (size_t i = 0; i < numbers.size(); ++i) {
    const uint64_t number = numbers[i];
    const bool last = i + 1 == numbers.size();
    const std::string path = SegmentPath(number);
    next_segment_ = number + 1;
    ASSIGN_OR_RETURN(std::string data, ReadWholeFile(fs_, path, kMaxSegmentFileBytes));

    std::lock_guard<std::mutex> lock(mu_);
    Segment& seg = segments_[number];
    seg.number = number;
    seg.path = path;
    ScanResult scan = ScanSegment(
        data, [&](RecordType type, uint64_t offset, uint64_t size, std::string_view payload) {
          if (type == RecordType::kMessage) {
            std::optional<MessageView> m = DecodeMessagePayload(payload);
            ApplyMessageLocked(m->id, m->recipient_count, number, offset, size);
          } else {
            std::optional<DoneView> d = DecodeDonePayload(payload);
            ApplyDoneLocked(d->id, d->recipients);
          }
        });

    if (!scan.header_ok) {
      segments_.erase(number);
      if (last && data.size() <= kSegmentHeaderSize) {
        // Created, but its first batch never completed: nothing in it was acknowledged.
        LogWarn("spool: removing torn new segment", {{"path", path}});
        if (!options_.read_only) {
          RETURN_IF_ERROR(fs_.Remove(path));
          RETURN_IF_ERROR(fs_.SyncDir(dir_));
        }
        continue;
      }
      ++stats_.corrupt_segments;
      stats_.corrupt_bytes += data.size();
      LogError("spool: segment has a bad header; set aside",
               {{"path", path}, {"bytes", std::to_string(data.size())}});
      if (!options_.read_only) {
        RETURN_IF_ERROR(fs_.Rename(path, path + ".corrupt"));
        RETURN_IF_ERROR(fs_.SyncDir(dir_));
      }
      continue;
    }
    seg.salt = scan.salt;
    seg.size = scan.tail_offset;
    const uint64_t bad = scan.corrupt_regions + scan.malformed_records;
    if (bad > 0) {
      stats_.corrupt_regions += bad;
      stats_.corrupt_bytes += scan.corrupt_bytes;
      LogError("spool: skipped corrupt records (data loss)",
               {{"path", path},
                {"regions", std::to_string(bad)},
                {"bytes", std::to_string(scan.corrupt_bytes)}});
    }
    if (scan.tail_bytes > 0) {
      if (last) {
        // A torn or unsynced tail of the newest segment: never acknowledged.
        stats_.truncated_bytes += scan.tail_bytes;
        LogWarn("spool: truncating torn tail", {{"path", path},
                                                {"offset", std::to_string(scan.tail_offset)},
                                                {"bytes", std::to_string(scan.tail_bytes)}});
        if (!options_.read_only) {
          RETURN_IF_ERROR(fs_.Truncate(path, scan.tail_offset));
        }
      } else {
        ++stats_.corrupt_regions;
        stats_.corrupt_bytes += scan.tail_bytes;
        LogError("spool: corrupt end of an older segment (data loss)",
                 {{"path", path}, {"bytes", std::to_string(scan.tail_bytes)}});
      }
    }
  }
  if (!options_.read_only) {
    DeleteDeadSegments();
    if (const char* reason = unhealthy_.load()) {
      return UnavailableError(reason);
    }
  }
  return Status::Ok();
}

void LogSpool::ApplyMessageLocked(std::string_view id, uint32_t recipient_count, uint64_t segment,
                                  uint64_t offset, uint64_t length) {
  auto [it, inserted] = index_.try_emplace(std::string(id));
  Entry& e = it->second;
  if (!inserted && !e.pending) {
    // A newer copy of a message already indexed (copied forward): keep its done marks.
    auto old = segments_.find(e.segment);
    if (old != segments_.end()) {
      old->second.live -= std::min<uint64_t>(old->second.live, 1);
      old->second.live_bytes -= std::min(old->second.live_bytes, e.length);
    }
  } else {
    e.done.clear();
    e.done_count = 0;
  }
  e.pending = false;
  e.segment = segment;
  e.offset = offset;
  e.length = length;
  e.recipient_count = recipient_count;
  if (e.done.size() != recipient_count) {
    e.done.resize(recipient_count, false);
    e.done_count = static_cast<uint32_t>(std::count(e.done.begin(), e.done.end(), true));
  }
  Segment& seg = segments_[segment];
  ++seg.live;
  seg.live_bytes += length;
}

void LogSpool::ApplyDoneLocked(std::string_view id, const std::vector<uint32_t>& recipients) {
  auto it = index_.find(std::string(id));
  if (it == index_.end() || it->second.pending) {
    return;  // a mark for a message already gone (or whose segment was deleted)
  }
  Entry& e = it->second;
  for (uint32_t r : recipients) {
    if (r < e.recipient_count && !e.done[r]) {
      e.done[r] = true;
      ++e.done_count;
    }
  }
  if (e.done_count >= e.recipient_count) {
    auto seg = segments_.find(e.segment);
    if (seg != segments_.end()) {
      seg->second.live -= std::min<uint64_t>(seg->second.live, 1);
      seg->second.live_bytes -= std::min(seg->second.live_bytes, e.length);
    }
    index_.erase(it);
  }
}

void LogSpool::MarkUnhealthy(const char* reason, const Status& cause) {
  const char* expected = nullptr;
  if (unhealthy_.compare_exchange_strong(expected, reason)) {
    LogError("spool: unhealthy; refusing new messages",
             {{"reason", reason}, {"cause", cause.ToString()}});
  }
}

const char* LogSpool::UnhealthyReason() const { return unhealthy_.load(); }

Status LogSpool::StartSegment() {
  const uint64_t number = next_segment_++;
  const std::string path = SegmentPath(number);
  StatusOr<FilePtr> file = fs_.Open(path, OpenMode::kAppend);
  if (!file.ok()) {
    MarkUnhealthy("spool segment create failed", file.status());
    return UnavailableError(std::string("spool segment create failed: ") + file.status().message());
  }
  StatusOr<uint64_t> size = (*file)->Size();
  if (!size.ok() || *size != 0) {
    Status cause = size.ok() ? InternalError(path + " already has data") : size.status();
    MarkUnhealthy("spool segment create failed", cause);
    return UnavailableError("spool segment create failed: " + cause.message());
  }
  active_ = std::move(file).value();
  active_number_ = number;
  active_salt_ = RandomSalt();
  active_size_ = 0;
  rolled_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  Segment& seg = segments_[number];
  seg.number = number;
  seg.path = path;
  seg.salt = active_salt_;
  return Status::Ok();
}

Status LogSpool::WriteRecords(std::span<WriteRequest* const> records) {
  if (const char* reason = unhealthy_.load()) {
    return UnavailableError(reason);
  }
  uint64_t total = 0;
  for (const WriteRequest* r : records) {
    total += r->record_size();
  }
  if (!active_ ||
      (active_size_ > kSegmentHeaderSize && active_size_ + total > options_.segment_bytes)) {
    RETURN_IF_ERROR(StartSegment());
  }
  const bool new_file = active_size_ == 0;
  std::vector<std::string_view> parts;
  parts.reserve(1 + 3 * records.size());
  std::string seg_header;
  uint64_t offset = active_size_;
  if (new_file) {
    seg_header = EncodeSegmentHeader(active_salt_);
    parts.push_back(seg_header);
    offset = seg_header.size();
  }
  for (WriteRequest* r : records) {
    const uint64_t payload = r->prefix.size() + r->body.size();
    r->header =
        EncodeRecordHeader(active_salt_, r->type, static_cast<uint32_t>(payload), r->payload_crc);
    r->segment = active_number_;
    r->offset = offset;
    offset += kRecordHeaderSize + payload;
    parts.push_back(r->header);
    parts.push_back(r->prefix);
    parts.push_back(r->body);
  }

  Status s = active_->Append(parts);
  if (!s.ok()) {
    MarkUnhealthy("spool write failed", s);
    return UnavailableError("spool write failed: " + s.message());
  }
  s = active_->Sync();
  if (!s.ok()) {
    // fsyncgate: the kernel may have dropped the dirty pages; never retry and hope.
    MarkUnhealthy("spool fdatasync failed", s);
    return UnavailableError("spool fdatasync failed: " + s.message());
  }
  if (new_file) {
    s = fs_.SyncDir(dir_);
    if (!s.ok()) {
      MarkUnhealthy("spool directory fsync failed", s);
      return UnavailableError("spool directory fsync failed: " + s.message());
    }
  }
  active_size_ = offset;

  std::lock_guard<std::mutex> lock(mu_);
  segments_[active_number_].size = offset;
  ++stats_.batches;
  stats_.records_written += records.size();
  for (const WriteRequest* r : records) {
    if (r->type == RecordType::kMessage) {
      ApplyMessageLocked(r->id, r->recipient_count, r->segment, r->offset, r->record_size());
    } else {
      ApplyDoneLocked(r->id, r->recipients);
    }
  }
  return Status::Ok();
}

void LogSpool::CommitBatch(std::span<GroupCommitter::Request* const> batch) {
  std::vector<WriteRequest*> records;
  records.reserve(batch.size());
  for (GroupCommitter::Request* r : batch) {
    records.push_back(static_cast<WriteRequest*>(r));
  }
  Status s = WriteRecords(records);
  for (GroupCommitter::Request* r : batch) {
    r->status = s;
  }
}

void LogSpool::AfterBatch() {
  if (rolled_) {
    rolled_ = false;
    RelocateOldestIfSparse();
  }
  DeleteDeadSegments();
}

void LogSpool::DeleteDeadSegments() {
  while (unhealthy_.load() == nullptr) {
    std::string path;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (segments_.empty()) {
        return;
      }
      const Segment& oldest = segments_.begin()->second;
      if (oldest.live > 0 || (active_ && oldest.number == active_number_)) {
        return;
      }
      path = oldest.path;
      segments_.erase(segments_.begin());
      ++stats_.deleted_segments;
    }
    // One at a time, each removal made durable before the next, so that a crash can never
    // keep an older segment while losing a newer one (whose DONE records it may need).
    Status s = fs_.Remove(path);
    if (s.ok() || s.code() == StatusCode::kNotFound) {
      s = fs_.SyncDir(dir_);
    }
    if (!s.ok()) {
      MarkUnhealthy("spool segment delete failed", s);
      return;
    }
  }
}

void LogSpool::RelocateOldestIfSparse() {
  struct Live {
    std::string id;
    uint64_t offset;
    uint64_t length;
    std::vector<uint32_t> done;
  };
  uint64_t number = 0;
  std::vector<Live> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.compact_live_fraction <= 0 || segments_.size() < 2) {
      return;
    }
    const Segment& oldest = segments_.begin()->second;
    if (oldest.number == active_number_ || oldest.live == 0 ||
        static_cast<double>(oldest.live_bytes) >
            options_.compact_live_fraction * static_cast<double>(oldest.size)) {
      return;
    }
    number = oldest.number;
    for (const auto& [id, e] : index_) {
      if (e.segment != number || e.pending) {
        continue;
      }
      Live l{id, e.offset, e.length, {}};
      for (uint32_t r = 0; r < e.recipient_count; ++r) {
        if (e.done[r]) {
          l.done.push_back(r);
        }
      }
      live.push_back(std::move(l));
    }
  }
  std::sort(live.begin(), live.end(),
            [](const Live& a, const Live& b) { return a.offset < b.offset; });

  std::vector<std::unique_ptr<WriteRequest>> owned;
  std::vector<WriteRequest*> batch;
  uint64_t batch_bytes = 0;
  auto flush = [&]() -> bool {
    if (batch.empty()) {
      return true;
    }
    Status s = WriteRecords(batch);
    batch.clear();
    owned.clear();
    batch_bytes = 0;
    return s.ok();
  };
  uint64_t moved = 0;
  for (const Live& l : live) {
    uint32_t salt = 0;
    StatusOr<std::string> payload = ReadRecord(number, l.offset, l.length, &salt);
    if (!payload.ok() && payload.status().code() != StatusCode::kDataLoss) {
      LogWarn("spool: compaction stopped", {{"error", payload.status().ToString()}});
      return;  // an I/O error, not a bad record: try again at the next rollover
    }
    std::optional<MessageView> m;
    if (payload.ok()) {
      m = DecodeMessagePayload(*payload);
    }
    if (!m || m->id != l.id) {
      // Unreadable: it can never be delivered; drop it so the segment can go.
      LogError("spool: dropping unreadable message while compacting", {{"id", l.id}});
      std::lock_guard<std::mutex> lock(mu_);
      auto it = index_.find(l.id);
      if (it != index_.end() && it->second.segment == number) {
        Segment& seg = segments_[number];
        seg.live -= std::min<uint64_t>(seg.live, 1);
        seg.live_bytes -= std::min(seg.live_bytes, it->second.length);
        index_.erase(it);
      }
      continue;
    }
    auto msg = std::make_unique<WriteRequest>();
    msg->type = RecordType::kMessage;
    msg->id = l.id;
    msg->recipient_count = m->recipient_count;
    msg->prefix = EncodeMessagePrefix(m->id, m->recipient_count, m->envelope);
    msg->owned_body.assign(m->body);
    msg->body = msg->owned_body;
    msg->payload_crc = Crc32c(msg->body, Crc32c(msg->prefix));
    batch_bytes += msg->record_size();
    batch.push_back(msg.get());
    owned.push_back(std::move(msg));
    if (!l.done.empty()) {
      auto done = std::make_unique<WriteRequest>();
      done->type = RecordType::kDone;
      done->id = l.id;
      done->recipients = l.done;
      done->prefix = EncodeDonePayload(l.id, l.done);
      done->payload_crc = Crc32c(done->prefix);
      batch_bytes += done->record_size();
      batch.push_back(done.get());
      owned.push_back(std::move(done));
    }
    ++moved;
    if (batch_bytes >= options_.max_batch_bytes && !flush()) {
      return;
    }
  }
  if (!flush()) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.relocated_messages += moved;
}

StatusOr<std::string> LogSpool::ReadRecord(uint64_t segment, uint64_t offset, uint64_t length,
                                           uint32_t* salt) {
  std::shared_ptr<File> reader;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = segments_.find(segment);
    if (it == segments_.end()) {
      return NotFoundError("segment gone");
    }
    Segment& seg = it->second;
    if (!seg.reader) {
      ASSIGN_OR_RETURN(FilePtr f, fs_.Open(seg.path, OpenMode::kRead));
      seg.reader = std::move(f);
    }
    reader = seg.reader;
    *salt = seg.salt;
  }
  std::string buf(length, '\0');
  ASSIGN_OR_RETURN(size_t n, reader->ReadAt(offset, length, buf.data()));
  std::optional<RecordView> rec;
  if (n == length) {
    rec = DecodeRecordAt(buf, *salt);
  }
  if (!rec || rec->total_size != length || rec->type != RecordType::kMessage) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.corrupt_regions;
    stats_.corrupt_bytes += length;
    return DataLossError("spool record at segment " + std::to_string(segment) + " offset " +
                         std::to_string(offset) + " fails its checksum");
  }
  return std::string(rec->payload);
}

Status LogSpool::Store(const SpoolRecord& record) {
  if (options_.read_only) {
    return FailedPreconditionError("spool is open read-only");
  }
  if (const char* reason = unhealthy_.load()) {
    return UnavailableError(reason);
  }
  if (record.id.empty() || record.id.size() > kMaxIdBytes) {
    return InvalidArgumentError("spool id must be 1..255 bytes");
  }
  if (record.recipient_count == 0 || record.recipient_count > kMaxRecipients) {
    return InvalidArgumentError("spool recipient_count out of range");
  }
  const uint64_t size =
      kRecordHeaderSize + 1 + record.id.size() + 8 + record.envelope.size() + record.body.size();
  if (size > options_.max_record_bytes) {
    return InvalidArgumentError("spool record of " + std::to_string(size) +
                                " bytes exceeds the limit of " +
                                std::to_string(options_.max_record_bytes));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = index_.try_emplace(record.id);
    if (!inserted) {
      return AlreadyExistsError("spool already holds message " + record.id);
    }
    it->second.pending = true;
  }
  WriteRequest req;
  req.type = RecordType::kMessage;
  req.id = record.id;
  req.recipient_count = record.recipient_count;
  req.prefix = EncodeMessagePrefix(record.id, record.recipient_count, record.envelope);
  req.body = record.body;
  req.payload_crc = Crc32c(req.body, Crc32c(req.prefix));
  req.bytes = req.record_size();
  Status s = committer_.Commit(&req);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(record.id);
    if (it != index_.end() && it->second.pending) {
      index_.erase(it);
    }
  }
  return s;
}

Status LogSpool::MarkDone(std::string_view id, const std::vector<uint32_t>& recipients) {
  return MarkDoneMany({DoneMark{std::string(id), recipients}});
}

Status LogSpool::MarkDoneMany(const std::vector<DoneMark>& marks) {
  if (options_.read_only) {
    return FailedPreconditionError("spool is open read-only");
  }
  if (const char* reason = unhealthy_.load()) {
    return UnavailableError(reason);
  }
  // Validate everything first: a bad mark changes nothing.
  std::vector<std::vector<uint32_t>> fresh(marks.size());
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t m = 0; m < marks.size(); ++m) {
      auto it = index_.find(marks[m].id);
      if (it == index_.end() || it->second.pending) {
        return NotFoundError("spool holds no live message " + marks[m].id);
      }
      const Entry& e = it->second;
      for (uint32_t r : marks[m].recipients) {
        if (r >= e.recipient_count) {
          return InvalidArgumentError("recipient index " + std::to_string(r) + " out of range");
        }
        if (!e.done[r]) {
          fresh[m].push_back(r);
        }
      }
    }
  }
  std::deque<WriteRequest> reqs;  // requests hold a condition variable: never moved
  for (size_t m = 0; m < marks.size(); ++m) {
    std::vector<uint32_t>& f = fresh[m];
    std::sort(f.begin(), f.end());
    f.erase(std::unique(f.begin(), f.end()), f.end());
    if (f.empty()) {
      continue;
    }
    WriteRequest& req = reqs.emplace_back();
    req.type = RecordType::kDone;
    req.id = marks[m].id;
    req.prefix = EncodeDonePayload(req.id, f);
    req.recipients = std::move(f);
    req.payload_crc = Crc32c(req.prefix);
    req.bytes = req.record_size();
  }
  if (reqs.empty()) {
    return Status::Ok();
  }
  std::vector<GroupCommitter::Request*> ptrs;
  ptrs.reserve(reqs.size());
  for (WriteRequest& r : reqs) {
    ptrs.push_back(&r);
  }
  return committer_.CommitAll(ptrs);
}

StatusOr<SpoolRecord> LogSpool::Read(std::string_view id) {
  // A concurrent compaction may move the message between lookup and read: retry once.
  for (int attempt = 0; attempt < 3; ++attempt) {
    uint64_t segment = 0;
    uint64_t offset = 0;
    uint64_t length = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = index_.find(std::string(id));
      if (it == index_.end() || it->second.pending) {
        return NotFoundError("spool holds no live message " + std::string(id));
      }
      segment = it->second.segment;
      offset = it->second.offset;
      length = it->second.length;
    }
    uint32_t salt = 0;
    StatusOr<std::string> payload = ReadRecord(segment, offset, length, &salt);
    if (!payload.ok()) {
      if (payload.status().code() == StatusCode::kNotFound) {
        continue;
      }
      return payload.status();
    }
    std::optional<MessageView> m = DecodeMessagePayload(*payload);
    if (!m || m->id != id) {
      return DataLossError("spool record for " + std::string(id) + " is malformed");
    }
    SpoolRecord out;
    out.id = std::string(m->id);
    out.recipient_count = m->recipient_count;
    out.envelope = std::string(m->envelope);
    out.body = std::string(m->body);
    return out;
  }
  return UnavailableError("spool message " + std::string(id) + " kept moving");
}

StatusOr<std::vector<RecoveredMessage>> LogSpool::Recover() {
  struct Loc {
    uint64_t segment;
    uint64_t offset;
    uint64_t length;
    RecoveredMessage msg;
  };
  std::vector<Loc> locs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    locs.reserve(index_.size());
    for (const auto& [id, e] : index_) {
      if (e.pending) {
        continue;
      }
      Loc l{e.segment, e.offset, e.length, {}};
      l.msg.id = id;
      l.msg.recipient_count = e.recipient_count;
      for (uint32_t r = 0; r < e.recipient_count; ++r) {
        if (e.done[r]) {
          l.msg.done.push_back(r);
        }
      }
      locs.push_back(std::move(l));
    }
  }
  std::sort(locs.begin(), locs.end(), [](const Loc& a, const Loc& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
  });
  std::vector<RecoveredMessage> out;
  out.reserve(locs.size());
  for (Loc& l : locs) {
    uint32_t salt = 0;
    StatusOr<std::string> payload = ReadRecord(l.segment, l.offset, l.length, &salt);
    if (!payload.ok()) {
      if (payload.status().code() == StatusCode::kDataLoss) {
        LogError("spool: message unreadable at recovery",
                 {{"id", l.msg.id}, {"error", payload.status().ToString()}});
        continue;
      }
      return payload.status();
    }
    std::optional<MessageView> m = DecodeMessagePayload(*payload);
    if (!m || m->id != l.msg.id) {
      continue;
    }
    l.msg.envelope.assign(m->envelope);
    out.push_back(std::move(l.msg));
  }
  return out;
}

LogSpoolStats LogSpool::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  LogSpoolStats s = stats_;
  s.segments = segments_.size();
  s.live_messages = 0;
  for (const auto& [n, seg] : segments_) {
    s.live_messages += seg.live;
  }
  return s;
}

}  // namespace herald::spool
