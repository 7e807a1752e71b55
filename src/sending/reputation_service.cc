#include "sending/reputation_service.h"

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "base/strings.h"

namespace herald::sending {

using reputation::AccountState;
using reputation::Figures;
using reputation::Notice;
using reputation::RepWindow;
using reputation::State;
using reputation::Transition;

namespace {

constexpr size_t kMaxAnswerBytes = 8192;

std::string DomainOf(const std::string& address) {
  size_t at = address.rfind('@');
  return at == std::string::npos ? std::string() : AsciiLower(address.substr(at + 1));
}

int64_t Ms(SysTime t) { return UnixMillis(t); }

std::vector<store::RepBucketRow> ToRows(const std::vector<reputation::Bucket>& buckets) {
  std::vector<store::RepBucketRow> rows;
  rows.reserve(buckets.size());
  for (const auto& b : buckets) {
    rows.push_back({b.hour, b.sends, b.fbl_sends, b.hard_bounces, b.complaints, b.first_sent_ms});
  }
  return rows;
}

std::vector<reputation::Bucket> FromRows(const std::vector<store::RepBucketRow>& rows) {
  std::vector<reputation::Bucket> buckets;
  buckets.reserve(rows.size());
  for (const auto& r : rows) {
    reputation::Bucket b;
    b.hour = r.hour;
    b.sends = r.sends;
    b.fbl_sends = r.fbl_sends;
    b.hard_bounces = r.hard_bounces;
    b.complaints = r.complaints;
    b.first_sent_ms = r.first_sent_ms;
    buckets.push_back(b);
  }
  return buckets;
}

nlohmann::json FiguresJson(const Figures& f) {
  return {{"eligible_sends", f.sends},
          {"fbl_sends", f.fbl_sends},
          {"hard_bounces", f.hard_bounces},
          {"complaints", f.complaints},
          {"bounce_rate", f.bounce_rate},
          {"complaint_rate", f.complaint_rate},
          {"bounce_rate_text", reputation::FormatPercent(f.bounce_rate)},
          {"complaint_rate_text", reputation::FormatPercent(f.complaint_rate)},
          {"covered_days", f.covered_days},
          {"oldest_send", f.sends > 0 ? FormatIso8601Millis(f.oldest_send) : ""}};
}

std::string TimeOrEmpty(SysTime t) { return Ms(t) == 0 ? "" : FormatIso8601Millis(t); }

// AccountState <-> JSON (the store keeps it as text).
nlohmann::json StateJson(const AccountState& s) {
  nlohmann::json pauses = nlohmann::json::array();
  for (SysTime p : s.pauses) pauses.push_back(Ms(p));
  return {{"state", reputation::StateName(s.state)},
          {"since", Ms(s.since)},
          {"review_deadline", Ms(s.review_deadline)},
          {"pause_at", Ms(s.pause_at)},
          {"pauses", std::move(pauses)},
          {"cause", s.cause},
          {"operator_hold", s.operator_hold},
          {"reason", s.reason}};
}

AccountState StateFromJson(const nlohmann::json& j) {
  AccountState s;
  if (!j.is_object()) return s;
  s.state = reputation::StateFromName(j.value("state", "healthy")).value_or(State::kHealthy);
  s.since = FromUnixMillis(j.value("since", int64_t{0}));
  s.review_deadline = FromUnixMillis(j.value("review_deadline", int64_t{0}));
  s.pause_at = FromUnixMillis(j.value("pause_at", int64_t{0}));
  if (auto p = j.find("pauses"); p != j.end() && p->is_array()) {
    for (const auto& v : *p) {
      if (v.is_number_integer()) s.pauses.push_back(FromUnixMillis(v.get<int64_t>()));
    }
  }
  s.cause = j.value("cause", "");
  s.operator_hold = j.value("operator_hold", false);
  s.reason = j.value("reason", "");
  return s;
}

// OutcomeFacts <-> JSON, for suspect bursts kept in the store.
nlohmann::json FactsJson(const OutcomeFacts& f) {
  return {{"kind", f.kind == OutcomeFacts::Kind::kHardBounce ? "hard_bounce" : "complaint"},
          {"account_id", f.account_id},
          {"configuration_set", f.configuration_set},
          {"message_id", f.message_id},
          {"sent_at", Ms(f.sent_at)},
          {"at", Ms(f.at)},
          {"recipient", f.recipient},
          {"feedback_id", f.feedback_id},
          {"bounce_sub_type", f.bounce_sub_type},
          {"status", f.status},
          {"diagnostic", f.diagnostic},
          {"feedback_type", f.feedback_type},
          {"sample", f.sample}};
}

OutcomeFacts FactsFromJson(const nlohmann::json& j) {
  OutcomeFacts f;
  f.kind = j.value("kind", "") == "complaint" ? OutcomeFacts::Kind::kComplaint
                                              : OutcomeFacts::Kind::kHardBounce;
  f.account_id = j.value("account_id", int64_t{0});
  f.configuration_set = j.value("configuration_set", "");
  f.message_id = j.value("message_id", "");
  f.sent_at = FromUnixMillis(j.value("sent_at", int64_t{0}));
  f.at = FromUnixMillis(j.value("at", int64_t{0}));
  f.recipient = j.value("recipient", "");
  f.feedback_id = j.value("feedback_id", "");
  f.bounce_sub_type = j.value("bounce_sub_type", "");
  f.status = j.value("status", "");
  f.diagnostic = j.value("diagnostic", "");
  f.feedback_type = j.value("feedback_type", "");
  f.sample = j.value("sample", "");
  return f;
}

nlohmann::json GuardCaseJson(const reputation::GuardCaseInfo& info,
                             const std::vector<OutcomeFacts>& items) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& f : items) list.push_back(FactsJson(f));
  return {{"id", info.id},
          {"destination", info.destination},
          {"shape", info.shape},
          {"sample", info.sample},
          {"opened", Ms(info.opened)},
          {"last", Ms(info.last)},
          {"recipients", info.recipients},
          {"items", std::move(list)}};
}

