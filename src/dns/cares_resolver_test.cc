// The c-ares resolver against a small DNS responder on a loopback UDP socket that answers
// from a FakeResolver's zone, so that the wire parsing (MX, null MX, A, AAAA, TXT) and the
// NXDOMAIN / NODATA / SERVFAIL distinctions are checked end to end.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "base/strings.h"
#include "dns/resolver.h"
#include "tests/fakes/fake_resolver.h"

namespace herald::dns {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

constexpr uint16_t kTypeA = 1, kTypeMx = 15, kTypeTxt = 16, kTypeAaaa = 28;
constexpr uint16_t kRcodeServfail = 2, kRcodeNxdomain = 3;

void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v & 0xff));
}

void PutName(std::string* out, const std::string& name) {
  if (!name.empty()) {
    for (std::string_view label : Split(name, '.')) {
      out->push_back(static_cast<char>(label.size()));
      out->append(label);
    }
  }
  out->push_back('\0');
}

// A one-socket UDP DNS server on 127.0.0.1 that answers from `zone` on its own thread.
class LoopbackDnsServer {
 public:
  explicit LoopbackDnsServer(FakeResolver& zone) : zone_(zone) {
    fd_ = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(pipe(stop_), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoopbackDnsServer() {
    (void)!write(stop_[1], "x", 1);
    thread_.join();
    close(fd_);
    close(stop_[0]);
    close(stop_[1]);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Names whose queries get no reply at all (a timeout).
  void Drop(const std::string& name) { dropped_.insert(name); }
  int received() const { return received_.load(); }

 private:
  void Serve() {
    for (;;) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0 || (fds[1].revents & POLLIN)) return;
      unsigned char buf[1500];
      sockaddr_in peer{};
      socklen_t plen = sizeof(peer);
      ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&peer), &plen);
      if (n <= 12) continue;
      ++received_;
      std::string reply;
      if (!Answer(std::string(reinterpret_cast<char*>(buf), n), &reply)) continue;
      sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), plen);
    }
  }

  // Builds the reply to one query; false to stay silent.
  bool Answer(const std::string& q, std::string* out) {
    size_t i = 12;
    std::string name;
    while (i < q.size() && q[i] != 0) {
      const size_t len = static_cast<unsigned char>(q[i]);
      if (!name.empty()) name += '.';
      name += q.substr(i + 1, len);
      i += len + 1;
    }
    if (i + 5 > q.size()) return false;
    const size_t question_end = i + 5;
    const uint16_t qtype = static_cast<uint16_t>((static_cast<unsigned char>(q[i + 1]) << 8) |
                                                 static_cast<unsigned char>(q[i + 2]));
    name = AsciiLower(name);
    if (dropped_.count(name) != 0) return false;

    uint16_t rcode = 0;
    std::vector<std::string> rrs;  // each: type, class, ttl, rdlength, rdata
    auto add = [&](uint16_t type, const std::string& rdata) {
      std::string rr;
      Put16(&rr, 0xC00C);  // the name: a pointer to the question's
      Put16(&rr, type);
      Put16(&rr, 1);  // IN
      Put16(&rr, 0);
      Put16(&rr, 300);  // TTL
      Put16(&rr, static_cast<uint16_t>(rdata.size()));
      rrs.push_back(rr + rdata);
    };
    StatusOr<MxAnswer> exists = zone_.LookupMx(name);
    if (!exists.ok()) {
      rcode = kRcodeServfail;
    } else if (exists->nxdomain) {
      rcode = kRcodeNxdomain;
    } else if (qtype == kTypeMx) {
      for (const MxRecord& mx : exists->records) {
        std::string rdata;
        Put16(&rdata, mx.preference);
        // Real servers keep the case of the zone; herald must fold it.
        PutName(&rdata, AsciiUpper(mx.host));
        add(kTypeMx, rdata);
      }
    } else if (qtype == kTypeA || qtype == kTypeAaaa) {
      const int family = qtype == kTypeA ? AF_INET : AF_INET6;
      const AddressAnswer addrs = *zone_.LookupAddresses(name);
      for (const std::string& a : addrs.addresses) {
        unsigned char bin[16];
        if (inet_pton(family, a.c_str(), bin) != 1) continue;
        add(qtype, std::string(reinterpret_cast<char*>(bin), family == AF_INET ? 4 : 16));
      }
    } else if (qtype == kTypeTxt) {
      const std::vector<std::string> txts = *zone_.LookupTxt(name);
      for (const std::string& txt : txts) {
        std::string rdata;
        for (size_t at = 0; at < txt.size(); at += 255) {  // 255-byte character-strings
          const std::string chunk = txt.substr(at, 255);
          rdata.push_back(static_cast<char>(chunk.size()));
          rdata += chunk;
        }
        add(kTypeTxt, rdata);
      }
    }
    out->assign(q.substr(0, 2));  // id
    const uint16_t qflags = static_cast<uint16_t>((static_cast<unsigned char>(q[2]) << 8) |
                                                  static_cast<unsigned char>(q[3]));
    Put16(out, static_cast<uint16_t>(0x8000 | (qflags & 0x7900) | 0x0400 | 0x0080 | rcode));
    Put16(out, 1);
    Put16(out, static_cast<uint16_t>(rrs.size()));
    Put16(out, 0);
    Put16(out, 0);
    out->append(q, 12, question_end - 12);
    for (const std::string& rr : rrs) *out += rr;
    return true;
  }

  FakeResolver& zone_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  uint16_t port_ = 0;
  std::set<std::string> dropped_;
  std::atomic<int> received_{0};
  std::thread thread_;
};

