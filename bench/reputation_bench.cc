// bench/reputation_bench.cc: the measuring half of bench/reputation.sh (issue 5: reputation
// and suppression). One program, one subcommand per measurement; each prints one JSON line
// on stdout and exits non-zero when a check fails (a wrong count, a failed call), so that a
// broken run is never reported as a figure.
//
//   reputation_bench window [--sends N] [--bounces M]
//       The pure RepWindow: records per second for sends and hard bounces, and the cost of
//       Measure() over a full two-year window of hourly buckets.
//   reputation_bench service --dir DIR [--accounts A] [--sends N] [--domains D]
//       [--sim-rate R] [--bounce-permille B] [--complaint-per-100k C] [--outcome-batch K]
//       ReputationService over a real SqliteStore in DIR, driven by a manual clock: N
//       one-recipient sends spread over A accounts at R recipients per simulated second,
//       then the hard bounces and complaints of some of them in batches of K, with Tick()
//       (which saves to SQLite) once per simulated second. Checks the saved buckets.
//   reputation_bench accounts --db PATH --accounts N --keys FILE
//       Creates N accounts with one access key each through SqliteStore; writes
//       "ACCESS_KEY_ID SECRET" lines to FILE.
//   reputation_bench getaccount --endpoints HOST:PORT[,HOST:PORT...] --keys FILE[,FILE...]
//       [--requests N] [--warmup W] [--rounds R] [--seed S] [--region R]
//       Signed SESv2 GetAccount calls (SigV4 as an AWS SDK signs them) to each endpoint in
//       turn, one keep-alive connection each (new ones for each of R rounds), each call
//       with a key picked at random from that endpoint's FILE; N measured calls per
//       endpoint after W unmeasured ones; latency percentiles per endpoint.
//   reputation_bench suppress-load --db PATH --account NAME --entries N [--first I]
//       [--batch B] [--sort-batches 1]
//       PutSuppressedDestinations of addresses I..I+N-1 (see SuppressedAddress) in batches
//       of B (default and maximum 100,000) for the account NAME (created when missing);
//       with --sort-batches 1 each batch is sorted by key first.
//   reputation_bench suppress-lookup --db PATH --account NAME --entries N [--lookups L]
//       FindSuppressedDestinations latency with 1 and 50 recipients, all on the list or
//       none, for a list holding addresses 0..N-1; checks every answer.
//   reputation_bench suppress-csv --first I --entries N --out FILE
//       The CSV `herald suppression import` takes, for addresses I..I+N-1.
//
// Thread-safety: single-threaded.
// Trust: talks only to the endpoints and files it is given; everything it stores is
// generated here. Bench code, never linked into herald.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "auth/sigv4.h"
#include "base/clock.h"
#include "reputation/window.h"
#include "sending/outcome_observer.h"
#include "sending/reputation_service.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace {

using herald::SysTime;
using Json = nlohmann::json;
using Steady = std::chrono::steady_clock;

// ---- small helpers ----------------------------------------------------------------------

// The splitmix64 finaliser: a bijection on 64-bit integers, so distinct inputs give
// distinct outputs (distinct addresses below) in an order unrelated to the input's.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Address number `i` of a suppression list: "s<16 hex digits>@d<n>.example", about 31
// characters, unique per i, keys in random order relative to i (as an imported list is).
std::string SuppressedAddress(uint64_t i) {
  const uint64_t h = Mix(i);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "s%016llx@d%llu.example", static_cast<unsigned long long>(h),
                static_cast<unsigned long long>(h % 5000));
  return buf;
}

double Seconds(Steady::time_point start, Steady::time_point end) {
  return std::chrono::duration<double>(end - start).count();
}

double Millis(Steady::time_point start, Steady::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// Nearest-rank percentile (p in [0, 1]) of `v`, which it reorders.
double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) {
    return 0;
  }
  size_t idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
  return v[idx];
}

double Mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) {
    sum += x;
  }
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"); -1 when unreadable.
int64_t ProcStatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      return std::atoll(line.c_str() + field.size() + 1);
    }
  }
  return -1;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : 0;
}

