#include "delivery/route.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "tests/fakes/fake_resolver.h"

namespace herald::delivery {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Kind = Destination::Kind;

constexpr char kZone[] = R"(
example.com.        MX 20 mx3.example.com.
example.com.        MX 10 mx1.example.com.
example.com.        MX 10 mx2.example.com.
other.example.      MX 10 mx2.example.com.
other.example.      MX 20 mx3.example.com.
other.example.      MX 10 mx1.example.com.
mx1.example.com.    A 192.0.2.1
mx1.example.com.    AAAA 2001:db8::1
mx2.example.com.    A 192.0.2.2
mx3.example.com.    A 192.0.2.3
wide.test           MX 5 a.wide.test
wide.test           MX 5 b.wide.test
wide.test           MX 5 c.wide.test
wide.test           MX 5 d.wide.test
wide.test           MX 5 e.wide.test
nullmx.test.        MX 0 .
mixed.test.         MX 0 .
mixed.test.         MX 10 mx.mixed.test.
dup.test            MX 30 mx.dup.test
dup.test            MX 10 mx.dup.test
implicit.test.      A 127.0.0.2
implicit.test.      AAAA ::1
bare.test.          TXT "exists but has neither MX nor addresses"
servfail.test.      SERVFAIL
addrfail.test.      TXT "no MX; its address lookup fails"
dual.test           AAAA 2001:db8::a
dual.test           AAAA 2001:db8::b
dual.test           AAAA 2001:db8::a
dual.test           A 192.0.2.10
dual.test           A 192.0.2.11
dual.test           A 192.0.2.12
v4.test             A 192.0.2.20
)";

StaticRoute Route(std::string domain, std::string host, uint16_t port = 25) {
  StaticRoute r;
  r.domain = std::move(domain);
  r.host = std::move(host);
  r.port = port;
  return r;
}

std::vector<std::string> Names(const Destination& d) {
  std::vector<std::string> out;
  for (const MxHost& h : d.hosts) out.push_back(h.name);
  return out;
}

// HostAddresses' answer, or its error as a one-element list (so that a failure shows).
std::vector<std::string> Addrs(const std::string& host, dns::Resolver& r) {
  StatusOr<std::vector<std::string>> a = HostAddresses(host, r);
  if (!a.ok()) return {a.status().ToString()};
  return *a;
}

class RouteTest : public ::testing::Test {
 protected:
  Destination Resolve(std::string_view domain, uint64_t seed = 1, uint16_t port = 25) {
    return ResolveDestination(domain, dns_, routes_, port, seed);
  }
  dns::FakeResolver dns_{kZone};
  std::vector<StaticRoute> routes_;
};

TEST_F(RouteTest, MxHostsInPreferenceOrder) {
  Destination d = Resolve("example.com");
  ASSERT_EQ(d.kind, Kind::kHosts);
  ASSERT_EQ(d.hosts.size(), 3u);
  EXPECT_EQ(d.hosts[0].preference, 10);
  EXPECT_EQ(d.hosts[1].preference, 10);
  EXPECT_EQ(d.hosts[2].name, "mx3.example.com");
  EXPECT_EQ(d.hosts[2].preference, 20);
  EXPECT_EQ((std::set<std::string>{d.hosts[0].name, d.hosts[1].name}),
            (std::set<std::string>{"mx1.example.com", "mx2.example.com"}));
  for (const MxHost& h : d.hosts) EXPECT_EQ(h.port, 25);
  EXPECT_EQ(d.key, "mx:mx1.example.com,mx2.example.com,mx3.example.com");
  EXPECT_FALSE(d.route.has_value());
  EXPECT_TRUE(d.detail.empty());
}

TEST_F(RouteTest, EqualPreferenceShuffleIsDeterministicPerSeed) {
  for (uint64_t seed : {0ull, 1ull, 42ull, 0xdeadbeefull}) {
    EXPECT_EQ(Names(Resolve("wide.test", seed)), Names(Resolve("wide.test", seed)));
  }
}

TEST_F(RouteTest, EqualPreferenceShuffleVariesAcrossSeeds) {
  std::set<std::vector<std::string>> orders;
  std::set<std::string> firsts;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Destination d = Resolve("wide.test", seed);
    ASSERT_EQ(d.kind, Kind::kHosts);
    const std::vector<std::string> names = Names(d);
    EXPECT_THAT(std::set<std::string>(names.begin(), names.end()),
                (std::set<std::string>{"a.wide.test", "b.wide.test", "c.wide.test", "d.wide.test",
                                       "e.wide.test"}));
    EXPECT_EQ(d.key, "mx:a.wide.test,b.wide.test,c.wide.test,d.wide.test,e.wide.test");
    orders.insert(names);
    firsts.insert(d.hosts[0].name);
  }
  EXPECT_GT(orders.size(), 50u);  // 120 orders exist; 200 seeds must reach many
  EXPECT_EQ(firsts.size(), 5u);   // every host gets to be first
}