nlohmann::json NoticeJson(const Notice& n, int64_t id, SysTime at) {
  return {{"id", id},
          {"kind", n.kind},
          {"subject", n.subject},
          {"text", n.text},
          {"metric", n.metric},
          {"created", FormatIso8601Millis(at)},
          {"figures", FiguresJson(n.figures)}};
}

std::string Bounded(const std::string& s) {
  if (s.size() <= kMaxAnswerBytes) return s;
  size_t cut = kMaxAnswerBytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

}  // namespace

ReputationService::ReputationService(ReputationConfig config, Clock& clock, store::Store& store,
                                     NoticeSink notices, OutcomeObserver* downstream)
    : config_(std::move(config)),
      clock_(clock),
      store_(store),
      rep_(store),
      notices_(std::move(notices)),
      downstream_(downstream),
      guard_(config_.guard) {
  // Suspect bursts an earlier run left open.
  auto cases = rep_.ListGuardCases();
  if (!cases.ok()) {
    LogError("suspect bursts not loaded", {{"error", cases.status().ToString()}});
    return;
  }
  for (const auto& [id, text] : *cases) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object()) continue;
    reputation::GuardCaseInfo info;
    info.id = id;
    info.destination = j.value("destination", "");
    info.shape = j.value("shape", "");
    info.sample = j.value("sample", "");
    info.opened = FromUnixMillis(j.value("opened", int64_t{0}));
    info.last = FromUnixMillis(j.value("last", int64_t{0}));
    if (auto r = j.find("recipients"); r != j.end() && r->is_array()) {
      for (const auto& a : *r) {
        if (a.is_string()) info.recipients.push_back(a.get<std::string>());
      }
    }
    std::vector<OutcomeFacts> items;
    if (auto it = j.find("items"); it != j.end() && it->is_array()) {
      for (const auto& f : *it) items.push_back(FactsFromJson(f));
    }
    guard_.Restore(std::move(info), std::move(items));
  }
}

ReputationService::~ReputationService() { Stop(); }

ReputationService::Entry* ReputationService::Load(int64_t account_id) {
  auto it = entries_.find(account_id);
  if (it != entries_.end()) return &it->second;
  auto rep = rep_.GetReputation(account_id);
  if (!rep.ok()) {
    LogError("reputation not loaded",
             {{"account_id", std::to_string(account_id)}, {"error", rep.status().ToString()}});
    return nullptr;
  }
  auto rows = rep_.LoadRepBuckets(account_id, "");
  if (!rows.ok()) {
    LogError("reputation not loaded",
             {{"account_id", std::to_string(account_id)}, {"error", rows.status().ToString()}});
    return nullptr;
  }
  Entry e;
  SysTime fresh{};
  if (rep->has_value()) {
    fresh = (*rep)->fresh_start;
    nlohmann::json j = nlohmann::json::parse((*rep)->state_json, nullptr, false);
    e.state = StateFromJson(j);
    if (j.is_object()) e.purged_for_ms = j.value("suppression_purged_for", int64_t{0});
  }
  e.window = RepWindow::FromBuckets(FromRows(*rows), fresh);
  // Accounts with a pending deadline are evaluated on the next tick.
  e.evaluate = e.state.state != State::kHealthy;
  return &entries_.emplace(account_id, std::move(e)).first->second;
}