// Parsed "--name value" pairs; every option takes a value.
class Args {
 public:
  bool Parse(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      if (a.rfind("--", 0) != 0 || i + 1 >= argc) {
        std::cerr << "bad argument: " << a << "\n";
        return false;
      }
      values_[a.substr(2)] = argv[++i];
    }
    return true;
  }
  std::string Str(const std::string& name, const std::string& def = "") {
    used_.push_back(name);
    auto it = values_.find(name);
    return it == values_.end() ? def : it->second;
  }
  int64_t Int(const std::string& name, int64_t def) {
    std::string v = Str(name);
    return v.empty() ? def : std::atoll(v.c_str());
  }
  // False (naming them) when options were given that no Str/Int call asked for.
  bool AllUsed() const {
    bool ok = true;
    for (const auto& [k, v] : values_) {
      if (std::find(used_.begin(), used_.end(), k) == used_.end()) {
        std::cerr << "unknown option --" << k << "\n";
        ok = false;
      }
    }
    return ok;
  }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> used_;
};

int Fail(const std::string& why) {
  std::cerr << "reputation_bench: " << why << "\n";
  return 1;
}

std::unique_ptr<herald::store::SqliteStore> OpenStoreOrDie(const std::string& path) {
  auto st = herald::store::SqliteStore::Open(path);
  if (!st.ok()) {
    std::cerr << "reputation_bench: cannot open " << path << ": " << st.status().ToString() << "\n";
    std::exit(1);
  }
  return std::move(st).value();
}

// A clock that only moves when told to (the benchmark replays simulated time as fast as
// it can). Safe from any thread: the time is one atomic.
class ManualClock final : public herald::Clock {
 public:
  explicit ManualClock(SysTime start) : ns_(start.time_since_epoch().count()) {}
  std::chrono::system_clock::time_point Now() override {
    return SysTime(SysTime::duration(ns_.load()));
  }
  std::chrono::steady_clock::time_point Monotonic() override {
    return Steady::time_point(
        std::chrono::duration_cast<Steady::duration>(SysTime::duration(ns_.load())));
  }
  void Set(SysTime t) { ns_.store(t.time_since_epoch().count()); }

 private:
  std::atomic<SysTime::rep> ns_;
};

// 2026-11-01T00:00:00Z: a fixed start, so that runs are alike.
SysTime SimStart() { return herald::FromUnixMillis(1793491200000LL); }

// ---- window -------------------------------------------------------------------------------

int RunWindow(Args& args) {
  const int64_t sends = args.Int("sends", 10000000);
  const int64_t bounces = args.Int("bounces", 1000000);
  if (!args.AllUsed() || sends <= 0 || bounces < 0 || bounces > sends) {
    return Fail("window: bad arguments");
  }
  using herald::reputation::RepWindow;
  const SysTime start = SimStart();
  // Sends at 1,000 recipients per second: 2.8 hours of traffic, a few hourly buckets.
  auto sent_at = [&](int64_t i) { return start + std::chrono::microseconds(i * 1000); };
  RepWindow w;
  auto t0 = Steady::now();
  for (int64_t i = 0; i < sends; ++i) {
    w.RecordSends(sent_at(i), 1, i % 10 < 3 ? 1 : 0);
  }
  auto t1 = Steady::now();
  int64_t counted = 0;
  for (int64_t j = 0; j < bounces; ++j) {
    counted += w.RecordHardBounce(sent_at(static_cast<int64_t>(Mix(j) % sends))) ? 1 : 0;
  }
  auto t2 = Steady::now();
  int64_t held_sends = 0;
  int64_t held_bounces = 0;
  for (const auto& b : w.buckets()) {
    held_sends += b.sends;
    held_bounces += b.hard_bounces;
  }
  const herald::reputation::WindowPolicy policy;  // N = 10,000, cap 730 days

  // Measure() over the worst case the cap allows: one send in each hour of 730 days, so
  // that reaching 10,000 sends walks 10,000 buckets.
  RepWindow sparse;
  const int64_t hours = 24 * 730;
  for (int64_t h = 0; h < hours; ++h) {
    sparse.RecordSends(start + std::chrono::hours(h), 1, 0);
  }
  const SysTime sparse_now = start + std::chrono::hours(hours);
  std::vector<double> measure_us;
  int64_t covered = 0;
  for (int i = 0; i < 200; ++i) {
    auto m0 = Steady::now();
    covered = sparse.Measure(sparse_now, policy).sends;
    measure_us.push_back(Millis(m0, Steady::now()) * 1000);
  }
  const bool ok = counted == bounces && held_sends == sends && held_bounces == bounces &&
                  covered == policy.representative_sends;
  Json out = {{"sends", sends},
              {"bounces", bounces},
              {"buckets", w.buckets().size()},
              {"record_sends_per_s", static_cast<double>(sends) / Seconds(t0, t1)},
              {"record_bounces_per_s", static_cast<double>(bounces) / Seconds(t1, t2)},
              {"measure_buckets", sparse.buckets().size()},
              {"measure_sends_covered", covered},
              {"measure_us_p50", Percentile(measure_us, 0.5)},
              {"ok", ok}};
  std::cout << out.dump() << std::endl;
  return ok ? 0 : Fail("window: counts do not match");
}

