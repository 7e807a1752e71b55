// bench/sendemail_load.cc: a closed-loop load generator for SESv2 SendEmail over HTTP.
//
// N threads, each with one keep-alive HTTP connection (cpp-httplib), send M requests in
// total, every one signed with SigV4 exactly as an AWS SDK signs it
// (auth::SignRequestForTest), and report requests/s and latency percentiles as one JSON
// line on stdout. A request counts as ok only on HTTP 200 with a MessageId.
//
//   sendemail_load --endpoint 127.0.0.1:8080 --access-key AKIA... --secret ...
//       --from sender@example.com --to success@simulator.amazonses.com
//       --threads 8 --requests 20000 --body-bytes 5120
//
// Thread-safety: each worker owns its client; results are merged after join.
// Trust: talks only to the endpoint it is given; responses are parsed defensively.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "auth/sigv4.h"

namespace {

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string access_key;
  std::string secret;
  std::string region = "us-east-1";
  std::string from;
  std::string to = "success@simulator.amazonses.com";
  int threads = 8;
  int64_t requests = 10000;
  int64_t body_bytes = 5120;
  bool content_sha256 = false;
};

struct WorkerResult {
  int64_t ok = 0;
  int64_t failed = 0;
  std::map<std::string, int64_t> failures;  // "status code" -> count
  std::vector<double> latencies_ms;
};

void Usage() {
  std::cerr << "usage: sendemail_load --endpoint HOST:PORT --access-key AKID --secret SECRET\n"
               "         --from ADDR [--to ADDR] [--region R] [--threads N] [--requests M]\n"
               "         [--body-bytes B] [--content-sha256]\n";
}

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string* out) {
      if (i + 1 >= argc) {
        return false;
      }
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--content-sha256") {
      o->content_sha256 = true;
    } else if (!next(&v)) {
      return false;
    } else if (a == "--endpoint") {
      auto colon = v.rfind(':');
      if (colon == std::string::npos) {
        return false;
      }
      o->host = v.substr(0, colon);
      o->port = std::atoi(v.c_str() + colon + 1);
    } else if (a == "--access-key") {
      o->access_key = v;
    } else if (a == "--secret") {
      o->secret = v;
    } else if (a == "--region") {
      o->region = v;
    } else if (a == "--from") {
      o->from = v;
    } else if (a == "--to") {
      o->to = v;
    } else if (a == "--threads") {
      o->threads = std::atoi(v.c_str());
    } else if (a == "--requests") {
      o->requests = std::atoll(v.c_str());
    } else if (a == "--body-bytes") {
      o->body_bytes = std::atoll(v.c_str());
    } else {
      return false;
    }
  }
  return !o->access_key.empty() && !o->secret.empty() && !o->from.empty() && o->port > 0 &&
         o->port < 65536 && o->threads > 0 && o->requests > 0 && o->body_bytes >= 0;
}

std::string RequestBody(const Options& o, int64_t seq) {
  nlohmann::json body = {
      {"FromEmailAddress", o.from},
      {"Destination", {{"ToAddresses", {o.to}}}},
      {"Content",
       {{"Simple",
         {{"Subject", {{"Data", "bench " + std::to_string(seq)}}},
          {"Body",
           {{"Text", {{"Data", std::string(static_cast<size_t>(o.body_bytes), 'x')}}}}}}}}}};
  return body.dump();
}

WorkerResult RunWorker(const Options& o, std::atomic<int64_t>* next) {
  WorkerResult r;
  httplib::Client client(o.host, o.port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // no Nagle delay between the header and body writes
  client.set_connection_timeout(10);
  client.set_read_timeout(60);
  client.set_write_timeout(60);
  const std::string host_header = o.host + ":" + std::to_string(o.port);
  const std::string target = "/v2/email/outbound-emails";
  for (;;) {
    const int64_t seq = next->fetch_add(1);
    if (seq >= o.requests) {
      break;
    }
    const std::string body = RequestBody(o, seq);
    herald::auth::HttpRequestView view;
    view.method = "POST";
    view.target = target;
    view.headers = {{"Host", host_header}, {"Content-Type", "application/json"}};
    view.body = body;
    auto added =
        herald::auth::SignRequestForTest(view, o.access_key, o.secret, o.region, "ses",
                                         std::chrono::system_clock::now(), o.content_sha256);
    httplib::Headers headers = {{"Host", host_header}};
    for (auto& [name, value] : added) {
      headers.emplace(name, value);
    }
    const auto start = std::chrono::steady_clock::now();
    auto res = client.Post(target.c_str(), headers, body, "application/json");
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    r.latencies_ms.push_back(ms);
    if (!res) {
      ++r.failed;
      ++r.failures["transport " + httplib::to_string(res.error())];
      continue;
    }
    if (res->status == 200) {
      auto j = nlohmann::json::parse(res->body, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.contains("MessageId") &&
          j["MessageId"].is_string()) {
        ++r.ok;
        continue;
      }
    }
    ++r.failed;
    ++r.failures[std::to_string(res->status) + " " + res->get_header_value("x-amzn-ErrorType")];
  }
  return r;
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) {
    return 0;
  }
  size_t idx = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(idx), v.end());
  return v[idx];
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) {
    Usage();
    return 2;
  }
  std::atomic<int64_t> next{0};
  std::vector<WorkerResult> results(static_cast<size_t>(o.threads));
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.threads; ++i) {
    threads.emplace_back([&, i] { results[static_cast<size_t>(i)] = RunWorker(o, &next); });
  }
  for (auto& t : threads) {
    t.join();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  WorkerResult all;
  for (auto& r : results) {
    all.ok += r.ok;
    all.failed += r.failed;
    for (auto& [k, n] : r.failures) {
      all.failures[k] += n;
    }
    all.latencies_ms.insert(all.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  nlohmann::json out = {
      {"requests", o.requests},
      {"threads", o.threads},
      {"body_bytes", o.body_bytes},
      {"ok", all.ok},
      {"failed", all.failed},
      {"failures", all.failures},
      {"seconds", seconds},
      {"requests_per_second", seconds > 0 ? static_cast<double>(all.ok) / seconds : 0.0},
      {"p50_ms", Percentile(all.latencies_ms, 0.50)},
      {"p99_ms", Percentile(all.latencies_ms, 0.99)},
  };
  std::cout << out.dump() << std::endl;
  return all.failed == 0 ? 0 : 1;
}
