#include "tests/fakes/fake_resolver.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

namespace herald::dns {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kZone[] = R"(
; comment
example.com.        MX 10 mx1.example.com.
Example.COM.        MX 20 MX2.example.com.
mx1.example.com.    A 127.0.0.1
mx1.example.com.    AAAA ::1
mx1.example.com.    A 127.0.0.3     ; a second address
nullmx.test.        MX 0 .
implicit.test       300 IN A 127.0.0.2
_amazonses.foo.test TXT "token value"
multi.test          TXT "part one " "part two"
multi.test          TXT bare
servfail.test.      SERVFAIL          ; every lookup of this name fails
)";

TEST(FakeResolverTest, MxRecordsInZoneOrderWithNormalizedNames) {
  auto r = FakeResolver::FromZone(kZone);
  auto mx = r.LookupMx("example.com");
  ASSERT_TRUE(mx.ok());
  EXPECT_FALSE(mx->nxdomain);
  EXPECT_THAT(mx->records,
              ElementsAre(MxRecord{10, "mx1.example.com"}, MxRecord{20, "mx2.example.com"}));
}

TEST(FakeResolverTest, NamesAreCaseInsensitiveWithOrWithoutTrailingDot) {
  auto r = FakeResolver::FromZone(kZone);
  auto a = r.LookupMx("EXAMPLE.com.");
  auto b = r.LookupMx("example.com");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->records, b->records);
  EXPECT_EQ(r.queries("Example.Com."), 2);
}

TEST(FakeResolverTest, NullMxHasAnEmptyHost) {
  auto r = FakeResolver::FromZone(kZone);
  auto mx = r.LookupMx("nullmx.test");
  ASSERT_TRUE(mx.ok());
  EXPECT_THAT(mx->records, ElementsAre(MxRecord{0, ""}));
}

TEST(FakeResolverTest, ExistingNameWithoutTheTypeIsNoData) {
  auto r = FakeResolver::FromZone(kZone);
  auto mx = r.LookupMx("implicit.test");
  ASSERT_TRUE(mx.ok());
  EXPECT_FALSE(mx->nxdomain);
  EXPECT_THAT(mx->records, IsEmpty());
  auto addrs = r.LookupAddresses("example.com");
  ASSERT_TRUE(addrs.ok());
  EXPECT_FALSE(addrs->nxdomain);
  EXPECT_THAT(addrs->addresses, IsEmpty());
}

TEST(FakeResolverTest, UnknownNameIsNxDomain) {
  auto r = FakeResolver::FromZone(kZone);
  auto mx = r.LookupMx("nowhere.test");
  ASSERT_TRUE(mx.ok());
  EXPECT_TRUE(mx->nxdomain);
  auto addrs = r.LookupAddresses("nowhere.test");
  ASSERT_TRUE(addrs.ok());
  EXPECT_TRUE(addrs->nxdomain);
  auto txt = r.LookupTxt("nowhere.test");
  ASSERT_TRUE(txt.ok());
  EXPECT_THAT(*txt, IsEmpty());
}

TEST(FakeResolverTest, AddressesIpv6FirstThenIpv4InZoneOrder) {
  auto r = FakeResolver::FromZone(kZone);
  auto addrs = r.LookupAddresses("mx1.example.com");
  ASSERT_TRUE(addrs.ok());
  EXPECT_THAT(addrs->addresses, ElementsAre("::1", "127.0.0.1", "127.0.0.3"));
}

TEST(FakeResolverTest, TxtStringsAreJoinedPerRecord) {
  auto r = FakeResolver::FromZone(kZone);
  auto txt = r.LookupTxt("_amazonses.foo.test");
  ASSERT_TRUE(txt.ok());
  EXPECT_THAT(*txt, ElementsAre("token value"));
  auto multi = r.LookupTxt("multi.test");
  ASSERT_TRUE(multi.ok());
  EXPECT_THAT(*multi, ElementsAre("part one part two", "bare"));
}

TEST(FakeResolverTest, ServfailLinesAndSetFailingFailEveryLookup) {
  auto r = FakeResolver::FromZone(kZone);
  EXPECT_EQ(r.LookupMx("servfail.test").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.LookupAddresses("servfail.test").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.LookupTxt("servfail.test").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.queries("servfail.test"), 3);

  r.SetFailing("Example.com.", true);
  EXPECT_EQ(r.LookupMx("example.com").status().code(), StatusCode::kUnavailable);
  r.SetFailing("example.com", false);
  EXPECT_TRUE(r.LookupMx("example.com").ok());
  r.SetFailing("servfail.test", false);
  EXPECT_TRUE(r.LookupMx("servfail.test").ok());
}

TEST(FakeResolverTest, QueriesCountsPerName) {
  auto r = FakeResolver::FromZone(kZone);
  EXPECT_EQ(r.queries("example.com"), 0);
  (void)r.LookupMx("example.com");
  (void)r.LookupAddresses("example.com");
  (void)r.LookupTxt("example.com");
  EXPECT_EQ(r.queries("example.com"), 3);
  EXPECT_EQ(r.queries("mx1.example.com"), 0);
}

TEST(FakeResolverTest, AddZoneExtendsTheZone) {
  FakeResolver r;
  EXPECT_TRUE(r.LookupMx("late.test")->nxdomain);
  r.AddZone("late.test MX 5 mx.late.test\n");
  EXPECT_THAT(r.LookupMx("late.test")->records, ElementsAre(MxRecord{5, "mx.late.test"}));
}

TEST(FakeResolverTest, SafeFromManyThreads) {
  auto r = FakeResolver::FromZone(kZone);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(r.LookupMx("example.com").ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(r.queries("example.com"), 400);
}

TEST(FakeResolverDeathTest, MalformedLinesAbort) {
  EXPECT_DEATH(FakeResolver::FromZone("example.com MX ten mx.example.com"), "MX");
  EXPECT_DEATH(FakeResolver::FromZone("example.com A 300.1.2.3"), "IPv4");
  EXPECT_DEATH(FakeResolver::FromZone("example.com AAAA 127.0.0.1"), "IPv6");
  EXPECT_DEATH(FakeResolver::FromZone("example.com CNAME other.test"), "unknown type");
  EXPECT_DEATH(FakeResolver::FromZone("example.com TXT \"open"), "quote");
  EXPECT_DEATH(FakeResolver::FromZone("example.com"), "type");
}

}  // namespace
}  // namespace herald::dns