// ---- service ------------------------------------------------------------------------------

const char* const kFblDomains[] = {"fbl-a.example", "fbl-b.example", "fbl-c.example"};

// Send number i: 30 % to the three feedback-loop domains, the rest spread over `domains`.
std::string Recipient(int64_t i, int64_t domains) {
  const uint64_t h = Mix(static_cast<uint64_t>(i) ^ 0x5eedULL);
  if (h % 10 < 3) {
    return "u" + std::to_string(i) + "@" + kFblDomains[h % 3];
  }
  return "u" + std::to_string(i) + "@d" + std::to_string((h >> 8) % domains) + ".example";
}

bool IsFblRecipient(int64_t i) { return Mix(static_cast<uint64_t>(i) ^ 0x5eedULL) % 10 < 3; }

int RunService(Args& args) {
  const std::string dir = args.Str("dir");
  const int64_t accounts = args.Int("accounts", 100);
  const int64_t sends = args.Int("sends", 1000000);
  const int64_t domains = args.Int("domains", 500);
  const int64_t rate = args.Int("sim-rate", 10000);
  const int64_t bounce_permille = args.Int("bounce-permille", 40);
  const int64_t complaint_per_100k = args.Int("complaint-per-100k", 20);
  const int64_t batch = args.Int("outcome-batch", 100);
  if (!args.AllUsed() || dir.empty() || accounts <= 0 || sends <= 0 || domains <= 0 || rate <= 0 ||
      batch <= 0 || bounce_permille < 0 || complaint_per_100k < 0) {
    return Fail("service: bad arguments");
  }
  auto store = OpenStoreOrDie(dir + "/herald.db");
  const SysTime start = SimStart();
  std::vector<int64_t> ids;
  for (int64_t a = 0; a < accounts; ++a) {
    auto acc = store->CreateAccount("rep" + std::to_string(a), start);
    if (!acc.ok()) {
      return Fail("service: create account: " + acc.status().ToString());
    }
    ids.push_back(acc->id);
  }
  herald::sending::ReputationConfig config;
  config.fbl_domains.assign(std::begin(kFblDomains), std::end(kFblDomains));
  ManualClock clock(start);
  herald::sending::ReputationService svc(config, clock, *store, nullptr, nullptr);

  const auto step = std::chrono::nanoseconds(1000000000LL / rate);
  std::vector<double> tick_ms;
  SysTime next_tick = start + std::chrono::seconds(1);
  auto tick = [&](SysTime now) {
    auto k0 = Steady::now();
    svc.Tick(now);
    tick_ms.push_back(Millis(k0, Steady::now()));
  };
  // Advances the simulated clock to `t`, ticking at each simulated second passed.
  auto advance = [&](SysTime t) {
    while (t >= next_tick) {
      clock.Set(next_tick);
      tick(next_tick);
      next_tick += std::chrono::seconds(1);
    }
    clock.Set(t);
  };

  // Phase 1: sends.
  auto s0 = Steady::now();
  for (int64_t i = 0; i < sends; ++i) {
    const SysTime t = start + step * i;
    advance(t);
    herald::sending::SendFacts f;
    f.account_id = ids[static_cast<size_t>(i % accounts)];
    f.message_id = "m" + std::to_string(i);
    f.sent_at = t;
    f.recipients.push_back({Recipient(i, domains), false, false});
    svc.OnSend(f);
  }
  SysTime now = start + step * sends;
  advance(now);
  tick(now);  // saves what the last partial second recorded
  auto s1 = Steady::now();
  const size_t send_ticks = tick_ms.size();
  double send_tick_total = 0;
  for (double ms : tick_ms) {
    send_tick_total += ms;
  }
  std::vector<double> send_tick_ms(tick_ms.begin(), tick_ms.end());

  // Phase 2: outcomes for distinct sends: hard bounces (outside the feedback-loop domains)
  // for bounce_permille of them, complaints for complaint_per_100k of the feedback-loop ones.
  std::vector<herald::sending::OutcomeFacts> all;
  int64_t want_bounces = 0;
  int64_t want_complaints = 0;
  std::vector<int64_t> want_per_account(static_cast<size_t>(accounts) * 2, 0);
  for (int64_t i = 0; i < sends; ++i) {
    const uint64_t r = Mix(static_cast<uint64_t>(i) ^ 0xb0b0ULL) % 100000;
    const bool fbl = IsFblRecipient(i);
    herald::sending::OutcomeFacts o;
    if (!fbl && static_cast<int64_t>(r) < bounce_permille * 100) {
      o.kind = herald::sending::OutcomeFacts::Kind::kHardBounce;
      o.bounce_sub_type = "General";
      o.status = "5.1.1";
      o.diagnostic = "smtp; 550 5.1.1 <" + Recipient(i, domains) + ">: user unknown";
      ++want_bounces;
      ++want_per_account[static_cast<size_t>(i % accounts) * 2];
    } else if (fbl && static_cast<int64_t>(r) < complaint_per_100k) {
      o.kind = herald::sending::OutcomeFacts::Kind::kComplaint;
      o.feedback_type = "abuse";
      ++want_complaints;
      ++want_per_account[static_cast<size_t>(i % accounts) * 2 + 1];
    } else {
      continue;
    }
    o.account_id = ids[static_cast<size_t>(i % accounts)];
    o.message_id = "m" + std::to_string(i);
    o.sent_at = start + step * i;
    o.recipient = Recipient(i, domains);
    o.feedback_id = "f" + std::to_string(i);
    o.sample = "From: sender@bench.example\r\nSubject: bench\r\n\r\nhello";
    all.push_back(std::move(o));
  }
  // They are learned one per simulated step after the last send, in batches of `batch`.
  const int64_t outcomes = static_cast<int64_t>(all.size());
  std::vector<std::vector<herald::sending::OutcomeFacts>> chunks;
  for (int64_t k = 0; k < outcomes; ++k) {
    if (k % batch == 0) {
      chunks.emplace_back();
    }
    all[static_cast<size_t>(k)].at = now + step * k;
    chunks.back().push_back(std::move(all[static_cast<size_t>(k)]));
  }
  tick_ms.clear();
  auto o0 = Steady::now();
  for (size_t c = 0; c < chunks.size(); ++c) {
    advance(now + step * (static_cast<int64_t>(c) * batch));
    svc.OnOutcomes(chunks[c]);
  }
  // The suppression guard holds each hard bounce for guard.window (10 min); the tick after
  // that releases and counts them.
  const SysTime end = now + step * outcomes + config.guard.window + std::chrono::seconds(1);
  clock.Set(end);
  tick(end);
  auto o1 = Steady::now();
  double outcome_tick_total = 0;
  for (double ms : tick_ms) {
    outcome_tick_total += ms;
  }

  // Checks: what the store now holds (the service saved it) is what was recorded.
  int64_t stored_sends = 0;
  int64_t stored_bounces = 0;
  int64_t stored_complaints = 0;
  int64_t accounts_off = 0;
  for (int64_t a = 0; a < accounts; ++a) {
    auto rows = store->LoadRepBuckets(ids[static_cast<size_t>(a)], "");
    if (!rows.ok()) {
      return Fail("service: load buckets: " + rows.status().ToString());
    }
    int64_t b = 0;
    int64_t c = 0;
    for (const auto& row : *rows) {
      stored_sends += row.sends;
      b += row.hard_bounces;
      c += row.complaints;
    }
    stored_bounces += b;
    stored_complaints += c;
    if (b != want_per_account[static_cast<size_t>(a) * 2] ||
        c != want_per_account[static_cast<size_t>(a) * 2 + 1]) {
      ++accounts_off;
    }
  }
  const size_t bursts = svc.SuspectBursts().size();
  const bool ok = stored_sends == sends && stored_bounces == want_bounces &&
                  stored_complaints == want_complaints && accounts_off == 0 && bursts == 0;
  const double send_s = Seconds(s0, s1);
  const double outcome_s = Seconds(o0, o1);
  Json out = {
      {"accounts", accounts},
      {"sends", sends},
      {"domains", domains + 3},
      {"sim_rate", rate},
      {"sends_seconds", send_s},
      {"sends_per_s", static_cast<double>(sends) / send_s},
      {"sends_per_s_without_ticks", static_cast<double>(sends) / (send_s - send_tick_total / 1000)},
      {"send_ticks", send_ticks},
      {"send_tick_ms_mean", send_tick_total / static_cast<double>(send_ticks)},
      {"send_tick_ms_p50", Percentile(send_tick_ms, 0.5)},
      {"send_tick_ms_max", Percentile(send_tick_ms, 1.0)},
      {"outcomes", outcomes},
      {"hard_bounces", want_bounces},
      {"complaints", want_complaints},
      {"outcome_batch", batch},
      {"outcomes_seconds", outcome_s},
      {"outcomes_per_s", static_cast<double>(outcomes) / outcome_s},
      {"outcomes_per_s_without_ticks",
       static_cast<double>(outcomes) / (outcome_s - outcome_tick_total / 1000)},
      {"outcome_ticks", tick_ms.size()},
      {"last_tick_ms", tick_ms.empty() ? 0.0 : tick_ms.back()},
      {"stored_sends", stored_sends},
      {"stored_hard_bounces", stored_bounces},
      {"stored_complaints", stored_complaints},
      {"suspect_bursts", bursts},
      {"db_bytes", FileSize(dir + "/herald.db") + FileSize(dir + "/herald.db-wal")},
      {"ok", ok}};
  std::cout << out.dump() << std::endl;
  return ok ? 0 : Fail("service: stored counts do not match what was recorded");
}