RepWindow* ReputationService::SetWindow(int64_t account_id, Entry& e, const std::string& set) {
  if (set.empty()) return nullptr;
  if (e.loaded_sets.insert(set).second) {
    auto rows = rep_.LoadRepBuckets(account_id, set);
    SysTime fresh = e.window.fresh_start();
    auto cs = store_.GetConfigurationSet(account_id, set);
    if (cs.ok() && Ms(cs->last_fresh_start) > Ms(fresh)) fresh = cs->last_fresh_start;
    e.sets[set] = rows.ok() ? RepWindow::FromBuckets(FromRows(*rows), fresh) : RepWindow();
    if (!rows.ok()) {
      LogError("set reputation not loaded", {{"set", set}, {"error", rows.status().ToString()}});
    }
  }
  return &e.sets[set];
}

bool ReputationService::IsFbl(const std::string& address) const {
  const std::string domain = DomainOf(address);
  for (const std::string& d : config_.fbl_domains) {
    if (domain == d || (domain.size() > d.size() && domain.ends_with(d) &&
                        domain[domain.size() - d.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

bool ReputationService::Eligible(int64_t account_id, const std::string& address) {
  const std::string domain = DomainOf(address);
  if (domain.empty()) return false;
  const SysTime now = clock_.Now();
  auto key = std::make_pair(account_id, domain);
  auto it = own_domains_.find(key);
  if (it == own_domains_.end() || it->second.until <= now) {
    auto found = store::FindDomainIdentity(store_, account_id, domain);
    bool own = false;
    if (found.ok()) {
      own = found->has_value() && (*found)->status == store::VerificationStatus::kSuccess;
    } else {
      LogWarn("identity lookup failed", {{"error", found.status().ToString()}});
    }
    if (own_domains_.size() > 100000) own_domains_.clear();
    it = own_domains_.insert_or_assign(key, CachedDomain{own, now + config_.identity_cache_ttl})
             .first;
  }
  return !it->second.own;
}

void ReputationService::OnSend(const SendFacts& send) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Entry* e = Load(send.account_id);
    if (e != nullptr) {
      int64_t eligible = 0;
      int64_t fbl = 0;
      for (const SentRecipient& r : send.recipients) {
        if (r.simulator || r.suppressed || !Eligible(send.account_id, r.address)) continue;
        ++eligible;
        if (IsFbl(r.address)) ++fbl;
        guard_.Sent(r.address, send.sent_at);
      }
      if (eligible > 0) {
        e->window.RecordSends(send.sent_at, eligible, fbl);
        if (RepWindow* w = SetWindow(send.account_id, *e, send.configuration_set)) {
          w->RecordSends(send.sent_at, eligible, fbl);
          e->dirty_sets.insert(send.configuration_set);
        }
        e->dirty = true;
        e->evaluate = true;
      }
    }
  }
  if (downstream_ != nullptr) downstream_->OnSend(send);
}

void ReputationService::OnOutcomes(const std::vector<OutcomeFacts>& outcomes) {
  std::vector<OutcomeFacts> forward;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<OutcomeFacts> now;
    for (const OutcomeFacts& f : outcomes) {
      // herald's own global-list bounces are no remote fault: no burst to guard against.
      if (f.kind == OutcomeFacts::Kind::kHardBounce && f.bounce_sub_type != "Suppressed") {
        guard_.Offer(f.recipient, f.diagnostic, f.sent_at, f.at, f);
      } else {
        now.push_back(f);
      }
    }
    Count(now, &forward);
  }
  if (downstream_ != nullptr && !forward.empty()) downstream_->OnOutcomes(forward);
}

void ReputationService::Count(const std::vector<OutcomeFacts>& outcomes,
                              std::vector<OutcomeFacts>* forward) {
  for (const OutcomeFacts& f : outcomes) {
    forward->push_back(f);
    Entry* e = Load(f.account_id);
    if (e == nullptr || !Eligible(f.account_id, f.recipient)) continue;
    const bool hard = f.kind == OutcomeFacts::Kind::kHardBounce;
    // The complaint rate is over sends to feedback-loop domains: a complaint from anywhere
    // else (a direct complaint) is passed on but not counted.
    if (!hard && !IsFbl(f.recipient)) continue;
    bool counted =
        hard ? e->window.RecordHardBounce(f.sent_at) : e->window.RecordComplaint(f.sent_at);
    if (RepWindow* w = SetWindow(f.account_id, *e, f.configuration_set)) {
      if (hard ? w->RecordHardBounce(f.sent_at) : w->RecordComplaint(f.sent_at)) {
        e->dirty_sets.insert(f.configuration_set);
      }
    }
    if (!counted) continue;
    e->dirty = true;
    e->evaluate = true;
    nlohmann::json sample = {{"kind", hard ? "hard_bounce" : "complaint"},
                             {"message_id", f.message_id},
                             {"recipient", f.recipient},
                             {"at", FormatIso8601Millis(f.at)},
                             {"sent_at", FormatIso8601Millis(f.sent_at)},
                             {"configuration_set", f.configuration_set},
                             {"detail", hard ? f.diagnostic : f.feedback_type},
                             {"message_start", f.sample}};
    e->samples.push_back(std::move(sample));
    while (e->samples.size() > config_.samples_per_case) e->samples.pop_front();
  }
}

// The figures over time: an open case gets a snapshot at most once a day between
// transitions (Tick calls this hourly).
Status ReputationService::NoteFigures(int64_t account_id, Entry& e, SysTime now) {
  ASSIGN_OR_RETURN(auto cases, rep_.ListReviewCases(account_id, 1));
  if (cases.empty() || cases[0].status != "open") return Status::Ok();
  store::ReviewCaseRow c = cases[0];
  nlohmann::json j = nlohmann::json::parse(c.json, nullptr, false);
  if (!j.is_object()) return Status::Ok();
  nlohmann::json& figures = j["figures_over_time"];
  if (!figures.is_array()) figures = nlohmann::json::array();
  const int64_t last = figures.empty() ? Ms(c.updated) : figures.back().value("at_ms", int64_t{0});
  if (Ms(now) - last < 24 * 3600 * 1000) return Status::Ok();
  nlohmann::json snap = FiguresJson(e.window.Measure(now, config_.window));
  snap["at"] = FormatIso8601Millis(now);
  snap["at_ms"] = Ms(now);
  figures.push_back(std::move(snap));
  c.json = j.dump();
  c.updated = now;
  return rep_.UpdateReviewCase(c);
}

Status ReputationService::SaveState(int64_t account_id, const Entry& e) {
  store::ReputationRow row;
  nlohmann::json state = StateJson(e.state);
  state["suppression_purged_for"] = e.purged_for_ms;
  row.state_json = state.dump();
  row.state_name = reputation::StateName(e.state.state);
  row.fresh_start = e.window.fresh_start();
  return rep_.PutReputation(account_id, row, reputation::ApiEnforcementStatus(e.state.state));
}

void ReputationService::TakeDirty(int64_t account_id, Entry& e,
                                  std::vector<store::RepBucketBatch>* out) {
  if (e.dirty) {
    out->push_back({account_id, "", ToRows(e.window.TakeDirty()), e.window.dropped_before_hour()});
    e.dirty = false;
  }
  for (const std::string& set : e.dirty_sets) {
    RepWindow& w = e.sets[set];
    out->push_back({account_id, set, ToRows(w.TakeDirty()), w.dropped_before_hour()});
  }
  e.dirty_sets.clear();
}

Status ReputationService::SaveEntry(int64_t account_id, Entry& e) {
  std::vector<store::RepBucketBatch> batches;
  TakeDirty(account_id, e, &batches);
  return rep_.SaveRepBucketsMany(batches);
}

StatusOr<Notice> ReputationService::Apply(int64_t account_id, Entry& e,
                                          const std::vector<Transition>& ts, int64_t* notice_id) {
  Notice last;
  *notice_id = 0;
  if (ts.empty()) return last;
  ASSIGN_OR_RETURN(store::Account account, store_.GetAccount(account_id));
  RETURN_IF_ERROR(SaveState(account_id, e));
  // The review case: opened when enforcement starts, noted at each transition, closed when
  // the account is healthy again.
  ASSIGN_OR_RETURN(auto cases, rep_.ListReviewCases(account_id, 1));
  std::optional<store::ReviewCaseRow> open;
  if (!cases.empty() && cases[0].status == "open") open = cases[0];
  for (const Transition& t : ts) {
    Notice n = reputation::NoticeFor(t, account.name, config_.enforcement);
    int64_t id = 0;
    if (!n.kind.empty()) {
      store::NoticeRow nr;
      nr.account_id = account_id;
      nr.created = t.at;
      nr.kind = n.kind;
      nr.subject = n.subject;
      nr.text = n.text;
      nr.json = NoticeJson(n, 0, t.at).dump();
      ASSIGN_OR_RETURN(id, rep_.AddNotice(nr));
    }
    nlohmann::json step = {{"at", FormatIso8601Millis(t.at)},
                           {"from", reputation::StateName(t.from)},
                           {"to", reputation::StateName(t.to)},
                           {"trigger", reputation::TriggerName(t.trigger)},
                           {"cause", t.cause},
                           {"figures", FiguresJson(t.figures)}};
    if (!t.reason.empty()) step["reason"] = t.reason;
    if (!open && t.to != State::kHealthy && t.from != t.to) {
      store::ReviewCaseRow c;
      c.account_id = account_id;
      c.opened = t.at;
      c.updated = t.at;
      c.status = "open";
      nlohmann::json samples = nlohmann::json::array();
      for (const auto& s : e.samples) samples.push_back(s);
      c.json = nlohmann::json({{"cause", t.cause},
                               {"history", nlohmann::json::array()},
                               {"samples", std::move(samples)},
                               {"answers", nullptr},
                               {"decision", nullptr}})
                   .dump();
      ASSIGN_OR_RETURN(c.id, rep_.CreateReviewCase(c));
      open = c;
    }
    if (open) {
      nlohmann::json j = nlohmann::json::parse(open->json, nullptr, false);
      if (!j.is_object()) j = nlohmann::json::object();
      j["history"].push_back(step);
      if (!n.kind.empty()) j["notices"].push_back(id);
      open->updated = t.at;
      if (t.to == State::kHealthy) {
        open->status = t.trigger == reputation::Trigger::kReinstatementAccepted ? "accepted"
                       : t.trigger == reputation::Trigger::kOperatorResume      ? "resumed"
                                                                                : "healed";
        j["decision"] = {{"outcome", open->status}, {"at", FormatIso8601Millis(t.at)}};
      } else if (t.trigger == reputation::Trigger::kReinstatementRejected) {
        j["decision"] = {{"outcome", "rejected"}, {"at", FormatIso8601Millis(t.at)}};
      }
      open->json = j.dump();
      RETURN_IF_ERROR(rep_.UpdateReviewCase(*open));
      if (open->status != "open") open.reset();
    }
    LogInfo("enforcement state changed",
            {{"account", account.name},
             {"from", reputation::StateName(t.from)},
             {"to", reputation::StateName(t.to)},
             {"trigger", reputation::TriggerName(t.trigger)},
             {"bounce_rate", reputation::FormatPercent(t.figures.bounce_rate)},
             {"complaint_rate", reputation::FormatPercent(t.figures.complaint_rate)}});
    if (!n.kind.empty() && notices_) notices_(account, n, id);
    last = std::move(n);
    *notice_id = id;
  }
  return last;
}

void ReputationService::Tick(SysTime now) {
  std::vector<OutcomeFacts> forward;
  // The changed buckets of every account are written in one transaction after mu_ is
  // released, so that sends and outcomes are not held up by the sync. save_mu_ keeps the
  // writes in the order their snapshots were taken.
  std::lock_guard<std::mutex> save_lock(save_mu_);
  std::vector<store::RepBucketBatch> batches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Count(guard_.Release(now), &forward);
    const bool prune = now - last_prune_ >= std::chrono::hours(1);
    if (prune) last_prune_ = now;
    for (auto& [id, e] : entries_) {
      if (prune) {
        e.window.Prune(now, config_.window);
        for (auto& [name, w] : e.sets) w.Prune(now, config_.window);
        e.dirty = true;
        if (e.state.state != State::kHealthy) {
          Status noted = NoteFigures(id, e, now);
          if (!noted.ok()) LogError("review case not updated", {{"error", noted.ToString()}});
        }
      }
      TakeDirty(id, e, &batches);
      // SES deletes the suppression list of an account paused for 90 days.
      if ((e.state.state == State::kPaused || e.state.state == State::kSuspended) &&
          e.purged_for_ms != Ms(e.state.since) &&
          now - e.state.since >= config_.suppression_purge_after) {
        auto n = store_.DeleteAllSuppressedDestinations(id);
        if (n.ok()) {
          e.purged_for_ms = Ms(e.state.since);
          LogInfo("suppression list of a long-paused account deleted",
                  {{"account_id", std::to_string(id)}, {"entries", std::to_string(*n)}});
          Status saved = SaveState(id, e);
          if (!saved.ok()) LogError("reputation not saved", {{"error", saved.ToString()}});
        } else {
          LogError("suppression list not purged", {{"error", n.status().ToString()}});
        }
      }
      if (!e.evaluate && e.state.state == State::kHealthy) continue;
      e.evaluate = false;
      const Figures f = e.window.Measure(now, config_.window);
      std::vector<Transition> ts = reputation::Evaluate(e.state, f, now, config_.enforcement);
      int64_t notice_id = 0;
      auto applied = Apply(id, e, ts, &notice_id);
      if (!applied.ok()) {
        LogError("enforcement change not saved", {{"error", applied.status().ToString()}});
      }
    }
    // Suspect bursts: saved (when they changed) so that a restart keeps them.
    for (const auto& info : guard_.Cases()) {
      size_t& saved = saved_bursts_[info.id];
      if (saved == info.held) continue;
      const auto* items = guard_.CaseItems(info.id);
      Status st = rep_.PutGuardCase(info.id, GuardCaseJson(info, *items).dump());
      if (!st.ok()) {
        LogError("suspect burst not saved", {{"error", st.ToString()}});
      } else {
        saved = info.held;
      }
    }
  }
  // Batches a failed save left are written first (upserts of whole buckets, so the newer
  // snapshots that follow win).
  unsaved_.insert(unsaved_.end(), std::make_move_iterator(batches.begin()),
                  std::make_move_iterator(batches.end()));
  Status st = rep_.SaveRepBucketsMany(unsaved_);
  if (st.ok()) {
    unsaved_.clear();
  } else {
    LogError("reputation not saved; retried at the next tick", {{"error", st.ToString()}});
  }
  if (downstream_ != nullptr && !forward.empty()) downstream_->OnOutcomes(forward);
}

void ReputationService::Start() {
  std::lock_guard<std::mutex> lock(loop_mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ReputationService::Stop() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  loop_cv_.notify_all();
  thread_.join();
  Tick(clock_.Now());
}

void ReputationService::Loop() {
  std::unique_lock<std::mutex> lock(loop_mu_);
  while (!stopping_) {
    loop_cv_.wait_for(lock, config_.tick_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Tick(clock_.Now());
    lock.lock();
  }
}

StatusOr<nlohmann::json> ReputationService::Describe(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Load(account_id);
  if (e == nullptr) return UnavailableError("reputation unavailable");
  const SysTime now = clock_.Now();
  const Figures f = e->window.Measure(now, config_.window);
  const AccountState& s = e->state;
  nlohmann::json out = {
      {"state", reputation::StateName(s.state)},
      {"enforcement_status", reputation::ApiEnforcementStatus(s.state)},
      {"sending_allowed_by_enforcement", reputation::SendingAllowed(s.state)},
      {"since", TimeOrEmpty(s.since)},
      {"cause", s.cause},
      {"figures", FiguresJson(f)},
      {"metrics",
       {{"bounce",
         reputation::MetricStatusName(reputation::BounceStatus(s, f, config_.enforcement))},
        {"complaint",
         reputation::MetricStatusName(reputation::ComplaintStatus(s, f, config_.enforcement))}}},
      {"fresh_start", TimeOrEmpty(e->window.fresh_start())}};
  if (s.state == State::kUnderReview) out["review_deadline"] = TimeOrEmpty(s.review_deadline);
  if (s.state == State::kPendingSendingPause || s.state == State::kPendingEndOfReviewDecision) {
    out["pause_at"] = TimeOrEmpty(s.pause_at);
  }
  if (!s.reason.empty()) out["operator_reason"] = s.reason;
  nlohmann::json sets = nlohmann::json::object();
  // Configuration sets with ReputationMetricsEnabled (every set's sends are counted, so
  // turning the option on shows the history at once).
  for (auto& [name, w] : e->sets) {
    auto cs = store_.GetConfigurationSet(account_id, name);
    if (!cs.ok() || !cs->reputation_metrics_enabled) continue;
    nlohmann::json j = FiguresJson(w.Measure(now, config_.window));
    j["last_fresh_start"] = TimeOrEmpty(cs->last_fresh_start);
    sets[name] = std::move(j);
  }
  out["configuration_sets"] = std::move(sets);
  ASSIGN_OR_RETURN(auto cases, rep_.ListReviewCases(account_id, 1));
  if (!cases.empty() && cases[0].status == "open") {
    nlohmann::json c = nlohmann::json::parse(cases[0].json, nullptr, false);
    c["id"] = cases[0].id;
    c["opened"] = FormatIso8601Millis(cases[0].opened);
    c["status"] = cases[0].status;
    out["review_case"] = std::move(c);
  }
  ASSIGN_OR_RETURN(auto notices,
                   rep_.ListNotices(account_id, static_cast<int>(config_.notices_listed)));
  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : notices) {
    nlohmann::json j = nlohmann::json::parse(n.json, nullptr, false);
    if (!j.is_object()) j = nlohmann::json::object();
    j["id"] = n.id;
    j["kind"] = n.kind;
    j["subject"] = n.subject;
    j["text"] = n.text;
    j["created"] = FormatIso8601Millis(n.created);
    list.push_back(std::move(j));
  }
  out["notices"] = std::move(list);
  return out;
}

StatusOr<nlohmann::json> ReputationService::Cases(int64_t account_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto cases, rep_.ListReviewCases(account_id, store::kMaxListLimit));
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : cases) {
    nlohmann::json j = nlohmann::json::parse(c.json, nullptr, false);
    if (!j.is_object()) j = nlohmann::json::object();
    j["id"] = c.id;
    j["status"] = c.status;
    j["opened"] = FormatIso8601Millis(c.opened);
    j["updated"] = FormatIso8601Millis(c.updated);
    out.push_back(std::move(j));
  }
  return out;
}

