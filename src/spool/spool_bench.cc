// spool_bench: a manual throughput check of LogSpool group commit on the real disk.
// Usage: spool_bench [dir] [threads] [messages per thread] [body bytes]. Not run by ctest.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "spool/log_spool.h"

int main(int argc, char** argv) {
  using herald::spool::LogSpool;
  std::string dir = argc > 1 ? argv[1] : "/tmp/herald_spool_bench";
  int threads = argc > 2 ? std::atoi(argv[2]) : 32;
  int per_thread = argc > 3 ? std::atoi(argv[3]) : 200;
  size_t body = argc > 4 ? static_cast<size_t>(std::atol(argv[4])) : 5000;
  std::filesystem::remove_all(dir);
  auto spool = LogSpool::Open(dir, herald::spool::LogSpoolOptions{});
  if (!spool.ok()) {
    std::fprintf(stderr, "open: %s\n", spool.status().ToString().c_str());
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        herald::spool::SpoolRecord r;
        r.id = "bench-" + std::to_string(t) + "-" + std::to_string(i);
        r.recipient_count = 1;
        r.envelope = "{\"from\":\"a@example.com\",\"to\":[\"b@example.org\"]}";
        r.body.assign(body, 'x');
        herald::Status s = (*spool)->Store(r);
        if (!s.ok()) {
          std::fprintf(stderr, "store: %s\n", s.ToString().c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& w : workers) {
    w.join();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto st = (*spool)->Stats();
  std::printf("%d threads x %d msgs of %zu bytes: %.0f msgs/s, %llu batches (%.1f records/batch)\n",
              threads, per_thread, body, threads * per_thread / secs,
              static_cast<unsigned long long>(st.batches),
              static_cast<double>(st.records_written) / static_cast<double>(st.batches));
  spool->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