// ---- accounts -----------------------------------------------------------------------------

int RunAccounts(Args& args) {
  const std::string db = args.Str("db");
  const std::string keys_path = args.Str("keys");
  const int64_t n = args.Int("accounts", 0);
  if (!args.AllUsed() || db.empty() || keys_path.empty() || n <= 0 || n > 999999999) {
    return Fail("accounts: bad arguments");
  }
  auto store = OpenStoreOrDie(db);
  std::ofstream keys(keys_path);
  if (!keys) {
    return Fail("accounts: cannot write " + keys_path);
  }
  std::mt19937_64 rng(42);
  const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const SysTime now = std::chrono::system_clock::now();
  auto t0 = Steady::now();
  for (int64_t i = 0; i < n; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "acct%09lld", static_cast<long long>(i));
    auto acc = store->CreateAccount(name, now);
    if (!acc.ok()) {
      return Fail("accounts: " + acc.status().ToString());
    }
    herald::store::AccessKey key;
    char id[32];
    std::snprintf(id, sizeof(id), "AKIAB%015lld", static_cast<long long>(i));
    key.access_key_id = id;
    key.secret.resize(40);
    for (char& c : key.secret) {
      c = alphabet[rng() % 64];
    }
    key.account_id = acc->id;
    key.created = now;
    herald::Status st = store->CreateAccessKey(key);
    if (!st.ok()) {
      return Fail("accounts: " + st.ToString());
    }
    keys << key.access_key_id << " " << key.secret << "\n";
  }
  const double s = Seconds(t0, Steady::now());
  store.reset();  // closes the database (checkpoints the WAL into the file)
  Json out = {{"accounts", n},
              {"seconds", s},
              {"accounts_per_s", static_cast<double>(n) / s},
              {"db_bytes", FileSize(db)}};
  std::cout << out.dump() << std::endl;
  return keys.good() ? 0 : Fail("accounts: writing the keys failed");
}

