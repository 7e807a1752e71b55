// dns/resolver.h: DNS lookups herald needs, behind an interface so tests use zone text.
//
// Contract: LookupTxt returns the TXT strings of a name (each record's character-strings
// joined), an empty vector for NXDOMAIN or no TXT records, and kUnavailable when the
// server fails or times out (the caller keeps the previous state and tries again later).
// Thread-safety: implementations are safe from any thread.
// Trust: answers come from the network; record sizes are bounded by the DNS wire format
// and only TXT data is returned, never interpreted here.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace herald::dns {

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) = 0;
};

// c-ares over the system resolver configuration, or over `server` ("HOST:PORT") when set.
std::unique_ptr<Resolver> NewCaresResolver(const std::string& server,
                                           std::chrono::milliseconds timeout);

}  // namespace herald::dns
