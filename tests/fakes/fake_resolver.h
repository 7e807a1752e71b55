// tests/fakes/fake_resolver.h: a dns::Resolver that answers from zone text.
//
// Contract: FromZone parses lines of the form
//     NAME [TTL] [IN] TYPE RDATA          ; comment
// with TYPE one of
//     MX PREFERENCE HOST      HOST "." is the null MX (RFC 7505), returned as host ""
//     A IPV4 | AAAA IPV6      checked with inet_pton
//     TXT "a" "b" ...         quoted character-strings joined into one record (or one
//                             unquoted word)
//     SERVFAIL                every lookup of NAME fails with kUnavailable
// Names are case-insensitive, with or without the trailing dot. A name that appears with
// any type exists: other types answer NODATA; names never mentioned answer NXDOMAIN.
// LookupAddresses returns the AAAA addresses, then the A ones, each in zone order, as the
// c-ares resolver does. A malformed line aborts the test (it is test input, not data).
// SetFailing(name, on) makes every lookup of a name fail (or stop failing); queries(name)
// counts the lookups of a name of any type, failed ones included.
// Thread-safety: all methods are safe from any thread (one mutex).
// Trust: test-only.
#pragma once

#include <arpa/inet.h>

#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/strings.h"
#include "dns/resolver.h"

namespace herald::dns {

class FakeResolver final : public Resolver {
 public:
  FakeResolver() = default;
  explicit FakeResolver(std::string_view zone_text) { AddZone(zone_text); }

  // Not movable (it holds a mutex): `auto r = FakeResolver::FromZone(...)` still works.
  static FakeResolver FromZone(std::string_view text) { return FakeResolver(text); }

  // Adds the records of more zone text (same grammar as FromZone).
  void AddZone(std::string_view text) {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::string_view line : Split(text, '\n')) ParseLine(line);
  }

  void SetFailing(const std::string& name, bool failing) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failing) {
      failing_.insert(Normalize(name));
    } else {
      failing_.erase(Normalize(name));
    }
  }

  int queries(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = queries_.find(Normalize(name));
    return it == queries_.end() ? 0 : it->second;
  }

  StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = Normalize(name);
    RETURN_IF_ERROR(Count(key, "TXT"));
    auto it = names_.find(key);
    if (it == names_.end()) return std::vector<std::string>{};
    return it->second.txt;
  }

  StatusOr<MxAnswer> LookupMx(const std::string& domain) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = Normalize(domain);
    RETURN_IF_ERROR(Count(key, "MX"));
    MxAnswer answer;
    auto it = names_.find(key);
    if (it == names_.end()) {
      answer.nxdomain = true;
    } else {
      answer.records = it->second.mx;
    }
    return answer;
  }

  StatusOr<AddressAnswer> LookupAddresses(const std::string& host) override {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string key = Normalize(host);
    RETURN_IF_ERROR(Count(key, "A/AAAA"));
    AddressAnswer answer;
    auto it = names_.find(key);
    if (it == names_.end()) {
      answer.nxdomain = true;
    } else {
      answer.addresses = it->second.aaaa;
      answer.addresses.insert(answer.addresses.end(), it->second.a.begin(), it->second.a.end());
    }
    return answer;
  }

 private:
  struct Name {
    std::vector<MxRecord> mx;
    std::vector<std::string> a;
    std::vector<std::string> aaaa;
    std::vector<std::string> txt;
  };

  static std::string Normalize(std::string_view name) {
    std::string out = AsciiLower(name);
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out;
  }

  [[noreturn]] static void Malformed(std::string_view line, const char* why) {
    CheckFailed(__FILE__, __LINE__, "well-formed zone line",
                std::string(why) + ": " + std::string(line));
  }

  Status Count(const std::string& key, const char* type) {
    ++queries_[key];
    if (failing_.count(key) != 0) {
      return UnavailableError(std::string("fake dns: SERVFAIL for ") + type + " " + key);
    }
    return Status::Ok();
  }

  // Splits a zone line into words; a quoted string is one word (quotes kept); ';' outside
  // quotes starts a comment.
  static std::vector<std::string> Words(std::string_view line) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < line.size()) {
      const char c = line[i];
      if (c == ';') break;
      if (c == ' ' || c == '\t' || c == '\r') {
        ++i;
        continue;
      }
      std::string word;
      if (c == '"') {
        const size_t close = line.find('"', i + 1);
        if (close == std::string_view::npos) Malformed(line, "unterminated quote");
        word = std::string(line.substr(i, close + 1 - i));
        i = close + 1;
      } else {
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
               line[i] != ';' && line[i] != '"') {
          word += line[i++];
        }
      }
      words.push_back(std::move(word));
    }
    return words;
  }

  static bool IsNumber(const std::string& s) {
    if (s.empty() || s.size() > 9) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    return true;
  }

  void ParseLine(std::string_view line) {
    std::vector<std::string> w = Words(line);
    if (w.empty()) return;
    if (w.size() < 2) Malformed(line, "a name and a type are needed");
    const std::string name = Normalize(w[0]);
    if (name.empty() || w[0].front() == '"') Malformed(line, "bad name");
    size_t i = 1;
    if (i < w.size() && IsNumber(w[i])) ++i;                // TTL
    if (i < w.size() && EqualsIgnoreCase(w[i], "IN")) ++i;  // class
    if (i >= w.size()) Malformed(line, "no type");
    const std::string type = AsciiUpper(w[i++]);
    const std::vector<std::string> rdata(w.begin() + static_cast<long>(i), w.end());
    Name& n = names_[name];
    if (type == "MX") {
      if (rdata.size() != 2 || !IsNumber(rdata[0]) || std::stoul(rdata[0]) > 65535) {
        Malformed(line, "MX needs PREFERENCE HOST");
      }
      n.mx.push_back(MxRecord{static_cast<uint16_t>(std::stoul(rdata[0])), Normalize(rdata[1])});
    } else if (type == "A" || type == "AAAA") {
      const bool v6 = type == "AAAA";
      unsigned char buf[16];
      if (rdata.size() != 1 || inet_pton(v6 ? AF_INET6 : AF_INET, rdata[0].c_str(), buf) != 1) {
        Malformed(line, v6 ? "AAAA needs one IPv6 address" : "A needs one IPv4 address");
      }
      (v6 ? n.aaaa : n.a).push_back(rdata[0]);
    } else if (type == "TXT") {
      if (rdata.empty()) Malformed(line, "TXT needs data");
      std::string joined;
      for (const std::string& s : rdata) {
        if (s.front() == '"') {
          joined += s.substr(1, s.size() - 2);
        } else if (rdata.size() == 1) {
          joined += s;
        } else {
          Malformed(line, "several TXT strings must be quoted");
        }
      }
      n.txt.push_back(std::move(joined));
    } else if (type == "SERVFAIL") {
      if (!rdata.empty()) Malformed(line, "SERVFAIL takes no data");
      failing_.insert(name);
    } else {
      Malformed(line, "unknown type");
    }
  }

  mutable std::mutex mu_;
  std::map<std::string, Name> names_;   // guarded by mu_
  std::set<std::string> failing_;       // guarded by mu_
  std::map<std::string, int> queries_;  // guarded by mu_
};

}  // namespace herald::dns
