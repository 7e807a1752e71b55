#include "server/config.h"

#include <cctype>
#include <cmath>
#include <functional>
#include <sstream>
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>
#include <variant>

#include "base/host_port.h"
#include "base/log.h"
#include "mail/address.h"

namespace herald::server {
namespace {

using Field = std::variant<std::string Config::*, int64_t Config::*, double Config::*,
                           bool Config::*, std::vector<std::string> Config::*>;

struct KeySpec {
  const char* key;  // dotted path in the TOML file
  Field field;
  double min = 0;  // numbers only
  double max = 0;
  const char* doc;
};

// The one table of configuration keys (Postfix's CONFIG_*_TABLE idea): defaults come from
// the Config struct, bounds and documentation from here.
const std::vector<KeySpec>& Keys() {
  static const std::vector<KeySpec> kKeys = {
      {"region", &Config::region, 0, 0,
       "The region herald answers for. SigV4 credential scopes must name it, and SMTP "
       "passwords are derived for it."},
      {"hostname", &Config::hostname, 0, 0,
       "This host's name: the SMTP greeting, Message-ID domains and reportingMTA in events."},
      {"data_dir", &Config::data_dir, 0, 0,
       "Directory for the SQLite store, the spool, events.jsonl and the TLS key. Created "
       "with mode 0700."},
      {"log_level", &Config::log_level, 0, 0, "One of debug, info, warn, error."},
      {"http.listen", &Config::http_listen, 0, 0,
       "HOST:PORT of the SESv2 API listener. Port 0 picks a free port (see ready.json)."},
      {"http.max_body_bytes", &Config::http_max_body_bytes, 1024, 256.0 * 1024 * 1024,
       "Largest request body accepted; larger requests get 413."},
      {"http.threads", &Config::http_threads, 1, 1024, "Worker threads of the HTTP listener."},
      {"http.read_timeout_seconds", &Config::http_read_timeout_seconds, 1, 3600,
       "Seconds a client may take to send a request."},
      {"http.public_url", &Config::public_url, 0, 0,
       "Base URL used in e-mail verification links. Empty: http://<http.listen>."},
      {"smtp.listen", &Config::smtp_listen, 0, 0,
       "HOST:PORT of the SMTP submission listener (STARTTLS). Empty disables it."},
      {"smtp.tls_listen", &Config::smtp_tls_listen, 0, 0,
       "HOST:PORT of an implicit-TLS submission listener (like port 465). Empty: off."},
      {"smtp.max_connections", &Config::smtp_max_connections, 1, 100000,
       "Concurrent SMTP connections; one more gets 421 Too many concurrent SMTP connections."},
      {"smtp.idle_timeout_seconds", &Config::smtp_idle_timeout_seconds, 1, 3600,
       "Seconds of client silence before the connection is closed."},
      {"smtp.max_commands", &Config::smtp_max_commands, 10, 1000000,
       "Commands per connection before herald closes it with 421."},
      {"smtp.allow_insecure_auth_on_loopback", &Config::smtp_allow_insecure_auth_on_loopback, 0, 0,
       "Allow AUTH without STARTTLS for clients on 127.0.0.0/8 or ::1. Elsewhere AUTH always "
       "needs TLS, as SES requires."},
      {"smtp.tls_cert_file", &Config::smtp_tls_cert_file, 0, 0,
       "PEM certificate chain for STARTTLS. Empty: a self-signed certificate is made in "
       "<data_dir>/tls on first start."},
      {"smtp.tls_key_file", &Config::smtp_tls_key_file, 0, 0, "PEM private key for STARTTLS."},
      {"smtp.trusted_networks", &Config::smtp_trusted_networks, 0, 0,
       "CIDR blocks whose clients may submit without AUTH, as smtp.trusted_account (for a "
       "local relay or benchmarks). Empty: every session must authenticate."},
      {"smtp.trusted_account", &Config::smtp_trusted_account, 0, 0,
       "Account that trusted-network sessions send as. Required with trusted_networks."},
      {"sending.sandbox_max_24h_send", &Config::sandbox_max_24h_send, 1, 1e12,
       "Recipients per rolling 24 hours for accounts in the sandbox (SES: 200)."},
      {"sending.sandbox_max_send_rate", &Config::sandbox_max_send_rate, 0.01, 1e6,
       "Recipients per second for accounts in the sandbox (SES: 1)."},
      {"sending.production_max_24h_send", &Config::production_max_24h_send, 1, 1e12,
       "Recipients per rolling 24 hours once out of the sandbox."},
      {"sending.production_max_send_rate", &Config::production_max_send_rate, 0.01, 1e6,
       "Recipients per second once out of the sandbox."},
      {"sending.max_recipients", &Config::max_recipients, 1, 50,
       "Recipients (To+Cc+Bcc) per message; SES allows 50."},
      {"sending.max_message_bytes", &Config::max_message_bytes, 1024, 40.0 * 1024 * 1024,
       "Largest message accepted, after encoding (SES: 40 MB)."},
      {"sending.virus_scan_enabled", &Config::virus_scan_enabled, 0, 0,
       "Scan every submitted message; an infected one is accepted, not sent, and published "
       "as a Reject event (SES's behaviour)."},
      {"sending.clamd_address", &Config::clamd_address, 0, 0,
       "clamd to scan with (a unix socket path, or host:port; INSTREAM). Empty: herald "
       "recognises only the EICAR test file."},
      {"sending.clamd_timeout_ms", &Config::clamd_timeout_ms, 100, 600000,
       "Connect and read timeout of a clamd scan."},
      {"sending.virus_scan_fail_open", &Config::virus_scan_fail_open, 0, 0,
       "When clamd cannot be reached, accept messages unscanned (true) or refuse them with a "
       "temporary failure (false)."},
      {"sending.feedback_forwarding", &Config::feedback_forwarding, 0, 0,
       "Forward bounces and complaints by email to the sender (a DSN or an ARF report) for "
       "identities whose feedback forwarding is on, as SES does. false: never, whatever the "
       "identities say."},
      {"spool.segment_bytes", &Config::spool_segment_bytes, 1024 * 1024, 4.0 * 1024 * 1024 * 1024,
       "Size at which the spool starts a new segment file."},
      {"dns.server", &Config::dns_server, 0, 0,
       "HOST:PORT of the DNS server for MX lookups and identity checks. Empty: the system "
       "resolver."},
      {"delivery.enabled", &Config::delivery_enabled, 0, 0,
       "Deliver accepted mail. false keeps everything queued in the spool (accept-only)."},
      {"delivery.mx_port", &Config::delivery_mx_port, 1, 65535,
       "Port of MX and implicit-MX hosts (25; tests point it at a loopback port)."},
      {"delivery.return_path_domain", &Config::delivery_return_path_domain, 0, 0,
       "Domain of the VERP envelope sender (bounces come back here). Empty: hostname. "
       "Identities with a verified custom MAIL FROM domain use theirs."},
      {"delivery.tls", &Config::delivery_tls, 0, 0,
       "STARTTLS towards MX hosts: off, opportunistic (when offered) or require (no TLS: "
       "retry later)."},
      {"delivery.max_connections", &Config::delivery_max_connections, 1, 10000,
       "Outbound connections open at once, over all destinations."},
      {"delivery.max_connections_per_destination",
       &Config::delivery_max_connections_per_destination, 1, 1000,
       "Connections to one destination (one MX host set). Halved while the destination "
       "throttles (421, 4.7.x), then grown back one per success."},
      {"delivery.max_messages_per_connection", &Config::delivery_max_messages_per_connection, 1,
       1000000, "Transactions on one connection (RSET between) before it is closed."},
      {"delivery.max_messages_per_second_per_destination",
       &Config::delivery_max_messages_per_second_per_destination, 0, 1e6,
       "Transactions per second to one destination. 0: no limit."},
      {"delivery.retry_schedule", &Config::delivery_retry_schedule, 0, 0,
       "Delays between attempts after a temporary failure, like \"1m 5m 10m\" (s, m, h); "
       "the last one repeats until max_delivery_seconds."},
      {"delivery.max_delivery_seconds", &Config::delivery_max_delivery_seconds, 1, 604800,
       "How long a message is retried before a Transient bounce (SES MaxDeliverySeconds: "
       "default 50400, SES allows 300 to 50400)."},
      {"delivery.connect_timeout_seconds", &Config::delivery_connect_timeout_seconds, 1, 600,
       "Seconds to open a TCP connection to a mail server."},
      {"delivery.command_timeout_seconds", &Config::delivery_command_timeout_seconds, 1, 3600,
       "Seconds to wait for the greeting and for each command's reply."},
      {"delivery.data_timeout_seconds", &Config::delivery_data_timeout_seconds, 1, 3600,
       "Seconds to send the message body and to wait for the reply to the final dot."},
      {"delivery.route_ttl_seconds", &Config::delivery_route_ttl_seconds, 1, 86400,
       "Seconds a domain's route (MX answer) is reused before it is looked up again."},
      {"delivery.verp_per_recipient", &Config::delivery_verp_per_recipient, 0, 0,
       "One transaction per recipient, each with its own VERP return path (bounces name the "
       "recipient). false: one transaction per message and domain."},
      {"delivery.dkim_sign_pending", &Config::delivery_dkim_sign_pending, 0, 0,
       "Sign with a domain's DKIM key before its DNS record is seen (status not SUCCESS)."},
      {"delivery.allow_auth_without_tls", &Config::delivery_allow_auth_without_tls, 0, 0,
       "Let static routes send AUTH over an unencrypted connection (loopback tests only)."},
      {"delivery.routes", &Config::delivery_routes, 0, 0,
       "Static routes, each \"DOMAIN HOST:PORT [require_tls] [auth=USER:PASSWORD]\"; DOMAIN "
       "is example.com, .example.com (subdomains) or * (everything: a smarthost)."},
      {"feedback.listen", &Config::feedback_listen, 0, 0,
       "HOST:PORT of the feedback MX, where bounce reports, complaints and auto-replies for "
       "the return-path domains arrive (point the domains' MX records here; port 25 in "
       "production). Empty: off."},
      {"feedback.domains", &Config::feedback_domains, 0, 0,
       "Domains the feedback MX takes mail for besides delivery.return_path_domain (or "
       "hostname) and the identities' verified MAIL FROM domains, such as the domain of a "
       "feedback-loop address. Every other domain is refused (never a relay)."},
      {"feedback.max_message_bytes", &Config::feedback_max_message_bytes, 64 * 1024,
       64.0 * 1024 * 1024,
       "Largest message the feedback MX accepts (bounces often return "
       "the whole original)."},
      {"feedback.max_connections", &Config::feedback_max_connections, 1, 100000,
       "Concurrent feedback MX connections; one more gets 421."},
      {"feedback.max_orphans", &Config::feedback_max_orphans, 0, 10000000,
       "Reports that could not be tied to a message are kept in <data_dir>/feedback/orphans "
       "with the reason; beyond this many the oldest are deleted. 0 keeps none."},
      {"feedback.correlation_window_seconds", &Config::feedback_correlation_window_seconds, 3600,
       90.0 * 24 * 3600,
       "A report without a VERP token or a herald Message-ID is tied to the most recent "
       "message sent to the failed address within this many seconds."},
      {"feedback.index_max_bytes", &Config::feedback_index_max_bytes, 1024 * 1024,
       16.0 * 1024 * 1024 * 1024,
       "Memory for the index of sent messages that reports are matched against (about 2 KB "
       "per message); the oldest are forgotten first."},
      {"feedback.index_replay_events", &Config::feedback_index_replay_events, 0, 100000,
       "At start the index is rebuilt from the Send events among this many last lines of "
       "events.jsonl, so reports for messages sent before a restart still match."},
      {"suppression.global_enabled", &Config::suppression_global_enabled, 0, 0,
       "Keep the global suppression list: every hard bounce (any account) lists its address, "
       "and mail to a listed address is accepted but not sent (Bounce Permanent/Suppressed, "
       "counted as a hard bounce). false: nothing is listed and nothing is stopped by it."},
      {"suppression.global_first_listing_hours", &Config::suppression_global_first_listing_hours, 1,
       8760,
       "How long a first hard bounce lists an address globally. Each repeat after a listing "
       "ended doubles the period, up to global_max_listing_days; a repeat more than that long "
       "after the last listing ended starts again here."},
      {"suppression.global_max_listing_days", &Config::suppression_global_max_listing_days, 1, 365,
       "The longest a global listing lasts (SES: 14 days)."},
      {"reputation.representative_sends", &Config::reputation_representative_sends, 1, 1e9,
       "Rates are measured over the most recent eligible sends, reaching back until at least "
       "this many are covered (SES's notices quote about 10,000)."},
      {"reputation.max_age_days", &Config::reputation_max_age_days, 1, 3650,
       "The furthest back a rate reaches, whatever the volume; older counts are dropped."},
      {"reputation.min_sends", &Config::reputation_min_sends, 1, 1e9,
       "Below this many eligible sends in the window the bounce rate is not enforced."},
      {"reputation.min_fbl_sends", &Config::reputation_min_fbl_sends, 1, 1e9,
       "Below this many eligible sends to feedback-loop domains the complaint rate is not "
       "enforced."},
      {"reputation.review_bounce_rate", &Config::reputation_review_bounce_rate, 0.0001, 1,
       "Bounce rate (fraction) that puts an account under review (SES: 5%)."},
      {"reputation.pause_bounce_rate", &Config::reputation_pause_bounce_rate, 0.0001, 1,
       "Bounce rate that pauses sending after reputation.pause_grace_hours (SES: 10%)."},
      {"reputation.severe_bounce_rate", &Config::reputation_severe_bounce_rate, 0.0001, 1,
       "Bounce rate that pauses sending at once, without review."},
      {"reputation.review_complaint_rate", &Config::reputation_review_complaint_rate, 0.00001, 1,
       "Complaint rate that puts an account under review (SES: 0.1%)."},
      {"reputation.pause_complaint_rate", &Config::reputation_pause_complaint_rate, 0.00001, 1,
       "Complaint rate that pauses sending after the grace period (SES: 0.5%)."},
      {"reputation.severe_complaint_rate", &Config::reputation_severe_complaint_rate, 0.00001, 1,
       "Complaint rate that pauses sending at once."},
      {"reputation.review_period_hours", &Config::reputation_review_period_hours, 1, 24 * 365,
       "Length of a review; at its end a healed account is healthy again, an unhealed one "
       "waits reputation.decision_period_hours and is then paused."},
      {"reputation.pause_grace_hours", &Config::reputation_pause_grace_hours, 0, 24 * 90,
       "Time between reaching a pause threshold (state pending sending pause) and the pause. "
       "0 pauses at once."},
      {"reputation.decision_period_hours", &Config::reputation_decision_period_hours, 0, 24 * 90,
       "After an unhealed review, time for an operator to accept before the pause."},
      {"reputation.pauses_before_suspension", &Config::reputation_pauses_before_suspension, 0, 100,
       "The enforcement pause that suspends the account for good when it is this many within "
       "reputation.suspension_memory_days. 0: never."},
      {"reputation.suspension_memory_days", &Config::reputation_suspension_memory_days, 1, 3650,
       "How far back pauses count toward suspension."},
      {"reputation.suppression_purge_days", &Config::reputation_suppression_purge_days, 1, 3650,
       "The account suppression list of an account paused this long is deleted (SES: 90)."},
      {"reputation.fbl_domains", &Config::reputation_fbl_domains, 0, 0,
       "Recipient domains (and their subdomains) that send feedback-loop complaints: the "
       "complaint rate is complaints over eligible sends to these domains, and complaints "
       "about other recipients are not counted."},
      {"reputation.tick_ms", &Config::reputation_tick_ms, 10, 60000,
       "How often counts are saved, held bounces released and deadlines checked. A crash "
       "loses at most this long of counts."},
      {"reputation.guard_enabled", &Config::reputation_guard_enabled, 0, 0,
       "Hold back bursts of hard bounces with one diagnostic at one destination as suspect "
       "(not suppressed, not counted) until an operator confirms or releases them."},
      {"reputation.guard_window_seconds", &Config::reputation_guard_window_seconds, 0, 86400,
       "How long each hard bounce is held before it counts, and the span a burst is counted "
       "over."},
      {"reputation.guard_burst_recipients", &Config::reputation_guard_burst_recipients, 2, 1e6,
       "Distinct recipients with one diagnostic at one destination within the window that "
       "make a suspect burst ..."},
      {"reputation.guard_burst_fraction", &Config::reputation_guard_burst_fraction, 0, 1,
       "... when they are at least this share of the recent sends to that destination."},
      {"events.dispatch_enabled", &Config::events_dispatch_enabled, 0, 0,
       "Deliver events.jsonl to configuration set event destinations (SNS-style topics, "
       "webhooks, Kafka, metrics)."},
      {"events.poll_ms", &Config::events_poll_ms, 10, 60000,
       "How often the event log is checked for events to deliver."},
      {"events.min_backoff_ms", &Config::events_min_backoff_ms, 10, 3600000,
       "The first wait before a receiver that failed is tried again (doubling each time)."},
      {"events.max_backoff_ms", &Config::events_max_backoff_ms, 10, 86400000,
       "The longest wait between tries of a failing receiver."},
      {"events.http_timeout_ms", &Config::events_http_timeout_ms, 100, 600000,
       "Connect, read and write timeout of deliveries to HTTP(S) subscribers."},
      {"events.verify_tls", &Config::events_verify_tls, 0, 0,
       "Check HTTPS subscribers' certificates and host names."},
      {"events.sns_signature_version", &Config::events_sns_signature_version, 1, 2,
       "SignatureVersion of SNS-style messages: 1 (SHA1withRSA, SNS's default) or 2 "
       "(SHA256withRSA)."},
      {"events.kafka_brokers", &Config::events_kafka_brokers, 0, 0,
       "Kafka bootstrap servers (host:port,...) for KinesisFirehoseDestination and "
       "EventBridgeDestination; empty refuses those destinations."},
      {"events.kafka_properties", &Config::events_kafka_properties, 0, 0,
       "Extra librdkafka producer settings, each \"name=value\"."},
      {"events.max_destinations", &Config::events_max_destinations, 1, 1000,
       "Event destinations per configuration set (SES: 10)."},
      {"tracking.base_url", &Config::tracking_base_url, 0, 0,
       "Where open pixels, tracked links and unsubscribe links point when a configuration set "
       "names no CustomRedirectDomain (http:// or https://, no trailing '/'). Empty: "
       "http.public_url, else the HTTP listener's address."},
      {"tracking.key_file", &Config::tracking_key_file, 0, 0,
       "File holding the secret that seals tracking and unsubscribe tokens (at least 32 "
       "bytes). Empty: DATA_DIR/tracking.key, made on first start."},
      {"tracking.previous_key_files", &Config::tracking_previous_key_files, 0, 0,
       "Older key files whose tokens are still honoured (key rotation)."},
      {"tracking.token_max_age_seconds", &Config::tracking_token_max_age_seconds, 1,
       10 * 366 * 86400,
       "How long tracking and unsubscribe links stay valid after the mail was sent; older "
       "tokens are refused (404)."},
  };
  return kKeys;
}

const KeySpec* FindKey(const std::string& key) {
  for (const auto& k : Keys()) {
    if (key == k.key) return &k;
  }
  return nullptr;
}

std::string SourceOf(const toml::node& node) {
  const auto& src = node.source();
  return "line " + std::to_string(src.begin.line);
}

Status ApplyValue(const std::string& file, const std::string& key, const toml::node& node,
                  const KeySpec& spec, Config* config) {
  const std::string where = file + ":" + SourceOf(node) + ": " + key;
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(config->*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          auto v = node.value<std::string>();
          if (!node.is_string() || !v) return InvalidArgumentError(where + " must be a string");
          config->*member = *v;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!node.is_boolean()) return InvalidArgumentError(where + " must be true or false");
          config->*member = *node.value<bool>();
        } else if constexpr (std::is_same_v<T, int64_t>) {
          if (!node.is_integer()) return InvalidArgumentError(where + " must be an integer");
          int64_t v = *node.value<int64_t>();
          if (v < spec.min || v > spec.max) {
            std::ostringstream os;
            os << where << " = " << v << " is out of range [" << static_cast<int64_t>(spec.min)
               << ", " << static_cast<int64_t>(spec.max) << "]";
            return InvalidArgumentError(os.str());
          }
          config->*member = v;
        } else if constexpr (std::is_same_v<T, double>) {
          if (!node.is_number()) return InvalidArgumentError(where + " must be a number");
          double v = *node.value<double>();
          if (!std::isfinite(v) || v < spec.min || v > spec.max) {
            std::ostringstream os;
            os << where << " = " << v << " is out of range [" << spec.min << ", " << spec.max
               << "]";
            return InvalidArgumentError(os.str());
          }
          config->*member = v;
        } else {
          const toml::array* arr = node.as_array();
          if (arr == nullptr) return InvalidArgumentError(where + " must be an array of strings");
          std::vector<std::string> out;
          for (const auto& el : *arr) {
            auto s = el.value<std::string>();
            if (!el.is_string() || !s) {
              return InvalidArgumentError(where + " must be an array of strings");
            }
            out.push_back(*s);
          }
          config->*member = std::move(out);
        }
        return Status::Ok();
      },
      spec.field);
}