StatusOr<nlohmann::json> ReputationService::Act(
    int64_t account_id, const std::function<Transition(AccountState&, const Figures&)>& act,
    bool fresh_start) {
  std::lock_guard<std::mutex> save_lock(save_mu_);
  std::lock_guard<std::mutex> lock(mu_);
  Entry* e = Load(account_id);
  if (e == nullptr) return UnavailableError("reputation unavailable");
  const SysTime now = clock_.Now();
  SysTime from = now;
  if (fresh_start) {
    // The change date the sender gave, when there is one and it is not in the future.
    ASSIGN_OR_RETURN(auto cases, rep_.ListReviewCases(account_id, 1));
    if (!cases.empty() && cases[0].status == "open") {
      nlohmann::json j = nlohmann::json::parse(cases[0].json, nullptr, false);
      if (j.is_object() && j.contains("answers") && j["answers"].is_object()) {
        int64_t ms = j["answers"].value("effective_ms", int64_t{0});
        if (ms > 0 && ms <= Ms(now)) from = FromUnixMillis(ms);
      }
    }
  }
  AccountState before = e->state;
  Transition t = act(e->state, e->window.Measure(now, config_.window));
  if (fresh_start && t.to == State::kHealthy && t.from != State::kHealthy) {
    e->window.FreshStart(from);
    e->dirty = true;
    for (auto& [name, w] : e->sets) {
      w.FreshStart(from);
      e->dirty_sets.insert(name);
      auto cs = store_.GetConfigurationSet(account_id, name);
      if (cs.ok()) {
        cs->last_fresh_start = from;
        Status st = store_.UpdateConfigurationSet(*cs);
        if (!st.ok()) LogError("LastFreshStart not saved", {{"error", st.ToString()}});
      }
    }
    RETURN_IF_ERROR(SaveEntry(account_id, *e));
  }
  std::vector<Transition> ts;
  if (t.from != t.to || t.trigger == reputation::Trigger::kReinstatementRejected ||
      e->state.operator_hold != before.operator_hold) {
    ts.push_back(t);
  }
  int64_t id = 0;
  auto n = Apply(account_id, *e, ts, &id);
  if (!n.ok()) {
    e->state = before;
    return n.status();
  }
  nlohmann::json out = {{"state", reputation::StateName(e->state.state)},
                        {"enforcement_status", reputation::ApiEnforcementStatus(e->state.state)},
                        {"changed", t.from != t.to}};
  if (!n->kind.empty()) out["notice"] = NoticeJson(*n, id, now);
  if (fresh_start && t.to == State::kHealthy && t.from != State::kHealthy) {
    out["fresh_start"] = FormatIso8601Millis(from);
  }
  return out;
}

