#include "delivery/route.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>

#include "base/strings.h"

namespace herald::delivery {
namespace {

// splitmix64: a small, fully specified generator, so that a seed gives the same order on
// every platform and standard library (std::shuffle's algorithm is unspecified).
uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void Shuffle(std::vector<MxHost>::iterator first, std::vector<MxHost>::iterator last,
             uint64_t* state) {
  for (auto n = last - first; n > 1; --n) {
    const auto j = static_cast<std::ptrdiff_t>(NextRandom(state) % static_cast<uint64_t>(n));
    std::iter_swap(first + (n - 1), first + j);
  }
}

std::string PortSuffix(uint16_t port) { return port == 25 ? "" : ":" + std::to_string(port); }

// The hosts of an MX set as a queue key: sorted names, so that the order of the records
// does not matter.
std::string MxKey(const std::vector<MxHost>& hosts, uint16_t port) {
  std::vector<std::string> names;
  names.reserve(hosts.size());
  for (const MxHost& h : hosts) names.push_back(h.name);
  std::sort(names.begin(), names.end());
  std::string key = "mx:";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i != 0) key += ',';
    key += names[i];
  }
  return key + PortSuffix(port);
}

Destination Fail(Destination::Kind kind, std::string detail) {
  Destination d;
  d.kind = kind;
  d.detail = std::move(detail);
  return d;
}

// RFC 5321 5.1: no MX records, so the domain itself is the single host, if it has an
// address.
Destination ImplicitMx(const std::string& domain, dns::Resolver& resolver, uint16_t port) {
  StatusOr<dns::AddressAnswer> addrs = resolver.LookupAddresses(domain);
  if (!addrs.ok()) {
    return Fail(Destination::Kind::kTempFail,
                "address lookup for " + domain + " failed: " + addrs.status().message());
  }
  if (addrs->nxdomain || addrs->addresses.empty()) {
    return Fail(Destination::Kind::kNoHosts,
                "domain " + domain + " has no MX records and no A or AAAA records");
  }
  Destination d;
  d.kind = Destination::Kind::kHosts;
  d.hosts.push_back(MxHost{domain, 0, port});
  d.key = MxKey(d.hosts, port);
  return d;
}

bool IsIpLiteral(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

const StaticRoute* FindStaticRoute(std::string_view domain,
                                   const std::vector<StaticRoute>& routes) {
  const StaticRoute* best_suffix = nullptr;
  const StaticRoute* wildcard = nullptr;
  for (const StaticRoute& r : routes) {
    if (r.domain == "*") {
      if (wildcard == nullptr) wildcard = &r;
    } else if (!r.domain.empty() && r.domain.front() == '.') {
      if (domain.size() > r.domain.size() && domain.ends_with(r.domain) &&
          (best_suffix == nullptr || r.domain.size() > best_suffix->domain.size())) {
        best_suffix = &r;
      }
    } else if (r.domain == domain) {
      return &r;
    }
  }
  return best_suffix != nullptr ? best_suffix : wildcard;
}

Destination ResolveDestination(std::string_view domain_view, dns::Resolver& resolver,
                               const std::vector<StaticRoute>& routes, uint16_t default_port,
                               uint64_t shuffle_seed) {
  const std::string domain(domain_view);
  if (const StaticRoute* r = FindStaticRoute(domain, routes)) {
    Destination d;
    d.kind = Destination::Kind::kHosts;
    d.key = "route:" + r->host + ":" + std::to_string(r->port);
    d.hosts.push_back(MxHost{r->host, 0, r->port});
    d.route = *r;
    return d;
  }
  if (domain.empty()) return Fail(Destination::Kind::kNoSuchDomain, "empty domain");

  StatusOr<dns::MxAnswer> mx = resolver.LookupMx(domain);
  if (!mx.ok()) {
    return Fail(Destination::Kind::kTempFail,
                "MX lookup for " + domain + " failed: " + mx.status().message());
  }
  if (mx->nxdomain) {
    return Fail(Destination::Kind::kNoSuchDomain, "domain " + domain + " does not exist");
  }
  if (mx->records.empty()) return ImplicitMx(domain, resolver, default_port);

  // One entry per host, at its best preference; the null MX target "" is dropped.
  std::map<std::string, uint16_t> best;
  for (const dns::MxRecord& rec : mx->records) {
    if (rec.host.empty()) continue;
    auto [it, inserted] = best.emplace(rec.host, rec.preference);
    if (!inserted) it->second = std::min(it->second, rec.preference);
  }
  if (best.empty()) {
    return Fail(Destination::Kind::kNullMx,
                "domain " + domain + " does not accept mail (null MX, RFC 7505)");
  }
  Destination d;
  d.kind = Destination::Kind::kHosts;
  for (const auto& [name, pref] : best) d.hosts.push_back(MxHost{name, pref, default_port});
  // The map gave a name order; sort by preference (stable) and shuffle each equal run.
  std::stable_sort(d.hosts.begin(), d.hosts.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
  uint64_t state = shuffle_seed;
  for (auto run = d.hosts.begin(); run != d.hosts.end();) {
    auto end = std::find_if(run, d.hosts.end(),
                            [&](const MxHost& h) { return h.preference != run->preference; });
    Shuffle(run, end, &state);
    run = end;
  }
  d.key = MxKey(d.hosts, default_port);
  return d;
}

StatusOr<std::vector<std::string>> HostAddresses(const std::string& host, dns::Resolver& resolver) {
  std::string literal = host;
  if (literal.size() >= 2 && literal.front() == '[' && literal.back() == ']') {
    literal = literal.substr(1, literal.size() - 2);
  }
  if (IsIpLiteral(literal)) return std::vector<std::string>{literal};
  if (host.empty()) return NotFoundError("empty host name");

  ASSIGN_OR_RETURN(dns::AddressAnswer answer, resolver.LookupAddresses(host));
  if (answer.nxdomain) return NotFoundError("host " + host + " does not exist");
  std::vector<std::string> v6, v4;
  for (const std::string& a : answer.addresses) {
    std::vector<std::string>& family = a.find(':') != std::string::npos ? v6 : v4;
    if (std::find(family.begin(), family.end(), a) == family.end()) family.push_back(a);
  }
  if (v6.empty() && v4.empty()) return NotFoundError("host " + host + " has no A or AAAA records");
  std::vector<std::string> out;
  out.reserve(v6.size() + v4.size());
  for (size_t i = 0; i < std::max(v6.size(), v4.size()); ++i) {
    if (i < v6.size()) out.push_back(v6[i]);
    if (i < v4.size()) out.push_back(v4[i]);
  }
  return out;
}

}  // namespace herald::delivery
