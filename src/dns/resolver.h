// dns/resolver.h: DNS lookups herald needs, behind an interface so tests use zone text.
//
// Contract:
// - LookupTxt returns the TXT strings of a name (each record's character-strings joined),
//   an empty vector for NXDOMAIN or no TXT records.
// - LookupMx returns the MX records of a name as published (any order), or nxdomain when
//   the name does not exist; no records and !nxdomain means the name exists without MX
//   (NODATA), which RFC 5321 5.1 turns into an implicit MX. A null MX (RFC 7505, target
//   ".") is returned as a record with host "".
// - LookupAddresses asks both AAAA and A and returns the textual addresses, IPv6 ones
//   first; nxdomain when the name does not exist. One of the two queries failing while the
//   other yields addresses still counts as success (there is something to connect to).
// - Every method returns kUnavailable when the server fails (SERVFAIL, REFUSED), cannot be
//   reached or times out: the caller keeps its previous state and tries again later.
//   kInvalidArgument is kept for names that cannot be queried at all.
// Host names in answers are lower-case without the trailing dot.
// Thread-safety: implementations are safe from any thread.
// Trust: answers come from the network; record sizes are bounded by the DNS wire format,
// names are returned as text and never interpreted here beyond case folding.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"

namespace herald::dns {

struct MxRecord {
  uint16_t preference = 0;
  std::string host;  // lower-case, no trailing dot; "" for the null MX "."

  bool operator==(const MxRecord&) const = default;
};

struct MxAnswer {
  bool nxdomain = false;          // the name does not exist
  std::vector<MxRecord> records;  // empty and !nxdomain: the name exists without MX (NODATA)
};

struct AddressAnswer {
  bool nxdomain = false;               // the name does not exist
  std::vector<std::string> addresses;  // "2001:db8::1" (AAAA) first, then "192.0.2.1" (A)
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) = 0;
  virtual StatusOr<MxAnswer> LookupMx(const std::string& domain) = 0;
  virtual StatusOr<AddressAnswer> LookupAddresses(const std::string& host) = 0;
};

// c-ares over the system resolver configuration, or over `server` ("HOST:PORT",
// "[IPV6]:PORT") when set. `timeout` is per try; each query is tried twice.
std::unique_ptr<Resolver> NewCaresResolver(const std::string& server,
                                           std::chrono::milliseconds timeout);

// A decorator that remembers successful MX and address answers of `inner`, negative ones
// (NXDOMAIN, NODATA) included, for `ttl` of clock.Monotonic(). Failures are never cached,
// nor are TXT lookups (identity verification wants fresh answers). At most `max_entries`
// answers are kept; the oldest goes first. Names are compared case-insensitively and
// without a trailing dot. `inner` and `clock` must outlive the decorator. Thread-safe: one
// mutex guards the table and is never held during a lookup of `inner`, so two threads
// missing the same name at once may both ask `inner`.
std::unique_ptr<Resolver> NewCachingResolver(Resolver& inner, Clock& clock,
                                             std::chrono::seconds ttl, size_t max_entries);

}  // namespace herald::dns