TEST_F(RouteTest, ShuffleNeverCrossesPreferences) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    Destination d = Resolve("example.com", seed);
    ASSERT_EQ(d.hosts.size(), 3u);
    EXPECT_EQ(d.hosts[2].name, "mx3.example.com");
  }
}

TEST_F(RouteTest, KeyIsSharedByDomainsWithTheSameMxSet) {
  Destination a = Resolve("example.com");
  Destination b = Resolve("other.example");
  ASSERT_EQ(a.kind, Kind::kHosts);
  ASSERT_EQ(b.kind, Kind::kHosts);
  EXPECT_EQ(a.key, b.key);
  EXPECT_NE(a.key, Resolve("wide.test").key);
}

TEST_F(RouteTest, DefaultPortReplaces25AndEntersTheKey) {
  Destination d = Resolve("example.com", 1, 2525);
  ASSERT_EQ(d.kind, Kind::kHosts);
  for (const MxHost& h : d.hosts) EXPECT_EQ(h.port, 2525);
  EXPECT_EQ(d.key, "mx:mx1.example.com,mx2.example.com,mx3.example.com:2525");
}

TEST_F(RouteTest, DuplicateMxHostKeepsItsBestPreference) {
  Destination d = Resolve("dup.test");
  ASSERT_EQ(d.kind, Kind::kHosts);
  ASSERT_EQ(d.hosts.size(), 1u);
  EXPECT_EQ(d.hosts[0].name, "mx.dup.test");
  EXPECT_EQ(d.hosts[0].preference, 10);
}

TEST_F(RouteTest, NoMxMeansTheDomainIsItsOwnMx) {
  Destination d = Resolve("implicit.test", 1, 2525);
  ASSERT_EQ(d.kind, Kind::kHosts);
  ASSERT_EQ(d.hosts.size(), 1u);
  EXPECT_EQ(d.hosts[0].name, "implicit.test");
  EXPECT_EQ(d.hosts[0].port, 2525);
  EXPECT_EQ(d.key, "mx:implicit.test:2525");
}

TEST_F(RouteTest, ImplicitMxSharesTheQueueOfAnExplicitMxToTheSameHost) {
  dns_.AddZone("alias.test MX 10 implicit.test");
  EXPECT_EQ(Resolve("alias.test").key, Resolve("implicit.test").key);
}

TEST_F(RouteTest, NullMxIsPermanent) {
  Destination d = Resolve("nullmx.test");
  EXPECT_EQ(d.kind, Kind::kNullMx);
  EXPECT_THAT(d.hosts, IsEmpty());
  EXPECT_TRUE(d.key.empty());
  EXPECT_THAT(d.detail, ::testing::HasSubstr("7505"));
  // A null MX is not an "exists without MX": no address lookup follows.
  EXPECT_EQ(dns_.queries("nullmx.test"), 1);
}

TEST_F(RouteTest, NullMxTargetMixedWithRealMxIsIgnored) {
  Destination d = Resolve("mixed.test");
  ASSERT_EQ(d.kind, Kind::kHosts);
  EXPECT_THAT(Names(d), ElementsAre("mx.mixed.test"));
}

TEST_F(RouteTest, NxDomainIsNoSuchDomain) {
  Destination d = Resolve("nowhere.test");
  EXPECT_EQ(d.kind, Kind::kNoSuchDomain);
  EXPECT_THAT(d.detail, ::testing::HasSubstr("nowhere.test"));
  EXPECT_TRUE(d.key.empty());
}

TEST_F(RouteTest, NoMxAndNoAddressesIsNoHosts) {
  Destination d = Resolve("bare.test");
  EXPECT_EQ(d.kind, Kind::kNoHosts);
  EXPECT_THAT(d.hosts, IsEmpty());
  EXPECT_FALSE(d.detail.empty());
}

TEST_F(RouteTest, ResolverFailureIsTempFail) {
  Destination d = Resolve("servfail.test");
  EXPECT_EQ(d.kind, Kind::kTempFail);
  EXPECT_FALSE(d.detail.empty());
}

TEST_F(RouteTest, ImplicitMxAddressLookupFailureIsTempFail) {
  dns_.AddZone("addrfail.test A 192.0.2.99");
  ASSERT_EQ(Resolve("addrfail.test").kind, Kind::kHosts);
  // The MX lookup answers NODATA; only the address lookup that follows fails.
  class FailAddresses : public dns::Resolver {
   public:
    explicit FailAddresses(dns::Resolver& inner) : inner_(inner) {}
    StatusOr<std::vector<std::string>> LookupTxt(const std::string& n) override {
      return inner_.LookupTxt(n);
    }
    StatusOr<dns::MxAnswer> LookupMx(const std::string& d) override { return inner_.LookupMx(d); }
    StatusOr<dns::AddressAnswer> LookupAddresses(const std::string&) override {
      return UnavailableError("timeout");
    }
    dns::Resolver& inner_;
  } failing(dns_);
  Destination t = ResolveDestination("addrfail.test", failing, routes_, 25, 1);
  EXPECT_EQ(t.kind, Kind::kTempFail);
  EXPECT_THAT(t.detail, ::testing::HasSubstr("timeout"));
}