// ---- getaccount ---------------------------------------------------------------------------

struct Target {
  std::string host;
  int port = 0;
  std::vector<std::pair<std::string, std::string>> keys;  // access key id, secret
  std::unique_ptr<httplib::Client> client;
  std::mt19937_64 rng;
  int64_t ok = 0;
  int64_t failed = 0;
  std::map<std::string, int64_t> failures;  // "status code" or "transport ..." -> count
  std::vector<double> latencies_ms;
};

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    out.push_back(part);
  }
  return out;
}

// One signed GetAccount call to `t` with a random key of its own; records the latency
// (when `record`) and whether the answer was a GetAccount body.
void CallGetAccount(Target& t, const std::string& region, bool record) {
  static const std::string kPath = "/v2/email/account";
  const auto& [id, secret] = t.keys[t.rng() % t.keys.size()];
  const std::string host_header = t.host + ":" + std::to_string(t.port);
  herald::auth::HttpRequestView view;
  view.method = "GET";
  view.target = kPath;
  view.headers = {{"Host", host_header}};
  auto added = herald::auth::SignRequestForTest(view, id, secret, region, "ses",
                                                std::chrono::system_clock::now(), false);
  httplib::Headers headers = {{"Host", host_header}};
  for (auto& [name, value] : added) {
    headers.emplace(name, value);
  }
  const auto start = Steady::now();
  auto res = t.client->Get(kPath.c_str(), headers);
  const double ms = Millis(start, Steady::now());
  if (record) {
    t.latencies_ms.push_back(ms);
  }
  if (!res) {
    ++t.failed;
    ++t.failures["transport " + httplib::to_string(res.error())];
    return;
  }
  if (res->status == 200) {
    Json j = Json::parse(res->body, nullptr, false);
    if (j.is_object() && j.contains("SendQuota") && j.contains("EnforcementStatus")) {
      ++t.ok;
      return;
    }
  }
  ++t.failed;
  ++t.failures[std::to_string(res->status) + " " + res->get_header_value("x-amzn-ErrorType")];
}

