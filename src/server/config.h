// server/config.h: herald's configuration, loaded from a TOML file and overridden by flags.
//
// Contract: every key lives in one table (kConfigKeys in config.cc) with its type, default,
// bounds and a sentence of documentation; `herald config reference` prints that table as
// the Markdown of docs/configuration.md, so the docs cannot drift from the code. Loading
// rejects unknown keys, values of the wrong type and values out of bounds with a message
// that names the file, the key and the allowed range; start-up stops on any of them.
// Thread-safety: a Config is a plain value, read-only once loaded.
// Trust: the file is operator input; it is validated, not trusted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "delivery/route.h"

namespace herald::server {

struct Config {
  // Top level.
  std::string region = "us-east-1";
  std::string hostname = "localhost";
  std::string data_dir = "herald-data";
  std::string log_level = "info";

  // [http]
  std::string http_listen = "127.0.0.1:8080";
  int64_t http_max_body_bytes = 64 * 1024 * 1024;
  int64_t http_threads = 16;
  int64_t http_read_timeout_seconds = 30;
  std::string public_url;  // base URL of verification links; default http://<http_listen>

  // [smtp]
  std::string smtp_listen = "127.0.0.1:2587";
  std::string smtp_tls_listen;
  int64_t smtp_max_connections = 200;
  int64_t smtp_idle_timeout_seconds = 300;
  int64_t smtp_max_commands = 1000;
  bool smtp_allow_insecure_auth_on_loopback = false;
  std::string smtp_tls_cert_file;
  std::string smtp_tls_key_file;
  std::vector<std::string> smtp_trusted_networks;
  std::string smtp_trusted_account;

  // [sending]
  int64_t sandbox_max_24h_send = 200;
  double sandbox_max_send_rate = 1;
  int64_t production_max_24h_send = 50000;
  double production_max_send_rate = 14;
  int64_t max_recipients = 50;
  int64_t max_message_bytes = 40 * 1024 * 1024;
  bool virus_scan_enabled = true;
  std::string clamd_address;  // "/path/to/clamd.ctl" or "host:port"; empty: EICAR only
  int64_t clamd_timeout_ms = 30000;
  bool virus_scan_fail_open = false;
  // Email feedback forwarding for identities that have it on (SES's default); false turns
  // it off for the whole server.
  bool feedback_forwarding = true;

  // [spool]
  int64_t spool_segment_bytes = 64 * 1024 * 1024;

  // [dns]
  std::string dns_server;  // "HOST:PORT"; empty = the system resolver

  // [delivery]
  bool delivery_enabled = true;
  int64_t delivery_mx_port = 25;
  std::string delivery_return_path_domain;  // empty: hostname
  std::string delivery_tls = "opportunistic";
  int64_t delivery_max_connections = 256;
  int64_t delivery_max_connections_per_destination = 16;
  int64_t delivery_max_messages_per_connection = 1000;
  double delivery_max_messages_per_second_per_destination = 0;
  std::string delivery_retry_schedule = "1m 5m 10m 20m 30m 1h";
  int64_t delivery_max_delivery_seconds = 50400;
  int64_t delivery_connect_timeout_seconds = 30;
  int64_t delivery_command_timeout_seconds = 60;
  int64_t delivery_data_timeout_seconds = 300;
  int64_t delivery_route_ttl_seconds = 300;
  bool delivery_verp_per_recipient = true;
  bool delivery_dkim_sign_pending = false;
  bool delivery_allow_auth_without_tls = false;
  std::vector<std::string> delivery_routes;

  // [feedback]
  std::string feedback_listen;  // empty: no feedback MX
  std::vector<std::string> feedback_domains;
  int64_t feedback_max_message_bytes = 16 * 1024 * 1024;
  int64_t feedback_max_connections = 100;
  int64_t feedback_max_orphans = 10000;
  int64_t feedback_correlation_window_seconds = 7 * 24 * 3600;
  int64_t feedback_index_max_bytes = 64 * 1024 * 1024;
  int64_t feedback_index_replay_events = 50000;

  // [suppression]
  bool suppression_global_enabled = true;
  int64_t suppression_global_first_listing_hours = 24;
  int64_t suppression_global_max_listing_days = 14;

  // [reputation] (reputation/window.h, enforcement.h, suppression_guard.h)
  int64_t reputation_representative_sends = 10000;
  int64_t reputation_max_age_days = 730;
  int64_t reputation_min_sends = 1000;
  int64_t reputation_min_fbl_sends = 1000;
  double reputation_review_bounce_rate = 0.05;
  double reputation_pause_bounce_rate = 0.10;
  double reputation_severe_bounce_rate = 0.25;
  double reputation_review_complaint_rate = 0.001;
  double reputation_pause_complaint_rate = 0.005;
  double reputation_severe_complaint_rate = 0.02;
  int64_t reputation_review_period_hours = 14 * 24;
  int64_t reputation_pause_grace_hours = 24;
  int64_t reputation_decision_period_hours = 3 * 24;
  int64_t reputation_pauses_before_suspension = 3;
  int64_t reputation_suspension_memory_days = 365;
  int64_t reputation_suppression_purge_days = 90;
  std::vector<std::string> reputation_fbl_domains = {
      "yahoo.com", "aol.com",      "outlook.com", "hotmail.com", "live.com",
      "msn.com",   "comcast.net",  "att.net",     "cox.net",     "mail.ru",
      "yandex.ru", "gmx.de",       "web.de",      "gmx.net",     "libero.it",
      "seznam.cz", "fastmail.com", "rambler.ru",  "ziggo.nl",    "orange.fr",
      "free.fr",   "laposte.net",  "sfr.fr",      "wanadoo.fr",  "earthlink.net"};
  int64_t reputation_tick_ms = 1000;
  bool reputation_guard_enabled = true;
  int64_t reputation_guard_window_seconds = 600;
  int64_t reputation_guard_burst_recipients = 25;
  double reputation_guard_burst_fraction = 0.5;

  // [events]
  bool events_dispatch_enabled = true;
  int64_t events_poll_ms = 200;
  int64_t events_min_backoff_ms = 1000;
  int64_t events_max_backoff_ms = 300000;
  int64_t events_http_timeout_ms = 10000;
  bool events_verify_tls = true;
  int64_t events_sns_signature_version = 1;
  std::string events_kafka_brokers;  // empty: no Kafka (Firehose/EventBridge refused)
  std::vector<std::string> events_kafka_properties;  // "name=value" librdkafka settings
  int64_t events_max_destinations = 10;

  // [tracking]
  std::string tracking_base_url;  // empty: http.public_url, else the HTTP listener's address
  std::string tracking_key_file;  // empty: DATA_DIR/tracking.key (made on first start)
  std::vector<std::string> tracking_previous_key_files;
  int64_t tracking_token_max_age_seconds = 365 * 86400;
};

// "1m 5m 30s 2h" → seconds each; kInvalidArgument for anything else or an empty list.
StatusOr<std::vector<int64_t>> ParseDurationList(const std::string& text);

// "DOMAIN HOST:PORT [require_tls] [auth=USER:PASSWORD]" (delivery.routes).
StatusOr<delivery::StaticRoute> ParseRouteSpec(const std::string& text);

// Reads `path` (must exist) over the defaults in `config`.
Status LoadConfigFile(const std::string& path, Config* config);

// Checks cross-field rules after flags are applied (addresses parse, files exist...).
Status ValidateConfig(const Config& config);

// The Markdown reference of every key: name, type, default, bounds, meaning.
std::string ConfigReferenceMarkdown();

}  // namespace herald::server
