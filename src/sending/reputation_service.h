// sending/reputation_service.h: the reputation machinery at run time. It counts each
// account's eligible sends, hard bounces and complaints in representative windows
// (reputation/window.h), runs the enforcement state machine over them
// (reputation/enforcement.h), keeps review cases and notices, and holds suspect bursts of
// hard bounces back (reputation/suppression_guard.h) before anything downstream (the
// suppression recorder) sees them.
//
// Contract:
// - OnSend: a recipient is eligible unless it is a mailbox simulator address, was stopped
//   by the account suppression list, or is covered by one of the account's verified
//   domain identities (cached for identity_cache_ttl). Eligible sends count in the
//   account's window and, for a message sent through a configuration set, in the set's
//   window; those to a domain of fbl_domains (or a subdomain) also count toward the
//   complaint rate's denominator. Downstream hears every send.
// - OnOutcomes: a complaint counts at once when the recipient is at a feedback-loop
//   domain (others are direct complaints: passed on, not counted); a hard bounce passes
//   the suppression guard
//   first (held for guard.window; a suspect burst is held until an operator confirms or
//   releases it), except herald's own global-suppression-list bounces. Outcomes count
//   against the bucket of the send they belong to (sent_at) when the recipient was
//   eligible; downstream hears them when they count (or would have: a bounce for an
//   own-domain recipient is still suppressed).
// - Tick(now) releases held bounces, evaluates the accounts touched since the last tick
//   and those with a pending deadline, saves changed buckets and states, and prunes the
//   windows once an hour. Start() runs it every tick_interval on a thread. Counts recorded
//   after the last save are lost by a crash (at most one tick's worth).
// - Each enforcement transition is saved (ReputationStore::PutReputation also sets the
//   account's EnforcementStatus), opens or updates the account's review case, and its
//   notice (reputation/notice.h) is stored and handed to the NoticeSink (an event and a
//   mail to the account's contact address, wired in server.cc). An account paused (or
//   suspended) for suppression_purge_after loses its account suppression list, once per
//   pause.
// - A review case holds the figures at each transition and once a day while it is open
//   (figures_over_time), up to samples_per_case recent
//   messages that bounced or drew complaints, the sender's answers, and the decision.
//   Accept() is a fresh start from the answers' effective date (or now): the account and
//   its sets' windows forget earlier sends, and the account becomes healthy.
// Thread-safety: every method is safe from any thread (one mutex; store calls are made
// under it, so keep the store fast).
// Trust: outcome diagnostics and samples come from remote servers and are stored and
// shown as text, never interpreted; operator and sender texts are stored as given
// (bounded).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "reputation/enforcement.h"
#include "reputation/notice.h"
#include "reputation/suppression_guard.h"
#include "reputation/window.h"
#include "sending/outcome_observer.h"
#include "store/reputation_store.h"
#include "store/store.h"

namespace herald::sending {

struct ReputationConfig {
  reputation::WindowPolicy window;
  reputation::EnforcementPolicy enforcement;
  reputation::GuardPolicy guard;
  // Domains that return feedback-loop (ARF) complaints; a subdomain matches its parent.
  std::vector<std::string> fbl_domains;
  std::chrono::milliseconds tick_interval{1000};
  std::chrono::seconds identity_cache_ttl{60};
  size_t samples_per_case = 10;
  // The account suppression list of an account paused (or suspended) this long is deleted
  // (SES: after 90 days).
  std::chrono::hours suppression_purge_after{24 * 90};
  size_t notices_listed = 20;  // Describe() shows this many recent notices
};

// Where notices go besides the store: the wiring publishes an event and mails the account's
// contact address.
using NoticeSink = std::function<void(const store::Account& account,
                                      const reputation::Notice& notice, int64_t notice_id)>;

// A sender's answers to the three questions, with the date its changes took effect.
struct ReviewAnswers {
  std::string root_cause;
  std::string changes;
  std::string prevention;
  std::optional<SysTime> effective;  // when the changes took effect; none: when accepted
};

class ReputationService final : public OutcomeObserver {
 public:
  // `downstream` (may be null) hears every send and every outcome that passed the guard.
  // `store` gives accounts, identities and configuration sets, and keeps what this service
  // saves (its ReputationStore part).
  ReputationService(ReputationConfig config, Clock& clock, store::Store& store, NoticeSink notices,
                    OutcomeObserver* downstream);
  ~ReputationService() override;

