#include "spool/segment_format.h"

#include <gtest/gtest.h>

#include "base/crypto.h"

namespace herald::spool {
namespace {

constexpr uint32_t kSalt = 0x12345678;

std::string Record(uint32_t salt, RecordType type, const std::string& payload) {
  return EncodeRecordHeader(salt, type, static_cast<uint32_t>(payload.size()), Crc32c(payload)) +
         payload;
}

std::string Message(const std::string& id, const std::string& body, uint32_t salt = kSalt) {
  return Record(salt, RecordType::kMessage, EncodeMessagePrefix(id, 2, "env:" + id) + body);
}

struct Seen {
  std::vector<std::string> ids;
  std::vector<uint64_t> offsets;
};

ScanResult Scan(const std::string& data, Seen* seen) {
  return ScanSegment(data, [&](RecordType type, uint64_t offset, uint64_t, std::string_view p) {
    if (type == RecordType::kMessage) {
      seen->ids.emplace_back(DecodeMessagePayload(p)->id);
    } else {
      seen->ids.push_back("done:" + std::string(DecodeDonePayload(p)->id));
    }
    seen->offsets.push_back(offset);
  });
}

TEST(SegmentFormatTest, HeaderRoundTripAndRejection) {
  std::string h = EncodeSegmentHeader(kSalt);
  ASSERT_EQ(h.size(), kSegmentHeaderSize);
  EXPECT_EQ(DecodeSegmentHeader(h), std::optional<uint32_t>(kSalt));
  std::string bad = h;
  bad[13] ^= 1;  // salt changed, header CRC no longer matches
  EXPECT_EQ(DecodeSegmentHeader(bad), std::nullopt);
  EXPECT_EQ(DecodeSegmentHeader(h.substr(0, 19)), std::nullopt);
}

TEST(SegmentFormatTest, MessageAndDonePayloadsRoundTrip) {
  std::string p = EncodeMessagePrefix("id-1", 3, "envelope") + "the body";
  auto m = DecodeMessagePayload(p);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, "id-1");
  EXPECT_EQ(m->recipient_count, 3u);
  EXPECT_EQ(m->envelope, "envelope");
  EXPECT_EQ(m->body, "the body");
  std::string done_payload = EncodeDonePayload("id-1", {0, 2});
  auto d = DecodeDonePayload(done_payload);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->id, "id-1");
  EXPECT_EQ(d->recipients, (std::vector<uint32_t>{0, 2}));
  // Truncations are rejected, never over-read.
  std::string done = EncodeDonePayload("x", {1});
  for (size_t n = 0; n < done.size(); ++n) {
    EXPECT_FALSE(DecodeDonePayload(done.substr(0, n))) << n;
  }
  std::string msg = EncodeMessagePrefix("x", 1, "env");
  for (size_t n = 0; n < msg.size(); ++n) {
    EXPECT_FALSE(DecodeMessagePayload(msg.substr(0, n))) << n;
  }
  EXPECT_FALSE(DecodeMessagePayload(EncodeMessagePrefix("x", 0, "")));  // no recipients
}

TEST(SegmentFormatTest, ScanFindsAllRecordsInOrder) {
  std::string seg = EncodeSegmentHeader(kSalt) + Message("a", "body a") +
                    Record(kSalt, RecordType::kDone, EncodeDonePayload("a", {0})) +
                    Message("b", std::string(5000, 'x'));
  Seen seen;
  ScanResult r = Scan(seg, &seen);
  EXPECT_TRUE(r.header_ok);
  EXPECT_EQ(seen.ids, (std::vector<std::string>{"a", "done:a", "b"}));
  EXPECT_EQ(seen.offsets[0], kSegmentHeaderSize);
  EXPECT_EQ(r.tail_offset, seg.size());
  EXPECT_EQ(r.tail_bytes, 0u);
  EXPECT_EQ(r.corrupt_regions, 0u);
}

TEST(SegmentFormatTest, TornTailIsReportedAsTail) {
  std::string good = EncodeSegmentHeader(kSalt) + Message("a", "body a");
  std::string torn = Message("b", "body b");
  for (size_t cut = 1; cut < torn.size(); ++cut) {
    Seen seen;
    ScanResult r = Scan(good + torn.substr(0, cut), &seen);
    EXPECT_EQ(seen.ids, std::vector<std::string>{"a"}) << cut;
    EXPECT_EQ(r.tail_offset, good.size());
    EXPECT_EQ(r.tail_bytes, cut);
    EXPECT_EQ(r.corrupt_regions, 0u);
  }
}

TEST(SegmentFormatTest, FlippedBitAnywhereInAMiddleRecordLosesOnlyThatRecord) {
  std::string a = Message("a", "body a");
  std::string b = Message("b", "body b, a little longer");
  std::string c = Message("c", "body c");
  std::string head = EncodeSegmentHeader(kSalt) + a;
  for (size_t i = 0; i < b.size(); ++i) {
    std::string bad = b;
    bad[i] ^= 0x04;
    Seen seen;
    ScanResult r = Scan(head + bad + c, &seen);
    EXPECT_EQ(seen.ids, (std::vector<std::string>{"a", "c"})) << "byte " << i;
    EXPECT_EQ(r.corrupt_regions, 1u);
    EXPECT_EQ(r.corrupt_bytes, b.size());
    EXPECT_EQ(r.tail_bytes, 0u);
  }
}

TEST(SegmentFormatTest, RecordsFromAnotherSaltAreNotAccepted) {
  // A body that embeds a well-formed record of a different segment is just bytes.
  std::string forged = Message("forged", "evil", /*salt=*/0xdeadbeef);
  std::string seg = EncodeSegmentHeader(kSalt) + forged;
  Seen seen;
  ScanResult r = Scan(seg, &seen);
  EXPECT_TRUE(seen.ids.empty());
  EXPECT_EQ(r.tail_bytes, forged.size());
}

TEST(SegmentFormatTest, GarbageAndZerosNeverYieldRecords) {
  Seen seen;
  ScanResult r = Scan(EncodeSegmentHeader(kSalt) + std::string(4096, '\0'), &seen);
  EXPECT_TRUE(seen.ids.empty());
  EXPECT_EQ(r.tail_bytes, 4096u);
  ScanResult none = Scan("not a segment", &seen);
  EXPECT_FALSE(none.header_ok);
}

}  // namespace
}  // namespace herald::spool