StatusOr<nlohmann::json> ReputationService::Pause(int64_t account_id, const std::string& reason) {
  const SysTime now = clock_.Now();
  return Act(
      account_id,
      [&](AccountState& s, const Figures& f) {
        return reputation::OperatorPause(s, f, now, Bounded(reason));
      },
      false);
}

StatusOr<nlohmann::json> ReputationService::Resume(int64_t account_id) {
  const SysTime now = clock_.Now();
  return Act(
      account_id,
      [&](AccountState& s, const Figures& f) { return reputation::OperatorResume(s, f, now); },
      false);
}

StatusOr<nlohmann::json> ReputationService::Accept(int64_t account_id) {
  const SysTime now = clock_.Now();
  return Act(
      account_id,
      [&](AccountState& s, const Figures& f) { return reputation::AcceptReinstatement(s, f, now); },
      true);
}

StatusOr<nlohmann::json> ReputationService::Reject(int64_t account_id) {
  const SysTime now = clock_.Now();
  return Act(
      account_id,
      [&](AccountState& s, const Figures& f) { return reputation::RejectReinstatement(s, f, now); },
      false);
}

Status ReputationService::Respond(int64_t account_id, const ReviewAnswers& answers) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto cases, rep_.ListReviewCases(account_id, 1));
  if (cases.empty() || cases[0].status != "open") {
    return FailedPreconditionError("the account has no open review case");
  }
  if (answers.root_cause.empty() || answers.changes.empty() || answers.prevention.empty()) {
    return InvalidArgumentError(
        "all three answers are needed: root cause, changes made, and prevention");
  }
  const SysTime now = clock_.Now();
  if (answers.effective && *answers.effective > now) {
    return InvalidArgumentError("the changes' effective date is in the future");
  }
  store::ReviewCaseRow c = cases[0];
  nlohmann::json j = nlohmann::json::parse(c.json, nullptr, false);
  if (!j.is_object()) j = nlohmann::json::object();
  j["answers"] = {{"root_cause", Bounded(answers.root_cause)},
                  {"changes", Bounded(answers.changes)},
                  {"prevention", Bounded(answers.prevention)},
                  {"answered", FormatIso8601Millis(now)}};
  if (answers.effective) {
    j["answers"]["effective"] = FormatIso8601Millis(*answers.effective);
    j["answers"]["effective_ms"] = Ms(*answers.effective);
  }
  c.json = j.dump();
  c.updated = now;
  return rep_.UpdateReviewCase(c);
}

