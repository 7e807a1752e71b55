// spool/segment_format.h: encoding and scanning of spool segment files.
//
// Contract: pure functions over bytes; the grammar is in docs/spool-format.md.
// A segment is a 20-byte header (magic, version, salt, header CRC) followed by records:
//   hcrc:u32 | length:u32 | type:u8 | pcrc:u32 | payload[length]
// pcrc = CRC-32C(payload); hcrc = CRC-32C(length|type|pcrc) seeded with the segment's salt,
// so a record copied into a message body cannot pass for a record of another segment.
// ScanSegment never reads outside the given bytes, never allocates more than the input,
// and reports every region it could not parse. A region with no valid record after it is
// the "tail": recovery truncates it in the last segment (it was never acknowledged).
// Thread-safety: pure, safe from any thread.
// Trust: the input is a file herald wrote, but may be torn, corrupted, or arbitrary
// (fuzzed); nothing is trusted until both CRCs match, and payload fields are bounds-checked.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::spool {

inline constexpr std::string_view kSegmentMagic = "HRLDSPL1";  // 8 bytes
inline constexpr uint32_t kSegmentVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 20;
inline constexpr size_t kRecordHeaderSize = 13;
// Upper bound of a record payload accepted by the scanner.
inline constexpr uint32_t kMaxRecordPayload = 1u << 30;
inline constexpr size_t kMaxIdBytes = 255;
inline constexpr uint32_t kMaxRecipients = 1u << 20;

enum class RecordType : uint8_t {
  kMessage = 1,
  kDone = 2,
};

std::string EncodeSegmentHeader(uint32_t salt);
// The salt, if data starts with a valid header.
std::optional<uint32_t> DecodeSegmentHeader(std::string_view data);

// The 13-byte record header for a payload whose CRC-32C is payload_crc.
std::string EncodeRecordHeader(uint32_t salt, RecordType type, uint32_t length,
                               uint32_t payload_crc);

// MESSAGE payload = prefix + body, where
//   prefix := id_len:u8 id recipient_count:u32 envelope_len:u32 envelope
std::string EncodeMessagePrefix(std::string_view id, uint32_t recipient_count,
                                std::string_view envelope);
// DONE payload := id_len:u8 id count:u32 index:u32{count}
std::string EncodeDonePayload(std::string_view id, const std::vector<uint32_t>& recipients);

struct MessageView {
  std::string_view id;
  uint32_t recipient_count = 0;
  std::string_view envelope;
  std::string_view body;
};
std::optional<MessageView> DecodeMessagePayload(std::string_view payload);

struct DoneView {
  std::string_view id;
  std::vector<uint32_t> recipients;
};
std::optional<DoneView> DecodeDonePayload(std::string_view payload);

// Parses one record at the start of data (data must begin at a record boundary).
// Returns the payload and type if both CRCs match and the record fits.
struct RecordView {
  RecordType type;
  std::string_view payload;
  size_t total_size;  // header + payload
};
std::optional<RecordView> DecodeRecordAt(std::string_view data, uint32_t salt);

struct ScanResult {
  bool header_ok = false;
  uint32_t salt = 0;
  uint64_t corrupt_regions = 0;  // unparseable regions followed by a valid record
  uint64_t corrupt_bytes = 0;
  uint64_t malformed_records = 0;  // CRC-valid records whose payload does not decode
  uint64_t tail_offset = 0;        // end of the last valid record (or header)
  uint64_t tail_bytes = 0;         // bytes after it that are not valid records
};

// Called for each valid record: its type, offset in the segment, total size and payload.
using RecordVisitor =
    std::function<void(RecordType type, uint64_t offset, uint64_t size, std::string_view payload)>;

// Walks a whole segment. After an invalid record it resynchronises by searching, byte by
// byte, for the next offset holding a record whose two CRCs match.
ScanResult ScanSegment(std::string_view data, const RecordVisitor& visit);

}  // namespace herald::spool
