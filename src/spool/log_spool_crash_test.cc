// Power-loss tests: every acknowledged Store()/MarkDone() must survive a crash at any point.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "spool/log_spool.h"
#include "tests/fakes/faulty_fs.h"

namespace herald::spool {
namespace {

constexpr char kDir[] = "/spool";

SpoolRecord Rec(const std::string& id, uint32_t rcpts, size_t body_bytes) {
  SpoolRecord r;
  r.id = id;
  r.recipient_count = rcpts;
  r.envelope = "env:" + id;
  r.body = std::string(body_bytes, static_cast<char>('A' + id.size() % 26)) + id;
  return r;
}

LogSpoolOptions Opts(FaultyFs* fs) {
  LogSpoolOptions o;
  o.fs = fs;
  o.segment_bytes = 16 << 10;  // small: rollover, deletion and compaction all happen
  o.compact_live_fraction = 0.5;
  return o;
}

// What the test has been told is durable.
struct Ledger {
  std::mutex mu;
  std::map<std::string, SpoolRecord> attempted;    // every Store() tried
  std::set<std::string> stored;                    // Store() returned OK
  std::map<std::string, std::set<uint32_t>> done;  // MarkDone() returned OK
  // MarkDone() tried: a failed call may still have reached the disk.
  std::map<std::string, std::set<uint32_t>> tried;
};

void CheckRecovered(LogSpool& spool, Ledger& ledger, const std::string& label) {
  auto rec = spool.Recover();
  ASSERT_TRUE(rec.ok()) << label << rec.status().ToString();
  std::map<std::string, RecoveredMessage> got;
  for (auto& m : *rec) {
    got[m.id] = m;
  }
  for (const std::string& id : ledger.stored) {
    const SpoolRecord& want = ledger.attempted.at(id);
    const std::set<uint32_t>& done = ledger.done[id];
    auto it = got.find(id);
    if (done.size() == want.recipient_count) {
      EXPECT_EQ(it, got.end()) << label << ": fully done message came back: " << id;
      continue;
    }
    if (ledger.tried[id].size() == want.recipient_count) {
      continue;  // may or may not be there
    }
    ASSERT_NE(it, got.end()) << label << ": acknowledged message lost: " << id;
    std::set<uint32_t> have(it->second.done.begin(), it->second.done.end());
    for (uint32_t r : done) {
      EXPECT_TRUE(have.count(r)) << label << ": done mark lost for " << id << "/" << r;
    }
  }
  for (const auto& [id, m] : got) {
    auto it = ledger.attempted.find(id);
    ASSERT_NE(it, ledger.attempted.end()) << label << ": invented message " << id;
    EXPECT_EQ(m.envelope, it->second.envelope) << label;
    EXPECT_EQ(m.recipient_count, it->second.recipient_count) << label;
    auto body = spool.ReadBody(id);
    ASSERT_TRUE(body.ok()) << label << body.status().ToString();
    EXPECT_EQ(*body, it->second.body) << label << ": " << id;
  }
}

void DumpForDebug(FaultyFs& fs) {
  for (const std::string& name : fs.ListForTest(kDir)) {
    std::string data = *fs.ContentsForTest(std::string(kDir) + "/" + name);
    std::string line = name + " (" + std::to_string(data.size()) + "):";
    ScanSegment(data, [&](RecordType type, uint64_t off, uint64_t, std::string_view p) {
      if (type == RecordType::kMessage) {
        line += " M:" + std::string(DecodeMessagePayload(p)->id) + "@" + std::to_string(off);
      } else {
        auto d = DecodeDonePayload(p);
        line += " D:" + std::string(d->id) + "[";
        for (uint32_t r : d->recipients) line += std::to_string(r);
        line += "]";
      }
    });
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

TEST(LogSpoolCrashTest, AcknowledgedWritesSurviveRandomCrashPointsWithConcurrentWriters) {
  constexpr int kRuns = 120;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  const char* only = std::getenv("SPOOL_CRASH_RUN");
  for (int run = only ? std::atoi(only) : 0; run < (only ? std::atoi(only) + 1 : kRuns); ++run) {
    std::mt19937_64 rng(run);
    FaultyFs fs;
    Ledger ledger;
    const std::string label = "run " + std::to_string(run);
    {
      auto opened = LogSpool::Open(kDir, Opts(&fs));
      ASSERT_TRUE(opened.ok());
      LogSpool& spool = **opened;
      // Half of the runs drop every unsynced byte; half keep a torn, possibly garbled tail.
      fs.CrashAfterOps(static_cast<int64_t>(rng() % 400), run % 2 == 0 ? 0 : rng() | 1);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < kPerThread; ++i) {
            std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
            SpoolRecord r = Rec(id, 1 + i % 3, 500 + 997 * ((t + i) % 5));
            {
              std::lock_guard<std::mutex> l(ledger.mu);
              ledger.attempted[id] = r;
            }
            if (!spool.Store(r).ok()) {
              return;
            }
            {
              std::lock_guard<std::mutex> l(ledger.mu);
              ledger.stored.insert(id);
            }
            // Finish most messages, some in two steps; leave every fourth one live.
            if (i % 4 == 3) {
              continue;
            }
            for (uint32_t k = 0; k < r.recipient_count; ++k) {
              {
                std::lock_guard<std::mutex> l(ledger.mu);
                ledger.tried[id].insert(k);
              }
              if (!spool.MarkDone(id, {k}).ok()) {
                return;
              }
              std::lock_guard<std::mutex> l(ledger.mu);
              ledger.done[id].insert(k);
            }
          }
        });
      }
      for (auto& th : threads) {
        th.join();
      }
      if (!fs.crashed()) {
        fs.Crash(run % 2 == 0 ? 0 : rng() | 1);
      }
    }
    fs.Restart();
    auto reopened = LogSpool::Open(kDir, Opts(&fs));
    ASSERT_TRUE(reopened.ok()) << label << reopened.status().ToString();
    CheckRecovered(**reopened, ledger, label);
    if (HasFatalFailure() || HasFailure()) {
      DumpForDebug(fs);
      return;
    }
    // The recovered spool accepts new work, and that survives too.
    SpoolRecord extra = Rec("after-crash", 1, 100);
    ledger.attempted[extra.id] = extra;
    ASSERT_TRUE((*reopened)->Store(extra).ok()) << label;
    ledger.stored.insert(extra.id);
    reopened->reset();
    fs.Crash();
    fs.Restart();
    auto third = LogSpool::Open(kDir, Opts(&fs));
    ASSERT_TRUE(third.ok());
    CheckRecovered(**third, ledger, label + " (second crash)");
  }
}