// Several herald instances, one keep-alive connection each, called in turn (one call to
// each, then again), so that whatever else the machine does affects them alike.
int RunGetAccount(Args& args) {
  const std::vector<std::string> endpoints = SplitComma(args.Str("endpoints"));
  const std::vector<std::string> key_files = SplitComma(args.Str("keys"));
  const int64_t requests = args.Int("requests", 2000);
  const int64_t warmup = args.Int("warmup", 200);
  const int64_t rounds = args.Int("rounds", 4);
  const int64_t seed = args.Int("seed", 1);
  const std::string region = args.Str("region", "us-east-1");
  if (!args.AllUsed() || endpoints.empty() || endpoints.size() != key_files.size() ||
      requests <= 0 || warmup < 0 || rounds <= 0 || rounds > requests) {
    return Fail("getaccount: bad arguments");
  }
  std::vector<Target> targets(endpoints.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    Target& t = targets[i];
    const size_t colon = endpoints[i].rfind(':');
    if (colon == std::string::npos) {
      return Fail("getaccount: bad endpoint " + endpoints[i]);
    }
    t.host = endpoints[i].substr(0, colon);
    t.port = std::atoi(endpoints[i].c_str() + colon + 1);
    std::ifstream in(key_files[i]);
    std::string id;
    std::string secret;
    while (in >> id >> secret) {
      t.keys.emplace_back(id, secret);
    }
    if (t.keys.empty()) {
      return Fail("getaccount: no keys in " + key_files[i]);
    }
    t.rng.seed(static_cast<uint64_t>(seed) * 1000003 + i);
  }
  // A fresh keep-alive connection to each target (herald serves each on its own thread).
  auto connect = [&]() {
    for (Target& t : targets) {
      t.client = std::make_unique<httplib::Client>(t.host, t.port);
      t.client->set_keep_alive(true);
      t.client->set_tcp_nodelay(true);
      t.client->set_connection_timeout(10);
      t.client->set_read_timeout(60);
    }
  };
  connect();
  for (int64_t i = 0; i < warmup; ++i) {
    for (Target& t : targets) {
      CallGetAccount(t, region, false);
    }
  }
  for (Target& t : targets) {
    if (t.failed > 0) {
      return Fail("getaccount: warm-up calls failed: " + Json(t.failures).dump());
    }
    t.ok = 0;
  }
  // The measured calls go in rounds, each on new connections and with the targets' order
  // reversed every other round, so that where the scheduler happened to put one target's
  // connection thread (next to the client or not) does not decide the comparison.
  for (int64_t round = 0; round < rounds; ++round) {
    if (round > 0) {
      connect();
    }
    const int64_t n = requests / rounds + (round < requests % rounds ? 1 : 0);
    for (int64_t i = 0; i < n; ++i) {
      for (size_t k = 0; k < targets.size(); ++k) {
        CallGetAccount(targets[round % 2 == 0 ? k : targets.size() - 1 - k], region, true);
      }
    }
  }
  Json out = Json::array();
  bool ok = true;
  for (Target& t : targets) {
    ok = ok && t.failed == 0;
    const double mean = Mean(t.latencies_ms);
    out.push_back({{"endpoint", t.host + ":" + std::to_string(t.port)},
                   {"keys", t.keys.size()},
                   {"requests", requests},
                   {"rounds", rounds},
                   {"ok", t.ok},
                   {"failed", t.failed},
                   {"failures", t.failures},
                   {"mean_ms", mean},
                   {"p50_ms", Percentile(t.latencies_ms, 0.50)},
                   {"p90_ms", Percentile(t.latencies_ms, 0.90)},
                   {"p99_ms", Percentile(t.latencies_ms, 0.99)}});
  }
  std::cout << out.dump() << std::endl;
  return ok ? 0 : Fail("getaccount: calls failed");
}

