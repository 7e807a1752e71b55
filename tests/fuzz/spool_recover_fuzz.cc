// spool_recover_fuzz: arbitrary bytes as spool segment files; recovery must never crash,
// read out of bounds, or hand back a message that then fails to read.
//
// Input: byte 0 selects the mode.
//   bit 0: prepend a valid segment header (salt 0x5eed) to the raw bytes;
//   bit 1: "structured": the rest is a list of [type:u8][len:u8][payload] items, each
//          encoded as a record with valid CRCs (so payload decoding is fuzzed too);
//   bit 2: also put a second, empty-but-valid segment after it (the first is then not the
//          newest: its bad regions are counted, not truncated).
//   bit 3: open read-only.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/crypto.h"
#include "base/log.h"
#include "spool/log_spool.h"
#include "spool/segment_format.h"
#include "tests/fakes/faulty_fs.h"

namespace {

using herald::spool::RecordType;

std::string Structured(std::string_view in) {
  std::string seg = herald::spool::EncodeSegmentHeader(0x5eed);
  size_t pos = 0;
  while (pos + 2 <= in.size()) {
    auto type = static_cast<RecordType>(static_cast<uint8_t>(in[pos]) % 3);
    size_t len = std::min<size_t>(static_cast<uint8_t>(in[pos + 1]), in.size() - pos - 2);
    std::string_view payload = in.substr(pos + 2, len);
    seg += herald::spool::EncodeRecordHeader(0x5eed, type, static_cast<uint32_t>(len),
                                             herald::Crc32c(payload));
    seg += payload;
    pos += 2 + len;
  }
  return seg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    herald::SetLogLevel(herald::LogLevel::kError);
    return true;
  }();
  (void)quiet;
  if (size == 0) {
    return 0;
  }
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string segment;
  if (mode & 2) {
    segment = Structured(rest);
  } else {
    segment = (mode & 1) ? herald::spool::EncodeSegmentHeader(0x5eed) : std::string();
    segment.append(rest);
  }

  herald::spool::FaultyFs fs;
  if (!fs.CreateDir("/s").ok()) {
    return 0;
  }
  fs.WriteFileForTest("/s/seg-0000000000000001.log", segment);
  if (mode & 4) {
    fs.WriteFileForTest("/s/seg-0000000000000002.log", herald::spool::EncodeSegmentHeader(7));
  }
  herald::spool::LogSpoolOptions options;
  options.fs = &fs;
  options.segment_bytes = 4096;
  options.read_only = (mode & 8) != 0;
  auto spool = herald::spool::LogSpool::Open("/s", options);
  if (!spool.ok()) {
    return 0;
  }
  auto recovered = (*spool)->Recover();
  if (!recovered.ok()) {
    return 0;
  }
  for (const auto& m : *recovered) {
    auto body = (*spool)->ReadBody(m.id);
    if (!body.ok()) {
      __builtin_trap();  // recovery indexed a record it cannot read back
    }
    if (m.recipient_count == 0 || m.done.size() >= m.recipient_count) {
      __builtin_trap();  // fully done messages must not be reported
    }
  }
  if (!options.read_only) {
    herald::spool::SpoolRecord r;
    r.id = "fuzz-new";
    r.recipient_count = 1;
    r.body = "x";
    if ((*spool)->Store(r).ok() && !(*spool)->ReadBody("fuzz-new").ok()) {
      __builtin_trap();
    }
  }
  return 0;
}