Status Walk(const std::string& file, const toml::table& table, const std::string& prefix,
            Config* config) {
  for (const auto& [k, node] : table) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (node.is_table() && FindKey(key) == nullptr) {
      RETURN_IF_ERROR(Walk(file, *node.as_table(), key, config));
      continue;
    }
    const KeySpec* spec = FindKey(key);
    if (spec == nullptr) {
      return InvalidArgumentError(file + ":" + SourceOf(node) + ": unknown configuration key '" +
                                  key + "' (see docs/configuration.md)");
    }
    RETURN_IF_ERROR(ApplyValue(file, key, node, *spec, config));
  }
  return Status::Ok();
}

std::string DefaultText(const KeySpec& spec) {
  static const Config kDefaults;
  return std::visit(
      [&](auto member) -> std::string {
        const auto& v = kDefaults.*member;
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return "`\"" + v + "\"`";
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "`true`" : "`false`";
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string out = "`[";
          for (size_t i = 0; i < v.size(); ++i) out += (i > 0 ? ", \"" : "\"") + v[i] + "\"";
          return out + "]`";
        } else {
          std::ostringstream os;
          os << "`" << v << "`";
          return os.str();
        }
      },
      spec.field);
}

std::string BoundsText(const KeySpec& spec) {
  if (std::holds_alternative<int64_t Config::*>(spec.field)) {
    std::ostringstream os;
    os << static_cast<int64_t>(spec.min) << " to " << static_cast<int64_t>(spec.max);
    return os.str();
  }
  if (std::holds_alternative<double Config::*>(spec.field)) {
    std::ostringstream os;
    os << spec.min << " to " << spec.max;
    return os.str();
  }
  return "";
}