// ---- suppression --------------------------------------------------------------------------

// The account `name`, created when missing; 0 (after saying why) on failure.
int64_t AccountId(herald::store::Store& store, const std::string& name) {
  auto acc = store.GetAccountByName(name);
  if (!acc.ok() && acc.status().code() == herald::StatusCode::kNotFound) {
    acc = store.CreateAccount(name, std::chrono::system_clock::now());
  }
  if (!acc.ok()) {
    std::cerr << "reputation_bench: account " << name << ": " << acc.status().ToString() << "\n";
    return 0;
  }
  return acc->id;
}

int RunSuppressLoad(Args& args) {
  const std::string db = args.Str("db");
  const std::string account = args.Str("account", "bench");
  const int64_t entries = args.Int("entries", 0);
  const int64_t first = args.Int("first", 0);
  const int64_t batch =
      args.Int("batch", static_cast<int64_t>(herald::store::kMaxSuppressionBatch));
  // 1: each batch is sorted by key before the put (what a store could do for its callers).
  const bool sorted = args.Int("sort-batches", 0) != 0;
  if (!args.AllUsed() || db.empty() || entries <= 0 || first < 0 || batch <= 0 ||
      batch > static_cast<int64_t>(herald::store::kMaxSuppressionBatch)) {
    return Fail("suppress-load: bad arguments");
  }
  auto store = OpenStoreOrDie(db);
  const int64_t id = AccountId(*store, account);
  if (id == 0) {
    return 1;
  }
  const SysTime now = std::chrono::system_clock::now();
  // Seconds taken by each successive million (the last one may be partial).
  std::vector<double> per_million;
  double put_seconds = 0;
  double million_seconds = 0;
  int64_t in_million = 0;
  std::vector<herald::store::SuppressedDestination> chunk;
  for (int64_t b = 0; b < entries; b += batch) {
    chunk.clear();
    for (int64_t i = b; i < std::min(entries, b + batch); ++i) {
      herald::store::SuppressedDestination e;
      e.account_id = id;
      e.address = SuppressedAddress(static_cast<uint64_t>(first + i));
      e.reason = (first + i) % 10 == 0 ? herald::store::SuppressionReason::kComplaint
                                       : herald::store::SuppressionReason::kBounce;
      e.last_update = now;
      chunk.push_back(std::move(e));
    }
    const auto t0 = Steady::now();
    if (sorted) {
      std::sort(chunk.begin(), chunk.end(), [](const auto& x, const auto& y) {
        return herald::store::SuppressionKey(x.address) < herald::store::SuppressionKey(y.address);
      });
    }
    herald::Status st = store->PutSuppressedDestinations(chunk);
    const double s = Seconds(t0, Steady::now());
    if (!st.ok()) {
      return Fail("suppress-load: " + st.ToString());
    }
    put_seconds += s;
    million_seconds += s;
    in_million += static_cast<int64_t>(chunk.size());
    if (in_million >= 1000000 || b + batch >= entries) {
      per_million.push_back(million_seconds);
      million_seconds = 0;
      in_million = 0;
    }
  }
  const auto c0 = Steady::now();
  store.reset();  // closes the database: checkpoints the WAL into the file
  const double close_s = Seconds(c0, Steady::now());
  Json out = {{"account", account},
              {"first", first},
              {"entries", entries},
              {"batch", batch},
              {"sorted_batches", sorted},
              {"put_seconds", put_seconds},
              {"close_seconds", close_s},
              {"entries_per_s", static_cast<double>(entries) / put_seconds},
              {"seconds_per_million", per_million},
              {"db_bytes", FileSize(db)},
              {"wal_bytes_after_close", FileSize(db + "-wal")},
              {"rss_kb_peak", ProcStatusKb("VmHWM")}};
  std::cout << out.dump() << std::endl;
  return 0;
}