nlohmann::json ReputationService::SuspectBursts() {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& info : guard_.Cases()) {
    out.push_back({{"id", info.id},
                   {"destination", info.destination},
                   {"diagnostic_shape", info.shape},
                   {"sample", info.sample},
                   {"opened", FormatIso8601Millis(info.opened)},
                   {"last", FormatIso8601Millis(info.last)},
                   {"held", info.held},
                   {"recipients", info.recipients}});
  }
  return out;
}

StatusOr<int64_t> ReputationService::ConfirmBurst(uint64_t id) {
  std::vector<OutcomeFacts> forward;
  int64_t n = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto items = guard_.Confirm(id);
    if (!items) return NotFoundError("no suspect burst " + std::to_string(id));
    n = static_cast<int64_t>(items->size());
    Count(*items, &forward);
    saved_bursts_.erase(id);
    Status st = rep_.DeleteGuardCase(id);
    if (!st.ok()) LogError("suspect burst not deleted", {{"error", st.ToString()}});
  }
  if (downstream_ != nullptr && !forward.empty()) downstream_->OnOutcomes(forward);
  return n;
}

StatusOr<int64_t> ReputationService::ReleaseBurst(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto n = guard_.Release(id);
  if (!n) return NotFoundError("no suspect burst " + std::to_string(id));
  saved_bursts_.erase(id);
  Status st = rep_.DeleteGuardCase(id);
  if (!st.ok()) LogError("suspect burst not deleted", {{"error", st.ToString()}});
  return static_cast<int64_t>(*n);
}

}  // namespace herald::sending
