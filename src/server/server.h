// server/server.h: wiring from a Config to running objects, and their lifecycle.
//
// Contract: Create() opens the data directory (mode 0700), the SQLite store, the spool
// and the event log, replays what a crash left unfinished (SendingServiceImpl::Recover),
// and builds the API and SMTP doors and, with feedback.listen set, the feedback MX (its
// sent-message index first replayed from events.jsonl); Start() queues the feedback mail
// a crash left unprocessed, binds the listeners and writes <data_dir>/ready.json with the
// bound addresses; Stop() drains: the listeners stop accepting, requests and SMTP
// transactions in flight finish, then everything closes.
// Every message acknowledged before Stop() returns is in the spool.
// Thread-safety: Create/Start/Stop from the main thread only.
// Trust: the configuration has been validated; the network is hostile (the doors handle it).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "server/config.h"
#include "store/store.h"

namespace herald::server {

class Server {
 public:
  virtual ~Server() = default;
  static StatusOr<std::unique_ptr<Server>> Create(const Config& config);
  virtual Status Start() = 0;
  virtual void Stop() = 0;
  virtual std::string HttpAddress() const = 0;
  virtual std::string SmtpAddress() const = 0;
};

// Creates the data directory (0700) when missing and opens the store in it.
StatusOr<std::unique_ptr<store::Store>> OpenStore(const Config& config);

}  // namespace herald::server
