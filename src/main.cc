// main.cc: herald-core, the program behind the `herald` command: `serve` and the
// operator's subcommands. The `herald` front end (herald.cc) execs it with its own
// arguments for every subcommand but `classify`, which it runs itself.
//
// This is the only code not linked into tests: it parses flags, loads the configuration
// and calls into server/ and store/. Operator commands open the same SQLite store as the
// daemon (WAL mode lets both run at once).
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "api/http_listener.h"
#include "api/sesv2_api.h"
#include "auth/sigv4.h"
#include "base/crypto.h"
#include "base/log.h"
#include "base/strings.h"
#include "cli/classify_command.h"
#include "events/http_poster.h"
#include "events/jsonl_reader.h"
#include "mail/address.h"
#include "sending/suppression.h"
#include "server/config.h"
#include "server/server.h"
#include "spool/log_spool.h"

namespace herald {
namespace {

using server::Config;

struct CommonFlags {
  std::string config_file;
  std::string data_dir;
  std::string http;
  std::string smtp;
};

void AddCommon(CLI::App* app, CommonFlags* f) {
  app->add_option("--config", f->config_file, "TOML configuration file");
  app->add_option("--data-dir", f->data_dir, "data directory (overrides data_dir)");
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "herald: %s\n", msg.c_str());
  return 1;
}

StatusOr<Config> LoadConfig(const CommonFlags& f) {
  Config c;
  if (!f.config_file.empty()) RETURN_IF_ERROR(server::LoadConfigFile(f.config_file, &c));
  if (!f.data_dir.empty()) c.data_dir = f.data_dir;
  if (!f.http.empty()) c.http_listen = f.http;
  if (!f.smtp.empty()) c.smtp_listen = f.smtp;
  RETURN_IF_ERROR(server::ValidateConfig(c));
  return c;
}

std::string NewAccessKeyId() { return "AKIA" + RandomUpperAlnum(16); }
std::string NewSecret() { return Base64Encode(RandomBytes(30)); }  // 40 characters

nlohmann::json KeyJson(const store::AccessKey& k, const Config& c, bool with_secret) {
  nlohmann::json j = {{"access_key_id", k.access_key_id},
                      {"status", store::KeyStatusName(k.status)},
                      {"created", FormatIso8601Millis(k.created)}};
  if (with_secret) {
    j["secret_access_key"] = k.secret;
    j["smtp_username"] = k.access_key_id;
    j["smtp_password"] = auth::DeriveSmtpPasswordV4(k.secret, c.region);
    j["region"] = c.region;
  }
  return j;
}

void PrintKey(const std::string& account, const store::AccessKey& k, const Config& c, bool json) {
  nlohmann::json j = KeyJson(k, c, true);
  j["account"] = account;
  if (json) {
    std::cout << j.dump() << "\n";
    return;
  }
  std::cout << "account:           " << account << "\n"
            << "access key id:     " << k.access_key_id << "\n"
            << "secret access key: " << k.secret << "\n"
            << "SMTP user name:    " << k.access_key_id << "\n"
            << "SMTP password:     " << j["smtp_password"].get<std::string>() << "\n"
            << "region:            " << c.region << "\n"
            << "The secret is shown only now; store it safely.\n";
}

StatusOr<store::AccessKey> CreateKey(store::Store& st, int64_t account_id) {
  store::AccessKey k;
  k.access_key_id = NewAccessKeyId();
  k.secret = NewSecret();
  k.account_id = account_id;
  k.created = std::chrono::system_clock::now();
  RETURN_IF_ERROR(st.CreateAccessKey(k));
  return k;
}

int Serve(const CommonFlags& f) {
  auto config = LoadConfig(f);
  if (!config.ok()) return Fail(config.status().message());
  LogLevel level;
  ParseLogLevel(config->log_level, &level);
  SetLogLevel(level);
  // SIGTERM and SIGINT are blocked in every thread (the mask is inherited) and taken by
  // sigwait() on the main thread, which then drains.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  auto srv = server::Server::Create(*config);
  if (!srv.ok()) return Fail(srv.status().message());
  Status st = (*srv)->Start();
  if (!st.ok()) return Fail(st.message());
  int sig = 0;
  sigwait(&set, &sig);
  LogInfo("draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*srv)->Stop();
  LogInfo("stopped", {});
  return 0;
}

// Query-string encoding for admin calls.
std::string UrlEncode(const std::string& v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == ',' ||
        c == '@') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// One call to the running daemon's admin endpoints (the address comes from
// DATA_DIR/ready.json, the token from DATA_DIR/admin.token). The answer's JSON, or the
// daemon's error text.
StatusOr<nlohmann::json> AdminCall(const CommonFlags& f, const std::string& method,
                                   const std::string& target, const std::string& body = "") {
  auto config = LoadConfig(f);
  if (!config.ok()) return config.status();
  std::ifstream ready_in(config->data_dir + "/ready.json");
  nlohmann::json ready = nlohmann::json::parse(ready_in, nullptr, false);
  if (ready.is_discarded() || !ready.contains("http")) {
    return UnavailableError("herald does not seem to run with data dir " + config->data_dir +
                            " (no ready.json)");
  }
  std::ifstream token_in(config->data_dir + "/admin.token");
  std::string token;
  std::getline(token_in, token);
  api::HttpRequest req;
  req.headers.emplace_back("X-Herald-Admin-Token", token);
  req.method = method;
  req.target = target;
  req.body = body;
  if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  auto res = api::SendHttpRequest(ready["http"].get<std::string>(), req, 30);
  if (!res.ok()) return res.status();
  nlohmann::json out = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string why = out.is_object() && out.contains("error") && out["error"].is_string()
                          ? out["error"].get<std::string>()
                          : res->body;
    return Status(res->status == 404   ? StatusCode::kNotFound
                  : res->status == 400 ? StatusCode::kInvalidArgument
                  : res->status == 409 ? StatusCode::kFailedPrecondition
                                       : StatusCode::kUnavailable,
                  "herald answered " + std::to_string(res->status) + ": " + why);
  }
  if (out.is_discarded()) return InternalError("herald answered with no JSON: " + res->body);
  return out;
}

// `herald queue`: the delivery queues of the running daemon.
int Queue(const CommonFlags& f, const std::string& action, const std::string& arg, bool json) {
  std::string method = "GET";
  std::string target = "/_herald/admin/queue";
  if (action != "list") {
    method = "POST";
    const char* param = action == "bounce" ? "message_id" : "destination";
    target += "/" + action + "?" + param + "=" + UrlEncode(arg);
  }
  auto body = AdminCall(f, method, target);
  if (!body.ok()) return Fail(body.status().message());
  if (json || action != "list") {
    std::cout << body->dump() << "\n";
    return 0;
  }
  std::printf("%-40s %8s %8s %5s %-24s %s\n", "DESTINATION", "READY", "DEFERRED", "CONN", "OLDEST",
              "LAST REPLY");
  for (const auto& d : (*body)["destinations"]) {
    std::string key = d.value("destination", "");
    if (d.value("held", false)) key += " (held)";
    std::printf("%-40s %8lld %8lld %5d %-24s %s\n", key.c_str(),
                static_cast<long long>(d.value("ready", 0)),
                static_cast<long long>(d.value("deferred", 0)), d.value("connections", 0),
                d.value("oldest", std::string("-")).c_str(),
                d.value("last_reply", std::string()).substr(0, 100).c_str());
  }
  const auto& c = (*body)["counters"];
  std::printf("queued %lld, delivered %lld, bounced %lld (expired %lld), deferrals %lld\n",
              static_cast<long long>(c.value("queued_recipients", 0)),
              static_cast<long long>(c.value("delivered", 0)),
              static_cast<long long>(c.value("bounced", 0)),
              static_cast<long long>(c.value("expired", 0)),
              static_cast<long long>(c.value("deferred", 0)));
  return 0;
}

struct ReviewArgs {
  std::string account, reason, root_cause, changes, prevention, effective;
  bool without_answers = false;
  bool json = false;
};

// Prints an account's reputation for a person: state, figures, deadlines, the open case,
// and the newest notice in full.
void PrintReputation(const nlohmann::json& d) {
  const auto& fig = d["figures"];
  std::cout << "state: " << d.value("state", "") << " (" << d.value("enforcement_status", "")
            << ")";
  if (!d.value("cause", "").empty()) std::cout << ", cause: " << d.value("cause", "");
  std::cout << "\n";
  std::cout << "bounce rate: " << fig.value("bounce_rate_text", "") << " ("
            << fig.value("hard_bounces", 0) << " of " << fig.value("eligible_sends", 0)
            << " eligible sends over " << fig.value("covered_days", 0.0) << " days), status "
            << d["metrics"].value("bounce", "") << "\n";
  std::cout << "complaint rate: " << fig.value("complaint_rate_text", "") << " ("
            << fig.value("complaints", 0) << " of " << fig.value("fbl_sends", 0)
            << " sends to feedback-loop domains), status " << d["metrics"].value("complaint", "")
            << "\n";
  for (const char* k : {"review_deadline", "pause_at", "fresh_start", "operator_reason"}) {
    if (d.contains(k) && !d[k].get<std::string>().empty()) {
      std::cout << k << ": " << d[k].get<std::string>() << "\n";
    }
  }
  if (d.contains("review_case")) {
    const auto& c = d["review_case"];
    std::cout << "open review case " << c.value("id", 0) << " since " << c.value("opened", "")
              << ", " << c["samples"].size() << " sample messages, "
              << (c["answers"].is_object() ? "answered" : "not answered yet") << "\n";
  }
  if (!d["notices"].empty()) {
    const auto& n = d["notices"][0];
    std::cout << "\nlatest notice (" << n.value("created", "") << "): " << n.value("subject", "")
              << "\n\n"
              << n.value("text", "");
  }
}

// `herald review ...`: the running daemon's reputation machinery, through its admin API.
int Review(const CommonFlags& f, const std::string& action, const ReviewArgs& a) {
  const std::string who = "?account=" + UrlEncode(a.account);
  StatusOr<nlohmann::json> out = InternalError("unknown review action");
  if (action == "list") {
    out = AdminCall(f, "GET", "/_herald/admin/reputation/list");
  } else if (action == "show") {
    out = AdminCall(f, "GET", "/_herald/admin/reputation" + who);
  } else if (action == "cases") {
    out = AdminCall(f, "GET", "/_herald/admin/reputation/cases" + who);
  } else if (action == "respond") {
    nlohmann::json body = {
        {"root_cause", a.root_cause}, {"changes", a.changes}, {"prevention", a.prevention}};
    if (!a.effective.empty()) {
      auto t = ParseTimestamp(a.effective);
      if (!t) return Fail("--effective: not a time like 2026-11-20T10:00:00Z: " + a.effective);
      body["effective_ms"] = UnixMillis(*t);
    }
    out = AdminCall(f, "POST", "/_herald/admin/reputation/respond" + who, body.dump());
  } else if (action == "pause") {
    out = AdminCall(f, "POST",
                    "/_herald/admin/reputation/pause" + who + "&reason=" + UrlEncode(a.reason));
  } else if (action == "accept") {
    out = AdminCall(
        f, "POST",
        "/_herald/admin/reputation/accept" + who + (a.without_answers ? "&without_answers=1" : ""));
  } else {  // reject, resume
    out = AdminCall(f, "POST", "/_herald/admin/reputation/" + action + who);
  }
  if (!out.ok()) return Fail(out.status().message());
  if (a.json) {
    std::cout << out->dump() << "\n";
  } else if (action == "show") {
    PrintReputation(*out);
  } else if (action == "list") {
    if (out->empty()) std::cout << "every account is healthy\n";
    for (const auto& e : *out) {
      std::cout << e.value("account", "") << "  " << e.value("state", "") << "  "
                << e.value("enforcement_status", "") << "\n";
    }
  } else if (out->contains("notice")) {
    std::cout << "now " << out->value("state", "") << "\n\n" << (*out)["notice"].value("text", "");
  } else {
    std::cout << out->dump(2) << "\n";
  }
  return 0;
}

// `herald guard ...`: suspect bursts of hard bounces.
int Guard(const CommonFlags& f, const std::string& action, uint64_t id, bool json) {
  auto out =
      action == "list"
          ? AdminCall(f, "GET", "/_herald/admin/guard")
          : AdminCall(f, "POST", "/_herald/admin/guard/" + action + "?id=" + std::to_string(id));
  if (!out.ok()) return Fail(out.status().message());
  if (json || action != "list") {
    std::cout << out->dump() << "\n";
    return 0;
  }
  if (out->empty()) std::cout << "no suspect bursts\n";
  for (const auto& b : *out) {
    std::cout << b.value("id", 0) << "  " << b.value("destination", "") << "  held "
              << b.value("held", 0) << " since " << b.value("opened", "") << "\n    "
              << b.value("sample", "") << "\n";
  }
  return 0;
}

int EventsTail(const CommonFlags& f, int n, bool follow) {
  auto config = LoadConfig(f);
  if (!config.ok()) return Fail(config.status().message());
  std::string path = config->data_dir + "/events.jsonl";
  // Take the follow position before printing the tail: a line appended in between is then
  // printed twice (consumers de-duplicate on eventId) rather than never.
  events::EventFollower follower(path);
  if (follow) {
    Status st = follower.SkipToEnd();
    if (!st.ok()) return Fail(st.message());
  }
  auto lines = events::ReadLastLines(path, static_cast<size_t>(n));
  if (!lines.ok()) return Fail(lines.status().message());
  for (const auto& l : *lines) std::cout << l << "\n";
  std::cout.flush();
  if (!follow) return 0;
  signal(SIGPIPE, SIG_DFL);
  while (true) {
    auto more = follower.Poll();
    if (!more.ok()) return Fail(more.status().message());
    for (const auto& l : *more) std::cout << l << "\n";
    std::cout.flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// `herald engagement ACCOUNT`: unique opens and clicks recorded in the last `hours`.
int Engagement(const CommonFlags& f, const std::string& account, const std::string& set,
               int hours) {
  auto config = LoadConfig(f);
  if (!config.ok()) return Fail(config.status().message());
  auto st_or = server::OpenStore(*config);
  if (!st_or.ok()) return Fail(st_or.status().message());
  store::Store& st = **st_or;
  auto acc = st.GetAccountByName(account);
  if (!acc.ok()) return Fail(account + ": " + acc.status().message());
  const SysTime until = SystemClock().Now() + std::chrono::seconds(1);
  const SysTime since = until - std::chrono::hours(hours);
  nlohmann::json out = {{"account", account}, {"hours", hours}};
  if (!set.empty()) out["configuration_set"] = set;
  for (auto [key, kind] : {std::pair{"unique_opens", store::EngagementRow::kOpen},
                           std::pair{"unique_clicks", store::EngagementRow::kClick}}) {
    auto n = st.CountEngagement(acc->id, set, kind, since, until);
    if (!n.ok()) return Fail(n.status().message());
    out[key] = *n;
  }
  std::cout << out.dump() << "\n";
  return 0;
}

int SpoolList(const CommonFlags& f, bool json) {
  auto config = LoadConfig(f);
  if (!config.ok()) return Fail(config.status().message());
  spool::LogSpoolOptions opts;
  opts.read_only = true;
  auto sp = spool::LogSpool::Open(config->data_dir + "/spool", opts);
  if (!sp.ok()) return Fail(sp.status().message());
  auto msgs = (*sp)->Recover();
  if (!msgs.ok()) return Fail(msgs.status().message());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : *msgs) {
    nlohmann::json env = nlohmann::json::parse(m.envelope, nullptr, false);
    nlohmann::json rcpts = (!env.is_discarded() && env.is_object() && env.contains("recipients"))
                               ? env["recipients"]
                               : nlohmann::json::array();
    nlohmann::json pending = nlohmann::json::array();
    for (uint32_t i = 0; i < m.recipient_count; ++i) {
      if (std::find(m.done.begin(), m.done.end(), i) == m.done.end() && i < rcpts.size()) {
        pending.push_back(rcpts[i]);
      }
    }
    out.push_back({{"id", m.id}, {"recipients", rcpts}, {"pending", pending}});
  }
  if (json) {
    std::cout << out.dump() << "\n";
  } else {
    for (const auto& m : out) {
      std::cout << m["id"].get<std::string>() << " pending=" << m["pending"].dump() << "\n";
    }
    std::cout << out.size() << " message(s) in the spool\n";
  }
  return 0;
}

// `herald identity show NAME --account ACCOUNT`: an identity, its DKIM and MAIL FROM
// settings as stored, and the DNS records to publish. A domain without a DKIM key (one
// made by `identity verify`, or from before DKIM) gets its Easy DKIM key here.
int IdentityShow(store::Store& st, const Config& c, const std::string& account,
                 const std::string& given, bool json) {
  auto acc = st.GetAccountByName(account);
  if (!acc.ok()) return Fail(acc.status().message());
  std::string canonical;
  if (given.find('@') != std::string::npos) {
    auto mb = mail::ParseMailbox(given);
    if (!mb.ok()) return Fail(mb.status().message());
    canonical = mb->Canonical();
  } else {
    auto d = mail::NormalizeDomain(given);
    if (!d.ok()) return Fail(d.status().message());
    canonical = *d;
  }
  auto id = st.GetIdentity(acc->id, canonical);
  if (!id.ok()) return Fail(canonical + ": " + id.status().message());
  const bool domain = id->type == store::IdentityType::kDomain;
  if (domain && id->dkim_selector.empty() && id->dkim_origin == "AWS_SES") {
    Status s =
        api::AssignNewDkimKey(&*id, id->dkim_next_key_length, std::chrono::system_clock::now());
    if (s.ok()) s = st.SetIdentityDkim(*id);
    if (!s.ok()) return Fail("cannot make a DKIM key: " + s.message());
  }
  nlohmann::json out = {{"identity", id->name},
                        {"account", account},
                        {"type", store::IdentityTypeName(id->type)},
                        {"status", store::VerificationStatusName(id->status)}};
  nlohmann::json records = nlohmann::json::array();
  if (domain) {
    out["dkim"] = {{"signing_enabled", id->dkim_signing_enabled},
                   {"origin", id->dkim_origin},
                   {"selector", id->dkim_selector},
                   {"algorithm", id->dkim_algorithm},
                   {"key_length", id->dkim_key_length},
                   {"status", store::VerificationStatusName(id->dkim_status)}};
    records.push_back({{"name", "_amazonses." + id->name},
                       {"type", "TXT"},
                       {"value", id->verification_token},
                       {"for", "domain verification"}});
    if (auto dkim = api::DkimRecordFor(*id); dkim.ok()) {
      records.push_back(
          {{"name", dkim->name}, {"type", "TXT"}, {"value", dkim->value}, {"for", "DKIM"}});
    }
    if (!id->mail_from_domain.empty()) {
      out["mail_from"] = {{"domain", id->mail_from_domain},
                          {"behavior_on_mx_failure", id->mail_from_behavior},
                          {"status", store::VerificationStatusName(id->mail_from_status)}};
      records.push_back({{"name", id->mail_from_domain},
                         {"type", "MX"},
                         {"value", "10 " + c.hostname},
                         {"for", "MAIL FROM (bounces)"}});
      records.push_back({{"name", id->mail_from_domain},
                         {"type", "TXT"},
                         {"value", "v=spf1 a:" + c.hostname + " ~all"},
                         {"for", "MAIL FROM (SPF)"}});
    }
  }
  out["dns_records"] = records;
  if (json) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::cout << "identity:  " << id->name << " (" << out["type"].get<std::string>() << ", "
            << out["status"].get<std::string>() << ")\n"
            << "account:   " << account << "\n";
  if (domain) {
    std::cout << "DKIM:      " << out["dkim"]["status"].get<std::string>() << ", "
              << (id->dkim_signing_enabled ? "signing" : "signing disabled") << ", "
              << id->dkim_origin << " " << id->dkim_algorithm << ", selector " << id->dkim_selector
              << "\n";
    if (out.contains("mail_from")) {
      std::cout << "MAIL FROM: " << id->mail_from_domain << " ("
                << out["mail_from"]["status"].get<std::string>() << ", " << id->mail_from_behavior
                << ")\n";
    }
    std::cout << "\nDNS records to publish:\n";
    for (const auto& r : records) {
      std::cout << "  " << r["name"].get<std::string>() << "  " << r["type"].get<std::string>()
                << "  \"" << r["value"].get<std::string>() << "\"    ; "
                << r["for"].get<std::string>() << "\n";
    }
  }
  return 0;
}

// ---- herald suppression ... (the account suppression lists and the global list) ----------

struct SuppressionCli {
  CLI::App* import = nullptr;
  CLI::App* list = nullptr;
  CLI::App* get = nullptr;
  CLI::App* remove = nullptr;
  CLI::App* global_get = nullptr;
  CLI::App* global_remove = nullptr;
  std::string account;
  std::string file;     // import: the file, "-" for standard input
  std::string address;  // get, remove, global-*
  std::string reason;   // list: BOUNCE or COMPLAINT (empty: both)
  bool json = false;
};

void AddSuppressionCommands(CLI::App& app, CommonFlags* f, SuppressionCli* s) {
  auto* sup =
      app.add_subcommand("suppression", "the account suppression lists and the global list");
  sup->require_subcommand(1);
  s->import = sup->add_subcommand(
      "import", "add up to 100,000 entries from CSV (address,BOUNCE|COMPLAINT) or JSON lines");
  s->import->add_option("FILE", s->file, "the file; - reads standard input")->required();
  s->list = sup->add_subcommand("list", "an account's suppressed addresses");
  s->list->add_option("--reason", s->reason, "only BOUNCE or only COMPLAINT")
      ->check(CLI::IsMember({"BOUNCE", "COMPLAINT"}));
  s->get = sup->add_subcommand("get", "one entry of an account's list");
  s->remove = sup->add_subcommand("remove", "take an address off an account's list");
  for (auto* c : {s->get, s->remove}) {
    c->add_option("ADDRESS", s->address)->required();
  }
  for (auto* c : {s->import, s->list, s->get, s->remove}) {
    c->add_option("--account", s->account, "account name")->required();
  }
  s->global_get = sup->add_subcommand("global-get", "an address's record on the global list");
  s->global_remove = sup->add_subcommand("global-remove", "lift an address's global listing");
  for (auto* c : {s->global_get, s->global_remove}) {
    c->add_option("ADDRESS", s->address)->required();
  }
  for (auto* c : {s->import, s->list, s->get, s->remove, s->global_get, s->global_remove}) {
    AddCommon(c, f);
    c->add_flag("--json", s->json, "print JSON");
  }
}

nlohmann::json SuppressedJson(const store::SuppressedDestination& e) {
  return {{"address", e.address},
          {"reason", store::SuppressionReasonName(e.reason)},
          {"last_update", FormatIso8601Millis(e.last_update)},
          {"message_id", e.message_id},
          {"feedback_id", e.feedback_id},
          {"diagnostic", e.diagnostic}};
}

int SuppressionImport(store::Store& st, int64_t account_id, const SuppressionCli& s) {
  std::string text;
  if (s.file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(s.file, std::ios::binary);
    if (!in) return Fail("suppression import: cannot read " + s.file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  sending::ImportParse parsed = sending::ParseSuppressionImport(text);
  if (!parsed.errors.empty()) {
    for (const auto& e : parsed.errors) std::fprintf(stderr, "%s: %s\n", s.file.c_str(), e.c_str());
    return Fail("suppression import: nothing imported (fix the lines above)");
  }
  const SysTime now = std::chrono::system_clock::now();
  std::vector<store::SuppressedDestination> entries;
  entries.reserve(parsed.entries.size());
  for (const auto& p : parsed.entries) {
    store::SuppressedDestination e;
    e.account_id = account_id;
    e.address = p.address;
    e.reason = p.reason;
    e.last_update = now;
    entries.push_back(std::move(e));
  }
  Status put = st.PutSuppressedDestinations(entries);
  if (!put.ok()) return Fail("suppression import: " + put.message());
  if (s.json) {
    std::cout << nlohmann::json{{"account", s.account}, {"imported", entries.size()}}.dump()
              << "\n";
  } else {
    std::cout << "imported " << entries.size() << " entr" << (entries.size() == 1 ? "y" : "ies")
              << " into the suppression list of " << s.account << "\n";
  }
  return 0;
}

int SuppressionList(store::Store& st, int64_t account_id, const SuppressionCli& s) {
  store::SuppressionListFilter filter;
  if (!s.reason.empty()) filter.reasons = {s.reason == "BOUNCE", s.reason == "COMPLAINT"};
  nlohmann::json out = nlohmann::json::array();
  std::string after;
  while (true) {
    auto page = st.ListSuppressedDestinations(account_id, filter, after, store::kMaxListLimit);
    if (!page.ok()) return Fail(page.status().message());
    for (const auto& e : *page) {
      if (s.json) {
        out.push_back(SuppressedJson(e));
      } else {
        std::cout << e.address << "  " << store::SuppressionReasonName(e.reason) << "  "
                  << FormatIso8601Millis(e.last_update)
                  << (e.message_id.empty() ? "" : "  " + e.message_id) << "\n";
      }
    }
    if (static_cast<int>(page->size()) < store::kMaxListLimit) break;
    after = store::SuppressionKey(page->back().address);
  }
  if (s.json) std::cout << out.dump() << "\n";
  return 0;
}

int GlobalSuppression(store::Store& st, const SuppressionCli& s) {
  if (s.global_remove->parsed()) {
    Status del = st.DeleteGlobalSuppression(s.address);
    if (!del.ok()) return Fail(s.address + ": " + del.message());
    std::cout << s.address << " is no longer on the global suppression list\n";
    return 0;
  }
  auto g = st.GetGlobalSuppression(s.address);
  if (!g.ok()) return Fail(s.address + ": " + g.status().message());
  const bool listed = std::chrono::system_clock::now() < g->listed_until;
  nlohmann::json j = {{"address", g->address},
                      {"listed", listed},
                      {"listed_until", FormatIso8601Millis(g->listed_until)},
                      {"bounce_count", g->bounce_count},
                      {"last_bounce", FormatIso8601Millis(g->last_bounce)},
                      {"diagnostic", g->diagnostic}};
  if (s.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::cout << g->address << (listed ? "  listed until " : "  not listed (was until ")
              << FormatIso8601Millis(g->listed_until) << (listed ? "" : ")") << ", "
              << g->bounce_count << " hard bounce(s), last " << FormatIso8601Millis(g->last_bounce)
              << "\n  " << g->diagnostic << "\n";
  }
  return 0;
}

// Runs the parsed `herald suppression ...` command; nullopt when none was given.
std::optional<int> RunSuppression(const CommonFlags& f, const SuppressionCli& s) {
  const bool any = s.import->parsed() || s.list->parsed() || s.get->parsed() ||
                   s.remove->parsed() || s.global_get->parsed() || s.global_remove->parsed();
  if (!any) return std::nullopt;
  auto config = LoadConfig(f);
  if (!config.ok()) return Fail(config.status().message());
  auto st_or = server::OpenStore(*config);
  if (!st_or.ok()) return Fail(st_or.status().message());
  store::Store& st = **st_or;
  if (s.global_get->parsed() || s.global_remove->parsed()) return GlobalSuppression(st, s);
  auto acc = st.GetAccountByName(s.account);
  if (!acc.ok()) return Fail(s.account + ": " + acc.status().message());
  if (s.import->parsed()) return SuppressionImport(st, acc->id, s);
  if (s.list->parsed()) return SuppressionList(st, acc->id, s);
  if (s.get->parsed()) {
    auto e = st.GetSuppressedDestination(acc->id, s.address);
    if (!e.ok()) return Fail(s.address + ": " + e.status().message());
    nlohmann::json j = SuppressedJson(*e);
    if (s.json) {
      std::cout << j.dump() << "\n";
    } else {
      for (const auto& [k, v] : j.items()) {
        if (!v.get_ref<const std::string&>().empty()) {
          std::cout << k << ": " << v.get<std::string>() << "\n";
        }
      }
    }
    return 0;
  }
  Status del = st.DeleteSuppressedDestination(acc->id, s.address);
  if (!del.ok()) return Fail(s.address + ": " + del.message());
  std::cout << s.address << " removed from the suppression list of " << s.account << "\n";
  return 0;
}

struct TopicArgs {
  std::string account;
  std::string topic;
  std::string url;
  int64_t id = 0;
  bool webhook = false;
  bool json = false;
};

// herald topic create|list|delete|subscribe|subscriptions|unsubscribe: direct store work.
// SNS-style subscriptions start unconfirmed; the running daemon sends them their
// SubscriptionConfirmation. Webhook subscriptions are confirmed at once: their secret
// (the HMAC key of X-Herald-Signature) is printed here and never again.
int Topic(store::Store& st, const server::Config& config, const std::string& action,
          const TopicArgs& a) {
  auto acc = st.GetAccountByName(a.account);
  if (!acc.ok()) return Fail(acc.status().message());
  const auto now = std::chrono::system_clock::now();
  auto arn_of = [&](const std::string& name) {
    return store::TopicArn(config.region, acc->id, name);
  };
  if (action == "list") {
    auto topics = st.ListTopics(acc->id);
    if (!topics.ok()) return Fail(topics.status().message());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : *topics) out.push_back({{"name", t.name}, {"arn", arn_of(t.name)}});
    if (a.json) {
      std::cout << out.dump() << "\n";
    } else {
      for (const auto& t : out) std::cout << t["arn"].get<std::string>() << "\n";
    }
    return 0;
  }
  if (action == "create") {
    store::Topic t{0, acc->id, a.topic, now};
    auto id = st.CreateTopic(t);
    if (!id.ok()) return Fail(id.status().message());
    if (a.json) {
      std::cout << nlohmann::json{{"TopicArn", arn_of(a.topic)}}.dump() << "\n";
    } else {
      std::cout << arn_of(a.topic) << "\n";
    }
    return 0;
  }
  if (action == "delete") {
    Status s = st.DeleteTopic(acc->id, a.topic);
    if (!s.ok()) return Fail(s.message());
    std::cout << "deleted " << arn_of(a.topic) << "\n";
    return 0;
  }
  auto topic = st.GetTopic(acc->id, a.topic);
  if (!topic.ok()) return Fail(topic.status().message());
  const std::string topic_arn = arn_of(a.topic);
  if (action == "subscribe") {
    auto url = events::ParseHttpUrl(a.url);
    if (!url.ok()) return Fail("not an http(s) URL: " + a.url);
    store::TopicSubscription sub;
    sub.topic_id = topic->id;
    sub.endpoint = a.url;
    sub.token = HexEncode(RandomBytes(32));
    sub.raw = a.webhook;
    sub.confirmed = a.webhook;
    sub.created = now;
    struct stat log_stat;
    if (a.webhook && ::stat((config.data_dir + "/events.jsonl").c_str(), &log_stat) == 0) {
      sub.start_offset = static_cast<uint64_t>(log_stat.st_size);  // events from now on
    }
    auto id = st.CreateSubscription(sub);
    if (!id.ok()) return Fail(id.status().message());
    nlohmann::json out = {
        {"id", *id},
        {"SubscriptionArn", a.webhook ? store::SubscriptionArn(topic_arn, sub.token)
                                      : std::string("pending confirmation")},
        {"protocol", a.webhook ? "webhook" : url->scheme}};
    if (a.webhook) out["secret"] = sub.token;
    if (a.json) {
      std::cout << out.dump() << "\n";
    } else {
      std::cout << "subscription " << *id << ": " << out["SubscriptionArn"].get<std::string>()
                << "\n";
      if (a.webhook) std::cout << "secret: " << sub.token << "\n";
    }
    return 0;
  }
  if (action == "subscriptions") {
    auto subs = st.ListSubscriptions(topic->id);
    if (!subs.ok()) return Fail(subs.status().message());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& s : *subs) {
      out.push_back({{"id", s.id},
                     {"endpoint", s.endpoint},
                     {"protocol", s.raw ? "webhook" : "sns"},
                     {"confirmed", s.confirmed},
                     {"SubscriptionArn", s.confirmed ? store::SubscriptionArn(topic_arn, s.token)
                                                     : std::string("PendingConfirmation")}});
    }
    if (a.json) {
      std::cout << out.dump() << "\n";
    } else {
      for (const auto& s : out) {
        std::cout << s["id"].get<int64_t>() << "  " << s["protocol"].get<std::string>() << "  "
                  << s["endpoint"].get<std::string>() << "  "
                  << s["SubscriptionArn"].get<std::string>() << "\n";
      }
    }
    return 0;
  }
  // unsubscribe
  auto sub = st.GetSubscription(a.id);
  if (!sub.ok() || sub->topic_id != topic->id) return Fail("no such subscription of this topic");
  Status s = st.DeleteSubscription(a.id);
  if (!s.ok()) return Fail(s.message());
  std::cout << "deleted subscription " << a.id << "\n";
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{"herald: a self-hosted email sending service that speaks Amazon SES's APIs"};
  app.require_subcommand(1);
  CommonFlags f;

  auto* serve = app.add_subcommand("serve", "run the daemon");
  AddCommon(serve, &f);
  serve->add_option("--http", f.http, "HOST:PORT of the SESv2 API (overrides http.listen)");
  serve->add_option("--smtp", f.smtp, "HOST:PORT of SMTP submission (overrides smtp.listen)");

  // account ...
  auto* account = app.add_subcommand("account", "manage accounts and their keys");
  account->require_subcommand(1);
  bool json = false;
  std::string name, akid;
  bool sandbox = false;
  auto* acreate = account->add_subcommand("create", "create an account and its first key");
  acreate->add_option("NAME", name)->required();
  auto* alist = account->add_subcommand("list", "list accounts");
  auto* aprod = account->add_subcommand("production", "lift an account out of the sandbox");
  aprod->add_option("NAME", name)->required();
  aprod->add_flag("--sandbox", sandbox, "put the account back into the sandbox");
  std::string contact;
  auto* acontact = account->add_subcommand(
      "contact", "set the address that reputation notices are mailed to (empty: none)");
  acontact->add_option("NAME", name)->required();
  acontact->add_option("EMAIL", contact)->required();
  auto* akeys = account->add_subcommand("keys", "list an account's access keys");
  akeys->add_option("NAME", name)->required();
  auto* akcreate = account->add_subcommand("key-create",
                                           "add a key (rotation: the old one "
                                           "keeps working until deleted)");
  akcreate->add_option("NAME", name)->required();
  auto* akdisable = account->add_subcommand("key-disable", "disable a key");
  akdisable->add_option("ACCESS_KEY_ID", akid)->required();
  auto* akenable = account->add_subcommand("key-enable", "enable a key again");
  akenable->add_option("ACCESS_KEY_ID", akid)->required();
  auto* akdelete = account->add_subcommand("key-delete", "delete a key");
  akdelete->add_option("ACCESS_KEY_ID", akid)->required();
  for (auto* sub :
       {acreate, alist, aprod, acontact, akeys, akcreate, akdisable, akenable, akdelete}) {
    AddCommon(sub, &f);
    sub->add_flag("--json", json, "print JSON");
  }

  // topic ...
  auto* topic =
      app.add_subcommand("topic",
                         "manage SNS-style topics that event destinations publish to, and their "
                         "HTTP(S) subscribers");
  topic->require_subcommand(1);
  TopicArgs targs;
  auto* tcreate = topic->add_subcommand("create", "create a topic; prints its ARN");
  auto* tlist = topic->add_subcommand("list", "list an account's topics");
  auto* tdelete = topic->add_subcommand("delete", "delete a topic and its subscriptions");
  auto* tsub = topic->add_subcommand(
      "subscribe",
      "subscribe an http(s) URL: SNS-style (it receives a SubscriptionConfirmation "
      "to visit) or, with --webhook, plain JSON signed with a printed secret");
  auto* tsubs = topic->add_subcommand("subscriptions", "list a topic's subscriptions");
  auto* tunsub = topic->add_subcommand("unsubscribe", "delete a subscription by its id");
  for (auto* sub : {tcreate, tlist, tdelete, tsub, tsubs, tunsub}) {
    AddCommon(sub, &f);
    sub->add_option("ACCOUNT", targs.account)->required();
    if (sub != tlist) sub->add_option("TOPIC", targs.topic)->required();
    sub->add_flag("--json", targs.json, "print JSON");
  }
  tsub->add_option("URL", targs.url)->required();
  tsub->add_flag("--webhook", targs.webhook, "plain JSON POSTs with an X-Herald-Signature");
  tunsub->add_option("ID", targs.id)->required();

  // identity ...
  auto* identity = app.add_subcommand("identity", "manage identities");
  identity->require_subcommand(1);
  std::string ident;
  auto* iverify = identity->add_subcommand("verify", "create (if needed) and mark verified");
  iverify->add_option("--account", name, "account name")->required();
  iverify->add_option("IDENTITY", ident)->required();
  auto* ilist = identity->add_subcommand("list", "list an account's identities");
  ilist->add_option("--account", name, "account name")->required();
  auto* ishow = identity->add_subcommand("show", "an identity and the DNS records to publish");
  ishow->add_option("--account", name, "account name")->required();
  ishow->add_option("IDENTITY", ident)->required();
  for (auto* sub : {iverify, ilist, ishow}) {
    AddCommon(sub, &f);
    sub->add_flag("--json", json, "print JSON");
  }

  // engagement
  auto* engagement = app.add_subcommand(
      "engagement", "unique opens and clicks of an account's tracked mail (JSON)");
  std::string eng_account, eng_set;
  int eng_hours = 24;
  engagement->add_option("ACCOUNT", eng_account)->required();
  engagement->add_option("--configuration-set", eng_set, "only this configuration set");
  engagement->add_option("--hours", eng_hours, "the last this many hours (default 24)")
      ->check(CLI::Range(1, 24 * 366));
  AddCommon(engagement, &f);

  // events tail
  auto* events = app.add_subcommand("events", "read the event log");
  events->require_subcommand(1);
  auto* etail = events->add_subcommand("tail", "print the last events");
  int n = 20;
  bool follow = false;
  etail->add_option("-n", n, "how many lines")->check(CLI::Range(0, 1000000));
  etail->add_flag("-f,--follow", follow, "keep printing new events");
  AddCommon(etail, &f);

  // spool list
  auto* spoolc = app.add_subcommand("spool", "inspect the spool (herald stopped)");
  spoolc->require_subcommand(1);
  auto* slist = spoolc->add_subcommand("list", "messages with unfinished recipients");
  slist->add_flag("--json", json, "print JSON");
  AddCommon(slist, &f);

  // queue
  auto* queuec = app.add_subcommand("queue", "the delivery queues of the running daemon");
  queuec->require_subcommand(1);
  std::string qarg;
  bool qjson = false;
  auto* qlist = queuec->add_subcommand("list", "destinations: ready, deferred, connections");
  qlist->add_flag("--json", qjson, "print JSON");
  AddCommon(qlist, &f);
  auto* qretry = queuec->add_subcommand("retry", "retry deferred mail now");
  qretry->add_option("destination", qarg, "destination key (default: all)");
  AddCommon(qretry, &f);
  auto* qhold = queuec->add_subcommand("hold", "stop delivering to a destination");
  qhold->add_option("destination", qarg, "destination key")->required();
  AddCommon(qhold, &f);
  auto* qrelease = queuec->add_subcommand("release", "resume a held destination");
  qrelease->add_option("destination", qarg, "destination key")->required();
  AddCommon(qrelease, &f);
  auto* qbounce = queuec->add_subcommand("bounce", "bounce a message's queued recipients");
  qbounce->add_option("message_id", qarg, "message id")->required();
  AddCommon(qbounce, &f);

  // review (the running daemon's reputation machinery)
  auto* review = app.add_subcommand("review", "reputation, review cases and enforcement");
  review->require_subcommand(1);
  std::string raccount, rreason, rcause, rchanges, rprevention, reffective;
  bool rjson = false, rforce = false;
  auto* rlist = review->add_subcommand("list", "accounts that are not healthy");
  auto* rshow = review->add_subcommand("show", "an account's figures, state, case and notices");
  auto* rcases = review->add_subcommand("cases", "an account's review cases, newest first");
  auto* rrespond = review->add_subcommand("respond", "record the sender's answers");
  auto* raccept = review->add_subcommand("accept", "reinstate: healthy again, fresh start");
  auto* rreject = review->add_subcommand("reject", "refuse reinstatement (paused)");
  auto* rpause = review->add_subcommand("pause", "pause the account's sending");
  auto* rresume = review->add_subcommand("resume", "resume sending (no fresh start)");
  for (auto* sub : {rshow, rcases, rrespond, raccept, rreject, rpause, rresume}) {
    sub->add_option("ACCOUNT", raccount)->required();
  }
  rpause->add_option("--reason", rreason, "told to the sender in the notice")->required();
  rrespond->add_option("--root-cause", rcause, "what caused the bounces or complaints")->required();
  rrespond->add_option("--changes", rchanges, "what was changed")->required();
  rrespond->add_option("--prevention", rprevention, "how that prevents a recurrence")->required();
  rrespond->add_option("--effective", reffective,
                       "when the changes took effect (2026-11-20T10:00:00Z); the fresh start "
                       "counts from then");
  raccept->add_flag("--without-answers", rforce, "accept although the sender did not answer");
  for (auto* sub : {rlist, rshow, rcases, rrespond, raccept, rreject, rpause, rresume}) {
    sub->add_flag("--json", rjson, "print JSON");
    AddCommon(sub, &f);
  }
  // guard (suspect bursts of hard bounces)
  auto* guard = app.add_subcommand("guard", "suspect bursts of hard bounces held back");
  guard->require_subcommand(1);
  uint64_t gid = 0;
  bool gjson = false;
  auto* glist = guard->add_subcommand("list", "the bursts held");
  auto* gconfirm = guard->add_subcommand("confirm", "they were real: suppress and count them");
  auto* grelease = guard->add_subcommand("release", "they were not: drop them");
  gconfirm->add_option("ID", gid)->required();
  grelease->add_option("ID", gid)->required();
  for (auto* sub : {glist, gconfirm, grelease}) {
    sub->add_flag("--json", gjson, "print JSON");
    AddCommon(sub, &f);
  }

  // config
  auto* configc = app.add_subcommand("config", "configuration helpers");
  configc->require_subcommand(1);
  auto* cref = configc->add_subcommand("reference", "print every key as Markdown");
  auto* ccheck = configc->add_subcommand("check", "load and validate a configuration");
  AddCommon(ccheck, &f);

  // classify
  auto* classify = app.add_subcommand("classify", cli::kClassifyDescription);
  std::vector<std::string> classify_files;
  classify->add_option("FILE", classify_files, "email files; - reads standard input")->required();

  SuppressionCli suppression;
  AddSuppressionCommands(app, &f, &suppression);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (serve->parsed()) return Serve(f);
  if (classify->parsed()) return cli::RunClassify(classify_files);
  if (std::optional<int> rc = RunSuppression(f, suppression)) return *rc;
  if (etail->parsed()) return EventsTail(f, n, follow);
  if (engagement->parsed()) return Engagement(f, eng_account, eng_set, eng_hours);
  if (slist->parsed()) return SpoolList(f, json);
  if (review->parsed()) {
    ReviewArgs a{raccount, rreason, rcause, rchanges, rprevention, reffective, rforce, rjson};
    for (auto [sub, action] :
         std::initializer_list<std::pair<CLI::App*, const char*>>{{rlist, "list"},
                                                                  {rshow, "show"},
                                                                  {rcases, "cases"},
                                                                  {rrespond, "respond"},
                                                                  {raccept, "accept"},
                                                                  {rreject, "reject"},
                                                                  {rpause, "pause"},
                                                                  {rresume, "resume"}}) {
      if (sub->parsed()) return Review(f, action, a);
    }
  }
  if (glist->parsed()) return Guard(f, "list", 0, gjson);
  if (gconfirm->parsed()) return Guard(f, "confirm", gid, gjson);
  if (grelease->parsed()) return Guard(f, "release", gid, gjson);
  if (qlist->parsed()) return Queue(f, "list", "", qjson);
  if (qretry->parsed()) return Queue(f, "retry", qarg, true);
  if (qhold->parsed()) return Queue(f, "hold", qarg, true);
  if (qrelease->parsed()) return Queue(f, "release", qarg, true);
  if (qbounce->parsed()) return Queue(f, "bounce", qarg, true);
  if (cref->parsed()) {
    std::cout << server::ConfigReferenceMarkdown();
    return 0;
  }
  auto config = LoadConfig(f);
  if (!config.ok()) return Fail(config.status().message());
  if (ccheck->parsed()) {
    std::cout << "configuration ok\n";
    return 0;
  }
  auto st_or = server::OpenStore(*config);
  if (!st_or.ok()) return Fail(st_or.status().message());
  store::Store& st = **st_or;

  auto account_by_name = [&](const std::string& nm) { return st.GetAccountByName(nm); };
  for (auto [sub, action] :
       std::initializer_list<std::pair<CLI::App*, const char*>>{{tcreate, "create"},
                                                                {tlist, "list"},
                                                                {tdelete, "delete"},
                                                                {tsub, "subscribe"},
                                                                {tsubs, "subscriptions"},
                                                                {tunsub, "unsubscribe"}}) {
    if (sub->parsed()) return Topic(st, *config, action, targs);
  }

  if (acreate->parsed()) {
    auto acc = st.CreateAccount(name, std::chrono::system_clock::now());
    if (!acc.ok()) return Fail(acc.status().message());
    auto key = CreateKey(st, acc->id);
    if (!key.ok()) return Fail(key.status().message());
    PrintKey(name, *key, *config, json);
    return 0;
  }
  if (alist->parsed()) {
    auto accs = st.ListAccounts();
    if (!accs.ok()) return Fail(accs.status().message());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : *accs) {
      out.push_back({{"account", a.name},
                     {"production", a.production},
                     {"sending_enabled", a.sending_enabled},
                     {"enforcement_status", a.enforcement_status}});
    }
    if (json) {
      std::cout << out.dump() << "\n";
    } else {
      for (const auto& a : out) {
        std::cout << a["account"].get<std::string>()
                  << (a["production"].get<bool>() ? "  production" : "  sandbox") << "  "
                  << a["enforcement_status"].get<std::string>() << "\n";
      }
    }
    return 0;
  }
  if (aprod->parsed()) {
    auto acc = account_by_name(name);
    if (!acc.ok()) return Fail(acc.status().message());
    Status s = st.SetProduction(acc->id, !sandbox);
    if (!s.ok()) return Fail(s.message());
    std::cout << name << (sandbox ? " is in the sandbox\n" : " has production access\n");
    return 0;
  }
  if (acontact->parsed()) {
    auto acc = account_by_name(name);
    if (!acc.ok()) return Fail(acc.status().message());
    if (!contact.empty() && !mail::ParseMailbox(contact).ok()) {
      return Fail("not an email address: " + contact);
    }
    Status s = st.SetContactEmail(acc->id, contact);
    if (!s.ok()) return Fail(s.message());
    std::cout << name
              << (contact.empty() ? " has no contact address\n"
                                  : " notices go to " + contact + "\n");
    return 0;
  }
  if (akeys->parsed()) {
    auto acc = account_by_name(name);
    if (!acc.ok()) return Fail(acc.status().message());
    auto keys = st.ListAccessKeys(acc->id);
    if (!keys.ok()) return Fail(keys.status().message());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& k : *keys) out.push_back(KeyJson(k, *config, false));
    if (json) {
      std::cout << out.dump() << "\n";
    } else {
      for (const auto& k : out) {
        std::cout << k["access_key_id"].get<std::string>() << "  " << k["status"].get<std::string>()
                  << "  " << k["created"].get<std::string>() << "\n";
      }
    }
    return 0;
  }
  if (akcreate->parsed()) {
    auto acc = account_by_name(name);
    if (!acc.ok()) return Fail(acc.status().message());
    auto key = CreateKey(st, acc->id);
    if (!key.ok()) return Fail(key.status().message());
    PrintKey(name, *key, *config, json);
    return 0;
  }
  if (akdisable->parsed() || akenable->parsed()) {
    Status s = st.SetAccessKeyStatus(
        akid, akenable->parsed() ? store::KeyStatus::kActive : store::KeyStatus::kInactive);
    if (!s.ok()) return Fail(s.message());
    std::cout << akid << (akenable->parsed() ? " enabled\n" : " disabled\n");
    return 0;
  }
  if (akdelete->parsed()) {
    Status s = st.DeleteAccessKey(akid);
    if (!s.ok()) return Fail(s.message());
    std::cout << akid << " deleted\n";
    return 0;
  }
  if (ishow->parsed()) return IdentityShow(st, *config, name, ident, json);
  if (iverify->parsed() || ilist->parsed()) {
    auto acc = account_by_name(name);
    if (!acc.ok()) return Fail(acc.status().message());
    if (ilist->parsed()) {
      auto ids = st.ListIdentities(acc->id, "", store::kMaxListLimit);
      if (!ids.ok()) return Fail(ids.status().message());
      nlohmann::json out = nlohmann::json::array();
      for (const auto& i : *ids) {
        out.push_back({{"identity", i.name},
                       {"type", store::IdentityTypeName(i.type)},
                       {"status", store::VerificationStatusName(i.status)}});
      }
      if (json) {
        std::cout << out.dump() << "\n";
      } else {
        for (const auto& i : out) {
          std::cout << i["identity"].get<std::string>() << "  " << i["type"].get<std::string>()
                    << "  " << i["status"].get<std::string>() << "\n";
        }
      }
      return 0;
    }
    // Normalise as the API does: an address keeps its local part, both lower-cased.
    std::string canonical;
    store::IdentityType type;
    if (ident.find('@') != std::string::npos) {
      auto mb = mail::ParseMailbox(ident);
      if (!mb.ok()) return Fail(mb.status().message());
      canonical = mb->Canonical();
      type = store::IdentityType::kEmailAddress;
    } else {
      auto d = mail::NormalizeDomain(ident);
      if (!d.ok()) return Fail(d.status().message());
      canonical = *d;
      type = store::IdentityType::kDomain;
    }
    auto existing = st.GetIdentity(acc->id, canonical);
    if (!existing.ok()) {
      store::Identity id;
      id.account_id = acc->id;
      id.name = canonical;
      id.type = type;
      id.status = store::VerificationStatus::kSuccess;
      id.verification_token = RandomBase64Url(24);
      id.created = std::chrono::system_clock::now();
      id.token_expires = id.created;
      Status s = st.CreateIdentity(id);
      if (!s.ok()) return Fail(s.message());
    } else {
      Status s = st.SetIdentityStatus(acc->id, canonical, store::VerificationStatus::kSuccess);
      if (!s.ok()) return Fail(s.message());
    }
    std::cout << canonical << " is verified for " << name << "\n";
    return 0;
  }
  return Fail("nothing to do");
}

}  // namespace
}  // namespace herald

int main(int argc, char** argv) { return herald::Main(argc, argv); }