TEST(LogSpoolCrashTest, CrashAtEveryStepOfDeletionAndCompaction) {
  // crash_at -1 is the control run: no crash, and the workload does delete and compact.
  for (int crash_at = -1; crash_at < 120; ++crash_at) {
    FaultyFs fs;
    Ledger ledger;
    const std::string label = "crash_at " + std::to_string(crash_at);
    {
      auto opened = LogSpool::Open(kDir, Opts(&fs));
      ASSERT_TRUE(opened.ok());
      LogSpool& spool = **opened;
      for (int i = 0; i < 24; ++i) {
        std::string id = "m" + std::to_string(i);
        SpoolRecord r = Rec(id, 2, 3000);
        ledger.attempted[id] = r;
        ASSERT_TRUE(spool.Store(r).ok());
        ledger.stored.insert(id);
      }
      fs.CrashAfterOps(crash_at, crash_at % 3 == 0 ? 0 : 1000 + crash_at);
      // Finishing messages deletes segments; storing more rolls and compacts.
      bool alive = true;
      for (int i = 0; i < 24 && alive; ++i) {
        std::string id = "m" + std::to_string(i);
        if (i % 7 == 0) {
          continue;  // keeps a few segments pinned: compaction copies these forward
        }
        for (uint32_t k = 0; k < 2 && alive; ++k) {
          ledger.tried[id].insert(k);
          alive = spool.MarkDone(id, {k}).ok();
          if (alive) {
            ledger.done[id].insert(k);
          }
        }
        std::string more = "n" + std::to_string(i);
        SpoolRecord r = Rec(more, 1, 3000);
        ledger.attempted[more] = r;
        if (alive && (alive = spool.Store(r).ok())) {
          ledger.stored.insert(more);
        }
      }
      if (crash_at < 0) {
        LogSpoolStats st = spool.Stats();
        EXPECT_GT(st.deleted_segments, 0u);
        EXPECT_GT(st.relocated_messages, 0u);
        EXPECT_EQ(spool.UnhealthyReason(), nullptr);
      }
      if (!fs.crashed()) {
        fs.Crash(static_cast<uint64_t>(crash_at + 1));
      }
    }
    fs.Restart();
    auto reopened = LogSpool::Open(kDir, Opts(&fs));
    ASSERT_TRUE(reopened.ok()) << label << reopened.status().ToString();
    CheckRecovered(**reopened, ledger, label);
    if (HasFailure()) {
      DumpForDebug(fs);
      return;
    }
  }
}

}  // namespace
}  // namespace herald::spool