  void OnSend(const SendFacts& send) override;
  void OnOutcomes(const std::vector<OutcomeFacts>& outcomes) override;

  void Tick(SysTime now);
  void Start();
  void Stop();  // runs a last Tick

  // The account's reputation as the CLI and the admin API show it: state, API status,
  // figures, per-metric status, deadlines, the open review case, recent notices, and the
  // configuration sets' figures.
  StatusOr<nlohmann::json> Describe(int64_t account_id);
  // Review cases (open and closed) of one account, newest first, as JSON.
  StatusOr<nlohmann::json> Cases(int64_t account_id);

  // Operator and sender actions. Each returns the notice it produced (kind "" when the
  // state did not change) as JSON.
  StatusOr<nlohmann::json> Pause(int64_t account_id, const std::string& reason);
  StatusOr<nlohmann::json> Resume(int64_t account_id);
  StatusOr<nlohmann::json> Accept(int64_t account_id);
  StatusOr<nlohmann::json> Reject(int64_t account_id);
  // Stores the answers on the open case (kFailedPrecondition when there is none).
  Status Respond(int64_t account_id, const ReviewAnswers& answers);

  // Suspect bursts held by the suppression guard.
  nlohmann::json SuspectBursts();
  // Confirm: the held bounces count and are suppressed. Release: they are dropped.
  StatusOr<int64_t> ConfirmBurst(uint64_t id);
  StatusOr<int64_t> ReleaseBurst(uint64_t id);

 private:
  struct Entry {
    reputation::RepWindow window;
    std::map<std::string, reputation::RepWindow> sets;  // loaded on first use
    std::set<std::string> loaded_sets;
    std::set<std::string> dirty_sets;
    reputation::AccountState state;
    int64_t purged_for_ms = 0;           // the pause (its `since`) whose list was purged
    bool dirty = false;                  // buckets to save
    bool evaluate = false;               // outcomes or sends since the last evaluation
    std::deque<nlohmann::json> samples;  // recent outcomes, newest last
  };

  // The account's entry, loaded from the store on first use (nullptr when unreadable).
  Entry* Load(int64_t account_id);
  reputation::RepWindow* SetWindow(int64_t account_id, Entry& e, const std::string& set);
  bool Eligible(int64_t account_id, const std::string& address);
  bool IsFbl(const std::string& address) const;
  // Counts released/accepted outcomes and hands them downstream (lock held).
  void Count(const std::vector<OutcomeFacts>& outcomes, std::vector<OutcomeFacts>* forward);
  // Applies transitions: saves the state, the case and the notices (lock held).
  StatusOr<reputation::Notice> Apply(int64_t account_id, Entry& e,
                                     const std::vector<reputation::Transition>& ts,
                                     int64_t* notice_id);
  // Moves the entry's changed buckets into `out` (lock held).
  void TakeDirty(int64_t account_id, Entry& e, std::vector<store::RepBucketBatch>* out);
  Status SaveEntry(int64_t account_id, Entry& e);
  Status SaveState(int64_t account_id, const Entry& e);
  Status NoteFigures(int64_t account_id, Entry& e, SysTime now);
  StatusOr<nlohmann::json> Act(int64_t account_id,
                               const std::function<reputation::Transition(
                                   reputation::AccountState&, const reputation::Figures&)>& act,
                               bool fresh_start);
  void Loop();

  const ReputationConfig config_;
  Clock& clock_;
  store::Store& store_;
  store::ReputationStore& rep_;
  NoticeSink notices_;
  OutcomeObserver* downstream_;

  std::mutex save_mu_;  // taken before mu_: orders the bucket writes (Tick, actions)
  std::mutex mu_;
  std::map<int64_t, Entry> entries_;
  std::map<uint64_t, size_t> saved_bursts_;     // suspect burst id -> items when last saved
  std::vector<store::RepBucketBatch> unsaved_;  // guarded by save_mu_: a failed save's batches
  reputation::SuppressionGuard<OutcomeFacts> guard_;
  struct CachedDomain {
    bool own = false;
    SysTime until;
  };
  std::map<std::pair<int64_t, std::string>, CachedDomain> own_domains_;
  SysTime last_prune_{};

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace herald::sending
