// delivery/route.h: where mail for a recipient domain goes.
//
// Contract: ResolveDestination turns a domain into the ordered hosts to try and the queue
// key they share. Static routes from the configuration win: the exact domain first, then
// the longest ".suffix" (subdomains only), then "*". Otherwise the MX records decide
// (RFC 5321 5.1): preference ascending, equal preferences shuffled by the caller's seed;
// a name without MX (NODATA) but with addresses is its own implicit MX; a null MX
// (RFC 7505) is kNullMx, a name that does not exist kNoSuchDomain, a name with neither MX
// nor addresses kNoHosts (all three are permanent: the caller bounces at once); a resolver
// failure is kTempFail (the caller retries later). An MX record with target "." mixed with
// real ones is ignored. HostAddresses then gives the addresses of one host in the order to
// try them (RFC 8305: IPv6 first, the two families interleaved).
// Thread-safety: pure functions over the given Resolver (which is thread-safe).
// Trust: the domain comes from a validated recipient address; MX targets and addresses
// come from the network and are only compared, sorted and copied here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "dns/resolver.h"

namespace herald::delivery {

struct StaticRoute {
  // "example.com" (that domain only), ".example.com" (its subdomains, not itself) or "*"
  // (every domain). Lower-case.
  std::string domain;
  std::string host;  // a host name or an IP literal
  uint16_t port = 25;
  std::string auth_user;  // empty: no AUTH
  std::string auth_password;
  bool require_tls = false;
};

struct MxHost {
  std::string name;  // host name (lower-case) or, for a static route, as configured
  uint16_t preference = 0;
  uint16_t port = 25;
};

struct Destination {
  enum class Kind { kHosts, kNullMx, kNoSuchDomain, kNoHosts, kTempFail };
  Kind kind = Kind::kTempFail;
  // Queue key shared by every domain with the same hosts; empty unless kHosts:
  // "route:HOST:PORT" for a static route; "mx:" + the host names sorted and joined by ','
  // (plus ":PORT" when the port is not 25) for MX routing, an implicit MX included (its
  // single host is the domain), so that a domain without MX and a domain whose only MX is
  // that same name share one queue.
  std::string key;
  // Try in this order: preference ascending; equal preferences shuffled by the seed.
  std::vector<MxHost> hosts;
  std::optional<StaticRoute> route;  // the matching static route, if any
  std::string detail;                // why, for the non-kHosts kinds (diagnostic codes)
};

// The static route for `domain`, or nullptr: exact, then longest suffix, then "*".
const StaticRoute* FindStaticRoute(std::string_view domain, const std::vector<StaticRoute>& routes);

// `domain` is an ASCII (A-label) domain, already lower-case. `default_port` replaces 25
// for MX hosts (tests point MX delivery at a loopback port). The same seed gives the same
// order; the caller varies it (per message, per attempt) to spread load over equal MXes.
Destination ResolveDestination(std::string_view domain, dns::Resolver& resolver,
                               const std::vector<StaticRoute>& routes, uint16_t default_port,
                               uint64_t shuffle_seed);

// The addresses to try for one host, in order: IPv6 and IPv4 interleaved, IPv6 first
// (RFC 8305), duplicates removed. An IP literal ("192.0.2.1", "2001:db8::1", "[::1]") is
// returned without a lookup, as written but without brackets. kNotFound when the host does not
// exist or has no addresses (try the next host; permanent for this host), kUnavailable when the
// lookup fails (temporary).
StatusOr<std::vector<std::string>> HostAddresses(const std::string& host, dns::Resolver& resolver);

}  // namespace herald::delivery