const char* TypeText(const KeySpec& spec) {
  switch (spec.field.index()) {
    case 0:
      return "string";
    case 1:
      return "integer";
    case 2:
      return "number";
    case 3:
      return "boolean";
    default:
      return "array of strings";
  }
}

}  // namespace

Status LoadConfigFile(const std::string& path, Config* config) {
  toml::parse_result result = toml::parse_file(path);
  if (!result) {
    const auto& err = result.error();
    return InvalidArgumentError(path + ":line " + std::to_string(err.source().begin.line) + ": " +
                                std::string(err.description()));
  }
  return Walk(path, result.table(), "", config);
}

Status ValidateConfig(const Config& c) {
  std::string host;
  uint16_t port;
  RETURN_IF_ERROR(ParseHostPort(c.http_listen, &host, &port));
  if (!c.smtp_listen.empty()) RETURN_IF_ERROR(ParseHostPort(c.smtp_listen, &host, &port));
  if (!c.smtp_tls_listen.empty()) RETURN_IF_ERROR(ParseHostPort(c.smtp_tls_listen, &host, &port));
  if (!c.dns_server.empty()) RETURN_IF_ERROR(ParseHostPort(c.dns_server, &host, &port));
  LogLevel level;
  if (!ParseLogLevel(c.log_level, &level)) {
    return InvalidArgumentError("log_level must be one of debug, info, warn, error");
  }
  if (c.region.empty() ||
      c.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return InvalidArgumentError("region '" + c.region + "' is not a region name like us-east-1");
  }
  if (c.hostname.empty()) return InvalidArgumentError("hostname must not be empty");
  if (c.data_dir.empty()) return InvalidArgumentError("data_dir must not be empty");
  if (c.smtp_tls_cert_file.empty() != c.smtp_tls_key_file.empty()) {
    return InvalidArgumentError("smtp.tls_cert_file and smtp.tls_key_file go together");
  }
  if (!c.smtp_trusted_networks.empty() && c.smtp_trusted_account.empty()) {
    return InvalidArgumentError("smtp.trusted_networks needs smtp.trusted_account");
  }
  if (c.delivery_tls != "off" && c.delivery_tls != "opportunistic" && c.delivery_tls != "require") {
    return InvalidArgumentError("delivery.tls must be off, opportunistic or require");
  }
  auto schedule = ParseDurationList(c.delivery_retry_schedule);
  if (!schedule.ok()) {
    return InvalidArgumentError("delivery.retry_schedule: " + schedule.status().message());
  }
  for (const auto& r : c.delivery_routes) {
    auto spec = ParseRouteSpec(r);
    if (!spec.ok()) return InvalidArgumentError("delivery.routes: " + spec.status().message());
  }
  if (!c.feedback_listen.empty()) RETURN_IF_ERROR(ParseHostPort(c.feedback_listen, &host, &port));
  if (!(c.reputation_review_bounce_rate <= c.reputation_pause_bounce_rate &&
        c.reputation_pause_bounce_rate <= c.reputation_severe_bounce_rate &&
        c.reputation_review_complaint_rate <= c.reputation_pause_complaint_rate &&
        c.reputation_pause_complaint_rate <= c.reputation_severe_complaint_rate)) {
    return InvalidArgumentError(
        "reputation: the review, pause and severe rates must not decrease "
        "(review <= pause <= severe, for bounces and for complaints)");
  }
  for (const std::string& d : c.reputation_fbl_domains) {
    if (!mail::NormalizeDomain(d).ok() || d.front() == '[') {
      return InvalidArgumentError("reputation.fbl_domains: '" + d + "' is not a domain name");
    }
  }
  if (c.suppression_global_first_listing_hours > c.suppression_global_max_listing_days * 24) {
    return InvalidArgumentError(
        "suppression.global_first_listing_hours must not exceed "
        "suppression.global_max_listing_days (in hours)");
  }
  for (const auto& d : c.feedback_domains) {
    if (!mail::NormalizeDomain(d).ok() || d.front() == '[') {
      return InvalidArgumentError("feedback.domains: '" + d + "' is not a domain name");
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<int64_t>> ParseDurationList(const std::string& text) {
  std::vector<int64_t> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t digits = 0;
    while (digits < word.size() && std::isdigit(static_cast<unsigned char>(word[digits]))) {
      ++digits;
    }
    if (digits == 0 || digits > 7 || word.size() - digits > 1) {
      return InvalidArgumentError("'" + word + "' is not a duration like 30s, 5m or 2h");
    }
    int64_t n = std::stoll(word.substr(0, digits));
    char unit = digits < word.size() ? word[digits] : 's';
    if (unit == 'm') {
      n *= 60;
    } else if (unit == 'h') {
      n *= 3600;
    } else if (unit != 's') {
      return InvalidArgumentError("'" + word + "' is not a duration like 30s, 5m or 2h");
    }
    if (n <= 0) return InvalidArgumentError("'" + word + "' must be positive");
    out.push_back(n);
  }
  if (out.empty()) return InvalidArgumentError("the schedule is empty");
  return out;
}

StatusOr<delivery::StaticRoute> ParseRouteSpec(const std::string& text) {
  std::istringstream in(text);
  std::string domain, hostport, word;
  if (!(in >> domain >> hostport)) {
    return InvalidArgumentError("'" + text + "' is not \"DOMAIN HOST:PORT [options]\"");
  }
  delivery::StaticRoute spec;
  for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  spec.domain = domain;
  RETURN_IF_ERROR(ParseHostPort(hostport, &spec.host, &spec.port));
  // ":25" parses as a listener's "every address"; a route needs a real host.
  if (spec.host.empty() || spec.host == "0.0.0.0" || spec.host == "*" || hostport.front() == ':') {
    return InvalidArgumentError("'" + text + "' names no host");
  }
  while (in >> word) {
    if (word == "require_tls") {
      spec.require_tls = true;
    } else if (word.rfind("auth=", 0) == 0) {
      std::string cred = word.substr(5);
      size_t colon = cred.find(':');
      if (colon == std::string::npos || colon == 0) {
        return InvalidArgumentError("auth= takes USER:PASSWORD");
      }
      spec.auth_user = cred.substr(0, colon);
      spec.auth_password = cred.substr(colon + 1);
    } else {
      return InvalidArgumentError("unknown route option '" + word + "'");
    }
  }
  return spec;
}

std::string ConfigReferenceMarkdown() {
  std::string out = "| key | type | default | bounds | meaning |\n|---|---|---|---|---|\n";
  for (const auto& k : Keys()) {
    out += "| `" + std::string(k.key) + "` | " + TypeText(k) + " | " + DefaultText(k) + " | " +
           BoundsText(k) + " | " + k.doc + " |\n";
  }
  return out;
}

}  // namespace herald::server