constexpr char kZone[] = R"(
example.com.        MX 20 mx2.example.com.
example.com.        MX 10 mx1.example.com.
mx1.example.com.    A 127.0.0.1
mx1.example.com.    A 127.0.0.5
mx1.example.com.    AAAA ::1
v4only.test         A 192.0.2.7
v6only.test         AAAA 2001:db8::7
nullmx.test.        MX 0 .
implicit.test.      A 127.0.0.2
_amazonses.foo.test TXT "token value"
servfail.test.      SERVFAIL
silent.test         A 192.0.2.9
)";

// The value of a lookup that must succeed, or a marker that makes the comparison fail.
template <typename T>
T ValueOr(StatusOr<T> s, T failed) {
  if (!s.ok()) {
    ADD_FAILURE() << s.status().ToString();
    return failed;
  }
  return *std::move(s);
}

std::vector<std::string> Txt(Resolver& r, const std::string& name) {
  return ValueOr(r.LookupTxt(name), std::vector<std::string>{"<lookup failed>"});
}

class CaresResolverTest : public ::testing::Test {
 protected:
  CaresResolverTest() : zone_(kZone), server_(zone_) {
    resolver_ = NewCaresResolver(server_.address(), std::chrono::milliseconds(500));
  }
  FakeResolver zone_;
  LoopbackDnsServer server_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(CaresResolverTest, MxRecordsWithLowerCaseHosts) {
  auto mx = resolver_->LookupMx("example.com");
  ASSERT_TRUE(mx.ok()) << mx.status().ToString();
  EXPECT_FALSE(mx->nxdomain);
  EXPECT_THAT(mx->records, UnorderedElementsAre(MxRecord{10, "mx1.example.com"},
                                                MxRecord{20, "mx2.example.com"}));
}

TEST_F(CaresResolverTest, NullMxIsAnEmptyHost) {
  auto mx = resolver_->LookupMx("nullmx.test");
  ASSERT_TRUE(mx.ok()) << mx.status().ToString();
  EXPECT_THAT(mx->records, ElementsAre(MxRecord{0, ""}));
}

TEST_F(CaresResolverTest, NoDataAndNxDomainAreDistinguished) {
  auto nodata = resolver_->LookupMx("implicit.test");
  ASSERT_TRUE(nodata.ok()) << nodata.status().ToString();
  EXPECT_FALSE(nodata->nxdomain);
  EXPECT_THAT(nodata->records, IsEmpty());

  auto nx = resolver_->LookupMx("nowhere.test");
  ASSERT_TRUE(nx.ok()) << nx.status().ToString();
  EXPECT_TRUE(nx->nxdomain);

  auto addr_nodata = resolver_->LookupAddresses("example.com");
  ASSERT_TRUE(addr_nodata.ok()) << addr_nodata.status().ToString();
  EXPECT_FALSE(addr_nodata->nxdomain);
  EXPECT_THAT(addr_nodata->addresses, IsEmpty());

  auto addr_nx = resolver_->LookupAddresses("nowhere.test");
  ASSERT_TRUE(addr_nx.ok()) << addr_nx.status().ToString();
  EXPECT_TRUE(addr_nx->nxdomain);
}

TEST_F(CaresResolverTest, AddressesAskAaaaAndAIpv6First) {
  auto both = resolver_->LookupAddresses("mx1.example.com");
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  ASSERT_EQ(both->addresses.size(), 3u);
  EXPECT_EQ(both->addresses[0], "::1");
  EXPECT_THAT(std::vector<std::string>(both->addresses.begin() + 1, both->addresses.end()),
              UnorderedElementsAre("127.0.0.1", "127.0.0.5"));
  EXPECT_THAT(ValueOr(resolver_->LookupAddresses("v4only.test"), AddressAnswer{}).addresses,
              ElementsAre("192.0.2.7"));
  EXPECT_THAT(ValueOr(resolver_->LookupAddresses("v6only.test"), AddressAnswer{}).addresses,
              ElementsAre("2001:db8::7"));
}

TEST_F(CaresResolverTest, ServfailIsUnavailable) {
  EXPECT_EQ(resolver_->LookupMx("servfail.test").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(resolver_->LookupAddresses("servfail.test").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(resolver_->LookupTxt("servfail.test").status().code(), StatusCode::kUnavailable);
}

TEST_F(CaresResolverTest, TxtRecordsAreJoinedAcrossCharacterStrings) {
  const std::string long_value(300, 'k');  // two character-strings on the wire
  zone_.AddZone("long.test TXT " + long_value);
  EXPECT_THAT(Txt(*resolver_, "long.test"), ElementsAre(long_value));
  EXPECT_THAT(Txt(*resolver_, "_amazonses.foo.test"), ElementsAre("token value"));
  EXPECT_THAT(Txt(*resolver_, "nowhere.test"), IsEmpty());
  EXPECT_THAT(Txt(*resolver_, "example.com"), IsEmpty());
}

TEST_F(CaresResolverTest, NoReplyTimesOutAsUnavailable) {
  server_.Drop("silent.test");
  auto quick = NewCaresResolver(server_.address(), std::chrono::milliseconds(20));
  EXPECT_EQ(quick->LookupAddresses("silent.test").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(quick->LookupMx("silent.test").status().code(), StatusCode::kUnavailable);
  EXPECT_GE(server_.received(), 2);
}

TEST(CaresResolverNoServerTest, RefusedPortIsUnavailable) {
  // A port nobody listens on: the kernel answers with ICMP port unreachable.
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);
  auto r = NewCaresResolver("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)),
                            std::chrono::milliseconds(200));
  EXPECT_EQ(r->LookupMx("example.com").status().code(), StatusCode::kUnavailable);
}

TEST(CaresResolverNoServerTest, BadServerAddressIsInvalidArgument) {
  auto r = NewCaresResolver("not an address", std::chrono::milliseconds(200));
  EXPECT_EQ(r->LookupMx("example.com").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace herald::dns