TEST_F(RouteTest, StaticRoutePrecedenceExactThenLongestSuffixThenWildcard) {
  routes_ = {
      Route("*", "smarthost.test", 587),
      Route(".example.com", "suffix.test"),
      Route(".eu.example.com", "longer-suffix.test"),
      Route("example.com", "exact.test", 2525),
  };
  auto host_of = [&](std::string_view domain) {
    Destination d = Resolve(domain);
    EXPECT_EQ(d.kind, Kind::kHosts);
    EXPECT_EQ(d.hosts.size(), 1u);
    EXPECT_TRUE(d.route.has_value());
    return d.hosts.empty() ? std::string() : d.hosts[0].name;
  };
  EXPECT_EQ(host_of("example.com"), "exact.test");
  EXPECT_EQ(host_of("a.example.com"), "suffix.test");
  EXPECT_EQ(host_of("a.b.example.com"), "suffix.test");
  EXPECT_EQ(host_of("x.eu.example.com"), "longer-suffix.test");
  EXPECT_EQ(host_of("eu.example.com"), "suffix.test");  // ".eu.example.com" is subdomains only
  EXPECT_EQ(host_of("notexample.com"), "smarthost.test");
  EXPECT_EQ(host_of("nowhere.test"), "smarthost.test");
  // Static routes need no DNS at all.
  EXPECT_EQ(dns_.queries("example.com"), 0);
  EXPECT_EQ(dns_.queries("nowhere.test"), 0);
}

TEST_F(RouteTest, StaticRouteCarriesItsSettingsAndKey) {
  routes_ = {StaticRoute{.domain = "example.com",
                         .host = "relay.test",
                         .port = 587,
                         .auth_user = "u",
                         .auth_password = "p",
                         .require_tls = true}};
  Destination d = Resolve("example.com");
  ASSERT_EQ(d.kind, Kind::kHosts);
  EXPECT_EQ(d.key, "route:relay.test:587");
  ASSERT_EQ(d.hosts.size(), 1u);
  EXPECT_EQ(d.hosts[0].port, 587);
  ASSERT_TRUE(d.route.has_value());
  EXPECT_EQ(d.route->auth_user, "u");
  EXPECT_EQ(d.route->auth_password, "p");
  EXPECT_TRUE(d.route->require_tls);
  // Without a wildcard, other domains still go by MX.
  EXPECT_EQ(Resolve("other.example").key, "mx:mx1.example.com,mx2.example.com,mx3.example.com");
  EXPECT_FALSE(Resolve("other.example").route.has_value());
}

TEST_F(RouteTest, TwoDomainsRoutedToOneSmarthostShareAKey) {
  routes_ = {Route("a.test", "relay.test", 587), Route("b.test", "relay.test", 587),
             Route("c.test", "relay.test", 25)};
  EXPECT_EQ(Resolve("a.test").key, Resolve("b.test").key);
  EXPECT_NE(Resolve("a.test").key, Resolve("c.test").key);
}

TEST_F(RouteTest, HostAddressesInterleaveIpv6First) {
  auto a = HostAddresses("dual.test", dns_);
  ASSERT_TRUE(a.ok());
  EXPECT_THAT(*a,
              ElementsAre("2001:db8::a", "192.0.2.10", "2001:db8::b", "192.0.2.11", "192.0.2.12"));
  EXPECT_THAT(Addrs("mx1.example.com", dns_), ElementsAre("2001:db8::1", "192.0.2.1"));
  EXPECT_THAT(Addrs("v4.test", dns_), ElementsAre("192.0.2.20"));
}

TEST_F(RouteTest, HostAddressesTakesIpLiteralsWithoutLookup) {
  EXPECT_THAT(Addrs("127.0.0.1", dns_), ElementsAre("127.0.0.1"));
  EXPECT_THAT(Addrs("::1", dns_), ElementsAre("::1"));
  EXPECT_THAT(Addrs("[2001:db8::5]", dns_), ElementsAre("2001:db8::5"));
  EXPECT_EQ(dns_.queries("127.0.0.1"), 0);
  EXPECT_EQ(dns_.queries("::1"), 0);
  EXPECT_EQ(dns_.queries("[2001:db8::5]"), 0);
}

TEST_F(RouteTest, HostAddressesErrors) {
  EXPECT_EQ(HostAddresses("nowhere.test", dns_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(HostAddresses("bare.test", dns_).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(HostAddresses("servfail.test", dns_).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(HostAddresses("", dns_).status().code(), StatusCode::kNotFound);
}

TEST_F(RouteTest, StaticRouteToAnIpLiteral) {
  routes_ = {Route("*", "::1", 2525)};
  Destination d = Resolve("anything.test");
  ASSERT_EQ(d.kind, Kind::kHosts);
  EXPECT_EQ(d.key, "route:::1:2525");
  EXPECT_THAT(Addrs(d.hosts[0].name, dns_), ElementsAre("::1"));
}

}  // namespace
}  // namespace herald::delivery