int RunSuppressLookup(Args& args) {
  const std::string db = args.Str("db");
  const std::string account = args.Str("account", "bench");
  const int64_t entries = args.Int("entries", 0);
  const int64_t lookups = args.Int("lookups", 2000);
  if (!args.AllUsed() || db.empty() || entries <= 0 || lookups <= 0) {
    return Fail("suppress-lookup: bad arguments");
  }
  auto store = OpenStoreOrDie(db);
  auto acc = store->GetAccountByName(account);
  if (!acc.ok()) {
    return Fail("suppress-lookup: account " + account + ": " + acc.status().ToString());
  }
  const int64_t rss_before = ProcStatusKb("VmRSS");
  std::mt19937_64 rng(7);
  auto hit = [&] { return SuppressedAddress(rng() % static_cast<uint64_t>(entries)); };
  // Indexes from 2^40 up were never loaded: a miss (SuppressedAddress is one-to-one).
  auto miss = [&] { return SuppressedAddress((1ULL << 40) + rng() % (1ULL << 40)); };
  struct Case {
    const char* name;
    int recipients;
    bool hits;
  };
  const Case cases[] = {
      {"1_hit", 1, true}, {"1_miss", 1, false}, {"50_hit", 50, true}, {"50_miss", 50, false}};
  Json out = {{"account", account}, {"entries", entries}, {"lookups", lookups}};
  int64_t wrong = 0;
  for (const Case& c : cases) {
    std::vector<double> us;
    us.reserve(static_cast<size_t>(lookups));
    for (int64_t i = 0; i < lookups; ++i) {
      std::vector<std::string> addresses;
      for (int k = 0; k < c.recipients; ++k) {
        addresses.push_back(c.hits ? hit() : miss());
      }
      const auto t0 = Steady::now();
      auto found = store->FindSuppressedDestinations(acc->id, addresses);
      us.push_back(Millis(t0, Steady::now()) * 1000);
      if (!found.ok()) {
        return Fail("suppress-lookup: " + found.status().ToString());
      }
      // Distinct draws may repeat an address among 50: the list answers each key once.
      std::sort(addresses.begin(), addresses.end());
      const size_t distinct =
          static_cast<size_t>(std::unique(addresses.begin(), addresses.end()) - addresses.begin());
      if (found->size() != (c.hits ? distinct : 0)) {
        ++wrong;
      }
    }
    out[c.name] = {
        {"p50_us", Percentile(us, 0.5)}, {"p99_us", Percentile(us, 0.99)}, {"mean_us", Mean(us)}};
  }
  out["wrong_answers"] = wrong;
  out["rss_kb_before"] = rss_before;
  out["rss_kb_after"] = ProcStatusKb("VmRSS");
  out["db_bytes"] = FileSize(db);
  std::cout << out.dump() << std::endl;
  return wrong == 0 ? 0 : Fail("suppress-lookup: wrong answers");
}

int RunSuppressCsv(Args& args) {
  const int64_t first = args.Int("first", 0);
  const int64_t entries = args.Int("entries", 0);
  const std::string path = args.Str("out");
  if (!args.AllUsed() || first < 0 || entries <= 0 || path.empty()) {
    return Fail("suppress-csv: bad arguments");
  }
  std::ofstream out(path);
  for (int64_t i = first; i < first + entries; ++i) {
    out << SuppressedAddress(static_cast<uint64_t>(i))
        << (i % 10 == 0 ? ",COMPLAINT\n" : ",BOUNCE\n");
  }
  out.close();
  return out.good() ? 0 : Fail("suppress-csv: writing " + path + " failed");
}

void Usage() {
  std::cerr << "usage: reputation_bench window|service|accounts|getaccount|suppress-load|"
               "suppress-lookup|suppress-csv [--option value]...\n"
               "(see the comment at the top of bench/reputation_bench.cc)\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    Usage();
    return 2;
  }
  const std::string cmd = argv[1];
  Args args;
  if (!args.Parse(argc, argv, 2)) {
    Usage();
    return 2;
  }
  const std::map<std::string, std::function<int(Args&)>> commands = {
      {"window", RunWindow},
      {"service", RunService},
      {"accounts", RunAccounts},
      {"getaccount", RunGetAccount},
      {"suppress-load", RunSuppressLoad},
      {"suppress-lookup", RunSuppressLookup},
      {"suppress-csv", RunSuppressCsv}};
  auto it = commands.find(cmd);
  if (it == commands.end()) {
    Usage();
    return 2;
  }
  return it->second(args);
}
