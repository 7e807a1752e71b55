#include <ares.h>
#include <arpa/nameser.h>
#include <poll.h>

#include <mutex>

#include "dns/resolver.h"

namespace herald::dns {
namespace {

std::once_flag g_ares_init;

struct TxtQuery {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<std::string> records;
};

void OnTxt(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* q = static_cast<TxtQuery*>(arg);
  q->done = true;
  q->status = status;
  if (status != ARES_SUCCESS) return;
  struct ares_txt_ext* head = nullptr;
  int rc = ares_parse_txt_reply_ext(abuf, alen, &head);
  if (rc != ARES_SUCCESS) {
    q->status = rc;
    return;
  }
  // Consecutive chunks of one record arrive with record_start == 0 after the first.
  for (auto* t = head; t != nullptr; t = t->next) {
    std::string chunk(reinterpret_cast<const char*>(t->txt), t->length);
    if (t->record_start || q->records.empty()) {
      q->records.push_back(std::move(chunk));
    } else {
      q->records.back() += chunk;
    }
  }
  ares_free_data(head);
}

class CaresResolver final : public Resolver {
 public:
  CaresResolver(std::string server, std::chrono::milliseconds timeout)
      : server_(std::move(server)), timeout_(timeout) {}

  StatusOr<std::vector<std::string>> LookupTxt(const std::string& name) override {
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
    TxtQuery q;
    ares_query(channel, name.c_str(), ns_c_in, ns_t_txt, OnTxt, &q);
    while (!q.done) {
      ares_socket_t socks[ARES_GETSOCK_MAXNUM];
      int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
      std::vector<pollfd> fds;
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short ev = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) ev |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) ev |= POLLOUT;
        if (ev != 0) fds.push_back(pollfd{socks[i], ev, 0});
      }
      if (fds.empty()) break;
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
    ares_destroy(channel);
    if (q.status == ARES_ENOTFOUND || q.status == ARES_ENODATA) return std::vector<std::string>{};
    if (q.status != ARES_SUCCESS) {
      return UnavailableError(std::string("dns: TXT ") + name + ": " + ares_strerror(q.status));
    }
    return q.records;
  }

 private:
  const std::string server_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace

std::unique_ptr<Resolver> NewCaresResolver(const std::string& server,
                                           std::chrono::milliseconds timeout) {
  return std::make_unique<CaresResolver>(server, timeout);
}

}  // namespace herald::dns
