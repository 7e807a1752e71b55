#include "spool/segment_format.h"

#include "base/crypto.h"

namespace herald::spool {
namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}

uint32_t GetU32(std::string_view s, size_t pos) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(s[pos + static_cast<size_t>(i)]);
  }
  return v;
}

// Header CRC: the 9 bytes length|type|pcrc, seeded with the salt.
uint32_t HeaderCrc(uint32_t salt, std::string_view nine_bytes) { return Crc32c(nine_bytes, salt); }

// A cursor over a payload that refuses to read past its end.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool U8(uint8_t* v) {
    if (s_.size() - pos_ < 1) {
      return false;
    }
    *v = static_cast<uint8_t>(s_[pos_++]);
    return true;
  }
  bool U32(uint32_t* v) {
    if (s_.size() - pos_ < 4) {
      return false;
    }
    *v = GetU32(s_, pos_);
    pos_ += 4;
    return true;
  }
  bool Bytes(size_t n, std::string_view* v) {
    if (s_.size() - pos_ < n) {
      return false;
    }
    *v = s_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view Rest() { return s_.substr(pos_); }
  size_t remaining() const { return s_.size() - pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::string EncodeSegmentHeader(uint32_t salt) {
  std::string h(kSegmentMagic);
  PutU32(&h, kSegmentVersion);
  PutU32(&h, salt);
  PutU32(&h, Crc32c(h));
  return h;
}

std::optional<uint32_t> DecodeSegmentHeader(std::string_view data) {
  if (data.size() < kSegmentHeaderSize || data.substr(0, kSegmentMagic.size()) != kSegmentMagic) {
    return std::nullopt;
  }
  if (GetU32(data, 8) != kSegmentVersion || GetU32(data, 16) != Crc32c(data.substr(0, 16))) {
    return std::nullopt;
  }
  return GetU32(data, 12);
}

std::string EncodeRecordHeader(uint32_t salt, RecordType type, uint32_t length,
                               uint32_t payload_crc) {
  std::string nine;
  PutU32(&nine, length);
  nine.push_back(static_cast<char>(type));
  PutU32(&nine, payload_crc);
  std::string h;
  h.reserve(kRecordHeaderSize);
  PutU32(&h, HeaderCrc(salt, nine));
  h += nine;
  return h;
}

std::string EncodeMessagePrefix(std::string_view id, uint32_t recipient_count,
                                std::string_view envelope) {
  std::string p;
  p.reserve(1 + id.size() + 8 + envelope.size());
  p.push_back(static_cast<char>(static_cast<uint8_t>(id.size())));
  p.append(id);
  PutU32(&p, recipient_count);
  PutU32(&p, static_cast<uint32_t>(envelope.size()));
  p.append(envelope);
  return p;
}

std::string EncodeDonePayload(std::string_view id, const std::vector<uint32_t>& recipients) {
  std::string p;
  p.reserve(1 + id.size() + 4 + 4 * recipients.size());
  p.push_back(static_cast<char>(static_cast<uint8_t>(id.size())));
  p.append(id);
  PutU32(&p, static_cast<uint32_t>(recipients.size()));
  for (uint32_t r : recipients) {
    PutU32(&p, r);
  }
  return p;
}

std::optional<MessageView> DecodeMessagePayload(std::string_view payload) {
  Reader r(payload);
  MessageView m;
  uint8_t id_len = 0;
  uint32_t env_len = 0;
  if (!r.U8(&id_len) || id_len == 0 || !r.Bytes(id_len, &m.id) || !r.U32(&m.recipient_count) ||
      m.recipient_count == 0 || m.recipient_count > kMaxRecipients || !r.U32(&env_len) ||
      !r.Bytes(env_len, &m.envelope)) {
    return std::nullopt;
  }
  m.body = r.Rest();
  return m;
}

std::optional<DoneView> DecodeDonePayload(std::string_view payload) {
  Reader r(payload);
  DoneView d;
  uint8_t id_len = 0;
  uint32_t count = 0;
  if (!r.U8(&id_len) || id_len == 0 || !r.Bytes(id_len, &d.id) || !r.U32(&count) ||
      count > kMaxRecipients || r.remaining() != 4ull * count) {
    return std::nullopt;
  }
  d.recipients.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    r.U32(&d.recipients[i]);
  }
  return d;
}

std::optional<RecordView> DecodeRecordAt(std::string_view data, uint32_t salt) {
  if (data.size() < kRecordHeaderSize) {
    return std::nullopt;
  }
  if (GetU32(data, 0) != HeaderCrc(salt, data.substr(4, 9))) {
    return std::nullopt;
  }
  uint32_t length = GetU32(data, 4);
  if (length > kMaxRecordPayload || length > data.size() - kRecordHeaderSize) {
    return std::nullopt;
  }
  std::string_view payload = data.substr(kRecordHeaderSize, length);
  if (Crc32c(payload) != GetU32(data, 9)) {
    return std::nullopt;
  }
  return RecordView{static_cast<RecordType>(static_cast<uint8_t>(data[8])), payload,
                    kRecordHeaderSize + length};
}

ScanResult ScanSegment(std::string_view data, const RecordVisitor& visit) {
  ScanResult res;
  std::optional<uint32_t> salt = DecodeSegmentHeader(data);
  if (!salt) {
    res.tail_bytes = data.size();
    return res;
  }
  res.header_ok = true;
  res.salt = *salt;
  size_t pos = kSegmentHeaderSize;
  res.tail_offset = pos;
  std::optional<size_t> bad_start;  // start of the current unparseable region
  while (pos < data.size()) {
    std::optional<RecordView> rec = DecodeRecordAt(data.substr(pos), *salt);
    if (!rec) {
      if (!bad_start) {
        bad_start = pos;
      }
      // If the header is intact only the payload is bad, and the length can be trusted;
      // otherwise resynchronise byte by byte.
      std::string_view rest = data.substr(pos);
      uint32_t length = rest.size() >= kRecordHeaderSize ? GetU32(rest, 4) : 0;
      if (rest.size() >= kRecordHeaderSize &&
          GetU32(rest, 0) == HeaderCrc(*salt, rest.substr(4, 9)) &&
          length <= rest.size() - kRecordHeaderSize) {
        pos += kRecordHeaderSize + length;
      } else {
        ++pos;
      }
      continue;
    }
    if (bad_start) {
      ++res.corrupt_regions;
      res.corrupt_bytes += pos - *bad_start;
      bad_start.reset();
    }
    bool well_formed = false;
    if (rec->type == RecordType::kMessage) {
      well_formed = DecodeMessagePayload(rec->payload).has_value();
    } else if (rec->type == RecordType::kDone) {
      well_formed = DecodeDonePayload(rec->payload).has_value();
    }
    if (well_formed) {
      visit(rec->type, pos, rec->total_size, rec->payload);
    } else {
      ++res.malformed_records;
    }
    pos += rec->total_size;
    res.tail_offset = pos;
  }
  res.tail_bytes = data.size() - res.tail_offset;
  return res;
}

}  // namespace herald::spool
