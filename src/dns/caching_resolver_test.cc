#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "dns/resolver.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_resolver.h"

namespace herald::dns {
namespace {

using std::chrono::seconds;
using ::testing::ElementsAre;

constexpr char kZone[] = R"(
example.com.      MX 10 mx1.example.com.
mx1.example.com.  A 192.0.2.1
mx1.example.com.  AAAA 2001:db8::1
a.test            A 192.0.2.10
b.test            A 192.0.2.11
c.test            A 192.0.2.12
_amazonses.x.test TXT "v1"
)";

class CachingResolverTest : public ::testing::Test {
 protected:
  FakeResolver inner_{kZone};
  FakeClock clock_;
};

TEST_F(CachingResolverTest, MxAnswerIsServedFromCacheUntilTtlPasses) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 100);
  for (int i = 0; i < 3; ++i) {
    auto mx = cache->LookupMx("example.com");
    ASSERT_TRUE(mx.ok());
    EXPECT_THAT(mx->records, ElementsAre(MxRecord{10, "mx1.example.com"}));
  }
  EXPECT_EQ(inner_.queries("example.com"), 1);
  clock_.Advance(seconds(59));
  ASSERT_TRUE(cache->LookupMx("example.com").ok());
  EXPECT_EQ(inner_.queries("example.com"), 1);
  clock_.Advance(seconds(1));
  ASSERT_TRUE(cache->LookupMx("example.com").ok());
  EXPECT_EQ(inner_.queries("example.com"), 2);
}

TEST_F(CachingResolverTest, AddressesAreCachedSeparatelyFromMx) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 100);
  auto a1 = cache->LookupAddresses("mx1.example.com");
  auto a2 = cache->LookupAddresses("MX1.example.com.");  // same name, other spelling
  ASSERT_TRUE(a1.ok());
  ASSERT_TRUE(a2.ok());
  EXPECT_THAT(a2->addresses, ElementsAre("2001:db8::1", "192.0.2.1"));
  EXPECT_EQ(inner_.queries("mx1.example.com"), 1);
  auto mx = cache->LookupMx("mx1.example.com");  // a different question about the name
  ASSERT_TRUE(mx.ok());
  EXPECT_TRUE(mx->records.empty());
  EXPECT_EQ(inner_.queries("mx1.example.com"), 2);
}

TEST_F(CachingResolverTest, NegativeAnswersAreCached) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 100);
  EXPECT_TRUE(cache->LookupMx("nowhere.test")->nxdomain);
  EXPECT_TRUE(cache->LookupMx("nowhere.test")->nxdomain);
  EXPECT_TRUE(cache->LookupAddresses("nowhere.test")->nxdomain);
  EXPECT_TRUE(cache->LookupAddresses("nowhere.test")->nxdomain);
  EXPECT_EQ(inner_.queries("nowhere.test"), 2);
  // NODATA too.
  EXPECT_TRUE(cache->LookupMx("a.test")->records.empty());
  EXPECT_TRUE(cache->LookupMx("a.test")->records.empty());
  EXPECT_EQ(inner_.queries("a.test"), 1);
}

TEST_F(CachingResolverTest, FailuresAreNotCached) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 100);
  inner_.SetFailing("example.com", true);
  EXPECT_EQ(cache->LookupMx("example.com").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache->LookupMx("example.com").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(inner_.queries("example.com"), 2);
  inner_.SetFailing("example.com", false);
  EXPECT_TRUE(cache->LookupMx("example.com").ok());
  EXPECT_TRUE(cache->LookupMx("example.com").ok());
  EXPECT_EQ(inner_.queries("example.com"), 3);
}

TEST_F(CachingResolverTest, CachedAnswerSurvivesLaterFailureUntilExpiry) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 100);
  ASSERT_TRUE(cache->LookupMx("example.com").ok());
  inner_.SetFailing("example.com", true);
  EXPECT_TRUE(cache->LookupMx("example.com").ok());
  clock_.Advance(seconds(60));
  EXPECT_EQ(cache->LookupMx("example.com").status().code(), StatusCode::kUnavailable);
}

TEST_F(CachingResolverTest, TxtIsNeverCached) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 100);
  EXPECT_THAT(*cache->LookupTxt("_amazonses.x.test"), ElementsAre("v1"));
  inner_.AddZone("_amazonses.x.test TXT \"v2\"");
  EXPECT_THAT(*cache->LookupTxt("_amazonses.x.test"), ElementsAre("v1", "v2"));
  EXPECT_EQ(inner_.queries("_amazonses.x.test"), 2);
}

TEST_F(CachingResolverTest, OldestEntryIsEvictedAtCapacity) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 2);
  ASSERT_TRUE(cache->LookupAddresses("a.test").ok());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(cache->LookupAddresses("b.test").ok());
  clock_.Advance(seconds(1));
  ASSERT_TRUE(cache->LookupAddresses("c.test").ok());  // evicts a.test
  ASSERT_TRUE(cache->LookupAddresses("b.test").ok());
  ASSERT_TRUE(cache->LookupAddresses("c.test").ok());
  EXPECT_EQ(inner_.queries("b.test"), 1);
  EXPECT_EQ(inner_.queries("c.test"), 1);
  ASSERT_TRUE(cache->LookupAddresses("a.test").ok());
  EXPECT_EQ(inner_.queries("a.test"), 2);
}

TEST_F(CachingResolverTest, ZeroCapacityCachesNothing) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 0);
  ASSERT_TRUE(cache->LookupMx("example.com").ok());
  ASSERT_TRUE(cache->LookupMx("example.com").ok());
  EXPECT_EQ(inner_.queries("example.com"), 2);
}

TEST_F(CachingResolverTest, SafeFromManyThreads) {
  auto cache = NewCachingResolver(inner_, clock_, seconds(60), 2);
  const char* names[] = {"a.test", "b.test", "c.test", "example.com"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string name = names[(t + i) % 4];
        auto addrs = cache->LookupAddresses(name);
        ASSERT_TRUE(addrs.ok());
        EXPECT_EQ(addrs->addresses.empty(), name == "example.com");
        if (i % 50 == 0) clock_.Advance(seconds(30));
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace herald::dns
