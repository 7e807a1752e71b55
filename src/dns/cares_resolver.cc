#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>

#include <mutex>

#include "base/strings.h"
#include "dns/resolver.h"

namespace herald::dns {
namespace {

std::once_flag g_ares_init;

// One query's outcome: the c-ares status and, on success, a copy of the raw reply.
struct RawReply {
  bool done = false;
  int status = ARES_ETIMEOUT;
  std::vector<unsigned char> buf;
};

void OnReply(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* r = static_cast<RawReply*>(arg);
  r->done = true;
  r->status = status;
  if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) r->buf.assign(abuf, abuf + alen);
}

// What a query said about the name, once the reply is parsed.
enum class Outcome { kAnswer, kNoData, kNxDomain, kBadName, kFailure };

Outcome Classify(int status) {
  switch (status) {
    case ARES_SUCCESS:
      return Outcome::kAnswer;
    case ARES_ENODATA:
      return Outcome::kNoData;
    case ARES_ENOTFOUND:
      return Outcome::kNxDomain;
    case ARES_EBADNAME:
      return Outcome::kBadName;
    default:
      return Outcome::kFailure;
  }
}

// Lower-case, without the trailing dot; the root "." becomes "".
std::string NormalizeName(const char* name) {
  std::string out = AsciiLower(name == nullptr ? "" : name);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

class CaresResolver final : public Resolver {
 public:
  CaresResolver(std::string server, std::chrono::milliseconds timeout)
      : server_(std::move(server)), timeout_(timeout) {}

  StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) override {
    std::vector<RawReply> replies(1);
    RETURN_IF_ERROR(Run(name, {ns_t_txt}, &replies));
    const RawReply& r = replies[0];
    if (r.status == ARES_ENOTFOUND || r.status == ARES_ENODATA) return std::vector<std::string>{};
    if (r.status != ARES_SUCCESS) return Failure("TXT", name, r.status);
    struct ares_txt_ext* head = nullptr;
    const int rc = ares_parse_txt_reply_ext(r.buf.data(), static_cast<int>(r.buf.size()), &head);
    if (rc == ARES_ENODATA) return std::vector<std::string>{};
    if (rc != ARES_SUCCESS) return Failure("TXT", name, rc);
    // Consecutive chunks of one record arrive with record_start == 0 after the first.
    std::vector<std::string> records;
    for (auto* t = head; t != nullptr; t = t->next) {
      std::string chunk(reinterpret_cast<const char*>(t->txt), t->length);
      if (t->record_start || records.empty()) {
        records.push_back(std::move(chunk));
      } else {
        records.back() += chunk;
      }
    }
    ares_free_data(head);
    return records;
  }

  StatusOr<MxAnswer> LookupMx(const std::string& domain) override {
    std::vector<RawReply> replies(1);
    RETURN_IF_ERROR(Run(domain, {ns_t_mx}, &replies));
    const RawReply& r = replies[0];
    MxAnswer answer;
    switch (Classify(r.status)) {
      case Outcome::kAnswer:
        break;
      case Outcome::kNoData:
        return answer;
      case Outcome::kNxDomain:
        answer.nxdomain = true;
        return answer;
      case Outcome::kBadName:
        return InvalidArgumentError("dns: cannot query MX of " + domain);
      case Outcome::kFailure:
        return Failure("MX", domain, r.status);
    }
    struct ares_mx_reply* head = nullptr;
    const int rc = ares_parse_mx_reply(r.buf.data(), static_cast<int>(r.buf.size()), &head);
    if (rc == ARES_ENODATA) return answer;  // an answer without MX records (a CNAME only)
    if (rc != ARES_SUCCESS) return Failure("MX", domain, rc);
    for (auto* mx = head; mx != nullptr; mx = mx->next) {
      answer.records.push_back(MxRecord{mx->priority, NormalizeName(mx->host)});
    }
    ares_free_data(head);
    return answer;
  }

  StatusOr<AddressAnswer> LookupAddresses(const std::string& host) override {
    // AAAA first: the answer lists IPv6 addresses before IPv4 ones.
    std::vector<RawReply> replies(2);
    RETURN_IF_ERROR(Run(host, {ns_t_aaaa, ns_t_a}, &replies));
    AddressAnswer answer;
    int failure = ARES_SUCCESS;
    bool nxdomain = false;
    for (size_t i = 0; i < replies.size(); ++i) {
      const RawReply& r = replies[i];
      const int family = i == 0 ? AF_INET6 : AF_INET;
      switch (Classify(r.status)) {
        case Outcome::kAnswer: {
          const int rc = ParseAddresses(r, family, &answer.addresses);
          if (rc != ARES_SUCCESS && rc != ARES_ENODATA) failure = rc;
          break;
        }
        case Outcome::kNoData:
          break;
        case Outcome::kNxDomain:
          nxdomain = true;
          break;
        case Outcome::kBadName:
          return InvalidArgumentError("dns: cannot query addresses of " + host);
        case Outcome::kFailure:
          failure = r.status;
          break;
      }
    }
    if (!answer.addresses.empty()) return answer;
    if (nxdomain) {
      answer.nxdomain = true;
      return answer;
    }
    if (failure != ARES_SUCCESS) return Failure("A/AAAA", host, failure);
    return answer;
  }

 private:
  static Status Failure(const char* type, const std::string& name, int status) {
    return UnavailableError(std::string("dns: ") + type + " " + name + ": " +
                            ares_strerror(status));
  }

  // Appends the addresses of `family` in a successful reply; returns a c-ares status.
  static int ParseAddresses(const RawReply& r, int family, std::vector<std::string>* out) {
    struct hostent* he = nullptr;
    const int len = static_cast<int>(r.buf.size());
    const int rc = family == AF_INET6
                       ? ares_parse_aaaa_reply(r.buf.data(), len, &he, nullptr, nullptr)
                       : ares_parse_a_reply(r.buf.data(), len, &he, nullptr, nullptr);
    if (rc != ARES_SUCCESS) return rc;
    char text[INET6_ADDRSTRLEN] = {};
    for (char** a = he->h_addr_list; a != nullptr && *a != nullptr; ++a) {
      if (inet_ntop(family, *a, text, sizeof(text)) != nullptr) out->emplace_back(text);
    }
    ares_free_hostent(he);
    return ARES_SUCCESS;
  }

  // Sends one query per type for `name` on a fresh channel and waits for every reply.
  Status Run(const std::string& name, std::initializer_list<int> types,
             std::vector<RawReply>* replies) {
    std::call_once(g_ares_init, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    ares_channel channel;
    struct ares_options opts {};
    opts.timeout = static_cast<int>(timeout_.count());
    opts.tries = 2;
    if (ares_init_options(&channel, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
      return UnavailableError("dns: cannot initialise resolver");
    }
    if (!server_.empty() && ares_set_servers_ports_csv(channel, server_.c_str()) != ARES_SUCCESS) {
      ares_destroy(channel);
      return InvalidArgumentError("dns: bad server address " + server_);
    }
    size_t i = 0;
    for (int type : types) {
      ares_query(channel, name.c_str(), ns_c_in, type, OnReply, &(*replies)[i++]);
    }
    auto pending = [&] {
      for (const auto& r : *replies) {
        if (!r.done) return true;
      }
      return false;
    };
    while (pending()) {
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      std::vector<pollfd> fds;
      for (int s = 0; s < ARES_GETSOCK_MAXNUM; ++s) {
        short ev = 0;
        if (ARES_GETSOCK_READABLE(bits, s)) ev |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, s)) ev |= POLLOUT;
        if (ev != 0) fds.push_back(pollfd{socks[s], ev, 0});
      }
      if (fds.empty()) break;  // nothing in flight: the unanswered stay ARES_ETIMEOUT
      struct timeval tv {};
      struct timeval* tvp = ares_timeout(channel, nullptr, &tv);
      int ms = tvp ? static_cast<int>(tvp->tv_sec * 1000 + tvp->tv_usec / 1000) : 1000;
      int ready = poll(fds.data(), fds.size(), ms);
      if (ready <= 0) {
        ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
        continue;
      }
      // ares_process_fd rather than ares_process: fd_set cannot hold descriptors >= 1024.
      for (const auto& p : fds) {
        ares_socket_t rfd = (p.revents & (POLLIN | POLLERR | POLLHUP)) ? p.fd : ARES_SOCKET_BAD;
        ares_socket_t wfd = (p.revents & POLLOUT) ? p.fd : ARES_SOCKET_BAD;
        if (rfd != ARES_SOCKET_BAD || wfd != ARES_SOCKET_BAD) ares_process_fd(channel, rfd, wfd);
      }
    }
    // Destroying the channel completes anything still pending with ARES_EDESTRUCTION.
    ares_destroy(channel);
    return Status::Ok();
  }

  const std::string server_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<Resolver> NewCaresResolver(const std::string& server,
                                           std::chrono::milliseconds timeout) {
  return std::make_unique<CaresResolver>(server, timeout);
}

}  // namespace herald::dns
